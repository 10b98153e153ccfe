/* test_engine.c -- unit tests of ferry's engine and tensors: API contracts, buffer reuse,
 * opset-dependent semantics, and every refusal path a hostile or unsupported model takes
 * (errors name the node, operator and shapes; nothing crashes or loops). Numeric
 * correctness is proven elsewhere against oracles (test_engine_conformance: the ONNX
 * backend node tests; tests/oracle/test_engine_ort.py: ONNX Runtime and scikit-learn);
 * the expected values here are worked out by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "model/engine.h"
#include "model/tensor.h"
#include "util/mem.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- a tiny ModelProto builder (test-only; every allocation tracked in an arena) -------- */

#define S_ARENA_MAX 4096
#define S_CAP 32

typedef struct {
    Onnx__ModelProto m;
    Onnx__GraphProto g;
    Onnx__OperatorSetIdProto opsets[2];
    Onnx__OperatorSetIdProto *opset_ptrs[2];
    void *allocs[S_ARENA_MAX];
    int n_allocs;
} s_mb_t;

static void *s_alloc(s_mb_t *mb, size_t size)
{
    assert_true(mb->n_allocs < S_ARENA_MAX);
    void *p = ferry_calloc(1, size);
    mb->allocs[mb->n_allocs++] = p;
    return p;
}

static char *s_str(s_mb_t *mb, const char *s)
{
    char *p = s_alloc(mb, strlen(s) + 1);
    memcpy(p, s, strlen(s));
    return p;
}

static s_mb_t *s_model(int core_opset, int ml_opset)
{
    s_mb_t *mb = ferry_calloc(1, sizeof(*mb));
    onnx__model_proto__init(&mb->m);
    onnx__graph_proto__init(&mb->g);
    mb->m.graph = &mb->g;
    for (int i = 0; i < 2; i++) {
        onnx__operator_set_id_proto__init(&mb->opsets[i]);
        mb->opsets[i].has_version = 1;
        mb->opset_ptrs[i] = &mb->opsets[i];
    }
    mb->opsets[0].domain = "";
    mb->opsets[0].version = core_opset;
    mb->opsets[1].domain = "ai.onnx.ml";
    mb->opsets[1].version = ml_opset;
    mb->m.n_opset_import = 2;
    mb->m.opset_import = mb->opset_ptrs;
    mb->g.node = s_alloc(mb, sizeof(Onnx__NodeProto *) * S_CAP);
    mb->g.input = s_alloc(mb, sizeof(Onnx__ValueInfoProto *) * S_CAP);
    mb->g.output = s_alloc(mb, sizeof(Onnx__ValueInfoProto *) * S_CAP);
    mb->g.initializer = s_alloc(mb, sizeof(Onnx__TensorProto *) * S_CAP);
    return mb;
}

static void s_model_free(s_mb_t **mb_p)
{
    s_mb_t *mb = *mb_p;
    for (int i = 0; i < mb->n_allocs; i++)
        free(mb->allocs[i]);
    free(mb);
    *mb_p = NULL;
}

static Onnx__ValueInfoProto *s_vi(s_mb_t *mb, const char *name, int32_t dtype, int ndim, const int64_t *dims)
{
    Onnx__ValueInfoProto *vi = s_alloc(mb, sizeof(*vi));
    onnx__value_info_proto__init(vi);
    vi->name = s_str(mb, name);
    if (dtype) {
        Onnx__TypeProto *tp = s_alloc(mb, sizeof(*tp));
        onnx__type_proto__init(tp);
        Onnx__TypeProto__Tensor *tt = s_alloc(mb, sizeof(*tt));
        onnx__type_proto__tensor__init(tt);
        tt->has_elem_type = 1;
        tt->elem_type = dtype;
        tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
        tp->tensor_type = tt;
        if (ndim >= 0) {
            Onnx__TensorShapeProto *sh = s_alloc(mb, sizeof(*sh));
            onnx__tensor_shape_proto__init(sh);
            sh->n_dim = (size_t)ndim;
            sh->dim = s_alloc(mb, sizeof(void *) * (size_t)(ndim + 1));
            for (int i = 0; i < ndim; i++) {
                Onnx__TensorShapeProto__Dimension *d = s_alloc(mb, sizeof(*d));
                onnx__tensor_shape_proto__dimension__init(d);
                if (dims[i] >= 0) {
                    d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
                    d->dim_value = dims[i];
                }
                sh->dim[i] = d;
            }
            tt->shape = sh;
        }
        vi->type = tp;
    }
    return vi;
}

static void s_input(s_mb_t *mb, const char *name, int32_t dtype)
{
    mb->g.input[mb->g.n_input++] = s_vi(mb, name, dtype, -1, NULL);
}

static void s_output(s_mb_t *mb, const char *name)
{
    mb->g.output[mb->g.n_output++] = s_vi(mb, name, 0, -1, NULL);
}

/* names: comma-separated, "" entries allowed (",x" = empty then x) */
static void s_names(s_mb_t *mb, const char *list, char ***out, size_t *count)
{
    *out = s_alloc(mb, sizeof(char *) * S_CAP);
    *count = 0;
    if (!*list)
        return;
    const char *p = list;
    for (;;) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        char *s = s_alloc(mb, len + 1);
        memcpy(s, p, len);
        (*out)[(*count)++] = s;
        if (!c)
            break;
        p = c + 1;
    }
}

static Onnx__NodeProto *s_node(s_mb_t *mb, const char *op, const char *domain, const char *ins, const char *outs)
{
    Onnx__NodeProto *n = s_alloc(mb, sizeof(*n));
    onnx__node_proto__init(n);
    n->op_type = s_str(mb, op);
    n->domain = s_str(mb, domain);
    n->name = s_str(mb, op);
    s_names(mb, ins, &n->input, &n->n_input);
    s_names(mb, outs, &n->output, &n->n_output);
    n->attribute = s_alloc(mb, sizeof(Onnx__AttributeProto *) * S_CAP);
    mb->g.node[mb->g.n_node++] = n;
    return n;
}

static Onnx__AttributeProto *s_attr(s_mb_t *mb, Onnx__NodeProto *n, const char *name, int type)
{
    Onnx__AttributeProto *a = s_alloc(mb, sizeof(*a));
    onnx__attribute_proto__init(a);
    a->name = s_str(mb, name);
    a->has_type = 1;
    a->type = (Onnx__AttributeProto__AttributeType)type;
    n->attribute[n->n_attribute++] = a;
    return a;
}

static void s_attr_int(s_mb_t *mb, Onnx__NodeProto *n, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = s_attr(mb, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    a->has_i = 1;
    a->i = v;
}

static void s_attr_ints(s_mb_t *mb, Onnx__NodeProto *n, const char *name, size_t count, const int64_t *v)
{
    Onnx__AttributeProto *a = s_attr(mb, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    a->n_ints = count;
    a->ints = s_alloc(mb, sizeof(int64_t) * (count + 1));
    memcpy(a->ints, v, sizeof(int64_t) * count);
}

static void s_attr_floats(s_mb_t *mb, Onnx__NodeProto *n, const char *name, size_t count, const float *v)
{
    Onnx__AttributeProto *a = s_attr(mb, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS);
    a->n_floats = count;
    a->floats = s_alloc(mb, sizeof(float) * (count + 1));
    memcpy(a->floats, v, sizeof(float) * count);
}

static void s_attr_strings(s_mb_t *mb, Onnx__NodeProto *n, const char *name, size_t count, const char *const *v)
{
    Onnx__AttributeProto *a = s_attr(mb, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS);
    a->n_strings = count;
    a->strings = s_alloc(mb, sizeof(ProtobufCBinaryData) * (count + 1));
    for (size_t i = 0; i < count; i++) {
        a->strings[i].data = (uint8_t *)s_str(mb, v[i]);
        a->strings[i].len = strlen(v[i]);
    }
}

static void s_attr_string(s_mb_t *mb, Onnx__NodeProto *n, const char *name, const char *v)
{
    Onnx__AttributeProto *a = s_attr(mb, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    a->has_s = 1;
    a->s.data = (uint8_t *)s_str(mb, v);
    a->s.len = strlen(v);
}

static ferry_tensor_t *s_f32(int ndim, const int64_t *dims, const float *v)
{
    ferry_tensor_t *t = ferry_tensor_new();
    assert_int_equal(ferry_tensor_reshape(t, FERRY_DT_FLOAT, ndim, dims, NULL), 0);
    memcpy(t->data, v, sizeof(float) * (size_t)t->count);
    return t;
}

static ferry_engine_t *s_engine(s_mb_t *mb, int want_code, ferry_err_t *err)
{
    int code = 99;
    ferry_engine_t *e = ferry_engine_new(&mb->m, &code, err);
    if (want_code == 0) {
        if (!e)
            fail_msg("engine refused the model: %s", err->msg);
    } else if (e) {
        fail_msg("engine accepted a model it should refuse with %d", want_code);
        assert_int_equal(code, 0);
    } else {
        assert_int_equal(code, want_code);
    }
    return e;
}

/* ---- tensors ----------------------------------------------------------------------------- */

static void test_tensor_reshape_reuses_buffer(void **state)
{
    (void)state;
    ferry_tensor_t *t = ferry_tensor_new();
    int64_t big[2] = {100, 10}, small[1] = {7};
    assert_int_equal(ferry_tensor_reshape(t, FERRY_DT_FLOAT, 2, big, NULL), 0);
    void *p = t->data;
    assert_int_equal(t->count, 1000);
    assert_int_equal(ferry_tensor_reshape(t, FERRY_DT_INT64, 1, small, NULL), 0);
    assert_ptr_equal(t->data, p); /* smaller: same buffer */
    assert_int_equal(t->count, 7);
    ferry_err_t err;
    int64_t neg[1] = {-3}, huge[3] = {1 << 20, 1 << 20, 1 << 20};
    assert_int_equal(ferry_tensor_reshape(t, FERRY_DT_FLOAT, 1, neg, &err), -1);
    assert_non_null(strstr(err.msg, "negative"));
    assert_int_equal(ferry_tensor_reshape(t, FERRY_DT_FLOAT, 3, huge, &err), -1);
    assert_int_equal(ferry_tensor_reshape(t, FERRY_DT_BFLOAT16, 1, small, &err), -1);
    ferry_tensor_destroy(&t);
    assert_null(t);
    ferry_tensor_destroy(&t); /* twice is safe */
}

static void test_tensor_half_conversions(void **state)
{
    (void)state;
    const float vals[] = {0.0f, 1.0f, -2.5f, 65504.0f, 6.103515625e-05f, 5.960464477539063e-08f, 0.1f};
    const uint16_t bits[] = {0x0000, 0x3c00, 0xc100, 0x7bff, 0x0400, 0x0001, 0x2e66};
    for (size_t i = 0; i < FERRY_ARRAY_LEN(vals); i++) {
        assert_int_equal(ferry_float_to_half(vals[i]), bits[i]);
        if (i != 6)
            assert_true(ferry_half_to_float(bits[i]) == vals[i]);
    }
    assert_int_equal(ferry_float_to_half(1e6f), 0x7c00);       /* overflow -> inf */
    assert_true(isnan(ferry_half_to_float(0x7e00)));
    assert_int_equal(ferry_float_to_half(1.00048828125f), 0x3c00); /* half-way: to even (down) */
    assert_int_equal(ferry_float_to_half(1.00146484375f), 0x3c02); /* half-way: to even (up) */
}

static void test_tensor_proto_roundtrip_and_hostile(void **state)
{
    (void)state;
    ferry_tensor_t *t = ferry_tensor_new(), *u = ferry_tensor_new();
    int64_t d[1] = {3};
    assert_int_equal(ferry_tensor_reshape(t, FERRY_DT_STRING, 1, d, NULL), 0);
    ferry_tensor_set_string(t, 0, "a", 1);
    ferry_tensor_set_string(t, 1, "", 0);
    ferry_tensor_set_string(t, 2, "xyz", 3);
    uint8_t *pb;
    size_t len;
    assert_int_equal(ferry_tensor_to_pb_bytes(t, "s", &pb, &len, NULL), 0);
    assert_int_equal(ferry_tensor_from_pb_bytes(u, pb, len, "s", NULL), 0);
    free(pb);
    assert_int_equal(u->dtype, FERRY_DT_STRING);
    assert_string_equal(((char **)u->data)[2], "xyz");
    /* raw_data whose size does not match the shape */
    Onnx__TensorProto p = ONNX__TENSOR_PROTO__INIT;
    int64_t dims[2] = {2, 3};
    float raw[5] = {0};
    p.n_dims = 2;
    p.dims = dims;
    p.has_data_type = 1;
    p.data_type = FERRY_DT_FLOAT;
    p.has_raw_data = 1;
    p.raw_data.data = (uint8_t *)raw;
    p.raw_data.len = sizeof(raw);
    ferry_err_t err;
    assert_int_equal(ferry_tensor_from_proto(u, &p, "x", &err), -1);
    assert_non_null(strstr(err.msg, "raw_data has 20 bytes"));
    /* garbage bytes */
    const uint8_t junk[] = {0xff, 0xff, 0xff, 0x07, 0x01};
    assert_int_equal(ferry_tensor_from_pb_bytes(u, junk, sizeof(junk), "junk", &err), -1);
    /* external data is refused */
    Onnx__StringStringEntryProto ext = ONNX__STRING_STRING_ENTRY_PROTO__INIT, *extp = &ext;
    p.has_raw_data = 0;
    p.n_external_data = 1;
    p.external_data = &extp;
    assert_int_equal(ferry_tensor_from_proto(u, &p, "x", &err), -1);
    assert_non_null(strstr(err.msg, "external data"));
    ferry_tensor_destroy(&t);
    ferry_tensor_destroy(&u);
}

/* ---- engine ------------------------------------------------------------------------------- */

static void test_engine_add_broadcast_and_reuse(void **state)
{
    (void)state;
    s_mb_t *mb = s_model(13, 3);
    s_input(mb, "a", FERRY_DT_FLOAT);
    s_input(mb, "b", FERRY_DT_FLOAT);
    s_node(mb, "Add", "", "a,b", "c");
    s_node(mb, "Relu", "", "c", "y");
    s_output(mb, "y");
    ferry_err_t err;
    ferry_engine_t *e = s_engine(mb, 0, &err);
    assert_int_equal(ferry_engine_input_count(e), 2);
    assert_string_equal(ferry_engine_output_name(e, 0), "y");
    int64_t da[2] = {2, 3}, db[1] = {3};
    ferry_tensor_t *a = s_f32(2, da, (const float[]){1, -2, 3, -4, 5, -6});
    ferry_tensor_t *b = s_f32(1, db, (const float[]){10, 1, -10});
    assert_int_equal(ferry_engine_run(e, &err), -1); /* inputs not given yet */
    assert_non_null(strstr(err.msg, "was not given"));
    assert_int_equal(ferry_engine_set_input(e, "a", a, &err), 0);
    assert_int_equal(ferry_engine_set_input(e, "b", b, &err), 0);
    assert_int_equal(ferry_engine_run(e, &err), 0);
    const ferry_tensor_t *y = ferry_engine_output(e, 0);
    const float want[] = {11, 0, 0, 6, 6, 0};
    assert_int_equal(y->ndim, 2);
    for (int i = 0; i < 6; i++)
        assert_float_equal(((float *)y->data)[i], want[i], 0);
    void *p = y->data;
    assert_int_equal(ferry_engine_run(e, &err), 0);
    assert_ptr_equal(ferry_engine_output(e, 0)->data, p); /* steady state: no reallocation */
    /* incompatible shapes: the error names the node, the operator and both shapes */
    int64_t dbad[1] = {4};
    ferry_tensor_t *bad = s_f32(1, dbad, (const float[]){1, 2, 3, 4});
    assert_int_equal(ferry_engine_set_input(e, "b", bad, &err), 0);
    assert_int_equal(ferry_engine_run(e, &err), FERRY_ENGINE_EINVALID);
    assert_non_null(strstr(err.msg, "node 'Add' (Add)"));
    assert_non_null(strstr(err.msg, "[2,3] and [4]"));
    /* wrong element type */
    ferry_tensor_t *i64 = ferry_tensor_new();
    assert_int_equal(ferry_tensor_reshape(i64, FERRY_DT_INT64, 1, db, NULL), 0);
    memset(i64->data, 0, 24);
    assert_int_equal(ferry_engine_set_input(e, "b", i64, &err), -1); /* declared float */
    assert_non_null(strstr(err.msg, "declares element type float, got int64"));
    assert_int_equal(ferry_engine_set_input(e, "nope", a, &err), -1);
    ferry_tensor_destroy(&a);
    ferry_tensor_destroy(&b);
    ferry_tensor_destroy(&bad);
    ferry_tensor_destroy(&i64);
    ferry_engine_destroy(&e);
    assert_null(e);
    ferry_engine_destroy(&e);
    s_model_free(&mb);
}

static void test_engine_declared_input_checks(void **state)
{
    (void)state;
    s_mb_t *mb = s_model(13, 3);
    int64_t dims[2] = {-1, 4};
    mb->g.input[mb->g.n_input++] = s_vi(mb, "x", FERRY_DT_FLOAT, 2, dims);
    s_node(mb, "Identity", "", "x", "y");
    s_output(mb, "y");
    ferry_err_t err;
    ferry_engine_t *e = s_engine(mb, 0, &err);
    int64_t ok[2] = {5, 4}, wrong[2] = {5, 3};
    float zeros[20] = {0};
    ferry_tensor_t *a = s_f32(2, ok, zeros), *b = s_f32(2, wrong, zeros);
    assert_int_equal(ferry_engine_set_input(e, "x", a, &err), 0);
    assert_int_equal(ferry_engine_set_input(e, "x", b, &err), -1);
    assert_non_null(strstr(err.msg, "dimension 1 = 4"));
    ferry_tensor_destroy(&a);
    ferry_tensor_destroy(&b);
    ferry_engine_destroy(&e);
    s_model_free(&mb);
}

static void test_engine_refuses_malformed_and_unsupported(void **state)
{
    (void)state;
    ferry_err_t err;
    /* unknown operator: EUNSUPPORTED naming operator and domain */
    s_mb_t *mb = s_model(13, 3);
    s_input(mb, "x", FERRY_DT_FLOAT);
    s_node(mb, "FancyOp", "com.example", "x", "y");
    s_output(mb, "y");
    s_engine(mb, FERRY_ENGINE_EUNSUPPORTED, &err);
    assert_non_null(strstr(err.msg, "operator FancyOp of domain 'com.example'"));
    s_model_free(&mb);
    /* an input nobody produces (or nodes out of topological order) */
    mb = s_model(13, 3);
    s_input(mb, "x", FERRY_DT_FLOAT);
    s_node(mb, "Relu", "", "later", "y");
    s_node(mb, "Relu", "", "x", "later");
    s_output(mb, "y");
    s_engine(mb, FERRY_ENGINE_EINVALID, &err);
    assert_non_null(strstr(err.msg, "'later' is not produced"));
    s_model_free(&mb);
    /* a value assigned twice */
    mb = s_model(13, 3);
    s_input(mb, "x", FERRY_DT_FLOAT);
    s_node(mb, "Relu", "", "x", "y");
    s_node(mb, "Neg", "", "x", "y");
    s_output(mb, "y");
    s_engine(mb, FERRY_ENGINE_EINVALID, &err);
    assert_non_null(strstr(err.msg, "already defined"));
    s_model_free(&mb);
    /* graph output nobody produces */
    mb = s_model(13, 3);
    s_input(mb, "x", FERRY_DT_FLOAT);
    s_output(mb, "ghost");
    s_engine(mb, FERRY_ENGINE_EINVALID, &err);
    s_model_free(&mb);
    /* an attribute of the wrong type */
    mb = s_model(13, 3);
    s_input(mb, "x", FERRY_DT_FLOAT);
    Onnx__NodeProto *n = s_node(mb, "LeakyRelu", "", "x", "y");
    s_attr_int(mb, n, "alpha", 2);
    s_output(mb, "y");
    s_engine(mb, FERRY_ENGINE_EINVALID, &err);
    assert_non_null(strstr(err.msg, "attribute 'alpha' has the wrong type"));
    s_model_free(&mb);
    /* an opset older than the implemented semantics */
    mb = s_model(6, 3);
    s_input(mb, "x", FERRY_DT_FLOAT);
    s_node(mb, "GatherElements", "", "x,x", "y");
    s_output(mb, "y");
    s_engine(mb, FERRY_ENGINE_EUNSUPPORTED, &err);
    assert_non_null(strstr(err.msg, "supported from opset 11"));
    s_model_free(&mb);
    /* a node without outputs (found by the fuzzer) */
    mb = s_model(13, 3);
    s_input(mb, "x", FERRY_DT_FLOAT);
    s_node(mb, "Add", "", "x,x", "");
    s_output(mb, "x");
    s_engine(mb, FERRY_ENGINE_EINVALID, &err);
    assert_non_null(strstr(err.msg, "has no outputs"));
    s_model_free(&mb);
    /* a node declaring more outputs than its operator has: refused at run, never read */
    mb = s_model(13, 3);
    s_input(mb, "x", FERRY_DT_FLOAT);
    s_node(mb, "Relu", "", "x", "a,b");
    s_node(mb, "Neg", "", "b", "y");
    s_output(mb, "y");
    ferry_engine_t *e = s_engine(mb, 0, &err);
    int64_t d1[1] = {2};
    ferry_tensor_t *x = s_f32(1, d1, (const float[]){1, -1});
    assert_int_equal(ferry_engine_set_input(e, "x", x, &err), 0);
    assert_int_equal(ferry_engine_run(e, &err), FERRY_ENGINE_EINVALID);
    assert_non_null(strstr(err.msg, "output 1 ('b') was not produced"));
    ferry_tensor_destroy(&x);
    ferry_engine_destroy(&e);
    s_model_free(&mb);
    /* no graph at all */
    Onnx__ModelProto empty = ONNX__MODEL_PROTO__INIT;
    int code;
    assert_null(ferry_engine_new(&empty, &code, &err));
    assert_int_equal(code, FERRY_ENGINE_EINVALID);
}

static void test_engine_opset_semantics(void **state)
{
    (void)state;
    /* Softmax on [1,2,2]: opset 11 flattens from axis 1 (4-way softmax), 13 is per last axis */
    int64_t d[3] = {1, 2, 2};
    ferry_tensor_t *x = s_f32(3, d, (const float[]){0, 0, 0, 0});
    for (int opset = 11; opset <= 13; opset += 2) {
        s_mb_t *mb = s_model(opset, 3);
        s_input(mb, "x", FERRY_DT_FLOAT);
        s_node(mb, "Softmax", "", "x", "y");
        s_output(mb, "y");
        ferry_err_t err;
        ferry_engine_t *e = s_engine(mb, 0, &err);
        assert_int_equal(ferry_engine_set_input(e, "x", x, &err), 0);
        assert_int_equal(ferry_engine_run(e, &err), 0);
        float got = ((float *)ferry_engine_output(e, 0)->data)[0];
        assert_float_equal(got, opset == 11 ? 0.25f : 0.5f, 1e-7);
        ferry_engine_destroy(&e);
        s_model_free(&mb);
    }
    /* Unsqueeze: axes attribute at opset 11, axes input at 13 */
    for (int opset = 11; opset <= 13; opset += 2) {
        s_mb_t *mb = s_model(opset, 3);
        s_input(mb, "x", FERRY_DT_FLOAT);
        Onnx__NodeProto *n;
        if (opset == 11) {
            n = s_node(mb, "Unsqueeze", "", "x", "y");
            s_attr_ints(mb, n, "axes", 1, (const int64_t[]){0});
        } else {
            n = s_node(mb, "Constant", "", "", "axes");
            s_attr_ints(mb, n, "value_ints", 1, (const int64_t[]){0});
            s_node(mb, "Unsqueeze", "", "x,axes", "y");
        }
        s_output(mb, "y");
        ferry_err_t err;
        ferry_engine_t *e = s_engine(mb, 0, &err);
        assert_int_equal(ferry_engine_set_input(e, "x", x, &err), 0);
        assert_int_equal(ferry_engine_run(e, &err), 0);
        const ferry_tensor_t *y = ferry_engine_output(e, 0);
        assert_int_equal(y->ndim, 4);
        assert_int_equal(y->dims[0], 1);
        ferry_engine_destroy(&e);
        s_model_free(&mb);
    }
    ferry_tensor_destroy(&x);
}

/* Slice of x = [0, 1, ..., 9] (opset 13, starts/ends/axes/steps as Constant inputs); returns the
 * number of elements and fills out. */
static int64_t s_slice_1d(int64_t start, int64_t end, int64_t step, float *out)
{
    float xs[10];
    for (int i = 0; i < 10; i++)
        xs[i] = (float)i;
    int64_t d = 10;
    ferry_tensor_t *x = s_f32(1, &d, xs);
    s_mb_t *mb = s_model(13, 3);
    s_input(mb, "x", FERRY_DT_FLOAT);
    const char *names[4] = {"starts", "ends", "axes", "steps"};
    int64_t vals[4] = {start, end, 0, step};
    for (int i = 0; i < 4; i++) {
        Onnx__NodeProto *n = s_node(mb, "Constant", "", "", names[i]);
        s_attr_ints(mb, n, "value_ints", 1, &vals[i]);
    }
    s_node(mb, "Slice", "", "x,starts,ends,axes,steps", "y");
    s_output(mb, "y");
    ferry_err_t err;
    ferry_engine_t *e = s_engine(mb, 0, &err);
    assert_int_equal(ferry_engine_set_input(e, "x", x, &err), 0);
    assert_int_equal(ferry_engine_run(e, &err), 0);
    const ferry_tensor_t *y = ferry_engine_output(e, 0);
    assert_int_equal(y->ndim, 1);
    int64_t n = y->dims[0];
    memcpy(out, y->data, (size_t)n * sizeof(float));
    ferry_engine_destroy(&e);
    s_model_free(&mb);
    ferry_tensor_destroy(&x);
    return n;
}

static void test_engine_slice_steps(void **state)
{
    (void)state;
    /* expected: Python's x[start:end:step] on range(10), the semantics the ONNX spec gives Slice */
    static const struct {
        int64_t start, end, step, n;
        float want[10];
    } cases[] = {
        {0, 10, 3, 4, {0, 3, 6, 9}},
        {8, 1, -3, 3, {8, 5, 2}},
        {9, -100, -4, 3, {9, 5, 1}},
        {-3, INT64_MAX, 1, 3, {7, 8, 9}},
        {2, 100, INT64_MAX, 1, {2}},              /* a step no int64 arithmetic may scale */
        {-1, INT64_MIN, INT64_MIN, 1, {9}},       /* -step overflows int64 */
        {INT64_MIN, INT64_MAX, INT64_MAX - 1, 1, {0}},
        {5, 5, 1, 0, {0}},
        {3, 7, -1, 0, {0}},
    };
    for (size_t i = 0; i < FERRY_ARRAY_LEN(cases); i++) {
        float got[10];
        int64_t n = s_slice_1d(cases[i].start, cases[i].end, cases[i].step, got);
        if (n != cases[i].n)
            fail_msg("case %zu: %lld elements, expected %lld", i, (long long)n, (long long)cases[i].n);
        for (int64_t k = 0; k < n; k++)
            assert_float_equal(got[k], cases[i].want[k], 0);
    }
}

/* a TreeEnsembleRegressor with the given child ids (tree 0, nodes 0..2) */
static s_mb_t *s_tree_model(const int64_t *trueids, const int64_t *falseids, const char *const *modes)
{
    s_mb_t *mb = s_model(13, 3);
    s_input(mb, "X", FERRY_DT_FLOAT);
    Onnx__NodeProto *n = s_node(mb, "TreeEnsembleRegressor", "ai.onnx.ml", "X", "Y");
    s_attr_ints(mb, n, "nodes_treeids", 3, (const int64_t[]){0, 0, 0});
    s_attr_ints(mb, n, "nodes_nodeids", 3, (const int64_t[]){0, 1, 2});
    s_attr_ints(mb, n, "nodes_featureids", 3, (const int64_t[]){1, 0, 0});
    s_attr_strings(mb, n, "nodes_modes", 3, modes);
    s_attr_floats(mb, n, "nodes_values", 3, (const float[]){0.5f, 0, 0});
    s_attr_ints(mb, n, "nodes_truenodeids", 3, trueids);
    s_attr_ints(mb, n, "nodes_falsenodeids", 3, falseids);
    s_attr_ints(mb, n, "target_treeids", 2, (const int64_t[]){0, 0});
    s_attr_ints(mb, n, "target_nodeids", 2, (const int64_t[]){1, 2});
    s_attr_ints(mb, n, "target_ids", 2, (const int64_t[]){0, 0});
    s_attr_floats(mb, n, "target_weights", 2, (const float[]){-1.0f, 1.0f});
    s_output(mb, "Y");
    return mb;
}

static void test_engine_tree_ensemble_and_hostile_trees(void **state)
{
    (void)state;
    const char *modes[] = {"BRANCH_LEQ", "LEAF", "LEAF"};
    s_mb_t *mb = s_tree_model((const int64_t[]){1, 0, 0}, (const int64_t[]){2, 0, 0}, modes);
    ferry_err_t err;
    ferry_engine_t *e = s_engine(mb, 0, &err);
    int64_t d[2] = {3, 2};
    ferry_tensor_t *x = s_f32(2, d, (const float[]){9, 0.5f, 9, 0.75f, 9, NAN});
    assert_int_equal(ferry_engine_set_input(e, "X", x, &err), 0);
    assert_int_equal(ferry_engine_run(e, &err), 0);
    const float *y = ferry_engine_output(e, 0)->data;
    assert_float_equal(y[0], -1.0f, 0); /* exactly on the threshold: x <= t is true */
    assert_float_equal(y[1], 1.0f, 0);
    assert_float_equal(y[2], 1.0f, 0); /* NaN compares false: false branch */
    /* too few columns for feature 1 */
    int64_t d1[2] = {1, 1};
    ferry_tensor_t *narrow = s_f32(2, d1, (const float[]){1});
    assert_int_equal(ferry_engine_set_input(e, "X", narrow, &err), 0);
    assert_int_equal(ferry_engine_run(e, &err), FERRY_ENGINE_EINVALID);
    assert_non_null(strstr(err.msg, "feature 1"));
    ferry_engine_destroy(&e);
    s_model_free(&mb);
    /* a cycle: node 0's true child is node 0 -> refused at load, never evaluated */
    const char *modes2[] = {"BRANCH_LEQ", "LEAF", "LEAF"};
    mb = s_tree_model((const int64_t[]){0, 0, 0}, (const int64_t[]){2, 0, 0}, modes2);
    s_engine(mb, FERRY_ENGINE_EINVALID, &err);
    s_model_free(&mb);
    /* a child id that does not exist */
    mb = s_tree_model((const int64_t[]){7, 0, 0}, (const int64_t[]){2, 0, 0}, modes);
    s_engine(mb, FERRY_ENGINE_EINVALID, &err);
    assert_non_null(strstr(err.msg, "does not exist"));
    s_model_free(&mb);
    /* an unknown mode */
    const char *modes3[] = {"BRANCH_WHATEVER", "LEAF", "LEAF"};
    mb = s_tree_model((const int64_t[]){1, 0, 0}, (const int64_t[]){2, 0, 0}, modes3);
    s_engine(mb, FERRY_ENGINE_EINVALID, &err);
    s_model_free(&mb);
    ferry_tensor_destroy(&x);
    ferry_tensor_destroy(&narrow);
}

static void test_engine_label_encoder_and_zipmap(void **state)
{
    (void)state;
    s_mb_t *mb = s_model(13, 2);
    s_input(mb, "s", FERRY_DT_STRING);
    s_input(mb, "p", FERRY_DT_FLOAT);
    Onnx__NodeProto *n = s_node(mb, "LabelEncoder", "ai.onnx.ml", "s", "i");
    s_attr_strings(mb, n, "keys_strings", 2, (const char *const[]){"b", "a"});
    n->attribute[n->n_attribute] = NULL;
    s_attr_ints(mb, n, "values_int64s", 2, (const int64_t[]){2, 1});
    s_attr_int(mb, n, "default_int64", -5);
    n = s_node(mb, "ZipMap", "ai.onnx.ml", "p", "z");
    s_attr_strings(mb, n, "classlabels_strings", 2, (const char *const[]){"no", "yes"});
    s_output(mb, "i");
    s_output(mb, "z");
    ferry_err_t err;
    ferry_engine_t *e = s_engine(mb, 0, &err);
    ferry_tensor_t *s = ferry_tensor_new();
    int64_t d[1] = {3};
    assert_int_equal(ferry_tensor_reshape(s, FERRY_DT_STRING, 1, d, NULL), 0);
    ferry_tensor_set_string(s, 0, "a", 1);
    ferry_tensor_set_string(s, 1, "zz", 2);
    ferry_tensor_set_string(s, 2, "b", 1);
    int64_t dp[2] = {1, 2};
    ferry_tensor_t *p = s_f32(2, dp, (const float[]){0.25f, 0.75f});
    assert_int_equal(ferry_engine_set_input(e, "s", s, &err), 0);
    assert_int_equal(ferry_engine_set_input(e, "p", p, &err), 0);
    assert_int_equal(ferry_engine_run(e, &err), 0);
    const int64_t *iv = ferry_engine_output(e, 0)->data;
    assert_int_equal(iv[0], 1);
    assert_int_equal(iv[1], -5);
    assert_int_equal(iv[2], 2);
    const ferry_tensor_t *z = ferry_engine_output(e, 1);
    assert_int_equal(z->kind, FERRY_VALUE_SEQ_MAP);
    assert_string_equal(((char **)z->map_keys->data)[1], "yes");
    assert_float_equal(((float *)z->data)[1], 0.75f, 0);
    ferry_tensor_destroy(&s);
    ferry_tensor_destroy(&p);
    ferry_engine_destroy(&e);
    s_model_free(&mb);
}

static void test_engine_refuses_ambiguous_ml(void **state)
{
    (void)state;
    ferry_err_t err;
    /* one-column LinearRegressor with LOGISTIC: ONNX Runtime ignores it -> refused */
    s_mb_t *mb = s_model(13, 3);
    s_input(mb, "X", FERRY_DT_FLOAT);
    Onnx__NodeProto *n = s_node(mb, "LinearRegressor", "ai.onnx.ml", "X", "Y");
    s_attr_floats(mb, n, "coefficients", 2, (const float[]){1, 2});
    s_attr_string(mb, n, "post_transform", "LOGISTIC");
    s_output(mb, "Y");
    s_engine(mb, FERRY_ENGINE_EUNSUPPORTED, &err);
    assert_non_null(strstr(err.msg, "single score column"));
    s_model_free(&mb);
    /* an unknown post_transform is invalid */
    mb = s_model(13, 3);
    s_input(mb, "X", FERRY_DT_FLOAT);
    n = s_node(mb, "LinearRegressor", "ai.onnx.ml", "X", "Y");
    s_attr_floats(mb, n, "coefficients", 2, (const float[]){1, 2});
    s_attr_string(mb, n, "post_transform", "SQUARE");
    s_output(mb, "Y");
    s_engine(mb, FERRY_ENGINE_EINVALID, &err);
    assert_non_null(strstr(err.msg, "SQUARE"));
    s_model_free(&mb);
}

/* 100000 chained nodes: planning is linear (hashed names), running them is cheap */
static void test_engine_long_chain_plans_fast(void **state)
{
    (void)state;
    enum { N = 100000 };
    s_mb_t *mb = s_model(13, 3);
    s_input(mb, "v0", FERRY_DT_FLOAT);
    Onnx__NodeProto *nodes = ferry_calloc(N, sizeof(Onnx__NodeProto));
    Onnx__NodeProto **ptrs = ferry_calloc(N, sizeof(Onnx__NodeProto *));
    char (*names)[16] = ferry_calloc(N + 1, 16);
    char **io = ferry_calloc(2 * (size_t)N, sizeof(char *));
    for (int i = 0; i <= N; i++)
        snprintf(names[i], 16, "v%d", i);
    for (int i = 0; i < N; i++) {
        onnx__node_proto__init(&nodes[i]);
        nodes[i].op_type = "Neg";
        nodes[i].domain = "";
        io[2 * i] = names[i];
        io[2 * i + 1] = names[i + 1];
        nodes[i].n_input = nodes[i].n_output = 1;
        nodes[i].input = &io[2 * i];
        nodes[i].output = &io[2 * i + 1];
        ptrs[i] = &nodes[i];
    }
    mb->g.node = ptrs;
    mb->g.n_node = N;
    mb->g.output[mb->g.n_output++] = s_vi(mb, names[N], 0, -1, NULL);
    ferry_err_t err;
    ferry_engine_t *e = s_engine(mb, 0, &err);
    int64_t d[1] = {1};
    ferry_tensor_t *x = s_f32(1, d, (const float[]){3.0f});
    assert_int_equal(ferry_engine_set_input(e, "v0", x, &err), 0);
    assert_int_equal(ferry_engine_run(e, &err), 0);
    assert_float_equal(((float *)ferry_engine_output(e, 0)->data)[0], 3.0f, 0); /* an even number of Negs */
    ferry_tensor_destroy(&x);
    ferry_engine_destroy(&e);
    free(nodes);
    free(ptrs);
    free(names);
    free(io);
    s_model_free(&mb);
}

static void test_engine_op_list(void **state)
{
    (void)state;
    char *ops = ferry_engine_op_list();
    assert_non_null(strstr(ops, "ai.onnx.ml:TreeEnsemble\n"));
    assert_non_null(strstr(ops, "ai.onnx:MatMul\n"));
    free(ops);
    assert_true(ferry_engine_supports("", "Reshape", 13));
    assert_true(ferry_engine_supports("ai.onnx.ml", "TreeEnsemble", 5));
    assert_false(ferry_engine_supports("ai.onnx.ml", "TreeEnsemble", 3));
    assert_false(ferry_engine_supports("", "LSTM", 14));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tensor_reshape_reuses_buffer),
        cmocka_unit_test(test_tensor_half_conversions),
        cmocka_unit_test(test_tensor_proto_roundtrip_and_hostile),
        cmocka_unit_test(test_engine_add_broadcast_and_reuse),
        cmocka_unit_test(test_engine_declared_input_checks),
        cmocka_unit_test(test_engine_refuses_malformed_and_unsupported),
        cmocka_unit_test(test_engine_opset_semantics),
        cmocka_unit_test(test_engine_slice_steps),
        cmocka_unit_test(test_engine_tree_ensemble_and_hostile_trees),
        cmocka_unit_test(test_engine_label_encoder_and_zipmap),
        cmocka_unit_test(test_engine_refuses_ambiguous_ml),
        cmocka_unit_test(test_engine_long_chain_plans_fast),
        cmocka_unit_test(test_engine_op_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
