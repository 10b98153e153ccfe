/* tensor.c -- dense tensors with reusable buffers, and conversion from/to ONNX TensorProto */
#include "model/tensor.h"
#include "util/mem.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t ferry_dtype_size(int32_t dtype)
{
    switch (dtype) {
    case FERRY_DT_FLOAT: case FERRY_DT_INT32: case FERRY_DT_UINT32: return 4;
    case FERRY_DT_DOUBLE: case FERRY_DT_INT64: case FERRY_DT_UINT64: return 8;
    case FERRY_DT_UINT8: case FERRY_DT_INT8: case FERRY_DT_BOOL: return 1;
    case FERRY_DT_UINT16: case FERRY_DT_INT16: case FERRY_DT_FLOAT16: return 2;
    /* BFLOAT16 is refused: onnx 1.12's test data truncates float->bfloat16 where later
     * ONNX versions and runtimes round to nearest even; no answer is the safe one. */
    case FERRY_DT_STRING: return sizeof(char *);
    default: return 0;
    }
}

const char *ferry_dtype_name(int32_t dtype)
{
    static const char *names[] = {"undefined", "float", "uint8", "int8", "uint16", "int16", "int32", "int64",
                                  "string", "bool", "float16", "double", "uint32", "uint64", "complex64",
                                  "complex128", "bfloat16"};
    if (dtype >= 0 && (size_t)dtype < FERRY_ARRAY_LEN(names))
        return names[dtype];
    return "?";
}

bool ferry_dtype_is_supported(int32_t dtype)
{
    return ferry_dtype_size(dtype) > 0;
}

void ferry_tensor_init(ferry_tensor_t *t)
{
    memset(t, 0, sizeof(*t));
    t->dtype = FERRY_DT_FLOAT;
    t->ndim = 1;
    t->dims[0] = 0;
    t->count = 0;
}

static void s_free_strings(ferry_tensor_t *t)
{
    if (t->dtype != FERRY_DT_STRING || !t->data)
        return;
    char **s = t->data;
    for (int64_t i = 0; i < t->count; i++) {
        free(s[i]);
        s[i] = NULL;
    }
}

void ferry_tensor_clear(ferry_tensor_t *t)
{
    s_free_strings(t);
    free(t->data);
    if (t->map_keys)
        ferry_tensor_destroy(&t->map_keys);
    ferry_tensor_init(t);
}

ferry_tensor_t *ferry_tensor_new(void)
{
    ferry_tensor_t *t = ferry_malloc(sizeof(*t));
    ferry_tensor_init(t);
    return t;
}

void ferry_tensor_destroy(ferry_tensor_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ferry_tensor_clear(*self_p);
    free(*self_p);
    *self_p = NULL;
}

int ferry_tensor_reshape(ferry_tensor_t *t, int32_t dtype, int ndim, const int64_t *dims, ferry_err_t *err)
{
    size_t esize = ferry_dtype_size(dtype);
    if (!esize)
        return ferry_err(err, "tensor type %s (%d) is not supported", ferry_dtype_name(dtype), dtype);
    if (ndim < 0 || ndim > FERRY_TENSOR_MAX_DIMS)
        return ferry_err(err, "tensor rank %d exceeds the limit of %d", ndim, FERRY_TENSOR_MAX_DIMS);
    int64_t count = 1;
    for (int i = 0; i < ndim; i++) {
        if (dims[i] < 0)
            return ferry_err(err, "tensor dimension %d is negative (%lld)", i, (long long)dims[i]);
        if (dims[i] > 0 && count > FERRY_TENSOR_MAX_ELEMS / dims[i])
            return ferry_err(err, "tensor of more than %lld elements refused", (long long)FERRY_TENSOR_MAX_ELEMS);
        count *= dims[i];
    }
    if (count > FERRY_TENSOR_MAX_ELEMS || (size_t)count * esize > FERRY_TENSOR_MAX_BYTES)
        return ferry_err(err, "tensor of %lld elements exceeds the size limit", (long long)count);
    s_free_strings(t);
    if (t->map_keys)
        ferry_tensor_destroy(&t->map_keys);
    t->kind = FERRY_VALUE_TENSOR;
    size_t need = (size_t)count * esize;
    if (need > t->cap || !t->data) {
        size_t cap = need > 2 * t->cap ? need : 2 * t->cap;
        if (cap == 0)
            cap = 16;
        free(t->data);
        t->data = ferry_malloc(cap);
        t->cap = cap;
    }
    t->dtype = dtype;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        t->dims[i] = dims[i];
    t->count = count;
    t->writes++;
    if (dtype == FERRY_DT_STRING)
        memset(t->data, 0, need);
    return 0;
}

int ferry_tensor_reshape_like(ferry_tensor_t *t, int32_t dtype, const ferry_tensor_t *like, ferry_err_t *err)
{
    int64_t dims[FERRY_TENSOR_MAX_DIMS];
    int ndim = like->ndim;
    memcpy(dims, like->dims, sizeof(int64_t) * (size_t)ndim);
    return ferry_tensor_reshape(t, dtype, ndim, dims, err);
}

void ferry_tensor_set_string(ferry_tensor_t *t, int64_t i, const char *s, size_t len)
{
    char **arr = t->data;
    free(arr[i]);
    arr[i] = ferry_strndup(s ? s : "", s ? len : 0);
}

int ferry_tensor_copy(ferry_tensor_t *dst, const ferry_tensor_t *src, ferry_err_t *err)
{
    if (dst == src)
        return 0;
    if (ferry_tensor_reshape(dst, src->dtype, src->ndim, src->dims, err) < 0)
        return -1;
    if (src->dtype == FERRY_DT_STRING) {
        char *const *s = src->data;
        for (int64_t i = 0; i < src->count; i++)
            ferry_tensor_set_string(dst, i, s[i], s[i] ? strlen(s[i]) : 0);
    } else if (src->count) {
        memcpy(dst->data, src->data, (size_t)src->count * ferry_dtype_size(src->dtype));
    }
    if (src->kind == FERRY_VALUE_SEQ_MAP && src->map_keys) {
        dst->map_keys = ferry_tensor_new();
        if (ferry_tensor_copy(dst->map_keys, src->map_keys, err) < 0)
            return -1;
        dst->kind = FERRY_VALUE_SEQ_MAP;
    }
    return 0;
}

double ferry_tensor_get_f64(const ferry_tensor_t *t, int64_t i)
{
    switch (t->dtype) {
    case FERRY_DT_FLOAT: return ((const float *)t->data)[i];
    case FERRY_DT_DOUBLE: return ((const double *)t->data)[i];
    case FERRY_DT_INT64: return (double)((const int64_t *)t->data)[i];
    case FERRY_DT_INT32: return ((const int32_t *)t->data)[i];
    case FERRY_DT_UINT32: return ((const uint32_t *)t->data)[i];
    case FERRY_DT_UINT64: return (double)((const uint64_t *)t->data)[i];
    case FERRY_DT_INT16: return ((const int16_t *)t->data)[i];
    case FERRY_DT_UINT16: return ((const uint16_t *)t->data)[i];
    case FERRY_DT_INT8: return ((const int8_t *)t->data)[i];
    case FERRY_DT_UINT8: case FERRY_DT_BOOL: return ((const uint8_t *)t->data)[i];
    case FERRY_DT_FLOAT16: return ferry_half_to_float(((const uint16_t *)t->data)[i]);
    case FERRY_DT_BFLOAT16: {
        uint32_t bits = (uint32_t)((const uint16_t *)t->data)[i] << 16;
        float f;
        memcpy(&f, &bits, sizeof(f));
        return f;
    }
    default: return 0;
    }
}

int64_t ferry_tensor_get_i64(const ferry_tensor_t *t, int64_t i)
{
    switch (t->dtype) {
    case FERRY_DT_INT64: return ((const int64_t *)t->data)[i];
    case FERRY_DT_INT32: return ((const int32_t *)t->data)[i];
    case FERRY_DT_UINT32: return ((const uint32_t *)t->data)[i];
    case FERRY_DT_UINT64: return (int64_t)((const uint64_t *)t->data)[i];
    case FERRY_DT_INT16: return ((const int16_t *)t->data)[i];
    case FERRY_DT_UINT16: return ((const uint16_t *)t->data)[i];
    case FERRY_DT_INT8: return ((const int8_t *)t->data)[i];
    case FERRY_DT_UINT8: case FERRY_DT_BOOL: return ((const uint8_t *)t->data)[i];
    case FERRY_DT_STRING: return 0;
    default: {
        double v = ferry_tensor_get_f64(t, i);
        if (!(v > -9.2e18 && v < 9.2e18)) /* NaN and out of range: no UB cast */
            return INT64_MIN;
        return (int64_t)v;
    }
    }
}

/* ---- half precision -------------------------------------------------------------------- */

float ferry_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else { /* subnormal: value = mant * 2^-24 */
            float v = (float)mant * 5.9604644775390625e-8f;
            return sign ? -v : v;
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 112) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof(f));
    return f;
}

uint16_t ferry_float_to_half(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof(x));
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t absx = x & 0x7fffffffu;
    if (absx >= 0x7f800000u) /* inf or nan */
        return sign | 0x7c00 | (absx > 0x7f800000u ? 0x200 : 0);
    if (absx >= 0x477ff000u) /* rounds to >= 65520: overflow to inf */
        return sign | 0x7c00;
    if (absx < 0x38800000u) { /* below smallest normal half: subnormal or zero */
        float a;
        memcpy(&a, &absx, sizeof(a));
        /* a / 2^-24 rounded to nearest even */
        float scaled = a * 16777216.0f;
        uint32_t m = (uint32_t)nearbyintf(scaled);
        return sign | (uint16_t)m;
    }
    uint32_t exp = (absx >> 23) - 112, mant = absx & 0x7fffff;
    uint32_t h = (exp << 10) | (mant >> 13);
    uint32_t rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest == 0x1000 && (h & 1)))
        h++;
    return sign | (uint16_t)h;
}

/* ---- TensorProto -------------------------------------------------------------------------- */

static int s_need(const char *what, size_t have, int64_t count, const char *field, ferry_err_t *err)
{
    if ((int64_t)have != count)
        return ferry_err(err, "tensor '%s': %s holds %zu values, the shape needs %lld", what, field, have,
                         (long long)count);
    return 0;
}

int ferry_tensor_from_proto(ferry_tensor_t *t, const Onnx__TensorProto *p, const char *what, ferry_err_t *err)
{
    if (!what)
        what = p->name && *p->name ? p->name : "?";
    int32_t dt = p->data_type;
    if (p->n_external_data > 0 || (p->has_data_location && p->data_location == 1))
        return ferry_err(err, "tensor '%s': external data is not supported by the engine (load the model "
                              "with its external data resolved)", what);
    if (p->segment)
        return ferry_err(err, "tensor '%s': segmented tensors are not supported", what);
    if (!ferry_dtype_is_supported(dt))
        return ferry_err(err, "tensor '%s': element type %s (%d) is not supported", what, ferry_dtype_name(dt), dt);
    if (p->n_dims > FERRY_TENSOR_MAX_DIMS)
        return ferry_err(err, "tensor '%s': rank %zu exceeds the limit of %d", what, p->n_dims,
                         FERRY_TENSOR_MAX_DIMS);
    ferry_err_t e2;
    if (ferry_tensor_reshape(t, dt, (int)p->n_dims, p->dims, &e2) < 0)
        return ferry_err(err, "tensor '%.200s': %.500s", what, e2.msg);
    size_t esize = ferry_dtype_size(dt);
    int64_t n = t->count;
    if (dt == FERRY_DT_STRING) {
        if (s_need(what, p->n_string_data, n, "string_data", err) < 0)
            return -1;
        for (int64_t i = 0; i < n; i++)
            ferry_tensor_set_string(t, i, (const char *)p->string_data[i].data, p->string_data[i].len);
        return 0;
    }
    if (p->has_raw_data && (p->raw_data.len > 0 || n == 0)) {
        if (p->raw_data.len != (size_t)n * esize)
            return ferry_err(err, "tensor '%s': raw_data has %zu bytes, shape and type need %zu", what,
                             p->raw_data.len, (size_t)n * esize);
        if (n)
            memcpy(t->data, p->raw_data.data, p->raw_data.len); /* little-endian host */
        if (dt == FERRY_DT_BOOL)
            for (int64_t i = 0; i < n; i++)
                ((uint8_t *)t->data)[i] = ((uint8_t *)t->data)[i] != 0;
        return 0;
    }
    switch (dt) {
    case FERRY_DT_FLOAT:
        if (s_need(what, p->n_float_data, n, "float_data", err) < 0)
            return -1;
        if (n)
            memcpy(t->data, p->float_data, (size_t)n * 4);
        return 0;
    case FERRY_DT_DOUBLE:
        if (s_need(what, p->n_double_data, n, "double_data", err) < 0)
            return -1;
        if (n)
            memcpy(t->data, p->double_data, (size_t)n * 8);
        return 0;
    case FERRY_DT_INT64:
        if (s_need(what, p->n_int64_data, n, "int64_data", err) < 0)
            return -1;
        if (n)
            memcpy(t->data, p->int64_data, (size_t)n * 8);
        return 0;
    case FERRY_DT_UINT32: case FERRY_DT_UINT64:
        if (s_need(what, p->n_uint64_data, n, "uint64_data", err) < 0)
            return -1;
        for (int64_t i = 0; i < n; i++) {
            if (dt == FERRY_DT_UINT32)
                ((uint32_t *)t->data)[i] = (uint32_t)p->uint64_data[i];
            else
                ((uint64_t *)t->data)[i] = p->uint64_data[i];
        }
        return 0;
    default: /* int32, int16, int8, uint16, uint8, bool, float16: in int32_data */
        if (s_need(what, p->n_int32_data, n, "int32_data", err) < 0)
            return -1;
        for (int64_t i = 0; i < n; i++) {
            int32_t v = p->int32_data[i];
            switch (dt) {
            case FERRY_DT_INT32: ((int32_t *)t->data)[i] = v; break;
            case FERRY_DT_INT16: ((int16_t *)t->data)[i] = (int16_t)v; break;
            case FERRY_DT_UINT16: case FERRY_DT_FLOAT16: case FERRY_DT_BFLOAT16: ((uint16_t *)t->data)[i] = (uint16_t)v; break;
            case FERRY_DT_INT8: ((int8_t *)t->data)[i] = (int8_t)v; break;
            case FERRY_DT_UINT8: ((uint8_t *)t->data)[i] = (uint8_t)v; break;
            case FERRY_DT_BOOL: ((uint8_t *)t->data)[i] = v != 0; break;
            }
        }
        return 0;
    }
}

int ferry_tensor_from_pb_bytes(ferry_tensor_t *t, const uint8_t *bytes, size_t len, const char *what,
                               ferry_err_t *err)
{
    Onnx__TensorProto *p = onnx__tensor_proto__unpack(NULL, len, bytes);
    if (!p)
        return ferry_err(err, "%s: not a valid serialized ONNX TensorProto", what);
    int rc = ferry_tensor_from_proto(t, p, what, err);
    onnx__tensor_proto__free_unpacked(p, NULL);
    return rc;
}

int ferry_tensor_to_pb_bytes(const ferry_tensor_t *t, const char *name, uint8_t **out, size_t *out_len,
                             ferry_err_t *err)
{
    if (t->kind != FERRY_VALUE_TENSOR)
        return ferry_err(err, "value '%s' is a sequence of maps, not a tensor: it has no TensorProto form", name);
    Onnx__TensorProto p = ONNX__TENSOR_PROTO__INIT;
    p.name = (char *)name;
    p.has_data_type = 1;
    p.data_type = t->dtype;
    p.n_dims = (size_t)t->ndim;
    p.dims = (int64_t *)t->dims;
    if (t->dtype == FERRY_DT_STRING) {
        p.n_string_data = (size_t)t->count;
        p.string_data = ferry_calloc((size_t)t->count + 1, sizeof(ProtobufCBinaryData));
        char *const *s = t->data;
        for (int64_t i = 0; i < t->count; i++) {
            p.string_data[i].data = (uint8_t *)(s[i] ? s[i] : "");
            p.string_data[i].len = s[i] ? strlen(s[i]) : 0;
        }
    } else {
        p.has_raw_data = 1;
        p.raw_data.data = t->data;
        p.raw_data.len = (size_t)t->count * ferry_dtype_size(t->dtype);
    }
    size_t n = onnx__tensor_proto__get_packed_size(&p);
    *out = ferry_malloc(n ? n : 1);
    *out_len = onnx__tensor_proto__pack(&p, *out);
    free(p.string_data);
    return 0;
}

const char *ferry_tensor_shape_str(const ferry_tensor_t *t, char *buf, size_t size)
{
    size_t off = 0;
    if (size == 0)
        return buf;
    buf[0] = 0;
    off += (size_t)snprintf(buf + off, size - off, "[");
    for (int i = 0; i < t->ndim && off < size; i++)
        off += (size_t)snprintf(buf + off, size - off, "%s%lld", i ? "," : "", (long long)t->dims[i]);
    if (off < size)
        snprintf(buf + off, size - off, "]");
    return buf;
}
