/* convert_graph.c -- builds ONNX protobuf-c structures for the PMML converter */
#include "model/convert_graph.h"
#include "util/common.h"
#include "util/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_IR_VERSION 8

void ferry_cg_init(ferry_cg_t *g)
{
    memset(g, 0, sizeof *g);
}

static void s_free_list(void **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        protobuf_c_message_free_unpacked((ProtobufCMessage *)v[i], NULL);
    free(v);
}

void ferry_cg_clear(ferry_cg_t *g)
{
    s_free_list((void **)g->nodes, g->n_nodes);
    s_free_list((void **)g->inits, g->n_inits);
    s_free_list((void **)g->inputs, g->n_inputs);
    s_free_list((void **)g->outputs, g->n_outputs);
    memset(g, 0, sizeof *g);
}

static char *s_fresh(ferry_cg_t *g)
{
    return ferry_asprintf("t%u", g->counter++);
}

Onnx__NodeProto *ferry_cg_node(ferry_cg_t *g, const char *op, const char *domain, const char *const *in, size_t n_in,
                               const char *out)
{
    Onnx__NodeProto *n = ferry_malloc(sizeof *n);
    onnx__node_proto__init(n);
    n->op_type = ferry_strdup(op);
    n->domain = ferry_strdup(domain ? domain : "");
    n->n_input = n_in;
    n->input = ferry_calloc(n_in + 1, sizeof(char *));
    for (size_t i = 0; i < n_in; i++)
        n->input[i] = ferry_strdup(in[i] ? in[i] : "");
    n->n_output = 1;
    n->output = ferry_calloc(1, sizeof(char *));
    n->output[0] = out ? ferry_strdup(out) : s_fresh(g);
    n->name = ferry_asprintf("n%zu_%s", g->n_nodes, op);
    if (g->n_nodes == g->cap_nodes) {
        g->cap_nodes = g->cap_nodes ? g->cap_nodes * 2 : 64;
        g->nodes = ferry_reallocarray(g->nodes, g->cap_nodes, sizeof *g->nodes);
    }
    g->nodes[g->n_nodes++] = n;
    return n;
}

const char *ferry_cg_out(const Onnx__NodeProto *n)
{
    return n->output[0];
}

const char *ferry_cg_op1(ferry_cg_t *g, const char *op, const char *a)
{
    const char *in[] = {a};
    return ferry_cg_out(ferry_cg_node(g, op, NULL, in, 1, NULL));
}

const char *ferry_cg_op2(ferry_cg_t *g, const char *op, const char *a, const char *b)
{
    const char *in[] = {a, b};
    return ferry_cg_out(ferry_cg_node(g, op, NULL, in, 2, NULL));
}

const char *ferry_cg_op3(ferry_cg_t *g, const char *op, const char *a, const char *b, const char *c)
{
    const char *in[] = {a, b, c};
    return ferry_cg_out(ferry_cg_node(g, op, NULL, in, 3, NULL));
}

static Onnx__AttributeProto *s_attr(Onnx__NodeProto *n, const char *name, Onnx__AttributeProto__AttributeType type)
{
    Onnx__AttributeProto *a = ferry_malloc(sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = ferry_strdup(name);
    a->has_type = 1;
    a->type = type;
    n->attribute = ferry_reallocarray(n->attribute, n->n_attribute + 1, sizeof *n->attribute);
    n->attribute[n->n_attribute++] = a;
    return a;
}

void ferry_cg_attr_int(Onnx__NodeProto *n, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = s_attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    a->has_i = 1;
    a->i = v;
}

void ferry_cg_attr_float(Onnx__NodeProto *n, const char *name, float v)
{
    Onnx__AttributeProto *a = s_attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    a->has_f = 1;
    a->f = v;
}

void ferry_cg_attr_ints(Onnx__NodeProto *n, const char *name, const int64_t *v, size_t count)
{
    Onnx__AttributeProto *a = s_attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    a->n_ints = count;
    a->ints = ferry_malloc(sizeof(int64_t) * (count + 1));
    if (count)
        memcpy(a->ints, v, sizeof(int64_t) * count);
}

void ferry_cg_attr_floats(Onnx__NodeProto *n, const char *name, const float *v, size_t count)
{
    Onnx__AttributeProto *a = s_attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS);
    a->n_floats = count;
    a->floats = ferry_malloc(sizeof(float) * (count + 1));
    if (count)
        memcpy(a->floats, v, sizeof(float) * count);
}

void ferry_cg_attr_strings(Onnx__NodeProto *n, const char *name, const char *const *v, size_t count)
{
    Onnx__AttributeProto *a = s_attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS);
    a->n_strings = count;
    a->strings = ferry_calloc(count + 1, sizeof(ProtobufCBinaryData));
    for (size_t i = 0; i < count; i++) {
        size_t len = strlen(v[i]);
        a->strings[i].data = (uint8_t *)ferry_strndup(v[i], len);
        a->strings[i].len = len;
    }
}

void ferry_cg_attr_tensor(Onnx__NodeProto *n, const char *name, Onnx__TensorProto *t)
{
    Onnx__AttributeProto *a = s_attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
    a->t = t;
}

static Onnx__TensorProto *s_tensor(int32_t type, const int64_t *dims, int ndim)
{
    Onnx__TensorProto *t = ferry_malloc(sizeof *t);
    onnx__tensor_proto__init(t);
    t->has_data_type = 1;
    t->data_type = type;
    t->n_dims = (size_t)ndim;
    t->dims = ferry_malloc(sizeof(int64_t) * ((size_t)ndim + 1));
    for (int i = 0; i < ndim; i++)
        t->dims[i] = dims[i];
    return t;
}

static size_t s_count(const int64_t *dims, int ndim)
{
    size_t c = 1;
    for (int i = 0; i < ndim; i++)
        c *= (size_t)dims[i];
    return c;
}

/* raw_data little-endian (the hosts ferry builds on are little-endian, as the engine assumes) */
static void s_raw(Onnx__TensorProto *t, const void *v, size_t bytes)
{
    t->has_raw_data = 1;
    t->raw_data.len = bytes;
    t->raw_data.data = ferry_malloc(bytes + 1);
    if (bytes)
        memcpy(t->raw_data.data, v, bytes);
}

Onnx__TensorProto *ferry_cg_tensor_f64(const double *v, const int64_t *dims, int ndim)
{
    Onnx__TensorProto *t = s_tensor(ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE, dims, ndim);
    s_raw(t, v, s_count(dims, ndim) * sizeof(double));
    return t;
}

Onnx__TensorProto *ferry_cg_tensor_i64(const int64_t *v, const int64_t *dims, int ndim)
{
    Onnx__TensorProto *t = s_tensor(ONNX__TENSOR_PROTO__DATA_TYPE__INT64, dims, ndim);
    s_raw(t, v, s_count(dims, ndim) * sizeof(int64_t));
    return t;
}

Onnx__TensorProto *ferry_cg_tensor_u8(const uint8_t *v, const int64_t *dims, int ndim)
{
    Onnx__TensorProto *t = s_tensor(ONNX__TENSOR_PROTO__DATA_TYPE__UINT8, dims, ndim);
    s_raw(t, v, s_count(dims, ndim));
    return t;
}

Onnx__TensorProto *ferry_cg_tensor_str(const char *const *v, const int64_t *dims, int ndim)
{
    Onnx__TensorProto *t = s_tensor(ONNX__TENSOR_PROTO__DATA_TYPE__STRING, dims, ndim);
    size_t c = s_count(dims, ndim);
    t->n_string_data = c;
    t->string_data = ferry_calloc(c + 1, sizeof(ProtobufCBinaryData));
    for (size_t i = 0; i < c; i++) {
        size_t len = strlen(v[i]);
        t->string_data[i].data = (uint8_t *)ferry_strndup(v[i], len);
        t->string_data[i].len = len;
    }
    return t;
}

static const char *s_add_init(ferry_cg_t *g, Onnx__TensorProto *t)
{
    t->name = s_fresh(g);
    if (g->n_inits == g->cap_inits) {
        g->cap_inits = g->cap_inits ? g->cap_inits * 2 : 64;
        g->inits = ferry_reallocarray(g->inits, g->cap_inits, sizeof *g->inits);
    }
    g->inits[g->n_inits++] = t;
    return t->name;
}

const char *ferry_cg_const_f64(ferry_cg_t *g, const double *v, const int64_t *dims, int ndim)
{
    return s_add_init(g, ferry_cg_tensor_f64(v, dims, ndim));
}

const char *ferry_cg_const_i64(ferry_cg_t *g, const int64_t *v, const int64_t *dims, int ndim)
{
    return s_add_init(g, ferry_cg_tensor_i64(v, dims, ndim));
}

const char *ferry_cg_const_str(ferry_cg_t *g, const char *const *v, const int64_t *dims, int ndim)
{
    return s_add_init(g, ferry_cg_tensor_str(v, dims, ndim));
}

const char *ferry_cg_scalar(ferry_cg_t *g, double v)
{
    static const int64_t dims[] = {1, 1};
    return ferry_cg_const_f64(g, &v, dims, 2);
}

static Onnx__ValueInfoProto *s_value_info(const char *name, int32_t elem_type, int64_t cols)
{
    Onnx__ValueInfoProto *vi = ferry_malloc(sizeof *vi);
    onnx__value_info_proto__init(vi);
    vi->name = ferry_strdup(name);
    Onnx__TypeProto *tp = ferry_malloc(sizeof *tp);
    onnx__type_proto__init(tp);
    Onnx__TypeProto__Tensor *tt = ferry_malloc(sizeof *tt);
    onnx__type_proto__tensor__init(tt);
    tt->has_elem_type = 1;
    tt->elem_type = elem_type;
    Onnx__TensorShapeProto *sh = ferry_malloc(sizeof *sh);
    onnx__tensor_shape_proto__init(sh);
    sh->n_dim = 2;
    sh->dim = ferry_calloc(2, sizeof *sh->dim);
    for (int i = 0; i < 2; i++) {
        Onnx__TensorShapeProto__Dimension *d = ferry_malloc(sizeof *d);
        onnx__tensor_shape_proto__dimension__init(d);
        if (i == 0 || cols < 0) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d->dim_param = ferry_strdup(i == 0 ? "N" : "C");
        } else {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = cols;
        }
        sh->dim[i] = d;
    }
    tt->shape = sh;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    vi->type = tp;
    return vi;
}

void ferry_cg_input(ferry_cg_t *g, const char *name, int32_t elem_type, int64_t cols)
{
    g->inputs = ferry_reallocarray(g->inputs, g->n_inputs + 1, sizeof *g->inputs);
    g->inputs[g->n_inputs++] = s_value_info(name, elem_type, cols);
}

void ferry_cg_output(ferry_cg_t *g, const char *name, int32_t elem_type, int64_t cols)
{
    g->outputs = ferry_reallocarray(g->outputs, g->n_outputs + 1, sizeof *g->outputs);
    g->outputs[g->n_outputs++] = s_value_info(name, elem_type, cols);
}

static Onnx__OperatorSetIdProto *s_opset(const char *domain, int version)
{
    Onnx__OperatorSetIdProto *o = ferry_malloc(sizeof *o);
    onnx__operator_set_id_proto__init(o);
    o->domain = ferry_strdup(domain);
    o->has_version = 1;
    o->version = version;
    return o;
}

Onnx__ModelProto *ferry_cg_model(ferry_cg_t *g, int opset, int ml_opset, const char *graph_name)
{
    Onnx__ModelProto *m = ferry_malloc(sizeof *m);
    onnx__model_proto__init(m);
    m->has_ir_version = 1;
    m->ir_version = S_IR_VERSION;
    m->producer_name = ferry_strdup("ferry");
    m->producer_version = ferry_strdup(FERRY_VERSION);
    m->n_opset_import = 2;
    m->opset_import = ferry_calloc(2, sizeof *m->opset_import);
    m->opset_import[0] = s_opset("", opset);
    m->opset_import[1] = s_opset("ai.onnx.ml", ml_opset);
    Onnx__GraphProto *gr = ferry_malloc(sizeof *gr);
    onnx__graph_proto__init(gr);
    gr->name = ferry_strdup(graph_name);
    gr->n_node = g->n_nodes;
    gr->node = g->nodes;
    gr->n_initializer = g->n_inits;
    gr->initializer = g->inits;
    gr->n_input = g->n_inputs;
    gr->input = g->inputs;
    gr->n_output = g->n_outputs;
    gr->output = g->outputs;
    m->graph = gr;
    memset(g, 0, sizeof *g);
    return m;
}

void ferry_cg_metadata(Onnx__ModelProto *m, const char *key, const char *value)
{
    Onnx__StringStringEntryProto *e = ferry_malloc(sizeof *e);
    onnx__string_string_entry_proto__init(e);
    e->key = ferry_strdup(key);
    e->value = ferry_strdup(value);
    m->metadata_props = ferry_reallocarray(m->metadata_props, m->n_metadata_props + 1, sizeof *m->metadata_props);
    m->metadata_props[m->n_metadata_props++] = e;
}
