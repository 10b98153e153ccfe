/* test_engine_gemm.c -- the engine's double MatMul and Gemm against the plain reference
 * loop, bit for bit: C[i,j] = ((0 + a[i,0]*b[0,j]) + a[i,1]*b[1,j]) + ... in k order,
 * then Gemm's Y = C*alpha + beta*Cin. The converter promises the PMML evaluator's results
 * exactly, so the tiled, packed, K-blocked kernel must round every output the same way.
 * Shapes cover 1x1, tile remainders on every side (M % 4, N % 16, the narrow-column path),
 * K past the kernel's K block, K = 0, batched MatMul (one B, per-batch B), B as a graph
 * input (packed per call or read in place) and as an initializer (packed once and kept),
 * and Gemm's transA / transB / alpha / beta / every C broadcast. Values span 40 binary
 * orders of magnitude, with signed zeros, infinities and NaNs, so a different summation
 * order or a fused multiply-add shows. This file is compiled with -ffp-contract=off
 * (mk/engine.mk) so that the reference loop is not contracted either. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "model/engine.h"
#include "model/tensor.h"
#include "util/mem.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a minimal one-node model (every allocation in an arena) ---------------------------- */

#define S_ARENA_MAX 256
#define S_MAX_IO 4

typedef struct {
    Onnx__ModelProto m;
    Onnx__GraphProto g;
    Onnx__OperatorSetIdProto opset;
    Onnx__OperatorSetIdProto *opset_ptr;
    Onnx__NodeProto node;
    Onnx__NodeProto *node_ptr;
    Onnx__AttributeProto attrs[4];
    Onnx__AttributeProto *attr_ptrs[4];
    Onnx__ValueInfoProto vis[S_MAX_IO];
    Onnx__ValueInfoProto *in_ptrs[S_MAX_IO], *out_ptr;
    Onnx__TensorProto inits[S_MAX_IO];
    Onnx__TensorProto *init_ptrs[S_MAX_IO];
    char *in_names[S_MAX_IO], *out_names[1];
    int64_t init_dims[S_MAX_IO][FERRY_TENSOR_MAX_DIMS];
} s_model_t;

static void s_model_init(s_model_t *md, const char *op, int n_in)
{
    memset(md, 0, sizeof(*md));
    onnx__model_proto__init(&md->m);
    onnx__graph_proto__init(&md->g);
    onnx__operator_set_id_proto__init(&md->opset);
    md->opset.domain = "";
    md->opset.has_version = 1;
    md->opset.version = 13;
    md->opset_ptr = &md->opset;
    md->m.n_opset_import = 1;
    md->m.opset_import = &md->opset_ptr;
    md->m.graph = &md->g;
    onnx__node_proto__init(&md->node);
    md->node.op_type = (char *)op;
    md->node.name = (char *)op;
    md->node.domain = "";
    static const char *names[S_MAX_IO] = {"A", "B", "C", "D"};
    for (int k = 0; k < n_in; k++)
        md->in_names[k] = (char *)names[k];
    md->out_names[0] = "Y";
    md->node.n_input = (size_t)n_in;
    md->node.input = md->in_names;
    md->node.n_output = 1;
    md->node.output = md->out_names;
    md->node.attribute = md->attr_ptrs;
    md->node_ptr = &md->node;
    md->g.n_node = 1;
    md->g.node = &md->node_ptr;
    md->g.input = md->in_ptrs;
    md->g.initializer = md->init_ptrs;
    onnx__value_info_proto__init(&md->vis[S_MAX_IO - 1]);
    md->vis[S_MAX_IO - 1].name = "Y";
    md->out_ptr = &md->vis[S_MAX_IO - 1];
    md->g.n_output = 1;
    md->g.output = &md->out_ptr;
}

/* input k is a graph input (untyped: the engine checks it at run time) */
static void s_model_input(s_model_t *md, int k)
{
    onnx__value_info_proto__init(&md->vis[k]);
    md->vis[k].name = md->in_names[k];
    md->in_ptrs[md->g.n_input++] = &md->vis[k];
}

/* input k is a double initializer holding t's values (borrowed: t must outlive the model) */
static void s_model_initializer(s_model_t *md, int k, const ferry_tensor_t *t)
{
    Onnx__TensorProto *p = &md->inits[k];
    onnx__tensor_proto__init(p);
    p->name = md->in_names[k];
    p->has_data_type = 1;
    p->data_type = FERRY_DT_DOUBLE;
    p->n_dims = (size_t)t->ndim;
    memcpy(md->init_dims[k], t->dims, sizeof(int64_t) * (size_t)t->ndim);
    p->dims = md->init_dims[k];
    p->has_raw_data = 1;
    p->raw_data.data = t->data;
    p->raw_data.len = (size_t)t->count * sizeof(double);
    md->init_ptrs[md->g.n_initializer++] = p;
}

static void s_model_attr_int(s_model_t *md, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = &md->attrs[md->node.n_attribute];
    onnx__attribute_proto__init(a);
    a->name = (char *)name;
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    a->has_i = 1;
    a->i = v;
    md->attr_ptrs[md->node.n_attribute++] = a;
}

static void s_model_attr_float(s_model_t *md, const char *name, float v)
{
    Onnx__AttributeProto *a = &md->attrs[md->node.n_attribute];
    onnx__attribute_proto__init(a);
    a->name = (char *)name;
    a->has_type = 1;
    a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
    a->has_f = 1;
    a->f = v;
    md->attr_ptrs[md->node.n_attribute++] = a;
}

/* ---- values and the reference ------------------------------------------------------------ */

static uint64_t s_rng = 0x9e3779b97f4a7c15u;

static uint64_t s_next(void)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return s_rng;
}

/* mostly finite values of mixed sign across 2^-20 .. 2^20 (so sums round, and their order
 * matters), with occasional zeros of both signs; is_special adds infinities and NaNs */
static double s_value(bool is_special)
{
    uint64_t r = s_next();
    int pick = (int)(r % 97);
    if (pick == 0)
        return 0.0;
    if (pick == 1)
        return -0.0;
    if (is_special && pick == 2)
        return INFINITY;
    if (is_special && pick == 3)
        return -INFINITY;
    if (is_special && pick == 4)
        return NAN;
    double mant = (double)(r >> 11) / 9007199254740992.0 - 0.5;
    return ldexp(mant, (int)((r >> 3) % 41) - 20);
}

static ferry_tensor_t *s_random(int ndim, const int64_t *dims, bool is_special)
{
    ferry_tensor_t *t = ferry_tensor_new();
    assert_int_equal(ferry_tensor_reshape(t, FERRY_DT_DOUBLE, ndim, dims, NULL), 0);
    for (int64_t i = 0; i < t->count; i++)
        ((double *)t->data)[i] = s_value(is_special);
    return t;
}

/* the plain loop: C = A B, each sum from 0 in k order */
static void s_ref_matmul(const double *A, int64_t lda_row, int64_t lda_k, const double *B, int64_t ldb_k,
                         int64_t ldb_col, double *C, int64_t M, int64_t K, int64_t N)
{
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double acc = 0;
            for (int64_t k = 0; k < K; k++)
                acc += A[i * lda_row + k * lda_k] * B[k * ldb_k + j * ldb_col];
            C[i * N + j] = acc;
        }
}

/* bit-for-bit equality; two NaNs are equal (a NaN's payload depends on operand order,
 * which IEEE leaves open and the answer does not depend on) */
static void s_expect_same(const double *want, const double *got, int64_t count, const char *what)
{
    for (int64_t i = 0; i < count; i++) {
        if (isnan(want[i]) && isnan(got[i]))
            continue;
        if (memcmp(&want[i], &got[i], sizeof(double)) != 0)
            fail_msg("%s: element %lld is %.17g (0x%016llx), the reference loop gives %.17g (0x%016llx)", what,
                     (long long)i, got[i], (unsigned long long)*(const uint64_t *)&got[i], want[i],
                     (unsigned long long)*(const uint64_t *)&want[i]);
    }
}

static ferry_engine_t *s_engine(s_model_t *md)
{
    ferry_err_t err;
    int code = 0;
    ferry_engine_t *e = ferry_engine_new(&md->m, &code, &err);
    if (!e)
        fail_msg("engine refused the model: %s", err.msg);
    return e;
}

static const ferry_tensor_t *s_run(ferry_engine_t *e, const ferry_tensor_t *a, const ferry_tensor_t *b,
                                   const ferry_tensor_t *c)
{
    ferry_err_t err;
    if ((a && ferry_engine_set_input(e, "A", a, &err) < 0) || (b && ferry_engine_set_input(e, "B", b, &err) < 0) ||
        (c && ferry_engine_set_input(e, "C", c, &err) < 0) || ferry_engine_run(e, &err) < 0)
        fail_msg("run failed: %s", err.msg);
    return ferry_engine_output(e, 0);
}

/* ---- MatMul ------------------------------------------------------------------------------- */

/* A [M,K] x B [K,N], B an input and then an initializer; each engine runs twice on new A
 * values (a kept packing of B must still be right; a stale one of A would show). */
static void s_check_matmul(int64_t M, int64_t K, int64_t N, bool is_special)
{
    char what[128];
    int64_t da[2] = {M, K}, db[2] = {K, N};
    ferry_tensor_t *b = s_random(2, db, is_special);
    double *want = ferry_malloc(sizeof(double) * (size_t)(M * N + 1));
    for (int is_init = 0; is_init < 2; is_init++) {
        s_model_t md;
        s_model_init(&md, "MatMul", 2);
        s_model_input(&md, 0);
        if (is_init)
            s_model_initializer(&md, 1, b);
        else
            s_model_input(&md, 1);
        ferry_engine_t *e = s_engine(&md);
        for (int round = 0; round < 2; round++) {
            ferry_tensor_t *a = s_random(2, da, is_special);
            const ferry_tensor_t *y = s_run(e, a, is_init ? NULL : b, NULL);
            assert_int_equal(y->dtype, FERRY_DT_DOUBLE);
            assert_int_equal(y->ndim, 2);
            assert_int_equal(y->dims[0], M);
            assert_int_equal(y->dims[1], N);
            s_ref_matmul(a->data, K, 1, b->data, N, 1, want, M, K, N);
            snprintf(what, sizeof(what), "MatMul %lldx%lldx%lld, B %s, run %d", (long long)M, (long long)K,
                     (long long)N, is_init ? "initializer" : "input", round + 1);
            s_expect_same(want, y->data, M * N, what);
            ferry_tensor_destroy(&a);
        }
        ferry_engine_destroy(&e);
    }
    free(want);
    ferry_tensor_destroy(&b);
}

static void test_matmul_shapes_bit_exact(void **state)
{
    (void)state;
    static const int64_t shapes[][3] = {
        {1, 1, 1},     {7, 13, 5},   {1000, 20, 64}, {1000, 64, 64}, {1000, 64, 1}, {4, 16, 16},
        {5, 3, 17},    {3, 5, 31},   {6, 7, 47},     {1, 20, 64},    {2, 64, 64},   {9, 300, 33},
        {17, 513, 16}, {33, 2, 200}, {16, 9, 15},    {3, 0, 20},     {0, 5, 20},
    };
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
        s_check_matmul(shapes[i][0], shapes[i][1], shapes[i][2], false);
    /* infinities and NaNs flow through every path the same way */
    s_check_matmul(7, 13, 5, true);
    s_check_matmul(37, 29, 50, true);
    s_check_matmul(20, 300, 18, true);
}

/* Every sum starts from +0: 0 * negative products are -0, and +0 + -0 = +0, so a kernel
 * starting its sums from -0 (or from the first product) gives -0 where the loop gives +0. */
static void test_matmul_signed_zero(void **state)
{
    (void)state;
    int64_t M = 9, K = 5, N = 35, da[2] = {M, K}, db[2] = {K, N};
    ferry_tensor_t *a = ferry_tensor_new(), *b = ferry_tensor_new();
    assert_int_equal(ferry_tensor_reshape(a, FERRY_DT_DOUBLE, 2, da, NULL), 0);
    assert_int_equal(ferry_tensor_reshape(b, FERRY_DT_DOUBLE, 2, db, NULL), 0);
    for (int64_t i = 0; i < a->count; i++)
        ((double *)a->data)[i] = 0.0;
    for (int64_t i = 0; i < b->count; i++)
        ((double *)b->data)[i] = -1.5;
    s_model_t md;
    s_model_init(&md, "MatMul", 2);
    s_model_input(&md, 0);
    s_model_input(&md, 1);
    ferry_engine_t *e = s_engine(&md);
    const ferry_tensor_t *y = s_run(e, a, b, NULL);
    double want[9 * 35];
    s_ref_matmul(a->data, K, 1, b->data, N, 1, want, M, K, N);
    assert_false(signbit(want[0])); /* the reference itself: +0 */
    s_expect_same(want, y->data, M * N, "MatMul of +0 rows and negative columns");
    ferry_engine_destroy(&e);
    ferry_tensor_destroy(&a);
    ferry_tensor_destroy(&b);
}

/* A [2,M,K] against one B [K,N] (packed once for both batches) and against B [2,K,N]
 * (a matrix per batch: packed per batch when M is large enough, else read in place) */
static void test_matmul_batched_bit_exact(void **state)
{
    (void)state;
    static const int64_t shapes[][3] = {{5, 7, 19}, {20, 7, 18}, {3, 40, 35}};
    for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
        int64_t M = shapes[s][0], K = shapes[s][1], N = shapes[s][2];
        int64_t da[3] = {2, M, K}, db2[2] = {K, N}, db3[3] = {2, K, N};
        ferry_tensor_t *a = s_random(3, da, false);
        double *want = ferry_malloc(sizeof(double) * (size_t)(2 * M * N));
        for (int per_batch = 0; per_batch < 2; per_batch++) {
            ferry_tensor_t *b = per_batch ? s_random(3, db3, false) : s_random(2, db2, false);
            for (int is_init = 0; is_init < 2; is_init++) {
                s_model_t md;
                s_model_init(&md, "MatMul", 2);
                s_model_input(&md, 0);
                if (is_init)
                    s_model_initializer(&md, 1, b);
                else
                    s_model_input(&md, 1);
                ferry_engine_t *e = s_engine(&md);
                const ferry_tensor_t *y = s_run(e, a, is_init ? NULL : b, NULL);
                assert_int_equal(y->ndim, 3);
                for (int bi = 0; bi < 2; bi++)
                    s_ref_matmul((const double *)a->data + bi * M * K, K, 1,
                                 (const double *)b->data + (per_batch ? bi * K * N : 0), N, 1, want + bi * M * N, M,
                                 K, N);
                char what[128];
                snprintf(what, sizeof(what), "batched MatMul 2x%lldx%lldx%lld, %s B, %s", (long long)M,
                         (long long)K, (long long)N, per_batch ? "per-batch" : "shared",
                         is_init ? "initializer" : "input");
                s_expect_same(want, y->data, 2 * M * N, what);
                ferry_engine_destroy(&e);
            }
            ferry_tensor_destroy(&b);
        }
        free(want);
        ferry_tensor_destroy(&a);
    }
}

/* ---- Gemm --------------------------------------------------------------------------------- */

typedef struct {
    int64_t M, K, N;
    int trans_a, trans_b;
    float alpha, beta;  /* alpha 0: attributes left at their defaults (1, 1) */
    int c_kind;         /* 0 none, 1 [N], 2 [1,N], 3 [M,1], 4 [M,N], 5 scalar */
    bool is_b_init;
} s_gemm_case_t;

static void s_check_gemm(const s_gemm_case_t *gc)
{
    int64_t M = gc->M, K = gc->K, N = gc->N;
    int64_t da[2] = {gc->trans_a ? K : M, gc->trans_a ? M : K}, db[2] = {gc->trans_b ? N : K, gc->trans_b ? K : N};
    ferry_tensor_t *a = s_random(2, da, false), *b = s_random(2, db, false), *c = NULL;
    int64_t cdims[2] = {1, 1}, cst[2] = {0, 0};
    int cnd = 0;
    switch (gc->c_kind) {
    case 1: cnd = 1, cdims[0] = N, cst[1] = 1; break;
    case 2: cnd = 2, cdims[0] = 1, cdims[1] = N, cst[1] = 1; break;
    case 3: cnd = 2, cdims[0] = M, cdims[1] = 1, cst[0] = 1; break;
    case 4: cnd = 2, cdims[0] = M, cdims[1] = N, cst[0] = N, cst[1] = 1; break;
    case 5: cnd = 0; break;
    default: break;
    }
    if (gc->c_kind)
        c = s_random(cnd, cdims, false);
    s_model_t md;
    s_model_init(&md, "Gemm", gc->c_kind ? 3 : 2);
    s_model_input(&md, 0);
    if (gc->is_b_init)
        s_model_initializer(&md, 1, b);
    else
        s_model_input(&md, 1);
    if (gc->c_kind)
        s_model_input(&md, 2);
    if (gc->trans_a)
        s_model_attr_int(&md, "transA", 1);
    if (gc->trans_b)
        s_model_attr_int(&md, "transB", 1);
    if (gc->alpha != 0) {
        s_model_attr_float(&md, "alpha", gc->alpha);
        s_model_attr_float(&md, "beta", gc->beta);
    }
    double alpha = gc->alpha != 0 ? gc->alpha : 1.0, beta = gc->alpha != 0 ? gc->beta : 1.0;
    ferry_engine_t *e = s_engine(&md);
    double *want = ferry_malloc(sizeof(double) * (size_t)(M * N + 1));
    for (int round = 0; round < 2; round++) {
        const ferry_tensor_t *y = s_run(e, a, gc->is_b_init ? NULL : b, c);
        assert_int_equal(y->dims[0], M);
        assert_int_equal(y->dims[1], N);
        /* A' [M,K]: transA reads A [K,M] column-wise; B' [K,N] likewise */
        s_ref_matmul(a->data, gc->trans_a ? 1 : K, gc->trans_a ? M : 1, b->data, gc->trans_b ? 1 : N,
                     gc->trans_b ? K : 1, want, M, K, N);
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double v = want[i * N + j] * alpha;
                if (c)
                    v += beta * ((const double *)c->data)[i * cst[0] + j * cst[1]];
                want[i * N + j] = v;
            }
        char what[160];
        snprintf(what, sizeof(what), "Gemm %lldx%lldx%lld transA=%d transB=%d alpha=%g beta=%g C kind %d, B %s, run %d",
                 (long long)M, (long long)K, (long long)N, gc->trans_a, gc->trans_b, alpha, beta, gc->c_kind,
                 gc->is_b_init ? "initializer" : "input", round + 1);
        s_expect_same(want, y->data, M * N, what);
        ferry_tensor_t *a2 = s_random(2, da, false); /* new A values for the second run */
        ferry_tensor_destroy(&a);
        a = a2;
    }
    free(want);
    ferry_engine_destroy(&e);
    ferry_tensor_destroy(&a);
    ferry_tensor_destroy(&b);
    ferry_tensor_destroy(&c);
}

static void test_gemm_variants_bit_exact(void **state)
{
    (void)state;
    static const int64_t shapes[][3] = {{1, 1, 1}, {7, 13, 5}, {1000, 20, 64}, {33, 300, 21}, {6, 17, 40}};
    static const float ab[][2] = {{0, 0}, {0.5f, 1.25f}, {-3.0f, 0.0f}};
    for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++)
        for (int t = 0; t < 4; t++)
            for (size_t p = 0; p < sizeof(ab) / sizeof(ab[0]); p++)
                for (int ck = 0; ck <= 5; ck++) {
                    /* the big shape once per transpose pattern, not 72 times */
                    if (shapes[s][0] == 1000 && (p != 1 || ck != 2))
                        continue;
                    s_gemm_case_t gc = {shapes[s][0], shapes[s][1], shapes[s][2], t & 1, t >> 1, ab[p][0], ab[p][1],
                                        ck, (ck + t) % 2 == 0};
                    s_check_gemm(&gc);
                }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matmul_shapes_bit_exact),
        cmocka_unit_test(test_matmul_signed_zero),
        cmocka_unit_test(test_matmul_batched_bit_exact),
        cmocka_unit_test(test_gemm_variants_bit_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
