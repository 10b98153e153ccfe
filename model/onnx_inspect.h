/* onnx_inspect.h -- the inspect summary of an ONNX model (struct + stable JSON)
 *
 * Used by `ferry inspect` and by the coordinator's assess stage. The JSON document
 * (ferry_onnx_summary_json) is stable: fields are only ever added. Its shape:
 *
 *   { "format": "onnx", "file": PATH, "file_bytes": N, "sha256": HEX,
 *     "ir_version": N, "producer_name": S, "producer_version": S, "domain": S,
 *     "model_version": N,
 *     "opset_import": [{"domain": "ai.onnx" | D, "version": N}],
 *     "node_count": N,            (all graphs, subgraphs included)
 *     "main_graph_nodes": N,
 *     "operators": [{"domain": D, "op_type": S, "count": N}]  (sorted by domain, op_type)
 *     "inputs":  [{"name": S, "kind": "tensor"|"sequence"|"map"|"optional"|"sparse_tensor"|"unknown",
 *                  "elem_type": "float"|..., "shape": [3, "N", null] | null}],
 *                 (graph inputs that are not initializers; symbolic dims as strings,
 *                  unknown dims as null, shape null when the rank is unknown)
 *     "outputs": [same],
 *     "initializers": {"count": N, "bytes": N, "parameters": N, "external_count": N},
 *     "external_data": [{"location": S, "tensors": N, "bytes": N}],
 *     "subgraphs": N, "functions": [{"domain": D, "name": S}],
 *     "metadata": {KEY: VALUE} }
 * `ferry inspect --check` adds "check": the object ferry_onnx_problems_json writes.
 */
#ifndef FERRY_ONNX_INSPECT_H
#define FERRY_ONNX_INSPECT_H

#include "model/onnx.h"
#include "util/json.h"

typedef struct {
    char *domain; /* canonical: "" for the default domain */
    char *op_type;
    size_t count;
} ferry_onnx_opcount_t;

typedef struct {
    char *name;
    const char *kind;  /* static string */
    int32_t elem_type; /* 0 when not a tensor or unknown */
    bool has_shape;
    size_t rank;
    char **dims;       /* rank entries: "3", "batch", or NULL for unknown */
} ferry_onnx_io_t;

typedef struct {
    char *location;
    size_t tensors;
    uint64_t bytes;
} ferry_onnx_extfile_t;

typedef struct {
    char *file;
    uint64_t file_bytes;
    char sha256[65];
    int64_t ir_version;
    char *producer_name, *producer_version, *domain;
    int64_t model_version;
    size_t n_opsets;
    char **opset_domains;
    int64_t *opset_versions;
    ferry_onnx_opcount_t *ops;
    size_t n_ops;
    size_t node_count, main_graph_nodes, subgraphs;
    ferry_onnx_io_t *inputs, *outputs;
    size_t n_inputs, n_outputs;
    size_t initializer_count, external_tensors;
    uint64_t initializer_bytes, parameters;
    ferry_onnx_extfile_t *external;
    size_t n_external;
    char **function_domains, **function_names;
    size_t n_functions;
    char **meta_keys, **meta_values;
    size_t n_meta;
} ferry_onnx_summary_t;

/* Fill *s from a loaded model (hashes the loaded bytes when with_sha256). Returns 0. */
int ferry_onnx_summarize(ferry_onnx_t *model, bool with_sha256, ferry_onnx_summary_t *s);
void ferry_onnx_summary_free(ferry_onnx_summary_t *s);
void ferry_onnx_summary_json(const ferry_onnx_summary_t *s, ferry_json_t *j);
/* The same members without the enclosing braces, to embed them in a larger object. */
void ferry_onnx_summary_json_members(const ferry_onnx_summary_t *s, ferry_json_t *j);
/* Human-readable multi-line text. */
void ferry_onnx_summary_text(const ferry_onnx_summary_t *s, ferry_buf_t *out);

#endif
