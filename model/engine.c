/* engine.c -- ferry's ONNX interpreter: compiles a graph into a slot-resolved plan and runs it */
#include "model/engine.h"
#include "model/engine_impl.h"
#include "util/buf.h"
#include "util/mem.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FERRY_ML_DOMAIN "ai.onnx.ml"

typedef struct {
    char *name;
    ferry_tensor_t *tensor;
    bool is_defined;   /* produced by an input, initializer or earlier node */
    bool is_const;     /* initializer or folded Constant */
} s_slot_t;

typedef struct {
    int slot;
    int32_t dtype;     /* declared element type, FERRY_DT_UNDEFINED if unknown */
    int ndim;          /* declared rank, -1 if unknown */
    int64_t dims[FERRY_TENSOR_MAX_DIMS]; /* declared dims, -1 where symbolic */
    bool is_set;
} s_io_t;

struct ferry_engine {
    const Onnx__ModelProto *model;
    s_slot_t *slots;
    int n_slots, cap_slots;
    int *index;          /* hash table of slot numbers, -1 = empty */
    size_t index_cap;    /* a power of two */
    ferry_node_t *nodes;
    int n_nodes;
    s_io_t *inputs;
    int n_inputs;
    s_io_t *outputs;
    int n_outputs;
    ferry_tensor_t **scratch; /* targets of unused node outputs */
    int n_scratch;
};

static const ferry_op_def_t *const s_tables[] = {ferry_engine_ops_math, ferry_engine_ops_shape,
                                                 ferry_engine_ops_nn, ferry_engine_ops_ml,
                                                 ferry_engine_ops_index};

static bool s_domain_eq(const char *a, const char *b)
{
    if (!a || !strcmp(a, "ai.onnx"))
        a = "";
    if (!b || !strcmp(b, "ai.onnx"))
        b = "";
    return !strcmp(a, b);
}

static const ferry_op_def_t *s_find_op(const char *domain, const char *op_type)
{
    for (size_t t = 0; t < FERRY_ARRAY_LEN(s_tables); t++)
        for (const ferry_op_def_t *d = s_tables[t]; d->name; d++)
            if (!strcmp(d->name, op_type) && s_domain_eq(d->domain, domain))
                return d;
    return NULL;
}

bool ferry_engine_supports(const char *domain, const char *op_type, int opset)
{
    const ferry_op_def_t *d = s_find_op(domain, op_type);
    return d && opset >= d->min_opset;
}

char *ferry_engine_op_list(void)
{
    ferry_buf_t b = FERRY_BUF_INIT;
    for (size_t t = 0; t < FERRY_ARRAY_LEN(s_tables); t++)
        for (const ferry_op_def_t *d = s_tables[t]; d->name; d++)
            ferry_buf_printf(&b, "%s:%s\n", *d->domain ? d->domain : "ai.onnx", d->name);
    return ferry_buf_steal(&b);
}

/* ---- attributes -------------------------------------------------------------------------- */

const Onnx__AttributeProto *ferry_attr(const ferry_node_t *n, const char *name)
{
    for (size_t i = 0; i < n->proto->n_attribute; i++) {
        const Onnx__AttributeProto *a = n->proto->attribute[i];
        if (a && a->name && !strcmp(a->name, name))
            return a;
    }
    return NULL;
}

static const Onnx__AttributeProto *s_attr_typed(ferry_node_t *n, const char *name, int type)
{
    const Onnx__AttributeProto *a = ferry_attr(n, name);
    if (!a)
        return NULL;
    if (a->type != (Onnx__AttributeProto__AttributeType)type) {
        n->bad_attr = a->name;
        return NULL;
    }
    return a;
}

int64_t ferry_attr_int(ferry_node_t *n, const char *name, int64_t def)
{
    const Onnx__AttributeProto *a = s_attr_typed(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    return a ? a->i : def;
}

float ferry_attr_float(ferry_node_t *n, const char *name, float def)
{
    const Onnx__AttributeProto *a = s_attr_typed(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    return a ? a->f : def;
}

char *ferry_attr_string(ferry_node_t *n, const char *name, const char *def)
{
    const Onnx__AttributeProto *a = s_attr_typed(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    if (a)
        return ferry_strndup(a->s.data ? (const char *)a->s.data : "", a->s.len);
    return def ? ferry_strdup(def) : NULL;
}

const int64_t *ferry_attr_ints(ferry_node_t *n, const char *name, size_t *count)
{
    const Onnx__AttributeProto *a = s_attr_typed(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    *count = a ? a->n_ints : 0;
    return a ? a->ints : NULL;
}

const float *ferry_attr_floats(ferry_node_t *n, const char *name, size_t *count)
{
    const Onnx__AttributeProto *a = s_attr_typed(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS);
    *count = a ? a->n_floats : 0;
    return a ? a->floats : NULL;
}

const ProtobufCBinaryData *ferry_attr_strings(ferry_node_t *n, const char *name, size_t *count)
{
    const Onnx__AttributeProto *a = s_attr_typed(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS);
    *count = a ? a->n_strings : 0;
    return a ? a->strings : NULL;
}

const Onnx__TensorProto *ferry_attr_tensor(ferry_node_t *n, const char *name)
{
    const Onnx__AttributeProto *a = s_attr_typed(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
    return a ? a->t : NULL;
}

/* ---- operator helpers -------------------------------------------------------------------- */

int ferry_op_fail(const ferry_node_t *n, ferry_err_t *err, const char *fmt, ...)
{
    if (!err)
        return -1;
    char msg[FERRY_ERR_MAX - 200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return ferry_err(err, "node '%.80s' (%s%s%s): %s", n->name, n->def && *n->def->domain ? n->def->domain : "",
                     n->def && *n->def->domain ? ":" : "", n->proto->op_type, msg);
}

ferry_tensor_t *ferry_op_input(const ferry_node_t *n, int k, ferry_err_t *err)
{
    if (k >= n->n_in || !n->in[k]) {
        ferry_op_fail(n, err, "input %d is required", k);
        return NULL;
    }
    if (n->in[k]->kind != FERRY_VALUE_TENSOR) {
        ferry_op_fail(n, err, "input %d is a sequence of maps, a tensor is expected", k);
        return NULL;
    }
    return n->in[k];
}

int ferry_op_check_type(const ferry_node_t *n, int k, uint32_t type_mask, ferry_err_t *err)
{
    const ferry_tensor_t *t = ferry_op_input(n, k, err);
    if (!t)
        return -1;
    if (t->dtype < 0 || t->dtype >= 32 || !(type_mask & FERRY_DTM(t->dtype)))
        return ferry_op_fail(n, err, "input %d has element type %s, which this operator does not accept", k,
                             ferry_dtype_name(t->dtype));
    return 0;
}

int ferry_broadcast_shape(const ferry_node_t *n, int andim, const int64_t *adims, int bndim,
                          const int64_t *bdims, int *ndim, int64_t *dims, ferry_err_t *err)
{
    int nd = andim > bndim ? andim : bndim;
    for (int i = 0; i < nd; i++) {
        int ia = i - (nd - andim), ib = i - (nd - bndim);
        int64_t da = ia >= 0 ? adims[ia] : 1, db = ib >= 0 ? bdims[ib] : 1;
        if (da == db || db == 1)
            dims[i] = da;
        else if (da == 1)
            dims[i] = db;
        else {
            char sa[160] = "", sb[160] = "";
            size_t oa = 0, ob = 0;
            for (int j = 0; j < andim && oa < sizeof(sa); j++)
                oa += (size_t)snprintf(sa + oa, sizeof(sa) - oa, "%s%lld", j ? "," : "", (long long)adims[j]);
            for (int j = 0; j < bndim && ob < sizeof(sb); j++)
                ob += (size_t)snprintf(sb + ob, sizeof(sb) - ob, "%s%lld", j ? "," : "", (long long)bdims[j]);
            return ferry_op_fail(n, err, "shapes [%s] and [%s] cannot be broadcast (axis %d: %lld vs %lld)", sa,
                                 sb, i, (long long)da, (long long)db);
        }
    }
    *ndim = nd;
    return 0;
}

void ferry_broadcast_strides(const ferry_tensor_t *t, int ndim, const int64_t *dims, int64_t *strides)
{
    int64_t s = 1;
    for (int i = ndim - 1; i >= 0; i--) {
        int it = i - (ndim - t->ndim);
        if (it < 0 || t->dims[it] == 1) {
            strides[i] = 0;
        } else {
            strides[i] = s;
        }
        if (it >= 0)
            s *= t->dims[it];
    }
    (void)dims;
}

int ferry_op_read_ints(const ferry_node_t *n, int k, int64_t **vals, int64_t *count, ferry_err_t *err)
{
    const ferry_tensor_t *t = ferry_op_input(n, k, err);
    if (!t)
        return -1;
    if (t->dtype != FERRY_DT_INT64 && t->dtype != FERRY_DT_INT32)
        return ferry_op_fail(n, err, "input %d must be int64 or int32, got %s", k, ferry_dtype_name(t->dtype));
    if (t->ndim > 1)
        return ferry_op_fail(n, err, "input %d must be 1-D, got rank %d", k, t->ndim);
    *vals = ferry_malloc(sizeof(int64_t) * (size_t)(t->count + 1));
    for (int64_t i = 0; i < t->count; i++)
        (*vals)[i] = ferry_tensor_get_i64(t, i);
    *count = t->count;
    return 0;
}

int ferry_op_axis(const ferry_node_t *n, int64_t axis, int rank, int *out, ferry_err_t *err)
{
    if (axis < -(int64_t)rank || axis >= rank)
        return ferry_op_fail(n, err, "axis %lld is out of range for rank %d", (long long)axis, rank);
    *out = (int)(axis < 0 ? axis + rank : axis);
    return 0;
}

/* ---- plan ---------------------------------------------------------------------------------- */

/* Value names -> slots: an open-addressing hash table (FNV-1a), rebuilt at 2x growth, so
 * planning a graph is O(values) even for hostile models with 10^6 nodes. */
static uint64_t s_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static int s_slot_find(const ferry_engine_t *e, const char *name)
{
    if (!e->index_cap)
        return -1;
    for (size_t i = s_hash(name) & (e->index_cap - 1);; i = (i + 1) & (e->index_cap - 1)) {
        int s = e->index[i];
        if (s < 0)
            return -1;
        if (!strcmp(e->slots[s].name, name))
            return s;
    }
}

static void s_index_put(ferry_engine_t *e, int slot)
{
    size_t i = s_hash(e->slots[slot].name) & (e->index_cap - 1);
    while (e->index[i] >= 0)
        i = (i + 1) & (e->index_cap - 1);
    e->index[i] = slot;
}

static int s_slot_add(ferry_engine_t *e, const char *name)
{
    if (e->n_slots == e->cap_slots) {
        e->cap_slots = e->cap_slots ? 2 * e->cap_slots : 64;
        e->slots = ferry_reallocarray(e->slots, (size_t)e->cap_slots, sizeof(s_slot_t));
    }
    s_slot_t *s = &e->slots[e->n_slots];
    memset(s, 0, sizeof(*s));
    s->name = ferry_strdup(name);
    s->tensor = ferry_tensor_new();
    int slot = e->n_slots++;
    if ((size_t)e->n_slots * 2 > e->index_cap) { /* keep the load factor <= 1/2 */
        free(e->index);
        e->index_cap = e->index_cap ? 2 * e->index_cap : 128;
        e->index = ferry_malloc(sizeof(int) * e->index_cap);
        for (size_t i = 0; i < e->index_cap; i++)
            e->index[i] = -1;
        for (int k = 0; k < e->n_slots; k++)
            s_index_put(e, k);
    } else {
        s_index_put(e, slot);
    }
    return slot;
}

static int s_model_opset(const Onnx__ModelProto *m, const char *domain)
{
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = m->opset_import[i];
        if (o && s_domain_eq(o->domain, domain))
            return o->has_version ? (int)o->version : 1;
    }
    return -1;
}

static void s_io_from_value_info(s_io_t *io, const Onnx__ValueInfoProto *vi)
{
    io->dtype = FERRY_DT_UNDEFINED;
    io->ndim = -1;
    if (!vi->type || vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !vi->type->tensor_type)
        return;
    const Onnx__TypeProto__Tensor *tt = vi->type->tensor_type;
    io->dtype = tt->elem_type;
    if (tt->shape && tt->shape->n_dim <= FERRY_TENSOR_MAX_DIMS) {
        io->ndim = (int)tt->shape->n_dim;
        for (size_t i = 0; i < tt->shape->n_dim; i++) {
            const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
            io->dims[i] = d && d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE ? d->dim_value : -1;
        }
    }
}

static void s_node_free(ferry_node_t *n)
{
    if (n->state && n->state_free)
        n->state_free(n->state);
    n->state = NULL;
    for (size_t i = 0; i < FERRY_ARRAY_LEN(n->tmp); i++)
        ferry_tensor_clear(&n->tmp[i]);
    free(n->in);
    free(n->out);
}

void ferry_engine_destroy(ferry_engine_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ferry_engine_t *e = *self_p;
    for (int i = 0; i < e->n_nodes; i++)
        s_node_free(&e->nodes[i]);
    free(e->nodes);
    for (int i = 0; i < e->n_slots; i++) {
        free(e->slots[i].name);
        ferry_tensor_destroy(&e->slots[i].tensor);
    }
    free(e->slots);
    free(e->index);
    for (int i = 0; i < e->n_scratch; i++)
        ferry_tensor_destroy(&e->scratch[i]);
    free(e->scratch);
    free(e->inputs);
    free(e->outputs);
    free(e);
    *self_p = NULL;
}

static int s_plan_node(ferry_engine_t *e, ferry_node_t *n, const Onnx__NodeProto *np, int index, int *code,
                       ferry_err_t *err)
{
    n->proto = np;
    if (!np->op_type)
        return ferry_err(err, "node %d has no op_type", index);
    n->name = np->name && *np->name ? np->name : "?";
    for (size_t k = 0; !(np->name && *np->name) && k < np->n_output; k++)
        if (np->output[k] && *np->output[k]) {
            n->name = np->output[k]; /* unnamed node: called after its first named output */
            break;
        }
    const char *domain = np->domain ? np->domain : "";
    if (np->n_input > FERRY_ENGINE_MAX_NODE_IO || np->n_output > FERRY_ENGINE_MAX_NODE_IO)
        return ferry_err(err, "node '%.80s' (%s): more than %d inputs or outputs", n->name, np->op_type,
                         FERRY_ENGINE_MAX_NODE_IO);
    int opset = s_model_opset(e->model, domain);
    const ferry_op_def_t *def = s_find_op(domain, np->op_type);
    if (!def || opset < 0 || opset < def->min_opset) {
        *code = FERRY_ENGINE_EUNSUPPORTED;
        if (def && opset < 0)
            return ferry_err(err, "node '%.80s': the model imports no opset for domain '%s' of operator %s",
                             n->name, *domain ? domain : "ai.onnx", np->op_type);
        if (def)
            return ferry_err(err, "node '%.80s': operator %s of domain '%s' is supported from opset %d, the "
                                  "model imports opset %d", n->name, np->op_type, *domain ? domain : "ai.onnx",
                             def->min_opset, opset);
        return ferry_err(err, "node '%.80s': operator %s of domain '%s' (opset %d) is not supported by ferry's "
                              "engine", n->name, np->op_type, *domain ? domain : "ai.onnx", opset);
    }
    if (np->n_output < 1)
        return ferry_err(err, "node '%.80s' (%s) has no outputs", n->name, np->op_type);
    n->def = def;
    n->opset = opset;
    n->n_in = (int)np->n_input;
    n->n_out = (int)np->n_output;
    n->in = ferry_calloc((size_t)n->n_in + 1, sizeof(ferry_tensor_t *));
    n->out = ferry_calloc((size_t)n->n_out + 1, sizeof(ferry_tensor_t *));
    for (int k = 0; k < n->n_in; k++) {
        const char *in = np->input[k];
        if (!in || !*in)
            continue;
        int s = s_slot_find(e, in);
        if (s < 0 || !e->slots[s].is_defined)
            return ferry_err(err, "node '%.80s' (%s): input '%.80s' is not produced by any earlier node, input "
                                  "or initializer (nodes must be in topological order)", n->name, np->op_type, in);
        n->in[k] = e->slots[s].tensor;
        if (e->slots[s].is_const && k < 64)
            n->const_inputs |= (uint64_t)1 << k;
    }
    for (int k = 0; k < n->n_out; k++) {
        const char *out = np->output[k];
        if (!out || !*out) {
            e->scratch = ferry_reallocarray(e->scratch, (size_t)e->n_scratch + 1, sizeof(ferry_tensor_t *));
            n->out[k] = e->scratch[e->n_scratch++] = ferry_tensor_new();
            continue;
        }
        int s = s_slot_find(e, out);
        if (s >= 0 && e->slots[s].is_defined)
            return ferry_err(err, "node '%.80s' (%s): output '%.80s' is already defined (a graph assigns each "
                                  "value once)", n->name, np->op_type, out);
        if (s < 0)
            s = s_slot_add(e, out);
        e->slots[s].is_defined = true;
        n->out[k] = e->slots[s].tensor;
    }
    if (def->prepare) {
        int rc = def->prepare(n, err);
        if (rc < 0) {
            *code = rc == FERRY_ENGINE_EUNSUPPORTED ? rc : FERRY_ENGINE_EINVALID;
            return -1;
        }
    }
    if (n->bad_attr) {
        return ferry_op_fail(n, err, "attribute '%.80s' has the wrong type", n->bad_attr);
    }
    if (n->is_folded)
        for (int k = 0; k < n->n_out; k++) {
            int s = np->output[k] && *np->output[k] ? s_slot_find(e, np->output[k]) : -1;
            if (s >= 0)
                e->slots[s].is_const = true;
        }
    return 0;
}

ferry_engine_t *ferry_engine_new(const Onnx__ModelProto *model, int *code, ferry_err_t *err)
{
    int dummy;
    if (!code)
        code = &dummy;
    *code = FERRY_ENGINE_EINVALID;
    if (!model || !model->graph) {
        ferry_err(err, "model has no graph");
        return NULL;
    }
    const Onnx__GraphProto *g = model->graph;
    if (g->n_node > FERRY_ENGINE_MAX_NODES) {
        ferry_err(err, "graph has %zu nodes, more than the limit of %d", g->n_node, FERRY_ENGINE_MAX_NODES);
        return NULL;
    }
    if (g->n_sparse_initializer > 0) {
        *code = FERRY_ENGINE_EUNSUPPORTED;
        ferry_err(err, "graph has sparse initializers, which the engine does not support");
        return NULL;
    }
    ferry_engine_t *e = ferry_calloc(1, sizeof(*e));
    e->model = model;
    for (size_t i = 0; i < g->n_initializer; i++) {
        const Onnx__TensorProto *tp = g->initializer[i];
        if (!tp || !tp->name || !*tp->name) {
            ferry_err(err, "initializer %zu has no name", i);
            goto fail;
        }
        if (s_slot_find(e, tp->name) >= 0) {
            ferry_err(err, "initializer '%.80s' is defined twice", tp->name);
            goto fail;
        }
        int s = s_slot_add(e, tp->name);
        char what[160];
        snprintf(what, sizeof(what), "initializer %.120s", tp->name);
        if (ferry_tensor_from_proto(e->slots[s].tensor, tp, what, err) < 0) {
            if (!ferry_dtype_is_supported(tp->data_type))
                *code = FERRY_ENGINE_EUNSUPPORTED;
            goto fail;
        }
        e->slots[s].is_defined = e->slots[s].is_const = true;
    }
    e->inputs = ferry_calloc(g->n_input + 1, sizeof(s_io_t));
    for (size_t i = 0; i < g->n_input; i++) {
        const Onnx__ValueInfoProto *vi = g->input[i];
        if (!vi || !vi->name || !*vi->name) {
            ferry_err(err, "graph input %zu has no name", i);
            goto fail;
        }
        int s = s_slot_find(e, vi->name);
        if (s >= 0 && e->slots[s].is_const)
            continue; /* an initializer with a default value: not a required input */
        if (s >= 0) {
            ferry_err(err, "graph input '%.80s' is declared twice", vi->name);
            goto fail;
        }
        if (vi->type && vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE) {
            *code = FERRY_ENGINE_EUNSUPPORTED;
            ferry_err(err, "graph input '%.80s' is not a tensor (sequences, maps and optionals are not "
                           "supported as inputs)", vi->name);
            goto fail;
        }
        s = s_slot_add(e, vi->name);
        e->slots[s].is_defined = true;
        s_io_t *io = &e->inputs[e->n_inputs++];
        io->slot = s;
        s_io_from_value_info(io, vi);
        if (io->dtype != FERRY_DT_UNDEFINED && !ferry_dtype_is_supported(io->dtype)) {
            *code = FERRY_ENGINE_EUNSUPPORTED;
            ferry_err(err, "graph input '%.80s' has element type %s, which the engine does not support", vi->name,
                      ferry_dtype_name(io->dtype));
            goto fail;
        }
    }
    e->nodes = ferry_calloc(g->n_node + 1, sizeof(ferry_node_t));
    for (size_t i = 0; i < g->n_node; i++) {
        if (!g->node[i]) {
            ferry_err(err, "node %zu is empty", i);
            goto fail;
        }
        e->n_nodes++;
        if (s_plan_node(e, &e->nodes[i], g->node[i], (int)i, code, err) < 0)
            goto fail;
    }
    e->outputs = ferry_calloc(g->n_output + 1, sizeof(s_io_t));
    for (size_t i = 0; i < g->n_output; i++) {
        const Onnx__ValueInfoProto *vi = g->output[i];
        int s = vi && vi->name ? s_slot_find(e, vi->name) : -1;
        if (s < 0 || !e->slots[s].is_defined) {
            ferry_err(err, "graph output '%.80s' is not produced by any node, input or initializer",
                      vi && vi->name ? vi->name : "?");
            goto fail;
        }
        s_io_t *io = &e->outputs[e->n_outputs++];
        io->slot = s;
        s_io_from_value_info(io, vi);
    }
    *code = 0;
    return e;
fail:
    ferry_engine_destroy(&e);
    return NULL;
}

int ferry_engine_input_count(const ferry_engine_t *self)
{
    return self->n_inputs;
}

const char *ferry_engine_input_name(const ferry_engine_t *self, int index)
{
    return index >= 0 && index < self->n_inputs ? self->slots[self->inputs[index].slot].name : NULL;
}

int32_t ferry_engine_input_dtype(const ferry_engine_t *self, int index)
{
    return index >= 0 && index < self->n_inputs ? self->inputs[index].dtype : FERRY_DT_UNDEFINED;
}

int ferry_engine_output_count(const ferry_engine_t *self)
{
    return self->n_outputs;
}

const char *ferry_engine_output_name(const ferry_engine_t *self, int index)
{
    return index >= 0 && index < self->n_outputs ? self->slots[self->outputs[index].slot].name : NULL;
}

int ferry_engine_input_index(const ferry_engine_t *self, const char *name)
{
    for (int i = 0; i < self->n_inputs; i++)
        if (!strcmp(self->slots[self->inputs[i].slot].name, name))
            return i;
    return -1;
}

ferry_tensor_t *ferry_engine_input_tensor(ferry_engine_t *self, int index)
{
    if (index < 0 || index >= self->n_inputs)
        return NULL;
    self->inputs[index].is_set = true;
    return self->slots[self->inputs[index].slot].tensor;
}

int ferry_engine_set_input(ferry_engine_t *self, const char *name, const ferry_tensor_t *t, ferry_err_t *err)
{
    int i = ferry_engine_input_index(self, name);
    if (i < 0)
        return ferry_err(err, "the model has no input named '%.80s'", name);
    const s_io_t *io = &self->inputs[i];
    if (io->dtype != FERRY_DT_UNDEFINED && io->dtype != t->dtype)
        return ferry_err(err, "input '%.80s': the model declares element type %s, got %s", name,
                         ferry_dtype_name(io->dtype), ferry_dtype_name(t->dtype));
    if (t->kind != FERRY_VALUE_TENSOR)
        return ferry_err(err, "input '%.80s': a tensor is expected", name);
    if (io->ndim >= 0) {
        char got[200];
        if (io->ndim != t->ndim)
            return ferry_err(err, "input '%.80s': the model declares rank %d, got shape %s", name, io->ndim,
                             ferry_tensor_shape_str(t, got, sizeof(got)));
        for (int d = 0; d < io->ndim; d++)
            if (io->dims[d] >= 0 && io->dims[d] != t->dims[d])
                return ferry_err(err, "input '%.80s': the model declares dimension %d = %lld, got shape %s", name,
                                 d, (long long)io->dims[d], ferry_tensor_shape_str(t, got, sizeof(got)));
    }
    if (ferry_tensor_copy(ferry_engine_input_tensor(self, i), t, err) < 0)
        return -1;
    return 0;
}

int ferry_engine_run(ferry_engine_t *self, ferry_err_t *err)
{
    for (int i = 0; i < self->n_inputs; i++)
        if (!self->inputs[i].is_set)
            return ferry_err(err, "input '%.80s' was not given", self->slots[self->inputs[i].slot].name);
    for (int i = 0; i < self->n_nodes; i++) {
        ferry_node_t *n = &self->nodes[i];
        if (n->is_folded)
            continue;
        uint64_t before[FERRY_ENGINE_CHECKED_OUTPUTS];
        int checked = n->n_out < FERRY_ENGINE_CHECKED_OUTPUTS ? n->n_out : FERRY_ENGINE_CHECKED_OUTPUTS;
        for (int k = 0; k < checked; k++)
            before[k] = n->out[k]->writes;
        int rc = n->def->run(n, err);
        if (rc < 0)
            return rc == FERRY_ENGINE_EUNSUPPORTED ? rc : FERRY_ENGINE_EINVALID;
        /* an output the operator did not produce (the node declares more outputs than the
         * operator has) must not reach a consumer as a stale or empty value */
        for (int k = 0; k < checked; k++)
            if (n->out[k]->writes == before[k] && n->proto->output[k] && *n->proto->output[k])
                return ferry_op_fail(n, err, "output %d ('%.80s') was not produced: the operator has fewer outputs "
                                             "than the node declares", k, n->proto->output[k]);
        if (n->bad_attr) /* an attribute read at run time had the wrong type */
            return ferry_op_fail(n, err, "attribute '%.80s' has the wrong type", n->bad_attr);
    }
    return 0;
}

const ferry_tensor_t *ferry_engine_output(const ferry_engine_t *self, int index)
{
    if (index < 0 || index >= self->n_outputs)
        return NULL;
    return self->slots[self->outputs[index].slot].tensor;
}
