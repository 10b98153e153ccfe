/* onnx_inspect.c -- summary of an ONNX model for `ferry inspect` and the assess stage */
#include "model/onnx_inspect.h"
#include "model/onnx_map.h"
#include "model/onnx_ops.h"
#include "util/mem.h"
#include "util/sha256.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    ferry_onnx_summary_t *s;
    ferry_onnx_map_t op_index; /* "domain\x1fop" -> index in s->ops; keys in op_keys */
    char **op_keys;
    size_t n_op_keys;
    ferry_onnx_map_t ext_index; /* location -> index in s->external (keys borrowed) */
} s_inspect_t;

static const char *s_str(const char *s)
{
    return s ? s : "";
}

static void s_count_op(s_inspect_t *in, const Onnx__NodeProto *node)
{
    const char *domain = ferry_onnx_domain_canonical(node->domain);
    const char *op = s_str(node->op_type);
    char stack_key[256];
    char *key = stack_key;
    size_t dl = strlen(domain), ol = strlen(op);
    if (dl + ol + 2 > sizeof stack_key)
        key = ferry_malloc(dl + ol + 2);
    memcpy(key, domain, dl);
    key[dl] = '\x1f';
    memcpy(key + dl + 1, op, ol + 1);
    long *idx = ferry_onnx_map_get(&in->op_index, key);
    if (idx) {
        in->s->ops[*idx].count++;
        if (key != stack_key)
            free(key);
        return;
    }
    if (key == stack_key)
        key = ferry_strdup(stack_key);
    ferry_onnx_summary_t *s = in->s;
    s->ops = ferry_reallocarray(s->ops, s->n_ops + 1, sizeof *s->ops);
    s->ops[s->n_ops] = (ferry_onnx_opcount_t){ferry_strdup(domain), ferry_strdup(s_str(node->op_type)), 1};
    in->op_keys = ferry_reallocarray(in->op_keys, in->n_op_keys + 1, sizeof *in->op_keys);
    in->op_keys[in->n_op_keys++] = key;
    ferry_onnx_map_put(&in->op_index, key, (long)s->n_ops++);
}

static void s_walk_graph(s_inspect_t *in, const Onnx__GraphProto *g, bool is_main)
{
    if (!is_main)
        in->s->subgraphs++;
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *node = g->node[i];
        in->s->node_count++;
        s_count_op(in, node);
        for (size_t a = 0; a < node->n_attribute; a++) {
            const Onnx__AttributeProto *attr = node->attribute[a];
            if (attr->g)
                s_walk_graph(in, attr->g, false);
            for (size_t k = 0; k < attr->n_graphs; k++)
                s_walk_graph(in, attr->graphs[k], false);
        }
    }
}

static void s_io(ferry_onnx_io_t *io, const Onnx__ValueInfoProto *vi)
{
    memset(io, 0, sizeof *io);
    io->name = ferry_strdup(s_str(vi->name));
    io->kind = "unknown";
    const Onnx__TypeProto *tp = vi->type;
    if (!tp)
        return;
    const Onnx__TensorShapeProto *shape = NULL;
    switch (tp->value_case) {
    case ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE:
        io->kind = "tensor";
        io->elem_type = tp->tensor_type->has_elem_type ? tp->tensor_type->elem_type : 0;
        shape = tp->tensor_type->shape;
        break;
    case ONNX__TYPE_PROTO__VALUE_SPARSE_TENSOR_TYPE:
        io->kind = "sparse_tensor";
        io->elem_type = tp->sparse_tensor_type->has_elem_type ? tp->sparse_tensor_type->elem_type : 0;
        shape = tp->sparse_tensor_type->shape;
        break;
    case ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE: io->kind = "sequence"; break;
    case ONNX__TYPE_PROTO__VALUE_MAP_TYPE: io->kind = "map"; break;
    case ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE: io->kind = "optional"; break;
    default: break;
    }
    if (!shape)
        return;
    io->has_shape = true;
    io->rank = shape->n_dim;
    io->dims = ferry_calloc(shape->n_dim ? shape->n_dim : 1, sizeof *io->dims);
    for (size_t i = 0; i < shape->n_dim; i++) {
        const Onnx__TensorShapeProto__Dimension *d = shape->dim[i];
        if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE)
            io->dims[i] = ferry_asprintf("%lld", (long long)d->dim_value);
        else if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && d->dim_param)
            io->dims[i] = ferry_strdup(d->dim_param);
    }
}

static int s_cmp_ops(const void *a, const void *b)
{
    const ferry_onnx_opcount_t *x = a, *y = b;
    int c = strcmp(x->domain, y->domain);
    return c ? c : strcmp(x->op_type, y->op_type);
}

static void s_tensor(s_inspect_t *in, ferry_onnx_t *model, const Onnx__TensorProto *t)
{
    ferry_onnx_summary_t *s = in->s;
    uint64_t numel = 0;
    if (ferry_onnx_tensor_numel(t, &numel) < 0)
        numel = 0;
    s->initializer_count++;
    s->parameters += numel;
    uint64_t bytes = numel * ferry_onnx_elem_size(t->has_data_type ? t->data_type : 0);
    if (t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__STRING)
        for (size_t i = 0; i < t->n_string_data; i++)
            bytes += t->string_data[i].len;
    s->initializer_bytes += bytes;
    if (!ferry_onnx_tensor_is_external(t))
        return;
    s->external_tensors++;
    ferry_onnx_extref_t ref;
    if (ferry_onnx_tensor_extref(t, &ref, NULL) < 0)
        return;
    long *idx = ferry_onnx_map_get(&in->ext_index, ref.location);
    if (!idx) {
        s->external = ferry_reallocarray(s->external, s->n_external + 1, sizeof *s->external);
        s->external[s->n_external] = (ferry_onnx_extfile_t){ferry_strdup(ref.location), 0, 0};
        ferry_onnx_map_put(&in->ext_index, s->external[s->n_external].location, (long)s->n_external);
        idx = ferry_onnx_map_get(&in->ext_index, ref.location);
        s->n_external++;
    }
    s->external[*idx].tensors++;
    s->external[*idx].bytes += bytes;
}

int ferry_onnx_summarize(ferry_onnx_t *model, bool with_sha256, ferry_onnx_summary_t *s)
{
    memset(s, 0, sizeof *s);
    Onnx__ModelProto *mp = ferry_onnx_proto(model);
    size_t len;
    const uint8_t *bytes = ferry_onnx_bytes(model, &len);
    s->file = ferry_strdup(ferry_onnx_name(model));
    s->file_bytes = len;
    if (with_sha256)
        ferry_sha256_hex(bytes, len, s->sha256);
    s->ir_version = mp->has_ir_version ? mp->ir_version : 0;
    s->producer_name = ferry_strdup(s_str(mp->producer_name));
    s->producer_version = ferry_strdup(s_str(mp->producer_version));
    s->domain = ferry_strdup(s_str(mp->domain));
    s->model_version = mp->has_model_version ? mp->model_version : 0;
    s->n_opsets = mp->n_opset_import;
    s->opset_domains = ferry_calloc(s->n_opsets + 1, sizeof *s->opset_domains);
    s->opset_versions = ferry_calloc(s->n_opsets + 1, sizeof *s->opset_versions);
    for (size_t i = 0; i < mp->n_opset_import; i++) {
        s->opset_domains[i] = ferry_strdup(ferry_onnx_domain_canonical(mp->opset_import[i]->domain));
        s->opset_versions[i] = mp->opset_import[i]->version;
    }
    s_inspect_t in = {.s = s};
    const Onnx__GraphProto *g = mp->graph;
    if (g) {
        s->main_graph_nodes = g->n_node;
        s_walk_graph(&in, g, true);
        ferry_onnx_map_t init_names = FERRY_ONNX_MAP_INIT;
        for (size_t i = 0; i < g->n_initializer; i++) {
            if (g->initializer[i]->name)
                ferry_onnx_map_put(&init_names, g->initializer[i]->name, 1);
            s_tensor(&in, model, g->initializer[i]);
        }
        s->inputs = ferry_calloc(g->n_input + 1, sizeof *s->inputs);
        for (size_t i = 0; i < g->n_input; i++)
            if (!g->input[i]->name || !ferry_onnx_map_get(&init_names, g->input[i]->name))
                s_io(&s->inputs[s->n_inputs++], g->input[i]);
        s->outputs = ferry_calloc(g->n_output + 1, sizeof *s->outputs);
        for (size_t i = 0; i < g->n_output; i++)
            s_io(&s->outputs[s->n_outputs++], g->output[i]);
        ferry_onnx_map_free(&init_names);
    }
    for (size_t i = 0; i < mp->n_functions; i++)
        for (size_t k = 0; k < mp->functions[i]->n_node; k++)
            s_count_op(&in, mp->functions[i]->node[k]);
    if (s->n_ops > 1)
        qsort(s->ops, s->n_ops, sizeof *s->ops, s_cmp_ops);
    s->n_functions = mp->n_functions;
    s->function_domains = ferry_calloc(s->n_functions + 1, sizeof(char *));
    s->function_names = ferry_calloc(s->n_functions + 1, sizeof(char *));
    for (size_t i = 0; i < mp->n_functions; i++) {
        s->function_domains[i] = ferry_strdup(s_str(mp->functions[i]->domain));
        s->function_names[i] = ferry_strdup(s_str(mp->functions[i]->name));
    }
    s->n_meta = mp->n_metadata_props;
    s->meta_keys = ferry_calloc(s->n_meta + 1, sizeof(char *));
    s->meta_values = ferry_calloc(s->n_meta + 1, sizeof(char *));
    for (size_t i = 0; i < s->n_meta; i++) {
        s->meta_keys[i] = ferry_strdup(s_str(mp->metadata_props[i]->key));
        s->meta_values[i] = ferry_strdup(s_str(mp->metadata_props[i]->value));
    }
    ferry_onnx_map_free(&in.op_index);
    ferry_onnx_map_free(&in.ext_index);
    for (size_t i = 0; i < in.n_op_keys; i++)
        free(in.op_keys[i]);
    free(in.op_keys);
    return 0;
}

static void s_io_free(ferry_onnx_io_t *io)
{
    for (size_t i = 0; i < io->rank && io->dims; i++)
        free(io->dims[i]);
    free(io->dims);
    free(io->name);
}

void ferry_onnx_summary_free(ferry_onnx_summary_t *s)
{
    free(s->file);
    free(s->producer_name);
    free(s->producer_version);
    free(s->domain);
    for (size_t i = 0; i < s->n_opsets; i++)
        free(s->opset_domains[i]);
    free(s->opset_domains);
    free(s->opset_versions);
    for (size_t i = 0; i < s->n_ops; i++) {
        free(s->ops[i].domain);
        free(s->ops[i].op_type);
    }
    free(s->ops);
    for (size_t i = 0; i < s->n_inputs; i++)
        s_io_free(&s->inputs[i]);
    for (size_t i = 0; i < s->n_outputs; i++)
        s_io_free(&s->outputs[i]);
    free(s->inputs);
    free(s->outputs);
    for (size_t i = 0; i < s->n_external; i++)
        free(s->external[i].location);
    free(s->external);
    for (size_t i = 0; i < s->n_functions; i++) {
        free(s->function_domains[i]);
        free(s->function_names[i]);
    }
    free(s->function_domains);
    free(s->function_names);
    for (size_t i = 0; i < s->n_meta; i++) {
        free(s->meta_keys[i]);
        free(s->meta_values[i]);
    }
    free(s->meta_keys);
    free(s->meta_values);
    memset(s, 0, sizeof *s);
}

static const char *s_domain_label(const char *d)
{
    return *d ? d : "ai.onnx";
}

static void s_io_json(ferry_json_t *j, const ferry_onnx_io_t *io, size_t n)
{
    ferry_json_arr_begin(j);
    for (size_t i = 0; i < n; i++) {
        ferry_json_obj_begin(j);
        ferry_json_key(j, "name");
        ferry_json_str(j, io[i].name);
        ferry_json_key(j, "kind");
        ferry_json_str(j, io[i].kind);
        ferry_json_key(j, "elem_type");
        if (io[i].elem_type)
            ferry_json_str(j, ferry_onnx_type_name(io[i].elem_type));
        else
            ferry_json_null(j);
        ferry_json_key(j, "shape");
        if (!io[i].has_shape) {
            ferry_json_null(j);
        } else {
            ferry_json_arr_begin(j);
            for (size_t k = 0; k < io[i].rank; k++) {
                const char *d = io[i].dims[k];
                char *end;
                long long v = d ? strtoll(d, &end, 10) : 0;
                if (!d)
                    ferry_json_null(j);
                else if (*d && !*end && (d[0] == '-' || (d[0] >= '0' && d[0] <= '9')))
                    ferry_json_int(j, v);
                else
                    ferry_json_str(j, d);
            }
            ferry_json_arr_end(j);
        }
        ferry_json_obj_end(j);
    }
    ferry_json_arr_end(j);
}

void ferry_onnx_summary_json(const ferry_onnx_summary_t *s, ferry_json_t *j)
{
    ferry_json_obj_begin(j);
    ferry_onnx_summary_json_members(s, j);
    ferry_json_obj_end(j);
}

void ferry_onnx_summary_json_members(const ferry_onnx_summary_t *s, ferry_json_t *j)
{
    ferry_json_key(j, "format");
    ferry_json_str(j, "onnx");
    ferry_json_key(j, "file");
    ferry_json_str(j, s->file);
    ferry_json_key(j, "file_bytes");
    ferry_json_uint(j, s->file_bytes);
    ferry_json_key(j, "sha256");
    if (s->sha256[0])
        ferry_json_str(j, s->sha256);
    else
        ferry_json_null(j);
    ferry_json_key(j, "ir_version");
    ferry_json_int(j, s->ir_version);
    ferry_json_key(j, "producer_name");
    ferry_json_str(j, s->producer_name);
    ferry_json_key(j, "producer_version");
    ferry_json_str(j, s->producer_version);
    ferry_json_key(j, "domain");
    ferry_json_str(j, s->domain);
    ferry_json_key(j, "model_version");
    ferry_json_int(j, s->model_version);
    ferry_json_key(j, "opset_import");
    ferry_json_arr_begin(j);
    for (size_t i = 0; i < s->n_opsets; i++) {
        ferry_json_obj_begin(j);
        ferry_json_key(j, "domain");
        ferry_json_str(j, s_domain_label(s->opset_domains[i]));
        ferry_json_key(j, "version");
        ferry_json_int(j, s->opset_versions[i]);
        ferry_json_obj_end(j);
    }
    ferry_json_arr_end(j);
    ferry_json_key(j, "node_count");
    ferry_json_uint(j, s->node_count);
    ferry_json_key(j, "main_graph_nodes");
    ferry_json_uint(j, s->main_graph_nodes);
    ferry_json_key(j, "operators");
    ferry_json_arr_begin(j);
    for (size_t i = 0; i < s->n_ops; i++) {
        ferry_json_obj_begin(j);
        ferry_json_key(j, "domain");
        ferry_json_str(j, s_domain_label(s->ops[i].domain));
        ferry_json_key(j, "op_type");
        ferry_json_str(j, s->ops[i].op_type);
        ferry_json_key(j, "count");
        ferry_json_uint(j, s->ops[i].count);
        ferry_json_obj_end(j);
    }
    ferry_json_arr_end(j);
    ferry_json_key(j, "inputs");
    s_io_json(j, s->inputs, s->n_inputs);
    ferry_json_key(j, "outputs");
    s_io_json(j, s->outputs, s->n_outputs);
    ferry_json_key(j, "initializers");
    ferry_json_obj_begin(j);
    ferry_json_key(j, "count");
    ferry_json_uint(j, s->initializer_count);
    ferry_json_key(j, "bytes");
    ferry_json_uint(j, s->initializer_bytes);
    ferry_json_key(j, "parameters");
    ferry_json_uint(j, s->parameters);
    ferry_json_key(j, "external_count");
    ferry_json_uint(j, s->external_tensors);
    ferry_json_obj_end(j);
    ferry_json_key(j, "external_data");
    ferry_json_arr_begin(j);
    for (size_t i = 0; i < s->n_external; i++) {
        ferry_json_obj_begin(j);
        ferry_json_key(j, "location");
        ferry_json_str(j, s->external[i].location);
        ferry_json_key(j, "tensors");
        ferry_json_uint(j, s->external[i].tensors);
        ferry_json_key(j, "bytes");
        ferry_json_uint(j, s->external[i].bytes);
        ferry_json_obj_end(j);
    }
    ferry_json_arr_end(j);
    ferry_json_key(j, "subgraphs");
    ferry_json_uint(j, s->subgraphs);
    ferry_json_key(j, "functions");
    ferry_json_arr_begin(j);
    for (size_t i = 0; i < s->n_functions; i++) {
        ferry_json_obj_begin(j);
        ferry_json_key(j, "domain");
        ferry_json_str(j, s->function_domains[i]);
        ferry_json_key(j, "name");
        ferry_json_str(j, s->function_names[i]);
        ferry_json_obj_end(j);
    }
    ferry_json_arr_end(j);
    ferry_json_key(j, "metadata");
    ferry_json_obj_begin(j);
    for (size_t i = 0; i < s->n_meta; i++) {
        ferry_json_key(j, s->meta_keys[i]);
        ferry_json_str(j, s->meta_values[i]);
    }
    ferry_json_obj_end(j);
}

static void s_io_text(ferry_buf_t *out, const char *title, const ferry_onnx_io_t *io, size_t n)
{
    ferry_buf_printf(out, "%s (%zu):\n", title, n);
    for (size_t i = 0; i < n; i++) {
        ferry_buf_printf(out, "  %-24s %s", io[i].name, io[i].kind);
        if (io[i].elem_type)
            ferry_buf_printf(out, " %s", ferry_onnx_type_name(io[i].elem_type));
        if (io[i].has_shape) {
            ferry_buf_puts(out, " [");
            for (size_t k = 0; k < io[i].rank; k++)
                ferry_buf_printf(out, "%s%s", k ? ", " : "", io[i].dims[k] ? io[i].dims[k] : "?");
            ferry_buf_puts(out, "]");
        }
        ferry_buf_puts(out, "\n");
    }
}

void ferry_onnx_summary_text(const ferry_onnx_summary_t *s, ferry_buf_t *out)
{
    ferry_buf_printf(out, "file:        %s (%llu bytes)\n", s->file, (unsigned long long)s->file_bytes);
    if (s->sha256[0])
        ferry_buf_printf(out, "sha256:      %s\n", s->sha256);
    ferry_buf_printf(out, "ir_version:  %lld\n", (long long)s->ir_version);
    ferry_buf_printf(out, "producer:    %s %s\n", s->producer_name, s->producer_version);
    ferry_buf_puts(out, "opsets:     ");
    for (size_t i = 0; i < s->n_opsets; i++)
        ferry_buf_printf(out, " %s=%lld", s_domain_label(s->opset_domains[i]), (long long)s->opset_versions[i]);
    ferry_buf_printf(out, "\nnodes:       %zu (%zu in the main graph, %zu subgraphs, %zu functions)\n", s->node_count,
                     s->main_graph_nodes, s->subgraphs, s->n_functions);
    ferry_buf_puts(out, "operators:\n");
    for (size_t i = 0; i < s->n_ops; i++)
        ferry_buf_printf(out, "  %8zu  %s%s%s\n", s->ops[i].count, s->ops[i].domain, *s->ops[i].domain ? ":" : "",
                         s->ops[i].op_type);
    s_io_text(out, "inputs", s->inputs, s->n_inputs);
    s_io_text(out, "outputs", s->outputs, s->n_outputs);
    ferry_buf_printf(out, "initializers: %zu, %llu bytes, %llu parameters (%zu external)\n", s->initializer_count,
                     (unsigned long long)s->initializer_bytes, (unsigned long long)s->parameters,
                     s->external_tensors);
    for (size_t i = 0; i < s->n_external; i++)
        ferry_buf_printf(out, "  external %s: %zu tensors, %llu bytes\n", s->external[i].location,
                         s->external[i].tensors, (unsigned long long)s->external[i].bytes);
    for (size_t i = 0; i < s->n_functions; i++)
        ferry_buf_printf(out, "function:    %s:%s\n", s->function_domains[i], s->function_names[i]);
}
