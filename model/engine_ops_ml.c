/* engine_ops_ml.c -- the ai.onnx.ml operators of ferry's engine: linear models, tree
 * ensembles (TreeEnsembleRegressor/Classifier and ai.onnx.ml-5 TreeEnsemble), SVMs and
 * the preprocessing operators (Scaler, Normalizer, Imputer, OneHotEncoder, LabelEncoder,
 * Binarizer, ArrayFeatureExtractor, CategoryMapper, FeatureVectorizer, ZipMap).
 *
 * Semantics follow the ONNX operator documentation; where the documentation is silent
 * and ONNX Runtime (the runtime users deploy) has a de-facto convention -- the binary
 * classifier with one score column, SVM vote ties, LinearClassifier label choice -- ferry
 * follows ONNX Runtime. Where ONNX Runtime silently ignores an attribute (post_transform
 * on a single score column) or is known to be wrong, the model is refused with
 * FERRY_ENGINE_EUNSUPPORTED rather than answered in one of two incompatible ways.
 *
 * Tree ensembles are compiled once at prepare time into a flat node array (children as
 * indices, leaves encoded as negative numbers) that is checked to be a forest, so a
 * hostile model cannot make evaluation loop forever. Arithmetic is done in double
 * (PMML computes in double); comparisons of float inputs with float thresholds are
 * exact in double. */
#include "model/engine_impl.h"
#include "util/mem.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_ML_MAX_CLASSES 100000
#define S_ML_MAX_TREE_ATTR 50000000 /* entries in one nodes_* attribute */

/* ---- shared helpers ----------------------------------------------------------------------- */

enum { S_PT_NONE, S_PT_LOGISTIC, S_PT_SOFTMAX, S_PT_SOFTMAX_ZERO, S_PT_PROBIT };

static int s_parse_post_transform(ferry_node_t *n, int *out, ferry_err_t *err)
{
    char *s = ferry_attr_string(n, "post_transform", "NONE");
    int rc = 0;
    if (!strcmp(s, "NONE"))
        *out = S_PT_NONE;
    else if (!strcmp(s, "LOGISTIC"))
        *out = S_PT_LOGISTIC;
    else if (!strcmp(s, "SOFTMAX"))
        *out = S_PT_SOFTMAX;
    else if (!strcmp(s, "SOFTMAX_ZERO"))
        *out = S_PT_SOFTMAX_ZERO;
    else if (!strcmp(s, "PROBIT"))
        *out = S_PT_PROBIT;
    else
        rc = ferry_op_fail(n, err, "post_transform '%.40s' is not one of NONE, LOGISTIC, SOFTMAX, SOFTMAX_ZERO, PROBIT",
                           s);
    free(s);
    return rc;
}

static inline double s_logistic(double v)
{
    double e = exp(-fabs(v));
    double p = 1.0 / (1.0 + e);
    return v < 0 ? 1.0 - p : p;
}

/* Inverse error function (Giles' single-precision approximation refined by two Newton
 * steps on erf), used by PROBIT: probit(p) = sqrt(2) * erfinv(2p - 1). */
static double s_erfinv(double x)
{
    if (x <= -1)
        return -INFINITY;
    if (x >= 1)
        return INFINITY;
    double w = -log((1.0 - x) * (1.0 + x)), p;
    if (w < 5.0) {
        w -= 2.5;
        p = 2.81022636e-08;
        p = 3.43273939e-07 + p * w;
        p = -3.5233877e-06 + p * w;
        p = -4.39150654e-06 + p * w;
        p = 0.00021858087 + p * w;
        p = -0.00125372503 + p * w;
        p = -0.00417768164 + p * w;
        p = 0.246640727 + p * w;
        p = 1.50140941 + p * w;
    } else {
        w = sqrt(w) - 3.0;
        p = -0.000200214257;
        p = 0.000100950558 + p * w;
        p = 0.00134934322 + p * w;
        p = -0.00367342844 + p * w;
        p = 0.00573950773 + p * w;
        p = -0.0076224613 + p * w;
        p = 0.00943887047 + p * w;
        p = 1.00167406 + p * w;
        p = 2.83297682 + p * w;
    }
    double r = p * x;
    for (int i = 0; i < 2; i++) /* Newton on erf(r) = x */
        r -= (erf(r) - x) / (2.0 / sqrt(M_PI) * exp(-r * r));
    return r;
}

static void s_apply_post(int pt, double *v, int64_t k)
{
    switch (pt) {
    case S_PT_LOGISTIC:
        for (int64_t i = 0; i < k; i++)
            v[i] = s_logistic(v[i]);
        break;
    case S_PT_SOFTMAX: {
        double mx = -INFINITY, sum = 0;
        for (int64_t i = 0; i < k; i++)
            mx = v[i] > mx ? v[i] : mx;
        for (int64_t i = 0; i < k; i++)
            sum += (v[i] = exp(v[i] - mx));
        for (int64_t i = 0; i < k; i++)
            v[i] /= sum;
        break;
    }
    case S_PT_SOFTMAX_ZERO: { /* zeros stay zero: they mark "no score" */
        double mx = -INFINITY, sum = 0;
        for (int64_t i = 0; i < k; i++)
            mx = v[i] > mx ? v[i] : mx;
        for (int64_t i = 0; i < k; i++) {
            if (fabs(v[i]) > 1e-7) {
                v[i] = exp(v[i] - mx);
                sum += v[i];
            } else {
                v[i] *= exp(-mx);
            }
        }
        for (int64_t i = 0; i < k; i++)
            v[i] = sum > 0 ? v[i] / sum : 0;
        break;
    }
    case S_PT_PROBIT:
        for (int64_t i = 0; i < k; i++)
            v[i] = M_SQRT2 * s_erfinv(2 * v[i] - 1);
        break;
    default:
        break;
    }
}

/* X as a row-major double matrix [rows, cols] (rank 1 = one row). */
static const double *s_rows_f64(ferry_node_t *n, const ferry_tensor_t *x, int64_t *rows, int64_t *cols,
                                ferry_tensor_t *scratch, ferry_err_t *err)
{
    uint32_t ok = FERRY_DTM(FERRY_DT_FLOAT) | FERRY_DTM(FERRY_DT_DOUBLE) | FERRY_DTM(FERRY_DT_INT32) |
                  FERRY_DTM(FERRY_DT_INT64);
    if (x->dtype < 0 || x->dtype >= 32 || !(ok & FERRY_DTM(x->dtype))) {
        ferry_op_fail(n, err, "input has element type %s; float, double, int32 or int64 expected",
                      ferry_dtype_name(x->dtype));
        return NULL;
    }
    if (x->ndim == 1) {
        *rows = 1;
        *cols = x->dims[0];
    } else if (x->ndim == 2) {
        *rows = x->dims[0];
        *cols = x->dims[1];
    } else {
        char s[200];
        ferry_op_fail(n, err, "input shape %s: a [N, C] matrix (or a [C] vector) is expected",
                      ferry_tensor_shape_str(x, s, sizeof(s)));
        return NULL;
    }
    if (x->dtype == FERRY_DT_DOUBLE)
        return x->data;
    if (ferry_tensor_reshape_like(scratch, FERRY_DT_DOUBLE, x, err) < 0)
        return NULL;
    ferry_convert_elems(scratch->data, FERRY_DT_DOUBLE, x->data, x->dtype, x->count);
    return scratch->data;
}

/* Class labels: classlabels_ints / classlabels_int64s or classlabels_strings. */
typedef struct {
    int64_t n;
    int64_t *ints;  /* NULL when string labels */
    char **strs;
} s_labels_t;

static void s_labels_free(s_labels_t *l)
{
    if (l->strs)
        for (int64_t i = 0; i < l->n; i++)
            free(l->strs[i]);
    free(l->strs);
    free(l->ints);
    memset(l, 0, sizeof(*l));
}

static int s_labels_parse(ferry_node_t *n, const char *ints_name, s_labels_t *l, ferry_err_t *err)
{
    size_t ni = 0, ns = 0;
    const int64_t *ints = ferry_attr_ints(n, ints_name, &ni);
    const ProtobufCBinaryData *strs = ferry_attr_strings(n, "classlabels_strings", &ns);
    if (ni && ns)
        return ferry_op_fail(n, err, "both %s and classlabels_strings are set", ints_name);
    if (ni > S_ML_MAX_CLASSES || ns > S_ML_MAX_CLASSES)
        return ferry_op_fail(n, err, "more than %d class labels", S_ML_MAX_CLASSES);
    if (ns) {
        l->n = (int64_t)ns;
        l->strs = ferry_calloc(ns, sizeof(char *));
        for (size_t i = 0; i < ns; i++)
            l->strs[i] = ferry_strndup(strs[i].data ? (const char *)strs[i].data : "", strs[i].len);
    } else {
        l->n = (int64_t)ni;
        l->ints = ferry_malloc(sizeof(int64_t) * (ni + 1));
        if (ni)
            memcpy(l->ints, ints, ni * sizeof(int64_t));
    }
    return 0;
}

static int s_labels_output(const s_labels_t *l, ferry_tensor_t *y, int64_t rows, ferry_err_t *err)
{
    return ferry_tensor_reshape(y, l->strs ? FERRY_DT_STRING : FERRY_DT_INT64, 1, &rows, err);
}

static void s_labels_set(const s_labels_t *l, ferry_tensor_t *y, int64_t row, int64_t cls)
{
    if (l->strs)
        ferry_tensor_set_string(y, row, l->strs[cls], strlen(l->strs[cls]));
    else
        ((int64_t *)y->data)[row] = l->ints[cls];
}

/* A float or double attribute array (floats, or the *_as_tensor double form). */
static int s_attr_f64s(ferry_node_t *n, const char *name, double **out, int64_t *count, ferry_err_t *err)
{
    char tname[128];
    snprintf(tname, sizeof(tname), "%s_as_tensor", name);
    size_t cnt = 0;
    const float *f = ferry_attr_floats(n, name, &cnt);
    const Onnx__TensorProto *tp = ferry_attr_tensor(n, tname);
    *out = NULL;
    *count = 0;
    if (tp) {
        ferry_tensor_t t;
        ferry_tensor_init(&t);
        if (ferry_tensor_from_proto(&t, tp, tname, err) < 0 ||
            !(t.dtype == FERRY_DT_DOUBLE || t.dtype == FERRY_DT_FLOAT)) {
            ferry_tensor_clear(&t);
            return ferry_op_fail(n, err, "attribute %s must be a float or double tensor", tname);
        }
        *out = ferry_malloc(sizeof(double) * (size_t)(t.count + 1));
        for (int64_t i = 0; i < t.count; i++)
            (*out)[i] = ferry_tensor_get_f64(&t, i);
        *count = t.count;
        ferry_tensor_clear(&t);
        return 0;
    }
    *out = ferry_malloc(sizeof(double) * (cnt + 1));
    for (size_t i = 0; i < cnt; i++)
        (*out)[i] = f[i];
    *count = (int64_t)cnt;
    return 0;
}

/* ---- LinearRegressor, LinearClassifier -------------------------------------------------- */

typedef struct {
    double *coef;     /* [targets, features] */
    double *intercept;/* [targets] */
    int64_t targets, features;
    int post;
    s_labels_t labels;/* classifier only */
} s_linear_t;

static void s_linear_free(void *p)
{
    s_linear_t *s = p;
    free(s->coef);
    free(s->intercept);
    s_labels_free(&s->labels);
    free(s);
}

static int s_prep_linear(ferry_node_t *n, ferry_err_t *err)
{
    bool is_classifier = !strcmp(n->proto->op_type, "LinearClassifier");
    s_linear_t *s = ferry_calloc(1, sizeof(*s));
    n->state = s;
    n->state_free = s_linear_free;
    if (s_parse_post_transform(n, &s->post, err) < 0)
        return -1;
    int64_t nc, ni;
    if (s_attr_f64s(n, "coefficients", &s->coef, &nc, err) < 0 || s_attr_f64s(n, "intercepts", &s->intercept, &ni, err) < 0)
        return -1;
    if (is_classifier) {
        if (s_labels_parse(n, "classlabels_ints", &s->labels, err) < 0)
            return -1;
        s->targets = s->labels.n;
        if (s->targets < 2 || ni != s->targets || nc % s->targets) {
            /* One score column with two labels: ONNX Runtime writes [1 - s, s] from the
             * raw score whatever post_transform says; no faithful answer exists. */
            ferry_op_fail(n, err, "%lld class labels with %lld intercepts and %lld coefficients: ferry needs one "
                                  "coefficient row and one intercept per class (at least 2 classes)",
                          (long long)s->labels.n, (long long)ni, (long long)nc);
            return FERRY_ENGINE_EUNSUPPORTED;
        }
        if (ferry_attr_int(n, "multi_class", 0) != 0) {
            ferry_op_fail(n, err, "multi_class=1 is not supported");
            return FERRY_ENGINE_EUNSUPPORTED;
        }
    } else {
        s->targets = ferry_attr_int(n, "targets", 1);
        if (s->targets < 1 || s->targets > S_ML_MAX_CLASSES || nc % s->targets || (ni && ni != s->targets))
            return ferry_op_fail(n, err, "targets=%lld does not divide %lld coefficients (intercepts: %lld)",
                                 (long long)s->targets, (long long)nc, (long long)ni);
        if (!ni) {
            free(s->intercept);
            s->intercept = ferry_calloc((size_t)s->targets, sizeof(double));
        }
    }
    s->features = nc / s->targets;
    if (s->targets == 1 && s->post != S_PT_NONE && s->post != S_PT_PROBIT) {
        ferry_op_fail(n, err, "post_transform on a single score column is ignored by ONNX Runtime; refused as "
                              "ambiguous");
        return FERRY_ENGINE_EUNSUPPORTED;
    }
    return 0;
}

static int s_run_linear(ferry_node_t *n, ferry_err_t *err)
{
    s_linear_t *s = n->state;
    bool is_classifier = s->labels.n > 0;
    const ferry_tensor_t *x = ferry_op_input(n, 0, err);
    int64_t rows, cols;
    const double *X = x ? s_rows_f64(n, x, &rows, &cols, &n->tmp[0], err) : NULL;
    if (!X)
        return -1;
    if (cols != s->features)
        return ferry_op_fail(n, err, "input has %lld features, the model has %lld", (long long)cols,
                             (long long)s->features);
    ferry_tensor_t *z = is_classifier ? (n->n_out > 1 ? n->out[1] : &n->tmp[1]) : n->out[0];
    int64_t zd[2] = {rows, s->targets};
    if (ferry_tensor_reshape(z, FERRY_DT_FLOAT, 2, zd, err) < 0)
        return -1;
    if (is_classifier && s_labels_output(&s->labels, n->out[0], rows, err) < 0)
        return -1;
    double buf[64], *v = s->targets <= 64 ? buf : ferry_malloc(sizeof(double) * (size_t)s->targets);
    float *zo = z->data;
    for (int64_t r = 0; r < rows; r++) {
        const double *xr = X + r * cols;
        for (int64_t t = 0; t < s->targets; t++) {
            const double *c = s->coef + t * cols;
            double acc = s->intercept[t];
            for (int64_t j = 0; j < cols; j++)
                acc += c[j] * xr[j];
            v[t] = acc;
        }
        if (is_classifier) {
            int64_t best = 0;
            for (int64_t t = 1; t < s->targets; t++)
                if (v[t] > v[best])
                    best = t;
            s_labels_set(&s->labels, n->out[0], r, best);
        }
        s_apply_post(s->post, v, s->targets);
        for (int64_t t = 0; t < s->targets; t++)
            zo[r * s->targets + t] = (float)v[t];
    }
    if (v != buf)
        free(v);
    return 0;
}

/* ---- tree ensembles ------------------------------------------------------------------------- */

enum { S_M_LEQ, S_M_LT, S_M_GTE, S_M_GT, S_M_EQ, S_M_NEQ, S_M_MEMBER, S_M_LEAF };
enum { S_AGG_AVERAGE, S_AGG_SUM, S_AGG_MIN, S_AGG_MAX };

typedef struct {
    double value;       /* threshold */
    int32_t feature;
    int32_t next[2];    /* [0] false, [1] true: >= 0 node index, < 0 leaf -(index + 1) */
    uint8_t mode;
    uint8_t is_missing_true;
    uint8_t truth;      /* is_tabled forests: the branch taken, bit S_CMP_* of x's relation to value */
} s_tnode_t; /* 24 bytes: a cache line holds most of a path's top */

/* Where x stands against a threshold: bit positions in s_tnode_t.truth. NaN (x or the
 * threshold) is none of less, equal, greater. */
enum { S_CMP_NAN = 0, S_CMP_LT = 1, S_CMP_EQ = 2, S_CMP_GT = 4 };

/* The fast form for the common case -- float input, float thresholds, every branch LEQ
 * without missing tracking: 16 bytes a node, compared in float (exact: the thresholds
 * are floats, so (float)x <= t decides as (double)x <= (double)t). */
typedef struct {
    float value;
    int32_t feature;
    int32_t next[2];
} s_fnode_t;

typedef struct {
    s_tnode_t *nodes;
    s_fnode_t *fnodes; /* NULL unless the fast form applies */
    int32_t n_nodes;
    int32_t *leaf_start, *leaf_count; /* per leaf: range in targets/weights */
    int32_t n_leaves;
    int32_t *targets;
    double *weights;
    int32_t *roots;
    int32_t n_trees;
    double *members;
    int32_t *set_start, *set_count; /* per node, MEMBER only: range in members */
    double *acc;       /* [rows, n_targets] accumulators, reused across runs */
    uint8_t *has;
    int64_t acc_cap;
    int64_t n_targets;
    int agg, post;
    double *base;
    int64_t n_base;
    int32_t max_feature;
    bool is_simple;    /* every branch is LEQ without missing tracking: fast loop */
    bool is_tabled;    /* no MEMBER branch, no NaN threshold: every node decides by its truth
                          table, without a switch (a lockstep walk like the simple form) */
    /* The branch-free walk (is_simple or is_tabled forests): nodes then one absorbing node
     * per leaf (both children itself, at n_nodes + leaf), so S_TREE_LANES rows take
     * exactly depth[t] steps through tree t with no test for having arrived. */
    s_tnode_t *wnodes;
    s_tnode_t *lnodes; /* wnodes with every node as BRANCH_LEQ (GT nodes' children swapped):
                          exact for rows without NaN; NULL unless all nodes are LEQ or GT */
    int32_t *wroots, *depth; /* per tree: root in wnodes, longest root-to-leaf branch count */
    /* classifier */
    bool is_classifier, is_binary_single, is_all_positive;
    s_labels_t labels;
    int32_t out_dtype; /* TreeEnsemble: output type of X */
} s_forest_t;

static void s_forest_free(void *p)
{
    s_forest_t *f = p;
    free(f->nodes);
    free(f->fnodes);
    free(f->wnodes);
    free(f->lnodes);
    free(f->wroots);
    free(f->depth);
    free(f->leaf_start);
    free(f->leaf_count);
    free(f->targets);
    free(f->weights);
    free(f->roots);
    free(f->members);
    free(f->set_start);
    free(f->set_count);
    free(f->acc);
    free(f->has);
    free(f->base);
    s_labels_free(&f->labels);
    free(f);
}

/* Build the branch-free walk of a checked forest (see s_forest_t.wnodes). */
static void s_forest_plan_walk(s_forest_t *f)
{
    size_t total = (size_t)f->n_nodes + (size_t)f->n_leaves;
    f->wnodes = ferry_calloc(total + 1, sizeof(s_tnode_t));
    bool is_leq_or_gt = true;
    for (int32_t i = 0; i < f->n_nodes; i++) {
        s_tnode_t *w = &f->wnodes[i];
        *w = f->nodes[i];
        for (int side = 0; side < 2; side++)
            if (w->next[side] < 0)
                w->next[side] = f->n_nodes + (-w->next[side] - 1);
        if (w->mode != S_M_LEQ && w->mode != S_M_GT)
            is_leq_or_gt = false;
    }
    for (int32_t l = 0; l < f->n_leaves; l++) {
        s_tnode_t *w = &f->wnodes[f->n_nodes + l];
        w->next[0] = w->next[1] = f->n_nodes + l; /* feature 0: any row has it, once it has any */
    }
    if (is_leq_or_gt && !f->is_simple) {
        /* for x and threshold not NaN, x > t is !(x <= t) */
        f->lnodes = ferry_malloc(sizeof(s_tnode_t) * (total + 1));
        memcpy(f->lnodes, f->wnodes, sizeof(s_tnode_t) * total);
        for (int32_t i = 0; i < f->n_nodes; i++)
            if (f->lnodes[i].mode == S_M_GT) {
                int32_t t = f->lnodes[i].next[0];
                f->lnodes[i].next[0] = f->lnodes[i].next[1];
                f->lnodes[i].next[1] = t;
                f->lnodes[i].mode = S_M_LEQ;
            }
    }
    f->wroots = ferry_malloc(sizeof(int32_t) * ((size_t)f->n_trees + 1));
    f->depth = ferry_calloc((size_t)f->n_trees + 1, sizeof(int32_t));
    /* depth-first, (node, depth) pairs; the forest is checked, so this ends */
    int32_t *stack = ferry_malloc(sizeof(int32_t) * 2 * (total + 2));
    for (int32_t t = 0; t < f->n_trees; t++) {
        int32_t root = f->roots[t];
        f->wroots[t] = root >= 0 ? root : f->n_nodes + (-root - 1);
        int32_t sp = 0;
        stack[sp++] = f->wroots[t];
        stack[sp++] = 0;
        while (sp > 0) {
            int32_t d = stack[--sp], i = stack[--sp];
            if (i >= f->n_nodes) {
                if (d > f->depth[t])
                    f->depth[t] = d;
                continue;
            }
            for (int side = 0; side < 2; side++) {
                stack[sp++] = f->wnodes[i].next[side];
                stack[sp++] = d + 1;
            }
        }
    }
    free(stack);
}

/* Check that following children from every root reaches each node and leaf at most once:
 * the structure is a forest, so evaluation terminates. With is_complete, every node and
 * leaf must also be reached (the legacy encoding lists exactly the trees' nodes). */
static int s_forest_check(ferry_node_t *n, s_forest_t *f, bool is_complete, ferry_err_t *err)
{
    uint8_t *seen_node = ferry_calloc((size_t)f->n_nodes + 1, 1), *seen_leaf = ferry_calloc((size_t)f->n_leaves + 1, 1);
    int32_t *stack = ferry_malloc(sizeof(int32_t) * ((size_t)f->n_nodes + 2));
    int rc = 0;
    for (int32_t t = 0; t < f->n_trees && rc == 0; t++) {
        int32_t sp = 0;
        stack[sp++] = f->roots[t];
        while (sp > 0 && rc == 0) {
            int32_t i = stack[--sp];
            if (i < 0) {
                int32_t leaf = -i - 1;
                if (leaf >= f->n_leaves || seen_leaf[leaf]) {
                    rc = ferry_op_fail(n, err, "tree %d: leaf %d is out of range or reached twice", t, leaf);
                    break;
                }
                seen_leaf[leaf] = 1;
                continue;
            }
            if (i >= f->n_nodes || seen_node[i]) {
                rc = ferry_op_fail(n, err, "tree %d: node %d is out of range or reached twice (the trees must not "
                                           "share nodes or contain cycles)", t, i);
                break;
            }
            seen_node[i] = 1;
            if (sp + 2 > f->n_nodes + 2) {
                rc = ferry_op_fail(n, err, "tree %d is malformed", t);
                break;
            }
            stack[sp++] = f->nodes[i].next[0];
            stack[sp++] = f->nodes[i].next[1];
        }
    }
    for (int32_t i = 0; rc == 0 && is_complete && i < f->n_nodes; i++)
        if (!seen_node[i])
            rc = ferry_op_fail(n, err, "branch node %d is not reachable from its tree's root", i);
    for (int32_t i = 0; rc == 0 && is_complete && i < f->n_leaves; i++)
        if (!seen_leaf[i])
            rc = ferry_op_fail(n, err, "leaf %d is not reachable from its tree's root", i);
    free(seen_node);
    free(seen_leaf);
    free(stack);
    if (rc == 0 && !f->is_simple) {
        f->is_tabled = true;
        for (int32_t i = 0; i < f->n_nodes && f->is_tabled; i++) {
            s_tnode_t *t = &f->nodes[i];
            static const uint8_t by_mode[] = {
                [S_M_LEQ] = 1 << S_CMP_LT | 1 << S_CMP_EQ, [S_M_LT] = 1 << S_CMP_LT,
                [S_M_GTE] = 1 << S_CMP_EQ | 1 << S_CMP_GT, [S_M_GT] = 1 << S_CMP_GT,
                [S_M_EQ] = 1 << S_CMP_EQ, [S_M_NEQ] = 1 << S_CMP_NAN | 1 << S_CMP_LT | 1 << S_CMP_GT,
            };
            /* a NaN threshold would read as a NaN x (missing): keep those to the switch */
            if (t->mode > S_M_NEQ || isnan(t->value)) {
                f->is_tabled = false;
                break;
            }
            t->truth = (uint8_t)(by_mode[t->mode] | (t->is_missing_true ? 1 << S_CMP_NAN : 0));
        }
    }
    if (rc == 0 && (f->is_simple || f->is_tabled) && !f->wnodes)
        s_forest_plan_walk(f);
    if (rc == 0 && f->is_simple && !f->fnodes) {
        bool is_float_exact = true;
        for (int32_t i = 0; i < f->n_nodes && is_float_exact; i++)
            is_float_exact = (double)(float)f->nodes[i].value == f->nodes[i].value;
        if (is_float_exact) {
            f->fnodes = ferry_malloc(sizeof(s_fnode_t) * ((size_t)f->n_nodes + 1));
            for (int32_t i = 0; i < f->n_nodes; i++) {
                f->fnodes[i].value = (float)f->nodes[i].value;
                f->fnodes[i].feature = f->nodes[i].feature;
                f->fnodes[i].next[0] = f->nodes[i].next[0];
                f->fnodes[i].next[1] = f->nodes[i].next[1];
            }
        }
    }
    return rc;
}

static int s_mode_from_string(const ProtobufCBinaryData *s)
{
    static const char *names[] = {"BRANCH_LEQ", "BRANCH_LT", "BRANCH_GTE", "BRANCH_GT",
                                  "BRANCH_EQ", "BRANCH_NEQ", "BRANCH_MEMBER", "LEAF"};
    for (size_t i = 0; i < FERRY_ARRAY_LEN(names); i++)
        if (s->len == strlen(names[i]) && !memcmp(s->data, names[i], s->len))
            return (int)i;
    return -1;
}

typedef struct {
    int64_t tree, node;
    int32_t entry;
} s_key_t;

static int s_key_cmp(const void *a, const void *b)
{
    const s_key_t *x = a, *y = b;
    if (x->tree != y->tree)
        return x->tree < y->tree ? -1 : 1;
    if (x->node != y->node)
        return x->node < y->node ? -1 : 1;
    return 0;
}

static int32_t s_key_find(const s_key_t *keys, int32_t count, int64_t tree, int64_t node)
{
    s_key_t k = {tree, node, 0};
    const s_key_t *hit = bsearch(&k, keys, (size_t)count, sizeof(s_key_t), s_key_cmp);
    return hit ? hit->entry : -1;
}

/* Compile TreeEnsembleRegressor / TreeEnsembleClassifier attributes (ai.onnx.ml 1..3). */
static int s_forest_compile_legacy(ferry_node_t *n, s_forest_t *f, bool is_classifier, ferry_err_t *err)
{
    size_t nt, nn, nf, nm, ntr, nfa, nmiss;
    const int64_t *treeids = ferry_attr_ints(n, "nodes_treeids", &nt);
    const int64_t *nodeids = ferry_attr_ints(n, "nodes_nodeids", &nn);
    const int64_t *featureids = ferry_attr_ints(n, "nodes_featureids", &nf);
    const ProtobufCBinaryData *modes = ferry_attr_strings(n, "nodes_modes", &nm);
    const int64_t *trueids = ferry_attr_ints(n, "nodes_truenodeids", &ntr);
    const int64_t *falseids = ferry_attr_ints(n, "nodes_falsenodeids", &nfa);
    const int64_t *missing = ferry_attr_ints(n, "nodes_missing_value_tracks_true", &nmiss);
    double *values = NULL, *wts = NULL;
    int64_t nv, nw;
    s_key_t *keys = NULL;
    int32_t *entry_index = NULL;
    int rc = -1;
    const char *p = is_classifier ? "class" : "target";
    char a_tree[32], a_node[32], a_id[32];
    snprintf(a_tree, sizeof(a_tree), "%s_treeids", p);
    snprintf(a_node, sizeof(a_node), "%s_nodeids", p);
    snprintf(a_id, sizeof(a_id), "%s_ids", p);
    char a_w[32];
    snprintf(a_w, sizeof(a_w), "%s_weights", p);
    size_t nwt, nwn, nwi;
    const int64_t *w_tree = ferry_attr_ints(n, a_tree, &nwt);
    const int64_t *w_node = ferry_attr_ints(n, a_node, &nwn);
    const int64_t *w_id = ferry_attr_ints(n, a_id, &nwi);
    if (s_attr_f64s(n, "nodes_values", &values, &nv, err) < 0 || s_attr_f64s(n, a_w, &wts, &nw, err) < 0)
        goto out;
    if (nt == 0 || nt > S_ML_MAX_TREE_ATTR || nn != nt || nf != nt || nm != nt || ntr != nt || nfa != nt ||
        (size_t)nv != nt || (nmiss && nmiss != nt)) {
        ferry_op_fail(n, err, "nodes_* attributes must all have the same (non-zero) length");
        goto out;
    }
    if (nwt != nwn || nwt != nwi || (size_t)nw != nwt || nwt > S_ML_MAX_TREE_ATTR) {
        ferry_op_fail(n, err, "%s_* attributes must all have the same length", p);
        goto out;
    }
    int32_t count = (int32_t)nt;
    keys = ferry_malloc(sizeof(s_key_t) * (size_t)count);
    for (int32_t i = 0; i < count; i++) {
        keys[i].tree = treeids[i];
        keys[i].node = nodeids[i];
        keys[i].entry = i;
    }
    qsort(keys, (size_t)count, sizeof(s_key_t), s_key_cmp);
    for (int32_t i = 1; i < count; i++)
        if (!s_key_cmp(&keys[i - 1], &keys[i])) {
            ferry_op_fail(n, err, "tree %lld node %lld is defined twice", (long long)keys[i].tree,
                          (long long)keys[i].node);
            goto out;
        }
    /* entries -> compiled node or leaf index */
    entry_index = ferry_malloc(sizeof(int32_t) * (size_t)count);
    f->nodes = ferry_calloc((size_t)count, sizeof(s_tnode_t));
    f->leaf_start = ferry_calloc((size_t)count + 1, sizeof(int32_t));
    f->leaf_count = ferry_calloc((size_t)count + 1, sizeof(int32_t));
    f->is_simple = true;
    for (int32_t i = 0; i < count; i++) {
        int mode = s_mode_from_string(&modes[i]);
        if (mode < 0 || mode == S_M_MEMBER) {
            ferry_op_fail(n, err, "nodes_modes[%d] '%.*s' is not a known mode", i, (int)(modes[i].len > 40 ? 40 : modes[i].len),
                          modes[i].data ? (const char *)modes[i].data : "");
            goto out;
        }
        if (mode == S_M_LEAF) {
            entry_index[i] = -(f->n_leaves + 1);
            f->n_leaves++;
            continue;
        }
        if (featureids[i] < 0 || featureids[i] > INT32_MAX) {
            ferry_op_fail(n, err, "nodes_featureids[%d] = %lld is invalid", i, (long long)featureids[i]);
            goto out;
        }
        s_tnode_t *t = &f->nodes[f->n_nodes];
        t->mode = (uint8_t)mode;
        t->feature = (int32_t)featureids[i];
        t->value = values[i];
        t->is_missing_true = nmiss ? missing[i] != 0 : 0;
        if (t->mode != S_M_LEQ || t->is_missing_true)
            f->is_simple = false;
        if (t->feature > f->max_feature)
            f->max_feature = t->feature;
        entry_index[i] = f->n_nodes++;
    }
    for (int32_t i = 0; i < count; i++) {
        if (entry_index[i] < 0)
            continue;
        s_tnode_t *t = &f->nodes[entry_index[i]];
        int32_t te = s_key_find(keys, count, treeids[i], trueids[i]);
        int32_t fe = s_key_find(keys, count, treeids[i], falseids[i]);
        if (te < 0 || fe < 0) {
            ferry_op_fail(n, err, "tree %lld node %lld: child node %lld does not exist", (long long)treeids[i],
                          (long long)nodeids[i], (long long)(te < 0 ? trueids[i] : falseids[i]));
            goto out;
        }
        t->next[1] = entry_index[te];
        t->next[0] = entry_index[fe];
    }
    /* roots: per tree id, the entry nobody points to */
    uint8_t *is_child = ferry_calloc((size_t)count, 1);
    for (int32_t i = 0; i < count; i++) {
        if (entry_index[i] < 0)
            continue;
        is_child[s_key_find(keys, count, treeids[i], trueids[i])] = 1;
        is_child[s_key_find(keys, count, treeids[i], falseids[i])] = 1;
    }
    f->roots = ferry_malloc(sizeof(int32_t) * (size_t)count);
    for (int32_t k = 0; k < count; k++) {
        int32_t i = keys[k].entry;
        if (k > 0 && keys[k].tree == keys[k - 1].tree)
            continue; /* first entry of each tree in key order; find its root below */
        int32_t root = -1, roots = 0;
        for (int32_t q = k; q < count && keys[q].tree == keys[k].tree; q++)
            if (!is_child[keys[q].entry]) {
                root = keys[q].entry;
                roots++;
            }
        if (roots != 1) {
            free(is_child);
            ferry_op_fail(n, err, "tree %lld has %d root nodes; exactly one is expected", (long long)treeids[i], roots);
            goto out;
        }
        f->roots[f->n_trees++] = entry_index[root];
    }
    free(is_child);
    /* leaf weights, grouped per leaf */
    for (size_t w = 0; w < nwt; w++) {
        int32_t e = s_key_find(keys, count, w_tree[w], w_node[w]);
        if (e < 0 || entry_index[e] >= 0) {
            ferry_op_fail(n, err, "%s weight %zu refers to tree %lld node %lld, which is not a leaf", p, w,
                          (long long)w_tree[w], (long long)w_node[w]);
            goto out;
        }
        if (w_id[w] < 0 || w_id[w] >= f->n_targets) {
            ferry_op_fail(n, err, "%s_ids[%zu] = %lld is outside [0, %lld)", p, w, (long long)w_id[w],
                          (long long)f->n_targets);
            goto out;
        }
        f->leaf_count[-entry_index[e] - 1]++;
    }
    int32_t acc = 0;
    for (int32_t l = 0; l < f->n_leaves; l++) {
        f->leaf_start[l] = acc;
        acc += f->leaf_count[l];
        f->leaf_count[l] = 0;
    }
    f->targets = ferry_malloc(sizeof(int32_t) * (nwt + 1));
    f->weights = ferry_malloc(sizeof(double) * (nwt + 1));
    for (size_t w = 0; w < nwt; w++) {
        int32_t leaf = -entry_index[s_key_find(keys, count, w_tree[w], w_node[w])] - 1;
        int32_t slot = f->leaf_start[leaf] + f->leaf_count[leaf]++;
        f->targets[slot] = (int32_t)w_id[w];
        f->weights[slot] = wts[w];
    }
    if (is_classifier) {
        int64_t distinct = 0;
        bool seen0 = false, seen1 = false;
        f->is_all_positive = true;
        for (size_t w = 0; w < nwt; w++) {
            if (wts[w] < 0)
                f->is_all_positive = false;
            if (w_id[w] == 0)
                seen0 = true;
            else if (w_id[w] == 1)
                seen1 = true;
        }
        distinct = (int64_t)seen0 + (int64_t)seen1;
        f->is_binary_single = f->n_targets == 2 && distinct == 1;
        if (f->is_binary_single && (seen1 || f->n_base > 1)) {
            /* ONNX leaves this open; ONNX Runtime mixes the base value and the score of
             * different columns here (garbage probabilities). Only the convention that
             * every runtime agrees on is taken: weights on class id 0, at most one base. */
            ferry_op_fail(n, err, "binary TreeEnsembleClassifier with one score column must carry its weights on "
                                  "class id 0 and at most one base value (got class id %d, %lld base values)",
                          seen1 ? 1 : 0, (long long)f->n_base);
            rc = FERRY_ENGINE_EUNSUPPORTED;
            goto out;
        }
    }
    rc = s_forest_check(n, f, true, err);
out:
    free(values);
    free(wts);
    free(keys);
    free(entry_index);
    return rc;
}

static int s_prep_tree_legacy(ferry_node_t *n, ferry_err_t *err)
{
    bool is_classifier = !strcmp(n->proto->op_type, "TreeEnsembleClassifier");
    s_forest_t *f = ferry_calloc(1, sizeof(*f));
    n->state = f;
    n->state_free = s_forest_free;
    f->is_classifier = is_classifier;
    if (s_parse_post_transform(n, &f->post, err) < 0)
        return -1;
    char *agg = is_classifier ? ferry_strdup("SUM") : ferry_attr_string(n, "aggregate_function", "SUM");
    f->agg = !strcmp(agg, "SUM") ? S_AGG_SUM : !strcmp(agg, "AVERAGE") ? S_AGG_AVERAGE : !strcmp(agg, "MIN") ? S_AGG_MIN
             : !strcmp(agg, "MAX") ? S_AGG_MAX : -1;
    free(agg);
    if (f->agg < 0)
        return ferry_op_fail(n, err, "aggregate_function must be AVERAGE, SUM, MIN or MAX");
    if (is_classifier) {
        if (s_labels_parse(n, "classlabels_int64s", &f->labels, err) < 0)
            return -1;
        if (f->labels.n < 1)
            return ferry_op_fail(n, err, "classlabels_int64s or classlabels_strings is required");
        f->n_targets = f->labels.n;
    } else {
        f->n_targets = ferry_attr_int(n, "n_targets", 1);
        if (f->n_targets < 1 || f->n_targets > S_ML_MAX_CLASSES)
            return ferry_op_fail(n, err, "n_targets=%lld is invalid", (long long)f->n_targets);
    }
    if (s_attr_f64s(n, "base_values", &f->base, &f->n_base, err) < 0)
        return -1;
    if (f->n_base && f->n_base != f->n_targets && !(is_classifier && f->n_targets == 2 && f->n_base <= 2)) {
        return ferry_op_fail(n, err, "base_values has %lld values for %lld targets", (long long)f->n_base,
                             (long long)f->n_targets);
    }
    int crc = s_forest_compile_legacy(n, f, is_classifier, err);
    if (crc < 0)
        return crc;
    if (f->post == S_PT_PROBIT) {
        ferry_op_fail(n, err, "post_transform PROBIT is not supported for tree ensembles");
        return FERRY_ENGINE_EUNSUPPORTED;
    }
    bool is_single_column = is_classifier ? f->is_binary_single : f->n_targets == 1;
    if (is_single_column && f->post != S_PT_NONE && !(is_classifier && f->post == S_PT_LOGISTIC)) {
        ferry_op_fail(n, err, "post_transform on a single score column is ignored by ONNX Runtime; refused as "
                              "ambiguous");
        return FERRY_ENGINE_EUNSUPPORTED;
    }
    if (is_classifier && f->n_targets == 2 && !f->is_binary_single && f->n_base == 1) {
        ferry_op_fail(n, err, "two classes with one base value: ONNX does not define which class it applies to");
        return FERRY_ENGINE_EUNSUPPORTED;
    }
    return 0;
}

/* ai.onnx.ml opset 5 TreeEnsemble */
static int s_prep_tree_ensemble(ferry_node_t *n, ferry_err_t *err)
{
    s_forest_t *f = ferry_calloc(1, sizeof(*f));
    n->state = f;
    n->state_free = s_forest_free;
    size_t nf, ntr, nfa, ntl, nfl, nmiss, nlt, nroots;
    const int64_t *featureids = ferry_attr_ints(n, "nodes_featureids", &nf);
    const int64_t *trueids = ferry_attr_ints(n, "nodes_truenodeids", &ntr);
    const int64_t *falseids = ferry_attr_ints(n, "nodes_falsenodeids", &nfa);
    const int64_t *trueleafs = ferry_attr_ints(n, "nodes_trueleafs", &ntl);
    const int64_t *falseleafs = ferry_attr_ints(n, "nodes_falseleafs", &nfl);
    const int64_t *missing = ferry_attr_ints(n, "nodes_missing_value_tracks_true", &nmiss);
    const int64_t *leaf_targets = ferry_attr_ints(n, "leaf_targetids", &nlt);
    const int64_t *roots = ferry_attr_ints(n, "tree_roots", &nroots);
    const Onnx__TensorProto *splits_p = ferry_attr_tensor(n, "nodes_splits");
    const Onnx__TensorProto *modes_p = ferry_attr_tensor(n, "nodes_modes");
    const Onnx__TensorProto *weights_p = ferry_attr_tensor(n, "leaf_weights");
    const Onnx__TensorProto *members_p = ferry_attr_tensor(n, "membership_values");
    f->n_targets = ferry_attr_int(n, "n_targets", -1);
    int64_t agg = ferry_attr_int(n, "aggregate_function", 1), post = ferry_attr_int(n, "post_transform", 0);
    if (f->n_targets < 1 || f->n_targets > S_ML_MAX_CLASSES)
        return ferry_op_fail(n, err, "n_targets (required) must be in [1, %d]", S_ML_MAX_CLASSES);
    if (agg < 0 || agg > 3)
        return ferry_op_fail(n, err, "aggregate_function %lld is not one of 0..3", (long long)agg);
    f->agg = (int)agg; /* same numbering: 0 AVERAGE, 1 SUM, 2 MIN, 3 MAX */
    if (post < 0 || post > 4)
        return ferry_op_fail(n, err, "post_transform %lld is not one of 0..4", (long long)post);
    f->post = S_PT_NONE;
    if (post != 0) {
        /* ONNX numbers these 1 SOFTMAX, 2 LOGISTIC, 3 SOFTMAX_ZERO, 4 PROBIT; ONNX Runtime
         * 1.30 reads 1 as LOGISTIC (its internal order). No answer satisfies both. */
        ferry_op_fail(n, err, "post_transform %lld is read differently by ONNX and ONNX Runtime; refused as "
                              "ambiguous (apply Softmax/Sigmoid as separate nodes)", (long long)post);
        return FERRY_ENGINE_EUNSUPPORTED;
    }
    if (!splits_p || !modes_p || !weights_p)
        return ferry_op_fail(n, err, "nodes_splits, nodes_modes and leaf_weights are required");
    ferry_tensor_t splits, modes, weights, members;
    ferry_tensor_init(&splits);
    ferry_tensor_init(&modes);
    ferry_tensor_init(&weights);
    ferry_tensor_init(&members);
    int rc = -1;
    if (ferry_tensor_from_proto(&splits, splits_p, "nodes_splits", err) < 0 ||
        ferry_tensor_from_proto(&modes, modes_p, "nodes_modes", err) < 0 ||
        ferry_tensor_from_proto(&weights, weights_p, "leaf_weights", err) < 0 ||
        (members_p && ferry_tensor_from_proto(&members, members_p, "membership_values", err) < 0))
        goto out;
    if (!(splits.dtype == FERRY_DT_FLOAT || splits.dtype == FERRY_DT_DOUBLE) || weights.dtype != splits.dtype ||
        (members_p && members.dtype != splits.dtype) || modes.dtype == FERRY_DT_STRING ||
        !(FERRY_DTM(modes.dtype) & (FERRY_DTM_INTS))) {
        ferry_op_fail(n, err, "nodes_splits/leaf_weights must be float or double tensors of one type, nodes_modes "
                              "an integer tensor");
        goto out;
    }
    f->out_dtype = splits.dtype;
    size_t count = nf;
    if (count > S_ML_MAX_TREE_ATTR || ntr != count || nfa != count || ntl != count || nfl != count ||
        (size_t)splits.count != count || (size_t)modes.count != count || (nmiss && nmiss != count)) {
        ferry_op_fail(n, err, "nodes_* attributes must all have the same length");
        goto out;
    }
    if ((size_t)weights.count != nlt || nlt == 0 || nlt > S_ML_MAX_TREE_ATTR || nroots == 0 || nroots > count + nlt) {
        ferry_op_fail(n, err, "leaf_targetids and leaf_weights must have the same non-zero length; tree_roots is "
                              "required");
        goto out;
    }
    f->n_nodes = (int32_t)count;
    f->n_leaves = (int32_t)nlt;
    f->nodes = ferry_calloc(count + 1, sizeof(s_tnode_t));
    f->leaf_start = ferry_malloc(sizeof(int32_t) * (nlt + 1));
    f->leaf_count = ferry_malloc(sizeof(int32_t) * (nlt + 1));
    f->targets = ferry_malloc(sizeof(int32_t) * (nlt + 1));
    f->weights = ferry_malloc(sizeof(double) * (nlt + 1));
    for (size_t l = 0; l < nlt; l++) {
        if (leaf_targets[l] < 0 || leaf_targets[l] >= f->n_targets) {
            ferry_op_fail(n, err, "leaf_targetids[%zu] = %lld is outside [0, %lld)", l, (long long)leaf_targets[l],
                          (long long)f->n_targets);
            goto out;
        }
        f->leaf_start[l] = (int32_t)l;
        f->leaf_count[l] = 1;
        f->targets[l] = (int32_t)leaf_targets[l];
        f->weights[l] = ferry_tensor_get_f64(&weights, (int64_t)l);
    }
    f->is_simple = true;
    int64_t member_pos = 0;
    if (members_p) {
        f->members = ferry_malloc(sizeof(double) * (size_t)(members.count + 1));
        f->set_start = ferry_calloc(count + 1, sizeof(int32_t));
        f->set_count = ferry_calloc(count + 1, sizeof(int32_t));
    }
    for (size_t i = 0; i < count; i++) {
        s_tnode_t *t = &f->nodes[i];
        int64_t m = ferry_tensor_get_i64(&modes, (int64_t)i);
        if (m < 0 || m > S_M_MEMBER || featureids[i] < 0 || featureids[i] > INT32_MAX) {
            ferry_op_fail(n, err, "node %zu: mode %lld or feature %lld is invalid", i, (long long)m,
                          (long long)featureids[i]);
            goto out;
        }
        t->mode = (uint8_t)m;
        t->feature = (int32_t)featureids[i];
        t->value = ferry_tensor_get_f64(&splits, (int64_t)i);
        t->is_missing_true = nmiss ? missing[i] != 0 : 0;
        if (t->mode != S_M_LEQ || t->is_missing_true)
            f->is_simple = false;
        if (t->feature > f->max_feature)
            f->max_feature = t->feature;
        if (t->mode == S_M_MEMBER) {
            /* the sets, in node order, separated by NaN */
            if (!members_p) {
                ferry_op_fail(n, err, "node %zu is BRANCH_MEMBER but membership_values is missing", i);
                goto out;
            }
            f->set_start[i] = (int32_t)member_pos;
            while (member_pos < members.count && !isnan(ferry_tensor_get_f64(&members, member_pos)))
                f->members[member_pos] = ferry_tensor_get_f64(&members, member_pos), member_pos++;
            f->set_count[i] = (int32_t)(member_pos - f->set_start[i]);
            member_pos++; /* the NaN separator */
        }
        for (int side = 0; side < 2; side++) {
            int64_t id = side ? trueids[i] : falseids[i];
            bool is_leaf = (side ? trueleafs[i] : falseleafs[i]) != 0;
            int64_t limit = is_leaf ? (int64_t)nlt : (int64_t)count;
            if (id < 0 || id >= limit) {
                ferry_op_fail(n, err, "node %zu: %s child %lld is out of range", i, side ? "true" : "false", (long long)id);
                goto out;
            }
            t->next[side] = is_leaf ? (int32_t)(-id - 1) : (int32_t)id;
        }
    }
    f->roots = ferry_malloc(sizeof(int32_t) * (nroots + 1));
    for (size_t r = 0; r < nroots; r++) {
        int64_t root = roots[r];
        if (root < 0 || root >= (int64_t)count) {
            ferry_op_fail(n, err, "tree_roots[%zu] = %lld is out of range", r, (long long)root);
            goto out;
        }
        /* a tree that is a single leaf: both children are the same leaf */
        if (trueleafs[root] && falseleafs[root] && trueids[root] == falseids[root])
            f->roots[f->n_trees++] = (int32_t)(-trueids[root] - 1);
        else
            f->roots[f->n_trees++] = (int32_t)root;
    }
    rc = s_forest_check(n, f, false, err);
out:
    ferry_tensor_clear(&splits);
    ferry_tensor_clear(&modes);
    ferry_tensor_clear(&weights);
    ferry_tensor_clear(&members);
    return rc;
}

/* Walk one tree for row x; returns the leaf index. */
static inline int32_t s_tree_leaf(const s_forest_t *f, int32_t i, const double *x)
{
    if (f->is_simple) {
        while (i >= 0) {
            const s_tnode_t *t = &f->nodes[i];
            i = t->next[x[t->feature] <= t->value];
        }
        return -i - 1;
    }
    while (i >= 0) {
        const s_tnode_t *t = &f->nodes[i];
        double v = x[t->feature];
        bool c;
        if (isnan(v) && t->is_missing_true) {
            c = true;
        } else {
            switch (t->mode) {
            case S_M_LEQ: c = v <= t->value; break;
            case S_M_LT: c = v < t->value; break;
            case S_M_GTE: c = v >= t->value; break;
            case S_M_GT: c = v > t->value; break;
            case S_M_EQ: c = v == t->value; break;
            case S_M_NEQ: c = v != t->value; break;
            default: {
                c = false;
                for (int32_t k = 0; k < f->set_count[i]; k++)
                    if (f->members[f->set_start[i] + k] == v) {
                        c = true;
                        break;
                    }
            }
            }
        }
        i = t->next[c];
    }
    return -i - 1;
}

static inline void s_accumulate(const s_forest_t *f, int32_t leaf, double *v, uint8_t *has)
{
    int32_t s = f->leaf_start[leaf], e = s + f->leaf_count[leaf];
    for (int32_t w = s; w < e; w++) {
        int32_t k = f->targets[w];
        double val = f->weights[w];
        switch (f->agg) {
        case S_AGG_MIN: v[k] = has[k] && v[k] <= val ? v[k] : val; break;
        case S_AGG_MAX: v[k] = has[k] && v[k] >= val ? v[k] : val; break;
        default: v[k] += val; break;
        }
        has[k] = 1;
    }
}

#define S_TREE_LANES 8       /* rows walked through one tree together */
#define S_TREE_ROW_BLOCK 64  /* rows taken through all trees before the next block */

static inline int32_t s_tree_leaf_f32(const s_fnode_t *nodes, int32_t i, const float *x)
{
    while (i >= 0) {
        const s_fnode_t *t = &nodes[i];
        i = t->next[x[t->feature] <= t->value];
    }
    return -i - 1;
}

/* The branch a tabled node takes for x: its truth bit for x's relation to the threshold
 * (exactly the mode's comparison, and NaN x going true when missing values track true). */
static inline int s_tabled_branch(const s_tnode_t *t, double v)
{
    int rel = (v < t->value) * S_CMP_LT | (v == t->value) * S_CMP_EQ | (v > t->value) * S_CMP_GT;
    return (t->truth >> rel) & 1;
}

#define S_STEP_LEQ(nd, v) ((v) <= (nd)->value)
#define S_STEP_TABLED(nd, v) s_tabled_branch((nd), (v))

/* Rows [r, r1) through one tree, S_TREE_LANES rows in lockstep: their node fetches are
 * independent, so the CPU overlaps the cache misses of one walk with another. Leaves r
 * at the first row the lanes did not cover. */
#define S_LOCKSTEP(NODE_T, NODES, X_T, XS, STEP)                                                            \
    for (; r + S_TREE_LANES <= r1; r += S_TREE_LANES) {                                                     \
        int32_t idx[S_TREE_LANES];                                                                          \
        const X_T *xr[S_TREE_LANES];                                                                        \
        for (int b = 0; b < S_TREE_LANES; b++) {                                                            \
            idx[b] = root;                                                                                  \
            xr[b] = (XS) + (r + b) * cols;                                                                  \
        }                                                                                                   \
        bool is_active = root >= 0;                                                                         \
        while (is_active) {                                                                                 \
            is_active = false;                                                                              \
            for (int b = 0; b < S_TREE_LANES; b++) {                                                        \
                if (idx[b] < 0)                                                                             \
                    continue;                                                                               \
                const NODE_T *nd = &(NODES)[idx[b]];                                                        \
                idx[b] = nd->next[STEP(nd, xr[b][nd->feature])];                                            \
                is_active |= idx[b] >= 0;                                                                   \
            }                                                                                               \
        }                                                                                                   \
        for (int b = 0; b < S_TREE_LANES; b++)                                                              \
            s_accumulate(f, -idx[b] - 1, f->acc + (r + b) * nt, f->has + (r + b) * nt);                     \
    }

/* Rows [r, r1) through tree t of a branch-free walk (NODES: wnodes or lnodes), lanes of
 * S_TREE_LANES rows and then one at a time, depth steps each: a row that reached its leaf
 * stays on its absorbing node. */
#define S_WALK(NODES, STEP)                                                                                 \
    do {                                                                                                    \
        const s_tnode_t *nodes_ = (NODES);                                                                  \
        for (; r + S_TREE_LANES <= r1; r += S_TREE_LANES) {                                                 \
            int32_t idx[S_TREE_LANES];                                                                      \
            for (int b = 0; b < S_TREE_LANES; b++)                                                          \
                idx[b] = wroot;                                                                             \
            for (int32_t d = 0; d < depth; d++)                                                             \
                _Pragma("GCC unroll 8") /* the lanes' indices stay in registers */                           \
                for (int b = 0; b < S_TREE_LANES; b++) {                                                    \
                    const s_tnode_t *nd = &nodes_[idx[b]];                                                  \
                    idx[b] = nd->next[STEP(nd, X[(r + b) * cols + nd->feature])];                           \
                }                                                                                           \
            for (int b = 0; b < S_TREE_LANES; b++)                                                          \
                s_accumulate(f, idx[b] - f->n_nodes, f->acc + (r + b) * nt, f->has + (r + b) * nt);         \
        }                                                                                                   \
        for (; r < r1; r++) {                                                                               \
            int32_t i = wroot;                                                                              \
            for (int32_t d = 0; d < depth; d++)                                                             \
                i = nodes_[i].next[STEP(&nodes_[i], X[r * cols + nodes_[i].feature])];                      \
            s_accumulate(f, i - f->n_nodes, f->acc + r * nt, f->has + r * nt);                              \
        }                                                                                                   \
    } while (0)

/* Rows [r0, r1) through tree t, into f->acc. is_nan_free: no NaN in those rows of X. */
static void s_forest_tree_rows(s_forest_t *f, int32_t t, const double *X, const float *Xf, int64_t r0, int64_t r1,
                               int64_t cols, bool is_nan_free)
{
    int64_t nt = f->n_targets, r = r0;
    int32_t root = f->roots[t];
    if (Xf) {
        S_LOCKSTEP(s_fnode_t, f->fnodes, float, Xf, S_STEP_LEQ);
        for (; r < r1; r++)
            s_accumulate(f, s_tree_leaf_f32(f->fnodes, root, Xf + r * cols), f->acc + r * nt, f->has + r * nt);
        return;
    }
    if (f->wnodes && cols > 0) {
        int32_t depth = f->depth[t], wroot = f->wroots[t];
        if (f->is_simple)
            S_WALK(f->wnodes, S_STEP_LEQ);
        else if (is_nan_free)
            S_WALK(f->lnodes, S_STEP_LEQ);
        else
            S_WALK(f->wnodes, S_STEP_TABLED);
        return;
    }
    for (; r < r1; r++)
        s_accumulate(f, s_tree_leaf(f, root, X + r * cols), f->acc + r * nt, f->has + r * nt);
}

/* Aggregated scores of all rows into f->acc[rows, n_targets] (base values not yet added).
 * Row blocks outer, trees inner: a block's accumulators (S_TREE_ROW_BLOCK x n_targets)
 * and the forest's nodes stay in cache together, where all rows' accumulators of a wide
 * forest (one target per tree) would not. Every (row, target) still adds its trees' values
 * in tree order. Xf (float input) is used with the fast node form, else X (double). */
static void s_forest_rows(s_forest_t *f, const double *X, const float *Xf, int64_t rows, int64_t cols)
{
    int64_t nt = f->n_targets, need = rows * nt;
    if (need > f->acc_cap) {
        free(f->acc);
        free(f->has);
        f->acc_cap = need;
        f->acc = ferry_malloc(sizeof(double) * (size_t)need);
        f->has = ferry_malloc((size_t)need);
    }
    memset(f->acc, 0, sizeof(double) * (size_t)need);
    memset(f->has, 0, (size_t)need);
    for (int64_t r0 = 0; r0 < rows; r0 += S_TREE_ROW_BLOCK) {
        int64_t r1 = rows - r0 < S_TREE_ROW_BLOCK ? rows : r0 + S_TREE_ROW_BLOCK;
        bool is_nan_free = X && f->lnodes; /* only asked where lnodes exist */
        if (is_nan_free)
            for (int64_t k = r0 * cols; k < r1 * cols; k++)
                is_nan_free &= !isnan(X[k]);
        for (int32_t t = 0; t < f->n_trees; t++)
            s_forest_tree_rows(f, t, X, Xf, r0, r1, cols, is_nan_free);
    }
    if (f->agg == S_AGG_AVERAGE && f->n_trees > 0)
        for (int64_t k = 0; k < need; k++)
            f->acc[k] /= f->n_trees;
}

static int s_run_tree(ferry_node_t *n, ferry_err_t *err)
{
    s_forest_t *f = n->state;
    const ferry_tensor_t *x = ferry_op_input(n, 0, err);
    int64_t rows, cols;
    if (x && f->out_dtype && x->dtype != f->out_dtype)
        return ferry_op_fail(n, err, "X has type %s, the splits are %s", ferry_dtype_name(x->dtype),
                             ferry_dtype_name(f->out_dtype));
    if (!x)
        return -1;
    const double *X = NULL;
    const float *Xf = NULL;
    if (f->fnodes && x->dtype == FERRY_DT_FLOAT && (x->ndim == 1 || x->ndim == 2)) {
        Xf = x->data;
        rows = x->ndim == 1 ? 1 : x->dims[0];
        cols = x->dims[x->ndim - 1];
    } else if (!(X = s_rows_f64(n, x, &rows, &cols, &n->tmp[0], err))) {
        return -1;
    }
    if (f->n_nodes > 0 && f->max_feature >= cols)
        return ferry_op_fail(n, err, "the trees use feature %d, the input has %lld columns", f->max_feature,
                             (long long)cols);
    int64_t nt = f->n_targets;
    int64_t zcols = nt;
    ferry_tensor_t *z;
    if (f->is_classifier) {
        z = n->n_out > 1 ? n->out[1] : &n->tmp[1];
        if (s_labels_output(&f->labels, n->out[0], rows, err) < 0)
            return -1;
    } else {
        z = n->out[0];
    }
    int64_t zd[2] = {rows, zcols};
    int32_t zt = f->out_dtype ? f->out_dtype : FERRY_DT_FLOAT;
    if (ferry_tensor_reshape(z, zt, 2, zd, err) < 0)
        return -1;
    s_forest_rows(f, X, Xf, rows, cols);
    for (int64_t r = 0; r < rows; r++) {
        double *v = f->acc + r * nt;
        if (f->is_classifier && f->is_binary_single) {
            /* binary convention: one accumulated score s (whichever class id carries it) */
            double s = v[0] + v[1];
            if (f->n_base == 2)
                s += f->base[1];
            else if (f->n_base == 1)
                s += f->base[0];
            int64_t cls;
            if (f->is_all_positive) {
                cls = s > 0.5 ? 1 : 0;
                v[0] = 1 - s;
                v[1] = s;
            } else {
                cls = s > 0 ? 1 : 0;
                v[0] = f->post == S_PT_LOGISTIC ? s_logistic(-s) : -s;
                v[1] = f->post == S_PT_LOGISTIC ? s_logistic(s) : s;
            }
            s_labels_set(&f->labels, n->out[0], r, cls);
        } else {
            for (int64_t k = 0; k < nt; k++) {
                if (f->n_base == nt)
                    v[k] += f->base[k];
                else if (!f->is_classifier && f->n_base == 1)
                    v[k] += f->base[0];
            }
            if (f->is_classifier) {
                int64_t best = 0;
                for (int64_t k = 1; k < nt; k++)
                    if (v[k] > v[best])
                        best = k;
                s_labels_set(&f->labels, n->out[0], r, best);
            }
            s_apply_post(f->post, v, nt);
        }
        if (zt == FERRY_DT_DOUBLE)
            memcpy((double *)z->data + r * zcols, v, sizeof(double) * (size_t)zcols);
        else
            for (int64_t k = 0; k < zcols; k++)
                ((float *)z->data)[r * zcols + k] = (float)v[k];
    }
    return 0;
}

/* ---- SVMs ------------------------------------------------------------------------------- */

enum { S_K_LINEAR, S_K_POLY, S_K_RBF, S_K_SIGMOID };

typedef struct {
    int kernel;
    double gamma, coef0, degree;
    double *sv, *coef, *rho, *prob_a, *prob_b;
    int64_t n_sv, n_coef, n_rho, n_prob, features;
    int64_t *per_class, *class_start;
    int post;
    bool is_one_class, is_linear_mode;
    s_labels_t labels;
} s_svm_t;

static void s_svm_free(void *p)
{
    s_svm_t *s = p;
    free(s->sv);
    free(s->coef);
    free(s->rho);
    free(s->prob_a);
    free(s->prob_b);
    free(s->per_class);
    free(s->class_start);
    s_labels_free(&s->labels);
    free(s);
}

static double s_kernel(const s_svm_t *s, const double *a, const double *b, int64_t k)
{
    double acc = 0;
    if (s->kernel == S_K_RBF) {
        for (int64_t i = 0; i < k; i++) {
            double d = a[i] - b[i];
            acc += d * d;
        }
        return exp(-s->gamma * acc);
    }
    for (int64_t i = 0; i < k; i++)
        acc += a[i] * b[i];
    switch (s->kernel) {
    case S_K_POLY: return pow(s->gamma * acc + s->coef0, s->degree);
    case S_K_SIGMOID: return tanh(s->gamma * acc + s->coef0);
    default: return acc;
    }
}

static int s_prep_svm(ferry_node_t *n, ferry_err_t *err)
{
    bool is_classifier = !strcmp(n->proto->op_type, "SVMClassifier");
    s_svm_t *s = ferry_calloc(1, sizeof(*s));
    n->state = s;
    n->state_free = s_svm_free;
    if (s_parse_post_transform(n, &s->post, err) < 0)
        return -1;
    char *kt = ferry_attr_string(n, "kernel_type", "LINEAR");
    s->kernel = !strcmp(kt, "LINEAR") ? S_K_LINEAR : !strcmp(kt, "POLY") ? S_K_POLY : !strcmp(kt, "RBF") ? S_K_RBF
                : !strcmp(kt, "SIGMOID") ? S_K_SIGMOID : -1;
    free(kt);
    if (s->kernel < 0)
        return ferry_op_fail(n, err, "kernel_type must be LINEAR, POLY, RBF or SIGMOID");
    size_t nkp;
    const float *kp = ferry_attr_floats(n, "kernel_params", &nkp);
    s->gamma = nkp > 0 ? kp[0] : 0;
    s->coef0 = nkp > 1 ? kp[1] : 0;
    s->degree = nkp > 2 ? kp[2] : 0;
    if (s_attr_f64s(n, "support_vectors", &s->sv, &s->n_sv, err) < 0 ||
        s_attr_f64s(n, "coefficients", &s->coef, &s->n_coef, err) < 0 || s_attr_f64s(n, "rho", &s->rho, &s->n_rho, err) < 0 ||
        s_attr_f64s(n, "prob_a", &s->prob_a, &s->n_prob, err) < 0)
        return -1;
    int64_t npb;
    if (s_attr_f64s(n, "prob_b", &s->prob_b, &npb, err) < 0)
        return -1;
    if (npb != s->n_prob)
        return ferry_op_fail(n, err, "prob_a and prob_b must have the same length");
    if (s->n_rho < 1 || s->n_coef < 1)
        return ferry_op_fail(n, err, "rho and coefficients are required");
    if (!is_classifier) {
        int64_t n_supports = ferry_attr_int(n, "n_supports", 0);
        s->is_one_class = ferry_attr_int(n, "one_class", 0) != 0;
        if (s->post != S_PT_NONE) {
            ferry_op_fail(n, err, "post_transform on SVMRegressor is not supported");
            return FERRY_ENGINE_EUNSUPPORTED;
        }
        if (n_supports > 0) {
            if (s->n_sv % n_supports || s->n_coef < n_supports)
                return ferry_op_fail(n, err, "support_vectors (%lld) is not a multiple of n_supports (%lld)",
                                     (long long)s->n_sv, (long long)n_supports);
            s->features = s->n_sv / n_supports;
            s->n_sv = n_supports;
        } else {
            s->is_linear_mode = true;
            s->features = s->n_coef;
        }
        return 0;
    }
    if (s_labels_parse(n, "classlabels_ints", &s->labels, err) < 0)
        return -1;
    int64_t nc = s->labels.n;
    if (nc < 2)
        return ferry_op_fail(n, err, "at least two class labels are required");
    size_t nvpc;
    const int64_t *vpc = ferry_attr_ints(n, "vectors_per_class", &nvpc);
    int64_t total = 0;
    for (size_t i = 0; i < nvpc; i++) {
        if (vpc[i] < 0 || vpc[i] > S_ML_MAX_TREE_ATTR)
            return ferry_op_fail(n, err, "vectors_per_class[%zu] is invalid", i);
        total += vpc[i];
    }
    if (total == 0) {
        /* linear mode: coefficients [classes, features], rho[0] */
        s->is_linear_mode = true;
        if (s->n_coef % nc)
            return ferry_op_fail(n, err, "coefficients (%lld) is not a multiple of the %lld classes",
                                 (long long)s->n_coef, (long long)nc);
        s->features = s->n_coef / nc;
        if (nc == 2) {
            ferry_op_fail(n, err, "two-class linear-mode SVMClassifier: ONNX Runtime's label rule for it is not "
                                  "documented; refused");
            return FERRY_ENGINE_EUNSUPPORTED;
        }
        return 0;
    }
    if ((int64_t)nvpc != nc)
        return ferry_op_fail(n, err, "vectors_per_class has %zu entries for %lld classes", nvpc, (long long)nc);
    if (s->n_sv % total)
        return ferry_op_fail(n, err, "support_vectors (%lld) is not a multiple of the %lld vectors",
                             (long long)s->n_sv, (long long)total);
    s->features = s->n_sv / total;
    s->n_sv = total;
    int64_t pairs = nc * (nc - 1) / 2;
    if (s->n_coef < (nc - 1) * total || s->n_rho < pairs || (s->n_prob && s->n_prob < pairs))
        return ferry_op_fail(n, err, "coefficients/rho/prob_a sizes do not match %lld classes and %lld vectors",
                             (long long)nc, (long long)total);
    s->per_class = ferry_malloc(sizeof(int64_t) * (size_t)nc);
    s->class_start = ferry_malloc(sizeof(int64_t) * (size_t)nc);
    int64_t acc = 0;
    for (int64_t i = 0; i < nc; i++) {
        s->per_class[i] = vpc[i];
        s->class_start[i] = acc;
        acc += vpc[i];
    }
    if (!s->n_prob && nc > 2 && s->post != S_PT_NONE && s->post != S_PT_LOGISTIC) {
        ferry_op_fail(n, err, "post_transform other than NONE/LOGISTIC on pairwise SVM scores is not supported");
        return FERRY_ENGINE_EUNSUPPORTED;
    }
    if (!s->n_prob && nc == 2 && s->post != S_PT_NONE) {
        ferry_op_fail(n, err, "post_transform on a two-class SVM without probabilities is ignored by ONNX Runtime; "
                              "refused as ambiguous");
        return FERRY_ENGINE_EUNSUPPORTED;
    }
    if (s->n_prob && s->post != S_PT_NONE) {
        ferry_op_fail(n, err, "post_transform together with prob_a/prob_b is not supported");
        return FERRY_ENGINE_EUNSUPPORTED;
    }
    return 0;
}

static int s_run_svm_regressor(ferry_node_t *n, ferry_err_t *err)
{
    s_svm_t *s = n->state;
    const ferry_tensor_t *x = ferry_op_input(n, 0, err);
    int64_t rows, cols;
    const double *X = x ? s_rows_f64(n, x, &rows, &cols, &n->tmp[0], err) : NULL;
    if (!X)
        return -1;
    if (cols != s->features)
        return ferry_op_fail(n, err, "input has %lld features, the model has %lld", (long long)cols,
                             (long long)s->features);
    int64_t yd[2] = {rows, 1};
    if (ferry_tensor_reshape(n->out[0], FERRY_DT_FLOAT, 2, yd, err) < 0)
        return -1;
    for (int64_t r = 0; r < rows; r++) {
        const double *xr = X + r * cols;
        double acc = 0;
        if (s->is_linear_mode) {
            for (int64_t j = 0; j < cols; j++)
                acc += s->coef[j] * xr[j];
        } else {
            for (int64_t v = 0; v < s->n_sv; v++)
                acc += s->coef[v] * s_kernel(s, s->sv + v * cols, xr, cols);
        }
        acc += s->rho[0];
        if (s->is_one_class)
            acc = acc > 0 ? 1 : -1;
        ((float *)n->out[0]->data)[r] = (float)acc;
    }
    return 0;
}

/* Pairwise coupling (Wu, Lin and Weng 2004, "Probability estimates for multi-class
 * classification by pairwise coupling", method 2 as in libsvm): r[i*k+j] = P(i | i or j).
 * Computed in single precision with libsvm's stopping rule so that results match the
 * runtimes that implement it the same way. */
static void s_pairwise_probability(int64_t k, const float *r, float *p, float *Q, float *Qp)
{
    float eps = 0.005f / (float)k;
    for (int64_t i = 0; i < k; i++) {
        p[i] = 1.0f / (float)k;
        Q[i * k + i] = 0;
        for (int64_t j = 0; j < i; j++) {
            Q[i * k + i] += r[j * k + i] * r[j * k + i];
            Q[i * k + j] = Q[j * k + i];
        }
        for (int64_t j = i + 1; j < k; j++) {
            Q[i * k + i] += r[j * k + i] * r[j * k + i];
            Q[i * k + j] = -r[j * k + i] * r[i * k + j];
        }
    }
    for (int iter = 0; iter < 100; iter++) {
        float pQp = 0;
        for (int64_t i = 0; i < k; i++) {
            Qp[i] = 0;
            for (int64_t j = 0; j < k; j++)
                Qp[i] += Q[i * k + j] * p[j];
            pQp += p[i] * Qp[i];
        }
        float max_error = 0;
        for (int64_t i = 0; i < k; i++) {
            float e = fabsf(Qp[i] - pQp);
            if (e > max_error)
                max_error = e;
        }
        if (max_error < eps)
            break;
        for (int64_t i = 0; i < k; i++) {
            float diff = (-Qp[i] + pQp) / Q[i * k + i];
            p[i] += diff;
            pQp = (pQp + diff * (diff * Q[i * k + i] + 2 * Qp[i])) / (1 + diff) / (1 + diff);
            for (int64_t j = 0; j < k; j++) {
                Qp[j] = (Qp[j] + diff * Q[i * k + j]) / (1 + diff);
                p[j] /= (1 + diff);
            }
        }
    }
}

static int s_run_svm_classifier(ferry_node_t *n, ferry_err_t *err)
{
    s_svm_t *s = n->state;
    const ferry_tensor_t *x = ferry_op_input(n, 0, err);
    int64_t rows, cols;
    const double *X = x ? s_rows_f64(n, x, &rows, &cols, &n->tmp[0], err) : NULL;
    if (!X)
        return -1;
    if (cols != s->features)
        return ferry_op_fail(n, err, "input has %lld features, the model has %lld", (long long)cols,
                             (long long)s->features);
    int64_t nc = s->labels.n, pairs = nc * (nc - 1) / 2;
    bool has_prob = s->n_prob > 0;
    int64_t zcols = s->is_linear_mode || has_prob ? nc : (nc > 2 ? pairs : 2);
    ferry_tensor_t *z = n->n_out > 1 ? n->out[1] : &n->tmp[1];
    int64_t zd[2] = {rows, zcols};
    if (ferry_tensor_reshape(z, FERRY_DT_FLOAT, 2, zd, err) < 0 || s_labels_output(&s->labels, n->out[0], rows, err) < 0)
        return -1;
    double *kern = ferry_malloc(sizeof(double) * (size_t)(s->n_sv + 1));
    double *dec = ferry_malloc(sizeof(double) * (size_t)(pairs + nc + 1));
    int64_t *votes = ferry_malloc(sizeof(int64_t) * (size_t)nc);
    float *r2 = ferry_malloc(sizeof(float) * (size_t)(nc * nc)), *pr = ferry_malloc(sizeof(float) * (size_t)nc);
    float *Q = ferry_malloc(sizeof(float) * (size_t)(nc * nc)), *Qp = ferry_malloc(sizeof(float) * (size_t)nc);
    float *zo = z->data;
    for (int64_t r = 0; r < rows; r++) {
        const double *xr = X + r * cols;
        if (s->is_linear_mode) {
            for (int64_t c = 0; c < nc; c++) {
                double acc = s->rho[0];
                for (int64_t j = 0; j < cols; j++)
                    acc += s->coef[c * cols + j] * xr[j];
                dec[c] = acc;
            }
            int64_t best = 0;
            for (int64_t c = 1; c < nc; c++)
                if (dec[c] > dec[best])
                    best = c;
            s_labels_set(&s->labels, n->out[0], r, best);
            s_apply_post(s->post, dec, nc);
            for (int64_t c = 0; c < nc; c++)
                zo[r * zcols + c] = (float)dec[c];
            continue;
        }
        for (int64_t v = 0; v < s->n_sv; v++)
            kern[v] = s_kernel(s, s->sv + v * cols, xr, cols);
        memset(votes, 0, sizeof(int64_t) * (size_t)nc);
        int64_t pi = 0;
        for (int64_t i = 0; i < nc - 1; i++)
            for (int64_t j = i + 1; j < nc; j++, pi++) {
                double sum = s->rho[pi];
                const double *ci = s->coef + (j - 1) * s->n_sv, *cj = s->coef + i * s->n_sv;
                for (int64_t m = 0; m < s->per_class[i]; m++)
                    sum += ci[s->class_start[i] + m] * kern[s->class_start[i] + m];
                for (int64_t m = 0; m < s->per_class[j]; m++)
                    sum += cj[s->class_start[j] + m] * kern[s->class_start[j] + m];
                dec[pi] = (float)sum; /* scores are single precision in every runtime */
                votes[sum > 0 ? i : j]++;
            }
        int64_t best = 0;
        for (int64_t c = 1; c < nc; c++)
            if (votes[c] > votes[best])
                best = c;
        s_labels_set(&s->labels, n->out[0], r, best);
        if (has_prob) {
            pi = 0;
            for (int64_t i = 0; i < nc; i++)
                r2[i * nc + i] = 0;
            for (int64_t i = 0; i < nc - 1; i++)
                for (int64_t j = i + 1; j < nc; j++, pi++) {
                    float val = 1.0f - (float)s_logistic((float)dec[pi] * (float)s->prob_a[pi] + (float)s->prob_b[pi]);
                    val = val < 1e-7f ? 1e-7f : val > 1 - 1e-7f ? 1 - 1e-7f : val;
                    r2[i * nc + j] = val;
                    r2[j * nc + i] = 1 - val;
                }
            s_pairwise_probability(nc, r2, pr, Q, Qp);
            for (int64_t c = 0; c < nc; c++)
                zo[r * zcols + c] = pr[c];
        } else if (nc == 2) {
            zo[r * zcols] = (float)-dec[0];
            zo[r * zcols + 1] = (float)dec[0];
        } else {
            s_apply_post(s->post, dec, pairs);
            for (int64_t c = 0; c < pairs; c++)
                zo[r * zcols + c] = (float)dec[c];
        }
    }
    free(kern);
    free(dec);
    free(votes);
    free(r2);
    free(pr);
    free(Q);
    free(Qp);
    return 0;
}

/* ---- preprocessing ------------------------------------------------------------------------ */

/* per-feature parameter: arrays of length 1 (broadcast) or C */
static int s_per_feature(ferry_node_t *n, const float *v, size_t nv, int64_t cols, const char *name, ferry_err_t *err)
{
    if (nv != 1 && (int64_t)nv != cols)
        return ferry_op_fail(n, err, "%s has %zu values for %lld features (1 or one per feature expected)", name, nv,
                             (long long)cols);
    return 0;
}

static int s_run_scaler(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *x = ferry_op_input(n, 0, err);
    if (!x || ferry_op_check_type(n, 0, FERRY_DTM(FERRY_DT_FLOAT) | FERRY_DTM(FERRY_DT_DOUBLE) |
                                            FERRY_DTM(FERRY_DT_INT32) | FERRY_DTM(FERRY_DT_INT64), err) < 0)
        return -1;
    size_t no, ns;
    const float *off = ferry_attr_floats(n, "offset", &no), *sc = ferry_attr_floats(n, "scale", &ns);
    int64_t cols = x->ndim ? x->dims[x->ndim - 1] : 1;
    if ((no && s_per_feature(n, off, no, cols, "offset", err) < 0) || (ns && s_per_feature(n, sc, ns, cols, "scale", err) < 0))
        return -1;
    if (ferry_tensor_reshape_like(n->out[0], FERRY_DT_FLOAT, x, err) < 0)
        return -1;
    float *y = n->out[0]->data;
    for (int64_t i = 0; i < x->count; i++) {
        int64_t c = cols ? i % cols : 0;
        double o = no ? off[no == 1 ? 0 : c] : 0, s = ns ? sc[ns == 1 ? 0 : c] : 1;
        y[i] = (float)((ferry_tensor_get_f64(x, i) - o) * s);
    }
    return 0;
}

static int s_run_normalizer(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *x = ferry_op_input(n, 0, err);
    int64_t rows, cols;
    const double *X = x ? s_rows_f64(n, x, &rows, &cols, &n->tmp[0], err) : NULL;
    if (!X)
        return -1;
    char *norm = ferry_attr_string(n, "norm", "MAX");
    int kind = !strcmp(norm, "MAX") ? 0 : !strcmp(norm, "L1") ? 1 : !strcmp(norm, "L2") ? 2 : -1;
    free(norm);
    if (kind < 0)
        return ferry_op_fail(n, err, "norm must be MAX, L1 or L2");
    if (ferry_tensor_reshape_like(n->out[0], FERRY_DT_FLOAT, x, err) < 0)
        return -1;
    float *y = n->out[0]->data;
    for (int64_t r = 0; r < rows; r++) {
        const double *xr = X + r * cols;
        double d = 0;
        if (kind == 0) {
            d = cols ? xr[0] : 1;
            for (int64_t j = 1; j < cols; j++)
                d = xr[j] > d ? xr[j] : d;
        } else {
            for (int64_t j = 0; j < cols; j++)
                d += kind == 1 ? fabs(xr[j]) : xr[j] * xr[j];
            if (kind == 2)
                d = sqrt(d);
        }
        for (int64_t j = 0; j < cols; j++)
            y[r * cols + j] = (float)(d != 0 ? xr[j] / d : xr[j]);
    }
    return 0;
}

static int s_run_imputer(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *x = ferry_op_input(n, 0, err);
    if (!x || ferry_op_check_type(n, 0, FERRY_DTM(FERRY_DT_FLOAT) | FERRY_DTM(FERRY_DT_INT64), err) < 0)
        return -1;
    int64_t cols = x->ndim ? x->dims[x->ndim - 1] : 1;
    if (ferry_tensor_reshape_like(n->out[0], x->dtype, x, err) < 0)
        return -1;
    if (x->dtype == FERRY_DT_FLOAT) {
        size_t nv;
        const float *vals = ferry_attr_floats(n, "imputed_value_floats", &nv);
        float rep = ferry_attr_float(n, "replaced_value_float", NAN);
        if (!nv || s_per_feature(n, vals, nv, cols, "imputed_value_floats", err) < 0)
            return nv ? -1 : ferry_op_fail(n, err, "imputed_value_floats is required for float input");
        const float *a = x->data;
        float *y = n->out[0]->data;
        for (int64_t i = 0; i < x->count; i++) {
            bool is_missing = isnan(rep) ? isnan(a[i]) : a[i] == rep;
            y[i] = is_missing ? vals[nv == 1 ? 0 : i % cols] : a[i];
        }
    } else {
        size_t nv;
        const int64_t *vals = ferry_attr_ints(n, "imputed_value_int64s", &nv);
        int64_t rep = ferry_attr_int(n, "replaced_value_int64", 0);
        if (!nv || (nv != 1 && (int64_t)nv != cols))
            return ferry_op_fail(n, err, "imputed_value_int64s must have 1 or %lld values", (long long)cols);
        const int64_t *a = x->data;
        int64_t *y = n->out[0]->data;
        for (int64_t i = 0; i < x->count; i++)
            y[i] = a[i] == rep ? vals[nv == 1 ? 0 : i % cols] : a[i];
    }
    return 0;
}

static int s_run_binarizer(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *x = ferry_op_input(n, 0, err);
    if (!x || ferry_op_check_type(n, 0, FERRY_DTM(FERRY_DT_FLOAT) | FERRY_DTM(FERRY_DT_DOUBLE) |
                                            FERRY_DTM(FERRY_DT_INT32) | FERRY_DTM(FERRY_DT_INT64), err) < 0)
        return -1;
    double th = ferry_attr_float(n, "threshold", 0.0f);
    if (ferry_tensor_reshape_like(n->out[0], x->dtype, x, err) < 0)
        return -1;
    for (int64_t i = 0; i < x->count; i++) {
        double v = ferry_tensor_get_f64(x, i), one = 1, zero = 0;
        ferry_convert_elems((char *)n->out[0]->data + i * (int64_t)ferry_dtype_size(x->dtype), x->dtype,
                            v > th ? &one : &zero, FERRY_DT_DOUBLE, 1);
    }
    return 0;
}

static int s_run_array_feature_extractor(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *x = ferry_op_input(n, 0, err), *ind = x ? ferry_op_input(n, 1, err) : NULL;
    if (!ind || ferry_op_check_type(n, 1, FERRY_DTM(FERRY_DT_INT64), err) < 0)
        return -1;
    if (x->ndim == 0)
        return ferry_op_fail(n, err, "X must have rank >= 1");
    int64_t cols = x->dims[x->ndim - 1], outer = cols ? x->count / cols : 0;
    int64_t dims[FERRY_TENSOR_MAX_DIMS];
    int nd = x->ndim;
    memcpy(dims, x->dims, sizeof(int64_t) * (size_t)nd);
    dims[nd - 1] = ind->count;
    if (nd == 1) { /* a vector becomes one row */
        dims[0] = 1;
        dims[1] = ind->count;
        nd = 2;
        outer = 1;
    }
    const int64_t *idx = ind->data;
    for (int64_t k = 0; k < ind->count; k++)
        if (idx[k] < 0 || idx[k] >= cols)
            return ferry_op_fail(n, err, "index %lld is out of range for %lld columns", (long long)idx[k], (long long)cols);
    if (ferry_tensor_reshape(n->out[0], x->dtype, nd, dims, err) < 0)
        return -1;
    size_t es = ferry_dtype_size(x->dtype);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t k = 0; k < ind->count; k++) {
            int64_t si = o * cols + idx[k], di = o * ind->count + k;
            if (x->dtype == FERRY_DT_STRING) {
                const char *s = ((char *const *)x->data)[si];
                ferry_tensor_set_string(n->out[0], di, s, s ? strlen(s) : 0);
            } else {
                memcpy((char *)n->out[0]->data + (size_t)di * es, (const char *)x->data + (size_t)si * es, es);
            }
        }
    return 0;
}

/* string <-> int64 lookup helpers (linear scan at prepare; sorted search at run) */
typedef struct {
    char *key_s;
    int64_t key_i;
    double key_f;
    int64_t index;
} s_entry_t;

typedef struct {
    int key_type, value_type;   /* FERRY_DT_STRING / INT64 / FLOAT */
    s_entry_t *entries;         /* sorted by key */
    int64_t count;
    char **values_s;
    int64_t *values_i;
    double *values_f;
    char *default_s;
    int64_t default_i;
    double default_f;
    /* OneHotEncoder */
    bool is_zeros_ok;
} s_map_t;

static void s_map_free(void *p)
{
    s_map_t *m = p;
    for (int64_t i = 0; i < m->count; i++) {
        free(m->entries[i].key_s);
        if (m->values_s)
            free(m->values_s[i]);
    }
    free(m->entries);
    free(m->values_s);
    free(m->values_i);
    free(m->values_f);
    free(m->default_s);
    free(m);
}

static int s_entry_cmp_s(const void *a, const void *b)
{
    return strcmp(((const s_entry_t *)a)->key_s, ((const s_entry_t *)b)->key_s);
}

static int s_entry_cmp_i(const void *a, const void *b)
{
    int64_t x = ((const s_entry_t *)a)->key_i, y = ((const s_entry_t *)b)->key_i;
    return x < y ? -1 : x > y;
}

static int s_entry_cmp_f(const void *a, const void *b)
{
    double x = ((const s_entry_t *)a)->key_f, y = ((const s_entry_t *)b)->key_f;
    if (isnan(x) || isnan(y))
        return isnan(x) - isnan(y);
    return x < y ? -1 : x > y;
}

static void s_map_sort(s_map_t *m)
{
    qsort(m->entries, (size_t)m->count, sizeof(s_entry_t),
          m->key_type == FERRY_DT_STRING ? s_entry_cmp_s : m->key_type == FERRY_DT_INT64 ? s_entry_cmp_i : s_entry_cmp_f);
}

/* index of the key held in element i of x, or -1 */
static int64_t s_map_lookup(const s_map_t *m, const ferry_tensor_t *x, int64_t i)
{
    s_entry_t k = {0};
    int (*cmp)(const void *, const void *);
    if (m->key_type == FERRY_DT_STRING) {
        const char *s = ((char *const *)x->data)[i];
        k.key_s = (char *)(s ? s : "");
        cmp = s_entry_cmp_s;
    } else if (m->key_type == FERRY_DT_INT64) {
        k.key_i = ferry_tensor_get_i64(x, i);
        cmp = s_entry_cmp_i;
    } else {
        k.key_f = ferry_tensor_get_f64(x, i);
        cmp = s_entry_cmp_f;
    }
    const s_entry_t *hit = bsearch(&k, m->entries, (size_t)m->count, sizeof(s_entry_t), cmp);
    return hit ? hit->index : -1;
}

static s_map_t *s_map_new(ferry_node_t *n)
{
    s_map_t *m = ferry_calloc(1, sizeof(*m));
    n->state = m;
    n->state_free = s_map_free;
    return m;
}

static void s_map_keys_strings(s_map_t *m, const ProtobufCBinaryData *s, size_t count)
{
    m->key_type = FERRY_DT_STRING;
    m->count = (int64_t)count;
    m->entries = ferry_calloc(count + 1, sizeof(s_entry_t));
    for (size_t i = 0; i < count; i++) {
        m->entries[i].key_s = ferry_strndup(s[i].data ? (const char *)s[i].data : "", s[i].len);
        m->entries[i].index = (int64_t)i;
    }
}

static void s_map_keys_ints(s_map_t *m, const int64_t *v, size_t count)
{
    m->key_type = FERRY_DT_INT64;
    m->count = (int64_t)count;
    m->entries = ferry_calloc(count + 1, sizeof(s_entry_t));
    for (size_t i = 0; i < count; i++) {
        m->entries[i].key_i = v[i];
        m->entries[i].index = (int64_t)i;
    }
}

static int s_prep_category_mapper(ferry_node_t *n, ferry_err_t *err)
{
    s_map_t *m = s_map_new(n);
    size_t ns, ni;
    const ProtobufCBinaryData *cs = ferry_attr_strings(n, "cats_strings", &ns);
    const int64_t *ci = ferry_attr_ints(n, "cats_int64s", &ni);
    if (ns != ni)
        return ferry_op_fail(n, err, "cats_strings and cats_int64s must have the same length");
    /* both directions are built; the input type picks one at run time */
    s_map_keys_strings(m, cs, ns);
    m->values_i = ferry_malloc(sizeof(int64_t) * (ni + 1));
    m->values_s = ferry_calloc(ns + 1, sizeof(char *));
    for (size_t i = 0; i < ni; i++) {
        m->values_i[i] = ci[i];
        m->values_s[i] = ferry_strndup(cs[i].data ? (const char *)cs[i].data : "", cs[i].len);
    }
    s_map_sort(m);
    m->default_s = ferry_attr_string(n, "default_string", "_Unused");
    m->default_i = ferry_attr_int(n, "default_int64", -1);
    return 0;
}

static int s_run_category_mapper(ferry_node_t *n, ferry_err_t *err)
{
    s_map_t *m = n->state;
    const ferry_tensor_t *x = ferry_op_input(n, 0, err);
    if (!x || ferry_op_check_type(n, 0, FERRY_DTM(FERRY_DT_STRING) | FERRY_DTM(FERRY_DT_INT64), err) < 0)
        return -1;
    ferry_tensor_t *y = n->out[0];
    if (x->dtype == FERRY_DT_STRING) {
        if (ferry_tensor_reshape_like(y, FERRY_DT_INT64, x, err) < 0)
            return -1;
        for (int64_t i = 0; i < x->count; i++) {
            int64_t k = s_map_lookup(m, x, i);
            ((int64_t *)y->data)[i] = k >= 0 ? m->values_i[k] : m->default_i;
        }
    } else {
        if (ferry_tensor_reshape_like(y, FERRY_DT_STRING, x, err) < 0)
            return -1;
        for (int64_t i = 0; i < x->count; i++) {
            int64_t v = ((const int64_t *)x->data)[i], k = -1;
            for (int64_t j = 0; j < m->count && k < 0; j++) /* O(cats): int->string is the rare direction */
                if (m->values_i[j] == v)
                    k = j;
            const char *s = k >= 0 ? m->values_s[k] : m->default_s;
            ferry_tensor_set_string(y, i, s, strlen(s));
        }
    }
    return 0;
}

static int s_prep_label_encoder(ferry_node_t *n, ferry_err_t *err)
{
    s_map_t *m = s_map_new(n);
    if (n->opset < 2) {
        size_t nc;
        const ProtobufCBinaryData *cs = ferry_attr_strings(n, "classes_strings", &nc);
        s_map_keys_strings(m, cs, nc);
        m->values_s = ferry_calloc(nc + 1, sizeof(char *));
        for (size_t i = 0; i < nc; i++)
            m->values_s[i] = ferry_strndup(cs[i].data ? (const char *)cs[i].data : "", cs[i].len);
        s_map_sort(m);
        m->value_type = -1; /* direction chosen by the input type */
        m->default_s = ferry_attr_string(n, "default_string", "_Unused");
        m->default_i = ferry_attr_int(n, "default_int64", -1);
        return 0;
    }
    if (ferry_attr(n, "keys_tensor") || ferry_attr(n, "values_tensor") || ferry_attr(n, "default_tensor")) {
        ferry_op_fail(n, err, "keys_tensor/values_tensor (opset 4) are not supported; use keys_*/values_* lists");
        return FERRY_ENGINE_EUNSUPPORTED;
    }
    size_t nks, nki, nkf, nvs, nvi, nvf;
    const ProtobufCBinaryData *ks = ferry_attr_strings(n, "keys_strings", &nks);
    const int64_t *ki = ferry_attr_ints(n, "keys_int64s", &nki);
    const float *kf = ferry_attr_floats(n, "keys_floats", &nkf);
    const ProtobufCBinaryData *vs = ferry_attr_strings(n, "values_strings", &nvs);
    const int64_t *vi = ferry_attr_ints(n, "values_int64s", &nvi);
    const float *vf = ferry_attr_floats(n, "values_floats", &nvf);
    if ((!!nks + !!nki + !!nkf) != 1 || (!!nvs + !!nvi + !!nvf) != 1)
        return ferry_op_fail(n, err, "exactly one keys_* and one values_* attribute must be set");
    size_t nk = nks + nki + nkf, nv = nvs + nvi + nvf;
    if (nk != nv)
        return ferry_op_fail(n, err, "keys (%zu) and values (%zu) differ in length", nk, nv);
    if (nks) {
        s_map_keys_strings(m, ks, nks);
    } else if (nki) {
        s_map_keys_ints(m, ki, nki);
    } else {
        m->key_type = FERRY_DT_FLOAT;
        m->count = (int64_t)nkf;
        m->entries = ferry_calloc(nkf + 1, sizeof(s_entry_t));
        for (size_t i = 0; i < nkf; i++) {
            m->entries[i].key_f = kf[i];
            m->entries[i].index = (int64_t)i;
        }
    }
    if (nvs) {
        m->value_type = FERRY_DT_STRING;
        m->values_s = ferry_calloc(nvs + 1, sizeof(char *));
        for (size_t i = 0; i < nvs; i++)
            m->values_s[i] = ferry_strndup(vs[i].data ? (const char *)vs[i].data : "", vs[i].len);
    } else if (nvi) {
        m->value_type = FERRY_DT_INT64;
        m->values_i = ferry_malloc(sizeof(int64_t) * (nvi + 1));
        memcpy(m->values_i, vi, nvi * sizeof(int64_t));
    } else {
        m->value_type = FERRY_DT_FLOAT;
        m->values_f = ferry_malloc(sizeof(double) * (nvf + 1));
        for (size_t i = 0; i < nvf; i++)
            m->values_f[i] = vf[i];
    }
    s_map_sort(m);
    m->default_s = ferry_attr_string(n, "default_string", "_Unused");
    m->default_i = ferry_attr_int(n, "default_int64", -1);
    m->default_f = ferry_attr_float(n, "default_float", -0.0f);
    return 0;
}

static int s_run_label_encoder(ferry_node_t *n, ferry_err_t *err)
{
    s_map_t *m = n->state;
    const ferry_tensor_t *x = ferry_op_input(n, 0, err);
    if (!x)
        return -1;
    ferry_tensor_t *y = n->out[0];
    if (m->value_type == -1) { /* opset 1: string <-> index */
        if (x->dtype == FERRY_DT_STRING) {
            if (ferry_tensor_reshape_like(y, FERRY_DT_INT64, x, err) < 0)
                return -1;
            for (int64_t i = 0; i < x->count; i++) {
                int64_t k = s_map_lookup(m, x, i);
                ((int64_t *)y->data)[i] = k >= 0 ? k : m->default_i;
            }
            return 0;
        }
        if (x->dtype != FERRY_DT_INT64)
            return ferry_op_fail(n, err, "input must be string or int64");
        if (ferry_tensor_reshape_like(y, FERRY_DT_STRING, x, err) < 0)
            return -1;
        for (int64_t i = 0; i < x->count; i++) {
            int64_t v = ((const int64_t *)x->data)[i];
            const char *s = v >= 0 && v < m->count ? m->values_s[v] : m->default_s;
            ferry_tensor_set_string(y, i, s, strlen(s));
        }
        return 0;
    }
    int32_t want = m->key_type;
    if (x->dtype != want)
        return ferry_op_fail(n, err, "input has type %s, the keys are %s", ferry_dtype_name(x->dtype),
                             ferry_dtype_name(want));
    if (ferry_tensor_reshape_like(y, m->value_type, x, err) < 0)
        return -1;
    for (int64_t i = 0; i < x->count; i++) {
        int64_t k = s_map_lookup(m, x, i);
        if (m->value_type == FERRY_DT_STRING) {
            const char *s = k >= 0 ? m->values_s[k] : m->default_s;
            ferry_tensor_set_string(y, i, s, strlen(s));
        } else if (m->value_type == FERRY_DT_INT64) {
            ((int64_t *)y->data)[i] = k >= 0 ? m->values_i[k] : m->default_i;
        } else {
            ((float *)y->data)[i] = (float)(k >= 0 ? m->values_f[k] : m->default_f);
        }
    }
    return 0;
}

static int s_prep_one_hot_encoder(ferry_node_t *n, ferry_err_t *err)
{
    s_map_t *m = s_map_new(n);
    size_t ns, ni;
    const ProtobufCBinaryData *cs = ferry_attr_strings(n, "cats_strings", &ns);
    const int64_t *ci = ferry_attr_ints(n, "cats_int64s", &ni);
    if (!!ns == !!ni)
        return ferry_op_fail(n, err, "exactly one of cats_strings and cats_int64s must be set");
    if (ns)
        s_map_keys_strings(m, cs, ns);
    else
        s_map_keys_ints(m, ci, ni);
    s_map_sort(m);
    m->is_zeros_ok = ferry_attr_int(n, "zeros", 1) != 0;
    return 0;
}

static int s_run_one_hot_encoder(ferry_node_t *n, ferry_err_t *err)
{
    s_map_t *m = n->state;
    const ferry_tensor_t *x = ferry_op_input(n, 0, err);
    if (!x)
        return -1;
    bool is_string_keys = m->key_type == FERRY_DT_STRING;
    if (is_string_keys != (x->dtype == FERRY_DT_STRING) ||
        (!is_string_keys && ferry_op_check_type(n, 0, FERRY_DTM(FERRY_DT_INT64) | FERRY_DTM(FERRY_DT_INT32) |
                                                          FERRY_DTM(FERRY_DT_FLOAT) | FERRY_DTM(FERRY_DT_DOUBLE), err) < 0))
        return ferry_op_fail(n, err, "input type %s does not match the categories", ferry_dtype_name(x->dtype));
    if (x->ndim + 1 > FERRY_TENSOR_MAX_DIMS)
        return ferry_op_fail(n, err, "input rank too large");
    int64_t dims[FERRY_TENSOR_MAX_DIMS];
    memcpy(dims, x->dims, sizeof(int64_t) * (size_t)x->ndim);
    dims[x->ndim] = m->count;
    if (ferry_tensor_reshape(n->out[0], FERRY_DT_FLOAT, x->ndim + 1, dims, err) < 0)
        return -1;
    float *y = n->out[0]->data;
    memset(y, 0, sizeof(float) * (size_t)n->out[0]->count);
    ferry_tensor_t as_int;
    ferry_tensor_init(&as_int);
    const ferry_tensor_t *src = x;
    if (!is_string_keys && x->dtype != FERRY_DT_INT64) {
        if (ferry_tensor_reshape_like(&as_int, FERRY_DT_INT64, x, err) < 0)
            return -1;
        ferry_convert_elems(as_int.data, FERRY_DT_INT64, x->data, x->dtype, x->count);
        src = &as_int;
    }
    int rc = 0;
    for (int64_t i = 0; i < x->count; i++) {
        int64_t k = s_map_lookup(m, src, i);
        if (k >= 0)
            y[i * m->count + k] = 1.0f;
        else if (!m->is_zeros_ok) {
            rc = ferry_op_fail(n, err, "element %lld is not a known category (zeros=0)", (long long)i);
            break;
        }
    }
    ferry_tensor_clear(&as_int);
    return rc;
}

static int s_run_feature_vectorizer(ferry_node_t *n, ferry_err_t *err)
{
    size_t nd;
    const int64_t *dimsattr = ferry_attr_ints(n, "inputdimensions", &nd);
    if ((int)nd != n->n_in || n->n_in < 1)
        return ferry_op_fail(n, err, "inputdimensions has %zu entries for %d inputs", nd, n->n_in);
    int64_t total = 0, rows = -1;
    for (int k = 0; k < n->n_in; k++) {
        const ferry_tensor_t *t = ferry_op_input(n, k, err);
        if (!t || ferry_op_check_type(n, k, FERRY_DTM(FERRY_DT_FLOAT) | FERRY_DTM(FERRY_DT_DOUBLE) |
                                                FERRY_DTM(FERRY_DT_INT32) | FERRY_DTM(FERRY_DT_INT64), err) < 0)
            return -1;
        if (dimsattr[k] < 0 || dimsattr[k] > FERRY_TENSOR_MAX_ELEMS)
            return ferry_op_fail(n, err, "inputdimensions[%d] is invalid", k);
        int64_t r = t->ndim <= 1 ? 1 : t->count / (t->dims[t->ndim - 1] ? t->dims[t->ndim - 1] : 1);
        if (t->ndim > 1 && t->dims[t->ndim - 1] == 0)
            r = t->dims[0];
        if (rows >= 0 && r != rows)
            return ferry_op_fail(n, err, "input %d has %lld rows, input 0 has %lld", k, (long long)r, (long long)rows);
        rows = r;
        total += dimsattr[k];
    }
    int64_t od[2] = {rows, total};
    if (ferry_tensor_reshape(n->out[0], FERRY_DT_FLOAT, 2, od, err) < 0)
        return -1;
    float *y = n->out[0]->data;
    int64_t off = 0;
    for (int k = 0; k < n->n_in; k++) {
        const ferry_tensor_t *t = n->in[k];
        int64_t c = t->ndim == 0 ? 1 : t->dims[t->ndim - 1];
        for (int64_t r = 0; r < rows; r++)
            for (int64_t j = 0; j < dimsattr[k]; j++)
                y[r * total + off + j] = j < c ? (float)ferry_tensor_get_f64(t, r * c + j) : 0.0f;
        off += dimsattr[k];
    }
    return 0;
}

static int s_run_zipmap(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *x = ferry_op_input(n, 0, err);
    if (!x || ferry_op_check_type(n, 0, FERRY_DTM(FERRY_DT_FLOAT), err) < 0)
        return -1;
    s_labels_t l = {0};
    if (s_labels_parse(n, "classlabels_int64s", &l, err) < 0)
        return -1;
    int64_t rows = x->ndim == 1 ? 1 : x->ndim == 2 ? x->dims[0] : -1, cols = x->ndim ? x->dims[x->ndim - 1] : 0;
    int rc = 0;
    if (rows < 0 || cols != l.n) {
        rc = ferry_op_fail(n, err, "input must be [N, %lld] (one column per label)", (long long)l.n);
        goto out;
    }
    ferry_tensor_t *y = n->out[0];
    int64_t dims[2] = {rows, cols};
    if (ferry_tensor_reshape(y, FERRY_DT_FLOAT, 2, dims, err) < 0) {
        rc = -1;
        goto out;
    }
    memcpy(y->data, x->data, sizeof(float) * (size_t)(rows * cols));
    y->map_keys = ferry_tensor_new();
    if (ferry_tensor_reshape(y->map_keys, l.strs ? FERRY_DT_STRING : FERRY_DT_INT64, 1, &cols, err) < 0) {
        rc = -1;
        goto out;
    }
    for (int64_t c = 0; c < cols; c++)
        s_labels_set(&l, y->map_keys, c, c);
    y->kind = FERRY_VALUE_SEQ_MAP;
out:
    s_labels_free(&l);
    return rc;
}

const ferry_op_def_t ferry_engine_ops_ml[] = {
    {"ai.onnx.ml", "LinearRegressor", 1, s_prep_linear, s_run_linear},
    {"ai.onnx.ml", "LinearClassifier", 1, s_prep_linear, s_run_linear},
    {"ai.onnx.ml", "TreeEnsembleRegressor", 1, s_prep_tree_legacy, s_run_tree},
    {"ai.onnx.ml", "TreeEnsembleClassifier", 1, s_prep_tree_legacy, s_run_tree},
    {"ai.onnx.ml", "TreeEnsemble", 5, s_prep_tree_ensemble, s_run_tree},
    {"ai.onnx.ml", "SVMRegressor", 1, s_prep_svm, s_run_svm_regressor},
    {"ai.onnx.ml", "SVMClassifier", 1, s_prep_svm, s_run_svm_classifier},
    {"ai.onnx.ml", "Scaler", 1, NULL, s_run_scaler},
    {"ai.onnx.ml", "Normalizer", 1, NULL, s_run_normalizer},
    {"ai.onnx.ml", "Imputer", 1, NULL, s_run_imputer},
    {"ai.onnx.ml", "Binarizer", 1, NULL, s_run_binarizer},
    {"ai.onnx.ml", "ArrayFeatureExtractor", 1, NULL, s_run_array_feature_extractor},
    {"ai.onnx.ml", "CategoryMapper", 1, s_prep_category_mapper, s_run_category_mapper},
    {"ai.onnx.ml", "LabelEncoder", 1, s_prep_label_encoder, s_run_label_encoder},
    {"ai.onnx.ml", "OneHotEncoder", 1, s_prep_one_hot_encoder, s_run_one_hot_encoder},
    {"ai.onnx.ml", "FeatureVectorizer", 1, NULL, s_run_feature_vectorizer},
    {"ai.onnx.ml", "ZipMap", 1, NULL, s_run_zipmap},
    {NULL, NULL, 0, NULL, NULL},
};
