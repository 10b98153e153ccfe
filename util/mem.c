/* mem.c -- allocation wrappers that abort on out-of-memory (policy in mem.h) */
#include "util/mem.h"
#include "util/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void s_oom(size_t size)
{
    char line[96];
    int n = snprintf(line, sizeof line, "ferry: out of memory allocating %zu bytes\n", size);
    if (n > 0)
        (void)!write(STDERR_FILENO, line, (size_t)n);
    abort();
}

void *ferry_malloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p)
        s_oom(size);
    return p;
}

void *ferry_calloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        s_oom(count * size);
    return p;
}

void *ferry_realloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);
    if (!p)
        s_oom(size);
    return p;
}

void *ferry_reallocarray(void *ptr, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        s_oom(SIZE_MAX);
    return ferry_realloc(ptr, count * size);
}

char *ferry_strdup(const char *s)
{
    return ferry_strndup(s, strlen(s));
}

char *ferry_strndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = ferry_malloc(len + 1);
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *ferry_asprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *out = NULL;
    int n = vasprintf(&out, fmt, ap);
    va_end(ap);
    if (n < 0)
        s_oom(0);
    return out;
}

int ferry_err(ferry_err_t *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}
