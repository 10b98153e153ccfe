/* engine_ops_nn.c -- dense-model operators of ferry's engine: MatMul, Gemm, Softmax,
 * LogSoftmax, Hardmax, ArgMax/ArgMin, the Reduce* family, BatchNormalization (inference)
 * and LayerNormalization.
 *
 * The matrix kernels are the hot path of small MLPs: row blocks of 4 share each loaded
 * row of B, the inner loop is contiguous so it vectorises, and GCC builds AVX2 / AVX-512
 * clones picked at load time (one binary for every x86-64). The double kernel (converted
 * PMML networks) also rounds every output exactly as the plain k-ordered loop does. */
#include "model/engine_impl.h"
#include "util/mem.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define S_CLONES FERRY_ENGINE_CLONES

#define S_GEMM_ROWS 4  /* rows of A per micro-tile */
#define S_GEMM_COLS 32 /* columns of B per micro-tile: 4 x 32 float accumulators fit registers */

/* 16 floats: GCC lowers it to one zmm, two ymm or four xmm registers per clone. */
typedef float s_v16 __attribute__((vector_size(64)));

/* unaligned load; a macro, as a function returning s_v16 would change the ABI per clone */
#define S_LOAD16(dst, p) memcpy(&(dst), (p), sizeof(s_v16))

/* One 4 x 32 tile of C from 4 rows of A and a 32-column panel of B (row stride ldb):
 * eight vector accumulators held in registers across the whole K loop. */
S_CLONES static void s_tile_4x32(const float *restrict a, int64_t lda, const float *restrict b, int64_t ldb,
                                 float *restrict c, int64_t ldc, int64_t K)
{
    s_v16 c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0}, c20 = {0}, c21 = {0}, c30 = {0}, c31 = {0};
    for (int64_t k = 0; k < K; k++) {
        s_v16 b0, b1;
        S_LOAD16(b0, b + k * ldb);
        S_LOAD16(b1, b + k * ldb + 16);
        float x0 = a[k], x1 = a[lda + k], x2 = a[2 * lda + k], x3 = a[3 * lda + k];
        c00 += x0 * b0;
        c01 += x0 * b1;
        c10 += x1 * b0;
        c11 += x1 * b1;
        c20 += x2 * b0;
        c21 += x2 * b1;
        c30 += x3 * b0;
        c31 += x3 * b1;
    }
    memcpy(c, &c00, 64);
    memcpy(c + 16, &c01, 64);
    memcpy(c + ldc, &c10, 64);
    memcpy(c + ldc + 16, &c11, 64);
    memcpy(c + 2 * ldc, &c20, 64);
    memcpy(c + 2 * ldc + 16, &c21, 64);
    memcpy(c + 3 * ldc, &c30, 64);
    memcpy(c + 3 * ldc + 16, &c31, 64);
}

/* dot product of two contiguous float vectors, 16 lanes at a time */
static inline float s_dot16(const float *restrict a, const float *restrict b, int64_t K)
{
    s_v16 acc = {0};
    int64_t k = 0;
    for (; k + 16 <= K; k += 16) {
        s_v16 x, y;
        S_LOAD16(x, a + k);
        S_LOAD16(y, b + k);
        acc += x * y;
    }
    float sum = 0;
    for (int q = 0; q < 16; q++)
        sum += acc[q];
    for (; k < K; k++)
        sum += a[k] * b[k];
    return sum;
}

#define S_GEMM_STACK_FLOATS 4096

/* C[m,n] = A[m,k] * B[k,n], all row-major contiguous. Full 4 x 32 tiles go through the
 * register kernel; the last N % 32 columns are dot products against a transposed copy of
 * that panel of B (narrow outputs such as a regression head are common); the last M % 4
 * rows use the i-k-j row loop. */
S_CLONES static void s_gemm_f32(const float *restrict A, const float *restrict B, float *restrict C, int64_t M,
                                int64_t K, int64_t N)
{
    int64_t m4 = M - M % S_GEMM_ROWS, n32 = N - N % S_GEMM_COLS, nrem = N - n32;
    for (int64_t i = 0; i < m4; i += S_GEMM_ROWS)
        for (int64_t j = 0; j < n32; j += S_GEMM_COLS)
            s_tile_4x32(A + i * K, K, B + j, N, C + i * N + j, N, K);
    if (nrem > 0 && m4 > 0) {
        float stack_bt[S_GEMM_STACK_FLOATS];
        float *bt = K * nrem <= S_GEMM_STACK_FLOATS ? stack_bt : ferry_malloc(sizeof(float) * (size_t)(K * nrem));
        for (int64_t k = 0; k < K; k++)
            for (int64_t j = 0; j < nrem; j++)
                bt[j * K + k] = B[k * N + n32 + j];
        for (int64_t i = 0; i < m4; i++)
            for (int64_t j = 0; j < nrem; j++)
                C[i * N + n32 + j] = s_dot16(A + i * K, bt + j * K, K);
        if (bt != stack_bt)
            free(bt);
    }
    for (int64_t i = m4; i < M; i++) {
        float *c = C + i * N;
        const float *a = A + i * K;
        for (int64_t j = 0; j < N; j++)
            c[j] = 0;
        for (int64_t k = 0; k < K; k++) {
            const float *b = B + k * N;
            float x = a[k];
            for (int64_t j = 0; j < N; j++)
                c[j] += x * b[j];
        }
    }
}

/* ---- double GEMM ----------------------------------------------------------------------------
 * Exactness contract (the converter promises PMML-evaluator results bit for bit): every
 * C[i,j] is ((0 + a[i,0]*b[0,j]) + a[i,1]*b[1,j]) + ... in k order, each product rounded
 * and then added -- model/ is compiled with -ffp-contract=off, so no FMA -- which is what
 * the plain i-k-j loop computes. The kernels vectorise across j and interleave rows i,
 * never split k. K is cut into blocks; between blocks the partial sum waits in C (a double
 * round-trips memory exactly), so blocking changes no bit either.
 *
 * Layout: 4 x 16 register tiles (eight 8-double vectors: one zmm each in the AVX-512
 * clone) over panels of B packed 16 columns wide, K-block by K-block so one packed panel
 * (S_DGEMM_KC x 16 doubles = 32 KiB) stays in L1 while every row tile streams past it. A
 * constant B (an initializer) is packed once per node. Columns past the last full panel
 * (a regression head's N = 1) are dot products with S_DGEMM_NARROW_ROWS rows in flight,
 * whose independent sums hide the add latency. */

typedef double s_v8d __attribute__((vector_size(64)));

#define S_LOAD8D(dst, p) memcpy(&(dst), (p), sizeof(s_v8d))
#define S_STORE8D(p, src) memcpy((p), &(src), sizeof(s_v8d))

#define S_DGEMM_MR 4             /* rows of A per register tile */
#define S_DGEMM_NR 16            /* columns per register tile and per packed panel of B */
#define S_DGEMM_KC 256           /* K block */
#define S_DGEMM_NARROW_ROWS 8    /* rows summed side by side for the columns past the panels */
#define S_DGEMM_PACK_MIN_ROWS 16 /* a B that changes per call is packed only for this many rows */

#define S_ALWAYS_INLINE static inline __attribute__((always_inline))

/* C[4 x 16] (+)= A[4 x kc] B[kc x 16]; b has row stride ldb (16 when packed). */
S_ALWAYS_INLINE void s_dtile_4x16(const double *restrict a, int64_t lda, const double *restrict b, int64_t ldb,
                                  double *restrict c, int64_t ldc, int64_t kc, bool is_first)
{
    s_v8d c00 = {0}, c01 = {0}, c10 = {0}, c11 = {0}, c20 = {0}, c21 = {0}, c30 = {0}, c31 = {0};
    if (!is_first) {
        S_LOAD8D(c00, c);
        S_LOAD8D(c01, c + 8);
        S_LOAD8D(c10, c + ldc);
        S_LOAD8D(c11, c + ldc + 8);
        S_LOAD8D(c20, c + 2 * ldc);
        S_LOAD8D(c21, c + 2 * ldc + 8);
        S_LOAD8D(c30, c + 3 * ldc);
        S_LOAD8D(c31, c + 3 * ldc + 8);
    }
    for (int64_t k = 0; k < kc; k++) {
        s_v8d b0, b1;
        S_LOAD8D(b0, b + k * ldb);
        S_LOAD8D(b1, b + k * ldb + 8);
        double x0 = a[k], x1 = a[lda + k], x2 = a[2 * lda + k], x3 = a[3 * lda + k];
        c00 += x0 * b0;
        c01 += x0 * b1;
        c10 += x1 * b0;
        c11 += x1 * b1;
        c20 += x2 * b0;
        c21 += x2 * b1;
        c30 += x3 * b0;
        c31 += x3 * b1;
    }
    S_STORE8D(c, c00);
    S_STORE8D(c + 8, c01);
    S_STORE8D(c + ldc, c10);
    S_STORE8D(c + ldc + 8, c11);
    S_STORE8D(c + 2 * ldc, c20);
    S_STORE8D(c + 2 * ldc + 8, c21);
    S_STORE8D(c + 3 * ldc, c30);
    S_STORE8D(c + 3 * ldc + 8, c31);
}

/* the same for one row (the last M % 4 rows) */
S_ALWAYS_INLINE void s_dtile_1x16(const double *restrict a, const double *restrict b, int64_t ldb,
                                  double *restrict c, int64_t kc, bool is_first)
{
    s_v8d c0 = {0}, c1 = {0};
    if (!is_first) {
        S_LOAD8D(c0, c);
        S_LOAD8D(c1, c + 8);
    }
    for (int64_t k = 0; k < kc; k++) {
        s_v8d b0, b1;
        S_LOAD8D(b0, b + k * ldb);
        S_LOAD8D(b1, b + k * ldb + 8);
        c0 += a[k] * b0;
        c1 += a[k] * b1;
    }
    S_STORE8D(c, c0);
    S_STORE8D(c + 8, c1);
}

/* C[:, 0..ncols) = A B[:, 0..ncols) for the columns past the packed panels (ncols < 16):
 * per column, S_DGEMM_NARROW_ROWS independent k-ordered sums at a time. */
S_ALWAYS_INLINE void s_dgemm_narrow(const double *restrict A, const double *restrict B, double *restrict C,
                                    int64_t M, int64_t K, int64_t N, int64_t ncols)
{
    int64_t i = 0;
    for (; i + S_DGEMM_NARROW_ROWS <= M; i += S_DGEMM_NARROW_ROWS)
        for (int64_t j = 0; j < ncols; j++) {
            double s[S_DGEMM_NARROW_ROWS] = {0};
            const double *a = A + i * K;
            for (int64_t k = 0; k < K; k++) {
                double bv = B[k * N + j];
                for (int r = 0; r < S_DGEMM_NARROW_ROWS; r++)
                    s[r] += a[r * K + k] * bv;
            }
            for (int r = 0; r < S_DGEMM_NARROW_ROWS; r++)
                C[(i + r) * N + j] = s[r];
        }
    for (; i < M; i++)
        for (int64_t j = 0; j < ncols; j++) {
            double s = 0;
            for (int64_t k = 0; k < K; k++)
                s += A[i * K + k] * B[k * N + j];
            C[i * N + j] = s;
        }
}

/* Pack the full 16-column panels of B [K, N]: panel p is K rows of 16 contiguous doubles,
 * at bp + p * K * 16. */
static void s_dgemm_pack_b(const double *B, int64_t K, int64_t N, double *bp)
{
    int64_t panels = N / S_DGEMM_NR;
    for (int64_t p = 0; p < panels; p++)
        for (int64_t k = 0; k < K; k++)
            memcpy(bp + (p * K + k) * S_DGEMM_NR, B + k * N + p * S_DGEMM_NR, sizeof(double) * S_DGEMM_NR);
}

/* C[M,N] = A[M,K] B[K,N], row-major contiguous. bp: B's panels packed by s_dgemm_pack_b,
 * or NULL to read B in place. */
S_CLONES static void s_gemm_f64(const double *restrict A, const double *restrict B, const double *restrict bp,
                                double *restrict C, int64_t M, int64_t K, int64_t N)
{
    if (K == 0) {
        memset(C, 0, sizeof(double) * (size_t)(M * N));
        return;
    }
    int64_t n16 = N - N % S_DGEMM_NR, m4 = M - M % S_DGEMM_MR;
    for (int64_t kb = 0; kb < K; kb += S_DGEMM_KC) {
        int64_t kc = K - kb < S_DGEMM_KC ? K - kb : S_DGEMM_KC;
        bool is_first = kb == 0;
        for (int64_t j = 0; j < n16; j += S_DGEMM_NR) {
            const double *b = bp ? bp + ((j / S_DGEMM_NR) * K + kb) * S_DGEMM_NR : B + kb * N + j;
            int64_t ldb = bp ? S_DGEMM_NR : N;
            int64_t i = 0;
            for (; i < m4; i += S_DGEMM_MR)
                s_dtile_4x16(A + i * K + kb, K, b, ldb, C + i * N + j, N, kc, is_first);
            for (; i < M; i++)
                s_dtile_1x16(A + i * K + kb, b, ldb, C + i * N + j, kc, is_first);
        }
    }
    if (n16 < N)
        s_dgemm_narrow(A, B + n16, C + n16, M, K, N, N - n16);
}

/* A packed copy of a double B for s_gemm_f64, kept by MatMul and Gemm nodes. */
typedef struct {
    double *panels;
    size_t cap;        /* doubles allocated at panels */
    bool is_constant;  /* panels hold the node's constant B: pack once */
} s_dpack_t;

static void s_dpack_clear(s_dpack_t *pk)
{
    free(pk->panels);
    pk->panels = NULL;
    pk->cap = 0;
    pk->is_constant = false;
}

/* Packed panels of B [K, N] for an M-row product, or NULL when packing does not pay (fewer
 * than 16 columns; a B that changes per call and few rows to reuse it). is_const: B is
 * the same tensor on every call (its panels are packed on the first and kept). */
static const double *s_dpack_get(s_dpack_t *pk, const double *B, int64_t M, int64_t K, int64_t N, bool is_const)
{
    if (N < S_DGEMM_NR || K == 0)
        return NULL;
    if (is_const && pk->is_constant)
        return pk->panels;
    if (!is_const && M < S_DGEMM_PACK_MIN_ROWS)
        return NULL;
    size_t need = (size_t)(N / S_DGEMM_NR) * S_DGEMM_NR * (size_t)K;
    if (need > pk->cap) {
        free(pk->panels);
        pk->panels = ferry_malloc(sizeof(double) * need);
        pk->cap = need;
    }
    s_dgemm_pack_b(B, K, N, pk->panels);
    pk->is_constant = is_const;
    return pk->panels;
}

static void s_gemm_i64(const int64_t *A, const int64_t *B, int64_t *C, int64_t M, int64_t K, int64_t N)
{
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            uint64_t acc = 0;
            for (int64_t k = 0; k < K; k++)
                acc += (uint64_t)A[i * K + k] * (uint64_t)B[k * N + j];
            C[i * N + j] = (int64_t)acc;
        }
}

/* C = A B in compute type dt; bp: packed panels of a double B (s_dpack_get) or NULL */
static void s_gemm_any(int32_t dt, const void *A, const void *B, const double *bp, void *C, int64_t M, int64_t K,
                       int64_t N)
{
    if (dt == FERRY_DT_FLOAT)
        s_gemm_f32(A, B, C, M, K, N);
    else if (dt == FERRY_DT_DOUBLE)
        s_gemm_f64(A, B, bp, C, M, K, N);
    else
        s_gemm_i64(A, B, C, M, K, N);
}

/* A view of t as float/double/int64 (widened into scratch when needed). */
static const void *s_as_compute(const ferry_tensor_t *t, int32_t *ct, ferry_tensor_t *scratch, ferry_err_t *err)
{
    if (t->dtype == FERRY_DT_FLOAT || t->dtype == FERRY_DT_DOUBLE || t->dtype == FERRY_DT_INT64) {
        *ct = t->dtype;
        return t->data;
    }
    *ct = t->dtype == FERRY_DT_FLOAT16 ? FERRY_DT_FLOAT : FERRY_DT_INT64;
    if (ferry_tensor_reshape_like(scratch, *ct, t, err) < 0)
        return NULL;
    ferry_convert_elems(scratch->data, *ct, t->data, t->dtype, t->count);
    return scratch->data;
}

#define S_MATMUL_TYPES                                                                                    \
    (FERRY_DTM_FLOATS | FERRY_DTM(FERRY_DT_INT32) | FERRY_DTM(FERRY_DT_INT64) | FERRY_DTM(FERRY_DT_UINT32) | \
     FERRY_DTM(FERRY_DT_UINT64))

static void s_dpack_free(void *p)
{
    s_dpack_t *pk = p;
    s_dpack_clear(pk);
    free(pk);
}

static int s_prep_matmul(ferry_node_t *n, ferry_err_t *err)
{
    (void)err;
    n->state = ferry_calloc(1, sizeof(s_dpack_t));
    n->state_free = s_dpack_free;
    return 0;
}

static int s_run_matmul(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *a = ferry_op_input(n, 0, err), *b = a ? ferry_op_input(n, 1, err) : NULL;
    if (!b || ferry_op_check_type(n, 0, S_MATMUL_TYPES, err) < 0)
        return -1;
    if (a->dtype != b->dtype)
        return ferry_op_fail(n, err, "inputs have different element types (%s and %s)", ferry_dtype_name(a->dtype),
                             ferry_dtype_name(b->dtype));
    if (a->ndim == 0 || b->ndim == 0)
        return ferry_op_fail(n, err, "MatMul inputs must have rank >= 1");
    /* numpy: 1-D a is [1,K], 1-D b is [K,1]; the added axes are dropped afterwards */
    int64_t M = a->ndim == 1 ? 1 : a->dims[a->ndim - 2], K = a->dims[a->ndim - 1];
    int64_t Kb = b->ndim == 1 ? b->dims[0] : b->dims[b->ndim - 2], N = b->ndim == 1 ? 1 : b->dims[b->ndim - 1];
    if (K != Kb) {
        char sa[200], sb[200];
        return ferry_op_fail(n, err, "shapes %s and %s: inner dimensions differ (%lld vs %lld)",
                             ferry_tensor_shape_str(a, sa, sizeof(sa)), ferry_tensor_shape_str(b, sb, sizeof(sb)),
                             (long long)K, (long long)Kb);
    }
    int abn = a->ndim > 2 ? a->ndim - 2 : 0, bbn = b->ndim > 2 ? b->ndim - 2 : 0, bn;
    int64_t bdims[FERRY_TENSOR_MAX_DIMS];
    if (ferry_broadcast_shape(n, abn, a->dims, bbn, b->dims, &bn, bdims, err) < 0)
        return -1;
    int64_t odims[FERRY_TENSOR_MAX_DIMS];
    int ond = 0;
    for (int i = 0; i < bn; i++)
        odims[ond++] = bdims[i];
    if (a->ndim > 1)
        odims[ond++] = M;
    if (b->ndim > 1)
        odims[ond++] = N;
    int32_t ct, ctb;
    const void *pa = s_as_compute(a, &ct, &n->tmp[0], err);
    const void *pb = pa ? s_as_compute(b, &ctb, &n->tmp[1], err) : NULL;
    if (!pb)
        return -1;
    bool is_direct = ct == a->dtype;
    ferry_tensor_t *dst = is_direct ? n->out[0] : &n->tmp[2];
    if (ferry_tensor_reshape(dst, ct, ond, odims, err) < 0)
        return -1;
    int64_t batches = 1;
    for (int i = 0; i < bn; i++)
        batches *= bdims[i];
    /* batch strides (in matrices) of a and b under broadcasting */
    ferry_tensor_t av, bv;
    ferry_tensor_init(&av);
    ferry_tensor_init(&bv);
    av.ndim = abn;
    bv.ndim = bbn;
    memcpy(av.dims, a->dims, sizeof(int64_t) * (size_t)abn);
    memcpy(bv.dims, b->dims, sizeof(int64_t) * (size_t)bbn);
    int64_t ast[FERRY_TENSOR_MAX_DIMS], bst[FERRY_TENSOR_MAX_DIMS], idx[FERRY_TENSOR_MAX_DIMS] = {0};
    ferry_broadcast_strides(&av, bn, bdims, ast);
    ferry_broadcast_strides(&bv, bn, bdims, bst);
    size_t es = ferry_dtype_size(ct);
    int64_t offa = 0, offb = 0;
    /* a 2-D B is the same matrix for every batch; packed once per run, or once for good
     * when it is a constant */
    bool is_b_matrix = bbn == 0 && ct == FERRY_DT_DOUBLE;
    const double *bp = is_b_matrix ? s_dpack_get(n->state, pb, M * batches, K, N, (n->const_inputs & 2) != 0) : NULL;
    for (int64_t bi = 0; bi < batches; bi++) {
        const char *pbi = (const char *)pb + (size_t)(offb * K * N) * es;
        if (ct == FERRY_DT_DOUBLE && !is_b_matrix)
            bp = s_dpack_get(n->state, (const double *)pbi, M, K, N, false);
        s_gemm_any(ct, (const char *)pa + (size_t)(offa * M * K) * es, pbi, bp,
                   (char *)dst->data + (size_t)(bi * M * N) * es, M, K, N);
        for (int d = bn - 1; d >= 0; d--) {
            idx[d]++;
            offa += ast[d];
            offb += bst[d];
            if (idx[d] < bdims[d])
                break;
            offa -= ast[d] * bdims[d];
            offb -= bst[d] * bdims[d];
            idx[d] = 0;
        }
    }
    if (!is_direct) {
        if (ferry_tensor_reshape(n->out[0], a->dtype, ond, odims, err) < 0)
            return -1;
        ferry_convert_elems(n->out[0]->data, a->dtype, dst->data, ct, dst->count);
    }
    return 0;
}

/* ---- Gemm --------------------------------------------------------------------------------- */

typedef struct {
    bool is_b_cached;  /* B is constant: its (transposed) compute copy is kept */
    ferry_tensor_t b;  /* [K, N] in the compute type */
    s_dpack_t packed;  /* double B packed for the matrix kernel */
} s_gemm_state_t;

static void s_gemm_state_free(void *p)
{
    s_gemm_state_t *s = p;
    ferry_tensor_clear(&s->b);
    s_dpack_clear(&s->packed);
    free(s);
}

static int s_prep_gemm(ferry_node_t *n, ferry_err_t *err)
{
    n->fa[0] = ferry_attr_float(n, "alpha", 1.0f);
    n->fa[1] = ferry_attr_float(n, "beta", 1.0f);
    n->ia[0] = ferry_attr_int(n, "transA", 0);
    n->ia[1] = ferry_attr_int(n, "transB", 0);
    /* opset 6's broadcast=0 required C to match exactly: broadcasting C is a superset */
    s_gemm_state_t *s = ferry_calloc(1, sizeof(*s));
    ferry_tensor_init(&s->b);
    n->state = s;
    n->state_free = s_gemm_state_free;
    return 0;
}

/* dst [R, C] (compute type ct) = transpose-or-copy of src matrix view */
static int s_matrix_in(const ferry_tensor_t *t, bool is_trans, int32_t ct, ferry_tensor_t *dst, ferry_err_t *err)
{
    int64_t r = t->dims[0], c = t->dims[1];
    int64_t dims[2] = {is_trans ? c : r, is_trans ? r : c};
    if (ferry_tensor_reshape(dst, ct, 2, dims, err) < 0)
        return -1;
    size_t es = ferry_dtype_size(ct);
    if (!is_trans) {
        ferry_convert_elems(dst->data, ct, t->data, t->dtype, t->count);
        return 0;
    }
    for (int64_t i = 0; i < r; i++)
        for (int64_t j = 0; j < c; j++)
            ferry_convert_elems((char *)dst->data + (size_t)(j * r + i) * es, ct,
                                (const char *)t->data + (size_t)(i * c + j) * ferry_dtype_size(t->dtype), t->dtype, 1);
    return 0;
}

static int s_run_gemm(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *a = ferry_op_input(n, 0, err), *b = a ? ferry_op_input(n, 1, err) : NULL;
    if (!b || ferry_op_check_type(n, 0, S_MATMUL_TYPES, err) < 0)
        return -1;
    if (a->dtype != b->dtype || a->ndim != 2 || b->ndim != 2) {
        char sa[200], sb[200];
        return ferry_op_fail(n, err, "A %s %s and B %s %s must be 2-D matrices of one type",
                             ferry_dtype_name(a->dtype), ferry_tensor_shape_str(a, sa, sizeof(sa)),
                             ferry_dtype_name(b->dtype), ferry_tensor_shape_str(b, sb, sizeof(sb)));
    }
    s_gemm_state_t *st = n->state;
    bool ta = n->ia[0] != 0, tb = n->ia[1] != 0;
    int64_t M = ta ? a->dims[1] : a->dims[0], K = ta ? a->dims[0] : a->dims[1];
    int64_t Kb = tb ? b->dims[1] : b->dims[0], N = tb ? b->dims[0] : b->dims[1];
    if (K != Kb) {
        char sa[200], sb[200];
        return ferry_op_fail(n, err, "A %s (transA=%d) and B %s (transB=%d): inner dimensions differ",
                             ferry_tensor_shape_str(a, sa, sizeof(sa)), ta, ferry_tensor_shape_str(b, sb, sizeof(sb)),
                             tb);
    }
    int32_t ct = a->dtype == FERRY_DT_FLOAT || a->dtype == FERRY_DT_FLOAT16 ? FERRY_DT_FLOAT
                 : a->dtype == FERRY_DT_DOUBLE                               ? FERRY_DT_DOUBLE
                                                                             : FERRY_DT_INT64;
    const void *pa = a->data, *pb = b->data;
    if (ta || ct != a->dtype) {
        if (s_matrix_in(a, ta, ct, &n->tmp[0], err) < 0)
            return -1;
        pa = n->tmp[0].data;
    }
    if (tb || ct != b->dtype) {
        bool is_const = (n->const_inputs & 2) != 0;
        if (!is_const || !st->is_b_cached) {
            if (s_matrix_in(b, tb, ct, &st->b, err) < 0)
                return -1;
            st->is_b_cached = is_const;
        }
        pb = st->b.data;
    }
    int64_t odims[2] = {M, N};
    ferry_tensor_t *dst = ct == a->dtype ? n->out[0] : &n->tmp[2];
    if (ferry_tensor_reshape(dst, ct, 2, odims, err) < 0)
        return -1;
    const double *bp =
        ct == FERRY_DT_DOUBLE ? s_dpack_get(&st->packed, pb, M, K, N, (n->const_inputs & 2) != 0) : NULL;
    s_gemm_any(ct, pa, pb, bp, dst->data, M, K, N);
    double alpha = n->fa[0], beta = n->fa[1];
    const ferry_tensor_t *c = n->n_in > 2 ? n->in[2] : NULL;
    int64_t cs[2] = {0, 0};
    if (c) {
        if (c->dtype != a->dtype)
            return ferry_op_fail(n, err, "C has type %s, A has %s", ferry_dtype_name(c->dtype),
                                 ferry_dtype_name(a->dtype));
        if (c->ndim > 2)
            return ferry_op_fail(n, err, "C must have rank <= 2");
        int nd;
        int64_t bd[FERRY_TENSOR_MAX_DIMS];
        if (ferry_broadcast_shape(n, 2, odims, c->ndim, c->dims, &nd, bd, err) < 0)
            return -1;
        if (bd[0] != M || bd[1] != N)
            return ferry_op_fail(n, err, "C does not broadcast to [%lld,%lld]", (long long)M, (long long)N);
        ferry_broadcast_strides(c, 2, odims, cs);
    }
    if (ct == FERRY_DT_FLOAT && (!c || c->dtype == FERRY_DT_FLOAT)) {
        float *o = dst->data;
        const float *cd = c ? c->data : NULL;
        float fa = (float)alpha, fb = (float)beta;
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                float v = fa == 1.0f ? o[i * N + j] : fa * o[i * N + j];
                if (cd)
                    v += fb == 1.0f ? cd[i * cs[0] + j * cs[1]] : fb * cd[i * cs[0] + j * cs[1]];
                o[i * N + j] = v;
            }
    } else if (ct == FERRY_DT_DOUBLE && (!c || c->dtype == FERRY_DT_DOUBLE)) {
        /* the general loop below, without a conversion call per element */
        double *o = dst->data;
        const double *cd = c ? c->data : NULL;
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double v = o[i * N + j] * alpha;
                if (cd)
                    v += beta * cd[i * cs[0] + j * cs[1]];
                o[i * N + j] = v;
            }
    } else if (ct == FERRY_DT_DOUBLE || ct == FERRY_DT_FLOAT) {
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double v;
                ferry_convert_elems(&v, FERRY_DT_DOUBLE, (char *)dst->data + (i * N + j) * (int64_t)ferry_dtype_size(ct), ct, 1);
                v *= alpha;
                if (c)
                    v += beta * ferry_tensor_get_f64(c, i * cs[0] + j * cs[1]);
                ferry_convert_elems((char *)dst->data + (i * N + j) * (int64_t)ferry_dtype_size(ct), ct, &v, FERRY_DT_DOUBLE, 1);
            }
    } else {
        int64_t *o = dst->data;
        int64_t ia = (int64_t)alpha, ib = (int64_t)beta;
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++)
                o[i * N + j] = (int64_t)((uint64_t)ia * (uint64_t)o[i * N + j] +
                                         (c ? (uint64_t)ib * (uint64_t)ferry_tensor_get_i64(c, i * cs[0] + j * cs[1]) : 0));
    }
    if (dst != n->out[0]) {
        if (ferry_tensor_reshape(n->out[0], a->dtype, 2, odims, err) < 0)
            return -1;
        ferry_convert_elems(n->out[0]->data, a->dtype, dst->data, ct, dst->count);
    }
    return 0;
}

/* ---- Softmax, LogSoftmax, Hardmax ---------------------------------------------------------- */

/* Split x around `axis` into (outer, len, inner). Before opset 13 the input is coerced to
 * 2-D at axis: every axis from `axis` on is one flattened axis. */
static int s_softmax_geometry(ferry_node_t *n, const ferry_tensor_t *x, int64_t *outer, int64_t *len, int64_t *inner,
                              ferry_err_t *err)
{
    bool is_legacy = n->opset < 13;
    int64_t axis = ferry_attr_int(n, "axis", is_legacy ? 1 : -1);
    int ax;
    if (x->ndim == 0)
        return ferry_op_fail(n, err, "input must have rank >= 1");
    if (is_legacy && axis == x->ndim) {
        ax = x->ndim;
    } else if (ferry_op_axis(n, axis, x->ndim, &ax, err) < 0) {
        return -1;
    }
    *outer = 1;
    *len = 1;
    *inner = 1;
    for (int d = 0; d < x->ndim; d++) {
        if (d < ax)
            *outer *= x->dims[d];
        else if (d == ax || is_legacy)
            *len *= x->dims[d];
        else
            *inner *= x->dims[d];
    }
    return 0;
}

enum { S_SOFTMAX, S_LOGSOFTMAX, S_HARDMAX };

static int s_softmax_family(ferry_node_t *n, int kind, ferry_err_t *err)
{
    const ferry_tensor_t *x = ferry_op_input(n, 0, err);
    if (!x || ferry_op_check_type(n, 0, FERRY_DTM(FERRY_DT_FLOAT) | FERRY_DTM(FERRY_DT_DOUBLE), err) < 0)
        return -1;
    int64_t outer = 0, len = 0, inner = 0;
    if (s_softmax_geometry(n, x, &outer, &len, &inner, err) < 0)
        return -1;
    if (ferry_tensor_reshape_like(n->out[0], x->dtype, x, err) < 0)
        return -1;
    bool is_f = x->dtype == FERRY_DT_FLOAT;
    const float *xf = x->data;
    const double *xd = x->data;
    float *yf = n->out[0]->data;
    double *yd = n->out[0]->data;
#define S_X(i) (is_f ? (double)xf[i] : xd[i])
#define S_SET(i, v) (is_f ? (void)(yf[i] = (float)(v)) : (void)(yd[i] = (v)))
    for (int64_t o = 0; o < outer; o++)
        for (int64_t q = 0; q < inner; q++) {
            int64_t base = o * len * inner + q;
            double mx = -INFINITY;
            int64_t arg = 0;
            for (int64_t k = 0; k < len; k++) {
                double v = S_X(base + k * inner);
                if (v > mx || (k == 0)) {
                    if (k == 0 || v > mx)
                        arg = k;
                    mx = k == 0 ? v : (v > mx ? v : mx);
                }
            }
            if (kind == S_HARDMAX) {
                for (int64_t k = 0; k < len; k++)
                    S_SET(base + k * inner, k == arg ? 1.0 : 0.0);
                continue;
            }
            double sum = 0;
            for (int64_t k = 0; k < len; k++)
                sum += exp(S_X(base + k * inner) - mx);
            for (int64_t k = 0; k < len; k++) {
                double v = S_X(base + k * inner) - mx;
                S_SET(base + k * inner, kind == S_SOFTMAX ? exp(v) / sum : v - log(sum));
            }
        }
#undef S_X
#undef S_SET
    return 0;
}

static int s_run_softmax(ferry_node_t *n, ferry_err_t *err) { return s_softmax_family(n, S_SOFTMAX, err); }
static int s_run_logsoftmax(ferry_node_t *n, ferry_err_t *err) { return s_softmax_family(n, S_LOGSOFTMAX, err); }
static int s_run_hardmax(ferry_node_t *n, ferry_err_t *err) { return s_softmax_family(n, S_HARDMAX, err); }

/* ---- ArgMax, ArgMin --------------------------------------------------------------------- */

static int s_arg_family(ferry_node_t *n, bool is_max, ferry_err_t *err)
{
    const ferry_tensor_t *x = ferry_op_input(n, 0, err);
    if (!x || ferry_op_check_type(n, 0, FERRY_DTM_NUMERIC, err) < 0)
        return -1;
    int ax;
    if (x->ndim == 0)
        return ferry_op_fail(n, err, "input must have rank >= 1");
    if (ferry_op_axis(n, ferry_attr_int(n, "axis", 0), x->ndim, &ax, err) < 0)
        return -1;
    bool keep = ferry_attr_int(n, "keepdims", 1) != 0, is_last = ferry_attr_int(n, "select_last_index", 0) != 0;
    int64_t dims[FERRY_TENSOR_MAX_DIMS];
    int nd = 0;
    int64_t outer = 1, len = x->dims[ax], inner = 1;
    for (int d = 0; d < x->ndim; d++) {
        if (d < ax)
            outer *= x->dims[d];
        if (d > ax)
            inner *= x->dims[d];
        if (d != ax)
            dims[nd++] = x->dims[d];
        else if (keep)
            dims[nd++] = 1;
    }
    if (len == 0)
        return ferry_op_fail(n, err, "cannot reduce an empty axis");
    if (ferry_tensor_reshape(n->out[0], FERRY_DT_INT64, nd, dims, err) < 0)
        return -1;
    int64_t *y = n->out[0]->data;
    bool is_int = !(FERRY_DTM(x->dtype) & FERRY_DTM_FLOATS);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t q = 0; q < inner; q++) {
            int64_t best = 0, base = o * len * inner + q;
            for (int64_t k = 1; k < len; k++) {
                int64_t i = base + k * inner, bi = base + best * inner;
                bool better, tie;
                if (is_int && x->dtype != FERRY_DT_UINT64) {
                    int64_t v = ferry_tensor_get_i64(x, i), b = ferry_tensor_get_i64(x, bi);
                    better = is_max ? v > b : v < b;
                    tie = v == b;
                } else {
                    double v = ferry_tensor_get_f64(x, i), b = ferry_tensor_get_f64(x, bi);
                    better = is_max ? v > b : v < b;
                    tie = v == b;
                }
                if (better || (tie && is_last))
                    best = k;
            }
            y[o * inner + q] = best;
        }
    return 0;
}

static int s_run_argmax(ferry_node_t *n, ferry_err_t *err) { return s_arg_family(n, true, err); }
static int s_run_argmin(ferry_node_t *n, ferry_err_t *err) { return s_arg_family(n, false, err); }

/* ---- Reduce* ------------------------------------------------------------------------------ */

enum { R_SUM, R_MEAN, R_MAX, R_MIN, R_PROD, R_L1, R_L2, R_LOGSUM, R_LOGSUMEXP, R_SUMSQUARE };

static const struct {
    const char *name;
    int kind;
} s_reduce_names[] = {
    {"ReduceSum", R_SUM}, {"ReduceMean", R_MEAN}, {"ReduceMax", R_MAX}, {"ReduceMin", R_MIN},
    {"ReduceProd", R_PROD}, {"ReduceL1", R_L1}, {"ReduceL2", R_L2}, {"ReduceLogSum", R_LOGSUM},
    {"ReduceLogSumExp", R_LOGSUMEXP}, {"ReduceSumSquare", R_SUMSQUARE},
};

static int s_prep_reduce(ferry_node_t *n, ferry_err_t *err)
{
    n->ia[0] = -1;
    for (size_t i = 0; i < FERRY_ARRAY_LEN(s_reduce_names); i++)
        if (!strcmp(s_reduce_names[i].name, n->proto->op_type))
            n->ia[0] = s_reduce_names[i].kind;
    n->ia[1] = ferry_attr_int(n, "keepdims", 1);
    n->ia[2] = ferry_attr_int(n, "noop_with_empty_axes", 0);
    /* axes move from attribute to input: ReduceSum at opset 13, the others at 18 */
    n->ia[3] = n->ia[0] == R_SUM ? n->opset >= 13 : n->opset >= 18;
    return 0;
}

/* y[o, i] = 0 + x[o, 0, i] + x[o, 1, i] + ... for x [outer, group, inner] */
S_CLONES static void s_sum_runs_f64(const double *restrict x, double *restrict y, int64_t outer, int64_t group,
                                    int64_t inner)
{
    for (int64_t o = 0; o < outer; o++) {
        double *yo = y + o * inner;
        if (inner == 1) {
            double a = 0;
            for (int64_t g = 0; g < group; g++)
                a += x[o * group + g];
            *yo = a;
            continue;
        }
        for (int64_t i = 0; i < inner; i++)
            yo[i] = 0;
        for (int64_t g = 0; g < group; g++) {
            const double *xg = x + (o * group + g) * inner;
            for (int64_t i = 0; i < inner; i++)
                yo[i] += xg[i];
        }
    }
}

static int s_run_reduce(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *x = ferry_op_input(n, 0, err);
    int kind = (int)n->ia[0];
    uint32_t types = FERRY_DTM_FLOATS | FERRY_DTM(FERRY_DT_INT32) | FERRY_DTM(FERRY_DT_INT64) |
                     FERRY_DTM(FERRY_DT_UINT32) | FERRY_DTM(FERRY_DT_UINT64);
    if (kind == R_MAX || kind == R_MIN)
        types |= FERRY_DTM(FERRY_DT_INT8) | FERRY_DTM(FERRY_DT_UINT8);
    if (!x || ferry_op_check_type(n, 0, types, err) < 0)
        return -1;
    int64_t *axes = NULL, na = 0;
    if (n->ia[3]) {
        if (n->n_in > 1 && n->in[1] && ferry_op_read_ints(n, 1, &axes, &na, err) < 0)
            return -1;
    } else {
        size_t cnt;
        const int64_t *a = ferry_attr_ints(n, "axes", &cnt);
        axes = ferry_malloc(sizeof(int64_t) * (cnt + 1));
        if (cnt)
            memcpy(axes, a, cnt * 8);
        na = (int64_t)cnt;
    }
    int rc = -1;
    bool red[FERRY_TENSOR_MAX_DIMS] = {false};
    if (na == 0 && n->ia[3] && n->ia[2]) {
        free(axes);
        return ferry_tensor_copy(n->out[0], x, err);
    }
    for (int64_t i = 0; i < na; i++) {
        int ax;
        if (ferry_op_axis(n, axes[i], x->ndim, &ax, err) < 0)
            goto out;
        red[ax] = true;
    }
    if (na == 0)
        for (int d = 0; d < x->ndim; d++)
            red[d] = true;
    int64_t dims[FERRY_TENSOR_MAX_DIMS], full[FERRY_TENSOR_MAX_DIMS];
    int nd = 0;
    for (int d = 0; d < x->ndim; d++) {
        full[d] = red[d] ? 1 : x->dims[d];
        if (!red[d])
            dims[nd++] = x->dims[d];
        else if (n->ia[1])
            dims[nd++] = 1;
    }
    ferry_tensor_t *y = n->out[0];
    if (ferry_tensor_reshape(y, x->dtype, nd, dims, err) < 0)
        goto out;
    int64_t ocount = y->count, group = ocount ? x->count / ocount : 0;
    bool is_float = (FERRY_DTM(x->dtype) & FERRY_DTM_FLOATS) != 0;
    if (x->count == 0 && (kind == R_MAX || kind == R_MIN) && ocount > 0) {
        ferry_op_fail(n, err, "cannot reduce an empty set with %s", n->proto->op_type);
        goto out;
    }
    /* a double sum whose reduced axes are adjacent -- x read as [outer, group, inner] (a
     * forest's per-tree scores summed per row): each output starts from 0 and adds its
     * group in element order, as the general loop below does, but vectorised across inner */
    int first_red = -1, last_red = -1;
    bool is_one_run = true;
    for (int d = 0; d < x->ndim; d++)
        if (red[d]) {
            if (last_red >= 0 && last_red != d - 1)
                is_one_run = false;
            if (first_red < 0)
                first_red = d;
            last_red = d;
        }
    if (x->dtype == FERRY_DT_DOUBLE && kind == R_SUM && is_one_run && first_red >= 0 && ocount > 0) {
        int64_t inner = 1;
        for (int d = last_red + 1; d < x->ndim; d++)
            inner *= x->dims[d];
        s_sum_runs_f64(x->data, y->data, ocount / inner, group, inner);
        rc = 0;
        goto out;
    }
    double *accf = ferry_calloc((size_t)ocount + 1, sizeof(double));
    int64_t *acci = ferry_calloc((size_t)ocount + 1, sizeof(int64_t));
    bool *seen = ferry_calloc((size_t)ocount + 1, sizeof(bool));
    int64_t ost[FERRY_TENSOR_MAX_DIMS], s = 1, idx[FERRY_TENSOR_MAX_DIMS] = {0}, off = 0;
    for (int d = x->ndim - 1; d >= 0; d--) {
        ost[d] = red[d] ? 0 : s;
        s *= full[d];
    }
    for (int64_t i = 0; i < x->count; i++) {
        if (is_float) {
            double v = ferry_tensor_get_f64(x, i), *a = &accf[off];
            switch (kind) {
            case R_SUM: case R_MEAN: *a += v; break;
            case R_MAX: *a = !seen[off] || v > *a || isnan(v) ? v : *a; break;
            case R_MIN: *a = !seen[off] || v < *a || isnan(v) ? v : *a; break;
            case R_PROD: *a = seen[off] ? *a * v : v; break;
            case R_L1: *a += fabs(v); break;
            case R_L2: case R_SUMSQUARE: *a += v * v; break;
            case R_LOGSUM: *a += v; break;
            case R_LOGSUMEXP: *a += exp(v); break;
            }
        } else {
            int64_t v = ferry_tensor_get_i64(x, i), *a = &acci[off];
            switch (kind) {
            case R_SUM: case R_MEAN: case R_LOGSUM: *a = (int64_t)((uint64_t)*a + (uint64_t)v); break;
            case R_MAX: *a = !seen[off] || v > *a ? v : *a; break;
            case R_MIN: *a = !seen[off] || v < *a ? v : *a; break;
            case R_PROD: *a = seen[off] ? (int64_t)((uint64_t)*a * (uint64_t)v) : v; break;
            case R_L1: *a += v < 0 ? -v : v; break;
            case R_L2: case R_SUMSQUARE: *a = (int64_t)((uint64_t)*a + (uint64_t)v * (uint64_t)v); break;
            case R_LOGSUMEXP: accf[off] += exp((double)v); break;
            }
        }
        seen[off] = true;
        for (int d = x->ndim - 1; d >= 0; d--) {
            idx[d]++;
            off += ost[d];
            if (idx[d] < x->dims[d])
                break;
            off -= ost[d] * x->dims[d];
            idx[d] = 0;
        }
    }
    for (int64_t o = 0; o < ocount; o++) {
        if (is_float || kind == R_LOGSUMEXP || kind == R_L2 || kind == R_MEAN || kind == R_LOGSUM) {
            double v = is_float || kind == R_LOGSUMEXP ? accf[o] : (double)acci[o];
            if (!seen[o])
                v = kind == R_PROD ? 1 : kind == R_MAX ? -INFINITY : kind == R_MIN ? INFINITY : 0;
            switch (kind) {
            case R_MEAN: v = group ? v / (double)group : NAN; break;
            case R_L2: v = sqrt(v); break;
            case R_LOGSUM: case R_LOGSUMEXP: v = log(v); break;
            default: break;
            }
            if (is_float)
                ferry_convert_elems((char *)y->data + o * (int64_t)ferry_dtype_size(y->dtype), y->dtype, &v,
                                    FERRY_DT_DOUBLE, 1);
            else {
                int64_t iv = kind == R_MEAN ? acci[o] / (group ? group : 1) : (int64_t)v;
                ferry_convert_elems((char *)y->data + o * (int64_t)ferry_dtype_size(y->dtype), y->dtype, &iv,
                                    FERRY_DT_INT64, 1);
            }
        } else {
            int64_t v = seen[o] ? acci[o] : (kind == R_PROD ? 1 : 0);
            ferry_convert_elems((char *)y->data + o * (int64_t)ferry_dtype_size(y->dtype), y->dtype, &v, FERRY_DT_INT64,
                                1);
        }
    }
    free(accf);
    free(acci);
    free(seen);
    rc = 0;
out:
    free(axes);
    return rc;
}

/* ---- BatchNormalization, LayerNormalization -------------------------------------------- */

static int s_prep_batchnorm(ferry_node_t *n, ferry_err_t *err)
{
    n->fa[0] = ferry_attr_float(n, "epsilon", 1e-5f);
    if (n->opset < 7 && ferry_attr_int(n, "is_test", 0) == 0) {
        ferry_op_fail(n, err, "training-mode BatchNormalization (is_test=0) is not supported");
        return FERRY_ENGINE_EUNSUPPORTED;
    }
    if (ferry_attr_int(n, "training_mode", 0) != 0 || (n->opset >= 14 && n->n_out > 1) ||
        (n->opset >= 9 && n->opset < 14 && n->n_out > 1)) {
        ferry_op_fail(n, err, "training-mode BatchNormalization (batch statistics) is not supported");
        return FERRY_ENGINE_EUNSUPPORTED;
    }
    return 0;
}

static int s_run_batchnorm(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *in[5];
    for (int k = 0; k < 5; k++) {
        in[k] = ferry_op_input(n, k, err);
        if (!in[k] || ferry_op_check_type(n, k, FERRY_DTM(FERRY_DT_FLOAT) | FERRY_DTM(FERRY_DT_DOUBLE), err) < 0)
            return -1;
    }
    const ferry_tensor_t *x = in[0];
    if (x->ndim < 2)
        return ferry_op_fail(n, err, "X must have rank >= 2");
    int64_t C = x->dims[1], inner = 1;
    for (int d = 2; d < x->ndim; d++)
        inner *= x->dims[d];
    for (int k = 1; k < 5; k++)
        if (in[k]->count != C)
            return ferry_op_fail(n, err, "input %d must hold %lld values (one per channel)", k, (long long)C);
    if (ferry_tensor_reshape_like(n->out[0], x->dtype, x, err) < 0)
        return -1;
    double eps = n->fa[0];
    int64_t N = x->dims[0];
    for (int64_t b = 0; b < N; b++)
        for (int64_t c = 0; c < C; c++) {
            double sc = ferry_tensor_get_f64(in[1], c), bi = ferry_tensor_get_f64(in[2], c),
                   mu = ferry_tensor_get_f64(in[3], c), var = ferry_tensor_get_f64(in[4], c);
            double mul = sc / sqrt(var + eps);
            for (int64_t q = 0; q < inner; q++) {
                int64_t i = (b * C + c) * inner + q;
                double v = (ferry_tensor_get_f64(x, i) - mu) * mul + bi;
                ferry_convert_elems((char *)n->out[0]->data + i * (int64_t)ferry_dtype_size(x->dtype), x->dtype, &v,
                                    FERRY_DT_DOUBLE, 1);
            }
        }
    return 0;
}

static int s_run_layernorm(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *x = ferry_op_input(n, 0, err), *scale = x ? ferry_op_input(n, 1, err) : NULL;
    const ferry_tensor_t *bias = n->n_in > 2 ? n->in[2] : NULL;
    if (!scale || ferry_op_check_type(n, 0, FERRY_DTM(FERRY_DT_FLOAT) | FERRY_DTM(FERRY_DT_DOUBLE), err) < 0)
        return -1;
    if (scale->dtype != x->dtype || (bias && bias->dtype != x->dtype))
        return ferry_op_fail(n, err, "Scale and B must have X's type");
    int ax;
    if (ferry_op_axis(n, ferry_attr_int(n, "axis", -1), x->ndim, &ax, err) < 0)
        return -1;
    double eps = ferry_attr_float(n, "epsilon", 1e-5f);
    int32_t stash = (int32_t)ferry_attr_int(n, "stash_type", 1);
    if (stash != 1)
        return ferry_op_fail(n, err, "stash_type %d is not supported", stash);
    int64_t outer = 1, len = 1;
    for (int d = 0; d < x->ndim; d++)
        *(d < ax ? &outer : &len) *= x->dims[d];
    int64_t dims[FERRY_TENSOR_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++)
        dims[d] = d < ax ? x->dims[d] : 1;
    /* Scale and B broadcast to the normalised shape x->dims[ax:] */
    int64_t nsd = x->ndim - ax;
    int64_t sst[FERRY_TENSOR_MAX_DIMS], bst[FERRY_TENSOR_MAX_DIMS];
    int bnd;
    int64_t bdims[FERRY_TENSOR_MAX_DIMS];
    if (scale->ndim > nsd || (bias && bias->ndim > nsd))
        return ferry_op_fail(n, err, "Scale/B rank exceeds the normalised rank %lld", (long long)nsd);
    if (ferry_broadcast_shape(n, (int)nsd, x->dims + ax, scale->ndim, scale->dims, &bnd, bdims, err) < 0 ||
        (bias && ferry_broadcast_shape(n, (int)nsd, x->dims + ax, bias->ndim, bias->dims, &bnd, bdims, err) < 0))
        return -1;
    for (int d = 0; d < nsd; d++)
        if (bdims[d] != x->dims[ax + d])
            return ferry_op_fail(n, err, "Scale/B do not broadcast to the normalised shape");
    ferry_broadcast_strides(scale, (int)nsd, x->dims + ax, sst);
    if (bias)
        ferry_broadcast_strides(bias, (int)nsd, x->dims + ax, bst);
    if (ferry_tensor_reshape_like(n->out[0], x->dtype, x, err) < 0)
        return -1;
    ferry_tensor_t *mean_t = n->n_out > 1 ? n->out[1] : NULL, *inv_t = n->n_out > 2 ? n->out[2] : NULL;
    if ((mean_t && ferry_tensor_reshape(mean_t, FERRY_DT_FLOAT, x->ndim, dims, err) < 0) ||
        (inv_t && ferry_tensor_reshape(inv_t, FERRY_DT_FLOAT, x->ndim, dims, err) < 0))
        return -1;
    size_t es = ferry_dtype_size(x->dtype);
    for (int64_t o = 0; o < outer; o++) {
        double mu = 0, var = 0;
        for (int64_t k = 0; k < len; k++)
            mu += ferry_tensor_get_f64(x, o * len + k);
        mu /= (double)(len ? len : 1);
        for (int64_t k = 0; k < len; k++) {
            double d = ferry_tensor_get_f64(x, o * len + k) - mu;
            var += d * d;
        }
        var /= (double)(len ? len : 1);
        double inv = 1.0 / sqrt(var + eps);
        int64_t idx[FERRY_TENSOR_MAX_DIMS] = {0}, so = 0, bo = 0;
        for (int64_t k = 0; k < len; k++) {
            double v = (ferry_tensor_get_f64(x, o * len + k) - mu) * inv * ferry_tensor_get_f64(scale, so);
            if (bias)
                v += ferry_tensor_get_f64(bias, bo);
            ferry_convert_elems((char *)n->out[0]->data + (size_t)(o * len + k) * es, x->dtype, &v, FERRY_DT_DOUBLE, 1);
            for (int d = (int)nsd - 1; d >= 0; d--) {
                idx[d]++;
                so += sst[d];
                bo += bias ? bst[d] : 0;
                if (idx[d] < x->dims[ax + d])
                    break;
                so -= sst[d] * x->dims[ax + d];
                bo -= bias ? bst[d] * x->dims[ax + d] : 0;
                idx[d] = 0;
            }
        }
        if (mean_t)
            ((float *)mean_t->data)[o] = (float)mu;
        if (inv_t)
            ((float *)inv_t->data)[o] = (float)inv;
    }
    return 0;
}

/* ---- NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss ----------------------------------- */

/* loss over log-probabilities lp [N, C, d...] (double, contiguous) and integer targets
 * [N, d...]; writes the loss (reduction none/sum/mean) into out with x's type. */
static int s_nll(ferry_node_t *n, const double *lp, const ferry_tensor_t *x, const ferry_tensor_t *target,
                 const ferry_tensor_t *weight, ferry_tensor_t *out, ferry_err_t *err)
{
    char *red = ferry_attr_string(n, "reduction", "mean");
    int kind = !strcmp(red, "none") ? 0 : !strcmp(red, "sum") ? 1 : !strcmp(red, "mean") ? 2 : -1;
    free(red);
    if (kind < 0)
        return ferry_op_fail(n, err, "reduction must be none, sum or mean");
    const Onnx__AttributeProto *ig = ferry_attr(n, "ignore_index");
    int64_t ignore = ferry_attr_int(n, "ignore_index", 0);
    if (x->ndim < 2 || target->ndim != x->ndim - 1 || target->dims[0] != x->dims[0])
        return ferry_op_fail(n, err, "input must be [N, C, ...] and target [N, ...]");
    for (int d = 2; d < x->ndim; d++)
        if (target->dims[d - 1] != x->dims[d])
            return ferry_op_fail(n, err, "target shape does not match the input on axis %d", d);
    int64_t N = x->dims[0], C = x->dims[1], inner = N > 0 && C > 0 ? x->count / (N * C) : 0;
    if (weight && (weight->ndim != 1 || weight->dims[0] != C || weight->dtype != x->dtype))
        return ferry_op_fail(n, err, "weight must be a [C] tensor of the input's type");
    if (kind == 0) {
        if (ferry_tensor_reshape_like(out, x->dtype, target, err) < 0)
            return -1;
    } else if (ferry_tensor_reshape(out, x->dtype, 0, NULL, err) < 0) {
        return -1;
    }
    double sum = 0, wsum = 0;
    for (int64_t b = 0; b < N; b++)
        for (int64_t q = 0; q < inner; q++) {
            int64_t t = ferry_tensor_get_i64(target, b * inner + q);
            double l = 0, w = 0;
            if (!(ig && t == ignore)) {
                if (t < 0 || t >= C)
                    return ferry_op_fail(n, err, "target %lld is outside [0, %lld)", (long long)t, (long long)C);
                w = weight ? ferry_tensor_get_f64(weight, t) : 1.0;
                l = -lp[(b * C + t) * inner + q] * w;
            }
            if (kind == 0)
                ferry_convert_elems((char *)out->data + (b * inner + q) * (int64_t)ferry_dtype_size(x->dtype), x->dtype,
                                    &l, FERRY_DT_DOUBLE, 1);
            sum += l;
            wsum += w;
        }
    if (kind) {
        double v = kind == 1 ? sum : (wsum != 0 ? sum / wsum : 0);
        ferry_convert_elems(out->data, x->dtype, &v, FERRY_DT_DOUBLE, 1);
    }
    return 0;
}

static int s_run_nll(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *x = ferry_op_input(n, 0, err), *t = x ? ferry_op_input(n, 1, err) : NULL;
    if (!t || ferry_op_check_type(n, 0, FERRY_DTM(FERRY_DT_FLOAT) | FERRY_DTM(FERRY_DT_DOUBLE), err) < 0 ||
        ferry_op_check_type(n, 1, FERRY_DTM(FERRY_DT_INT32) | FERRY_DTM(FERRY_DT_INT64), err) < 0)
        return -1;
    if (ferry_tensor_reshape_like(&n->tmp[0], FERRY_DT_DOUBLE, x, err) < 0)
        return -1;
    ferry_convert_elems(n->tmp[0].data, FERRY_DT_DOUBLE, x->data, x->dtype, x->count);
    return s_nll(n, n->tmp[0].data, x, t, n->n_in > 2 ? n->in[2] : NULL, n->out[0], err);
}

static int s_run_softmax_ce(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *x = ferry_op_input(n, 0, err), *t = x ? ferry_op_input(n, 1, err) : NULL;
    if (!t || ferry_op_check_type(n, 0, FERRY_DTM(FERRY_DT_FLOAT) | FERRY_DTM(FERRY_DT_DOUBLE), err) < 0 ||
        ferry_op_check_type(n, 1, FERRY_DTM(FERRY_DT_INT32) | FERRY_DTM(FERRY_DT_INT64), err) < 0)
        return -1;
    if (x->ndim < 2)
        return ferry_op_fail(n, err, "scores must be [N, C, ...]");
    if (ferry_tensor_reshape_like(&n->tmp[0], FERRY_DT_DOUBLE, x, err) < 0)
        return -1;
    double *lp = n->tmp[0].data;
    int64_t N = x->dims[0], C = x->dims[1], inner = N > 0 && C > 0 ? x->count / (N * C) : 0;
    for (int64_t b = 0; b < N; b++) /* log-softmax over the class axis */
        for (int64_t q = 0; q < inner; q++) {
            double mx = -INFINITY, sum = 0;
            for (int64_t c = 0; c < C; c++) {
                double v = ferry_tensor_get_f64(x, (b * C + c) * inner + q);
                mx = v > mx ? v : mx;
            }
            for (int64_t c = 0; c < C; c++)
                sum += exp(ferry_tensor_get_f64(x, (b * C + c) * inner + q) - mx);
            for (int64_t c = 0; c < C; c++)
                lp[(b * C + c) * inner + q] = ferry_tensor_get_f64(x, (b * C + c) * inner + q) - mx - log(sum);
        }
    if (s_nll(n, lp, x, t, n->n_in > 2 ? n->in[2] : NULL, n->out[0], err) < 0)
        return -1;
    if (n->n_out > 1) {
        if (ferry_tensor_reshape_like(n->out[1], x->dtype, x, err) < 0)
            return -1;
        ferry_convert_elems(n->out[1]->data, x->dtype, lp, FERRY_DT_DOUBLE, x->count);
    }
    return 0;
}

const ferry_op_def_t ferry_engine_ops_nn[] = {
    {"", "MatMul", 1, s_prep_matmul, s_run_matmul},
    {"", "Gemm", 6, s_prep_gemm, s_run_gemm},
    {"", "Softmax", 1, NULL, s_run_softmax},
    {"", "LogSoftmax", 1, NULL, s_run_logsoftmax},
    {"", "Hardmax", 1, NULL, s_run_hardmax},
    {"", "ArgMax", 1, NULL, s_run_argmax},
    {"", "ArgMin", 1, NULL, s_run_argmin},
    {"", "ReduceSum", 1, s_prep_reduce, s_run_reduce},
    {"", "ReduceMean", 1, s_prep_reduce, s_run_reduce},
    {"", "ReduceMax", 1, s_prep_reduce, s_run_reduce},
    {"", "ReduceMin", 1, s_prep_reduce, s_run_reduce},
    {"", "ReduceProd", 1, s_prep_reduce, s_run_reduce},
    {"", "ReduceL1", 1, s_prep_reduce, s_run_reduce},
    {"", "ReduceL2", 1, s_prep_reduce, s_run_reduce},
    {"", "ReduceLogSum", 1, s_prep_reduce, s_run_reduce},
    {"", "ReduceLogSumExp", 1, s_prep_reduce, s_run_reduce},
    {"", "ReduceSumSquare", 1, s_prep_reduce, s_run_reduce},
    {"", "BatchNormalization", 6, s_prep_batchnorm, s_run_batchnorm},
    {"", "LayerNormalization", 17, NULL, s_run_layernorm},
    {"", "NegativeLogLikelihoodLoss", 12, NULL, s_run_nll},
    {"", "SoftmaxCrossEntropyLoss", 12, NULL, s_run_softmax_ce},
    {NULL, NULL, 0, NULL, NULL},
};
