/* runtimes.h -- which runners (runners/README.md) this machine can run, for HELLO and `ferry probe`
 *
 * Names match plan files' `requires: {runtimes: [...]}`:
 *   "ort-node"         node on PATH and onnxruntime-node installed in RUNNERS/ort-node
 *   "ort-python"       a python that imports onnxruntime ($FERRY_ORT_PYTHON, else python3)
 *   "ort-python-cuda"  the same, with CUDAExecutionProvider available
 * Each check runs its program under a deadline (FERRY_RUNTIMES_TIMEOUT_MS), so a broken
 * interpreter delays detection, never hangs it. */
#ifndef FERRY_RUNTIMES_H
#define FERRY_RUNTIMES_H

#include "util/json.h"

#include <stddef.h>

#define FERRY_RUNTIMES_TIMEOUT_MS 10000 /* per interpreter started */
#define FERRY_RUNTIMES_MAX_OUTPUT 65536  /* bytes read from one check */

typedef struct {
    char *name;     /* "ort-node", "ort-python", "ort-python-cuda" */
    char *version;  /* runtime version ("1.30.0") or NULL */
    char *program;  /* how to start the runner, e.g. "node /opt/ferry/runners/ort-node/runner.js" */
} ferry_runtime_t;

/* The runners directory: $FERRY_RUNNERS_DIR, else <dir of the ferry binary>/../runners
 * when that holds README.md, else <that dir>/runners (a build tree), else "runners".
 * Returns a fresh string (caller frees). */
char *ferry_runners_dir(void);

/* Detect runtimes; runners_dir NULL = ferry_runners_dir(). *out is a fresh array (free
 * with ferry_runtimes_free), possibly empty. Returns the count (>= 0). */
int ferry_runtimes_detect(const char *runners_dir, ferry_runtime_t **out, size_t *n);
void ferry_runtimes_free(ferry_runtime_t *rt, size_t n);

/* [{"name", "version", "program"}] */
void ferry_runtimes_to_json(const ferry_runtime_t *rt, size_t n, ferry_json_t *j);

#endif
