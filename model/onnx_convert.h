/* onnx_convert.h -- opset conversion of the default ONNX domain, in place
 *
 * Upward from opset 7 to ferry_onnx_opset_max(), downward where the semantics allow.
 * Each default-domain node is moved across every version boundary of its operator
 * between the two opsets. Boundaries that change the operator's contract have an
 * adapter (attributes that became inputs: Reshape, Pad, Slice, Clip, TopK, Squeeze,
 * Unsqueeze, ReduceSum, Split, Upsample/Resize, Dropout; BatchNormalization's legacy
 * attributes and outputs; Softmax/LogSoftmax/Hardmax's axis semantics; renamed or
 * removed operators: Upsample -> Resize, Scatter -> ScatterElements; RoiAlign's default
 * coordinate mode). Going down, an input can only become an attribute again when it is
 * a constant (initializer or Constant node). Other boundaries only widen types or add
 * optional attributes and inputs: they are crossed after checking that the node uses
 * nothing the target version lacks (attribute names, input/output counts).
 * Operators of other domains (ai.onnx.ml, custom) are left untouched and keep their
 * own opset import. The IR version is raised to at least the one the target opset
 * needs. On error the model may be half converted: discard it. */
#ifndef FERRY_ONNX_CONVERT_H
#define FERRY_ONNX_CONVERT_H

#include "model/onnx.h"

/* Oldest default-domain opset ferry converts from or to. */
#define FERRY_ONNX_OPSET_MIN 7

typedef struct {
    int from_opset, to_opset;
    size_t nodes_rewritten; /* nodes whose attributes/inputs/op changed */
    size_t nodes_added;     /* Constant/Shape/... nodes inserted */
} ferry_onnx_convert_report_t;

/* Latest default-domain opset ferry knows (the generated table's). */
int ferry_onnx_opset_max(void);

/* Convert model to default-domain opset `target`. Returns 0, or -ENOTSUP with err naming
 * the graph, node index, name, operator and the reason the node cannot be converted,
 * -ERANGE (target outside FERRY_ONNX_OPSET_MIN..max) or -EINVAL (model without a
 * default-domain import or without a graph). */
int ferry_onnx_convert_opset(ferry_onnx_t *model, int target, ferry_onnx_convert_report_t *report,
                             ferry_err_t *err);

#endif
