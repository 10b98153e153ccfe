/* score_onnx.h -- the ONNX branch of `ferry score` (cli/score_onnx.c) */
#ifndef FERRY_SCORE_ONNX_H
#define FERRY_SCORE_ONNX_H

/* Score DATA.csv with a converted ONNX model through its signature manifest; writes
 * out_path (atomically) or standard output. Returns a FERRY_EXIT_* code. */
int ferry_score_onnx(const char *model_path, const char *data_path, const char *out_path);
/* The same, or with npy_specs ("NAME=FILE.npy", n_npy > 0) feeding the input tensors
 * directly instead of a CSV (data_path unused); the columns are written all the same. */
#include <stddef.h>
int ferry_score_onnx_ex(const char *model_path, const char *data_path, const char *const *npy_specs, size_t n_npy,
                        const char *out_path);
/* The same, run by ONNX Runtime through a runner process (cli/score_ort.h) when ort is
 * non-NULL, by ferry's engine when it is NULL. The CSV becomes the same tensors and the
 * outputs the same columns either way. Also FERRY_EXIT_RUNTIME when the runner is missing,
 * fails, hangs past its deadline or writes malformed outputs. */
#include "cli/score_ort.h"
int ferry_score_onnx_rt(const char *model_path, const char *data_path, const char *const *npy_specs, size_t n_npy,
                        const char *out_path, const ferry_ort_opts_t *ort);

#endif
