/* convert.h -- PMML -> ONNX: a compiled PMML model lowered to an ONNX graph computing in double
 *
 * The converter walks the structure model/pmml.h compiles (fields, expressions,
 * predicates, models) and emits an ONNX ModelProto:
 *   - one graph input per DataDictionary field the model uses, shape [N, 1]: numeric
 *     fields as double (NaN = missing), string fields as string ("" = missing);
 *   - every intermediate value in double precision, so a split threshold, a coefficient
 *     and a comparison decide exactly as the PMML evaluator's double arithmetic does;
 *   - trees of TreeModel / MiningModel as one ai.onnx.ml opset 5 TreeEnsemble in double
 *     whose leaves carry leaf numbers; scores and class distributions are gathered from
 *     a leaf table afterwards (exact values, no float rounding of leaf weights);
 *   - outputs "value" (regression, [N, 1] double) or "label" ([N, 1] string or double) and
 *     "probabilities" ([N, C] double, class order in the manifest), plus "row_valid"
 *     ([N, 1] bool) when an invalid input value makes the PMML row fail (returnInvalid).
 * A construct with no faithful ONNX form is refused (FERRY_CONVERT_EUNSUPPORTED) with a
 * message naming the PMML element and its line, never converted approximately.
 *
 * The signature manifest (model/manifest.h) describing inputs, encodings and outputs is
 * returned as JSON and also embedded in the model's metadata_props under
 * FERRY_MANIFEST_KEY. */
#ifndef FERRY_CONVERT_H
#define FERRY_CONVERT_H

#include "model/pmml.h"
#include "util/buf.h"
#include "util/common.h"

#define FERRY_CONVERT_EINVALID (-1)     /* malformed input or a file that cannot be written */
#define FERRY_CONVERT_EUNSUPPORTED (-2) /* valid PMML without a faithful ONNX form */

#define FERRY_CONVERT_OPSET_DEFAULT 17  /* default-domain opset emitted */
#define FERRY_CONVERT_OPSET_MIN 13      /* ReduceSum with axes as an input */
#define FERRY_CONVERT_OPSET_MAX 17      /* ReduceMin/ArgMax with axes attributes */
#define FERRY_CONVERT_ML_OPSET 5        /* ai.onnx.ml: TreeEnsemble */
/* metadata_props key holding the signature manifest JSON */
#define FERRY_CONVERT_MANIFEST_KEY "ferry.manifest"
/* Upper bound on TreeEnsemble nodes one model may expand into (missing-value guards and
 * SetPredicate expansion can duplicate subtrees). */
#define FERRY_CONVERT_MAX_TREE_NODES 20000000

typedef struct {
    int opset; /* 0 = FERRY_CONVERT_OPSET_DEFAULT */
} ferry_convert_opts_t;

/* Convert pmml's top-level model. On success appends the serialized ONNX model to
 * onnx_out, sets *manifest_json (caller frees) and returns 0. Otherwise returns
 * FERRY_CONVERT_EUNSUPPORTED or FERRY_CONVERT_EINVALID with err naming the construct;
 * name (the source file) is used in messages. */
int ferry_convert_pmml(const ferry_pmml_t *pmml, const char *name, const ferry_convert_opts_t *opts,
                       ferry_buf_t *onnx_out, char **manifest_json, ferry_err_t *err);

/* Load the PMML at pmml_path, convert it and write onnx_path atomically, plus the
 * manifest beside it (ferry_convert_manifest_path). Same returns as above. */
int ferry_convert_file(const char *pmml_path, const char *onnx_path, const ferry_convert_opts_t *opts,
                       ferry_err_t *err);

/* "DIR/MODEL.onnx" -> "DIR/MODEL.manifest.json" (caller frees). */
char *ferry_convert_manifest_path(const char *onnx_path);

#endif
