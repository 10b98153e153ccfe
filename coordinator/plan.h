/* plan.h -- the plan file (YAML): settings and diagnostic task groups, validated as hostile input
 *
 * A plan is a user-written YAML document; see coordinator/PLAN.md for its format. The
 * parser refuses anything it does not understand: unknown keys (named in the message),
 * duplicate keys, wrong types, out-of-range numbers, nesting deeper than
 * FERRY_PLAN_MAX_DEPTH, scalars longer than FERRY_PLAN_MAX_SCALAR, files larger than
 * FERRY_PLAN_MAX_BYTES. Every error message names the file, the line and column (1-based)
 * and the key path, e.g.
 *     plan.yaml:12:5: settings.lease_ms: expected a positive integer (milliseconds), got "abc"
 * The `migration:` section is reserved for a later issue and refused for now with
 * "migration plans are not supported yet". */
#ifndef FERRY_PLAN_H
#define FERRY_PLAN_H

#include "util/common.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits on hostile input (a plan is written by a person; these are generous). */
#define FERRY_PLAN_MAX_BYTES (4u * 1024 * 1024) /* plan file size */
#define FERRY_PLAN_MAX_DEPTH 16                 /* nesting of mappings and sequences */
#define FERRY_PLAN_MAX_SCALAR 4096              /* bytes in one scalar */
#define FERRY_PLAN_MAX_GROUPS 10000             /* entries under diagnostics: */
#define FERRY_PLAN_MAX_LIST 256                 /* entries in isa/tags/runtimes */
#define FERRY_PLAN_MAX_COUNT 10000000ull        /* tasks in one group */
#define FERRY_PLAN_MAX_NAME 128                 /* bytes in a group name */
#define FERRY_PLAN_MAX_ATTEMPTS 1000
#define FERRY_PLAN_MAX_MS (7ll * 24 * 3600 * 1000) /* any duration: one week */
#define FERRY_PLAN_MAX_MEMORY_MB (16ull * 1024 * 1024) /* 16 TiB */

/* Defaults of settings: */
#define FERRY_PLAN_DEFAULT_MAX_ATTEMPTS 3
#define FERRY_PLAN_DEFAULT_LEASE_MS 30000
#define FERRY_PLAN_DEFAULT_TASK_TIMEOUT_MS 600000
#define FERRY_PLAN_DEFAULT_RETRY_BACKOFF_MS 500
#define FERRY_PLAN_DEFAULT_HEARTBEAT_MS 1000
#define FERRY_PLAN_DEFAULT_MEMORY_LIMIT_MB 4096

typedef enum { FERRY_DIAG_ECHO, FERRY_DIAG_SLEEP, FERRY_DIAG_FAIL, FERRY_DIAG_CRASH } ferry_diag_kind_t;

typedef struct {              /* requirements a task carries; empty = any worker */
    char *arch;               /* "x86_64", "aarch64" or NULL */
    char **isa; size_t n_isa; /* e.g. "avx2", "avx512f", "neon" */
    bool needs_gpu;
    char **tags; size_t n_tags;
    char **runtimes; size_t n_runtimes;
} ferry_requirements_t;

typedef struct {
    char *name;               /* group name, default "<kind>" ; task ids are "<name>-<index>" */
    ferry_diag_kind_t kind;
    int64_t sleep_ms;         /* for SLEEP */
    uint64_t count;           /* how many tasks of this group (default 1; up to 10,000,000) */
    ferry_requirements_t req;
} ferry_plan_group_t;

typedef struct {
    char *path, *name;        /* path as given to load/parse; name: `name:` or NULL */
    int max_attempts;         /* default 3 */
    int64_t lease_ms;         /* default 30000 */
    int64_t task_timeout_ms;  /* default 600000: child-process deadline */
    int64_t retry_backoff_ms; /* default 500, doubled per attempt */
    int64_t heartbeat_ms;     /* default 1000 */
    uint64_t memory_limit_mb; /* default 4096, child RLIMIT_AS */
    ferry_plan_group_t *groups; size_t n_groups;
} ferry_plan_t;

/* Read and parse the plan at path. Returns a new plan (the caller destroys it) or NULL
 * with a message in err (a missing file, a file over FERRY_PLAN_MAX_BYTES, or any parse
 * or validation error). */
ferry_plan_t *ferry_plan_load(const char *path, ferry_err_t *err);

/* Parse len bytes of YAML (need not be NUL-terminated). path_for_messages is used in
 * error messages and copied into plan->path. NULL + err on failure. */
ferry_plan_t *ferry_plan_parse(const char *path_for_messages, const char *yaml, size_t len, ferry_err_t *err);

/* Free a plan and everything it owns; sets *plan_p to NULL; safe on NULL. */
void ferry_plan_destroy(ferry_plan_t **plan_p);

/* "echo", "sleep", "fail", "crash" (static strings). */
const char *ferry_diag_kind_name(ferry_diag_kind_t kind);

#endif
