/* common.h -- things every ferry module needs: version, exit codes, error buffers, small macros */
#ifndef FERRY_COMMON_H
#define FERRY_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define FERRY_VERSION "0.1.0"

/* Process exit codes. Every command uses these; `ferry --help` documents them. */
enum {
    FERRY_EXIT_OK = 0,       /* everything asked for succeeded */
    FERRY_EXIT_FAIL = 1,     /* the work ran but a result is negative: a task failed,
                                a check found problems, a comparison exceeded tolerance */
    FERRY_EXIT_USAGE = 2,    /* bad command line */
    FERRY_EXIT_INPUT = 3,    /* an input file (plan, model, CSV, key) is missing or invalid */
    FERRY_EXIT_RUNTIME = 4,  /* environment failure: socket, disk, journal, out of resources */
    FERRY_EXIT_INTERRUPTED = 130 /* stopped by SIGINT/SIGTERM before finishing */
};

/* A human-readable error, filled where a person must read it (plans, models, CLI).
 * Messages name the file, the place and what was expected. */
#define FERRY_ERR_MAX 1024
typedef struct {
    char msg[FERRY_ERR_MAX];
} ferry_err_t;

/* Format into err (if non-NULL). Returns -1 so callers can `return ferry_err(...)`. */
int ferry_err(ferry_err_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define FERRY_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define FERRY_MIN(a, b) ((a) < (b) ? (a) : (b))
#define FERRY_MAX(a, b) ((a) > (b) ? (a) : (b))
#ifndef container_of
#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))
#endif

#endif
