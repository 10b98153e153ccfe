/* engine_impl.h -- what ferry's engine operators see: nodes, attributes, helpers.
 * Internal to model/engine*.c; users include model/engine.h. */
#ifndef FERRY_ENGINE_IMPL_H
#define FERRY_ENGINE_IMPL_H

#include "model/engine.h"
#include "model/tensor.h"

#include <stdbool.h>
#include <stdint.h>

#define FERRY_NODE_MAX_CACHED_ATTRS 8

/* Hot kernels are compiled for AVX-512, AVX2 and baseline x86-64, picked at load time
 * (one binary for every x86-64). Not under clang or the fuzzer build. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(FERRY_FUZZING)
#define FERRY_ENGINE_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FERRY_ENGINE_CLONES
#endif

typedef struct ferry_node ferry_node_t;

typedef struct ferry_op_def {
    const char *domain; /* "" (ai.onnx) or "ai.onnx.ml" */
    const char *name;
    int min_opset;      /* oldest opset of its domain whose semantics are implemented */
    /* Optional: parse attributes into the node once. May refuse (return
     * FERRY_ENGINE_EUNSUPPORTED or -1) with err. */
    int (*prepare)(ferry_node_t *node, ferry_err_t *err);
    int (*run)(ferry_node_t *node, ferry_err_t *err);
} ferry_op_def_t;

struct ferry_node {
    const Onnx__NodeProto *proto;
    const ferry_op_def_t *def;
    const char *name;         /* node name, or its first output when unnamed */
    int opset;                /* version of the node's domain imported by the model */
    int n_in, n_out;
    ferry_tensor_t **in;      /* NULL entries: optional inputs left empty ("") */
    ferry_tensor_t **out;     /* never NULL: unused outputs get a scratch tensor */
    uint64_t const_inputs;    /* bit k: input k is an initializer or folded constant
                                 (its value is known at prepare time) */
    bool is_folded;           /* computed at prepare (Constant): skipped at run */
    const char *bad_attr;     /* set by the attribute getters on a type mismatch */
    int64_t ia[FERRY_NODE_MAX_CACHED_ATTRS]; /* attributes parsed by prepare */
    double fa[FERRY_NODE_MAX_CACHED_ATTRS];
    void *state;              /* operator-specific plan, freed with state_free */
    void (*state_free)(void *state);
    ferry_tensor_t tmp[3];    /* scratch tensors reused across runs */
};

/* Operator tables, one per ops file, terminated by an entry with name NULL. */
extern const ferry_op_def_t ferry_engine_ops_math[];
extern const ferry_op_def_t ferry_engine_ops_shape[];
extern const ferry_op_def_t ferry_engine_ops_nn[];
extern const ferry_op_def_t ferry_engine_ops_ml[];
extern const ferry_op_def_t ferry_engine_ops_index[];

/* ---- attributes (read at prepare time) ------------------------------------------------ */
/* The attribute, or NULL. */
const Onnx__AttributeProto *ferry_attr(const ferry_node_t *n, const char *name);
/* Typed getters: the default when absent; a present attribute of another type records
 * node->bad_attr (the engine refuses the node after prepare). */
int64_t ferry_attr_int(ferry_node_t *n, const char *name, int64_t def);
float ferry_attr_float(ferry_node_t *n, const char *name, float def);
/* A fresh NUL-terminated copy (caller frees), or a copy of def (NULL def -> NULL). */
char *ferry_attr_string(ferry_node_t *n, const char *name, const char *def);
/* Borrowed arrays; *count = 0 and NULL when absent. */
const int64_t *ferry_attr_ints(ferry_node_t *n, const char *name, size_t *count);
const float *ferry_attr_floats(ferry_node_t *n, const char *name, size_t *count);
const ProtobufCBinaryData *ferry_attr_strings(ferry_node_t *n, const char *name, size_t *count);
const Onnx__TensorProto *ferry_attr_tensor(ferry_node_t *n, const char *name);

/* ---- helpers for operators ------------------------------------------------------------ */
/* Fill err with "input K of node: message". Returns -1. */
int ferry_op_fail(const ferry_node_t *n, ferry_err_t *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Require input k present; returns it or NULL with err. */
ferry_tensor_t *ferry_op_input(const ferry_node_t *n, int k, ferry_err_t *err);
/* Require input k to be one of the types in mask (bit = 1 << dtype). */
int ferry_op_check_type(const ferry_node_t *n, int k, uint32_t type_mask, ferry_err_t *err);
#define FERRY_DTM(dt) (1u << (dt))
#define FERRY_DTM_FLOATS (FERRY_DTM(FERRY_DT_FLOAT) | FERRY_DTM(FERRY_DT_DOUBLE) | FERRY_DTM(FERRY_DT_FLOAT16))
#define FERRY_DTM_SINTS                                                                                    \
    (FERRY_DTM(FERRY_DT_INT8) | FERRY_DTM(FERRY_DT_INT16) | FERRY_DTM(FERRY_DT_INT32) | FERRY_DTM(FERRY_DT_INT64))
#define FERRY_DTM_UINTS                                                                                    \
    (FERRY_DTM(FERRY_DT_UINT8) | FERRY_DTM(FERRY_DT_UINT16) | FERRY_DTM(FERRY_DT_UINT32) |                 \
     FERRY_DTM(FERRY_DT_UINT64))
#define FERRY_DTM_INTS (FERRY_DTM_SINTS | FERRY_DTM_UINTS)
#define FERRY_DTM_NUMERIC (FERRY_DTM_FLOATS | FERRY_DTM_INTS)
#define FERRY_DTM_ALL (FERRY_DTM_NUMERIC | FERRY_DTM(FERRY_DT_BOOL) | FERRY_DTM(FERRY_DT_STRING))

/* numpy broadcast of shapes a and b into (ndim, dims); -1 with err when incompatible. */
int ferry_broadcast_shape(const ferry_node_t *n, int andim, const int64_t *adims, int bndim,
                          const int64_t *bdims, int *ndim, int64_t *dims, ferry_err_t *err);
/* Strides (in elements) of t read as a tensor of shape (ndim, dims) under broadcast: 0 on
 * broadcast axes. t's rank must be <= ndim. */
void ferry_broadcast_strides(const ferry_tensor_t *t, int ndim, const int64_t *dims, int64_t *strides);

/* Read a 1-D (or scalar) integer tensor into a fresh int64 array (caller frees). */
int ferry_op_read_ints(const ferry_node_t *n, int k, int64_t **vals, int64_t *count, ferry_err_t *err);
/* Normalise axis into [0, rank) (negative counts from the end); -1 with err if out. */
int ferry_op_axis(const ferry_node_t *n, int64_t axis, int rank, int *out, ferry_err_t *err);
/* Convert every element of src into dst of dtype dst_type (numeric/bool/float16). */
void ferry_convert_elems(void *dst, int32_t dst_type, const void *src, int32_t src_type, int64_t count);

#endif
