/* log.h -- leveled logging to stderr, one line per event, with time and role */
#ifndef FERRY_LOG_H
#define FERRY_LOG_H

typedef enum { FERRY_LOG_DEBUG = 0, FERRY_LOG_INFO, FERRY_LOG_WARN, FERRY_LOG_ERROR } ferry_log_level_t;

/* Set the minimum level printed (default INFO, or FERRY_LOG=debug|info|warn|error). */
void ferry_log_set_level(ferry_log_level_t level);
/* Name shown in each line (e.g. "coordinator", "worker 3"); copied. */
void ferry_log_set_role(const char *role);
ferry_log_level_t ferry_log_level(void);
void ferry_log(ferry_log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define ferry_debug(...) ferry_log(FERRY_LOG_DEBUG, __VA_ARGS__)
#define ferry_info(...) ferry_log(FERRY_LOG_INFO, __VA_ARGS__)
#define ferry_warn(...) ferry_log(FERRY_LOG_WARN, __VA_ARGS__)
#define ferry_error(...) ferry_log(FERRY_LOG_ERROR, __VA_ARGS__)

#endif
