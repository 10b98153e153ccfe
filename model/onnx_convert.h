/* onnx_convert.h -- opset conversion of the default ONNX domain, in place
 *
 * Upward from opset 7 to ferry_onnx_opset_max(), downward where the semantics allow.
 * Each default-domain node is moved across every version boundary of its operator
 * between the two opsets (s_boundaries in onnx_convert.c). Boundaries that change the
 * operator's contract have an adapter:
 *   - attributes that became inputs: Pad (11), Slice (10), Clip (11), TopK (10),
 *     Squeeze/Unsqueeze (13), ReduceSum (13), Split (13), Upsample scales (9),
 *     Dropout ratio (12); Reshape's shape input dates from opset 5, below the range,
 *     and the other reductions change at opset 18, above Debian onnx 1.12's 17;
 *   - renamed or removed operators: Upsample -> Resize (10), Resize 10 -> 11 -> 13
 *     (roi input, coordinate modes), Scatter -> ScatterElements (11);
 *   - BatchNormalization's legacy spatial attribute (9) and training outputs (14);
 *     Softmax/LogSoftmax/Hardmax axis semantics (13, rebuilt with Shape + Flatten +
 *     Reshape when the axis is not the last); RoiAlign's default coordinate mode (16);
 *     Reshape allowzero (14); Constant's value_* shorthands (12); negative axes (11,
 *     normalised with the known rank going down); Gemm's optional C (11); Max/Min/Sum/
 *     Mean broadcasting (8, refused going down); Scan 8 <-> 9 (refused).
 * Going down, an input can only become an attribute again when it is a constant
 * (initializer or Constant node). Other boundaries only widen types or add optional
 * attributes and inputs: after the walk, every node is checked against the target
 * schema (attribute names, input/output counts, element types the target accepts for
 * the inputs and outputs whose type is known), which refuses anything the target
 * cannot express. Element types come from value_info, graph inputs/outputs,
 * initializers, Constants and simple same-type propagation; a name whose facts conflict
 * across subgraphs counts as unknown.
 * Operators of other domains (ai.onnx.ml, custom) are left untouched and keep their
 * own opset import; model-local function bodies are not converted. The IR version is
 * raised to at least the one the target opset came with. On error the model may be
 * half converted: discard it. */
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
