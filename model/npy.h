/* npy.h -- NumPy .npy files (format versions 1.0, 2.0, 3.0): tensors between ferry and runner processes
 *
 * The reader treats every file as hostile: the header is parsed by a small strict parser
 * (no Python evaluation), its length, the number of dimensions and the element count
 * are bounded, and the data must be exactly as long as the header says. Arrays come out
 * in C order, native (little-endian) byte order whatever the file used (big-endian and
 * Fortran-order files are converted). Object arrays (pickles) and structured dtypes are
 * refused.
 *
 * Supported dtypes: bool, int8/16/32/64, uint8/16/32/64, float16 (raw IEEE bits), float32,
 * float64, and strings: numpy '<U' (UTF-32) and '|S' (bytes) read as UTF-8 strings;
 * strings are written as '<U'. */
#ifndef FERRY_NPY_H
#define FERRY_NPY_H

#include "util/buf.h"
#include "util/common.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FERRY_NPY_MAX_DIMS 32                     /* numpy's own limit */
#define FERRY_NPY_MAX_HEADER (1u << 20)            /* header bytes */
#define FERRY_NPY_MAX_BYTES (16ull << 30)          /* data bytes of one array (16 GiB) */
#define FERRY_NPY_MAX_STRING_WIDTH (1u << 20)      /* characters of one '<U' / '|S' element */

typedef enum {
    FERRY_NPY_BOOL,
    FERRY_NPY_INT8,
    FERRY_NPY_UINT8,
    FERRY_NPY_INT16,
    FERRY_NPY_UINT16,
    FERRY_NPY_INT32,
    FERRY_NPY_UINT32,
    FERRY_NPY_INT64,
    FERRY_NPY_UINT64,
    FERRY_NPY_FLOAT16,
    FERRY_NPY_FLOAT32,
    FERRY_NPY_FLOAT64,
    FERRY_NPY_STRING,
    FERRY_NPY_DTYPE_COUNT
} ferry_npy_dtype_t;

typedef struct {
    ferry_npy_dtype_t dtype;
    size_t ndim;                          /* 0 = a scalar (one element) */
    uint64_t shape[FERRY_NPY_MAX_DIMS];
    uint64_t count;                       /* elements: the product of shape */
    void *data;                           /* numeric: count * itemsize bytes, C order, native order; never NULL */
    char **strings;                       /* STRING: count NUL-terminated UTF-8 strings; set them
                                             with ferry_npy_set_string (ownership is internal) */
    char *pool_;                          /* private: the reader's one allocation for all strings */
    size_t pool_len_;                     /* private */
} ferry_npy_t;

/* A zero-filled array (strings: all ""). NULL when ndim or the size is out of bounds. */
ferry_npy_t *ferry_npy_new(ferry_npy_dtype_t dtype, size_t ndim, const uint64_t *shape);
void ferry_npy_destroy(ferry_npy_t **self_p);

/* Parse a whole .npy image. name is used in messages. NULL + err on failure. */
ferry_npy_t *ferry_npy_parse(const char *name, const void *bytes, size_t len, ferry_err_t *err);
/* Read a .npy file (mapped, not read whole into memory first). */
ferry_npy_t *ferry_npy_read(const char *path, ferry_err_t *err);

/* Append the .npy image of a to out (format 1.0, or 2.0 when the header needs it).
 * Strings must be valid UTF-8 without NUL. Returns 0 or -EINVAL with err. */
int ferry_npy_encode(const ferry_npy_t *a, ferry_buf_t *out, ferry_err_t *err);
/* Write a to path atomically. Returns 0 or negative with err. */
int ferry_npy_write(const char *path, const ferry_npy_t *a, ferry_err_t *err);

/* Set element i of a STRING array (copied). Returns 0, or -EINVAL for bad UTF-8 / index. */
int ferry_npy_set_string(ferry_npy_t *a, uint64_t i, const char *s);

/* Bytes per element (0 for STRING). */
size_t ferry_npy_itemsize(ferry_npy_dtype_t dtype);
/* "float32", "int64", "bool", "string" ... (ONNX Runtime's names) */
const char *ferry_npy_dtype_name(ferry_npy_dtype_t dtype);
/* Inverse of ferry_npy_dtype_name; -1 when unknown. */
int ferry_npy_dtype_from_name(const char *name);
/* Element i as a double (NaN for STRING). */
double ferry_npy_get_double(const ferry_npy_t *a, uint64_t i);

#endif
