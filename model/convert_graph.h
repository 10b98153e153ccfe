/* convert_graph.h -- a small ONNX graph builder for the PMML converter (internal)
 *
 * Values are named by strings the builder owns. Every node gets a fresh output name
 * ("t<N>") unless the caller names it. Nodes, initializers and attributes are built
 * straight into protobuf-c structs allocated with ferry_malloc, so the finished
 * ModelProto is freed with protobuf_c_message_free_unpacked(..., NULL). */
#ifndef FERRY_CONVERT_GRAPH_H
#define FERRY_CONVERT_GRAPH_H

#include "onnx.pb-c.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    Onnx__NodeProto **nodes;
    size_t n_nodes, cap_nodes;
    Onnx__TensorProto **inits;
    size_t n_inits, cap_inits;
    Onnx__ValueInfoProto **inputs, **outputs;
    size_t n_inputs, n_outputs;
    unsigned counter;
} ferry_cg_t;

void ferry_cg_init(ferry_cg_t *g);
/* Free everything not yet moved into a model. */
void ferry_cg_clear(ferry_cg_t *g);

/* Add a node; returns it (attributes may be added). Output names: out (copied) or fresh. */
Onnx__NodeProto *ferry_cg_node(ferry_cg_t *g, const char *op, const char *domain, const char *const *in, size_t n_in,
                               const char *out);
/* Shorthands returning the (first) output name, owned by the graph. */
const char *ferry_cg_op1(ferry_cg_t *g, const char *op, const char *a);
const char *ferry_cg_op2(ferry_cg_t *g, const char *op, const char *a, const char *b);
const char *ferry_cg_op3(ferry_cg_t *g, const char *op, const char *a, const char *b, const char *c);
const char *ferry_cg_out(const Onnx__NodeProto *n);

void ferry_cg_attr_int(Onnx__NodeProto *n, const char *name, int64_t v);
void ferry_cg_attr_float(Onnx__NodeProto *n, const char *name, float v);
void ferry_cg_attr_ints(Onnx__NodeProto *n, const char *name, const int64_t *v, size_t count);
void ferry_cg_attr_floats(Onnx__NodeProto *n, const char *name, const float *v, size_t count);
void ferry_cg_attr_strings(Onnx__NodeProto *n, const char *name, const char *const *v, size_t count);
/* Takes ownership of t. */
void ferry_cg_attr_tensor(Onnx__NodeProto *n, const char *name, Onnx__TensorProto *t);

/* Tensors (dims copied; data copied). */
Onnx__TensorProto *ferry_cg_tensor_f64(const double *v, const int64_t *dims, int ndim);
Onnx__TensorProto *ferry_cg_tensor_i64(const int64_t *v, const int64_t *dims, int ndim);
Onnx__TensorProto *ferry_cg_tensor_u8(const uint8_t *v, const int64_t *dims, int ndim);
Onnx__TensorProto *ferry_cg_tensor_str(const char *const *v, const int64_t *dims, int ndim);

/* Initializers: returns the value name. */
const char *ferry_cg_const_f64(ferry_cg_t *g, const double *v, const int64_t *dims, int ndim);
const char *ferry_cg_const_i64(ferry_cg_t *g, const int64_t *v, const int64_t *dims, int ndim);
const char *ferry_cg_const_str(ferry_cg_t *g, const char *const *v, const int64_t *dims, int ndim);
/* A [1, 1] double scalar. */
const char *ferry_cg_scalar(ferry_cg_t *g, double v);

/* Graph inputs / outputs: elem type, rank-2 shape [N, cols] (cols < 0: symbolic "C"). */
void ferry_cg_input(ferry_cg_t *g, const char *name, int32_t elem_type, int64_t cols);
void ferry_cg_output(ferry_cg_t *g, const char *name, int32_t elem_type, int64_t cols);

/* Move everything into a new ModelProto (the builder is left empty). */
Onnx__ModelProto *ferry_cg_model(ferry_cg_t *g, int opset, int ml_opset, const char *graph_name);
/* Append a metadata_props entry. */
void ferry_cg_metadata(Onnx__ModelProto *m, const char *key, const char *value);

#endif
