/* log.c -- leveled logging to stderr; thread-safe (one write(2) per line) */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static ferry_log_level_t s_level = FERRY_LOG_INFO;
static int s_level_from_env_done;
static char s_role[32] = "ferry";

static void s_init_from_env(void)
{
    if (s_level_from_env_done)
        return;
    s_level_from_env_done = 1;
    const char *v = getenv("FERRY_LOG");
    if (!v)
        return;
    if (!strcasecmp(v, "debug"))
        s_level = FERRY_LOG_DEBUG;
    else if (!strcasecmp(v, "info"))
        s_level = FERRY_LOG_INFO;
    else if (!strcasecmp(v, "warn"))
        s_level = FERRY_LOG_WARN;
    else if (!strcasecmp(v, "error"))
        s_level = FERRY_LOG_ERROR;
}

void ferry_log_set_level(ferry_log_level_t level)
{
    s_level_from_env_done = 1;
    s_level = level;
}

ferry_log_level_t ferry_log_level(void)
{
    s_init_from_env();
    return s_level;
}

void ferry_log_set_role(const char *role)
{
    snprintf(s_role, sizeof s_role, "%s", role);
}

void ferry_log(ferry_log_level_t level, const char *fmt, ...)
{
    s_init_from_env();
    if (level < s_level)
        return;
    static const char *names[] = {"debug", "info", "warn", "error"};
    char line[2048];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%02d:%02d:%02d.%03ld %s %s: ", tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, s_role, names[level]);
    va_list ap;
    va_start(ap, fmt);
    if (n >= 0 && (size_t)n < sizeof line)
        n += vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof line - 1)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    (void)!write(STDERR_FILENO, line, (size_t)n);
}
