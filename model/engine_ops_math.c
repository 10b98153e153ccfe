/* engine_ops_math.c -- elementwise operators of ferry's engine: arithmetic, comparisons,
 * logic, unary math and activations, Cast, Where, Clip, variadic Sum/Mean/Min/Max.
 *
 * Numeric work happens in four "compute types": float, double, int64 and uint64. Other
 * integer types and float16 are widened into a scratch tensor, computed, and narrowed
 * back (wrapping like the narrow type would). Binary kernels run over the innermost
 * (collapsed) axis with strides 0 or 1, so broadcasting costs one call per row. */
#include "model/engine_impl.h"
#include "util/mem.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- type conversion ------------------------------------------------------------------- */

static int32_t s_compute_type(int32_t dt)
{
    switch (dt) {
    case FERRY_DT_FLOAT16: case FERRY_DT_BFLOAT16: return FERRY_DT_FLOAT;
    case FERRY_DT_INT8: case FERRY_DT_INT16: case FERRY_DT_INT32: return FERRY_DT_INT64;
    case FERRY_DT_UINT8: case FERRY_DT_UINT16: case FERRY_DT_UINT32: case FERRY_DT_BOOL: return FERRY_DT_UINT64;
    default: return dt;
    }
}

static inline float s_bf16_to_float(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, sizeof(f));
    return f;
}

static inline uint16_t s_float_to_bf16(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof(x));
    if ((x & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((x >> 16) | 0x40); /* quiet NaN */
    x += 0x7fffu + ((x >> 16) & 1);       /* round to nearest even */
    return (uint16_t)(x >> 16);
}

/* Saturating-free float -> integer conversion without UB: NaN and out-of-range give the
 * value C would leave undefined; we pick INT64_MIN / 0 deterministically. */
static inline int64_t s_f2i(double v)
{
    if (!(v >= -9223372036854775808.0 && v < 9223372036854775808.0))
        return INT64_MIN;
    return (int64_t)v;
}

static inline uint64_t s_f2u(double v)
{
    if (!(v > -1.0 && v < 18446744073709551616.0))
        return v < 0 && v > -9223372036854775808.0 ? (uint64_t)(int64_t)v : 0;
    return (uint64_t)v;
}

#define S_CONVERT_LOOP(TD, TS)                                                                            \
    do {                                                                                                  \
        TD *restrict d_ = dst;                                                                            \
        const TS *restrict s_ = src;                                                                      \
        for (int64_t i = 0; i < count; i++)                                                               \
            d_[i] = (TD)s_[i];                                                                            \
        return;                                                                                           \
    } while (0)

void ferry_convert_elems(void *dst, int32_t dt, const void *src, int32_t st, int64_t count)
{
    /* fast paths for the conversions hot loops use (all exact or IEEE-rounded in C) */
    if (dt == st && ferry_dtype_size(dt) && dt != FERRY_DT_STRING && dt != FERRY_DT_BOOL) {
        if (count > 0)
            memmove(dst, src, (size_t)count * ferry_dtype_size(dt));
        return;
    }
    if (dt == FERRY_DT_DOUBLE && st == FERRY_DT_FLOAT)
        S_CONVERT_LOOP(double, float);
    if (dt == FERRY_DT_FLOAT && st == FERRY_DT_DOUBLE)
        S_CONVERT_LOOP(float, double);
    if (dt == FERRY_DT_DOUBLE && st == FERRY_DT_INT64)
        S_CONVERT_LOOP(double, int64_t);
    if (dt == FERRY_DT_DOUBLE && st == FERRY_DT_INT32)
        S_CONVERT_LOOP(double, int32_t);
    if (dt == FERRY_DT_INT64 && st == FERRY_DT_INT32)
        S_CONVERT_LOOP(int64_t, int32_t);
    if (dt == FERRY_DT_FLOAT && st == FERRY_DT_INT64)
        S_CONVERT_LOOP(float, int64_t);
    if (dt == FERRY_DT_INT64 && st == FERRY_DT_DOUBLE) {
        /* what the general loop below does for this pair: s_f2i's defined out-of-range value */
        int64_t *restrict d = dst;
        const double *restrict s = src;
        for (int64_t i = 0; i < count; i++)
            d[i] = s_f2i(s[i]);
        return;
    }
    for (int64_t i = 0; i < count; i++) {
        /* read as the widest exact form */
        double fv = 0;
        int64_t iv = 0;
        uint64_t uv = 0;
        int kind; /* 0 float, 1 signed, 2 unsigned */
        switch (st) {
        case FERRY_DT_FLOAT: fv = ((const float *)src)[i]; kind = 0; break;
        case FERRY_DT_DOUBLE: fv = ((const double *)src)[i]; kind = 0; break;
        case FERRY_DT_FLOAT16: fv = ferry_half_to_float(((const uint16_t *)src)[i]); kind = 0; break;
        case FERRY_DT_BFLOAT16: fv = s_bf16_to_float(((const uint16_t *)src)[i]); kind = 0; break;
        case FERRY_DT_INT8: iv = ((const int8_t *)src)[i]; kind = 1; break;
        case FERRY_DT_INT16: iv = ((const int16_t *)src)[i]; kind = 1; break;
        case FERRY_DT_INT32: iv = ((const int32_t *)src)[i]; kind = 1; break;
        case FERRY_DT_INT64: iv = ((const int64_t *)src)[i]; kind = 1; break;
        case FERRY_DT_UINT8: case FERRY_DT_BOOL: uv = ((const uint8_t *)src)[i]; kind = 2; break;
        case FERRY_DT_UINT16: uv = ((const uint16_t *)src)[i]; kind = 2; break;
        case FERRY_DT_UINT32: uv = ((const uint32_t *)src)[i]; kind = 2; break;
        case FERRY_DT_UINT64: uv = ((const uint64_t *)src)[i]; kind = 2; break;
        default: return;
        }
        if (kind == 1) {
            fv = (double)iv;
            uv = (uint64_t)iv;
        } else if (kind == 2) {
            fv = (double)uv;
            iv = (int64_t)uv;
        } else {
            iv = s_f2i(fv);
            uv = fv < 0 ? (uint64_t)iv : s_f2u(fv);
        }
        switch (dt) {
        case FERRY_DT_FLOAT:
            ((float *)dst)[i] = st == FERRY_DT_DOUBLE || kind ? (float)(kind == 1 ? (float)iv : kind == 2 ? (float)uv : fv)
                                                               : (float)fv;
            break;
        case FERRY_DT_DOUBLE: ((double *)dst)[i] = kind == 1 ? (double)iv : kind == 2 ? (double)uv : fv; break;
        case FERRY_DT_FLOAT16: ((uint16_t *)dst)[i] = ferry_float_to_half((float)fv); break;
        case FERRY_DT_BFLOAT16: ((uint16_t *)dst)[i] = s_float_to_bf16((float)fv); break;
        case FERRY_DT_INT8: ((int8_t *)dst)[i] = (int8_t)(uint8_t)uv; break;
        case FERRY_DT_INT16: ((int16_t *)dst)[i] = (int16_t)(uint16_t)uv; break;
        case FERRY_DT_INT32: ((int32_t *)dst)[i] = (int32_t)(uint32_t)uv; break;
        case FERRY_DT_INT64: ((int64_t *)dst)[i] = kind == 2 ? (int64_t)uv : iv; break;
        case FERRY_DT_UINT8: ((uint8_t *)dst)[i] = (uint8_t)uv; break;
        case FERRY_DT_UINT16: ((uint16_t *)dst)[i] = (uint16_t)uv; break;
        case FERRY_DT_UINT32: ((uint32_t *)dst)[i] = (uint32_t)uv; break;
        case FERRY_DT_UINT64: ((uint64_t *)dst)[i] = uv; break;
        case FERRY_DT_BOOL:
            ((uint8_t *)dst)[i] = kind == 0 ? fv != 0 : kind == 1 ? iv != 0 : uv != 0;
            break;
        default: return;
        }
    }
}

/* A view of t in its compute type: t's own data, or a widened copy in scratch. */
static const void *s_widen(const ferry_tensor_t *t, ferry_tensor_t *scratch, ferry_err_t *err)
{
    int32_t ct = s_compute_type(t->dtype);
    if (ct == t->dtype)
        return t->data;
    if (ferry_tensor_reshape_like(scratch, ct, t, err) < 0)
        return NULL;
    ferry_convert_elems(scratch->data, ct, t->data, t->dtype, t->count);
    return scratch->data;
}

/* ---- broadcast driver -------------------------------------------------------------------- */

typedef void (*s_bin_fn)(const void *a, int64_t sa, const void *b, int64_t sb, void *o, int64_t n,
                         const ferry_node_t *node);

/* Apply k over the broadcast of a (strides ast) and b (bst) into o (contiguous, shape
 * nd/dims). Adjacent axes that both inputs read contiguously are merged first. */
static void s_broadcast_run(const char *a, size_t asz, const int64_t *ast_in, const char *b, size_t bsz,
                            const int64_t *bst_in, char *o, size_t osz, int nd_in, const int64_t *dims_in,
                            s_bin_fn k, const ferry_node_t *node)
{
    int64_t dims[FERRY_TENSOR_MAX_DIMS + 1], ast[FERRY_TENSOR_MAX_DIMS + 1], bst[FERRY_TENSOR_MAX_DIMS + 1];
    int nd = 0;
    for (int i = 0; i < nd_in; i++) {
        if (dims_in[i] == 1)
            continue;
        if (nd > 0 && ast[nd - 1] == ast_in[i] * dims_in[i] && bst[nd - 1] == bst_in[i] * dims_in[i]) {
            dims[nd - 1] *= dims_in[i];
            ast[nd - 1] = ast_in[i];
            bst[nd - 1] = bst_in[i];
            continue;
        }
        dims[nd] = dims_in[i];
        ast[nd] = ast_in[i];
        bst[nd] = bst_in[i];
        nd++;
    }
    if (nd == 0) {
        dims[0] = 1;
        ast[0] = bst[0] = 0;
        nd = 1;
    }
    int64_t total = 1;
    for (int i = 0; i < nd; i++)
        total *= dims[i];
    if (total == 0)
        return;
    int64_t inner = dims[nd - 1];
    int64_t rows = total / inner;
    int64_t idx[FERRY_TENSOR_MAX_DIMS + 1] = {0};
    int64_t offa = 0, offb = 0;
    for (int64_t r = 0; r < rows; r++) {
        k(a + (size_t)offa * asz, ast[nd - 1], b + (size_t)offb * bsz, bst[nd - 1], o + (size_t)(r * inner) * osz,
          inner, node);
        for (int d = nd - 2; d >= 0; d--) {
            idx[d]++;
            offa += ast[d];
            offb += bst[d];
            if (idx[d] < dims[d])
                break;
            offa -= ast[d] * dims[d];
            offb -= bst[d] * dims[d];
            idx[d] = 0;
        }
    }
}

/* Kernels: one loop body for the three stride patterns, so the compiler vectorises the
 * common same-shape and scalar cases. */
#define S_BIN_KERNEL(fname, TA, TO, EXPR)                                                                 \
    FERRY_ENGINE_CLONES static void fname(const void *pa, int64_t sa, const void *pb, int64_t sb, void *po,        \
                                          int64_t n, const ferry_node_t *node)                                \
    {                                                                                                     \
        const TA *A = pa, *B = pb;                                                                        \
        TO *O = po;                                                                                       \
        (void)node;                                                                                       \
        if (sa && sb) {                                                                                   \
            for (int64_t i = 0; i < n; i++) {                                                             \
                TA x = A[i], y = B[i];                                                                    \
                (void)x; (void)y; O[i] = (TO)(EXPR);                                                      \
            }                                                                                             \
        } else if (sa) {                                                                                  \
            TA y = B[0];                                                                                  \
            for (int64_t i = 0; i < n; i++) {                                                             \
                TA x = A[i];                                                                              \
                (void)x; (void)y; O[i] = (TO)(EXPR);                                                      \
            }                                                                                             \
        } else if (sb) {                                                                                  \
            TA x = A[0];                                                                                  \
            for (int64_t i = 0; i < n; i++) {                                                             \
                TA y = B[i];                                                                              \
                (void)x; (void)y; O[i] = (TO)(EXPR);                                                      \
            }                                                                                             \
        } else {                                                                                          \
            TA x = A[0], y = B[0];                                                                        \
            (void)x; (void)y; TO v = (TO)(EXPR);                                                          \
            for (int64_t i = 0; i < n; i++)                                                               \
                O[i] = v;                                                                                 \
        }                                                                                                 \
    }

/* Kernel families per compute type: f(loat), d(ouble), i(nt64), u(int64). */
#define S_BIN_ALL(op, EXPR_F, EXPR_I, EXPR_U)                                                               \
    S_BIN_KERNEL(s_k_##op##_f, float, float, EXPR_F)                                                        \
    S_BIN_KERNEL(s_k_##op##_d, double, double, EXPR_F)                                                      \
    S_BIN_KERNEL(s_k_##op##_i, int64_t, int64_t, EXPR_I)                                                    \
    S_BIN_KERNEL(s_k_##op##_u, uint64_t, uint64_t, EXPR_U)
#define S_CMP_ALL(op, EXPR)                                                                                 \
    S_BIN_KERNEL(s_k_##op##_f, float, uint8_t, EXPR)                                                        \
    S_BIN_KERNEL(s_k_##op##_d, double, uint8_t, EXPR)                                                       \
    S_BIN_KERNEL(s_k_##op##_i, int64_t, uint8_t, EXPR)                                                      \
    S_BIN_KERNEL(s_k_##op##_u, uint64_t, uint8_t, EXPR)

static inline int64_t s_idiv(int64_t x, int64_t y)
{
    if (y == 0)
        return 0; /* undefined in ONNX; deterministic here */
    if (y == -1)
        return (int64_t)(0 - (uint64_t)x);
    return x / y;
}

static inline int64_t s_imod(int64_t x, int64_t y, bool is_fmod)
{
    if (y == 0 || y == -1)
        return 0;
    int64_t r = x % y;
    if (!is_fmod && r != 0 && ((r < 0) != (y < 0)))
        r += y;
    return r;
}

static inline double s_fmod(double x, double y, bool is_fmod)
{
    double r = fmod(x, y);
    if (!is_fmod && r != 0 && ((r < 0) != (y < 0)))
        r += y;
    return r;
}

static inline int64_t s_ipow(int64_t x, int64_t y)
{
    if (y < 0)
        return x == 1 ? 1 : x == -1 ? (y % 2 ? -1 : 1) : 0;
    uint64_t r = 1, b = (uint64_t)x;
    while (y) {
        if (y & 1)
            r *= b;
        b *= b;
        y >>= 1;
    }
    return (int64_t)r;
}

static inline uint64_t s_upow(uint64_t x, uint64_t y)
{
    uint64_t r = 1;
    while (y) {
        if (y & 1)
            r *= x;
        x *= x;
        y >>= 1;
    }
    return r;
}

#define S_WRAP(op) ((int64_t)((uint64_t)x op (uint64_t)y))
S_BIN_ALL(add, x + y, S_WRAP(+), x + y)
S_BIN_ALL(sub, x - y, S_WRAP(-), x - y)
S_BIN_ALL(mul, x * y, S_WRAP(*), x * y)
S_BIN_ALL(div, x / y, s_idiv(x, y), y ? x / y : 0)
S_BIN_ALL(max, (x != x || y != y) ? (x + y) : (x > y ? x : y), x > y ? x : y, x > y ? x : y)
S_BIN_ALL(min, (x != x || y != y) ? (x + y) : (x < y ? x : y), x < y ? x : y, x < y ? x : y)
S_BIN_ALL(mod, s_fmod(x, y, node->ia[0]), s_imod(x, y, node->ia[0]), y ? x % y : 0)
S_BIN_ALL(pow, pow(x, y), s_ipow(x, y), s_upow(x, y))
S_BIN_ALL(prelu, x < 0 ? x * y : x, x < 0 ? S_WRAP(*) : x, x)
S_BIN_KERNEL(s_k_shl_u, uint64_t, uint64_t, y >= 64 ? 0 : x << y)
S_BIN_KERNEL(s_k_shr_u, uint64_t, uint64_t, y >= 64 ? 0 : x >> y)
S_CMP_ALL(eq, x == y)
S_CMP_ALL(lt, x < y)
S_CMP_ALL(gt, x > y)
S_CMP_ALL(le, x <= y)
S_CMP_ALL(ge, x >= y)
S_BIN_KERNEL(s_k_and_b, uint8_t, uint8_t, x && y)
S_BIN_KERNEL(s_k_or_b, uint8_t, uint8_t, x || y)
S_BIN_KERNEL(s_k_xor_b, uint8_t, uint8_t, (!x) != (!y))

typedef struct {
    s_bin_fn f, d, i, u;
    bool is_compare;  /* output bool */
    bool is_logic;    /* bool inputs and output */
    uint32_t types;   /* accepted input types */
} s_binop_t;

enum { S_ADD, S_SUB, S_MUL, S_DIV, S_MAX, S_MIN, S_MOD, S_POW, S_PRELU, S_SHL, S_SHR, S_EQ, S_LT, S_GT, S_LE, S_GE,
       S_AND, S_OR, S_XOR, S_NBINOPS };

#define S_ARITH(op) {s_k_##op##_f, s_k_##op##_d, s_k_##op##_i, s_k_##op##_u, false, false, FERRY_DTM_NUMERIC}
#define S_CMP(op)                                                                                          \
    {s_k_##op##_f, s_k_##op##_d, s_k_##op##_i, s_k_##op##_u, true, false, FERRY_DTM_NUMERIC | FERRY_DTM(FERRY_DT_BOOL)}
static const s_binop_t s_binops[S_NBINOPS] = {
    [S_ADD] = S_ARITH(add), [S_SUB] = S_ARITH(sub), [S_MUL] = S_ARITH(mul), [S_DIV] = S_ARITH(div),
    [S_MAX] = S_ARITH(max), [S_MIN] = S_ARITH(min), [S_MOD] = S_ARITH(mod),
    [S_POW] = {s_k_pow_f, s_k_pow_d, s_k_pow_i, s_k_pow_u, false, false, FERRY_DTM_NUMERIC},
    [S_PRELU] = S_ARITH(prelu),
    [S_SHL] = {NULL, NULL, NULL, s_k_shl_u, false, false, FERRY_DTM_UINTS},
    [S_SHR] = {NULL, NULL, NULL, s_k_shr_u, false, false, FERRY_DTM_UINTS},
    [S_EQ] = S_CMP(eq), [S_LT] = S_CMP(lt), [S_GT] = S_CMP(gt), [S_LE] = S_CMP(le), [S_GE] = S_CMP(ge),
    [S_AND] = {NULL, NULL, NULL, NULL, true, true, FERRY_DTM(FERRY_DT_BOOL)},
    [S_OR] = {NULL, NULL, NULL, NULL, true, true, FERRY_DTM(FERRY_DT_BOOL)},
    [S_XOR] = {NULL, NULL, NULL, NULL, true, true, FERRY_DTM(FERRY_DT_BOOL)},
};

/* out = a OP b with broadcasting. a and b must have the same element type. Scratch
 * tensors t0..t2 of the node hold widened copies when needed. */
static int s_binary(ferry_node_t *n, int op, const ferry_tensor_t *a, const ferry_tensor_t *b, ferry_tensor_t *out,
                    ferry_err_t *err)
{
    const s_binop_t *bo = &s_binops[op];
    if (a->dtype != b->dtype)
        return ferry_op_fail(n, err, "inputs have different element types (%s and %s)", ferry_dtype_name(a->dtype),
                             ferry_dtype_name(b->dtype));
    if (a->dtype < 0 || a->dtype >= 32 || !(bo->types & FERRY_DTM(a->dtype)))
        return ferry_op_fail(n, err, "element type %s is not accepted", ferry_dtype_name(a->dtype));
    int nd;
    int64_t dims[FERRY_TENSOR_MAX_DIMS];
    if (ferry_broadcast_shape(n, a->ndim, a->dims, b->ndim, b->dims, &nd, dims, err) < 0)
        return -1;
    int64_t ast[FERRY_TENSOR_MAX_DIMS], bst[FERRY_TENSOR_MAX_DIMS];
    ferry_broadcast_strides(a, nd, dims, ast);
    ferry_broadcast_strides(b, nd, dims, bst);
    if (bo->is_logic) {
        if (ferry_tensor_reshape(out, FERRY_DT_BOOL, nd, dims, err) < 0)
            return ferry_op_fail(n, err, "%s", err->msg);
        s_bin_fn k = op == S_AND ? s_k_and_b : op == S_OR ? s_k_or_b : s_k_xor_b;
        s_broadcast_run(a->data, 1, ast, b->data, 1, bst, out->data, 1, nd, dims, k, n);
        return 0;
    }
    int32_t ct = s_compute_type(a->dtype);
    s_bin_fn k = ct == FERRY_DT_FLOAT ? bo->f : ct == FERRY_DT_DOUBLE ? bo->d : ct == FERRY_DT_INT64 ? bo->i : bo->u;
    if (!k)
        return ferry_op_fail(n, err, "element type %s is not accepted", ferry_dtype_name(a->dtype));
    const void *pa = s_widen(a, &n->tmp[0], err);
    const void *pb = pa ? s_widen(b, &n->tmp[1], err) : NULL;
    if (!pa || !pb)
        return -1;
    int32_t odt = bo->is_compare ? FERRY_DT_BOOL : a->dtype;
    bool is_direct = bo->is_compare || ct == a->dtype;
    ferry_tensor_t *dst = is_direct ? out : &n->tmp[2];
    if (ferry_tensor_reshape(dst, is_direct ? odt : ct, nd, dims, err) < 0)
        return -1;
    size_t csz = ferry_dtype_size(ct);
    s_broadcast_run(pa, csz, ast, pb, csz, bst, dst->data, ferry_dtype_size(dst->dtype), nd, dims, k, n);
    if (!is_direct) {
        if (ferry_tensor_reshape(out, odt, nd, dims, err) < 0)
            return -1;
        ferry_convert_elems(out->data, odt, dst->data, ct, dst->count);
    }
    return 0;
}

static int s_binary_node(ferry_node_t *n, int op, ferry_err_t *err)
{
    const ferry_tensor_t *a = ferry_op_input(n, 0, err), *b = a ? ferry_op_input(n, 1, err) : NULL;
    if (!a || !b)
        return -1;
    return s_binary(n, op, a, b, n->out[0], err);
}

#define S_BIN_RUN(fn, op)                                                                                    \
    static int fn(ferry_node_t *n, ferry_err_t *err)                                                          \
    {                                                                                                         \
        return s_binary_node(n, op, err);                                                                     \
    }
S_BIN_RUN(s_run_add, S_ADD)
S_BIN_RUN(s_run_sub, S_SUB)
S_BIN_RUN(s_run_mul, S_MUL)
S_BIN_RUN(s_run_div, S_DIV)
S_BIN_RUN(s_run_prelu, S_PRELU)
S_BIN_RUN(s_run_less, S_LT)
S_BIN_RUN(s_run_greater, S_GT)
S_BIN_RUN(s_run_less_eq, S_LE)
S_BIN_RUN(s_run_greater_eq, S_GE)
S_BIN_RUN(s_run_and, S_AND)
S_BIN_RUN(s_run_or, S_OR)
S_BIN_RUN(s_run_xor, S_XOR)

static int s_run_equal(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *a = ferry_op_input(n, 0, err), *b = a ? ferry_op_input(n, 1, err) : NULL;
    if (!a || !b)
        return -1;
    if (a->dtype != FERRY_DT_STRING || b->dtype != FERRY_DT_STRING)
        return s_binary(n, S_EQ, a, b, n->out[0], err);
    int nd;
    int64_t dims[FERRY_TENSOR_MAX_DIMS], ast[FERRY_TENSOR_MAX_DIMS], bst[FERRY_TENSOR_MAX_DIMS];
    if (ferry_broadcast_shape(n, a->ndim, a->dims, b->ndim, b->dims, &nd, dims, err) < 0)
        return -1;
    ferry_broadcast_strides(a, nd, dims, ast);
    ferry_broadcast_strides(b, nd, dims, bst);
    if (ferry_tensor_reshape(n->out[0], FERRY_DT_BOOL, nd, dims, err) < 0)
        return -1;
    int64_t idx[FERRY_TENSOR_MAX_DIMS] = {0}, oa = 0, ob = 0;
    char *const *sa = a->data, *const *sb = b->data;
    uint8_t *o = n->out[0]->data;
    for (int64_t i = 0; i < n->out[0]->count; i++) {
        o[i] = !strcmp(sa[oa] ? sa[oa] : "", sb[ob] ? sb[ob] : "");
        for (int d = nd - 1; d >= 0; d--) {
            idx[d]++;
            oa += ast[d];
            ob += bst[d];
            if (idx[d] < dims[d])
                break;
            oa -= ast[d] * dims[d];
            ob -= bst[d] * dims[d];
            idx[d] = 0;
        }
    }
    return 0;
}

static int s_prep_mod(ferry_node_t *n, ferry_err_t *err)
{
    n->ia[0] = ferry_attr_int(n, "fmod", 0);
    return 0;
}

static int s_run_mod(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *a = ferry_op_input(n, 0, err);
    if (!a)
        return -1;
    if (!n->ia[0] && (a->dtype == FERRY_DT_FLOAT || a->dtype == FERRY_DT_DOUBLE || a->dtype == FERRY_DT_FLOAT16))
        return ferry_op_fail(n, err, "fmod=0 is not defined for floating-point inputs (set fmod=1)");
    return s_binary_node(n, S_MOD, err);
}

static int s_prep_bitshift(ferry_node_t *n, ferry_err_t *err)
{
    char *dir = ferry_attr_string(n, "direction", "");
    n->ia[0] = !strcmp(dir, "LEFT") ? 1 : !strcmp(dir, "RIGHT") ? 2 : 0;
    free(dir);
    if (!n->ia[0])
        return ferry_op_fail(n, err, "attribute direction must be LEFT or RIGHT");
    return 0;
}

static int s_run_bitshift(ferry_node_t *n, ferry_err_t *err)
{
    return s_binary_node(n, n->ia[0] == 1 ? S_SHL : S_SHR, err);
}

/* Pow: the exponent may have another type than the base; it is converted to the base's. */
static int s_run_pow(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *a = ferry_op_input(n, 0, err), *b = a ? ferry_op_input(n, 1, err) : NULL;
    if (!a || !b)
        return -1;
    if (ferry_op_check_type(n, 0, FERRY_DTM_NUMERIC, err) < 0 || ferry_op_check_type(n, 1, FERRY_DTM_NUMERIC, err) < 0)
        return -1;
    if (a->dtype == b->dtype)
        return s_binary(n, S_POW, a, b, n->out[0], err);
    ferry_tensor_t *conv = &n->tmp[1];
    if (ferry_tensor_reshape_like(conv, a->dtype, b, err) < 0)
        return -1;
    if ((a->dtype == FERRY_DT_FLOAT || a->dtype == FERRY_DT_DOUBLE) || b->dtype == FERRY_DT_FLOAT ||
        b->dtype == FERRY_DT_DOUBLE) {
        /* compute in double, so an integer base with a fractional exponent is exact-ish */
        ferry_tensor_t *da = &n->tmp[0];
        if (ferry_tensor_reshape_like(da, FERRY_DT_DOUBLE, a, err) < 0 ||
            ferry_tensor_reshape_like(conv, FERRY_DT_DOUBLE, b, err) < 0)
            return -1;
        ferry_convert_elems(da->data, FERRY_DT_DOUBLE, a->data, a->dtype, a->count);
        ferry_convert_elems(conv->data, FERRY_DT_DOUBLE, b->data, b->dtype, b->count);
        ferry_tensor_t res;
        ferry_tensor_init(&res);
        int rc = s_binary(n, S_POW, da, conv, &res, err);
        if (rc == 0) {
            rc = ferry_tensor_reshape_like(n->out[0], a->dtype, &res, err);
            if (rc == 0)
                ferry_convert_elems(n->out[0]->data, a->dtype, res.data, FERRY_DT_DOUBLE, res.count);
        }
        ferry_tensor_clear(&res);
        return rc;
    }
    ferry_convert_elems(conv->data, a->dtype, b->data, b->dtype, b->count);
    ferry_tensor_t keep = *conv; /* s_binary may use tmp[1]; move it out of the way */
    ferry_tensor_init(conv);
    int rc = s_binary(n, S_POW, a, &keep, n->out[0], err);
    ferry_tensor_clear(&keep);
    return rc;
}

/* Sum / Mean / Min / Max over 1..N inputs with broadcasting. */
static int s_variadic(ferry_node_t *n, int op, bool is_mean, ferry_err_t *err)
{
    if (n->n_in < 1)
        return ferry_op_fail(n, err, "needs at least one input");
    const ferry_tensor_t *first = ferry_op_input(n, 0, err);
    if (!first || ferry_op_check_type(n, 0, FERRY_DTM_NUMERIC, err) < 0)
        return -1;
    ferry_tensor_t acc, next;
    ferry_tensor_init(&acc);
    ferry_tensor_init(&next);
    int rc = ferry_tensor_copy(&acc, first, err);
    for (int k = 1; rc == 0 && k < n->n_in; k++) {
        const ferry_tensor_t *t = ferry_op_input(n, k, err);
        if (!t) {
            rc = -1;
            break;
        }
        rc = s_binary(n, op, &acc, t, &next, err);
        ferry_tensor_t sw = acc;
        acc = next;
        next = sw;
    }
    if (rc == 0 && is_mean) {
        ferry_tensor_t cnt;
        ferry_tensor_init(&cnt);
        double c = n->n_in;
        rc = ferry_tensor_reshape(&cnt, acc.dtype, 0, NULL, err);
        if (rc == 0) {
            ferry_convert_elems(cnt.data, acc.dtype, &c, FERRY_DT_DOUBLE, 1);
            rc = s_binary(n, S_DIV, &acc, &cnt, &next, err);
            ferry_tensor_t sw = acc;
            acc = next;
            next = sw;
        }
        ferry_tensor_clear(&cnt);
    }
    if (rc == 0)
        rc = ferry_tensor_copy(n->out[0], &acc, err);
    ferry_tensor_clear(&acc);
    ferry_tensor_clear(&next);
    return rc;
}

static int s_run_sum(ferry_node_t *n, ferry_err_t *err) { return s_variadic(n, S_ADD, false, err); }
static int s_run_mean(ferry_node_t *n, ferry_err_t *err) { return s_variadic(n, S_ADD, true, err); }
static int s_run_max(ferry_node_t *n, ferry_err_t *err) { return s_variadic(n, S_MAX, false, err); }
static int s_run_min(ferry_node_t *n, ferry_err_t *err) { return s_variadic(n, S_MIN, false, err); }

/* ---- unary -------------------------------------------------------------------------------- */

enum { U_ABS, U_NEG, U_SIGN, U_FLOOR, U_CEIL, U_ROUND, U_SQRT, U_EXP, U_LOG, U_RECIP, U_SIN, U_COS, U_TAN,
       U_ASIN, U_ACOS, U_ATAN, U_SINH, U_COSH, U_ASINH, U_ACOSH, U_ATANH, U_ERF, U_TANH, U_SIGMOID, U_RELU,
       U_LEAKY, U_ELU, U_SELU, U_CELU, U_SOFTPLUS, U_SOFTSIGN, U_HARDSIG, U_HARDSWISH, U_THRESH, U_SHRINK,
       U_IDENTITY };

static inline double s_unary_d(int op, double v, const double *p)
{
    switch (op) {
    case U_ABS: return fabs(v);
    case U_NEG: return -v;
    case U_SIGN: return v > 0 ? 1 : v < 0 ? -1 : v == 0 ? 0 : v;
    case U_FLOOR: return floor(v);
    case U_CEIL: return ceil(v);
    case U_ROUND: return nearbyint(v); /* round half to even in the default rounding mode */
    case U_SQRT: return sqrt(v);
    case U_EXP: return exp(v);
    case U_LOG: return log(v);
    case U_RECIP: return 1.0 / v;
    case U_SIN: return sin(v);
    case U_COS: return cos(v);
    case U_TAN: return tan(v);
    case U_ASIN: return asin(v);
    case U_ACOS: return acos(v);
    case U_ATAN: return atan(v);
    case U_SINH: return sinh(v);
    case U_COSH: return cosh(v);
    case U_ASINH: return asinh(v);
    case U_ACOSH: return acosh(v);
    case U_ATANH: return atanh(v);
    case U_ERF: return erf(v);
    case U_TANH: return tanh(v);
    case U_SIGMOID: return v >= 0 ? 1.0 / (1.0 + exp(-v)) : exp(v) / (1.0 + exp(v));
    case U_RELU: return v > 0 ? v : 0;
    case U_LEAKY: return v >= 0 ? v : p[0] * v;
    case U_ELU: return v >= 0 ? v : p[0] * (exp(v) - 1.0);
    case U_SELU: return v > 0 ? p[1] * v : p[1] * (p[0] * exp(v) - p[0]);
    case U_CELU: return (v > 0 ? v : 0) + fmin(0.0, p[0] * (exp(v / p[0]) - 1.0));
    case U_SOFTPLUS: return v > 30 ? v : log1p(exp(v));
    case U_SOFTSIGN: return v / (1.0 + fabs(v));
    case U_HARDSIG: return fmax(0.0, fmin(1.0, p[0] * v + p[1]));
    case U_HARDSWISH: return v * fmax(0.0, fmin(1.0, v / 6.0 + 0.5));
    case U_THRESH: return v > p[0] ? v : 0;
    case U_SHRINK: return v < -p[0] ? v + p[1] : v > p[0] ? v - p[1] : 0;
    default: return v;
    }
}

static inline int64_t s_unary_i(int op, int64_t v)
{
    switch (op) {
    case U_ABS: return v < 0 ? (int64_t)(0 - (uint64_t)v) : v;
    case U_NEG: return (int64_t)(0 - (uint64_t)v);
    case U_SIGN: return v > 0 ? 1 : v < 0 ? -1 : 0;
    case U_RELU: return v > 0 ? v : 0;
    default: return v;
    }
}

typedef struct {
    const char *name;
    int op;
    uint32_t types;
    const char *p0_name, *p1_name;
    float p0_def, p1_def;
} s_unary_def_t;

static const s_unary_def_t s_unary_defs[] = {
    {"Abs", U_ABS, FERRY_DTM_NUMERIC, NULL, NULL, 0, 0},
    {"Neg", U_NEG, FERRY_DTM_FLOATS | FERRY_DTM_SINTS, NULL, NULL, 0, 0},
    {"Sign", U_SIGN, FERRY_DTM_NUMERIC, NULL, NULL, 0, 0},
    {"Floor", U_FLOOR, FERRY_DTM_FLOATS, NULL, NULL, 0, 0},
    {"Ceil", U_CEIL, FERRY_DTM_FLOATS, NULL, NULL, 0, 0},
    {"Round", U_ROUND, FERRY_DTM_FLOATS, NULL, NULL, 0, 0},
    {"Sqrt", U_SQRT, FERRY_DTM_FLOATS, NULL, NULL, 0, 0},
    {"Exp", U_EXP, FERRY_DTM_FLOATS, NULL, NULL, 0, 0},
    {"Log", U_LOG, FERRY_DTM_FLOATS, NULL, NULL, 0, 0},
    {"Reciprocal", U_RECIP, FERRY_DTM_FLOATS, NULL, NULL, 0, 0},
    {"Sin", U_SIN, FERRY_DTM_FLOATS, NULL, NULL, 0, 0},
    {"Cos", U_COS, FERRY_DTM_FLOATS, NULL, NULL, 0, 0},
    {"Tan", U_TAN, FERRY_DTM_FLOATS, NULL, NULL, 0, 0},
    {"Asin", U_ASIN, FERRY_DTM_FLOATS, NULL, NULL, 0, 0},
    {"Acos", U_ACOS, FERRY_DTM_FLOATS, NULL, NULL, 0, 0},
    {"Atan", U_ATAN, FERRY_DTM_FLOATS, NULL, NULL, 0, 0},
    {"Sinh", U_SINH, FERRY_DTM_FLOATS, NULL, NULL, 0, 0},
    {"Cosh", U_COSH, FERRY_DTM_FLOATS, NULL, NULL, 0, 0},
    {"Asinh", U_ASINH, FERRY_DTM_FLOATS, NULL, NULL, 0, 0},
    {"Acosh", U_ACOSH, FERRY_DTM_FLOATS, NULL, NULL, 0, 0},
    {"Atanh", U_ATANH, FERRY_DTM_FLOATS, NULL, NULL, 0, 0},
    {"Erf", U_ERF, FERRY_DTM_FLOATS, NULL, NULL, 0, 0},
    {"Tanh", U_TANH, FERRY_DTM_FLOATS, NULL, NULL, 0, 0},
    {"Sigmoid", U_SIGMOID, FERRY_DTM_FLOATS, NULL, NULL, 0, 0},
    {"Relu", U_RELU, FERRY_DTM_FLOATS | FERRY_DTM_SINTS, NULL, NULL, 0, 0},
    {"LeakyRelu", U_LEAKY, FERRY_DTM_FLOATS, "alpha", NULL, 0.01f, 0},
    {"Elu", U_ELU, FERRY_DTM_FLOATS, "alpha", NULL, 1.0f, 0},
    {"Selu", U_SELU, FERRY_DTM_FLOATS, "alpha", "gamma", 1.67326319217681884765625f, 1.05070102214813232421875f},
    {"Celu", U_CELU, FERRY_DTM_FLOATS, "alpha", NULL, 1.0f, 0},
    {"Softplus", U_SOFTPLUS, FERRY_DTM_FLOATS, NULL, NULL, 0, 0},
    {"Softsign", U_SOFTSIGN, FERRY_DTM_FLOATS, NULL, NULL, 0, 0},
    {"HardSigmoid", U_HARDSIG, FERRY_DTM_FLOATS, "alpha", "beta", 0.2f, 0.5f},
    {"HardSwish", U_HARDSWISH, FERRY_DTM_FLOATS, NULL, NULL, 0, 0},
    {"ThresholdedRelu", U_THRESH, FERRY_DTM_FLOATS, "alpha", NULL, 1.0f, 0},
    {"Shrink", U_SHRINK, FERRY_DTM_FLOATS, "lambd", "bias", 0.5f, 0.0f},
};

static int s_prep_unary(ferry_node_t *n, ferry_err_t *err)
{
    for (size_t i = 0; i < FERRY_ARRAY_LEN(s_unary_defs); i++) {
        const s_unary_def_t *u = &s_unary_defs[i];
        if (strcmp(u->name, n->proto->op_type))
            continue;
        n->ia[0] = (int64_t)i;
        n->fa[0] = u->p0_name ? ferry_attr_float(n, u->p0_name, u->p0_def) : 0;
        n->fa[1] = u->p1_name ? ferry_attr_float(n, u->p1_name, u->p1_def) : 0;
        return 0;
    }
    return ferry_op_fail(n, err, "internal: no unary definition");
}

static int s_run_unary(ferry_node_t *n, ferry_err_t *err)
{
    const s_unary_def_t *u = &s_unary_defs[n->ia[0]];
    const ferry_tensor_t *x = ferry_op_input(n, 0, err);
    if (!x || ferry_op_check_type(n, 0, u->types, err) < 0)
        return -1;
    ferry_tensor_t *y = n->out[0];
    if (ferry_tensor_reshape_like(y, x->dtype, x, err) < 0)
        return -1;
    int op = u->op;
    const double *p = n->fa;
    int64_t cnt = x->count;
    switch (x->dtype) {
    case FERRY_DT_FLOAT: {
        const float *a = x->data;
        float *o = y->data;
        if (op == U_RELU) {
            for (int64_t i = 0; i < cnt; i++)
                o[i] = a[i] > 0 ? a[i] : 0;
        } else if (op == U_NEG) {
            for (int64_t i = 0; i < cnt; i++)
                o[i] = -a[i];
        } else if (op == U_RECIP) {
            for (int64_t i = 0; i < cnt; i++)
                o[i] = 1.0f / a[i];
        } else {
            for (int64_t i = 0; i < cnt; i++)
                o[i] = (float)s_unary_d(op, a[i], p);
        }
        return 0;
    }
    case FERRY_DT_DOUBLE: {
        const double *a = x->data;
        double *o = y->data;
        for (int64_t i = 0; i < cnt; i++)
            o[i] = s_unary_d(op, a[i], p);
        return 0;
    }
    case FERRY_DT_FLOAT16: {
        const uint16_t *a = x->data;
        uint16_t *o = y->data;
        for (int64_t i = 0; i < cnt; i++)
            o[i] = ferry_float_to_half((float)s_unary_d(op, ferry_half_to_float(a[i]), p));
        return 0;
    }
    default: {
        int32_t ct = s_compute_type(x->dtype);
        const void *w = s_widen(x, &n->tmp[0], err);
        if (!w || ferry_tensor_reshape_like(&n->tmp[1], ct, x, err) < 0)
            return -1;
        if (ct == FERRY_DT_INT64) {
            const int64_t *a = w;
            int64_t *o = n->tmp[1].data;
            for (int64_t i = 0; i < cnt; i++)
                o[i] = s_unary_i(op, a[i]);
        } else {
            const uint64_t *a = w;
            uint64_t *o = n->tmp[1].data;
            for (int64_t i = 0; i < cnt; i++)
                o[i] = op == U_SIGN ? a[i] != 0 : a[i];
        }
        ferry_convert_elems(y->data, x->dtype, n->tmp[1].data, ct, cnt);
        return 0;
    }
    }
}

static int s_run_not(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *x = ferry_op_input(n, 0, err);
    if (!x || ferry_op_check_type(n, 0, FERRY_DTM(FERRY_DT_BOOL), err) < 0)
        return -1;
    if (ferry_tensor_reshape_like(n->out[0], FERRY_DT_BOOL, x, err) < 0)
        return -1;
    const uint8_t *a = x->data;
    uint8_t *o = n->out[0]->data;
    for (int64_t i = 0; i < x->count; i++)
        o[i] = !a[i];
    return 0;
}

static int s_prep_isinf(ferry_node_t *n, ferry_err_t *err)
{
    n->ia[0] = ferry_attr_int(n, "detect_negative", 1);
    n->ia[1] = ferry_attr_int(n, "detect_positive", 1);
    return 0;
}

/* o[i] = x[i] is NaN, for a double (is_double) or float x */
FERRY_ENGINE_CLONES static void s_isnan_rows(const void *x, bool is_double, uint8_t *o, int64_t count)
{
    if (is_double) {
        const double *xd = x;
        for (int64_t i = 0; i < count; i++)
            o[i] = xd[i] != xd[i];
    } else {
        const float *xf = x;
        for (int64_t i = 0; i < count; i++)
            o[i] = xf[i] != xf[i];
    }
}

static int s_run_isinf_isnan(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *x = ferry_op_input(n, 0, err);
    if (!x || ferry_op_check_type(n, 0, FERRY_DTM_FLOATS, err) < 0)
        return -1;
    if (ferry_tensor_reshape_like(n->out[0], FERRY_DT_BOOL, x, err) < 0)
        return -1;
    bool is_nan = !strcmp(n->proto->op_type, "IsNaN");
    uint8_t *o = n->out[0]->data;
    if (is_nan && (x->dtype == FERRY_DT_DOUBLE || x->dtype == FERRY_DT_FLOAT)) {
        s_isnan_rows(x->data, x->dtype == FERRY_DT_DOUBLE, o, x->count);
        return 0;
    }
    for (int64_t i = 0; i < x->count; i++) {
        double v = ferry_tensor_get_f64(x, i);
        o[i] = is_nan ? isnan(v) : (isinf(v) && ((v > 0 && n->ia[1]) || (v < 0 && n->ia[0])));
    }
    return 0;
}

/* ---- Clip ---------------------------------------------------------------------------------- */

static int s_prep_clip(ferry_node_t *n, ferry_err_t *err)
{
    /* opset < 11: min/max attributes; later: optional inputs 1 and 2 */
    n->fa[0] = ferry_attr_float(n, "min", -FLT_MAX);
    n->fa[1] = ferry_attr_float(n, "max", FLT_MAX);
    return 0;
}

static int s_run_clip(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *x = ferry_op_input(n, 0, err);
    if (!x || ferry_op_check_type(n, 0, FERRY_DTM_NUMERIC, err) < 0)
        return -1;
    ferry_tensor_t *y = n->out[0];
    if (ferry_tensor_reshape_like(y, x->dtype, x, err) < 0)
        return -1;
    bool has_lo = false, has_hi = false;
    double lo_f = n->fa[0], hi_f = n->fa[1];
    int64_t lo_i = INT64_MIN, hi_i = INT64_MAX;
    if (n->opset < 11) {
        has_lo = has_hi = true;
    } else {
        for (int k = 1; k <= 2; k++) {
            const ferry_tensor_t *b = k < n->n_in ? n->in[k] : NULL;
            if (!b)
                continue;
            if (b->dtype != x->dtype || b->count != 1)
                return ferry_op_fail(n, err, "input %d (%s) must be a scalar of the input's type %s", k,
                                     k == 1 ? "min" : "max", ferry_dtype_name(x->dtype));
            if (k == 1) {
                has_lo = true;
                lo_f = ferry_tensor_get_f64(b, 0);
                lo_i = ferry_tensor_get_i64(b, 0);
            } else {
                has_hi = true;
                hi_f = ferry_tensor_get_f64(b, 0);
                hi_i = ferry_tensor_get_i64(b, 0);
            }
        }
    }
    if (x->dtype == FERRY_DT_FLOAT) {
        const float *a = x->data;
        float *o = y->data;
        float lo = has_lo ? (float)lo_f : -INFINITY, hi = has_hi ? (float)hi_f : INFINITY;
        for (int64_t i = 0; i < x->count; i++) {
            float v = a[i];
            o[i] = v < lo ? lo : v > hi ? hi : v;
        }
        return 0;
    }
    bool is_float = x->dtype == FERRY_DT_DOUBLE || x->dtype == FERRY_DT_FLOAT16;
    int32_t ct = s_compute_type(x->dtype);
    const void *w = s_widen(x, &n->tmp[0], err);
    if (!w || ferry_tensor_reshape_like(&n->tmp[1], ct, x, err) < 0)
        return -1;
    for (int64_t i = 0; i < x->count; i++) {
        if (is_float) {
            double v = ct == FERRY_DT_FLOAT ? ((const float *)w)[i] : ((const double *)w)[i];
            if (has_lo && v < lo_f)
                v = lo_f;
            if (has_hi && v > hi_f)
                v = hi_f;
            if (ct == FERRY_DT_FLOAT)
                ((float *)n->tmp[1].data)[i] = (float)v;
            else
                ((double *)n->tmp[1].data)[i] = v;
        } else if (ct == FERRY_DT_INT64) {
            int64_t v = ((const int64_t *)w)[i];
            if (has_lo && v < lo_i)
                v = lo_i;
            if (has_hi && v > hi_i)
                v = hi_i;
            ((int64_t *)n->tmp[1].data)[i] = v;
        } else {
            uint64_t v = ((const uint64_t *)w)[i];
            if (has_lo && v < (uint64_t)lo_i)
                v = (uint64_t)lo_i;
            if (has_hi && v > (uint64_t)hi_i)
                v = (uint64_t)hi_i;
            ((uint64_t *)n->tmp[1].data)[i] = v;
        }
    }
    ferry_convert_elems(y->data, x->dtype, n->tmp[1].data, ct, x->count);
    return 0;
}

/* ---- Cast ------------------------------------------------------------------------------------ */

static bool s_cast_type_ok(int32_t dt)
{
    return ferry_dtype_is_supported(dt);
}

static int s_prep_cast(ferry_node_t *n, ferry_err_t *err)
{
    if (!strcmp(n->proto->op_type, "CastLike"))
        return 0;
    const Onnx__AttributeProto *a = ferry_attr(n, "to");
    if (!a || a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT)
        return ferry_op_fail(n, err, "attribute 'to' (int) is required");
    if (!s_cast_type_ok((int32_t)a->i)) {
        ferry_op_fail(n, err, "cast to element type %s (%lld) is not supported", ferry_dtype_name((int32_t)a->i),
                      (long long)a->i);
        return FERRY_ENGINE_EUNSUPPORTED;
    }
    n->ia[0] = a->i;
    return 0;
}

/* float -> shortest decimal string that reads back to the same float (numpy's str) */
static void s_float_to_string(char *buf, size_t size, double v, bool is_single)
{
    if (isnan(v)) {
        snprintf(buf, size, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(buf, size, v > 0 ? "INF" : "-INF");
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, v);
        if (is_single ? strtof(buf, NULL) == (float)v : strtod(buf, NULL) == v)
            return;
    }
}

static int s_cast(ferry_node_t *n, const ferry_tensor_t *x, int32_t to, ferry_err_t *err)
{
    ferry_tensor_t *y = n->out[0];
    if (x->kind != FERRY_VALUE_TENSOR)
        return ferry_op_fail(n, err, "input is not a tensor");
    if (ferry_tensor_reshape_like(y, to, x, err) < 0)
        return -1;
    if (x->dtype == FERRY_DT_STRING && to == FERRY_DT_STRING) {
        return ferry_tensor_copy(y, x, err);
    } else if (x->dtype == FERRY_DT_STRING) {
        char *const *s = x->data;
        double *tmp = ferry_malloc(sizeof(double) * (size_t)(x->count + 1));
        for (int64_t i = 0; i < x->count; i++) {
            const char *str = s[i] ? s[i] : "";
            char *end = NULL;
            double v = strtod(str, &end);
            if (end == str || *end) {
                free(tmp);
                return ferry_op_fail(n, err, "string element %lld ('%.40s') is not a number", (long long)i, str);
            }
            tmp[i] = v;
        }
        if (to == FERRY_DT_FLOAT) /* strtof rounds once; double then float could round twice */
            for (int64_t i = 0; i < x->count; i++)
                ((float *)y->data)[i] = strtof(s[i], NULL);
        else
            ferry_convert_elems(y->data, to, tmp, FERRY_DT_DOUBLE, x->count);
        free(tmp);
    } else if (to == FERRY_DT_STRING) {
        char buf[64];
        for (int64_t i = 0; i < x->count; i++) {
            if (x->dtype == FERRY_DT_FLOAT || x->dtype == FERRY_DT_DOUBLE || x->dtype == FERRY_DT_FLOAT16 ||
                x->dtype == FERRY_DT_BFLOAT16) {
                double v;
                ferry_convert_elems(&v, FERRY_DT_DOUBLE, (const char *)x->data + i * (int64_t)ferry_dtype_size(x->dtype),
                                    x->dtype, 1);
                s_float_to_string(buf, sizeof(buf), v, x->dtype != FERRY_DT_DOUBLE);
            } else if (x->dtype == FERRY_DT_UINT64) {
                snprintf(buf, sizeof(buf), "%llu", (unsigned long long)((const uint64_t *)x->data)[i]);
            } else if (x->dtype == FERRY_DT_BOOL) {
                snprintf(buf, sizeof(buf), "%s", ((const uint8_t *)x->data)[i] ? "True" : "False");
            } else {
                snprintf(buf, sizeof(buf), "%lld", (long long)ferry_tensor_get_i64(x, i));
            }
            ferry_tensor_set_string(y, i, buf, strlen(buf));
        }
    } else {
        ferry_convert_elems(y->data, to, x->data, x->dtype, x->count);
    }
    return 0;
}

static int s_run_cast(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *x = ferry_op_input(n, 0, err);
    if (!x)
        return -1;
    int32_t to = (int32_t)n->ia[0];
    if (!strcmp(n->proto->op_type, "CastLike")) {
        const ferry_tensor_t *like = ferry_op_input(n, 1, err);
        if (!like)
            return -1;
        to = like->dtype;
    }
    return s_cast(n, x, to, err);
}

/* ---- Where ----------------------------------------------------------------------------------- */

/* One row of Where for elements of type T, copied as bits through a mask (branch-free: a
 * ReLU's condition is a coin flip the branch predictor loses). Strides are 0 or 1; the
 * same-shape and scalar-branch patterns are spelt out so that they vectorise. */
#define S_WHERE_PICK(T, cv, xv, yv) (((xv) & ((T)0 - (T)((cv) != 0))) | ((yv) & ((T)0 - (T)((cv) == 0))))
#define S_WHERE_ROW(T)                                                                                      \
    do {                                                                                                    \
        const T *X_ = (const T *)xp, *Y_ = (const T *)yp;                                                   \
        T *O_ = (T *)op;                                                                                    \
        if (sc == 1 && sx == 1 && sy == 1) {                                                                \
            for (int64_t i_ = 0; i_ < len; i_++)                                                            \
                O_[i_] = S_WHERE_PICK(T, cp[i_], X_[i_], Y_[i_]);                                           \
        } else if (sc == 1 && sx == 1 && sy == 0) {                                                         \
            T y0_ = Y_[0];                                                                                  \
            for (int64_t i_ = 0; i_ < len; i_++)                                                            \
                O_[i_] = S_WHERE_PICK(T, cp[i_], X_[i_], y0_);                                              \
        } else if (sc == 1 && sx == 0 && sy == 1) {                                                         \
            T x0_ = X_[0];                                                                                  \
            for (int64_t i_ = 0; i_ < len; i_++)                                                            \
                O_[i_] = S_WHERE_PICK(T, cp[i_], x0_, Y_[i_]);                                              \
        } else {                                                                                            \
            for (int64_t i_ = 0; i_ < len; i_++)                                                            \
                O_[i_] = S_WHERE_PICK(T, cp[i_ * sc], X_[i_ * sx], Y_[i_ * sy]);                            \
        }                                                                                                   \
    } while (0)

FERRY_ENGINE_CLONES static void s_where_row(const uint8_t *cp, int64_t sc, const void *xp, int64_t sx, const void *yp, int64_t sy,
                        void *op, size_t es, int64_t len)
{
    switch (es) {
    case 1: S_WHERE_ROW(uint8_t); break;
    case 2: S_WHERE_ROW(uint16_t); break;
    case 4: S_WHERE_ROW(uint32_t); break;
    default: S_WHERE_ROW(uint64_t); break;
    }
}

/* Where for fixed-size elements of es (1, 2, 4 or 8) bytes: o (contiguous, shape nd/dims)
 * from c, x, y read with broadcast strides (in elements). Axes of length 1 are dropped and
 * adjacent axes that all three read contiguously are merged, so a same-shape or
 * row-broadcast Where is one call per row, not a stride walk per element. */
static void s_where_fixed(const uint8_t *c, const int64_t *cs_in, const void *x, const int64_t *xs_in, const void *y,
                          const int64_t *ys_in, void *o, size_t es, int nd_in, const int64_t *dims_in)
{
    int64_t dims[FERRY_TENSOR_MAX_DIMS + 1], cs[FERRY_TENSOR_MAX_DIMS + 1], xs[FERRY_TENSOR_MAX_DIMS + 1],
        ys[FERRY_TENSOR_MAX_DIMS + 1];
    int nd = 0;
    for (int i = 0; i < nd_in; i++) {
        if (dims_in[i] == 1)
            continue;
        if (nd > 0 && cs[nd - 1] == cs_in[i] * dims_in[i] && xs[nd - 1] == xs_in[i] * dims_in[i] &&
            ys[nd - 1] == ys_in[i] * dims_in[i]) {
            dims[nd - 1] *= dims_in[i];
            cs[nd - 1] = cs_in[i];
            xs[nd - 1] = xs_in[i];
            ys[nd - 1] = ys_in[i];
            continue;
        }
        dims[nd] = dims_in[i];
        cs[nd] = cs_in[i];
        xs[nd] = xs_in[i];
        ys[nd] = ys_in[i];
        nd++;
    }
    if (nd == 0) {
        dims[0] = 1;
        cs[0] = xs[0] = ys[0] = 0;
        nd = 1;
    }
    int64_t total = 1;
    for (int i = 0; i < nd; i++)
        total *= dims[i];
    if (total == 0)
        return;
    int64_t inner = dims[nd - 1], rows = total / inner;
    int64_t idx[FERRY_TENSOR_MAX_DIMS + 1] = {0}, oc = 0, ox = 0, oy = 0;
    for (int64_t r = 0; r < rows; r++) {
        s_where_row(c + oc, cs[nd - 1], (const char *)x + (size_t)ox * es, xs[nd - 1], (const char *)y + (size_t)oy * es,
                    ys[nd - 1], (char *)o + (size_t)(r * inner) * es, es, inner);
        for (int d = nd - 2; d >= 0; d--) {
            idx[d]++;
            oc += cs[d];
            ox += xs[d];
            oy += ys[d];
            if (idx[d] < dims[d])
                break;
            oc -= cs[d] * dims[d];
            ox -= xs[d] * dims[d];
            oy -= ys[d] * dims[d];
            idx[d] = 0;
        }
    }
}

static int s_run_where(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *c = ferry_op_input(n, 0, err), *x = c ? ferry_op_input(n, 1, err) : NULL,
                         *y = x ? ferry_op_input(n, 2, err) : NULL;
    if (!y || ferry_op_check_type(n, 0, FERRY_DTM(FERRY_DT_BOOL), err) < 0)
        return -1;
    if (x->dtype != y->dtype)
        return ferry_op_fail(n, err, "X and Y have different element types (%s and %s)", ferry_dtype_name(x->dtype),
                             ferry_dtype_name(y->dtype));
    int nd1, nd;
    int64_t d1[FERRY_TENSOR_MAX_DIMS], dims[FERRY_TENSOR_MAX_DIMS];
    if (ferry_broadcast_shape(n, c->ndim, c->dims, x->ndim, x->dims, &nd1, d1, err) < 0 ||
        ferry_broadcast_shape(n, nd1, d1, y->ndim, y->dims, &nd, dims, err) < 0)
        return -1;
    int64_t cs[FERRY_TENSOR_MAX_DIMS], xs[FERRY_TENSOR_MAX_DIMS], ys[FERRY_TENSOR_MAX_DIMS];
    ferry_broadcast_strides(c, nd, dims, cs);
    ferry_broadcast_strides(x, nd, dims, xs);
    ferry_broadcast_strides(y, nd, dims, ys);
    ferry_tensor_t *o = n->out[0];
    if (ferry_tensor_reshape(o, x->dtype, nd, dims, err) < 0)
        return -1;
    size_t es = ferry_dtype_size(x->dtype);
    if (x->dtype != FERRY_DT_STRING && (es == 1 || es == 2 || es == 4 || es == 8)) {
        s_where_fixed(c->data, cs, x->data, xs, y->data, ys, o->data, es, nd, dims);
        return 0;
    }
    int64_t idx[FERRY_TENSOR_MAX_DIMS] = {0}, oc = 0, ox = 0, oy = 0;
    const uint8_t *cd = c->data;
    for (int64_t i = 0; i < o->count; i++) {
        bool pick_x = cd[oc] != 0;
        if (x->dtype == FERRY_DT_STRING) {
            const char *s = pick_x ? ((char *const *)x->data)[ox] : ((char *const *)y->data)[oy];
            ferry_tensor_set_string(o, i, s, s ? strlen(s) : 0);
        } else {
            memcpy((char *)o->data + (size_t)i * es,
                   pick_x ? (const char *)x->data + (size_t)ox * es : (const char *)y->data + (size_t)oy * es, es);
        }
        for (int d = nd - 1; d >= 0; d--) {
            idx[d]++;
            oc += cs[d];
            ox += xs[d];
            oy += ys[d];
            if (idx[d] < dims[d])
                break;
            oc -= cs[d] * dims[d];
            ox -= xs[d] * dims[d];
            oy -= ys[d] * dims[d];
            idx[d] = 0;
        }
    }
    return 0;
}

const ferry_op_def_t ferry_engine_ops_math[] = {
    {"", "Add", 7, NULL, s_run_add},
    {"", "Sub", 7, NULL, s_run_sub},
    {"", "Mul", 7, NULL, s_run_mul},
    {"", "Div", 7, NULL, s_run_div},
    {"", "Pow", 7, NULL, s_run_pow},
    {"", "Mod", 10, s_prep_mod, s_run_mod},
    {"", "BitShift", 11, s_prep_bitshift, s_run_bitshift},
    {"", "PRelu", 7, NULL, s_run_prelu},
    {"", "Equal", 7, NULL, s_run_equal},
    {"", "Less", 7, NULL, s_run_less},
    {"", "Greater", 7, NULL, s_run_greater},
    {"", "LessOrEqual", 12, NULL, s_run_less_eq},
    {"", "GreaterOrEqual", 12, NULL, s_run_greater_eq},
    {"", "And", 7, NULL, s_run_and},
    {"", "Or", 7, NULL, s_run_or},
    {"", "Xor", 7, NULL, s_run_xor},
    {"", "Not", 1, NULL, s_run_not},
    {"", "Sum", 8, NULL, s_run_sum},
    {"", "Mean", 8, NULL, s_run_mean},
    {"", "Max", 8, NULL, s_run_max},
    {"", "Min", 8, NULL, s_run_min},
    {"", "IsNaN", 9, NULL, s_run_isinf_isnan},
    {"", "IsInf", 10, s_prep_isinf, s_run_isinf_isnan},
    {"", "Clip", 6, s_prep_clip, s_run_clip},
    {"", "Cast", 6, s_prep_cast, s_run_cast},
    {"", "CastLike", 15, s_prep_cast, s_run_cast},
    {"", "Where", 9, NULL, s_run_where},
#define S_U(name) {"", name, 1, s_prep_unary, s_run_unary}
    S_U("Abs"), S_U("Neg"), S_U("Sign"), S_U("Floor"), S_U("Ceil"), S_U("Round"), S_U("Sqrt"), S_U("Exp"),
    S_U("Log"), S_U("Reciprocal"), S_U("Sin"), S_U("Cos"), S_U("Tan"), S_U("Asin"), S_U("Acos"), S_U("Atan"),
    S_U("Sinh"), S_U("Cosh"), S_U("Asinh"), S_U("Acosh"), S_U("Atanh"), S_U("Erf"), S_U("Tanh"), S_U("Sigmoid"),
    S_U("Relu"), S_U("LeakyRelu"), S_U("Elu"), S_U("Selu"), S_U("Celu"), S_U("Softplus"), S_U("Softsign"),
    S_U("HardSigmoid"), S_U("HardSwish"), S_U("ThresholdedRelu"), S_U("Shrink"),
#undef S_U
    {NULL, NULL, 0, NULL, NULL},
};
