/* onnx_check.c -- structural checks of ONNX models (see onnx_check.h). O(nodes + names):
 * names live in open-addressing hash maps, one per graph scope. */
#include "model/onnx_check.h"
#include "model/onnx_map.h"
#include "model/onnx_ops.h"
#include "util/buf.h"
#include "util/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- checker state ------------------------------------------------------------------------ */

typedef struct s_scope {
    ferry_onnx_map_t defined; /* name -> producing node index, -1 for inputs/initializers */
    const struct s_scope *parent;
} s_scope_t;

typedef struct {
    ferry_onnx_t *model;
    Onnx__ModelProto *mp;
    ferry_onnx_problems_t *out;
    ferry_onnx_map_t opsets;     /* canonical domain -> version (of the model or the function) */
    ferry_onnx_map_t functions;  /* "domain\x1fname" -> 1; keys owned (in fn_keys) */
    char **fn_keys;
    size_t n_fn_keys;
} s_check_t;

static void s_problem(s_check_t *c, const char *graph, long index, const Onnx__NodeProto *node, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void s_problem(s_check_t *c, const char *graph, long index, const Onnx__NodeProto *node, const char *fmt, ...)
{
    c->out->total++;
    if (c->out->count >= FERRY_ONNX_MAX_PROBLEMS)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    c->out->items = ferry_reallocarray(c->out->items, c->out->count + 1, sizeof *c->out->items);
    c->out->items[c->out->count++] = (ferry_onnx_problem_t){
        .graph = ferry_strdup(graph),
        .node_index = index,
        .node_name = ferry_strdup(node && node->name ? node->name : ""),
        .op_type = ferry_strdup(node && node->op_type ? node->op_type : ""),
        .message = ferry_strdup(msg),
    };
}

static const char *s_str(const char *s)
{
    return s ? s : "";
}

/* ---- tensors ------------------------------------------------------------------------------- */

static void s_check_tensor(s_check_t *c, const char *graph, long index, const Onnx__NodeProto *node,
                           const Onnx__TensorProto *t, const char *what)
{
    const char *tname = s_str(t->name);
    uint64_t numel;
    if (ferry_onnx_tensor_numel(t, &numel) < 0) {
        s_problem(c, graph, index, node, "%s '%s': dims are negative or their product overflows", what, tname);
        return;
    }
    int32_t dt = t->has_data_type ? t->data_type : 0;
    size_t esize = ferry_onnx_elem_size(dt);
    if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__UNDEFINED || (esize == 0 && dt != ONNX__TENSOR_PROTO__DATA_TYPE__STRING)) {
        s_problem(c, graph, index, node, "%s '%s': data_type %d is not a valid tensor element type", what, tname, dt);
        return;
    }
    if (t->segment)
        return; /* a segment of a larger tensor: sizes are per segment, not checked */
    if (ferry_onnx_tensor_is_external(t) || t->has_raw_data) {
        if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__STRING) {
            s_problem(c, graph, index, node, "%s '%s': string tensors cannot use raw_data or external data", what,
                      tname);
            return;
        }
        const uint8_t *bytes;
        size_t len;
        ferry_err_t err;
        if (ferry_onnx_tensor_bytes(c->model, t, &bytes, &len, &err) < 0) {
            s_problem(c, graph, index, node, "%s '%s': %s", what, tname, err.msg);
            return;
        }
        if ((uint64_t)len / esize != numel || len % esize)
            s_problem(c, graph, index, node,
                      "%s '%s': %s data holds %zu bytes, but dims give %llu elements of %s (%llu bytes)", what, tname,
                      ferry_onnx_tensor_is_external(t) ? "external" : "raw", len, (unsigned long long)numel,
                      ferry_onnx_type_name(dt), (unsigned long long)(numel * esize));
        return;
    }
    size_t have;
    const char *field;
    uint64_t want = numel;
    switch (dt) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: have = t->n_float_data; field = "float_data"; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__COMPLEX64: have = t->n_float_data; field = "float_data"; want *= 2; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: have = t->n_double_data; field = "double_data"; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__COMPLEX128: have = t->n_double_data; field = "double_data"; want *= 2; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: have = t->n_int64_data; field = "int64_data"; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT32:
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT64: have = t->n_uint64_data; field = "uint64_data"; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__STRING: have = t->n_string_data; field = "string_data"; break;
    default: have = t->n_int32_data; field = "int32_data"; break;
    }
    if (have != want)
        s_problem(c, graph, index, node, "%s '%s': %s holds %zu values, but dims give %llu elements of %s", what,
                  tname, field, have, (unsigned long long)want, ferry_onnx_type_name(dt));
}

/* ---- graphs ---------------------------------------------------------------------------------- */

static bool s_defined(const s_scope_t *s, const char *name)
{
    for (; s; s = s->parent)
        if (ferry_onnx_map_get(&s->defined, name))
            return true;
    return false;
}

static void s_check_nodes(s_check_t *c, const char *graph, Onnx__NodeProto **nodes, size_t n_nodes, s_scope_t *scope,
                          int depth);

static void s_check_graph(s_check_t *c, const char *graph, const Onnx__GraphProto *g, const s_scope_t *parent,
                          bool is_main, int depth)
{
    s_scope_t scope = {.parent = parent};
    for (size_t i = 0; i < g->n_input; i++) {
        const Onnx__ValueInfoProto *vi = g->input[i];
        const char *name = s_str(vi->name);
        if (!*name)
            s_problem(c, graph, -1, NULL, "graph input %zu has no name", i);
        else if (!ferry_onnx_map_put(&scope.defined, name, -1))
            s_problem(c, graph, -1, NULL, "graph input '%s' is declared more than once", name);
        if (is_main && !vi->type)
            s_problem(c, graph, -1, NULL, "graph input '%s' has no type", name);
    }
    ferry_onnx_map_t inits = FERRY_ONNX_MAP_INIT;
    for (size_t i = 0; i < g->n_initializer; i++) {
        const Onnx__TensorProto *t = g->initializer[i];
        const char *name = s_str(t->name);
        if (!*name)
            s_problem(c, graph, -1, NULL, "initializer %zu has no name", i);
        else if (!ferry_onnx_map_put(&inits, name, (long)i))
            s_problem(c, graph, -1, NULL, "initializer '%s' is defined more than once", name);
        else
            ferry_onnx_map_put(&scope.defined, name, -1); /* an initializer may also be a graph input */
        s_check_tensor(c, graph, -1, NULL, t, "initializer");
    }
    for (size_t i = 0; i < g->n_sparse_initializer; i++) {
        const Onnx__SparseTensorProto *sp = g->sparse_initializer[i];
        if (!sp->values) {
            s_problem(c, graph, -1, NULL, "sparse initializer %zu has no values tensor", i);
            continue;
        }
        const char *name = s_str(sp->values->name);
        if (!*name || !ferry_onnx_map_put(&scope.defined, name, -1))
            s_problem(c, graph, -1, NULL, "sparse initializer '%s' has no name or is defined more than once", name);
    }
    ferry_onnx_map_free(&inits);
    s_check_nodes(c, graph, g->node, g->n_node, &scope, depth);
    for (size_t i = 0; i < g->n_output; i++) {
        const Onnx__ValueInfoProto *vi = g->output[i];
        const char *name = s_str(vi->name);
        if (!*name)
            s_problem(c, graph, -1, NULL, "graph output %zu has no name", i);
        else if (!s_defined(&scope, name))
            s_problem(c, graph, -1, NULL, "graph output '%s' is not produced by any node, input or initializer", name);
        if (is_main && !vi->type)
            s_problem(c, graph, -1, NULL, "graph output '%s' has no type", name);
    }
    ferry_onnx_map_free(&scope.defined);
}

static bool s_attr_has_value(const Onnx__AttributeProto *a)
{
    switch (a->type) {
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR: return a->t != NULL;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH: return a->g != NULL;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSOR: return a->sparse_tensor != NULL;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTO: return a->tp != NULL;
    default: return true; /* scalars default to zero, lists may be empty */
    }
}

static void s_check_node(s_check_t *c, const char *graph, long index, const Onnx__NodeProto *node, s_scope_t *scope,
                         const ferry_onnx_map_t *producer, int depth)
{
    const char *op = s_str(node->op_type);
    const char *domain = ferry_onnx_domain_canonical(node->domain);
    c->out->nodes_checked++;
    if (!*op) {
        s_problem(c, graph, index, node, "node has no op_type");
        return;
    }
    long *ver = ferry_onnx_map_get(&c->opsets, domain);
    const ferry_onnx_op_def_t *def = NULL;
    bool is_function = false;
    if (c->functions.count) { /* model-local functions shadow nothing else: look up only when present */
        char *fkey = ferry_asprintf("%s\x1f%s", domain, op);
        is_function = ferry_onnx_map_get(&c->functions, fkey) != NULL;
        free(fkey);
    }
    if (!ver) {
        s_problem(c, graph, index, node, "domain '%s' is not imported (no opset_import entry)",
                  *domain ? domain : "ai.onnx");
    } else if (is_function) {
        /* a model-local function: its body is checked on its own */
    } else if (ferry_onnx_domain_known(domain)) {
        def = ferry_onnx_op_find(domain, op, *ver);
        if (!def) {
            const ferry_onnx_op_def_t *any = ferry_onnx_op_any(domain, op);
            if (any)
                s_problem(c, graph, index, node, "operator %s is not defined at %s opset %ld (introduced at opset %d)",
                          op, *domain ? domain : "ai.onnx", *ver, any->since_version);
            else
                s_problem(c, graph, index, node, "unknown operator %s in domain %s", op, *domain ? domain : "ai.onnx");
        } else if (def->deprecated) {
            s_problem(c, graph, index, node, "operator %s was removed (deprecated) at %s opset %d", op,
                      *domain ? domain : "ai.onnx", def->since_version);
            def = NULL;
        }
    } else {
        c->out->unverified_nodes++;
    }
    if (def) {
        if ((long)node->n_input > def->max_input)
            s_problem(c, graph, index, node, "%zu inputs, %s-%d takes at most %d", node->n_input, op,
                      def->since_version, def->max_input);
        if ((long)node->n_input < def->min_input)
            s_problem(c, graph, index, node, "%zu inputs, %s-%d needs at least %d", node->n_input, op,
                      def->since_version, def->min_input);
        if ((long)node->n_output > def->max_output || (long)node->n_output < def->min_output)
            s_problem(c, graph, index, node, "%zu outputs, %s-%d produces %d to %d", node->n_output, op,
                      def->since_version, def->min_output, def->max_output);
    }
    /* attributes */
    ferry_onnx_map_t seen = FERRY_ONNX_MAP_INIT;
    for (size_t i = 0; i < node->n_attribute; i++) {
        const Onnx__AttributeProto *a = node->attribute[i];
        const char *aname = s_str(a->name);
        if (!*aname) {
            s_problem(c, graph, index, node, "attribute %zu has no name", i);
            continue;
        }
        if (!ferry_onnx_map_put(&seen, aname, 1))
            s_problem(c, graph, index, node, "attribute '%s' is given more than once", aname);
        if (a->ref_attr_name && *a->ref_attr_name)
            continue; /* a reference to a function attribute: typed by the caller */
        if (!a->has_type || a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED) {
            s_problem(c, graph, index, node, "attribute '%s' has no type", aname);
        } else if (!s_attr_has_value(a)) {
            s_problem(c, graph, index, node, "attribute '%s' of type %d carries no value", aname, (int)a->type);
        }
        if (def) {
            const ferry_onnx_attr_def_t *ad = ferry_onnx_op_attr(def, aname);
            if (!ad)
                s_problem(c, graph, index, node, "attribute '%s' is not declared by %s-%d", aname, op,
                          def->since_version);
            else if (a->has_type && a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED &&
                     (int)a->type != ad->type)
                s_problem(c, graph, index, node, "attribute '%s' has type %d, %s-%d declares type %d", aname,
                          (int)a->type, op, def->since_version, ad->type);
        }
        if (a->t)
            s_check_tensor(c, graph, index, node, a->t, "attribute tensor");
        for (size_t k = 0; k < a->n_tensors; k++)
            s_check_tensor(c, graph, index, node, a->tensors[k], "attribute tensor");
    }
    if (def)
        for (int k = def->attr_first; k < def->attr_first + def->attr_count; k++)
            if (ferry_onnx_op_attrs[k].required && !ferry_onnx_map_get(&seen, ferry_onnx_op_attrs[k].name))
                s_problem(c, graph, index, node, "required attribute '%s' of %s-%d is missing",
                          ferry_onnx_op_attrs[k].name, op, def->since_version);
    ferry_onnx_map_free(&seen);
    /* inputs must be defined before use */
    for (size_t i = 0; i < node->n_input; i++) {
        const char *in = s_str(node->input[i]);
        if (!*in || s_defined(scope, in))
            continue;
        long *p = ferry_onnx_map_get(producer, in);
        if (p && *p > index)
            s_problem(c, graph, index, node, "input '%s' is used before node %ld produces it (nodes are not "
                      "topologically sorted)", in, *p);
        else
            s_problem(c, graph, index, node, "input '%s' is not defined (no graph input, initializer or node output "
                      "of that name)", in);
    }
    /* subgraphs see everything defined so far */
    for (size_t i = 0; i < node->n_attribute; i++) {
        const Onnx__AttributeProto *a = node->attribute[i];
        char sub[1024];
        if (a->g) {
            snprintf(sub, sizeof sub, "%s/node %ld (%s)/%s", graph, index, op, s_str(a->name));
            s_check_graph(c, sub, a->g, scope, false, depth + 1);
        }
        for (size_t k = 0; k < a->n_graphs; k++) {
            snprintf(sub, sizeof sub, "%s/node %ld (%s)/%s[%zu]", graph, index, op, s_str(a->name), k);
            s_check_graph(c, sub, a->graphs[k], scope, false, depth + 1);
        }
    }
    /* outputs are defined exactly once */
    for (size_t i = 0; i < node->n_output; i++) {
        const char *outn = s_str(node->output[i]);
        if (!*outn)
            continue;
        if (s_defined(scope, outn))
            s_problem(c, graph, index, node, "output '%s' is already defined (every name is assigned exactly once)",
                      outn);
        else
            ferry_onnx_map_put(&scope->defined, outn, index);
    }
}

static void s_check_nodes(s_check_t *c, const char *graph, Onnx__NodeProto **nodes, size_t n_nodes, s_scope_t *scope,
                          int depth)
{
    ferry_onnx_map_t producer = FERRY_ONNX_MAP_INIT; /* first producer of each name, to explain ordering problems */
    ferry_onnx_map_reserve(&producer, n_nodes);
    ferry_onnx_map_reserve(&scope->defined, scope->defined.count + n_nodes);
    for (size_t i = 0; i < n_nodes; i++)
        for (size_t k = 0; k < nodes[i]->n_output; k++)
            if (nodes[i]->output[k] && *nodes[i]->output[k])
                ferry_onnx_map_put(&producer, nodes[i]->output[k], (long)i);
    for (size_t i = 0; i < n_nodes; i++)
        s_check_node(c, graph, (long)i, nodes[i], scope, &producer, depth);
    ferry_onnx_map_free(&producer);
}

static void s_load_opsets(s_check_t *c, const char *where, Onnx__OperatorSetIdProto **ops, size_t n)
{
    ferry_onnx_map_free(&c->opsets);
    for (size_t i = 0; i < n; i++) {
        const char *domain = ferry_onnx_domain_canonical(ops[i]->domain);
        if (!ops[i]->has_version || ops[i]->version <= 0)
            s_problem(c, where, -1, NULL, "opset_import of domain '%s' has no valid version",
                      *domain ? domain : "ai.onnx");
        if (!ferry_onnx_map_put(&c->opsets, domain, (long)ops[i]->version))
            s_problem(c, where, -1, NULL, "domain '%s' is imported more than once", *domain ? domain : "ai.onnx");
    }
}

size_t ferry_onnx_check(ferry_onnx_t *model, ferry_onnx_problems_t *out)
{
    memset(out, 0, sizeof *out);
    s_check_t c = {.model = model, .mp = ferry_onnx_proto(model), .out = out};
    Onnx__ModelProto *mp = c.mp;
    if (!mp->has_ir_version || mp->ir_version <= 0)
        s_problem(&c, "model", -1, NULL, "ir_version is missing");
    if (mp->n_opset_import == 0)
        s_problem(&c, "model", -1, NULL, "no opset_import: the operator set of the model is unknown");
    for (size_t i = 0; i < mp->n_functions; i++) {
        const Onnx__FunctionProto *f = mp->functions[i];
        char *key = ferry_asprintf("%s\x1f%s", ferry_onnx_domain_canonical(f->domain), s_str(f->name));
        c.fn_keys = ferry_reallocarray(c.fn_keys, c.n_fn_keys + 1, sizeof *c.fn_keys);
        c.fn_keys[c.n_fn_keys++] = key;
        if (!ferry_onnx_map_put(&c.functions, key, 1))
            s_problem(&c, "model", -1, NULL, "function %s is defined more than once", key);
    }
    /* model-local functions, each with its own opset imports */
    for (size_t i = 0; i < mp->n_functions; i++) {
        const Onnx__FunctionProto *f = mp->functions[i];
        char where[512];
        snprintf(where, sizeof where, "function %s:%s", s_str(f->domain), s_str(f->name));
        s_load_opsets(&c, where, f->opset_import, f->n_opset_import);
        if (!f->n_opset_import) /* fall back on the model's */
            s_load_opsets(&c, where, mp->opset_import, mp->n_opset_import);
        s_scope_t scope = {0};
        for (size_t k = 0; k < f->n_input; k++)
            ferry_onnx_map_put(&scope.defined, s_str(f->input[k]), -1);
        s_check_nodes(&c, where, f->node, f->n_node, &scope, 1);
        for (size_t k = 0; k < f->n_output; k++)
            if (!s_defined(&scope, s_str(f->output[k])))
                s_problem(&c, where, -1, NULL, "function output '%s' is not produced", s_str(f->output[k]));
        ferry_onnx_map_free(&scope.defined);
    }
    s_load_opsets(&c, "model", mp->opset_import, mp->n_opset_import);
    if (!mp->graph)
        s_problem(&c, "model", -1, NULL, "the model has no graph");
    else
        s_check_graph(&c, "main", mp->graph, NULL, true, 0);
    ferry_onnx_map_free(&c.opsets);
    ferry_onnx_map_free(&c.functions);
    for (size_t i = 0; i < c.n_fn_keys; i++)
        free(c.fn_keys[i]);
    free(c.fn_keys);
    return out->total;
}

void ferry_onnx_problems_free(ferry_onnx_problems_t *p)
{
    for (size_t i = 0; i < p->count; i++) {
        free(p->items[i].graph);
        free(p->items[i].node_name);
        free(p->items[i].op_type);
        free(p->items[i].message);
    }
    free(p->items);
    memset(p, 0, sizeof *p);
}

char *ferry_onnx_problem_format(const ferry_onnx_problem_t *p)
{
    if (p->node_index < 0)
        return ferry_asprintf("graph %s: %s", p->graph, p->message);
    return ferry_asprintf("graph %s, node %ld '%s' (%s): %s", p->graph, p->node_index, p->node_name, p->op_type,
                          p->message);
}

void ferry_onnx_problems_json(const ferry_onnx_problems_t *p, ferry_json_t *j)
{
    ferry_json_obj_begin(j);
    ferry_json_key(j, "valid");
    ferry_json_bool(j, p->total == 0);
    ferry_json_key(j, "problem_count");
    ferry_json_uint(j, p->total);
    ferry_json_key(j, "nodes_checked");
    ferry_json_uint(j, p->nodes_checked);
    ferry_json_key(j, "unverified_nodes");
    ferry_json_uint(j, p->unverified_nodes);
    ferry_json_key(j, "problems");
    ferry_json_arr_begin(j);
    for (size_t i = 0; i < p->count; i++) {
        const ferry_onnx_problem_t *q = &p->items[i];
        ferry_json_obj_begin(j);
        ferry_json_key(j, "graph");
        ferry_json_str(j, q->graph);
        ferry_json_key(j, "node_index");
        ferry_json_int(j, q->node_index);
        ferry_json_key(j, "node_name");
        ferry_json_str(j, q->node_name);
        ferry_json_key(j, "op_type");
        ferry_json_str(j, q->op_type);
        ferry_json_key(j, "message");
        ferry_json_str(j, q->message);
        ferry_json_obj_end(j);
    }
    ferry_json_arr_end(j);
    ferry_json_obj_end(j);
}
