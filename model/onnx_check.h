/* onnx_check.h -- structural checker for ONNX models, in the spirit of onnx.checker
 *
 * Checks: IR version and opset imports present; every operator known for its domain at
 * the imported opset version (generated table, model/onnx_ops.h) and not deprecated;
 * input/output arity; attributes declared by the operator, with the declared type and
 * every required one present; nodes topologically sorted, every input defined exactly
 * once before use (subgraphs see the names of enclosing graphs); graph outputs
 * produced; initializer and constant tensor sizes consistent with their dims and type.
 * Operators of domains the table does not describe (custom domains) are not verified,
 * like onnx.checker; model-local functions make their (domain, name) known. */
#ifndef FERRY_ONNX_CHECK_H
#define FERRY_ONNX_CHECK_H

#include "model/onnx.h"
#include "util/json.h"

/* At most this many problems are recorded; the count keeps going. */
#define FERRY_ONNX_MAX_PROBLEMS 1000

typedef struct {
    char *graph;      /* "main", or a path like "main/node 3 (If)/then_branch"; "function D:N" */
    long node_index;  /* -1 for problems not about one node */
    char *node_name;  /* may be "" */
    char *op_type;    /* may be "" */
    char *message;
} ferry_onnx_problem_t;

typedef struct {
    ferry_onnx_problem_t *items;
    size_t count;     /* recorded (at most FERRY_ONNX_MAX_PROBLEMS) */
    size_t total;     /* found */
    size_t nodes_checked;
    size_t unverified_nodes; /* nodes of custom domains the table cannot check */
} ferry_onnx_problems_t;

/* Check a loaded model; fills *out (caller frees with ferry_onnx_problems_free).
 * Returns the number of problems found (0: the model is valid). Never fails: every
 * malformation is a problem, not an error. */
size_t ferry_onnx_check(ferry_onnx_t *model, ferry_onnx_problems_t *out);
void ferry_onnx_problems_free(ferry_onnx_problems_t *p);

/* One line per problem: "graph main, node 3 'conv1' (Conv): message". Caller frees. */
char *ferry_onnx_problem_format(const ferry_onnx_problem_t *p);
/* {"valid": bool, "problems": [{"graph","node_index","node_name","op_type","message"}],
 *  "problem_count": N, "nodes_checked": N, "unverified_nodes": N} */
void ferry_onnx_problems_json(const ferry_onnx_problems_t *p, ferry_json_t *j);

#endif
