/* onnx_ops.h -- the ONNX operator table: names, since-versions, arity, attribute types
 *
 * The rows are generated from the ONNX specification (python3-onnx's onnx.defs) by
 * model/gen_onnx_ops.py into model/onnx_ops_table.c, committed as data. */
#ifndef FERRY_ONNX_OPS_H
#define FERRY_ONNX_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *name;
    int type;      /* AttributeProto.AttributeType (1 FLOAT, 2 INT, 3 STRING, 4 TENSOR, 5 GRAPH, ...) */
    bool required;
} ferry_onnx_attr_def_t;

typedef struct {
    const char *domain;  /* "" is the default domain (ai.onnx) */
    const char *name;
    int since_version;
    bool deprecated;     /* removed from this version on */
    int min_input, max_input, min_output, max_output; /* INT32_MAX: variadic */
    int attr_first, attr_count; /* rows in ferry_onnx_op_attrs, sorted by name */
    int types_first;            /* ferry_onnx_op_types[types_first ...]: one mask per formal */
    int n_in_params, n_out_params; /* input, then per formal output (variadic: the last repeats) */
} ferry_onnx_op_def_t;

/* A type mask has bit (1 << DataType) set for each allowed tensor element type, and
 * FERRY_ONNX_TYPE_OTHER for non-tensor types (sequences, maps, optionals). */
#define FERRY_ONNX_TYPE_OTHER (1u << 31)

extern const ferry_onnx_op_def_t *const ferry_onnx_ops;
extern const ferry_onnx_attr_def_t *const ferry_onnx_op_attrs;
extern const uint32_t *const ferry_onnx_op_types;
extern const size_t ferry_onnx_ops_count;
extern const char ferry_onnx_ops_source[];   /* e.g. "onnx 1.12.0" */
extern const int ferry_onnx_opset_latest;    /* latest default-domain opset in the table */
extern const int ferry_onnx_ml_opset_latest; /* latest ai.onnx.ml opset in the table */

/* "ai.onnx" and "" both name the default domain; returns the canonical spelling. */
const char *ferry_onnx_domain_canonical(const char *domain);
/* True when the table describes this domain (default, ai.onnx.ml, ai.onnx.preview.training). */
bool ferry_onnx_domain_known(const char *domain);

/* The schema in force for op (domain, name) in a model importing `opset` for that
 * domain: the row with the greatest since_version <= opset. NULL when the operator does
 * not exist at that version (or at all). A deprecated row is returned as is: callers
 * decide (the checker reports it). O(log n). */
const ferry_onnx_op_def_t *ferry_onnx_op_find(const char *domain, const char *name, int64_t opset);
/* Any row for (domain, name), the first by version; NULL when unknown at every version. */
const ferry_onnx_op_def_t *ferry_onnx_op_any(const char *domain, const char *name);
/* The attribute of that name declared by op, or NULL. */
const ferry_onnx_attr_def_t *ferry_onnx_op_attr(const ferry_onnx_op_def_t *op, const char *name);

/* Allowed element types of input (is_output false) or output number index of op, as a
 * mask (see above); 0 when the operator has no such formal parameter. */
uint32_t ferry_onnx_op_type_mask(const ferry_onnx_op_def_t *op, bool is_output, size_t index);

#endif
