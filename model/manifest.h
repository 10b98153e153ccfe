/* manifest.h -- the signature manifest of a converted model: how records become tensors
 *
 * The manifest is JSON (written by the converter, model/convert.c; format described in
 * the README section of the convert area). Top-level keys read here:
 *   "inputs":  [{"name": field, "tensor": graph input, "dtype": "double"|"string", ...}]
 *   "columns": [{"name": score column, "tensor": graph output, "index": column of that
 *               output, "format": "number"|"string"}]
 *   "outputs": [{"tensor": "row_valid", ...}] -- its presence marks rows the PMML
 *               evaluator refuses (returnInvalid).
 * The reader treats the text as hostile: bounded size and nesting, types checked, unknown
 * keys ignored. */
#ifndef FERRY_MANIFEST_H
#define FERRY_MANIFEST_H

#include "util/common.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FERRY_MANIFEST_MAX_BYTES (16u << 20)
#define FERRY_MANIFEST_MAX_DEPTH 32
#define FERRY_MANIFEST_MAX_ITEMS 100000

typedef struct {
    char *name;   /* field / CSV column name */
    char *tensor; /* graph input name */
    bool is_string;
} ferry_manifest_input_t;

typedef struct {
    char *name;   /* score column name */
    char *tensor; /* graph output name */
    int64_t index;
    bool is_string;
} ferry_manifest_column_t;

typedef struct {
    size_t n_inputs;
    ferry_manifest_input_t *inputs;
    size_t n_columns;
    ferry_manifest_column_t *columns;
    bool has_row_valid;
} ferry_manifest_t;

/* Parse manifest JSON (len bytes, need not be NUL-terminated); name is used in messages.
 * NULL with err (place and expectation) on failure. */
ferry_manifest_t *ferry_manifest_parse(const char *json, size_t len, const char *name, ferry_err_t *err);
void ferry_manifest_destroy(ferry_manifest_t **self_p);

#endif
