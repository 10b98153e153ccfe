/* onnx_convert.c -- default-domain opset conversion (see onnx_convert.h)
 *
 * Every node walks the version boundaries of its operator between the model's opset and
 * the target, one boundary at a time; s_boundaries lists the ones that change the
 * operator's contract, each with an upward and a downward adapter. Boundaries not listed
 * only widen types or add optional parts: after the walk, the node is checked against the
 * target schema (attribute names, arity), which refuses anything the target cannot say. */
#include "model/onnx_convert.h"
#include "model/onnx_map.h"
#include "model/onnx_ops.h"
#include "util/mem.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest constant tensor read back into an attribute when converting down. */
#define S_MAX_CONST_VALUES 4096
#define S_NAME_MAX 256

typedef struct {
    int32_t elem_type; /* 0 unknown */
    int rank;          /* -1 unknown */
} s_vtype_t;

typedef struct {
    ferry_onnx_t *model;
    Onnx__ModelProto *mp;
    ferry_err_t *err;
    ferry_onnx_convert_report_t *report;
    int from, to;
    ferry_onnx_map_t names;   /* every name in the model -> 1 (for fresh names) */
    ferry_onnx_map_t types;   /* name -> index in vtypes */
    s_vtype_t *vtypes;
    size_t n_vtypes;
    ferry_onnx_map_t consts;  /* name -> index in const_tensors */
    Onnx__TensorProto **const_tensors;
    size_t n_consts;
    char **owned;             /* fresh names, freed at the end (keys of the maps) */
    size_t n_owned;
    unsigned long counter;
    /* the node being converted, for messages */
    const char *graph;
    long index;
    Onnx__NodeProto **emit;   /* nodes of the graph being rebuilt */
    size_t n_emit, cap_emit;
    Onnx__NodeProto **added;  /* nodes created for that graph (freed on failure) */
    size_t n_added;
} s_cvt_t;

static const char *s_str(const char *s)
{
    return s ? s : "";
}

static int s_refuse(s_cvt_t *c, const Onnx__NodeProto *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int s_refuse(s_cvt_t *c, const Onnx__NodeProto *n, const char *fmt, ...)
{
    char why[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    ferry_err(c->err, "graph %s, node %ld '%s' (%s): cannot convert from opset %d to %d: %s", c->graph, c->index,
              s_str(n->name), s_str(n->op_type), c->from, c->to, why);
    return -ENOTSUP;
}

/* ---- attribute and input helpers ---------------------------------------------------- */

static Onnx__AttributeProto *s_attr(const Onnx__NodeProto *n, const char *name)
{
    for (size_t i = 0; i < n->n_attribute; i++)
        if (n->attribute[i]->name && !strcmp(n->attribute[i]->name, name))
            return n->attribute[i];
    return NULL;
}

static void s_attr_drop(s_cvt_t *c, Onnx__NodeProto *n, const char *name)
{
    for (size_t i = 0; i < n->n_attribute; i++)
        if (n->attribute[i]->name && !strcmp(n->attribute[i]->name, name)) {
            ferry_onnx_free_message(c->model, &n->attribute[i]->base);
            memmove(&n->attribute[i], &n->attribute[i + 1], (n->n_attribute - i - 1) * sizeof *n->attribute);
            n->n_attribute--;
            return;
        }
}

static Onnx__AttributeProto *s_attr_new(s_cvt_t *c, Onnx__NodeProto *n, const char *name,
                                        Onnx__AttributeProto__AttributeType type)
{
    s_attr_drop(c, n, name);
    Onnx__AttributeProto *a = ferry_malloc(sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = ferry_strdup(name);
    a->has_type = 1;
    a->type = type;
    n->attribute = ferry_reallocarray(n->attribute, n->n_attribute + 1, sizeof *n->attribute);
    n->attribute[n->n_attribute++] = a;
    return a;
}

static void s_attr_set_int(s_cvt_t *c, Onnx__NodeProto *n, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = s_attr_new(c, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    a->has_i = 1;
    a->i = v;
}

/* double -> float without undefined behaviour: out-of-range values become +-inf */
static float s_d2f(double d)
{
    if (d > 3.4028234663852886e38)
        return INFINITY;
    if (d < -3.4028234663852886e38)
        return -INFINITY;
    return (float)d;
}

static void s_attr_set_float(s_cvt_t *c, Onnx__NodeProto *n, const char *name, float v)
{
    Onnx__AttributeProto *a = s_attr_new(c, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    a->has_f = 1;
    a->f = v;
}

static void s_attr_set_ints(s_cvt_t *c, Onnx__NodeProto *n, const char *name, const int64_t *v, size_t k)
{
    Onnx__AttributeProto *a = s_attr_new(c, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    a->n_ints = k;
    a->ints = ferry_malloc((k ? k : 1) * sizeof *a->ints);
    if (k)
        memcpy(a->ints, v, k * sizeof *v);
}

static void s_attr_set_floats(s_cvt_t *c, Onnx__NodeProto *n, const char *name, const double *v, size_t k)
{
    Onnx__AttributeProto *a = s_attr_new(c, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS);
    a->n_floats = k;
    a->floats = ferry_malloc((k ? k : 1) * sizeof *a->floats);
    for (size_t i = 0; i < k; i++)
        a->floats[i] = s_d2f(v[i]);
}

static void s_attr_set_string(s_cvt_t *c, Onnx__NodeProto *n, const char *name, const char *v)
{
    Onnx__AttributeProto *a = s_attr_new(c, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    a->has_s = 1;
    a->s.len = strlen(v);
    a->s.data = (uint8_t *)ferry_strdup(v);
}

static int64_t s_attr_int(const Onnx__NodeProto *n, const char *name, int64_t dflt)
{
    const Onnx__AttributeProto *a = s_attr(n, name);
    return a && a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT ? a->i : dflt;
}

/* String attribute compared to v; absent means dflt. */
static bool s_attr_str_is(const Onnx__NodeProto *n, const char *name, const char *dflt, const char *v)
{
    const Onnx__AttributeProto *a = s_attr(n, name);
    if (!a || a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING)
        return !strcmp(dflt, v);
    return a->s.len == strlen(v) && (a->s.len == 0 || !memcmp(a->s.data, v, a->s.len));
}

static const char *s_input(const Onnx__NodeProto *n, size_t i)
{
    return i < n->n_input && n->input[i] ? n->input[i] : "";
}

static void s_input_set(Onnx__NodeProto *n, size_t i, const char *name)
{
    if (i >= n->n_input) {
        n->input = ferry_reallocarray(n->input, i + 1, sizeof *n->input);
        for (size_t k = n->n_input; k <= i; k++)
            n->input[k] = ferry_strdup("");
        n->n_input = i + 1;
    }
    free(n->input[i]);
    n->input[i] = ferry_strdup(name);
}

/* Drop inputs from index i on. */
static void s_inputs_truncate(Onnx__NodeProto *n, size_t count)
{
    while (n->n_input > count)
        free(n->input[--n->n_input]);
    /* trailing optional inputs left empty are dropped too */
    while (n->n_input && (!n->input[n->n_input - 1] || !*n->input[n->n_input - 1]))
        free(n->input[--n->n_input]);
}

static void s_set_op(Onnx__NodeProto *n, const char *op)
{
    free(n->op_type);
    n->op_type = ferry_strdup(op);
}

/* ---- names, types and constants ------------------------------------------------------- */

static char *s_own(s_cvt_t *c, char *s)
{
    c->owned = ferry_reallocarray(c->owned, c->n_owned + 1, sizeof *c->owned);
    c->owned[c->n_owned++] = s;
    return s;
}

static const char *s_fresh(s_cvt_t *c, const Onnx__NodeProto *n, const char *what)
{
    for (;;) {
        char *name = ferry_asprintf("%.*s_%s_ferry%lu", S_NAME_MAX, n->name && *n->name ? n->name : s_str(n->op_type),
                                    what, ++c->counter);
        if (!ferry_onnx_map_get(&c->names, name)) {
            ferry_onnx_map_put(&c->names, s_own(c, name), 1);
            return name;
        }
        free(name);
    }
}

/* Names are looked up model-wide, but subgraphs may reuse a name with another meaning:
 * conflicting facts make the name unknown for good (S_CONFLICT), never a guess. */
#define S_CONFLICT (-2)

static s_vtype_t s_type_of(const s_cvt_t *c, const char *name)
{
    long *i = ferry_onnx_map_get(&c->types, name);
    s_vtype_t t = i ? c->vtypes[*i] : (s_vtype_t){0, -1};
    if (t.elem_type == S_CONFLICT)
        t.elem_type = 0;
    if (t.rank == S_CONFLICT)
        t.rank = -1;
    return t;
}

static void s_type_set(s_cvt_t *c, const char *name, s_vtype_t t)
{
    if (!name || !*name || (!t.elem_type && t.rank < 0))
        return;
    long *i = ferry_onnx_map_get(&c->types, name);
    if (i) {
        s_vtype_t *old = &c->vtypes[*i];
        if (t.elem_type && old->elem_type != S_CONFLICT)
            old->elem_type = !old->elem_type || old->elem_type == t.elem_type ? t.elem_type : S_CONFLICT;
        if (t.rank >= 0 && old->rank != S_CONFLICT)
            old->rank = old->rank < 0 || old->rank == t.rank ? t.rank : S_CONFLICT;
        return;
    }
    c->vtypes = ferry_reallocarray(c->vtypes, c->n_vtypes + 1, sizeof *c->vtypes);
    c->vtypes[c->n_vtypes] = t;
    ferry_onnx_map_put(&c->types, name, (long)c->n_vtypes++);
}

static void s_type_from_vi(s_cvt_t *c, const Onnx__ValueInfoProto *vi)
{
    if (!vi->type || vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
        return;
    const Onnx__TypeProto__Tensor *tt = vi->type->tensor_type;
    s_type_set(c, vi->name, (s_vtype_t){tt->has_elem_type ? tt->elem_type : 0, tt->shape ? (int)tt->shape->n_dim : -1});
}

/* Operators whose first output has the element type of their first input. */
static const char *const s_same_type_ops[] = {
    "Abs", "Add", "AveragePool", "BatchNormalization", "Ceil", "Celu", "Clip", "Concat", "Conv", "ConvTranspose",
    "Div", "Dropout", "Elu", "Erf", "Exp", "Expand", "Flatten", "Floor", "Gather", "GatherElements", "Gemm",
    "GlobalAveragePool", "GlobalMaxPool", "HardSigmoid", "HardSwish", "Identity", "InstanceNormalization", "LRN",
    "LeakyRelu", "Log", "LogSoftmax", "MatMul", "Max", "MaxPool", "Mean", "Min", "Mul", "Neg", "PRelu", "Pad", "Pow",
    "Reciprocal", "ReduceL1", "ReduceL2", "ReduceMax", "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSum", "Relu",
    "Reshape", "Resize", "Round", "Selu", "Sigmoid", "Sign", "Slice", "Softmax", "Softplus", "Softsign", "Split",
    "Sqrt", "Squeeze", "Sub", "Sum", "Tanh", "Tile", "TopK", "Transpose", "Unsqueeze", "Upsample"};

static bool s_same_type(const char *op)
{
    for (size_t i = 0; i < FERRY_ARRAY_LEN(s_same_type_ops); i++)
        if (!strcmp(op, s_same_type_ops[i]))
            return true;
    return false;
}

/* A name defined as a constant twice (in different subgraphs) is not a constant. */
static void s_const_add(s_cvt_t *c, const char *name, Onnx__TensorProto *t)
{
    c->const_tensors = ferry_reallocarray(c->const_tensors, c->n_consts + 1, sizeof *c->const_tensors);
    c->const_tensors[c->n_consts] = t;
    if (ferry_onnx_map_put(&c->consts, name, (long)c->n_consts))
        c->n_consts++;
    else
        *ferry_onnx_map_get(&c->consts, name) = -1;
}

static void s_index_graph(s_cvt_t *c, Onnx__GraphProto *g)
{
    for (size_t i = 0; i < g->n_input; i++) {
        ferry_onnx_map_put(&c->names, s_str(g->input[i]->name), 1);
        s_type_from_vi(c, g->input[i]);
    }
    for (size_t i = 0; i < g->n_output; i++)
        s_type_from_vi(c, g->output[i]);
    for (size_t i = 0; i < g->n_value_info; i++)
        s_type_from_vi(c, g->value_info[i]);
    for (size_t i = 0; i < g->n_initializer; i++) {
        Onnx__TensorProto *t = g->initializer[i];
        const char *name = s_str(t->name);
        ferry_onnx_map_put(&c->names, name, 1);
        s_type_set(c, name, (s_vtype_t){t->has_data_type ? t->data_type : 0, (int)t->n_dims});
        s_const_add(c, name, t);
    }
    for (size_t i = 0; i < g->n_node; i++) {
        Onnx__NodeProto *n = g->node[i];
        for (size_t k = 0; k < n->n_input; k++)
            ferry_onnx_map_put(&c->names, s_str(n->input[k]), 1);
        for (size_t k = 0; k < n->n_output; k++)
            ferry_onnx_map_put(&c->names, s_str(n->output[k]), 1);
        const char *op = s_str(n->op_type);
        bool is_default = !*ferry_onnx_domain_canonical(n->domain);
        if (is_default && !strcmp(op, "Constant") && n->n_output == 1) {
            Onnx__AttributeProto *a = s_attr(n, "value");
            if (a && a->t) {
                s_type_set(c, n->output[0], (s_vtype_t){a->t->data_type, (int)a->t->n_dims});
                s_const_add(c, s_str(n->output[0]), a->t);
            }
        } else if (is_default && n->n_input && n->n_output && s_same_type(op)) {
            s_vtype_t in = s_type_of(c, s_str(n->input[0]));
            s_type_set(c, n->output[0], (s_vtype_t){in.elem_type, -1});
        }
        for (size_t k = 0; k < n->n_attribute; k++) {
            if (n->attribute[k]->g)
                s_index_graph(c, n->attribute[k]->g);
            for (size_t j = 0; j < n->attribute[k]->n_graphs; j++)
                s_index_graph(c, n->attribute[k]->graphs[j]);
        }
    }
}

/* Append a node to the graph being rebuilt. */
static void s_emit(s_cvt_t *c, Onnx__NodeProto *n)
{
    if (c->n_emit == c->cap_emit) {
        c->cap_emit = c->cap_emit ? 2 * c->cap_emit : 64;
        c->emit = ferry_reallocarray(c->emit, c->cap_emit, sizeof *c->emit);
    }
    c->emit[c->n_emit++] = n;
}

static Onnx__NodeProto *s_node_new(s_cvt_t *c, const Onnx__NodeProto *near, const char *op, size_t n_in, size_t n_out)
{
    Onnx__NodeProto *n = ferry_malloc(sizeof *n);
    onnx__node_proto__init(n);
    n->op_type = ferry_strdup(op);
    n->domain = ferry_strdup("");
    char *nm = ferry_asprintf("%.*s_%s_ferry%lu", S_NAME_MAX, s_str(near->name), op, ++c->counter);
    n->name = nm;
    n->n_input = n_in;
    n->input = ferry_calloc(n_in ? n_in : 1, sizeof *n->input);
    n->n_output = n_out;
    n->output = ferry_calloc(n_out ? n_out : 1, sizeof *n->output);
    c->report->nodes_added++;
    c->added = ferry_reallocarray(c->added, c->n_added + 1, sizeof *c->added);
    c->added[c->n_added++] = n;
    return n;
}

/* double -> int64 without undefined behaviour: NaN is 0, out-of-range values saturate */
static int64_t s_f2i(double d)
{
    if (d != d)
        return 0;
    if (d >= 9.2233720368547758e18)
        return INT64_MAX;
    if (d <= -9.2233720368547758e18)
        return INT64_MIN;
    return (int64_t)d;
}

static uint16_t s_float_to_half(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000, exp = (x >> 23) & 0xff, mant = x & 0x7fffff;
    if (exp == 0xff)
        return (uint16_t)(sign | 0x7c00 | (mant ? 0x200 : 0));
    int e = (int)exp - 127 + 15;
    if (e >= 31)
        return (uint16_t)(sign | 0x7c00);
    if (e <= 0) {
        if (e < -10)
            return (uint16_t)sign;
        mant |= 0x800000;
        uint32_t shift = (uint32_t)(14 - e);
        uint32_t half = mant >> shift;
        if ((mant >> (shift - 1)) & 1)
            half++;
        return (uint16_t)(sign | half);
    }
    uint32_t half = sign | ((uint32_t)e << 10) | (mant >> 13);
    if (mant & 0x1000)
        half++; /* round half up; carries into the exponent correctly */
    return (uint16_t)half;
}

/* Emit a Constant node holding values (as doubles or int64s) in element type dt, with
 * dims (ndims == 0: a scalar). Returns the fresh output name, or NULL for types that
 * cannot hold them. */
static Onnx__TensorProto *s_make_tensor(int32_t dt, const int64_t *dims, size_t ndims, const double *fv,
                                        const int64_t *iv, size_t k)
{
    size_t esize = ferry_onnx_elem_size(dt);
    if (!esize || dt == ONNX__TENSOR_PROTO__DATA_TYPE__COMPLEX64 || dt == ONNX__TENSOR_PROTO__DATA_TYPE__COMPLEX128)
        return NULL;
    uint8_t *raw = ferry_malloc(k * esize + 1);
    for (size_t i = 0; i < k; i++) {
        double d = fv ? fv[i] : (double)iv[i];
        int64_t l = iv ? iv[i] : s_f2i(d);
        uint8_t *p = raw + i * esize;
        switch (dt) {
        case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: { float f = s_d2f(d); memcpy(p, &f, 4); break; }
        case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: memcpy(p, &d, 8); break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16: { uint16_t h = s_float_to_half(s_d2f(d)); memcpy(p, &h, 2); break; }
        case ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16: {
            float f = s_d2f(d);
            uint32_t x;
            memcpy(&x, &f, 4);
            uint16_t b = (uint16_t)((x + 0x7fff + ((x >> 16) & 1)) >> 16);
            memcpy(p, &b, 2);
            break;
        }
        case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: case ONNX__TENSOR_PROTO__DATA_TYPE__UINT64: memcpy(p, &l, 8); break;
        case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: case ONNX__TENSOR_PROTO__DATA_TYPE__UINT32: {
            int32_t v = (int32_t)l; memcpy(p, &v, 4); break;
        }
        case ONNX__TENSOR_PROTO__DATA_TYPE__INT16: case ONNX__TENSOR_PROTO__DATA_TYPE__UINT16: {
            int16_t v = (int16_t)l; memcpy(p, &v, 2); break;
        }
        default: { int8_t v = (int8_t)(dt == ONNX__TENSOR_PROTO__DATA_TYPE__BOOL ? l != 0 : l); memcpy(p, &v, 1); }
        }
    }
    Onnx__TensorProto *t = ferry_malloc(sizeof *t);
    onnx__tensor_proto__init(t);
    t->has_data_type = 1;
    t->data_type = dt;
    t->n_dims = ndims;
    t->dims = ferry_malloc((ndims ? ndims : 1) * sizeof *t->dims);
    if (ndims)
        memcpy(t->dims, dims, ndims * sizeof *dims);
    t->has_raw_data = 1;
    t->raw_data.data = raw;
    t->raw_data.len = k * esize;
    return t;
}

static const char *s_emit_const(s_cvt_t *c, const Onnx__NodeProto *near, const char *what, int32_t dt,
                                const int64_t *dims, size_t ndims, const double *fv, const int64_t *iv, size_t k)
{
    Onnx__TensorProto *t = s_make_tensor(dt, dims, ndims, fv, iv, k);
    if (!t)
        return NULL;
    Onnx__NodeProto *n = s_node_new(c, near, "Constant", 0, 1);
    const char *out = s_fresh(c, near, what);
    n->output[0] = ferry_strdup(out);
    Onnx__AttributeProto *a = s_attr_new(c, n, "value", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
    a->t = t;
    s_emit(c, n);
    s_type_set(c, out, (s_vtype_t){dt, (int)ndims});
    return out;
}

static const char *s_emit_ints(s_cvt_t *c, const Onnx__NodeProto *near, const char *what, const int64_t *v, size_t k)
{
    int64_t dim = (int64_t)k;
    return s_emit_const(c, near, what, ONNX__TENSOR_PROTO__DATA_TYPE__INT64, &dim, 1, NULL, v, k);
}

/* The values of a constant input (initializer or Constant output), at most
 * S_MAX_CONST_VALUES; fv/iv are fresh arrays the caller frees. Returns 0, or -1 when
 * the name is not a constant of a numeric type ferry reads back. */
typedef struct {
    int32_t dt;
    size_t n;
    double *fv;
    int64_t *iv;
    int64_t dims[8];
    size_t ndims;
} s_const_t;

static void s_const_free(s_const_t *k)
{
    free(k->fv);
    free(k->iv);
    k->fv = NULL;
    k->iv = NULL;
}

static int s_const_read(s_cvt_t *c, const char *name, s_const_t *out)
{
    memset(out, 0, sizeof *out);
    long *idx = *name ? ferry_onnx_map_get(&c->consts, name) : NULL;
    if (!idx || *idx < 0)
        return -1;
    const Onnx__TensorProto *t = c->const_tensors[*idx];
    uint64_t numel;
    if (ferry_onnx_tensor_numel(t, &numel) < 0 || numel > S_MAX_CONST_VALUES || t->n_dims > 8)
        return -1;
    out->dt = t->data_type;
    out->n = (size_t)numel;
    out->ndims = t->n_dims;
    if (t->n_dims)
        memcpy(out->dims, t->dims, t->n_dims * sizeof *t->dims);
    out->fv = ferry_calloc(out->n + 1, sizeof *out->fv);
    out->iv = ferry_calloc(out->n + 1, sizeof *out->iv);
    const uint8_t *raw = NULL;
    size_t len = 0;
    bool has_raw = ferry_onnx_tensor_bytes(c->model, t, &raw, &len, NULL) == 0;
    size_t esize = ferry_onnx_elem_size(out->dt);
    if (has_raw && len != out->n * esize)
        goto fail;
    for (size_t i = 0; i < out->n; i++) {
        switch (out->dt) {
        case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: {
            float f;
            if (has_raw)
                memcpy(&f, raw + 4 * i, 4);
            else if (i < t->n_float_data)
                f = t->float_data[i];
            else
                goto fail;
            out->fv[i] = f;
            out->iv[i] = s_f2i(f);
            break;
        }
        case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: {
            double d;
            if (has_raw)
                memcpy(&d, raw + 8 * i, 8);
            else if (i < t->n_double_data)
                d = t->double_data[i];
            else
                goto fail;
            out->fv[i] = d;
            out->iv[i] = s_f2i(d);
            break;
        }
        case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: {
            int64_t v;
            if (has_raw)
                memcpy(&v, raw + 8 * i, 8);
            else if (i < t->n_int64_data)
                v = t->int64_data[i];
            else
                goto fail;
            out->iv[i] = v;
            out->fv[i] = (double)v;
            break;
        }
        case ONNX__TENSOR_PROTO__DATA_TYPE__INT32: {
            int32_t v;
            if (has_raw)
                memcpy(&v, raw + 4 * i, 4);
            else if (i < t->n_int32_data)
                v = t->int32_data[i];
            else
                goto fail;
            out->iv[i] = v;
            out->fv[i] = v;
            break;
        }
        default:
            goto fail;
        }
    }
    return 0;
fail:
    s_const_free(out);
    return -1;
}

/* ---- adapters ------------------------------------------------------------------------------ */

typedef int (*s_adapt_fn)(s_cvt_t *c, Onnx__NodeProto *n);

/* attribute (INTS) at input slot `slot`: upward */
static int s_ints_attr_to_input(s_cvt_t *c, Onnx__NodeProto *n, const char *attr, size_t slot, bool required)
{
    Onnx__AttributeProto *a = s_attr(n, attr);
    if (!a) {
        if (required)
            return s_refuse(c, n, "attribute '%s' is missing", attr);
        return 0;
    }
    const char *name = s_emit_ints(c, n, attr, a->ints, a->n_ints);
    if (n->n_input > slot && *s_input(n, slot))
        return s_refuse(c, n, "input %zu is already set", slot);
    s_input_set(n, slot, name);
    s_attr_drop(c, n, attr);
    return 0;
}

/* constant input at slot back to an INTS attribute: downward */
static int s_input_to_ints_attr(s_cvt_t *c, Onnx__NodeProto *n, size_t slot, const char *attr, bool required)
{
    const char *in = s_input(n, slot);
    if (!*in) {
        if (required)
            return s_refuse(c, n, "input %zu ('%s') is missing", slot, attr);
        return 0;
    }
    s_const_t k;
    if (s_const_read(c, in, &k) < 0)
        return s_refuse(c, n, "input '%s' (%s) is computed at run time; opset %d needs it as a constant attribute", in,
                        attr, c->to);
    s_attr_set_ints(c, n, attr, k.iv, k.n);
    s_const_free(&k);
    s_input_set(n, slot, "");
    s_inputs_truncate(n, n->n_input);
    return 0;
}

static int s_squeeze_up(s_cvt_t *c, Onnx__NodeProto *n)
{
    return s_ints_attr_to_input(c, n, "axes", 1, !strcmp(n->op_type, "Unsqueeze"));
}

static int s_squeeze_down(s_cvt_t *c, Onnx__NodeProto *n)
{
    return s_input_to_ints_attr(c, n, 1, "axes", !strcmp(n->op_type, "Unsqueeze"));
}

static int s_reducesum_up(s_cvt_t *c, Onnx__NodeProto *n)
{
    return s_ints_attr_to_input(c, n, "axes", 1, false);
}

static int s_reducesum_down(s_cvt_t *c, Onnx__NodeProto *n)
{
    int64_t noop = s_attr_int(n, "noop_with_empty_axes", 0);
    if (noop && !*s_input(n, 1))
        return s_refuse(c, n, "noop_with_empty_axes=1 without axes has no equivalent before opset 13");
    s_attr_drop(c, n, "noop_with_empty_axes");
    int rc = s_input_to_ints_attr(c, n, 1, "axes", false);
    if (rc == 0 && noop) {
        Onnx__AttributeProto *a = s_attr(n, "axes");
        if (a && a->n_ints == 0)
            return s_refuse(c, n, "noop_with_empty_axes=1 with empty axes has no equivalent before opset 13");
    }
    return rc;
}

static int s_split_up(s_cvt_t *c, Onnx__NodeProto *n)
{
    return s_ints_attr_to_input(c, n, "split", 1, false);
}

static int s_split_down(s_cvt_t *c, Onnx__NodeProto *n)
{
    return s_input_to_ints_attr(c, n, 1, "split", false);
}

static int s_topk_up(s_cvt_t *c, Onnx__NodeProto *n)
{
    Onnx__AttributeProto *a = s_attr(n, "k");
    if (!a)
        return s_refuse(c, n, "attribute 'k' is missing");
    int64_t k = a->i;
    s_input_set(n, 1, s_emit_ints(c, n, "k", &k, 1));
    s_attr_drop(c, n, "k");
    return 0;
}

static int s_topk_down(s_cvt_t *c, Onnx__NodeProto *n)
{
    s_const_t k;
    if (s_const_read(c, s_input(n, 1), &k) < 0 || k.n != 1) {
        if (k.fv)
            s_const_free(&k);
        return s_refuse(c, n, "K is computed at run time; opset %d needs it as the attribute 'k'", c->to);
    }
    s_attr_set_int(c, n, "k", k.iv[0]);
    s_const_free(&k);
    s_inputs_truncate(n, 1);
    return 0;
}

static int s_topk_down11(s_cvt_t *c, Onnx__NodeProto *n)
{
    if (s_attr_int(n, "largest", 1) != 1 || s_attr_int(n, "sorted", 1) != 1)
        return s_refuse(c, n, "largest=0 or sorted=0 needs opset 11");
    if (s_attr_int(n, "axis", -1) < 0) {
        s_vtype_t t = s_type_of(c, s_input(n, 0));
        if (t.rank < 0)
            return s_refuse(c, n, "negative axis needs opset 11 and the input's rank is unknown");
        s_attr_set_int(c, n, "axis", s_attr_int(n, "axis", -1) + t.rank);
    }
    s_attr_drop(c, n, "largest");
    s_attr_drop(c, n, "sorted");
    return 0;
}

static int s_slice_up(s_cvt_t *c, Onnx__NodeProto *n)
{
    Onnx__AttributeProto *st = s_attr(n, "starts"), *en = s_attr(n, "ends"), *ax = s_attr(n, "axes");
    if (!st || !en)
        return s_refuse(c, n, "attributes 'starts' and 'ends' are required");
    s_input_set(n, 1, s_emit_ints(c, n, "starts", st->ints, st->n_ints));
    s_input_set(n, 2, s_emit_ints(c, n, "ends", en->ints, en->n_ints));
    if (ax)
        s_input_set(n, 3, s_emit_ints(c, n, "axes", ax->ints, ax->n_ints));
    s_attr_drop(c, n, "starts");
    s_attr_drop(c, n, "ends");
    s_attr_drop(c, n, "axes");
    return 0;
}

static int s_slice_down(s_cvt_t *c, Onnx__NodeProto *n)
{
    if (*s_input(n, 4)) {
        s_const_t k;
        if (s_const_read(c, s_input(n, 4), &k) < 0)
            return s_refuse(c, n, "steps are computed at run time; opset %d has no steps", c->to);
        for (size_t i = 0; i < k.n; i++)
            if (k.iv[i] != 1) {
                s_const_free(&k);
                return s_refuse(c, n, "steps other than 1 need opset 10");
            }
        s_const_free(&k);
    }
    int rc;
    if ((rc = s_input_to_ints_attr(c, n, 1, "starts", true)) < 0 || (rc = s_input_to_ints_attr(c, n, 2, "ends", true)) < 0 ||
        (rc = s_input_to_ints_attr(c, n, 3, "axes", false)) < 0)
        return rc;
    s_inputs_truncate(n, 1);
    return 0;
}

static int s_dropout_up12(s_cvt_t *c, Onnx__NodeProto *n)
{
    Onnx__AttributeProto *a = s_attr(n, "ratio");
    if (a) {
        double r = a->f;
        s_input_set(n, 1, s_emit_const(c, n, "ratio", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, NULL, 0, &r, NULL, 1));
        s_attr_drop(c, n, "ratio");
    }
    return 0;
}

static int s_dropout_down12(s_cvt_t *c, Onnx__NodeProto *n)
{
    if (*s_input(n, 2)) {
        s_const_t k;
        if (s_const_read(c, s_input(n, 2), &k) < 0 || k.n != 1 || k.iv[0] != 0) {
            if (k.fv)
                s_const_free(&k);
            return s_refuse(c, n, "training_mode is set or computed at run time (training needs opset 12)");
        }
        s_const_free(&k);
    }
    if (*s_input(n, 1)) {
        s_const_t k;
        if (s_const_read(c, s_input(n, 1), &k) < 0 || k.n != 1) {
            if (k.fv)
                s_const_free(&k);
            return s_refuse(c, n, "ratio is computed at run time; opset %d needs it as an attribute", c->to);
        }
        s_attr_set_float(c, n, "ratio", s_d2f(k.fv[0]));
        s_const_free(&k);
    }
    s_inputs_truncate(n, 1);
    return 0;
}

/* Clip-6 min/max attributes <-> Clip-11 inputs of the input's element type */
static int s_clip_up(s_cvt_t *c, Onnx__NodeProto *n)
{
    Onnx__AttributeProto *lo = s_attr(n, "min"), *hi = s_attr(n, "max");
    if (!lo && !hi)
        return 0;
    int32_t dt = s_type_of(c, s_input(n, 0)).elem_type;
    if (!dt)
        return s_refuse(c, n, "the element type of input '%s' is unknown, so min/max cannot become typed inputs",
                        s_input(n, 0));
    if (lo) {
        double v = lo->f;
        const char *name = s_emit_const(c, n, "min", dt, NULL, 0, &v, NULL, 1);
        if (!name)
            return s_refuse(c, n, "element type %s cannot hold min", ferry_onnx_type_name(dt));
        s_input_set(n, 1, name);
    }
    if (hi) {
        double v = hi->f;
        const char *name = s_emit_const(c, n, "max", dt, NULL, 0, &v, NULL, 1);
        if (!name)
            return s_refuse(c, n, "element type %s cannot hold max", ferry_onnx_type_name(dt));
        s_input_set(n, 2, name);
    }
    s_attr_drop(c, n, "min");
    s_attr_drop(c, n, "max");
    return 0;
}

static int s_clip_down(s_cvt_t *c, Onnx__NodeProto *n)
{
    const char *attrs[] = {"min", "max"};
    for (size_t i = 1; i <= 2; i++) {
        if (!*s_input(n, i))
            continue;
        s_const_t k;
        if (s_const_read(c, s_input(n, i), &k) < 0 || k.n != 1) {
            if (k.fv)
                s_const_free(&k);
            return s_refuse(c, n, "%s is computed at run time; opset %d needs a constant attribute", attrs[i - 1],
                            c->to);
        }
        s_attr_set_float(c, n, attrs[i - 1], s_d2f(k.fv[0]));
        s_const_free(&k);
    }
    s_inputs_truncate(n, 1);
    return 0;
}

static int s_pad_up(s_cvt_t *c, Onnx__NodeProto *n)
{
    Onnx__AttributeProto *pads = s_attr(n, "pads"), *value = s_attr(n, "value");
    if (!pads)
        return s_refuse(c, n, "attribute 'pads' is missing");
    s_input_set(n, 1, s_emit_ints(c, n, "pads", pads->ints, pads->n_ints));
    if (value && value->f != 0.0f) {
        int32_t dt = s_type_of(c, s_input(n, 0)).elem_type;
        double v = value->f;
        const char *name = dt ? s_emit_const(c, n, "value", dt, NULL, 0, &v, NULL, 1) : NULL;
        if (!name)
            return s_refuse(c, n, "the element type of input '%s' is unknown, so the pad value cannot become an input",
                            s_input(n, 0));
        s_input_set(n, 2, name);
    }
    s_attr_drop(c, n, "pads");
    s_attr_drop(c, n, "value");
    return 0;
}

static int s_pad_down(s_cvt_t *c, Onnx__NodeProto *n)
{
    if (*s_input(n, 2)) {
        s_const_t k;
        if (s_const_read(c, s_input(n, 2), &k) < 0 || k.n != 1) {
            if (k.fv)
                s_const_free(&k);
            return s_refuse(c, n, "constant_value is computed at run time; opset %d needs the attribute 'value'",
                            c->to);
        }
        s_attr_set_float(c, n, "value", s_d2f(k.fv[0]));
        s_const_free(&k);
        s_input_set(n, 2, "");
    }
    return s_input_to_ints_attr(c, n, 1, "pads", true);
}

static int s_upsample_up9(s_cvt_t *c, Onnx__NodeProto *n)
{
    Onnx__AttributeProto *a = s_attr(n, "scales");
    if (!a)
        return s_refuse(c, n, "attribute 'scales' is missing");
    double v[64];
    if (a->n_floats > FERRY_ARRAY_LEN(v))
        return s_refuse(c, n, "more than 64 scales");
    for (size_t i = 0; i < a->n_floats; i++)
        v[i] = a->floats[i];
    int64_t dim = (int64_t)a->n_floats;
    s_input_set(n, 1, s_emit_const(c, n, "scales", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, &dim, 1, v, NULL, a->n_floats));
    s_attr_drop(c, n, "scales");
    return 0;
}

static int s_upsample_down9(s_cvt_t *c, Onnx__NodeProto *n)
{
    s_const_t k;
    if (s_const_read(c, s_input(n, 1), &k) < 0)
        return s_refuse(c, n, "scales are computed at run time; opset %d needs the attribute 'scales'", c->to);
    s_attr_set_floats(c, n, "scales", k.fv, k.n);
    s_const_free(&k);
    s_inputs_truncate(n, 1);
    return 0;
}

/* Upsample-9 is deprecated at 10 in favour of Resize-10 (same inputs and mode). */
static int s_upsample_to_resize(s_cvt_t *c, Onnx__NodeProto *n)
{
    s_set_op(n, "Resize");
    return 0;
}

static int s_resize_to_upsample(s_cvt_t *c, Onnx__NodeProto *n)
{
    s_set_op(n, "Upsample");
    return 0;
}

/* Resize-10 (X, scales; asymmetric coordinates) -> Resize-11 (X, roi, scales, sizes) */
static int s_resize_up11(s_cvt_t *c, Onnx__NodeProto *n)
{
    char *scales = ferry_strdup(s_input(n, 1));
    int64_t zero = 0;
    s_input_set(n, 1, s_emit_const(c, n, "roi", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, &zero, 1, NULL, NULL, 0));
    s_input_set(n, 2, scales);
    free(scales);
    s_attr_set_string(c, n, "coordinate_transformation_mode", "asymmetric");
    if (s_attr_str_is(n, "mode", "nearest", "nearest"))
        s_attr_set_string(c, n, "nearest_mode", "floor");
    return 0;
}

static int s_resize_down11(s_cvt_t *c, Onnx__NodeProto *n)
{
    bool nearest = s_attr_str_is(n, "mode", "nearest", "nearest");
    if (!nearest && !s_attr_str_is(n, "mode", "nearest", "linear"))
        return s_refuse(c, n, "mode other than nearest/linear needs opset 11");
    if (!s_attr_str_is(n, "coordinate_transformation_mode", "half_pixel", "asymmetric"))
        return s_refuse(c, n, "only coordinate_transformation_mode=asymmetric exists before opset 11");
    if (nearest && !s_attr_str_is(n, "nearest_mode", "round_prefer_floor", "floor"))
        return s_refuse(c, n, "only nearest_mode=floor exists before opset 11");
    if (*s_input(n, 3))
        return s_refuse(c, n, "output sizes (instead of scales) need opset 11");
    if (s_attr_int(n, "exclude_outside", 0) != 0)
        return s_refuse(c, n, "exclude_outside=1 needs opset 11");
    const char *drop[] = {"coordinate_transformation_mode", "nearest_mode", "cubic_coeff_a", "exclude_outside",
                          "extrapolation_value"};
    for (size_t i = 0; i < FERRY_ARRAY_LEN(drop); i++)
        s_attr_drop(c, n, drop[i]);
    char *scales = ferry_strdup(s_input(n, 2));
    s_input_set(n, 1, scales);
    free(scales);
    s_inputs_truncate(n, 2);
    return 0;
}

static int s_resize_up13(s_cvt_t *c, Onnx__NodeProto *n)
{
    if (s_attr_str_is(n, "coordinate_transformation_mode", "half_pixel", "tf_half_pixel_for_nn"))
        return s_refuse(c, n, "coordinate_transformation_mode=tf_half_pixel_for_nn was removed at opset 13");
    return 0;
}

static int s_resize_down13(s_cvt_t *c, Onnx__NodeProto *n)
{
    int64_t zero = 0;
    if (!*s_input(n, 1))
        s_input_set(n, 1, s_emit_const(c, n, "roi", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, &zero, 1, NULL, NULL, 0));
    if (!*s_input(n, 2))
        s_input_set(n, 2, s_emit_const(c, n, "scales", ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, &zero, 1, NULL, NULL, 0));
    return 0;
}

static int s_scatter_up(s_cvt_t *c, Onnx__NodeProto *n)
{
    s_set_op(n, "ScatterElements");
    return 0;
}

static int s_scatter_down(s_cvt_t *c, Onnx__NodeProto *n)
{
    s_set_op(n, "Scatter");
    return 0;
}

static int s_scatter_down16(s_cvt_t *c, Onnx__NodeProto *n)
{
    if (!s_attr_str_is(n, "reduction", "none", "none"))
        return s_refuse(c, n, "reduction other than 'none' needs opset 16");
    s_attr_drop(c, n, "reduction");
    return 0;
}

/* Softmax family: <= 12 flattens the input to 2-D at axis (default 1); 13 works along
 * one axis (default -1). Equal when axis is the last one; otherwise the 12 semantics
 * are rebuilt as Shape + Flatten + Softmax(-1) + Reshape. */
static int s_softmax_up13(s_cvt_t *c, Onnx__NodeProto *n)
{
    int64_t axis = s_attr_int(n, "axis", 1);
    s_vtype_t t = s_type_of(c, s_input(n, 0));
    if (axis == -1 || (t.rank > 0 && (axis == t.rank - 1 || axis + t.rank == t.rank - 1))) {
        s_attr_set_int(c, n, "axis", axis);
        return 0;
    }
    const char *x = s_input(n, 0);
    Onnx__NodeProto *shape = s_node_new(c, n, "Shape", 1, 1);
    shape->input[0] = ferry_strdup(x);
    shape->output[0] = ferry_strdup(s_fresh(c, n, "shape"));
    s_emit(c, shape);
    Onnx__NodeProto *flat = s_node_new(c, n, "Flatten", 1, 1);
    flat->input[0] = ferry_strdup(x);
    flat->output[0] = ferry_strdup(s_fresh(c, n, "flat"));
    s_attr_set_int(c, flat, "axis", axis);
    s_emit(c, flat);
    Onnx__NodeProto *reshape = s_node_new(c, n, "Reshape", 2, 1);
    const char *soft_out = s_fresh(c, n, "soft");
    reshape->input[0] = ferry_strdup(soft_out);
    reshape->input[1] = ferry_strdup(shape->output[0]);
    reshape->output[0] = n->output[0];
    n->output[0] = ferry_strdup(soft_out);
    s_input_set(n, 0, flat->output[0]);
    s_attr_set_int(c, n, "axis", -1);
    s_emit(c, n);
    s_emit(c, reshape);
    return 1; /* the adapter emitted n itself */
}

static int s_softmax_down13(s_cvt_t *c, Onnx__NodeProto *n)
{
    int64_t axis = s_attr_int(n, "axis", -1);
    s_vtype_t t = s_type_of(c, s_input(n, 0));
    if (axis == -1 || (t.rank > 0 && axis == t.rank - 1)) {
        s_attr_set_int(c, n, "axis", axis);
        return 0;
    }
    return s_refuse(c, n, "axis=%lld is not the last axis (or the rank is unknown); before opset 13 the operator "
                          "normalises over all axes from axis on", (long long)axis);
}

static int s_bn_up9(s_cvt_t *c, Onnx__NodeProto *n)
{
    if (s_attr_int(n, "spatial", 1) != 1)
        return s_refuse(c, n, "spatial=0 (per-activation statistics) has no equivalent from opset 9 on");
    s_attr_drop(c, n, "spatial");
    return 0;
}

static int s_bn_up14(s_cvt_t *c, Onnx__NodeProto *n)
{
    for (size_t i = 1; i < n->n_output; i++)
        if (n->output[i] && *n->output[i])
            return s_refuse(c, n, "training outputs (mean, var, saved_mean, saved_var) changed meaning at opset 14");
    while (n->n_output > 1)
        free(n->output[--n->n_output]);
    return 0;
}

static int s_bn_down14(s_cvt_t *c, Onnx__NodeProto *n)
{
    if (s_attr_int(n, "training_mode", 0) != 0)
        return s_refuse(c, n, "training_mode=1 needs opset 14");
    for (size_t i = 1; i < n->n_output; i++)
        if (n->output[i] && *n->output[i])
            return s_refuse(c, n, "running mean/var outputs need opset 14");
    while (n->n_output > 1)
        free(n->output[--n->n_output]);
    s_attr_drop(c, n, "training_mode");
    return 0;
}

static int s_roialign_up16(s_cvt_t *c, Onnx__NodeProto *n)
{
    if (!s_attr(n, "coordinate_transformation_mode"))
        s_attr_set_string(c, n, "coordinate_transformation_mode", "output_half_pixel");
    return 0;
}

static int s_roialign_down16(s_cvt_t *c, Onnx__NodeProto *n)
{
    if (!s_attr_str_is(n, "coordinate_transformation_mode", "half_pixel", "output_half_pixel"))
        return s_refuse(c, n, "coordinate_transformation_mode=half_pixel needs opset 16");
    s_attr_drop(c, n, "coordinate_transformation_mode");
    return 0;
}

static int s_reshape_down14(s_cvt_t *c, Onnx__NodeProto *n)
{
    if (s_attr_int(n, "allowzero", 0) != 0)
        return s_refuse(c, n, "allowzero=1 needs opset 14");
    s_attr_drop(c, n, "allowzero");
    return 0;
}

/* Constant-12's value_* shorthands become a tensor 'value' before 12 */
static int s_constant_down12(s_cvt_t *c, Onnx__NodeProto *n)
{
    Onnx__AttributeProto *a;
    Onnx__TensorProto *t;
    if ((a = s_attr(n, "value_float"))) {
        double v = a->f;
        t = s_make_tensor(ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, NULL, 0, &v, NULL, 1);
    } else if ((a = s_attr(n, "value_int"))) {
        t = s_make_tensor(ONNX__TENSOR_PROTO__DATA_TYPE__INT64, NULL, 0, NULL, &a->i, 1);
    } else if ((a = s_attr(n, "value_ints"))) {
        int64_t dim = (int64_t)a->n_ints;
        t = s_make_tensor(ONNX__TENSOR_PROTO__DATA_TYPE__INT64, &dim, 1, NULL, a->ints, a->n_ints);
    } else if ((a = s_attr(n, "value_floats"))) {
        double *v = ferry_calloc(a->n_floats + 1, sizeof *v);
        for (size_t i = 0; i < a->n_floats; i++)
            v[i] = a->floats[i];
        int64_t dim = (int64_t)a->n_floats;
        t = s_make_tensor(ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT, &dim, 1, v, NULL, a->n_floats);
        free(v);
    } else if (s_attr(n, "value_string") || s_attr(n, "value_strings")) {
        return s_refuse(c, n, "value_string(s) needs opset 12");
    } else {
        return 0;
    }
    const char *drop[] = {"value_float", "value_floats", "value_int", "value_ints"};
    for (size_t i = 0; i < FERRY_ARRAY_LEN(drop); i++)
        s_attr_drop(c, n, drop[i]);
    Onnx__AttributeProto *value = s_attr_new(c, n, "value", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
    value->t = t;
    return 0;
}

/* Negative axes are accepted from opset 11 on: before, normalise them with the rank. */
static int s_axes_down11(s_cvt_t *c, Onnx__NodeProto *n)
{
    const char *names[] = {"axis", "axes"};
    for (size_t k = 0; k < FERRY_ARRAY_LEN(names); k++) {
        Onnx__AttributeProto *a = s_attr(n, names[k]);
        if (!a)
            continue;
        int64_t *v = a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT ? &a->i : a->ints;
        size_t count = a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT ? 1 : a->n_ints;
        for (size_t i = 0; i < count; i++) {
            if (v[i] >= 0)
                continue;
            int rank = s_type_of(c, s_input(n, 0)).rank;
            if (rank < 0)
                return s_refuse(c, n, "negative %s needs opset 11 and the rank of '%s' is unknown", names[k],
                                s_input(n, 0));
            if (!strcmp(s_str(n->op_type), "Unsqueeze"))
                rank += (int)count; /* axes index the output */
            else if (!strcmp(s_str(n->op_type), "OneHot"))
                rank += 1;
            v[i] += rank;
            if (v[i] < 0)
                return s_refuse(c, n, "%s %lld is out of range for rank %d", names[k], (long long)(v[i] - rank), rank);
        }
    }
    return 0;
}

static int s_softmax_down11(s_cvt_t *c, Onnx__NodeProto *n)
{
    return s_axes_down11(c, n);
}

/* Gemm's C became optional at 11; before, a zero scalar broadcasts to the same result. */
static int s_gemm_down11(s_cvt_t *c, Onnx__NodeProto *n)
{
    if (*s_input(n, 2))
        return 0;
    int32_t dt = s_type_of(c, s_input(n, 0)).elem_type;
    double zero = 0;
    const char *name = dt ? s_emit_const(c, n, "C", dt, NULL, 0, &zero, NULL, 1) : NULL;
    if (!name)
        return s_refuse(c, n, "C is missing and the element type of A is unknown");
    s_input_set(n, 2, name);
    return 0;
}

static int s_refuse_scan(s_cvt_t *c, Onnx__NodeProto *n)
{
    return s_refuse(c, n, "Scan-8 (batched, sequence_lens) and Scan-9 have different signatures");
}

static int s_variadic_down8(s_cvt_t *c, Onnx__NodeProto *n)
{
    if (n->n_input <= 1)
        return 0;
    return s_refuse(c, n, "before opset 8 the inputs cannot broadcast, and their shapes are not known to be equal");
}

typedef struct {
    const char *op;
    int version; /* since_version of the newer schema */
    s_adapt_fn up, down;
} s_boundary_t;

/* Boundaries (7 .. 17) that change an operator's contract. Not listed: compatible. */
static const s_boundary_t s_boundaries[] = {
    {"BatchNormalization", 9, s_bn_up9, NULL},
    {"BatchNormalization", 14, s_bn_up14, s_bn_down14},
    {"ArgMax", 11, NULL, s_axes_down11},
    {"ArgMin", 11, NULL, s_axes_down11},
    {"Clip", 11, s_clip_up, s_clip_down},
    {"Compress", 11, NULL, s_axes_down11},
    {"Concat", 11, NULL, s_axes_down11},
    {"Flatten", 11, NULL, s_axes_down11},
    {"Gather", 11, NULL, s_axes_down11},
    {"Gemm", 11, NULL, s_gemm_down11},
    {"Hardmax", 11, NULL, s_softmax_down11},
    {"LogSoftmax", 11, NULL, s_softmax_down11},
    {"OneHot", 11, NULL, s_axes_down11},
    {"ReduceL1", 11, NULL, s_axes_down11},
    {"ReduceL2", 11, NULL, s_axes_down11},
    {"ReduceLogSum", 11, NULL, s_axes_down11},
    {"ReduceLogSumExp", 11, NULL, s_axes_down11},
    {"ReduceMax", 11, NULL, s_axes_down11},
    {"ReduceMean", 11, NULL, s_axes_down11},
    {"ReduceMin", 11, NULL, s_axes_down11},
    {"ReduceProd", 11, NULL, s_axes_down11},
    {"ReduceSum", 11, NULL, s_axes_down11},
    {"ReduceSumSquare", 11, NULL, s_axes_down11},
    {"Softmax", 11, NULL, s_softmax_down11},
    {"Split", 11, NULL, s_axes_down11},
    {"Squeeze", 11, NULL, s_axes_down11},
    {"Unsqueeze", 11, NULL, s_axes_down11},
    {"Constant", 12, NULL, s_constant_down12},
    {"Dropout", 12, s_dropout_up12, s_dropout_down12},
    {"Hardmax", 13, s_softmax_up13, s_softmax_down13},
    {"LogSoftmax", 13, s_softmax_up13, s_softmax_down13},
    {"Max", 8, NULL, s_variadic_down8},
    {"Mean", 8, NULL, s_variadic_down8},
    {"Min", 8, NULL, s_variadic_down8},
    {"Pad", 11, s_pad_up, s_pad_down},
    {"ReduceSum", 13, s_reducesum_up, s_reducesum_down},
    {"Reshape", 14, NULL, s_reshape_down14},
    {"Resize", 10, NULL, s_resize_to_upsample},
    {"Resize", 11, s_resize_up11, s_resize_down11},
    {"Resize", 13, s_resize_up13, s_resize_down13},
    {"RoiAlign", 16, s_roialign_up16, s_roialign_down16},
    {"Scan", 9, s_refuse_scan, s_refuse_scan},
    {"Scatter", 11, s_scatter_up, NULL},
    {"ScatterElements", 11, NULL, s_scatter_down},
    {"ScatterElements", 16, NULL, s_scatter_down16},
    {"Slice", 10, s_slice_up, s_slice_down},
    {"Softmax", 13, s_softmax_up13, s_softmax_down13},
    {"Split", 13, s_split_up, s_split_down},
    {"Squeeze", 13, s_squeeze_up, s_squeeze_down},
    {"Sum", 8, NULL, s_variadic_down8},
    {"TopK", 10, s_topk_up, s_topk_down},
    {"TopK", 11, NULL, s_topk_down11},
    {"Unsqueeze", 13, s_squeeze_up, s_squeeze_down},
    {"Upsample", 9, s_upsample_up9, s_upsample_down9},
    {"Upsample", 10, s_upsample_to_resize, NULL},
};

/* the next boundary of op strictly after v and at most limit (upward), or NULL */
static const s_boundary_t *s_next_up(const char *op, int v, int limit)
{
    const s_boundary_t *best = NULL;
    for (size_t i = 0; i < FERRY_ARRAY_LEN(s_boundaries); i++) {
        const s_boundary_t *b = &s_boundaries[i];
        if (!strcmp(b->op, op) && b->version > v && b->version <= limit && (!best || b->version < best->version))
            best = b;
    }
    return best;
}

/* the next boundary of op at most v and strictly after limit (downward), or NULL */
static const s_boundary_t *s_next_down(const char *op, int v, int limit)
{
    const s_boundary_t *best = NULL;
    for (size_t i = 0; i < FERRY_ARRAY_LEN(s_boundaries); i++) {
        const s_boundary_t *b = &s_boundaries[i];
        if (!strcmp(b->op, op) && b->version <= v && b->version > limit && (!best || b->version > best->version))
            best = b;
    }
    return best;
}

/* ---- graph walk ------------------------------------------------------------------------------ */

static int s_convert_graph(s_cvt_t *c, Onnx__GraphProto *g, const char *graph);

static int s_check_target(s_cvt_t *c, Onnx__NodeProto *n)
{
    const char *op = s_str(n->op_type);
    const ferry_onnx_op_def_t *def = ferry_onnx_op_find("", op, c->to);
    if (!def) {
        const ferry_onnx_op_def_t *any = ferry_onnx_op_any("", op);
        if (any)
            return s_refuse(c, n, "%s does not exist before opset %d", op, any->since_version);
        return s_refuse(c, n, "%s is not an operator of the default domain", op);
    }
    if (def->deprecated)
        return s_refuse(c, n, "%s was removed at opset %d and ferry has no replacement for it", op,
                        def->since_version);
    for (size_t i = 0; i < n->n_attribute; i++)
        if (!ferry_onnx_op_attr(def, s_str(n->attribute[i]->name)))
            return s_refuse(c, n, "attribute '%s' does not exist in %s-%d", s_str(n->attribute[i]->name), op,
                            def->since_version);
    if ((long)n->n_input > def->max_input)
        return s_refuse(c, n, "%zu inputs, %s-%d takes at most %d", n->n_input, op, def->since_version,
                        def->max_input);
    if ((long)n->n_output > def->max_output)
        return s_refuse(c, n, "%zu outputs, %s-%d produces at most %d", n->n_output, op, def->since_version,
                        def->max_output);
    /* element types the target version accepts (types were widened over the versions) */
    for (int pass = 0; pass < 2; pass++) {
        bool is_output = pass == 1;
        size_t count = is_output ? n->n_output : n->n_input;
        for (size_t i = 0; i < count; i++) {
            const char *name = is_output ? s_str(n->output[i]) : s_input(n, i);
            int32_t dt = *name ? s_type_of(c, name).elem_type : 0;
            uint32_t mask = ferry_onnx_op_type_mask(def, is_output, i);
            if (dt > 0 && dt < 31 && mask && !(mask & FERRY_ONNX_TYPE_OTHER) && !(mask & (1u << dt)))
                return s_refuse(c, n, "%s-%d does not accept %s for %s %zu ('%s')", op, def->since_version,
                                ferry_onnx_type_name(dt), is_output ? "output" : "input", i, name);
        }
    }
    return 0;
}

static int s_convert_node(s_cvt_t *c, Onnx__NodeProto *n)
{
    for (size_t i = 0; i < n->n_attribute; i++) {
        Onnx__AttributeProto *a = n->attribute[i];
        char sub[512];
        if (a->g) {
            snprintf(sub, sizeof sub, "%s/node %ld/%s", c->graph, c->index, s_str(a->name));
            int rc = s_convert_graph(c, a->g, sub);
            if (rc < 0)
                return rc;
        }
        for (size_t k = 0; k < a->n_graphs; k++) {
            snprintf(sub, sizeof sub, "%s/node %ld/%s[%zu]", c->graph, c->index, s_str(a->name), k);
            int rc = s_convert_graph(c, a->graphs[k], sub);
            if (rc < 0)
                return rc;
        }
    }
    if (*ferry_onnx_domain_canonical(n->domain)) {
        s_emit(c, n); /* other domains keep their own opset */
        return 0;
    }
    const char *op = s_str(n->op_type);
    const ferry_onnx_op_def_t *def = ferry_onnx_op_find("", op, c->from);
    if (!def)
        return s_refuse(c, n, "%s is not defined at the model's opset %d", op, c->from);
    bool changed = false, emitted = false;
    int v = c->from;
    for (;;) {
        char opname[128];
        snprintf(opname, sizeof opname, "%s", s_str(n->op_type));
        const s_boundary_t *b = c->to > c->from ? s_next_up(opname, v, c->to) : s_next_down(opname, v, c->to);
        if (!b)
            break;
        s_adapt_fn fn = c->to > c->from ? b->up : b->down;
        if (fn) {
            int rc = fn(c, n);
            if (rc < 0)
                return rc;
            if (rc > 0)
                emitted = true;
            changed = true;
        }
        v = c->to > c->from ? b->version : b->version - 1;
    }
    int rc = s_check_target(c, n);
    if (rc < 0)
        return rc;
    if (changed)
        c->report->nodes_rewritten++;
    if (!emitted)
        s_emit(c, n);
    return 0;
}

static int s_convert_graph(s_cvt_t *c, Onnx__GraphProto *g, const char *graph)
{
    /* the nodes of this graph are rebuilt into a fresh array; save the caller's */
    Onnx__NodeProto **saved = c->emit, **saved_added = c->added;
    size_t saved_n = c->n_emit, saved_cap = c->cap_emit, saved_n_added = c->n_added;
    c->added = NULL;
    c->n_added = 0;
    const char *saved_graph = c->graph;
    long saved_index = c->index;
    c->emit = NULL;
    c->n_emit = c->cap_emit = 0;
    c->graph = graph;
    int rc = 0;
    size_t i;
    for (i = 0; i < g->n_node; i++) {
        c->index = (long)i;
        if ((rc = s_convert_node(c, g->node[i])) < 0)
            break;
    }
    if (rc < 0) {
        /* the original nodes stay owned by g; free only the new ones */
        for (size_t k = 0; k < c->n_added; k++)
            ferry_onnx_free_message(c->model, &c->added[k]->base);
        free(c->emit);
    } else {
        free(g->node);
        g->node = c->emit;
        g->n_node = c->n_emit;
    }
    free(c->added);
    c->added = saved_added;
    c->n_added = saved_n_added;
    c->emit = saved;
    c->n_emit = saved_n;
    c->cap_emit = saved_cap;
    c->graph = saved_graph;
    c->index = saved_index;
    return rc;
}

int ferry_onnx_opset_max(void)
{
    return ferry_onnx_opset_latest;
}

/* IR version that came with each opset (onnx/helper.py VERSION_TABLE). */
static int64_t s_ir_for_opset(int opset)
{
    static const int64_t ir[] = {[7] = 3, [8] = 3, [9] = 4, [10] = 5, [11] = 6, [12] = 7, [13] = 7, [14] = 7,
                                 [15] = 8, [16] = 8, [17] = 8};
    if (opset >= 7 && (size_t)opset < FERRY_ARRAY_LEN(ir))
        return ir[opset];
    return 8;
}

int ferry_onnx_convert_opset(ferry_onnx_t *model, int target, ferry_onnx_convert_report_t *report, ferry_err_t *err)
{
    Onnx__ModelProto *mp = ferry_onnx_proto(model);
    memset(report, 0, sizeof *report);
    if (target < FERRY_ONNX_OPSET_MIN || target > ferry_onnx_opset_latest)
        return ferry_err(err, "target opset %d is outside the supported range %d..%d", target, FERRY_ONNX_OPSET_MIN,
                         ferry_onnx_opset_latest),
               -ERANGE;
    Onnx__OperatorSetIdProto *imp = NULL;
    for (size_t i = 0; i < mp->n_opset_import; i++)
        if (!*ferry_onnx_domain_canonical(mp->opset_import[i]->domain))
            imp = mp->opset_import[i];
    if (!imp || !imp->has_version)
        return ferry_err(err, "the model imports no default-domain (ai.onnx) opset"), -EINVAL;
    if (imp->version < FERRY_ONNX_OPSET_MIN || imp->version > ferry_onnx_opset_latest)
        return ferry_err(err, "the model's opset %lld is outside the supported range %d..%d",
                         (long long)imp->version, FERRY_ONNX_OPSET_MIN, ferry_onnx_opset_latest),
               -ENOTSUP;
    if (!mp->graph)
        return ferry_err(err, "the model has no graph"), -EINVAL;
    s_cvt_t c = {.model = model, .mp = mp, .err = err, .report = report, .from = (int)imp->version, .to = target};
    report->from_opset = c.from;
    report->to_opset = target;
    int rc = 0;
    if (c.from != c.to) {
        s_index_graph(&c, mp->graph);
        rc = s_convert_graph(&c, mp->graph, "main");
    }
    if (rc == 0) {
        imp->version = target;
        int64_t need = s_ir_for_opset(target);
        if (!mp->has_ir_version || mp->ir_version < need) {
            mp->has_ir_version = 1;
            mp->ir_version = need;
        }
    }
    ferry_onnx_map_free(&c.names);
    ferry_onnx_map_free(&c.types);
    ferry_onnx_map_free(&c.consts);
    free(c.vtypes);
    free(c.const_tensors);
    for (size_t i = 0; i < c.n_owned; i++)
        free(c.owned[i]);
    free(c.owned);
    return rc;
}
