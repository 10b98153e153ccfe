/* score_ort.h -- run a converted model through an ONNX Runtime runner process (runners/README.md)
 *
 * `ferry score --runtime ort` hands the input tensors to a runner (ort-node: onnxruntime-node
 * under Node.js; ort-python: a python that imports onnxruntime) as .npy files in a private
 * temporary directory, runs it under a deadline with its stdout and stderr bounded, and reads
 * its .npy outputs back, checking each file before use: the runner is another program, its
 * output is as hostile as any input file. The directory is removed on every path. */
#ifndef FERRY_SCORE_ORT_H
#define FERRY_SCORE_ORT_H

#include "model/npy.h"
#include "util/buf.h"
#include "util/common.h"

#include <stddef.h>

#define FERRY_ORT_TIMEOUT_S_DEFAULT 600     /* the runner's whole run: start, load, infer, write */
#define FERRY_ORT_TIMEOUT_S_MAX 86400
#define FERRY_ORT_DETECT_TIMEOUT_MS 10000   /* `python -c "import onnxruntime"` when choosing a runner */
#define FERRY_ORT_STDERR_TAIL 4096          /* bytes of the runner's stderr kept for the report */
#define FERRY_ORT_MAX_OUTPUT_BYTES ((size_t)4 << 30) /* one output_<k>.npy file */

typedef enum {
    FERRY_ORT_AUTO,   /* "ort": ort-node if it can run here, else ort-python (cuda: python first) */
    FERRY_ORT_NODE,   /* "ort-node" */
    FERRY_ORT_PYTHON, /* "ort-python" */
} ferry_ort_runner_t;

typedef struct {
    ferry_ort_runner_t runner;
    const char *provider; /* NULL: the runner's default (cpu); passed through as --provider */
    int timeout_s;        /* 0: FERRY_ORT_TIMEOUT_S_DEFAULT */
} ferry_ort_opts_t;

/* "ort", "ort-node", "ort-python" -> *out. Returns 0, or -1 for another name. */
int ferry_ort_runner_parse(const char *name, ferry_ort_runner_t *out);

/* Run model_path with a runner. Input k is graph input names[k] fed from inputs[k]; output j
 * is read back from the runner's output_<want[j]>.npy (graph output index want[j]) into a
 * fresh outs[j] (the caller destroys them; all NULL on failure). The files are checked
 * (regular, at most FERRY_ORT_MAX_OUTPUT_BYTES, a well-formed .npy; result.json present);
 * dtypes and shapes are the caller's to check. Returns 0, or a FERRY_EXIT_* code with err:
 * FERRY_EXIT_INPUT when the runner refused the model or its inputs (its exit 3),
 * FERRY_EXIT_RUNTIME for a missing runner or interpreter, a runner failure, a deadline
 * passed or a malformed output, FERRY_EXIT_INTERRUPTED on SIGINT/SIGTERM. On a runner
 * failure, tail (if non-NULL) receives the last FERRY_ORT_STDERR_TAIL bytes of its stderr. */
int ferry_ort_run(const ferry_ort_opts_t *opts, const char *model_path, size_t n_in, const char *const *names,
                  const ferry_npy_t *const *inputs, size_t n_out, const size_t *want, ferry_npy_t **outs,
                  ferry_buf_t *tail, ferry_err_t *err);

#endif
