/* tensor.h -- dense n-dimensional tensors for ferry's ONNX engine, and their TensorProto form
 *
 * A tensor owns one contiguous row-major buffer whose capacity only grows: the engine
 * reshapes the same tensor on every run, so steady-state runs allocate nothing.
 * Element types are ONNX TensorProto data types (FERRY_DT_* below carry the same
 * numbers). STRING tensors hold an array of heap strings owned by the tensor.
 * A tensor may instead be a "sequence of maps" (what ZipMap produces): then `data` holds
 * the [N, C] float values and `map_keys` the C keys (int64 or string). */
#ifndef FERRY_TENSOR_H
#define FERRY_TENSOR_H

#include "util/common.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "onnx.pb-c.h"

/* Element types: the numbers of onnx.proto's TensorProto.DataType. */
enum {
    FERRY_DT_UNDEFINED = 0,
    FERRY_DT_FLOAT = 1,
    FERRY_DT_UINT8 = 2,
    FERRY_DT_INT8 = 3,
    FERRY_DT_UINT16 = 4,
    FERRY_DT_INT16 = 5,
    FERRY_DT_INT32 = 6,
    FERRY_DT_INT64 = 7,
    FERRY_DT_STRING = 8,
    FERRY_DT_BOOL = 9,
    FERRY_DT_FLOAT16 = 10,
    FERRY_DT_DOUBLE = 11,
    FERRY_DT_UINT32 = 12,
    FERRY_DT_UINT64 = 13,
    FERRY_DT_BFLOAT16 = 16, /* known, refused (see ferry_dtype_size) */
};

/* Limits on what a model or tensor file may ask for (hostile input is bounded before
 * any allocation). */
#define FERRY_TENSOR_MAX_DIMS 12
#ifdef FERRY_FUZZING /* the fuzzer's memory limit: hostile shapes fail fast */
#define FERRY_TENSOR_MAX_ELEMS ((int64_t)1 << 22)
#define FERRY_TENSOR_MAX_BYTES ((size_t)64 << 20)
#else
#define FERRY_TENSOR_MAX_ELEMS ((int64_t)1 << 31)        /* 2^31 elements */
#define FERRY_TENSOR_MAX_BYTES ((size_t)4 << 30)         /* 4 GiB per tensor */
#endif

typedef enum { FERRY_VALUE_TENSOR = 0, FERRY_VALUE_SEQ_MAP = 1 } ferry_value_kind_t;

typedef struct ferry_tensor {
    int32_t dtype;                        /* FERRY_DT_* */
    int ndim;                             /* 0 = scalar */
    int64_t dims[FERRY_TENSOR_MAX_DIMS];
    int64_t count;                        /* product of dims (1 for a scalar) */
    void *data;                           /* count elements; char ** for STRING */
    size_t cap;                           /* bytes allocated at data */
    ferry_value_kind_t kind;
    struct ferry_tensor *map_keys;        /* SEQ_MAP only: the C keys; owned */
    uint64_t writes;                      /* bumped by every reshape: lets the engine see
                                             which outputs an operator produced */
} ferry_tensor_t;

/* Size in bytes of one element, 0 for unknown types. STRING counts a pointer. */
size_t ferry_dtype_size(int32_t dtype);
/* "float", "int64", ... ("?" for unknown); never NULL */
const char *ferry_dtype_name(int32_t dtype);
bool ferry_dtype_is_supported(int32_t dtype);

/* Initialise an empty tensor: float, shape [0], no buffer (no allocation). Reading it
 * touches no memory, so a value that was never produced cannot crash a consumer. */
void ferry_tensor_init(ferry_tensor_t *t);
/* Free what t owns and leave it empty (reusable). */
void ferry_tensor_clear(ferry_tensor_t *t);

ferry_tensor_t *ferry_tensor_new(void);
void ferry_tensor_destroy(ferry_tensor_t **self_p);

/* Give t the type and shape asked for, keeping its buffer when large enough. Contents
 * are unspecified afterwards (strings are reset to NULL). Returns 0, or -1 with err
 * when the shape is negative or too large. */
int ferry_tensor_reshape(ferry_tensor_t *t, int32_t dtype, int ndim, const int64_t *dims, ferry_err_t *err);
/* Same shape as `like`, with the type given. */
int ferry_tensor_reshape_like(ferry_tensor_t *t, int32_t dtype, const ferry_tensor_t *like, ferry_err_t *err);

/* Deep copy src into dst (shape, type, data, strings, map keys). */
int ferry_tensor_copy(ferry_tensor_t *dst, const ferry_tensor_t *src, ferry_err_t *err);

/* Replace string element i (takes a copy of s, len bytes). */
void ferry_tensor_set_string(ferry_tensor_t *t, int64_t i, const char *s, size_t len);

/* Element i as a double / int64 (numeric and bool types; 0 for strings). */
double ferry_tensor_get_f64(const ferry_tensor_t *t, int64_t i);
int64_t ferry_tensor_get_i64(const ferry_tensor_t *t, int64_t i);

/* Convert an ONNX TensorProto (raw_data or typed fields) into t. External data and
 * unsupported types are refused. `what` names the tensor in messages. */
int ferry_tensor_from_proto(ferry_tensor_t *t, const Onnx__TensorProto *p, const char *what, ferry_err_t *err);
/* Parse a serialized TensorProto (e.g. an ONNX test_data_set input_0.pb) into t. */
int ferry_tensor_from_pb_bytes(ferry_tensor_t *t, const uint8_t *bytes, size_t len, const char *what,
                               ferry_err_t *err);
/* Serialize t as a TensorProto named `name`; the caller frees *out. */
int ferry_tensor_to_pb_bytes(const ferry_tensor_t *t, const char *name, uint8_t **out, size_t *out_len,
                             ferry_err_t *err);

/* Format "[2,3]" into buf (always NUL-terminated); returns buf. */
const char *ferry_tensor_shape_str(const ferry_tensor_t *t, char *buf, size_t size);

/* IEEE half <-> single conversions (round to nearest even). */
float ferry_half_to_float(uint16_t h);
uint16_t ferry_float_to_half(float f);

#endif
