/* engine.h -- ferry's reference CPU interpreter for ONNX graphs
 *
 * ferry_engine_new() compiles a model once into a plan: every value name becomes a slot,
 * every node gets its operator, opset and parsed attributes, initializers and Constant
 * outputs are materialised. ferry_engine_run() then executes the nodes in the graph's
 * (topological) order; each output tensor keeps its buffer between runs, so repeated
 * batch-1 calls allocate nothing once warm.
 *
 * Operators: the default ONNX domain and ai.onnx.ml (see ferry_engine_op_list()). An
 * operator (or an attribute value / type of a supported operator) that the engine cannot
 * compute exactly is refused at ferry_engine_new() with FERRY_ENGINE_EUNSUPPORTED and a
 * message naming the node, the operator and its domain -- never a silent wrong answer.
 *
 * Not thread-safe: one engine per thread (plans are cheap to build). */
#ifndef FERRY_ENGINE_H
#define FERRY_ENGINE_H

#include "model/tensor.h"
#include "util/common.h"

#include "onnx.pb-c.h"

/* Error codes (all negative). */
#define FERRY_ENGINE_EINVALID (-1)     /* malformed model or inputs (shapes, types, names) */
#define FERRY_ENGINE_EUNSUPPORTED (-2) /* valid ONNX the engine does not implement */

/* Plan limits: a hostile model is refused before it can exhaust memory. */
#define FERRY_ENGINE_MAX_NODES 1000000
#define FERRY_ENGINE_MAX_NODE_IO 4096
#define FERRY_ENGINE_CHECKED_OUTPUTS 64 /* outputs per node verified as produced each run */

typedef struct ferry_engine ferry_engine_t;

/* Compile `model` (borrowed: it must outlive the engine). Returns NULL with err filled
 * and *code (if non-NULL) set to FERRY_ENGINE_EINVALID or FERRY_ENGINE_EUNSUPPORTED. */
ferry_engine_t *ferry_engine_new(const Onnx__ModelProto *model, int *code, ferry_err_t *err);
void ferry_engine_destroy(ferry_engine_t **self_p);

/* Graph inputs the caller must feed (initializer-backed inputs excluded), and outputs. */
int ferry_engine_input_count(const ferry_engine_t *self);
const char *ferry_engine_input_name(const ferry_engine_t *self, int index);
/* Declared element type of input `index` (FERRY_DT_UNDEFINED when not a tensor). */
int32_t ferry_engine_input_dtype(const ferry_engine_t *self, int index);
int ferry_engine_output_count(const ferry_engine_t *self);
const char *ferry_engine_output_name(const ferry_engine_t *self, int index);
/* Index of the input/output with this name, or -1. */
int ferry_engine_input_index(const ferry_engine_t *self, const char *name);

/* Copy t into input `name`. Returns 0 or -1 with err (unknown name, declared element
 * type differs, declared fixed dimension differs). */
int ferry_engine_set_input(ferry_engine_t *self, const char *name, const ferry_tensor_t *t, ferry_err_t *err);
/* The input's own tensor, to fill in place (zero copy); borrowed. Marks it as set. */
ferry_tensor_t *ferry_engine_input_tensor(ferry_engine_t *self, int index);

/* Execute the graph. Returns 0, or a negative code with err naming the node, the
 * operator and the shapes involved. Outputs stay valid until the next run/destroy. */
int ferry_engine_run(ferry_engine_t *self, ferry_err_t *err);
const ferry_tensor_t *ferry_engine_output(const ferry_engine_t *self, int index);

/* Whether the engine implements (domain, op_type) at this opset. */
bool ferry_engine_supports(const char *domain, const char *op_type, int opset);
/* Every implemented operator as "domain:op" lines (domain "" printed as "ai.onnx");
 * the caller frees the string. */
char *ferry_engine_op_list(void);

#endif
