/* test_engine_forest.c -- the engine's tree-ensemble walks against a plain recursive walk
 * of the ONNX definition, bit for bit.
 *
 * The engine picks one of several walks per forest and per block of rows: the switch per
 * node (any mode), a truth table per node (no BRANCH_MEMBER, no NaN threshold), and a
 * BRANCH_LEQ-only form where greater-than nodes have their children swapped (forests of
 * LEQ and GT nodes, blocks of rows without NaN); rows go 8 at a time in lockstep, then
 * one by one. Random forests (ai.onnx.ml 5 TreeEnsemble, double splits) of every mode,
 * with and without missing-value tracking, uneven depths and single-leaf trees, run over
 * inputs with values exactly on the thresholds and NaNs in some blocks only; every
 * (row, target) must equal the reference: 0 plus the leaf weights in tree order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "model/engine.h"
#include "model/tensor.h"
#include "util/mem.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_NODES 4096
#define S_FEATURES 6
#define S_TARGETS 3
#define S_ATTRS 16

enum { S_LEQ, S_LT, S_GTE, S_GT, S_EQ, S_NEQ };

/* ---- a random forest in the opset-5 encoding ----------------------------------------------- */

typedef struct {
    int64_t feature[S_MAX_NODES], true_id[S_MAX_NODES], false_id[S_MAX_NODES];
    int64_t true_leaf[S_MAX_NODES], false_leaf[S_MAX_NODES], missing[S_MAX_NODES];
    double split[S_MAX_NODES];
    uint8_t mode[S_MAX_NODES];
    int64_t n_nodes;
    int64_t leaf_target[S_MAX_NODES];
    double leaf_weight[S_MAX_NODES];
    int64_t n_leaves;
    int64_t roots[S_MAX_NODES];
    int64_t n_trees;
} s_forest_t;

static uint64_t s_rng = 0x2545f4914f6cdd1du;

static uint64_t s_next(void)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return s_rng;
}

/* thresholds and inputs share a grid, so x == threshold happens often */
static double s_grid(void)
{
    static const double grid[] = {-1.0, -0.5, 0.0, 0.5, 1.0, 2.0};
    return grid[s_next() % 6];
}

static int64_t s_new_leaf(s_forest_t *f)
{
    int64_t l = f->n_leaves++;
    f->leaf_target[l] = (int64_t)(s_next() % S_TARGETS);
    f->leaf_weight[l] = ldexp((double)(s_next() >> 11) / 9007199254740992.0 - 0.5, (int)(s_next() % 30) - 15);
    return l;
}

/* grows a subtree; returns its node id. modes: the allowed modes (bit per mode) */
static int64_t s_grow(s_forest_t *f, int depth_left, unsigned modes, bool has_missing)
{
    int64_t i = f->n_nodes++;
    assert_true(f->n_nodes < S_MAX_NODES);
    int m;
    do
        m = (int)(s_next() % 6);
    while (!(modes & (1u << m)));
    f->mode[i] = (uint8_t)m;
    f->feature[i] = (int64_t)(s_next() % S_FEATURES);
    f->split[i] = s_grid();
    f->missing[i] = has_missing ? (int64_t)(s_next() % 2) : 0;
    for (int side = 0; side < 2; side++) {
        bool is_leaf = depth_left <= 1 || s_next() % 4 == 0;
        int64_t id = is_leaf ? s_new_leaf(f) : s_grow(f, depth_left - 1, modes, has_missing);
        if (side) {
            f->true_id[i] = id;
            f->true_leaf[i] = is_leaf;
        } else {
            f->false_id[i] = id;
            f->false_leaf[i] = is_leaf;
        }
    }
    return i;
}

static void s_random_forest(s_forest_t *f, int trees, int max_depth, unsigned modes, bool has_missing)
{
    memset(f, 0, sizeof(*f));
    for (int t = 0; t < trees; t++) {
        if (t == 1) {
            /* a tree that is one leaf: a root whose both children are that leaf */
            int64_t i = f->n_nodes++, l = s_new_leaf(f);
            f->mode[i] = S_LEQ;
            f->true_id[i] = f->false_id[i] = l;
            f->true_leaf[i] = f->false_leaf[i] = 1;
            f->roots[f->n_trees++] = i;
            continue;
        }
        f->roots[f->n_trees++] = s_grow(f, 1 + (int)(s_next() % (unsigned)max_depth), modes, has_missing);
    }
}

/* the ONNX definition, one node at a time */
static int64_t s_ref_leaf(const s_forest_t *f, int64_t i, const double *x)
{
    for (;;) {
        double v = x[f->feature[i]], t = f->split[i];
        bool c;
        if (isnan(v) && f->missing[i]) {
            c = true;
        } else {
            switch (f->mode[i]) {
            case S_LEQ: c = v <= t; break;
            case S_LT: c = v < t; break;
            case S_GTE: c = v >= t; break;
            case S_GT: c = v > t; break;
            case S_EQ: c = v == t; break;
            default: c = v != t; break;
            }
        }
        int64_t next = c ? f->true_id[i] : f->false_id[i];
        if (c ? f->true_leaf[i] : f->false_leaf[i])
            return next;
        i = next;
    }
}

/* ---- the model ------------------------------------------------------------------------------- */

typedef struct {
    Onnx__ModelProto m;
    Onnx__GraphProto g;
    Onnx__OperatorSetIdProto opsets[2];
    Onnx__OperatorSetIdProto *opset_ptrs[2];
    Onnx__NodeProto node;
    Onnx__NodeProto *node_ptr;
    Onnx__AttributeProto attrs[S_ATTRS];
    Onnx__AttributeProto *attr_ptrs[S_ATTRS];
    Onnx__TensorProto tensors[3];
    int64_t tensor_dims[3];
    Onnx__ValueInfoProto in_vi, out_vi;
    Onnx__ValueInfoProto *in_ptr, *out_ptr;
    char *in_names[1], *out_names[1];
} s_model_t;

static Onnx__AttributeProto *s_attr(s_model_t *md, const char *name, int type)
{
    assert_true(md->node.n_attribute < S_ATTRS);
    Onnx__AttributeProto *a = &md->attrs[md->node.n_attribute];
    onnx__attribute_proto__init(a);
    a->name = (char *)name;
    a->has_type = 1;
    a->type = (Onnx__AttributeProto__AttributeType)type;
    md->attr_ptrs[md->node.n_attribute++] = a;
    return a;
}

static void s_attr_ints(s_model_t *md, const char *name, int64_t *v, int64_t count)
{
    Onnx__AttributeProto *a = s_attr(md, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    a->n_ints = (size_t)count;
    a->ints = v;
}

static void s_attr_int(s_model_t *md, const char *name, int64_t v)
{
    Onnx__AttributeProto *a = s_attr(md, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    a->has_i = 1;
    a->i = v;
}

/* a 1-D tensor attribute over borrowed bytes */
static void s_attr_tensor(s_model_t *md, int slot, const char *name, int32_t dtype, void *data, int64_t count,
                          size_t esize)
{
    Onnx__TensorProto *t = &md->tensors[slot];
    onnx__tensor_proto__init(t);
    t->has_data_type = 1;
    t->data_type = dtype;
    md->tensor_dims[slot] = count;
    t->n_dims = 1;
    t->dims = &md->tensor_dims[slot];
    t->has_raw_data = 1;
    t->raw_data.data = data;
    t->raw_data.len = (size_t)count * esize;
    Onnx__AttributeProto *a = s_attr(md, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
    a->t = t;
}

static void s_model_build(s_model_t *md, s_forest_t *f)
{
    memset(md, 0, sizeof(*md));
    onnx__model_proto__init(&md->m);
    onnx__graph_proto__init(&md->g);
    for (int i = 0; i < 2; i++) {
        onnx__operator_set_id_proto__init(&md->opsets[i]);
        md->opsets[i].has_version = 1;
        md->opset_ptrs[i] = &md->opsets[i];
    }
    md->opsets[0].domain = "";
    md->opsets[0].version = 13;
    md->opsets[1].domain = "ai.onnx.ml";
    md->opsets[1].version = 5;
    md->m.n_opset_import = 2;
    md->m.opset_import = md->opset_ptrs;
    md->m.graph = &md->g;
    onnx__node_proto__init(&md->node);
    md->node.op_type = "TreeEnsemble";
    md->node.domain = "ai.onnx.ml";
    md->node.name = "forest";
    md->in_names[0] = "X";
    md->out_names[0] = "Y";
    md->node.n_input = 1;
    md->node.input = md->in_names;
    md->node.n_output = 1;
    md->node.output = md->out_names;
    md->node.attribute = md->attr_ptrs;
    s_attr_ints(md, "nodes_featureids", f->feature, f->n_nodes);
    s_attr_ints(md, "nodes_truenodeids", f->true_id, f->n_nodes);
    s_attr_ints(md, "nodes_falsenodeids", f->false_id, f->n_nodes);
    s_attr_ints(md, "nodes_trueleafs", f->true_leaf, f->n_nodes);
    s_attr_ints(md, "nodes_falseleafs", f->false_leaf, f->n_nodes);
    s_attr_ints(md, "nodes_missing_value_tracks_true", f->missing, f->n_nodes);
    s_attr_ints(md, "leaf_targetids", f->leaf_target, f->n_leaves);
    s_attr_ints(md, "tree_roots", f->roots, f->n_trees);
    s_attr_tensor(md, 0, "nodes_splits", FERRY_DT_DOUBLE, f->split, f->n_nodes, sizeof(double));
    s_attr_tensor(md, 1, "nodes_modes", FERRY_DT_UINT8, f->mode, f->n_nodes, 1);
    s_attr_tensor(md, 2, "leaf_weights", FERRY_DT_DOUBLE, f->leaf_weight, f->n_leaves, sizeof(double));
    s_attr_int(md, "n_targets", S_TARGETS);
    s_attr_int(md, "aggregate_function", 1); /* SUM */
    md->node_ptr = &md->node;
    md->g.n_node = 1;
    md->g.node = &md->node_ptr;
    onnx__value_info_proto__init(&md->in_vi);
    md->in_vi.name = "X";
    md->in_ptr = &md->in_vi;
    md->g.n_input = 1;
    md->g.input = &md->in_ptr;
    onnx__value_info_proto__init(&md->out_vi);
    md->out_vi.name = "Y";
    md->out_ptr = &md->out_vi;
    md->g.n_output = 1;
    md->g.output = &md->out_ptr;
}

/* ---- the check ------------------------------------------------------------------------------ */

/* x [rows, S_FEATURES]: grid values (on thresholds), off-grid values, and NaN in the rows
 * for which nan_row says so (about one cell in five there) */
static ferry_tensor_t *s_inputs(int64_t rows, bool (*nan_row)(int64_t))
{
    int64_t dims[2] = {rows, S_FEATURES};
    ferry_tensor_t *x = ferry_tensor_new();
    assert_int_equal(ferry_tensor_reshape(x, FERRY_DT_DOUBLE, 2, dims, NULL), 0);
    double *v = x->data;
    for (int64_t i = 0; i < x->count; i++) {
        uint64_t r = s_next() % 10;
        v[i] = r < 5 ? s_grid() : ((double)(s_next() % 2001) - 1000.0) / 400.0;
        if (nan_row(i / S_FEATURES) && s_next() % 5 == 0)
            v[i] = NAN;
    }
    return x;
}

static bool s_nan_none(int64_t row)
{
    (void)row;
    return false;
}

static bool s_nan_all(int64_t row)
{
    (void)row;
    return true;
}

/* NaN only in the second 64-row block and the last rows: the blocks around take the
 * NaN-free walk, these the NaN-aware one */
static bool s_nan_some_blocks(int64_t row)
{
    return (row >= 64 && row < 128) || row >= 200;
}

static void s_check(const char *what, int trees, int max_depth, unsigned modes, bool has_missing, int64_t rows,
                    bool (*nan_row)(int64_t))
{
    s_forest_t *f = ferry_calloc(1, sizeof(*f));
    s_random_forest(f, trees, max_depth, modes, has_missing);
    s_model_t md;
    s_model_build(&md, f);
    ferry_err_t err;
    int code = 0;
    ferry_engine_t *e = ferry_engine_new(&md.m, &code, &err);
    if (!e)
        fail_msg("%s: engine refused the forest: %s", what, err.msg);
    for (int round = 0; round < 2; round++) {
        ferry_tensor_t *x = s_inputs(rows, nan_row);
        if (ferry_engine_set_input(e, "X", x, &err) < 0 || ferry_engine_run(e, &err) < 0)
            fail_msg("%s: run failed: %s", what, err.msg);
        const ferry_tensor_t *y = ferry_engine_output(e, 0);
        assert_int_equal(y->dtype, FERRY_DT_DOUBLE);
        assert_int_equal(y->count, rows * S_TARGETS);
        const double *got = y->data;
        for (int64_t r = 0; r < rows; r++) {
            double want[S_TARGETS] = {0};
            for (int64_t t = 0; t < f->n_trees; t++) {
                int64_t leaf = s_ref_leaf(f, f->roots[t], (const double *)x->data + r * S_FEATURES);
                want[f->leaf_target[leaf]] += f->leaf_weight[leaf];
            }
            for (int k = 0; k < S_TARGETS; k++)
                if (memcmp(&want[k], &got[r * S_TARGETS + k], sizeof(double)) != 0)
                    fail_msg("%s, run %d: row %lld target %d is %.17g, the reference walk gives %.17g", what,
                             round + 1, (long long)r, k, got[r * S_TARGETS + k], want[k]);
        }
        ferry_tensor_destroy(&x);
    }
    ferry_engine_destroy(&e);
    free(f);
}

#define S_ALL_MODES 0x3fu
#define S_LEQ_GT ((1u << S_LEQ) | (1u << S_GT))

static void test_forest_every_mode_and_missing(void **state)
{
    (void)state;
    /* truth-table walk (NaN rows or not), and the 1-row case */
    s_check("all modes, missing tracked", 40, 7, S_ALL_MODES, true, 203, s_nan_all);
    s_check("all modes, missing tracked, no NaN", 40, 7, S_ALL_MODES, true, 203, s_nan_none);
    s_check("all modes, no missing tracking", 25, 5, S_ALL_MODES, false, 131, s_nan_some_blocks);
    s_check("all modes, one row", 25, 5, S_ALL_MODES, true, 1, s_nan_all);
}

static void test_forest_leq_gt_blocks(void **state)
{
    (void)state;
    /* LEQ/GT forests: the LEQ-only form for NaN-free blocks, the table elsewhere */
    s_check("LEQ/GT", 60, 8, S_LEQ_GT, false, 203, s_nan_some_blocks);
    s_check("LEQ/GT, missing tracked", 60, 8, S_LEQ_GT, true, 203, s_nan_some_blocks);
    s_check("LEQ/GT, no NaN", 30, 3, S_LEQ_GT, false, 64, s_nan_none);
    s_check("LEQ/GT, 7 rows", 30, 6, S_LEQ_GT, false, 7, s_nan_all);
    /* LEQ only without missing tracking: the simple form */
    s_check("LEQ only", 50, 8, 1u << S_LEQ, false, 203, s_nan_some_blocks);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forest_every_mode_and_missing),
        cmocka_unit_test(test_forest_leq_gt_blocks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
