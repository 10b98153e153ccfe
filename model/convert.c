/* convert.c -- PMML -> ONNX converter: fields, transformations, models and outputs lowered to double ONNX
 *
 * Value conventions inside the graph (every PMML field becomes one [N, 1] double tensor):
 *   - numbers are themselves, missing is NaN;
 *   - strings are the model's interned symbol number (ferry_pmml_t.syms), so equality
 *     tests are double compares; S_CODE_INVALID marks a value outside the field's valid
 *     Values, S_CODE_UNKNOWN a valid string the model never names; missing is NaN.
 * Rows made invalid under returnInvalid are collected in one mask (output "row_valid").
 * Trees: every tree of a model (a TreeModel, or the TreeModel segments of a MiningModel)
 * becomes one tree of a TreeEnsemble (ai.onnx.ml opset 5, double) whose leaf weight is
 * the leaf's row in a table of exact leaf values (score, class distribution, vote),
 * gathered and reduced afterwards in PMML's order. PMML's missing-value strategies are
 * expressed with nodes_missing_value_tracks_true or with explicit "is not missing"
 * guard nodes (x <= +inf), so a missing value goes where the PMML evaluator sends it. */
#include "model/convert.h"
#include "model/convert_graph.h"
#include "model/onnx.h"
#include "util/file.h"
#include "util/json.h"
#include "util/mem.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_CODE_INVALID (-2.0)  /* string outside the DataField's valid Values */
#define S_CODE_UNKNOWN (-3.0)  /* valid string the model does not name */
#define S_CODE_NOMATCH (-4.0)  /* operand string that no input can equal */
#define S_MAX_FLOAT_INT 16777216 /* symbols are carried through LabelEncoder as floats */
#define S_ONNX_DOUBLE 11
#define S_ONNX_FLOAT 1
#define S_ONNX_INT64 7
#define S_ONNX_BOOL 9
#define S_ONNX_STRING 8

/* TreeEnsemble (ai.onnx.ml 5) node modes */
enum { S_LEQ = 0, S_LT = 1, S_GTE = 2, S_GT = 3, S_EQ = 4, S_NEQ = 5, S_MEMBER = 6 };

typedef struct {
    const char *value; /* regression: [N, 1] double, NaN = no prediction */
    const char *probs; /* classification: [N, C] double in the model's class order */
    const char *cls;   /* classification: [N, 1] double class index, NULL: argmax of probs */
    bool has_no_probs; /* probs is all NaN: the model gives a class only (one-vs-rest SVM) */
} s_res_t;

/* one tree of the ensemble being built */
typedef struct {
    int64_t *feat, *tid, *fid, *tleaf, *fleaf, *miss, *mode;
    double *split;
    size_t n, cap;
    /* BRANCH_MEMBER nodes: set of node i at members[set_off[i] .. +set_n[i]) */
    int64_t *set_off, *set_n;
    double *members;
    size_t n_members;
    int64_t *leaf_target;
    double *leaf_weight;
    size_t n_leaves, cap_leaves;
    int64_t *roots;
    size_t n_roots;
    /* leaf table rows: leaf row -> PMML (model, node) or -1 (null prediction) */
    int32_t *row_model, *row_node;
    double *row_weight;
    size_t n_rows, cap_rows;
    /* features: ONNX value per column */
    const char **feat_val;
    size_t n_feat;
} s_forest_t;

typedef struct {
    const ferry_pmml_t *p;
    const char *name;
    ferry_err_t *err;
    int rc;
    ferry_cg_t g;
    const char **slot_val;
    const char **slot_invalid; /* DATA slots: [N, 1] bool mask of invalid values, or NULL */
    bool *slot_busy;
    s_res_t *res;
    uint8_t *res_state;
    const char *shape_of; /* Shape of the first input (to broadcast constants) */
    const char **invalid;
    size_t n_invalid;
    int32_t *in_slots;
    size_t n_in;
    ferry_buf_t notes; /* precision notes for the manifest */
} s_cv_t;

static int s_unsup(s_cv_t *cv, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int s_unsup(s_cv_t *cv, int line, const char *fmt, ...)
{
    char msg[FERRY_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (!cv->rc) {
        if (line > 0)
            ferry_err(cv->err, "%s:%d: %s has no faithful ONNX form; not converted", cv->name, line, msg);
        else
            ferry_err(cv->err, "%s: %s has no faithful ONNX form; not converted", cv->name, msg);
        cv->rc = FERRY_CONVERT_EUNSUPPORTED;
    }
    return cv->rc;
}

/* ---- small graph helpers ------------------------------------------------------------- */
static const char *s_k(s_cv_t *cv, double v)
{
    return ferry_cg_scalar(&cv->g, v);
}
#define OP1(op, a) ferry_cg_op1(&cv->g, op, a)
#define OP2(op, a, b) ferry_cg_op2(&cv->g, op, a, b)
#define OP3(op, a, b, c) ferry_cg_op3(&cv->g, op, a, b, c)

static const char *s_cast(s_cv_t *cv, const char *a, int to)
{
    const char *in[] = {a};
    Onnx__NodeProto *n = ferry_cg_node(&cv->g, "Cast", NULL, in, 1, NULL);
    ferry_cg_attr_int(n, "to", to);
    return ferry_cg_out(n);
}

static const char *s_isnan(s_cv_t *cv, const char *a)
{
    return OP1("IsNaN", a);
}

static const char *s_nan_if(s_cv_t *cv, const char *mask, const char *v)
{
    return OP3("Where", mask, s_k(cv, NAN), v);
}

/* a [1,1] constant broadcast to [N, 1] */
static const char *s_bcast(s_cv_t *cv, const char *k)
{
    if (!cv->shape_of) {
        s_unsup(cv, 0, "a model whose values do not depend on any input field");
        return NULL;
    }
    return OP2("Expand", k, cv->shape_of);
}

static double s_vnum(const ferry_pmml_value_t *v)
{
    switch (v->kind) {
    case FERRY_PMML_NUM: return v->num;
    case FERRY_PMML_STR: return v->sym >= 0 ? (double)v->sym : S_CODE_NOMATCH;
    default: return NAN;
    }
}

static const char *s_or(s_cv_t *cv, const char *a, const char *b)
{
    if (!a)
        return b;
    if (!b)
        return a;
    return OP2("Or", a, b);
}

/* column k of a [N, C] tensor as [N, 1] */
static const char *s_col(s_cv_t *cv, const char *t, int64_t k)
{
    int64_t d[] = {1};
    const char *in[] = {t, ferry_cg_const_i64(&cv->g, &k, d, 1)};
    Onnx__NodeProto *n = ferry_cg_node(&cv->g, "Gather", NULL, in, 2, NULL);
    ferry_cg_attr_int(n, "axis", 1);
    return ferry_cg_out(n);
}

static const char *s_concat(s_cv_t *cv, const char *const *parts, size_t n)
{
    Onnx__NodeProto *c = ferry_cg_node(&cv->g, "Concat", NULL, parts, n, NULL);
    ferry_cg_attr_int(c, "axis", 1);
    return ferry_cg_out(c);
}

static const char *s_field(s_cv_t *cv, int32_t slot);
static const char *s_expr(s_cv_t *cv, int32_t e);
static s_res_t *s_model(s_cv_t *cv, int32_t mi);

/* ---- input fields ------------------------------------------------------------------------- */
static const char *s_data_string(s_cv_t *cv, int32_t slot)
{
    const ferry_pmml_t *p = cv->p;
    const ferry_pmml_field_t *f = &p->fields[slot];
    if (p->n_syms >= S_MAX_FLOAT_INT) {
        s_unsup(cv, 0, "a model with more than 2^24 distinct strings");
        return NULL;
    }
    ferry_cg_input(&cv->g, f->name, S_ONNX_STRING, 1);
    size_t cap = (size_t)(f->n_values > 0 ? f->n_values : p->n_syms) + 1, nk = 0;
    const char **keys = ferry_calloc(cap, sizeof(char *));
    float *vals = ferry_calloc(cap, sizeof(float));
    bool has_invalid = f->has_valid_values;
    keys[nk] = "";
    vals[nk++] = NAN;
    if (f->n_values > 0) {
        for (int32_t i = 0; i < f->n_values; i++) {
            const ferry_pmml_value_t *v = &f->values[i];
            if (v->kind != FERRY_PMML_STR || !v->str || !*v->str)
                continue;
            bool dup = false;
            for (size_t k = 0; k < nk && !dup; k++)
                dup = !strcmp(keys[k], v->str);
            if (dup)
                continue;
            keys[nk] = v->str;
            vals[nk++] = f->value_property[i] == FERRY_PMML_VALID     ? (float)v->sym
                         : f->value_property[i] == FERRY_PMML_INVALID ? (float)S_CODE_INVALID
                                                                      : NAN;
            has_invalid |= f->value_property[i] == FERRY_PMML_INVALID;
        }
    } else {
        for (int32_t s = 0; s < p->n_syms; s++) {
            if (!p->syms[s] || !*p->syms[s])
                continue;
            keys[nk] = p->syms[s];
            vals[nk++] = (float)s;
        }
    }
    const char *in[] = {f->name};
    Onnx__NodeProto *n = ferry_cg_node(&cv->g, "LabelEncoder", "ai.onnx.ml", in, 1, NULL);
    ferry_cg_attr_strings(n, "keys_strings", keys, nk);
    ferry_cg_attr_floats(n, "values_floats", vals, nk);
    ferry_cg_attr_float(n, "default_float", f->has_valid_values ? (float)S_CODE_INVALID : (float)S_CODE_UNKNOWN);
    free(keys);
    free(vals);
    const char *code = s_cast(cv, ferry_cg_out(n), S_ONNX_DOUBLE);
    if (has_invalid)
        cv->slot_invalid[slot] = OP2("Equal", code, s_k(cv, S_CODE_INVALID));
    return code;
}

static const char *s_data_number(s_cv_t *cv, int32_t slot)
{
    const ferry_pmml_field_t *f = &cv->p->fields[slot];
    ferry_cg_input(&cv->g, f->name, S_ONNX_DOUBLE, 1);
    const char *x = f->name;
    const char *listed = NULL, *listed_invalid = NULL, *as_missing = NULL;
    for (int32_t i = 0; i < f->n_values; i++) {
        const ferry_pmml_value_t *v = &f->values[i];
        if (v->kind != FERRY_PMML_NUM)
            continue;
        const char *eq = OP2("Equal", x, s_k(cv, v->num));
        /* the first listed entry decides (s_validity scans in order): earlier ones win */
        const char *fresh = listed ? OP2("And", eq, OP1("Not", listed)) : eq;
        if (f->value_property[i] == FERRY_PMML_INVALID)
            listed_invalid = s_or(cv, listed_invalid, fresh);
        else if (f->value_property[i] == FERRY_PMML_AS_MISSING)
            as_missing = s_or(cv, as_missing, fresh);
        listed = s_or(cv, listed, eq);
    }
    const char *other_invalid = NULL;
    if (f->has_valid_values) {
        other_invalid = listed ? OP1("Not", listed) : NULL;
        if (!listed) {
            s_unsup(cv, 0, "DataField \"%s\" with valid Values of another type", f->name);
            return NULL;
        }
    } else {
        if (f->datatype == FERRY_PMML_DT_INTEGER)
            other_invalid = OP1("Not", OP2("Equal", OP1("Floor", x), x));
        if (f->n_intervals) {
            const char *inside = NULL;
            for (int32_t i = 0; i < f->n_intervals; i++) {
                const ferry_pmml_interval_t *I = &f->intervals[i];
                const char *l = OP2(I->is_left_open ? "Greater" : "GreaterOrEqual", x, s_k(cv, I->left));
                const char *r = OP2(I->is_right_open ? "Less" : "LessOrEqual", x, s_k(cv, I->right));
                inside = s_or(cv, inside, OP2("And", l, r));
            }
            other_invalid = s_or(cv, other_invalid, OP1("Not", inside));
        }
        if (other_invalid && listed)
            other_invalid = OP2("And", other_invalid, OP1("Not", listed));
    }
    const char *invalid = s_or(cv, listed_invalid, other_invalid);
    if (invalid)
        cv->slot_invalid[slot] = OP2("And", invalid, OP1("Not", s_isnan(cv, x)));
    if (as_missing)
        x = s_nan_if(cv, as_missing, x);
    return x;
}

static const char *s_mining(s_cv_t *cv, int32_t slot)
{
    const ferry_pmml_t *p = cv->p;
    const ferry_pmml_field_t *f = &p->fields[slot];
    const char *v = s_field(cv, f->src);
    if (!v)
        return NULL;
    const ferry_pmml_field_t *sf = &p->fields[f->src];
    const char *inv = sf->origin == FERRY_PMML_FIELD_DATA ? cv->slot_invalid[f->src] : NULL;
    if (inv) {
        switch (f->invalid_treatment) {
        case FERRY_PMML_INVALID_RETURN:
            cv->invalid = ferry_reallocarray(cv->invalid, cv->n_invalid + 1, sizeof *cv->invalid);
            cv->invalid[cv->n_invalid++] = inv;
            break;
        case FERRY_PMML_INVALID_ASMISSING: v = s_nan_if(cv, inv, v); break;
        case FERRY_PMML_INVALID_ASVALUE:
            v = OP3("Where", inv, s_k(cv, f->is_invalid_replacement_set ? s_vnum(&f->invalid_replacement) : NAN), v);
            break;
        default: break;
        }
    }
    const char *is_missing = s_isnan(cv, v);
    if (f->outliers != FERRY_PMML_OUTLIER_ASIS && (f->has_low || f->has_high)) {
        const char *lo = f->has_low ? OP2("Less", v, s_k(cv, f->low_value)) : NULL;
        const char *hi = f->has_high ? OP2("Greater", v, s_k(cv, f->high_value)) : NULL;
        if (f->outliers == FERRY_PMML_OUTLIER_ASMISSING) {
            const char *out = s_or(cv, lo, hi);
            is_missing = OP2("Or", is_missing, out);
            v = s_nan_if(cv, out, v);
        } else {
            if (lo)
                v = OP3("Where", lo, s_k(cv, f->low_value), v);
            if (hi)
                v = OP3("Where", hi, s_k(cv, f->high_value), v);
        }
    }
    if (f->is_missing_replacement_set == 1) {
        v = OP3("Where", is_missing, s_k(cv, s_vnum(&f->missing_replacement)), v);
    } else if (f->is_missing_replacement_set == 2) {
        cv->invalid = ferry_reallocarray(cv->invalid, cv->n_invalid + 1, sizeof *cv->invalid);
        cv->invalid[cv->n_invalid++] = is_missing;
    }
    return v;
}

/* an OutputField slot: the value of that output of its model */
static const char *s_output_value(s_cv_t *cv, int32_t mi, int32_t oi);

static const char *s_output_slot(s_cv_t *cv, int32_t slot)
{
    const ferry_pmml_t *p = cv->p;
    for (int32_t mi = 0; mi < p->n_models; mi++)
        for (int32_t o = 0; o < p->models[mi].n_outputs; o++)
            if (p->models[mi].outputs[o].slot == slot)
                return s_output_value(cv, mi, o);
    s_unsup(cv, 0, "field \"%s\" (an OutputField of no model)", p->fields[slot].name);
    return NULL;
}

static const char *s_field(s_cv_t *cv, int32_t slot)
{
    const ferry_pmml_t *p = cv->p;
    if (slot < 0 || slot >= p->n_fields) {
        ferry_err(cv->err, "%s: field reference %d out of range", cv->name, slot);
        cv->rc = FERRY_CONVERT_EINVALID;
        return NULL;
    }
    if (cv->slot_val[slot])
        return cv->slot_val[slot];
    if (cv->rc)
        return NULL;
    if (cv->slot_busy[slot]) {
        s_unsup(cv, 0, "field \"%s\" depending on itself", p->fields[slot].name);
        return NULL;
    }
    cv->slot_busy[slot] = true;
    const ferry_pmml_field_t *f = &p->fields[slot];
    const char *v = NULL;
    switch (f->origin) {
    case FERRY_PMML_FIELD_DATA:
        v = f->datatype == FERRY_PMML_DT_STRING ? s_data_string(cv, slot) : s_data_number(cv, slot);
        if (v) {
            cv->in_slots = ferry_reallocarray(cv->in_slots, cv->n_in + 1, sizeof *cv->in_slots);
            cv->in_slots[cv->n_in++] = slot;
            if (!cv->shape_of)
                cv->shape_of = OP1("Shape", f->name);
        }
        break;
    case FERRY_PMML_FIELD_DERIVED: v = s_expr(cv, f->expr); break;
    case FERRY_PMML_FIELD_MINING: v = s_mining(cv, slot); break;
    case FERRY_PMML_FIELD_OUTPUT: v = s_output_slot(cv, slot); break;
    default: s_unsup(cv, 0, "DefineFunction parameter \"%s\"", f->name); break;
    }
    if (v && f->origin == FERRY_PMML_FIELD_DERIVED && f->datatype == FERRY_PMML_DT_INTEGER &&
        cv->p->exprs[f->expr].kind == FERRY_PMML_EX_APPLY) {
        s_unsup(cv, 0, "DerivedField \"%s\" of dataType integer computed by Apply (integer truncation)", f->name);
        v = NULL;
    }
    cv->slot_busy[slot] = false;
    cv->slot_val[slot] = v;
    return v;
}

/* ---- expressions --------------------------------------------------------------------------- */
static const char *s_map_missing(s_cv_t *cv, const ferry_pmml_expr_t *x, const char *in, const char *res)
{
    if (x->map_missing_to.kind == FERRY_PMML_MISSING)
        return res;
    return OP3("Where", s_isnan(cv, in), s_k(cv, s_vnum(&x->map_missing_to)), res);
}

static const char *s_any_nan(s_cv_t *cv, const char *const *args, int32_t n)
{
    const char *m = NULL;
    for (int32_t i = 0; i < n; i++)
        m = s_or(cv, m, s_isnan(cv, args[i]));
    return m;
}

static const char *s_bool(s_cv_t *cv, const char *b)
{
    return s_cast(cv, b, S_ONNX_DOUBLE);
}

static const char *s_truth(s_cv_t *cv, const char *d)
{
    return OP1("Not", OP2("Equal", d, s_k(cv, 0)));
}

static const char *s_apply(s_cv_t *cv, const ferry_pmml_expr_t *x)
{
    const ferry_pmml_t *p = cv->p;
    int32_t n = x->n;
    if (n < 0 || n > 64) {
        s_unsup(cv, 0, "Apply with %d arguments", n);
        return NULL;
    }
    const char *args[64];
    for (int32_t i = 0; i < n; i++)
        if (!(args[i] = s_expr(cv, p->int_pool[x->off + i])))
            return NULL;
    const char *r = NULL;
    static const char *const cmp_ops[] = {"Equal", NULL, "Less", "LessOrEqual", "Greater", "GreaterOrEqual"};
    switch (x->fn) {
    case FERRY_PMML_FN_ADD:
    case FERRY_PMML_FN_SUB:
    case FERRY_PMML_FN_MUL:
    case FERRY_PMML_FN_DIV: {
        static const char *const ops[] = {"Add", "Sub", "Mul", "Div"};
        if (n != 2)
            break;
        r = OP2(ops[x->fn - FERRY_PMML_FN_ADD], args[0], args[1]);
        break;
    }
    case FERRY_PMML_FN_LN:
        if (n == 1)
            r = OP1("Log", args[0]);
        break;
    case FERRY_PMML_FN_EXP:
        if (n == 1)
            r = OP1("Exp", args[0]);
        break;
    case FERRY_PMML_FN_SQRT:
        if (n == 1)
            r = OP1("Sqrt", args[0]);
        break;
    case FERRY_PMML_FN_ABS:
        if (n == 1)
            r = OP1("Abs", args[0]);
        break;
    case FERRY_PMML_FN_FLOOR:
        if (n == 1)
            r = OP1("Floor", args[0]);
        break;
    case FERRY_PMML_FN_CEIL:
        if (n == 1)
            r = OP1("Ceil", args[0]);
        break;
    case FERRY_PMML_FN_POW:
        if (n == 2)
            r = OP2("Pow", args[0], args[1]);
        break;
    case FERRY_PMML_FN_THRESHOLD:
        if (n == 2)
            r = s_nan_if(cv, s_any_nan(cv, args, 2), s_bool(cv, OP2("Greater", args[0], args[1])));
        break;
    case FERRY_PMML_FN_ISMISSING:
    case FERRY_PMML_FN_ISNOTMISSING:
        if (n == 1) {
            const char *m = s_isnan(cv, args[0]);
            r = s_bool(cv, x->fn == FERRY_PMML_FN_ISMISSING ? m : OP1("Not", m));
        }
        break;
    case FERRY_PMML_FN_EQUAL:
    case FERRY_PMML_FN_NOTEQUAL:
    case FERRY_PMML_FN_LT:
    case FERRY_PMML_FN_LE:
    case FERRY_PMML_FN_GT:
    case FERRY_PMML_FN_GE:
        if (n == 2) {
            const char *c;
            if (x->fn == FERRY_PMML_FN_NOTEQUAL)
                c = OP1("Not", OP2("Equal", args[0], args[1]));
            else
                c = OP2(cmp_ops[x->fn - FERRY_PMML_FN_EQUAL], args[0], args[1]);
            r = s_nan_if(cv, s_any_nan(cv, args, 2), s_bool(cv, c));
        }
        break;
    case FERRY_PMML_FN_AND:
    case FERRY_PMML_FN_OR:
        if (n >= 2) {
            const char *acc = s_truth(cv, args[0]);
            for (int32_t i = 1; i < n; i++)
                acc = OP2(x->fn == FERRY_PMML_FN_AND ? "And" : "Or", acc, s_truth(cv, args[i]));
            r = s_nan_if(cv, s_any_nan(cv, args, n), s_bool(cv, acc));
        }
        break;
    case FERRY_PMML_FN_NOT:
        if (n == 1)
            r = s_nan_if(cv, s_isnan(cv, args[0]), s_bool(cv, OP1("Not", s_truth(cv, args[0]))));
        break;
    case FERRY_PMML_FN_IF:
        if (n == 2 || n == 3) {
            const char *other = n == 3 ? args[2] : s_bcast(cv, s_k(cv, NAN));
            if (!other)
                return NULL;
            r = s_nan_if(cv, s_isnan(cv, args[0]), OP3("Where", s_truth(cv, args[0]), args[1], other));
        }
        break;
    default: break;
    }
    if (!r) {
        s_unsup(cv, 0, "Apply function #%d with %d arguments (supported: + - * / ln exp sqrt abs floor ceil pow "
                       "threshold isMissing isNotMissing equal notEqual lessThan lessOrEqual greaterThan "
                       "greaterOrEqual and or not if)",
                x->fn, n);
        return NULL;
    }
    if (x->map_missing_to.kind != FERRY_PMML_MISSING) {
        const char *m = s_any_nan(cv, args, n);
        if (m)
            r = OP3("Where", m, s_k(cv, s_vnum(&x->map_missing_to)), r);
    }
    if (x->default_value.kind != FERRY_PMML_MISSING) {
        s_unsup(cv, 0, "Apply defaultValue");
        return NULL;
    }
    return r;
}

static const char *s_normcont(s_cv_t *cv, const ferry_pmml_expr_t *x)
{
    const char *d = s_field(cv, x->field);
    if (!d)
        return NULL;
    const double *o = cv->p->num_pool + x->off, *nm = o + x->n;
    int32_t k = x->n;
    if (k < 2) {
        s_unsup(cv, 0, "NormContinuous with fewer than two LinearNorm points");
        return NULL;
    }
    const char *acc = NULL;
    for (int32_t i = k - 1; i >= 1; i--) {
        /* the evaluator's own operation order: nm[i-1] + (d - o[i-1]) / (o[i] - o[i-1]) * (nm[i] - nm[i-1]) */
        const char *seg = OP2("Add", s_k(cv, nm[i - 1]),
                              OP2("Mul", OP2("Div", OP2("Sub", d, s_k(cv, o[i - 1])), s_k(cv, o[i] - o[i - 1])),
                                  s_k(cv, nm[i] - nm[i - 1])));
        acc = acc ? OP3("Where", OP2("LessOrEqual", d, s_k(cv, o[i])), seg, acc) : seg;
    }
    if (x->outliers != FERRY_PMML_OUTLIER_ASIS) {
        const char *lo = OP2("Less", d, s_k(cv, o[0])), *hi = OP2("Greater", d, s_k(cv, o[k - 1]));
        if (x->outliers == FERRY_PMML_OUTLIER_ASMISSING) {
            acc = OP3("Where", OP2("Or", lo, hi), s_k(cv, s_vnum(&x->map_missing_to)), acc);
        } else {
            acc = OP3("Where", lo, s_k(cv, nm[0]), acc);
            acc = OP3("Where", hi, s_k(cv, nm[k - 1]), acc);
        }
    }
    return s_map_missing(cv, x, d, acc);
}

static const char *s_expr(s_cv_t *cv, int32_t e)
{
    const ferry_pmml_t *p = cv->p;
    if (e < 0 || e >= p->n_exprs) {
        ferry_err(cv->err, "%s: expression reference %d out of range", cv->name, e);
        cv->rc = FERRY_CONVERT_EINVALID;
        return NULL;
    }
    const ferry_pmml_expr_t *x = &p->exprs[e];
    switch (x->kind) {
    case FERRY_PMML_EX_CONST: return s_bcast(cv, s_k(cv, s_vnum(&x->value)));
    case FERRY_PMML_EX_FIELDREF: {
        const char *v = s_field(cv, x->field);
        return v ? s_map_missing(cv, x, v, v) : NULL;
    }
    case FERRY_PMML_EX_NORMCONT: return s_normcont(cv, x);
    case FERRY_PMML_EX_NORMDISC: {
        const char *v = s_field(cv, x->field);
        if (!v)
            return NULL;
        const char *r = s_bool(cv, OP2("Equal", v, s_k(cv, s_vnum(&x->disc_value))));
        return s_map_missing(cv, x, v, s_nan_if(cv, s_isnan(cv, v), r));
    }
    case FERRY_PMML_EX_DISCRETIZE: {
        const char *d = s_field(cv, x->field);
        if (!d)
            return NULL;
        const char *acc = s_bcast(cv, s_k(cv, s_vnum(&x->default_value)));
        for (int32_t i = x->n - 1; i >= 0 && acc; i--) {
            const ferry_pmml_interval_t *I = &p->interval_pool[x->off + i];
            const char *l = OP2(I->is_left_open ? "Greater" : "GreaterOrEqual", d, s_k(cv, I->left));
            const char *r = OP2(I->is_right_open ? "Less" : "LessOrEqual", d, s_k(cv, I->right));
            acc = OP3("Where", OP2("And", l, r), s_k(cv, s_vnum(&p->value_pool[x->aux + i])), acc);
        }
        return acc ? s_map_missing(cv, x, d, s_nan_if(cv, s_isnan(cv, d), acc)) : NULL;
    }
    case FERRY_PMML_EX_MAPVALUES: {
        int32_t nc = x->ncols;
        if (nc < 1 || nc > 8) {
            s_unsup(cv, 0, "MapValues with %d input columns", nc);
            return NULL;
        }
        const char *keys[8];
        const char *miss = NULL;
        for (int32_t j = 0; j < nc; j++) {
            if (!(keys[j] = s_field(cv, p->int_pool[x->aux + j])))
                return NULL;
            miss = s_or(cv, miss, s_isnan(cv, keys[j]));
        }
        const char *acc = s_bcast(cv, s_k(cv, s_vnum(&x->default_value)));
        for (int32_t r = x->n - 1; r >= 0 && acc; r--) {
            const ferry_pmml_value_t *row = &p->value_pool[x->off + r * (nc + 1)];
            const char *match = NULL;
            for (int32_t j = 0; j < nc; j++) {
                const char *eq = OP2("Equal", keys[j], s_k(cv, s_vnum(&row[j])));
                match = match ? OP2("And", match, eq) : eq;
            }
            acc = OP3("Where", match, s_k(cv, s_vnum(&row[nc])), acc);
        }
        if (!acc)
            return NULL;
        return OP3("Where", miss, s_k(cv, s_vnum(&x->map_missing_to)), acc);
    }
    case FERRY_PMML_EX_APPLY: return s_apply(cv, x);
    default: s_unsup(cv, 0, "a call of a DefineFunction"); return NULL;
    }
}

/* ---- the normal CDF and arctangent in double core operators --------------------------------
 * ONNX Runtime implements Erf and Atan for float only, and float (~1e-7) is not within the
 * converter's 1e-9 tolerance. Both are built from double Mul/Div/Add/Exp/Sqrt/Where with
 * series whose terms are all positive (no cancellation) and a term count fixed so the
 * truncation is below double rounding; against libm's erfc and atan over [-40, 40] the
 * absolute error is at most 1.2e-15 (probit) and 2.3e-16 (cauchit), the relative error at
 * most 5e-13 in the far tails (tests/oracle/convert_cases.py holds the three-way proof).
 * Not bit-exact like the rest of the converter: a few ulps, as between two libms. */
#define S_ERF_SERIES_MAX 2.0   /* |z| <= this: the series, else the continued fraction */
#define S_ERF_SERIES_TERMS 32  /* 2^n z^(2n+1) / (2n+1)!!: below 1e-17 of the sum at |z| = 2 */
#define S_ERFC_CF_DEPTH 45     /* Laplace's continued fraction, evaluated from depth 45 */
#define S_ATAN_EULER_TERMS 18  /* Euler's series at |h| <= tan(pi/8): ratio below 0.15 */

/* a sentence for the manifest's precision notes, once per model */
static void s_note(s_cv_t *cv, const char *sentence)
{
    if (cv->notes.len && strstr(cv->notes.data, sentence))
        return;
    if (cv->notes.len)
        ferry_buf_putc(&cv->notes, ' ');
    ferry_buf_puts(&cv->notes, sentence);
}

/* erfc(a) for a = |z| >= 0 (NaN stays NaN) */
static const char *s_erfc_abs(s_cv_t *cv, const char *a)
{
    const char *a2 = OP2("Mul", a, a);
    const char *e = OP1("Exp", OP1("Neg", a2));
    /* erf(a) = 2/sqrt(pi) e^(-a^2) sum_n 2^n a^(2n+1) / (1 3 5 ... (2n+1)) */
    const char *two_a2 = OP2("Mul", a2, s_k(cv, 2));
    const char *t = a, *sum = a;
    for (int n = 0; n < S_ERF_SERIES_TERMS; n++) {
        t = OP2("Div", OP2("Mul", t, two_a2), s_k(cv, 2.0 * n + 3));
        sum = OP2("Add", sum, t);
    }
    const char *small = OP2("Sub", s_k(cv, 1), OP2("Mul", OP2("Mul", s_k(cv, 2 / sqrt(M_PI)), e), sum));
    /* erfc(a) = e^(-a^2) / (sqrt(pi) (a + (1/2) / (a + 1 / (a + (3/2) / (a + ...))))) */
    const char *f = a;
    for (int k = S_ERFC_CF_DEPTH; k >= 1; k--)
        f = OP2("Add", a, OP2("Div", s_k(cv, k / 2.0), f));
    const char *large = OP2("Div", e, OP2("Mul", s_k(cv, sqrt(M_PI)), f));
    return OP3("Where", OP2("Greater", a, s_k(cv, S_ERF_SERIES_MAX)), large, small);
}

/* the standard normal CDF, 0.5 erfc(-x / sqrt 2), as the evaluator's s_norm_cdf */
static const char *s_norm_cdf(s_cv_t *cv, const char *x)
{
    s_note(cv, "probit: the normal CDF is built from double core operators (ONNX Runtime has Erf in "
               "float only): within 1.2e-15 of libm over [-40, 40], a few ulps, not bit-exact.");
    const char *ec = s_erfc_abs(cv, OP1("Abs", OP2("Div", x, s_k(cv, M_SQRT2))));
    const char *half = OP2("Mul", s_k(cv, 0.5), ec);
    return OP3("Where", OP2("Less", x, s_k(cv, 0)), half, OP2("Sub", s_k(cv, 1), half));
}

/* atan(x): |x| > 1 -> pi/2 - atan(1/|x|); the half angle h = r / (1 + sqrt(1 + r^2)) <=
 * tan(pi/8); Euler's series atan(h) = sum_n (2n)!! / (2n+1)!! h^(2n+1) / (1+h^2)^(n+1);
 * the sign restored last (Sign(0) = 0, NaN stays NaN) */
static const char *s_atan(s_cv_t *cv, const char *x)
{
    s_note(cv, "cauchit: the arctangent is built from double core operators (ONNX Runtime has Atan in "
               "float only): within 2.3e-16 of libm over [-40, 40], a few ulps, not bit-exact.");
    const char *ax = OP1("Abs", x);
    const char *is_inv = OP2("Greater", ax, s_k(cv, 1));
    const char *r = OP3("Where", is_inv, OP2("Div", s_k(cv, 1), ax), ax);
    const char *h = OP2("Div", r, OP2("Add", s_k(cv, 1), OP1("Sqrt", OP2("Add", s_k(cv, 1), OP2("Mul", r, r)))));
    const char *h2 = OP2("Mul", h, h);
    const char *d = OP2("Add", s_k(cv, 1), h2);
    const char *y = OP2("Div", h2, d);
    const char *t = OP2("Div", h, d), *sum = t;
    for (int n = 0; n < S_ATAN_EULER_TERMS; n++) {
        t = OP2("Mul", OP2("Mul", t, y), s_k(cv, (2.0 * n + 2) / (2.0 * n + 3)));
        sum = OP2("Add", sum, t);
    }
    const char *at = OP2("Mul", sum, s_k(cv, 2));
    at = OP3("Where", is_inv, OP2("Sub", s_k(cv, M_PI / 2), at), at);
    return OP2("Mul", OP1("Sign", x), at);
}

/* 0.5 + atan(x) / pi, as the evaluator */
static const char *s_cauchit(s_cv_t *cv, const char *x)
{
    return OP2("Add", s_k(cv, 0.5), OP2("Div", s_atan(cv, x), s_k(cv, M_PI)));
}

/* ---- RegressionModel ------------------------------------------------------------------------ */
static const char *s_regnorm(s_cv_t *cv, const ferry_pmml_model_t *m, int norm, const char *y)
{
    switch (norm) {
    case FERRY_PMML_NORM_NONE: return y;
    case FERRY_PMML_NORM_SOFTMAX:
    case FERRY_PMML_NORM_LOGIT:
        /* 1 / (1 + exp(-y)), the evaluator's formula (not Sigmoid, whose kernels differ) */
        return OP2("Div", s_k(cv, 1), OP2("Add", s_k(cv, 1), OP1("Exp", OP1("Neg", y))));
    case FERRY_PMML_NORM_EXP: return OP1("Exp", y);
    case FERRY_PMML_NORM_CLOGLOG: return OP2("Sub", s_k(cv, 1), OP1("Exp", OP1("Neg", OP1("Exp", y))));
    case FERRY_PMML_NORM_LOGLOG: return OP1("Exp", OP1("Neg", OP1("Exp", OP1("Neg", y))));
    case FERRY_PMML_NORM_PROBIT: return s_norm_cdf(cv, y);
    case FERRY_PMML_NORM_CAUCHIT: return s_cauchit(cv, y);
    default:
        s_unsup(cv, m->line, "normalizationMethod %s", "simplemax");
        return NULL;
    }
}

/* The linear part: [N, T] = X[N, K] x W[K, T] + b, with X the union of all tables' terms.
 * A missing input of any table makes every table NaN (the evaluator gives no prediction). */
static const char *s_regression_linear(s_cv_t *cv, const ferry_pmml_model_t *m)
{
    const ferry_pmml_t *p = cv->p;
    const ferry_pmml_regression_t *r = &m->u.regression;
    int32_t nt = r->n_tables;
    size_t cap = 16, nx = 0;
    const char **cols = ferry_malloc(cap * sizeof *cols);
    double *w = NULL; /* nx x nt, grown per column */
    const char *miss = NULL;
#define S_ADDCOL(val, tbl, coef)                                                                                      \
    do {                                                                                                              \
        if (nx == cap) {                                                                                              \
            cap *= 2;                                                                                                 \
            cols = ferry_reallocarray(cols, cap, sizeof *cols);                                                       \
        }                                                                                                             \
        cols[nx] = (val);                                                                                             \
        w = ferry_reallocarray(w, (nx + 1) * (size_t)nt, sizeof(double));                                             \
        memset(w + nx * (size_t)nt, 0, sizeof(double) * (size_t)nt);                                                  \
        w[nx * (size_t)nt + (size_t)(tbl)] = (coef);                                                                  \
        nx++;                                                                                                         \
    } while (0)
    const char *res = NULL;
    /* column 0 is ones carrying the intercepts: the engine's MatMul then sums in the
     * evaluator's order (intercept first, then each term), bit for bit */
    S_ADDCOL(NULL, 0, r->tables[0].intercept); /* filled once an input gives the batch shape */
    for (int32_t t = 1; t < nt; t++)
        w[t] = r->tables[t].intercept;
    for (int32_t t = 0; t < nt; t++) {
        const ferry_pmml_regtable_t *T = &r->tables[t];
        for (int32_t i = 0; i < T->n_num; i++) {
            const char *x = s_field(cv, T->num_field[i]);
            if (!x)
                goto out;
            if (T->num_exp[i] != 1)
                x = OP2("Pow", x, s_k(cv, T->num_exp[i]));
            S_ADDCOL(x, t, T->num_coef[i]);
        }
        for (int32_t i = 0; i < T->n_cat; i++) {
            const char *x = s_field(cv, T->cat_field[i]);
            if (!x)
                goto out;
            miss = s_or(cv, miss, s_isnan(cv, x));
            S_ADDCOL(s_bool(cv, OP2("Equal", x, s_k(cv, s_vnum(&T->cat_value[i])))), t, T->cat_coef[i]);
        }
        for (int32_t k = 0; k < T->n_terms; k++) {
            const char *prod = NULL;
            for (int32_t j = 0; j < T->term_n[k]; j++) {
                const char *x = s_field(cv, p->int_pool[T->term_off[k] + j]);
                if (!x)
                    goto out;
                prod = prod ? OP2("Mul", prod, x) : x;
            }
            if (prod)
                S_ADDCOL(prod, t, T->term_coef[k]);
        }
    }
    if (!(cols[0] = s_bcast(cv, s_k(cv, 1))))
        goto out;
    {
        int64_t wd[] = {(int64_t)nx, nt};
        const char *wk = ferry_cg_const_f64(&cv->g, w, wd, 2);
        res = OP2("MatMul", nx == 1 ? cols[0] : s_concat(cv, cols, nx), wk);
    }
    if (miss)
        res = s_nan_if(cv, miss, res);
out:
#undef S_ADDCOL
    free(cols);
    free(w);
    return cv->rc ? NULL : res;
}

static int s_regression(s_cv_t *cv, const ferry_pmml_model_t *m, s_res_t *res)
{
    const ferry_pmml_regression_t *r = &m->u.regression;
    int32_t nt = r->n_tables, nc = m->n_classes;
    if (nt < 1)
        return s_unsup(cv, m->line, "RegressionModel without RegressionTable");
    const char *y = s_regression_linear(cv, m);
    if (!y)
        return cv->rc;
    if (m->function != FERRY_PMML_FN_CLASSIFICATION) {
        res->value = s_regnorm(cv, m, r->normalization, y);
        return cv->rc;
    }
    /* the evaluator's s_normalize_probs, table order */
    const char *probs = NULL;
    int norm = r->normalization;
    if (norm == FERRY_PMML_NORM_SOFTMAX) {
        const char *in[] = {y};
        Onnx__NodeProto *n = ferry_cg_node(&cv->g, "Softmax", NULL, in, 1, NULL);
        ferry_cg_attr_int(n, "axis", 1);
        probs = ferry_cg_out(n);
    } else if (norm == FERRY_PMML_NORM_EXP) {
        probs = OP1("Exp", y);
    } else if (norm == FERRY_PMML_NORM_NONE) {
        probs = y;
    } else if (nt == 2) {
        const char *p0 = s_regnorm(cv, m, norm, s_col(cv, y, 0));
        if (!p0)
            return cv->rc;
        probs = s_concat(cv, (const char *[]){p0, OP2("Sub", s_k(cv, 1), p0)}, 2);
    } else {
        return s_unsup(cv, m->line, "normalizationMethod other than softmax/exp/none with %d RegressionTables", nt);
    }
    /* class order: table t holds class tables[t].class_idx */
    bool is_identity = nt == nc;
    for (int32_t t = 0; t < nt && is_identity; t++)
        is_identity = r->tables[t].class_idx == t;
    if (!is_identity) {
        int64_t *perm = ferry_malloc(sizeof(int64_t) * (size_t)(nc > 0 ? nc : 1));
        for (int32_t k = 0; k < nc; k++) {
            perm[k] = -1;
            for (int32_t t = 0; t < nt; t++)
                if (r->tables[t].class_idx == k)
                    perm[k] = t;
            if (perm[k] < 0) {
                free(perm);
                return s_unsup(cv, m->line, "a class without RegressionTable");
            }
        }
        int64_t d[] = {nc};
        const char *in[] = {probs, ferry_cg_const_i64(&cv->g, perm, d, 1)};
        free(perm);
        Onnx__NodeProto *g = ferry_cg_node(&cv->g, "Gather", NULL, in, 2, NULL);
        ferry_cg_attr_int(g, "axis", 1);
        probs = ferry_cg_out(g);
    }
    res->probs = probs;
    return cv->rc;
}

/* ---- trees ----------------------------------------------------------------------------------- */
#define S_MAX_CHAIN_DEPTH 10000 /* recursion bound while lowering one tree */
#define S_MAX_RESOLVE 64        /* nested compound predicates looked through statically */

typedef struct {
    bool is_leaf;
    int64_t idx;
} s_ref_t;

static void s_forest_free(s_forest_t *F)
{
    free(F->feat);
    free(F->tid);
    free(F->fid);
    free(F->tleaf);
    free(F->fleaf);
    free(F->miss);
    free(F->mode);
    free(F->split);
    free(F->set_off);
    free(F->set_n);
    free(F->members);
    free(F->leaf_target);
    free(F->leaf_weight);
    free(F->roots);
    free(F->row_model);
    free(F->row_node);
    free(F->row_weight);
    free(F->feat_val);
    memset(F, 0, sizeof *F);
}

static int64_t s_feature(s_forest_t *F, const char *val)
{
    for (size_t i = 0; i < F->n_feat; i++)
        if (F->feat_val[i] == val)
            return (int64_t)i;
    F->feat_val = ferry_reallocarray(F->feat_val, F->n_feat + 1, sizeof *F->feat_val);
    F->feat_val[F->n_feat] = val;
    return (int64_t)F->n_feat++;
}

typedef struct {
    s_cv_t *cv;
    s_forest_t *F;
    int32_t mi;          /* the TreeModel */
    int64_t tree;        /* target index of this tree */
    double weight;       /* segment weight folded into the leaf table */
    int depth;
    int8_t *known;       /* per field slot on the path being emitted: 0 ?, 1 present, 2 missing */
} s_tb_t;

static s_ref_t s_leaf(s_tb_t *tb, int32_t node)
{
    s_forest_t *F = tb->F;
    if (F->n_rows == F->cap_rows) {
        F->cap_rows = F->cap_rows ? F->cap_rows * 2 : 256;
        F->row_model = ferry_reallocarray(F->row_model, F->cap_rows, sizeof *F->row_model);
        F->row_node = ferry_reallocarray(F->row_node, F->cap_rows, sizeof *F->row_node);
        F->row_weight = ferry_reallocarray(F->row_weight, F->cap_rows, sizeof *F->row_weight);
    }
    size_t row = F->n_rows++;
    F->row_model[row] = tb->mi;
    F->row_node[row] = node;
    F->row_weight[row] = tb->weight;
    if (F->n_leaves == F->cap_leaves) {
        F->cap_leaves = F->cap_leaves ? F->cap_leaves * 2 : 256;
        F->leaf_target = ferry_reallocarray(F->leaf_target, F->cap_leaves, sizeof *F->leaf_target);
        F->leaf_weight = ferry_reallocarray(F->leaf_weight, F->cap_leaves, sizeof *F->leaf_weight);
    }
    F->leaf_target[F->n_leaves] = tb->tree;
    F->leaf_weight[F->n_leaves] = (double)row;
    return (s_ref_t){true, (int64_t)F->n_leaves++};
}

static s_ref_t s_split(s_tb_t *tb, int64_t feat, int mode, double thr, bool is_miss_true, s_ref_t t, s_ref_t f)
{
    s_forest_t *F = tb->F;
    if (F->n >= FERRY_CONVERT_MAX_TREE_NODES) {
        s_unsup(tb->cv, tb->cv->p->models[tb->mi].line, "a TreeModel expanding to more than %d ONNX tree nodes",
                FERRY_CONVERT_MAX_TREE_NODES);
        return (s_ref_t){true, 0};
    }
    if (F->n == F->cap) {
        F->cap = F->cap ? F->cap * 2 : 256;
        F->feat = ferry_reallocarray(F->feat, F->cap, sizeof(int64_t));
        F->tid = ferry_reallocarray(F->tid, F->cap, sizeof(int64_t));
        F->fid = ferry_reallocarray(F->fid, F->cap, sizeof(int64_t));
        F->tleaf = ferry_reallocarray(F->tleaf, F->cap, sizeof(int64_t));
        F->fleaf = ferry_reallocarray(F->fleaf, F->cap, sizeof(int64_t));
        F->miss = ferry_reallocarray(F->miss, F->cap, sizeof(int64_t));
        F->mode = ferry_reallocarray(F->mode, F->cap, sizeof(int64_t));
        F->split = ferry_reallocarray(F->split, F->cap, sizeof(double));
        F->set_off = ferry_reallocarray(F->set_off, F->cap, sizeof(int64_t));
        F->set_n = ferry_reallocarray(F->set_n, F->cap, sizeof(int64_t));
    }
    size_t i = F->n++;
    F->feat[i] = feat;
    F->mode[i] = mode;
    F->split[i] = thr;
    F->miss[i] = is_miss_true;
    F->set_off[i] = 0;
    F->set_n[i] = 0;
    F->tid[i] = t.idx;
    F->tleaf[i] = t.is_leaf;
    F->fid[i] = f.idx;
    F->fleaf[i] = f.is_leaf;
    return (s_ref_t){false, (int64_t)i};
}

/* A guard: value present -> present, missing -> missing (x <= +inf is false only for NaN). */
static s_ref_t s_guard(s_tb_t *tb, int64_t feat, s_ref_t present, s_ref_t missing)
{
    return s_split(tb, feat, S_LEQ, INFINITY, false, present, missing);
}

/* x in {vals}: one BRANCH_MEMBER node (a chain of equal tests would copy the subtree) */
static s_ref_t s_member(s_tb_t *tb, int64_t feat, const ferry_pmml_value_t *vals, int32_t n, bool is_miss_true,
                        s_ref_t t, s_ref_t f)
{
    s_forest_t *F = tb->F;
    s_ref_t r = s_split(tb, feat, S_MEMBER, NAN, is_miss_true, t, f);
    if (r.is_leaf)
        return r;
    F->members = ferry_reallocarray(F->members, F->n_members + (size_t)n + 1, sizeof(double));
    F->set_off[r.idx] = (int64_t)F->n_members;
    F->set_n[r.idx] = n;
    for (int32_t k = 0; k < n; k++)
        F->members[F->n_members++] = s_vnum(&vals[k]);
    return r;
}

static s_ref_t s_subtree(s_tb_t *tb, int32_t node);
static s_ref_t s_chain(s_tb_t *tb, int32_t parent, int32_t i);

/* Where an outcome of a predicate leads. Outcomes are emitted afresh at each use (a leaf
 * is reached from one place only), so they are descriptions, built on the stack while
 * the predicate below them is lowered. */
typedef enum { S_GO_SUBTREE, S_GO_CHAIN, S_GO_LEAF, S_GO_REST } s_go_kind_t;
typedef struct s_go {
    s_go_kind_t kind;
    int32_t a, b;              /* SUBTREE: node a; CHAIN: parent a, child index b; LEAF: node a (-1 null);
                                  REST: compound predicate a, from its child b */
    const struct s_go *t, *f, *u; /* REST: the compound's own outcomes */
} s_go_t;

static s_ref_t s_cond(s_tb_t *tb, int32_t pred, const s_go_t *t, const s_go_t *f, const s_go_t *u);

static bool s_go_eq(const s_go_t *x, const s_go_t *y)
{
    return x == y || (x->kind == y->kind && x->kind != S_GO_REST && x->a == y->a && x->b == y->b);
}

static s_ref_t s_emit(s_tb_t *tb, const s_go_t *g);

/* three-valued AND / OR / surrogate over the compound's children from index `from` */
static s_ref_t s_compound(s_tb_t *tb, int32_t pred, int32_t from, const s_go_t *t, const s_go_t *f, const s_go_t *u)
{
    const ferry_pmml_t *p = tb->cv->p;
    const ferry_pmml_pred_t *pr = &p->preds[pred];
    if (from >= pr->n) /* empty rest: AND -> true, OR -> false, surrogate -> unknown */
        return s_emit(tb, pr->op == FERRY_PMML_BOOL_AND ? t : pr->op == FERRY_PMML_BOOL_OR ? f : u);
    int32_t kid = p->int_pool[pr->off + from];
    s_go_t rest = {S_GO_REST, pred, from + 1, t, f, u};
    switch (pr->op) {
    case FERRY_PMML_BOOL_AND: {
        /* kid true -> rest; false -> false; unknown -> rest, whose "true" becomes unknown */
        s_go_t rest_u = {S_GO_REST, pred, from + 1, u, f, u};
        return s_cond(tb, kid, &rest, f, &rest_u);
    }
    case FERRY_PMML_BOOL_OR: {
        s_go_t rest_u = {S_GO_REST, pred, from + 1, t, u, u};
        return s_cond(tb, kid, t, &rest, &rest_u);
    }
    case FERRY_PMML_BOOL_SURROGATE: return s_cond(tb, kid, t, f, &rest);
    default:
        s_unsup(tb->cv, p->models[tb->mi].line, "a CompoundPredicate xor in a TreeModel node");
        return (s_ref_t){true, 0};
    }
}

static s_ref_t s_emit(s_tb_t *tb, const s_go_t *g)
{
    switch (g->kind) {
    case S_GO_SUBTREE: return s_subtree(tb, g->a);
    case S_GO_CHAIN: return s_chain(tb, g->a, g->b);
    case S_GO_LEAF: return s_leaf(tb, g->a);
    default: return s_compound(tb, g->a, g->b, g->t, g->f, g->u);
    }
}

/* Where outcome g leads when field `slot` is missing, decided statically where g is the
 * rest of a CompoundPredicate over that field only (KNIME writes "x <= t or x is missing"):
 * lets the split on x track missing values to one branch instead of copying a subtree. */
static const s_go_t *s_resolve_missing(s_tb_t *tb, const s_go_t *g, int32_t slot, int budget)
{
    const ferry_pmml_t *p = tb->cv->p;
    if (g->kind != S_GO_REST || budget <= 0)
        return g;
    const ferry_pmml_pred_t *pr = &p->preds[g->a];
    const s_go_t *t = g->t, *f = g->f, *u = g->u;
    for (int32_t k = g->b; k < pr->n; k++) {
        const ferry_pmml_pred_t *kid = &p->preds[p->int_pool[pr->off + k]];
        int v; /* 1 true, 0 false, 2 unknown */
        if (kid->kind == FERRY_PMML_PR_TRUE)
            v = 1;
        else if (kid->kind == FERRY_PMML_PR_FALSE)
            v = 0;
        else if ((kid->kind == FERRY_PMML_PR_SIMPLE || kid->kind == FERRY_PMML_PR_SET) && kid->field == slot)
            v = kid->kind == FERRY_PMML_PR_SIMPLE && kid->op == FERRY_PMML_CMP_ISMISSING      ? 1
                : kid->kind == FERRY_PMML_PR_SIMPLE && kid->op == FERRY_PMML_CMP_ISNOTMISSING ? 0
                                                                                              : 2;
        else
            return g;
        if (pr->op == FERRY_PMML_BOOL_AND) {
            if (v == 0)
                return s_resolve_missing(tb, f, slot, budget - 1);
            if (v == 2)
                t = u;
        } else if (pr->op == FERRY_PMML_BOOL_OR) {
            if (v == 1)
                return s_resolve_missing(tb, t, slot, budget - 1);
            if (v == 2)
                f = u;
        } else if (pr->op == FERRY_PMML_BOOL_SURROGATE) {
            if (v != 2)
                return s_resolve_missing(tb, v ? t : f, slot, budget - 1);
        } else {
            return g;
        }
    }
    const s_go_t *end = pr->op == FERRY_PMML_BOOL_AND ? t : pr->op == FERRY_PMML_BOOL_OR ? f : u;
    return s_resolve_missing(tb, end, slot, budget - 1);
}

/* Lower predicate `pred`: true -> t, false -> f, unknown (a missing operand) -> u. */
static s_ref_t s_cond(s_tb_t *tb, int32_t pred, const s_go_t *t, const s_go_t *f, const s_go_t *u)
{
    s_cv_t *cv = tb->cv;
    const ferry_pmml_t *p = cv->p;
    const ferry_pmml_model_t *m = &p->models[tb->mi];
    const ferry_pmml_pred_t *pr = &p->preds[pred];
    s_ref_t none = {true, 0};
    if (cv->rc)
        return none;
    if (++tb->depth > S_MAX_CHAIN_DEPTH) {
        s_unsup(cv, m->line, "a TreeModel nested deeper than %d nodes, siblings and predicates", S_MAX_CHAIN_DEPTH);
        return none;
    }
    s_ref_t r = none;
    switch (pr->kind) {
    case FERRY_PMML_PR_TRUE: r = s_emit(tb, t); break;
    case FERRY_PMML_PR_FALSE: r = s_emit(tb, f); break;
    case FERRY_PMML_PR_COMPOUND: r = s_compound(tb, pred, 0, t, f, u); break;
    case FERRY_PMML_PR_SIMPLE:
    case FERRY_PMML_PR_SET: {
        const char *x = s_field(cv, pr->field);
        if (!x)
            return none;
        int64_t fi = s_feature(tb->F, x);
        /* what this path already knows of the field: 0 nothing, 1 present, 2 missing */
        int8_t *known = &tb->known[pr->field], saved = *known;
        if (pr->kind == FERRY_PMML_PR_SIMPLE &&
            (pr->op == FERRY_PMML_CMP_ISMISSING || pr->op == FERRY_PMML_CMP_ISNOTMISSING)) {
            bool is_m = pr->op == FERRY_PMML_CMP_ISMISSING;
            if (saved) {
                r = s_emit(tb, (saved == 2) == is_m ? t : f);
                break;
            }
            *known = 1;
            s_ref_t present = s_emit(tb, is_m ? f : t);
            *known = 2;
            s_ref_t missing = s_emit(tb, is_m ? t : f);
            *known = saved;
            r = s_guard(tb, fi, present, missing);
            break;
        }
        if (saved == 2) { /* a comparison with a missing value is unknown */
            r = s_emit(tb, u);
            break;
        }
        if (pr->kind == FERRY_PMML_PR_SIMPLE && p->fields[pr->field].datatype == FERRY_PMML_DT_STRING &&
            pr->op != FERRY_PMML_CMP_EQ && pr->op != FERRY_PMML_CMP_NE) {
            s_unsup(cv, m->line, "an ordering comparison (lessThan...) on the string field \"%s\"",
                    p->fields[pr->field].name);
            return none;
        }
        if (pr->kind == FERRY_PMML_PR_SET && (pr->n < 1 || pr->n > 256)) {
            s_unsup(cv, m->line, "a SimpleSetPredicate with %d values", pr->n);
            return none;
        }
        /* NaN fails every mode but "not equal": a missing operand reaches the false
         * branch, or the true branch where nodes_missing_value_tracks_true is set;
         * otherwise a guard sends it to the unknown outcome first */
        bool is_negated = (pr->kind == FERRY_PMML_PR_SIMPLE && pr->op == FERRY_PMML_CMP_NE) ||
                          (pr->kind == FERRY_PMML_PR_SET && pr->op == 1);
        const s_go_t *yes = is_negated ? f : t, *no = is_negated ? t : f; /* outcomes of "equal" */
        const s_go_t *ur = saved == 1 ? NULL : s_resolve_missing(tb, u, pr->field, S_MAX_RESOLVE);
        bool is_track_true = ur && s_go_eq(ur, yes), is_natural = !ur || s_go_eq(ur, no);
        bool is_guarded = !is_track_true && !is_natural;
        int8_t on_yes = is_track_true ? saved : 1, on_no = is_track_true || is_guarded ? 1 : saved;
        if (pr->kind == FERRY_PMML_PR_SIMPLE && !is_negated) {
            static const int modes[] = {S_EQ, S_NEQ, S_LT, S_LEQ, S_GT, S_GTE};
            *known = on_yes;
            s_ref_t ty = s_emit(tb, t);
            *known = on_no;
            s_ref_t tn = s_emit(tb, f);
            r = s_split(tb, fi, modes[pr->op], s_vnum(&pr->value), is_track_true, ty, tn);
        } else {
            const ferry_pmml_value_t *vals = pr->kind == FERRY_PMML_PR_SET ? p->value_pool + pr->off : &pr->value;
            int32_t n = pr->kind == FERRY_PMML_PR_SET ? pr->n : 1;
            *known = on_no;
            s_ref_t tn = s_emit(tb, no);
            *known = on_yes;
            s_ref_t ty = s_emit(tb, yes);
            r = n == 1 ? s_split(tb, fi, S_EQ, s_vnum(&vals[0]), is_track_true, ty, tn)
                       : s_member(tb, fi, vals, n, is_track_true, ty, tn);
        }
        if (is_guarded) {
            *known = 2;
            r = s_guard(tb, fi, r, s_emit(tb, u));
        }
        *known = saved;
        break;
    }
    default: s_unsup(cv, m->line, "predicate kind #%d in a TreeModel node", pr->kind); return none;
    }
    tb->depth--;
    return r;
}

static bool s_is_plain_pred(const ferry_pmml_pred_t *pr, int32_t field)
{
    if (pr->field != field)
        return false;
    if (pr->kind == FERRY_PMML_PR_SET)
        return pr->op == 0;
    return pr->kind == FERRY_PMML_PR_SIMPLE && pr->op != FERRY_PMML_CMP_NE && pr->op != FERRY_PMML_CMP_ISMISSING &&
           pr->op != FERRY_PMML_CMP_ISNOTMISSING;
}

/* Child i of parent: its predicate true -> its subtree, false -> the next sibling, unknown ->
 * where the tree's missingValueStrategy sends the evaluator (s_eval_tree). */
static s_ref_t s_chain(s_tb_t *tb, int32_t parent, int32_t i)
{
    const ferry_pmml_t *p = tb->cv->p;
    const ferry_pmml_tree_t *t = &p->models[tb->mi].u.tree;
    const ferry_pmml_node_t *pn = &t->nodes[parent];
    if (tb->cv->rc)
        return (s_ref_t){true, 0};
    if (i >= pn->n_children)
        return s_leaf(tb, t->is_no_true_child_last ? parent : -1);
    int32_t child = pn->first_child + i;
    s_go_t on_true = {S_GO_SUBTREE, child, 0, NULL, NULL, NULL};
    s_go_t on_false = {S_GO_CHAIN, parent, i + 1, NULL, NULL, NULL};
    s_go_t on_unknown = on_false;
    switch (t->missing_value_strategy) {
    case FERRY_PMML_MVS_NONE: break;
    case FERRY_PMML_MVS_LAST: on_unknown = (s_go_t){S_GO_LEAF, parent, 0, NULL, NULL, NULL}; break;
    case FERRY_PMML_MVS_NULL: on_unknown = (s_go_t){S_GO_LEAF, -1, 0, NULL, NULL, NULL}; break;
    default: {
        int32_t dc = pn->default_child;
        if (dc < 0) {
            on_unknown = (s_go_t){S_GO_LEAF, parent, 0, NULL, NULL, NULL};
        } else if (dc == child) {
            on_unknown = on_true;
        } else {
            /* the default child further on, every predicate up to it on the same field: a missing
             * value fails them all until the default child's own split tracks it (no copy) */
            const ferry_pmml_pred_t *own = &p->preds[t->nodes[child].pred];
            bool is_same_field = own->kind == FERRY_PMML_PR_SIMPLE || own->kind == FERRY_PMML_PR_SET;
            is_same_field = is_same_field && dc > child && dc < pn->first_child + pn->n_children;
            for (int32_t j = child + 1; j <= dc && is_same_field; j++)
                is_same_field = s_is_plain_pred(&p->preds[t->nodes[j].pred], own->field);
            if (!is_same_field)
                on_unknown = (s_go_t){S_GO_SUBTREE, dc, 0, NULL, NULL, NULL};
        }
        break;
    }
    }
    return s_cond(tb, t->nodes[child].pred, &on_true, &on_false, &on_unknown);
}

static s_ref_t s_subtree(s_tb_t *tb, int32_t node)
{
    const ferry_pmml_tree_t *t = &tb->cv->p->models[tb->mi].u.tree;
    if (!t->nodes[node].n_children)
        return s_leaf(tb, node);
    return s_chain(tb, node, 0);
}

/* Add TreeModel mi as tree number F->n_roots. */
static int s_forest_add(s_cv_t *cv, s_forest_t *F, int32_t mi, double weight)
{
    const ferry_pmml_model_t *m = &cv->p->models[mi];
    const ferry_pmml_tree_t *t = &m->u.tree;
    if (t->n_nodes < 1)
        return s_unsup(cv, m->line, "a TreeModel without Node");
    if (cv->p->preds[t->nodes[0].pred].kind != FERRY_PMML_PR_TRUE)
        return s_unsup(cv, m->line, "a TreeModel whose root Node predicate is not True");
    s_tb_t tb = {.cv = cv, .F = F, .mi = mi, .tree = (int64_t)F->n_roots, .weight = weight};
    tb.known = ferry_calloc((size_t)cv->p->n_fields + 1, 1);
    s_ref_t r = s_subtree(&tb, 0);
    free(tb.known);
    if (cv->rc)
        return cv->rc;
    if (r.is_leaf) { /* a one-leaf tree still needs a root node: both branches reach copies of the leaf */
        F->leaf_target = ferry_reallocarray(F->leaf_target, F->n_leaves + 1, sizeof *F->leaf_target);
        F->leaf_weight = ferry_reallocarray(F->leaf_weight, F->n_leaves + 1, sizeof *F->leaf_weight);
        F->cap_leaves = F->n_leaves + 1;
        F->leaf_target[F->n_leaves] = F->leaf_target[r.idx];
        F->leaf_weight[F->n_leaves] = F->leaf_weight[r.idx];
        s_ref_t copy = {true, (int64_t)F->n_leaves++};
        r = s_split(&tb, 0, S_LEQ, 0, false, r, copy);
    }
    F->roots = ferry_reallocarray(F->roots, F->n_roots + 1, sizeof *F->roots);
    F->roots[F->n_roots++] = r.idx;
    return cv->rc;
}

/* Emit the TreeEnsemble: [N, T] double leaf-table rows, as int64. */
static const char *s_forest_emit(s_cv_t *cv, s_forest_t *F)
{
    if (!F->n_feat) { /* trees that test nothing: any input column will do */
        if (!cv->n_in) {
            s_unsup(cv, 0, "a model whose values do not depend on any input field");
            return NULL;
        }
        s_feature(F, cv->slot_val[cv->in_slots[0]]);
    }
    const char *X = F->n_feat == 1 ? F->feat_val[0] : s_concat(cv, F->feat_val, F->n_feat);
    const char *in[] = {X};
    Onnx__NodeProto *n = ferry_cg_node(&cv->g, "TreeEnsemble", "ai.onnx.ml", in, 1, NULL);
    ferry_cg_attr_ints(n, "nodes_featureids", F->feat, F->n);
    ferry_cg_attr_ints(n, "nodes_truenodeids", F->tid, F->n);
    ferry_cg_attr_ints(n, "nodes_trueleafs", F->tleaf, F->n);
    ferry_cg_attr_ints(n, "nodes_falsenodeids", F->fid, F->n);
    ferry_cg_attr_ints(n, "nodes_falseleafs", F->fleaf, F->n);
    ferry_cg_attr_ints(n, "nodes_missing_value_tracks_true", F->miss, F->n);
    uint8_t *modes = ferry_malloc(F->n + 1);
    for (size_t i = 0; i < F->n; i++)
        modes[i] = (uint8_t)F->mode[i];
    int64_t d[] = {(int64_t)F->n};
    ferry_cg_attr_tensor(n, "nodes_modes", ferry_cg_tensor_u8(modes, d, 1));
    free(modes);
    ferry_cg_attr_tensor(n, "nodes_splits", ferry_cg_tensor_f64(F->split, d, 1));
    int64_t dl[] = {(int64_t)F->n_leaves};
    if (F->n_members) { /* in node order, each set closed by NaN */
        double *mv = ferry_malloc(sizeof(double) * (F->n_members + F->n + 1));
        size_t k = 0;
        for (size_t i = 0; i < F->n; i++) {
            if (F->mode[i] != S_MEMBER)
                continue;
            for (int64_t j = 0; j < F->set_n[i]; j++)
                mv[k++] = F->members[F->set_off[i] + j];
            mv[k++] = NAN;
        }
        int64_t dm[] = {(int64_t)k};
        ferry_cg_attr_tensor(n, "membership_values", ferry_cg_tensor_f64(mv, dm, 1));
        free(mv);
    }
    ferry_cg_attr_ints(n, "leaf_targetids", F->leaf_target, F->n_leaves);
    ferry_cg_attr_tensor(n, "leaf_weights", ferry_cg_tensor_f64(F->leaf_weight, dl, 1));
    ferry_cg_attr_ints(n, "tree_roots", F->roots, F->n_roots);
    ferry_cg_attr_int(n, "n_targets", (int64_t)F->n_roots);
    ferry_cg_attr_int(n, "aggregate_function", 1);
    ferry_cg_attr_int(n, "post_transform", 0);
    return s_cast(cv, ferry_cg_out(n), S_ONNX_INT64);
}

/* leaf table of kind: 0 regression score, 1 class distribution, 2 vote (one-hot of the
 * node's class), 3 class index. Rows of null leaves are NaN. */
enum { S_TAB_SCORE = 0, S_TAB_PROBS, S_TAB_VOTE, S_TAB_CLASS };

static const char *s_forest_table(s_cv_t *cv, const s_forest_t *F, int kind, int32_t top_mi, const int32_t *seg_map_off)
{
    const ferry_pmml_t *p = cv->p;
    int32_t nc = kind == S_TAB_PROBS || kind == S_TAB_VOTE ? p->models[top_mi].n_classes : 1;
    size_t rows = F->n_rows;
    double *tab = ferry_malloc(sizeof(double) * rows * (size_t)nc + 1);
    for (size_t r = 0; r < rows; r++) {
        double *row = tab + r * (size_t)nc;
        int32_t node = F->row_node[r];
        const ferry_pmml_model_t *m = &p->models[F->row_model[r]];
        const ferry_pmml_node_t *n = node >= 0 ? &m->u.tree.nodes[node] : NULL;
        const int32_t *map = seg_map_off ? p->int_pool + seg_map_off[r] : NULL;
        double w = F->row_weight[r];
        for (int32_t k = 0; k < nc; k++)
            row[k] = NAN;
        if (!n)
            continue;
        switch (kind) {
        case S_TAB_SCORE:
            if (n->has_score)
                row[0] = w == 1 ? n->score : w * n->score;
            break;
        case S_TAB_CLASS:
            if (n->has_score)
                row[0] = n->score_class;
            else if (n->dist_off >= 0) {
                const double *d = p->num_pool + n->dist_off;
                int32_t best = -1;
                for (int32_t k = 0; k < m->n_classes; k++)
                    if (!isnan(d[k]) && (best < 0 || d[k] > d[best]))
                        best = k;
                row[0] = best >= 0 ? best : NAN;
            }
            break;
        case S_TAB_PROBS:
            if (n->dist_off < 0 && !n->has_score)
                break;
            for (int32_t k = 0; k < nc; k++)
                row[k] = 0;
            for (int32_t k = 0; k < m->n_classes; k++) {
                double v = n->dist_off >= 0 ? p->num_pool[n->dist_off + k] : (k == n->score_class ? 1 : 0);
                int32_t to = map ? map[k] : k;
                if (to >= 0 && to < nc)
                    row[to] = w == 1 ? v : w * v;
            }
            break;
        default: /* vote */
            if (!n->has_score)
                break;
            for (int32_t k = 0; k < nc; k++)
                row[k] = 0;
            {
                int32_t to = map ? map[n->score_class] : n->score_class;
                if (to >= 0 && to < nc)
                    row[to] = w;
            }
            break;
        }
    }
    int64_t d[] = {(int64_t)rows, nc};
    const char *t = ferry_cg_const_f64(&cv->g, tab, d, kind == S_TAB_PROBS || kind == S_TAB_VOTE ? 2 : 1);
    free(tab);
    return t;
}

/* Gather rows of table by leaf rows [N, T] and sum over the trees (tree order). */
static const char *s_forest_sum(s_cv_t *cv, const char *leaf_rows, const char *table, bool is_matrix)
{
    const char *gathered = OP2("Gather", table, leaf_rows);
    int64_t ax = 1, d[] = {1};
    const char *in[] = {gathered, ferry_cg_const_i64(&cv->g, &ax, d, 1)};
    Onnx__NodeProto *n = ferry_cg_node(&cv->g, "ReduceSum", NULL, in, 2, NULL);
    ferry_cg_attr_int(n, "keepdims", is_matrix ? 0 : 1);
    return ferry_cg_out(n);
}

static int s_tree(s_cv_t *cv, int32_t mi, const ferry_pmml_model_t *m, s_res_t *res)
{
    s_forest_t F = {0};
    if (s_forest_add(cv, &F, mi, 1) == 0) {
        const char *rows = s_forest_emit(cv, &F);
        if (rows && m->function == FERRY_PMML_FN_CLASSIFICATION) {
            res->probs = s_forest_sum(cv, rows, s_forest_table(cv, &F, S_TAB_PROBS, mi, NULL), true);
            res->cls = s_forest_sum(cv, rows, s_forest_table(cv, &F, S_TAB_CLASS, mi, NULL), false);
        } else if (rows && m->function == FERRY_PMML_FN_REGRESSION) {
            res->value = s_forest_sum(cv, rows, s_forest_table(cv, &F, S_TAB_SCORE, mi, NULL), false);
        } else if (rows) {
            s_unsup(cv, m->line, "a TreeModel of functionName other than regression/classification");
        }
    }
    s_forest_free(&F);
    return cv->rc;
}

/* ---- Scorecard and RuleSetModel (firstHit): predicates as three-valued tensors ---------------
 * A predicate becomes two [N, 1] doubles, t (1: true) and u (1: unknown, a missing operand),
 * 0/1 valued so AND, OR, XOR and surrogate are exact products and sums (the evaluator's
 * s_pred, case by case). A first-hit list (the attributes of a characteristic, the rules of
 * a rule set) is then the first column holding 1 in [t_0 .. t_n-1, 1]: ArgMax keeps the
 * first maximum, and index n means none holds. Trees lower predicates into TreeEnsemble
 * branches instead; a list of multi-predicate items would copy the rest of the list once
 * per predicate there, this stays linear. */
#define S_MAX_PRED_DEPTH 64 /* nested CompoundPredicates lowered */
#define S_MAX_SET_VALUES 256

typedef struct {
    const char *t, *u; /* 0/1 doubles, [N, 1], or [1, 1] constants when is_const */
    bool is_const;
} s_tv_t;

static const char *s_not01(s_cv_t *cv, const char *x)
{
    return OP2("Sub", s_k(cv, 1), x);
}

static bool s_tv(s_cv_t *cv, const ferry_pmml_model_t *m, int32_t pred, int depth, s_tv_t *out)
{
    const ferry_pmml_t *p = cv->p;
    const ferry_pmml_pred_t *pr = &p->preds[pred];
    if (cv->rc)
        return false;
    if (depth > S_MAX_PRED_DEPTH) {
        s_unsup(cv, m->line, "CompoundPredicates nested deeper than %d", S_MAX_PRED_DEPTH);
        return false;
    }
    switch (pr->kind) {
    case FERRY_PMML_PR_TRUE:
    case FERRY_PMML_PR_FALSE:
        *out = (s_tv_t){s_k(cv, pr->kind == FERRY_PMML_PR_TRUE), s_k(cv, 0), true};
        return true;
    case FERRY_PMML_PR_SIMPLE:
    case FERRY_PMML_PR_SET: {
        const char *x = s_field(cv, pr->field);
        if (!x)
            return false;
        bool is_string = p->fields[pr->field].datatype == FERRY_PMML_DT_STRING;
        const char *miss = s_bool(cv, s_isnan(cv, x));
        if (pr->kind == FERRY_PMML_PR_SIMPLE &&
            (pr->op == FERRY_PMML_CMP_ISMISSING || pr->op == FERRY_PMML_CMP_ISNOTMISSING)) {
            *out = (s_tv_t){pr->op == FERRY_PMML_CMP_ISMISSING ? miss : s_not01(cv, miss), s_k(cv, 0), false};
            return true;
        }
        const char *hit = NULL;
        if (pr->kind == FERRY_PMML_PR_SIMPLE) {
            static const char *const ops[] = {"Equal", "Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual"};
            if (is_string && pr->op != FERRY_PMML_CMP_EQ && pr->op != FERRY_PMML_CMP_NE) {
                s_unsup(cv, m->line, "an ordering comparison (lessThan...) on the string field \"%s\"",
                        p->fields[pr->field].name);
                return false;
            }
            if (!is_string && pr->value.kind != FERRY_PMML_NUM) {
                s_unsup(cv, m->line, "a comparison of the numeric field \"%s\" with a non-number",
                        p->fields[pr->field].name);
                return false;
            }
            hit = s_bool(cv, OP2(ops[pr->op], x, s_k(cv, s_vnum(&pr->value))));
            if (pr->op == FERRY_PMML_CMP_NE)
                hit = s_not01(cv, hit);
        } else {
            if (pr->n < 1 || pr->n > S_MAX_SET_VALUES) {
                s_unsup(cv, m->line, "a SimpleSetPredicate with %d values", pr->n);
                return false;
            }
            const char *any = NULL;
            for (int32_t k = 0; k < pr->n; k++) {
                const ferry_pmml_value_t *v = &p->value_pool[pr->off + k];
                if (!is_string && v->kind != FERRY_PMML_NUM) {
                    s_unsup(cv, m->line, "a set of the numeric field \"%s\" holding a non-number",
                            p->fields[pr->field].name);
                    return false;
                }
                any = s_or(cv, any, OP2("Equal", x, s_k(cv, s_vnum(v))));
            }
            hit = s_bool(cv, any);
            if (pr->op != 0)
                hit = s_not01(cv, hit);
        }
        /* a missing operand: unknown, never true (NaN != v is true in ONNX) */
        *out = (s_tv_t){OP2("Mul", hit, s_not01(cv, miss)), miss, false};
        return true;
    }
    case FERRY_PMML_PR_COMPOUND: {
        int op = pr->op;
        if (op != FERRY_PMML_BOOL_AND && op != FERRY_PMML_BOOL_OR && op != FERRY_PMML_BOOL_XOR &&
            op != FERRY_PMML_BOOL_SURROGATE) {
            s_unsup(cv, m->line, "CompoundPredicate booleanOperator #%d", op);
            return false;
        }
        int32_t n = pr->n;
        s_tv_t *kid = ferry_calloc((size_t)n + 1, sizeof *kid);
        bool is_const = true;
        for (int32_t i = 0; i < n; i++) {
            if (!s_tv(cv, m, p->int_pool[pr->off + i], depth + 1, &kid[i])) {
                free(kid);
                return false;
            }
            is_const &= kid[i].is_const;
        }
        const char *t, *u;
        if (op == FERRY_PMML_BOOL_AND || op == FERRY_PMML_BOOL_OR) {
            /* AND: true if all true, false if any false, else unknown; OR the dual */
            bool is_and = op == FERRY_PMML_BOOL_AND;
            const char *all = s_k(cv, 1), *any = s_k(cv, 0); /* all kids decisive one way, any the other */
            for (int32_t i = 0; i < n; i++) {
                const char *f = s_not01(cv, OP2("Add", kid[i].t, kid[i].u));
                all = OP2("Mul", all, is_and ? kid[i].t : f);
                any = OP2("Max", any, is_and ? f : kid[i].t);
            }
            t = is_and ? all : any;
            const char *fl = is_and ? any : all;
            u = OP2("Mul", s_not01(cv, t), s_not01(cv, fl));
        } else if (op == FERRY_PMML_BOOL_XOR) {
            /* unknown if any kid is; else the parity: a xor b = a + b - 2ab */
            const char *par = s_k(cv, 0), *unk = s_k(cv, 0);
            for (int32_t i = 0; i < n; i++) {
                par = OP2("Sub", OP2("Add", par, kid[i].t), OP2("Mul", s_k(cv, 2), OP2("Mul", par, kid[i].t)));
                unk = OP2("Max", unk, kid[i].u);
            }
            t = OP2("Mul", par, s_not01(cv, unk));
            u = unk;
        } else {
            /* surrogate: the first kid that is not unknown decides; all unknown: unknown */
            t = s_k(cv, 0);
            u = s_k(cv, n ? 1 : 0); /* no kid at all: false, as the evaluator */
            for (int32_t i = n - 1; i >= 0; i--) {
                t = OP2("Add", kid[i].t, OP2("Mul", kid[i].u, t));
                u = OP2("Mul", kid[i].u, u);
            }
        }
        free(kid);
        *out = (s_tv_t){t, u, is_const};
        return true;
    }
    default: s_unsup(cv, m->line, "predicate kind #%d", pr->kind); return false;
    }
}

/* The first item of a first-hit list whose predicates (item_n[i] of them from
 * item_preds[item_off[i]], all must be true) hold: int64 [N, 1] in 0..n, n = none. */
static const char *s_first_hit(s_cv_t *cv, const ferry_pmml_model_t *m, int32_t n, const int32_t *item_off,
                               const int32_t *item_n, const int32_t *item_preds)
{
    const char **cols = ferry_calloc((size_t)n + 2, sizeof *cols);
    const char *idx = NULL;
    for (int32_t i = 0; i < n; i++) {
        const char *all = s_k(cv, 1);
        bool is_const = true;
        for (int32_t j = 0; j < item_n[i]; j++) {
            s_tv_t tv;
            if (!s_tv(cv, m, item_preds[item_off[i] + j], 0, &tv))
                goto out;
            all = OP2("Mul", all, tv.t); /* unknown counts as not holding: the evaluator's "!= S_TRUE" */
            is_const &= tv.is_const;
        }
        cols[i] = is_const ? s_bcast(cv, all) : all;
        if (!cols[i])
            goto out;
    }
    if (!(cols[n] = s_bcast(cv, s_k(cv, 1))))
        goto out;
    const char *in[] = {n ? s_concat(cv, cols, (size_t)n + 1) : cols[0]};
    Onnx__NodeProto *am = ferry_cg_node(&cv->g, "ArgMax", NULL, in, 1, NULL);
    ferry_cg_attr_int(am, "axis", 1);
    ferry_cg_attr_int(am, "keepdims", 1);
    idx = ferry_cg_out(am);
out:
    free(cols);
    return idx;
}

/* Scorecard: per Characteristic the first Attribute that holds; score = initialScore +
 * each partial score in Characteristic order, added one by one as the evaluator does (bit
 * for bit). A Characteristic with no Attribute holding fails the row in the evaluator:
 * here its partial score is NaN and the row is marked invalid (row_valid). Reason codes
 * change no score; OutputFields asking for them are refused by name. */
static int s_scorecard(s_cv_t *cv, const ferry_pmml_model_t *m, s_res_t *res)
{
    const ferry_pmml_scorecard_t *sc = &m->u.scorecard;
    if (m->function != FERRY_PMML_FN_REGRESSION)
        return s_unsup(cv, m->line, "a Scorecard of functionName other than regression");
    if (sc->n_chars < 1)
        return s_unsup(cv, m->line, "a Scorecard without Characteristic");
    const char *score = s_k(cv, sc->initial_score);
    for (int32_t c = 0; c < sc->n_chars && !cv->rc; c++) {
        const ferry_pmml_characteristic_t *ch = &sc->chars[c];
        int32_t na = ch->n_attributes;
        int32_t *off = ferry_calloc((size_t)na + 1, sizeof(int32_t));
        int32_t *one = ferry_calloc((size_t)na + 1, sizeof(int32_t));
        int32_t *preds = ferry_calloc((size_t)na + 1, sizeof(int32_t));
        double *partial = ferry_malloc(sizeof(double) * ((size_t)na + 1));
        for (int32_t a = 0; a < na; a++) {
            off[a] = a;
            one[a] = 1;
            preds[a] = sc->attrs[ch->attr_off + a].pred;
            partial[a] = sc->attrs[ch->attr_off + a].partial_score;
        }
        partial[na] = NAN; /* no Attribute holds */
        const char *idx = s_first_hit(cv, m, na, off, one, preds);
        if (idx) {
            int64_t d[] = {(int64_t)na + 1};
            score = OP2("Add", score, OP2("Gather", ferry_cg_const_f64(&cv->g, partial, d, 1), idx));
        }
        free(off);
        free(one);
        free(preds);
        free(partial);
    }
    if (cv->rc)
        return cv->rc;
    cv->invalid = ferry_reallocarray(cv->invalid, cv->n_invalid + 1, sizeof *cv->invalid);
    cv->invalid[cv->n_invalid++] = s_isnan(cv, score);
    res->value = score;
    return cv->rc;
}

/* RuleSetModel, criterion firstHit: the SimpleRules (CompoundRules flattened by the parser,
 * their predicates ANDed) form one first-hit list; the rule that holds gives its class and
 * its ScoreDistribution (else probability 1 for its class); no rule: the default score with
 * its defaultConfidence, or no prediction without a default. */
static int s_ruleset(s_cv_t *cv, const ferry_pmml_model_t *m, s_res_t *res)
{
    const ferry_pmml_t *p = cv->p;
    const ferry_pmml_ruleset_t *rs = &m->u.ruleset;
    int32_t nc = m->n_classes, nr = rs->n_rules;
    if (m->function != FERRY_PMML_FN_CLASSIFICATION)
        return s_unsup(cv, m->line, "a RuleSetModel of functionName other than classification");
    if (rs->criterion != FERRY_PMML_RULE_FIRSTHIT)
        return s_unsup(cv, m->line, "RuleSelectionMethod criterion %s",
                       rs->criterion == FERRY_PMML_RULE_WEIGHTEDSUM ? "weightedSum" : "weightedMax");
    for (int32_t r = 0; r < nr; r++)
        if (rs->rules[r].class_idx < 0 || rs->rules[r].class_idx >= nc)
            return s_unsup(cv, m->line, "a SimpleRule whose score is not a target category (rule %d)", r + 1);
    if (rs->default_class >= nc)
        return s_unsup(cv, m->line, "a RuleSet defaultScore that is not a target category");
    int32_t *off = ferry_calloc((size_t)nr + 1, sizeof(int32_t));
    int32_t *cnt = ferry_calloc((size_t)nr + 1, sizeof(int32_t));
    for (int32_t r = 0; r < nr; r++) {
        off[r] = rs->rules[r].pred_off;
        cnt[r] = rs->rules[r].n_preds;
    }
    const char *idx = s_first_hit(cv, m, nr, off, cnt, p->int_pool);
    free(off);
    free(cnt);
    if (!idx)
        return cv->rc;
    /* tables indexed by rule, the last row for "no rule holds" */
    double *probs = ferry_malloc(sizeof(double) * ((size_t)(nr + 1) * (size_t)nc + 1));
    double *cls = ferry_malloc(sizeof(double) * ((size_t)nr + 1));
    for (int32_t r = 0; r <= nr; r++) {
        double *row = probs + (size_t)r * (size_t)nc;
        const ferry_pmml_rule_t *rule = r < nr ? &rs->rules[r] : NULL;
        int32_t c = rule ? rule->class_idx : rs->default_class;
        for (int32_t k = 0; k < nc; k++)
            row[k] = c >= 0 ? 0 : NAN;
        cls[r] = c >= 0 ? c : NAN;
        if (rule && rule->dist_off >= 0)
            memcpy(row, p->num_pool + rule->dist_off, sizeof(double) * (size_t)nc);
        else if (rule)
            row[c] = 1;
        else if (c >= 0)
            row[c] = rs->default_confidence;
    }
    int64_t dp[] = {(int64_t)nr + 1, nc}, dc[] = {(int64_t)nr + 1};
    res->probs = s_forest_sum(cv, idx, ferry_cg_const_f64(&cv->g, probs, dp, 2), true);
    res->cls = s_forest_sum(cv, idx, ferry_cg_const_f64(&cv->g, cls, dc, 1), false);
    free(probs);
    free(cls);
    return cv->rc;
}

/* ---- NaiveBayesModel -------------------------------------------------------------------------
 * L[N, C] starts at the BayesOutput counts and is multiplied input by input, in the
 * evaluator's order and with its formulas: a Gaussian input by exp(-d*d / (2 var)) /
 * sqrt(2 pi var) per class (the threshold where that is 0 or NaN), a discrete one by the
 * count ratio of the value's row (a table computed here exactly as the evaluator divides);
 * a missing value or one without PairCounts multiplies by 1. Then probabilities L / sum
 * (summed class by class), no prediction when the sum is not positive. */
static int s_bayes(s_cv_t *cv, const ferry_pmml_model_t *m, s_res_t *res)
{
    const ferry_pmml_t *p = cv->p;
    const ferry_pmml_naivebayes_t *b = &m->u.bayes;
    int32_t nc = m->n_classes;
    if (m->function != FERRY_PMML_FN_CLASSIFICATION || nc < 1)
        return s_unsup(cv, m->line, "a NaiveBayesModel that is not a classifier");
    if (b->n_inputs < 1)
        return s_unsup(cv, m->line, "a NaiveBayesModel without BayesInput");
    int64_t row_d[] = {1, nc};
    const char *L = ferry_cg_const_f64(&cv->g, b->class_counts, row_d, 2);
    for (int32_t i = 0; i < b->n_inputs && !cv->rc; i++) {
        const ferry_pmml_bayes_input_t *in = &b->inputs[i];
        const char *x = in->derived_expr >= 0 ? s_expr(cv, in->derived_expr) : s_field(cv, in->field);
        if (!x)
            break;
        const char *factor;
        if (in->is_gaussian) {
            if (in->derived_expr < 0 && (p->fields[in->field].datatype == FERRY_PMML_DT_STRING ||
                                         p->fields[in->field].datatype == FERRY_PMML_DT_BOOLEAN))
                return s_unsup(cv, m->line, "a GaussianDistribution over the non-numeric field \"%s\"",
                               p->fields[in->field].name);
            double *mean = ferry_malloc(sizeof(double) * (size_t)nc);
            double *two_var = ferry_malloc(sizeof(double) * (size_t)nc);
            double *norm = ferry_malloc(sizeof(double) * (size_t)nc);
            for (int32_t c = 0; c < nc; c++) {
                mean[c] = in->mean[c];
                two_var[c] = 2 * in->var[c];
                norm[c] = sqrt(2 * M_PI * in->var[c]);
            }
            const char *d = OP2("Sub", x, ferry_cg_const_f64(&cv->g, mean, row_d, 2));
            const char *pdf = OP2("Div", OP1("Exp", OP2("Div", OP2("Mul", OP1("Neg", d), d),
                                                       ferry_cg_const_f64(&cv->g, two_var, row_d, 2))),
                                  ferry_cg_const_f64(&cv->g, norm, row_d, 2));
            free(mean);
            free(two_var);
            free(norm);
            /* pdf > 0 is false for NaN too: the evaluator's (pdf > 0 && !isnan(pdf)) */
            factor = OP3("Where", OP2("Greater", pdf, s_k(cv, 0)), pdf, s_k(cv, b->threshold));
        } else {
            int32_t nv = in->n_values;
            for (int32_t k = 1; k < nv; k++)
                if (in->values[k].kind != in->values[0].kind)
                    return s_unsup(cv, m->line, "PairCounts values of mixed types (BayesInput \"%s\")",
                                   p->fields[in->field].name);
            /* rows: the values' ratios, then 1 for a missing value or one without PairCounts */
            double *tab = ferry_malloc(sizeof(double) * ((size_t)(nv + 1) * (size_t)nc + 1));
            for (int32_t c = 0; c < nc; c++) {
                double total = 0;
                for (int32_t k = 0; k < nv; k++)
                    total += in->counts[k * nc + c];
                for (int32_t k = 0; k < nv; k++) {
                    double cnt = in->counts[k * nc + c];
                    tab[(size_t)k * (size_t)nc + (size_t)c] = cnt > 0 && total > 0 ? cnt / total : b->threshold;
                }
                tab[(size_t)nv * (size_t)nc + (size_t)c] = 1;
            }
            const char *idx = s_k(cv, nv);
            for (int32_t k = nv - 1; k >= 0; k--) /* the first equal value wins, as the evaluator's search */
                idx = OP3("Where", OP2("Equal", x, s_k(cv, s_vnum(&in->values[k]))), s_k(cv, k), idx);
            int64_t td[] = {(int64_t)nv + 1, nc};
            factor = s_forest_sum(cv, s_cast(cv, idx, S_ONNX_INT64), ferry_cg_const_f64(&cv->g, tab, td, 2), true);
            free(tab);
        }
        L = OP2("Mul", L, OP3("Where", s_isnan(cv, x), s_k(cv, 1), factor));
    }
    if (cv->rc)
        return cv->rc;
    const char *sum = s_col(cv, L, 0);
    for (int32_t c = 1; c < nc; c++)
        sum = OP2("Add", sum, s_col(cv, L, c));
    const char *is_none = OP1("Not", OP2("Greater", sum, s_k(cv, 0)));
    res->probs = s_nan_if(cv, is_none, OP2("Div", L, sum));
    return cv->rc;
}

/* ---- MiningModel ------------------------------------------------------------------------------ */
static bool s_map_is_identity(const ferry_pmml_t *p, const ferry_pmml_segment_t *seg, int32_t n)
{
    for (int32_t k = 0; k < n; k++)
        if (p->int_pool[seg->class_map_off + k] != k)
            return false;
    return true;
}

static int s_mining_model(s_cv_t *cv, int32_t mi, const ferry_pmml_model_t *m, s_res_t *res)
{
    const ferry_pmml_t *p = cv->p;
    const ferry_pmml_mining_t *mm = &m->u.mining_model;
    bool is_class = m->function == FERRY_PMML_FN_CLASSIFICATION;
    if (m->function == FERRY_PMML_FN_CLUSTERING)
        return s_unsup(cv, m->line, "a clustering MiningModel");
    if (mm->n_segments < 1)
        return s_unsup(cv, m->line, "a MiningModel without Segment");
    for (int32_t s = 0; s < mm->n_segments; s++)
        if (p->preds[mm->segments[s].pred].kind != FERRY_PMML_PR_TRUE)
            return s_unsup(cv, m->line, "a Segment whose predicate is not True (segment %d)", s + 1);
    int method = mm->method;
    if (method == FERRY_PMML_SEG_CHAIN || method == FERRY_PMML_SEG_SELECTFIRST) {
        int32_t last = method == FERRY_PMML_SEG_CHAIN ? mm->n_segments - 1 : 0;
        const ferry_pmml_segment_t *seg = &mm->segments[last];
        const ferry_pmml_model_t *sm = &p->models[seg->model];
        s_res_t *sr = s_model(cv, seg->model);
        if (!sr)
            return cv->rc;
        if (is_class) {
            if (sm->function != FERRY_PMML_FN_CLASSIFICATION || sm->n_classes != m->n_classes ||
                !s_map_is_identity(p, seg, sm->n_classes))
                return s_unsup(cv, m->line, "a modelChain whose last segment's classes differ from the model's");
            *res = *sr;
        } else {
            if (!sr->value)
                return s_unsup(cv, m->line, "a regression modelChain ending in a classifier");
            res->value = sr->value;
        }
        return cv->rc;
    }
    bool is_weighted = method == FERRY_PMML_SEG_WAVERAGE || method == FERRY_PMML_SEG_WSUM ||
                       method == FERRY_PMML_SEG_WVOTE;
    bool is_avg = method == FERRY_PMML_SEG_AVERAGE || method == FERRY_PMML_SEG_WAVERAGE;
    bool is_vote = method == FERRY_PMML_SEG_VOTE || method == FERRY_PMML_SEG_WVOTE;
    bool is_sum = method == FERRY_PMML_SEG_SUM || method == FERRY_PMML_SEG_WSUM;
    if (is_class ? !(is_avg || is_vote) : !(is_avg || is_sum))
        return s_unsup(cv, m->line, "multipleModelMethod #%d for %s", method,
                       is_class ? "classification" : "regression");
    s_forest_t F = {0};
    int32_t *map_off = NULL;
    double wsum = 0;
    const char *acc = NULL;
    for (int32_t s = 0; s < mm->n_segments && !cv->rc; s++) {
        const ferry_pmml_segment_t *seg = &mm->segments[s];
        const ferry_pmml_model_t *sm = &p->models[seg->model];
        double w = is_weighted ? seg->weight : 1;
        wsum += w;
        if (sm->function != m->function) {
            s_unsup(cv, sm->line, "a segment whose functionName differs from its MiningModel's");
            break;
        }
        if (sm->type == FERRY_PMML_TREE) {
            size_t before = F.n_rows;
            if (s_forest_add(cv, &F, seg->model, w) < 0)
                break;
            map_off = ferry_reallocarray(map_off, F.n_rows + 1, sizeof *map_off);
            for (size_t r = before; r < F.n_rows; r++)
                map_off[r] = seg->class_map_off;
            continue;
        }
        s_res_t *sr = s_model(cv, seg->model);
        if (!sr)
            break;
        const char *v;
        if (!is_class) {
            v = sr->value;
        } else if (is_vote || !sr->probs || sr->has_no_probs || !s_map_is_identity(p, seg, sm->n_classes) ||
                   sm->n_classes != m->n_classes) {
            s_unsup(cv, sm->line, "a non-tree segment in a classification %s", is_vote ? "vote" : "average");
            break;
        } else {
            v = sr->probs;
        }
        if (w != 1)
            v = OP2("Mul", v, s_k(cv, w));
        acc = acc ? OP2("Add", acc, v) : v;
    }
    if (!cv->rc && F.n_roots) {
        const char *rows = s_forest_emit(cv, &F);
        if (rows) {
            int kind = !is_class ? S_TAB_SCORE : is_vote ? S_TAB_VOTE : S_TAB_PROBS;
            const char *t = s_forest_sum(cv, rows, s_forest_table(cv, &F, kind, mi, is_class ? map_off : NULL), is_class);
            acc = acc ? OP2("Add", t, acc) : t;
        }
    }
    s_forest_free(&F);
    free(map_off);
    if (cv->rc)
        return cv->rc;
    if (is_avg || is_vote) {
        if (!(wsum > 0))
            return s_unsup(cv, m->line, "segment weights that do not sum to a positive number");
        acc = OP2("Div", acc, s_k(cv, wsum));
    }
    if (is_class)
        res->probs = acc;
    else
        res->value = acc;
    return cv->rc;
}

/* ---- GeneralRegressionModel ---------------------------------------------------------------- */
static const char *s_inverse_link(s_cv_t *cv, const ferry_pmml_model_t *m, const char *eta)
{
    const ferry_pmml_genreg_t *g = &m->u.genreg;
    double pw = g->link_power;
    switch (g->link) {
    case FERRY_PMML_LINK_IDENTITY: return eta;
    case FERRY_PMML_LINK_LOGIT:
        return OP2("Div", s_k(cv, 1), OP2("Add", s_k(cv, 1), OP1("Exp", OP1("Neg", eta))));
    case FERRY_PMML_LINK_CLOGLOG: return OP2("Sub", s_k(cv, 1), OP1("Exp", OP1("Neg", OP1("Exp", eta))));
    case FERRY_PMML_LINK_LOGLOG: return OP1("Exp", OP1("Neg", OP1("Exp", OP1("Neg", eta))));
    case FERRY_PMML_LINK_LOG: return OP1("Exp", eta);
    case FERRY_PMML_LINK_POWER: return pw == 0 ? OP1("Exp", eta) : OP2("Pow", eta, s_k(cv, 1 / pw));
    case FERRY_PMML_LINK_ODDSPOWER:
        if (pw == 0)
            return OP2("Div", s_k(cv, 1), OP2("Add", s_k(cv, 1), OP1("Exp", OP1("Neg", eta))));
        return OP2("Div", s_k(cv, 1),
                   OP2("Add", s_k(cv, 1),
                       OP2("Pow", OP2("Add", s_k(cv, 1), OP2("Mul", s_k(cv, pw), eta)), s_k(cv, -1 / pw))));
    case FERRY_PMML_LINK_LOGC: return OP2("Sub", s_k(cv, 1), OP1("Exp", eta));
    case FERRY_PMML_LINK_PROBIT: return s_norm_cdf(cv, eta);
    case FERRY_PMML_LINK_CAUCHIT: return s_cauchit(cv, eta);
    case FERRY_PMML_LINK_NEGBIN:
        return OP2("Div", s_k(cv, 1), OP2("Mul", s_k(cv, g->distr_param), OP2("Sub", OP1("Exp", OP1("Neg", eta)), s_k(cv, 1))));
    default:
        s_unsup(cv, m->line, "GeneralRegressionModel linkFunction #%d", g->link);
        return NULL;
    }
}

static int s_genreg(s_cv_t *cv, const ferry_pmml_model_t *m, s_res_t *res)
{
    const ferry_pmml_genreg_t *g = &m->u.genreg;
    int32_t np = g->n_params, nr = g->n_rows;
    if (np < 1 || nr < 1)
        return s_unsup(cv, m->line, "a GeneralRegressionModel without parameters");
    if (g->kind != FERRY_PMML_GR_REGRESSION && g->kind != FERRY_PMML_GR_GLM && g->kind != FERRY_PMML_GR_MULTINOMIAL)
        return s_unsup(cv, m->line, "GeneralRegressionModel modelType %s",
                       g->kind == FERRY_PMML_GR_ORDINAL ? "ordinalMultinomial" : "CoxRegression (or other)");
    /* design matrix X [N, np]: parameter i = product of its PPCells, in the evaluator's order */
    const char **cols = ferry_calloc((size_t)np, sizeof *cols);
    const char *miss = NULL;
    int rc = 0;
    for (int32_t i = 0; i < np && !rc; i++) {
        const char *prod = NULL;
        for (int32_t c = g->cell_off[i]; c < g->cell_off[i] + g->cell_n[i]; c++) {
            const ferry_pmml_ppcell_t *cell = &g->cells[c];
            const char *v = s_field(cv, cell->field);
            if (!v) {
                rc = cv->rc;
                break;
            }
            miss = s_or(cv, miss, s_isnan(cv, v));
            const char *f = cell->is_factor ? s_bool(cv, OP2("Equal", v, s_k(cv, s_vnum(&cell->value))))
                            : cell->exponent == 1 ? v
                                                  : OP2("Pow", v, s_k(cv, cell->exponent));
            prod = prod ? OP2("Mul", prod, f) : f;
        }
        cols[i] = prod; /* NULL: the constant 1, filled below */
    }
    if (rc) {
        free(cols);
        return rc;
    }
    const char *ones = NULL;
    for (int32_t i = 0; i < np; i++)
        if (!cols[i] && !(cols[i] = ones ? ones : (ones = s_bcast(cv, s_k(cv, 1))))) {
            free(cols);
            return cv->rc;
        }
    const char *X = np == 1 ? cols[0] : s_concat(cv, cols, (size_t)np);
    free(cols);
    double *bt = ferry_malloc(sizeof(double) * (size_t)np * (size_t)nr);
    for (int32_t r = 0; r < nr; r++)
        for (int32_t i = 0; i < np; i++)
            bt[(size_t)i * (size_t)nr + (size_t)r] = g->beta[(size_t)r * (size_t)np + (size_t)i];
    int64_t bd[] = {np, nr};
    const char *eta = OP2("MatMul", X, ferry_cg_const_f64(&cv->g, bt, bd, 2));
    free(bt);
    const char *offset = s_k(cv, g->offset_value);
    if (g->offset_field >= 0) {
        const char *d = s_field(cv, g->offset_field);
        if (!d)
            return cv->rc;
        offset = OP2("Add", offset, d);
    }
    eta = OP2("Add", eta, offset);
    if (miss)
        eta = s_nan_if(cv, miss, eta);
    if (m->function != FERRY_PMML_FN_CLASSIFICATION) {
        const char *v = g->kind == FERRY_PMML_GR_GLM ? s_inverse_link(cv, m, s_col(cv, eta, 0)) : s_col(cv, eta, 0);
        if (v && g->kind == FERRY_PMML_GR_GLM && !isnan(g->trials_value))
            v = OP2("Mul", v, s_k(cv, g->trials_value));
        res->value = v;
        return cv->rc;
    }
    int32_t nc = m->n_classes;
    if (g->kind == FERRY_PMML_GR_MULTINOMIAL) {
        /* e [N, C]: row r's eta in its class column, 0 elsewhere (the reference class) */
        double *sel = ferry_calloc((size_t)nr * (size_t)nc + 1, sizeof(double));
        for (int32_t r = 0; r < nr; r++)
            if (g->row_class[r] >= 0 && g->row_class[r] < nc)
                sel[(size_t)r * (size_t)nc + (size_t)g->row_class[r]] = 1;
        int64_t sd[] = {nr, nc};
        const char *e = OP2("MatMul", eta, ferry_cg_const_f64(&cv->g, sel, sd, 2));
        free(sel);
        /* the evaluator's softmax: mx starts at 0, exp(e - mx) / sequential sum */
        const char *in[] = {e};
        Onnx__NodeProto *mxn = ferry_cg_node(&cv->g, "ReduceMax", NULL, in, 1, NULL);
        int64_t ax = 1;
        ferry_cg_attr_ints(mxn, "axes", &ax, 1);
        ferry_cg_attr_int(mxn, "keepdims", 1);
        const char *mx = OP3("Where", OP2("Greater", ferry_cg_out(mxn), s_k(cv, 0)), ferry_cg_out(mxn), s_k(cv, 0));
        const char *t = OP1("Exp", OP2("Sub", e, mx));
        const char *in2[] = {t, ferry_cg_const_i64(&cv->g, &ax, (int64_t[]){1}, 1)};
        Onnx__NodeProto *sum = ferry_cg_node(&cv->g, "ReduceSum", NULL, in2, 2, NULL);
        ferry_cg_attr_int(sum, "keepdims", 1);
        res->probs = OP2("Div", t, ferry_cg_out(sum));
        return cv->rc;
    }
    if (nc != 2)
        return s_unsup(cv, m->line, "a GeneralRegressionModel classifier other than multinomial with %d categories", nc);
    const char *mu = g->kind == FERRY_PMML_GR_GLM ? s_inverse_link(cv, m, s_col(cv, eta, 0)) : s_col(cv, eta, 0);
    if (!mu)
        return cv->rc;
    int32_t pos = g->row_class[0] >= 0 ? g->row_class[0] : (g->ref_class == 0 ? 1 : 0);
    const char *other = OP2("Sub", s_k(cv, 1), mu);
    res->probs = pos == 0 ? s_concat(cv, (const char *[]){mu, other}, 2) : s_concat(cv, (const char *[]){other, mu}, 2);
    return cv->rc;
}

/* ---- NeuralNetwork ----------------------------------------------------------------------------- */
static const char *s_activate(s_cv_t *cv, const ferry_pmml_model_t *m, const ferry_pmml_layer_t *L, const char *z)
{
    switch (L->activation) {
    case FERRY_PMML_ACT_IDENTITY: return z;
    case FERRY_PMML_ACT_LOGISTIC:
        return OP2("Div", s_k(cv, 1), OP2("Add", s_k(cv, 1), OP1("Exp", OP1("Neg", z))));
    case FERRY_PMML_ACT_TANH: return OP1("Tanh", z);
    case FERRY_PMML_ACT_EXPONENTIAL: return OP1("Exp", z);
    case FERRY_PMML_ACT_RECIPROCAL: return OP2("Div", s_k(cv, 1), z);
    case FERRY_PMML_ACT_SQUARE: return OP2("Mul", z, z);
    case FERRY_PMML_ACT_RECTIFIER:
        return s_nan_if(cv, s_isnan(cv, z), OP3("Where", OP2("Greater", z, s_k(cv, 0)), z, s_k(cv, 0)));
    case FERRY_PMML_ACT_THRESHOLD:
        return s_nan_if(cv, s_isnan(cv, z), s_bool(cv, OP2("Greater", z, s_k(cv, L->threshold))));
    default: s_unsup(cv, m->line, "NeuralLayer activationFunction #%d", L->activation); return NULL;
    }
}

static int s_nn(s_cv_t *cv, const ferry_pmml_model_t *m, s_res_t *res)
{
    const ferry_pmml_t *p = cv->p;
    const ferry_pmml_nn_t *nn = &m->u.nn;
    if (nn->n_inputs < 1 || nn->n_layers < 1)
        return s_unsup(cv, m->line, "a NeuralNetwork without inputs or layers");
    const char **cols = ferry_calloc((size_t)nn->n_inputs, sizeof *cols);
    for (int32_t i = 0; i < nn->n_inputs; i++)
        if (!(cols[i] = s_expr(cv, nn->input_expr[i]))) {
            free(cols);
            return cv->rc;
        }
    const char *a = nn->n_inputs == 1 ? cols[0] : s_concat(cv, cols, (size_t)nn->n_inputs);
    free(cols);
    int32_t prev_first = 0, prev_n = nn->n_inputs;
    for (int32_t l = 0; l < nn->n_layers; l++) {
        const ferry_pmml_layer_t *L = &nn->layers[l];
        if (L->activation == FERRY_PMML_ACT_RADIALBASIS)
            return s_unsup(cv, m->line, "a radialBasis NeuralLayer");
        /* dense W [prev_n, n] from the connections: each must come from the previous layer */
        double *W = ferry_calloc((size_t)prev_n * (size_t)L->n_neurons + 1, sizeof(double));
        double *b = ferry_malloc(sizeof(double) * ((size_t)L->n_neurons + 1));
        for (int32_t j = 0; j < L->n_neurons; j++) {
            int32_t k = L->first_neuron + j;
            b[j] = nn->bias[k];
            for (int32_t c = 0; c < nn->con_n[k]; c++) {
                int32_t from = nn->con_from[nn->con_off[k] + c] - prev_first;
                if (from < 0 || from >= prev_n) {
                    free(W);
                    free(b);
                    return s_unsup(cv, m->line, "a NeuralNetwork connection that skips a layer");
                }
                W[(size_t)from * (size_t)L->n_neurons + (size_t)j] += nn->con_w[nn->con_off[k] + c];
            }
        }
        int64_t wd[] = {prev_n, L->n_neurons}, bd[] = {1, L->n_neurons};
        const char *z = OP2("Add", OP2("MatMul", a, ferry_cg_const_f64(&cv->g, W, wd, 2)),
                            ferry_cg_const_f64(&cv->g, b, bd, 2));
        free(W);
        free(b);
        a = s_activate(cv, m, L, z);
        if (!a)
            return cv->rc;
        if (L->normalization == FERRY_PMML_NORM_SOFTMAX) {
            const char *in[] = {a};
            Onnx__NodeProto *n = ferry_cg_node(&cv->g, "Softmax", NULL, in, 1, NULL);
            ferry_cg_attr_int(n, "axis", 1);
            a = ferry_cg_out(n);
        } else if (L->normalization == FERRY_PMML_NORM_SIMPLEMAX) {
            /* the evaluator: y / (sequential sum of y) */
            int64_t ax = 1;
            const char *in[] = {a, ferry_cg_const_i64(&cv->g, &ax, (int64_t[]){1}, 1)};
            Onnx__NodeProto *sum = ferry_cg_node(&cv->g, "ReduceSum", NULL, in, 2, NULL);
            ferry_cg_attr_int(sum, "keepdims", 1);
            a = OP2("Div", a, ferry_cg_out(sum));
        } else if (L->normalization != FERRY_PMML_NORM_NONE) {
            return s_unsup(cv, m->line, "NeuralLayer normalizationMethod #%d", L->normalization);
        }
        prev_first = L->first_neuron;
        prev_n = L->n_neurons;
    }
    if (m->function == FERRY_PMML_FN_CLASSIFICATION) {
        int32_t nc = m->n_classes;
        int64_t *idx = ferry_malloc(sizeof(int64_t) * ((size_t)nc + 1));
        for (int32_t k = 0; k < nc; k++) {
            idx[k] = -1;
            for (int32_t o = 0; o < nn->n_outputs; o++)
                if (nn->output_class[o] == k)
                    idx[k] = nn->output_neuron[o] - prev_first;
            if (idx[k] < 0 || idx[k] >= prev_n) {
                free(idx);
                return s_unsup(cv, m->line, "a NeuralOutput outside the last layer or a class without output");
            }
        }
        int64_t d[] = {nc};
        const char *in[] = {a, ferry_cg_const_i64(&cv->g, idx, d, 1)};
        free(idx);
        Onnx__NodeProto *g = ferry_cg_node(&cv->g, "Gather", NULL, in, 2, NULL);
        ferry_cg_attr_int(g, "axis", 1);
        res->probs = ferry_cg_out(g);
        return cv->rc;
    }
    if (nn->n_outputs != 1)
        return s_unsup(cv, m->line, "a regression NeuralNetwork with %d outputs", nn->n_outputs);
    const ferry_pmml_expr_t *x = &p->exprs[nn->output_expr[0]];
    if (x->kind != FERRY_PMML_EX_FIELDREF)
        return s_unsup(cv, m->line, "a NeuralOutput other than a FieldRef (e.g. NormContinuous)");
    int32_t at = nn->output_neuron[0] - prev_first;
    if (at < 0 || at >= prev_n)
        return s_unsup(cv, m->line, "a NeuralOutput outside the last layer");
    res->value = s_col(cv, a, at);
    return cv->rc;
}

/* One-vs-rest (OneAgainstAll): the class of the machine with the smallest decision value
 * (maxWins: the largest), the first such machine on a tie, as the evaluator's strict
 * comparison in document order. ArgMax keeps the first maximum; -f is exact, so ArgMax(-F)
 * is the first minimum of F. No probabilities (the evaluator leaves them missing): probs is
 * all NaN, which makes those cells empty. */
static int s_svm_ovr(s_cv_t *cv, const ferry_pmml_model_t *m, const char *Fm, s_res_t *res)
{
    const ferry_pmml_svm_t *s = &m->u.svm;
    int32_t nm = s->n_machines, nc = m->n_classes;
    const char *in[] = {s->is_max_wins ? Fm : OP1("Neg", Fm)};
    Onnx__NodeProto *am = ferry_cg_node(&cv->g, "ArgMax", NULL, in, 1, NULL);
    ferry_cg_attr_int(am, "axis", 1);
    ferry_cg_attr_int(am, "keepdims", 1);
    double *cls_of = ferry_malloc(sizeof(double) * (size_t)nm);
    for (int32_t k = 0; k < nm; k++)
        cls_of[k] = s->machines[k].class_idx;
    int64_t md[] = {nm};
    const char *cls = OP2("Gather", ferry_cg_const_f64(&cv->g, cls_of, md, 1), ferry_cg_out(am));
    free(cls_of);
    const char *is_missing = s_isnan(cv, s_col(cv, Fm, 0));
    res->cls = s_nan_if(cv, is_missing, cls);
    double *nan_row = ferry_malloc(sizeof(double) * (size_t)nc);
    for (int32_t k = 0; k < nc; k++)
        nan_row[k] = NAN;
    int64_t rd[] = {1, nc};
    res->probs = OP2("Add", OP2("Mul", s_col(cv, Fm, 0), s_k(cv, 0)), ferry_cg_const_f64(&cv->g, nan_row, rd, 2));
    free(nan_row);
    res->has_no_probs = true;
    return cv->rc;
}

/* ---- SupportVectorMachineModel --------------------------------------------------------------- */
static int s_svm(s_cv_t *cv, const ferry_pmml_model_t *m, s_res_t *res)
{
    const ferry_pmml_svm_t *s = &m->u.svm;
    int32_t ni = s->n_inputs, nv = s->n_vectors;
    if (ni < 1 || nv < 1 || s->n_machines < 1)
        return s_unsup(cv, m->line, "a SupportVectorMachineModel without inputs, vectors or machines");
    const char **cols = ferry_calloc((size_t)ni, sizeof *cols);
    for (int32_t i = 0; i < ni; i++)
        if (!(cols[i] = s_expr(cv, s->input_expr[i]))) {
            free(cols);
            return cv->rc;
        }
    const char *X = ni == 1 ? cols[0] : s_concat(cv, cols, (size_t)ni);
    free(cols);
    /* K [N, V]: kernel of each row with every support vector, as the evaluator sums */
    const char *K;
    if (s->kernel == FERRY_PMML_KERNEL_RBF) {
        int64_t d3[] = {1, nv, ni}, sh[] = {-1, 1, ni};
        const char *V = ferry_cg_const_f64(&cv->g, s->vectors, d3, 3);
        const char *X3 = OP2("Reshape", X, ferry_cg_const_i64(&cv->g, sh, (int64_t[]){3}, 1));
        const char *diff = OP2("Sub", X3, V);
        int64_t ax = 2;
        const char *in[] = {OP2("Mul", diff, diff), ferry_cg_const_i64(&cv->g, &ax, (int64_t[]){1}, 1)};
        Onnx__NodeProto *n = ferry_cg_node(&cv->g, "ReduceSum", NULL, in, 2, NULL);
        ferry_cg_attr_int(n, "keepdims", 0);
        K = OP1("Exp", OP2("Mul", s_k(cv, -s->gamma), ferry_cg_out(n)));
    } else {
        double *VT = ferry_malloc(sizeof(double) * (size_t)ni * (size_t)nv);
        for (int32_t v = 0; v < nv; v++)
            for (int32_t i = 0; i < ni; i++)
                VT[(size_t)i * (size_t)nv + (size_t)v] = s->vectors[(size_t)v * (size_t)ni + (size_t)i];
        int64_t d[] = {ni, nv};
        const char *dot = OP2("MatMul", X, ferry_cg_const_f64(&cv->g, VT, d, 2));
        free(VT);
        if (s->kernel == FERRY_PMML_KERNEL_LINEAR)
            K = dot;
        else if (s->kernel == FERRY_PMML_KERNEL_POLY)
            K = OP2("Pow", OP2("Add", OP2("Mul", s_k(cv, s->gamma), dot), s_k(cv, s->coef0)), s_k(cv, s->degree));
        else
            K = OP1("Tanh", OP2("Add", OP2("Mul", s_k(cv, s->gamma), dot), s_k(cv, s->coef0)));
    }
    /* F [N, M] = K x C + b: machine coefficients on their vectors */
    int32_t nm = s->n_machines;
    double *C = ferry_calloc((size_t)nv * (size_t)nm + 1, sizeof(double));
    double *b = ferry_malloc(sizeof(double) * (size_t)nm);
    for (int32_t k = 0; k < nm; k++) {
        const ferry_pmml_svm_machine_t *M = &s->machines[k];
        b[k] = M->intercept;
        for (int32_t j = 0; j < M->n_sv; j++)
            if (M->sv[j] >= 0 && M->sv[j] < nv)
                C[(size_t)M->sv[j] * (size_t)nm + (size_t)k] += M->coef[j];
    }
    int64_t cd[] = {nv, nm}, bd[] = {1, nm};
    const char *Fm = OP2("Add", OP2("MatMul", K, ferry_cg_const_f64(&cv->g, C, cd, 2)), ferry_cg_const_f64(&cv->g, b, bd, 2));
    free(C);
    free(b);
    if (m->function != FERRY_PMML_FN_CLASSIFICATION) {
        if (nm != 1)
            return s_unsup(cv, m->line, "a regression SupportVectorMachineModel with several machines");
        res->value = Fm;
        return cv->rc;
    }
    /* the evaluator reads the kind from each machine: alternateTargetCategory = a pair */
    int32_t nc = m->n_classes, n_pair = 0;
    for (int32_t k = 0; k < nm; k++) {
        const ferry_pmml_svm_machine_t *M = &s->machines[k];
        if (M->class_idx < 0 || M->class_idx >= nc || M->alt_class_idx >= nc)
            return s_unsup(cv, m->line, "a SupportVectorMachine without a target category of the model");
        n_pair += M->alt_class_idx >= 0;
    }
    if (n_pair && n_pair != nm)
        return s_unsup(cv, m->line, "a SupportVectorMachineModel mixing one-vs-one and one-vs-rest machines");
    if (!n_pair)
        return s_svm_ovr(cv, m, Fm, res);
    /* votes [N, C]: machine k votes its class when f < threshold (maxWins: f > threshold),
     * else the alternate */
    double *to_t = ferry_calloc((size_t)nm * (size_t)nc + 1, sizeof(double));
    double *to_a = ferry_calloc((size_t)nm * (size_t)nc + 1, sizeof(double));
    for (int32_t k = 0; k < nm; k++) {
        const ferry_pmml_svm_machine_t *M = &s->machines[k];
        to_t[(size_t)k * (size_t)nc + (size_t)M->class_idx] = 1;
        to_a[(size_t)k * (size_t)nc + (size_t)M->alt_class_idx] = 1;
    }
    double *thr = ferry_malloc(sizeof(double) * (size_t)nm);
    for (int32_t k = 0; k < nm; k++)
        thr[k] = s->machines[k].threshold;
    int64_t vd[] = {nm, nc}, td[] = {1, nm};
    const char *is_t = s_bool(cv, OP2(s->is_max_wins ? "Greater" : "Less", Fm, ferry_cg_const_f64(&cv->g, thr, td, 2)));
    const char *is_a = OP2("Sub", s_k(cv, 1), is_t);
    const char *votes = OP2("Add", OP2("MatMul", is_t, ferry_cg_const_f64(&cv->g, to_t, vd, 2)),
                            OP2("MatMul", is_a, ferry_cg_const_f64(&cv->g, to_a, vd, 2)));
    free(to_t);
    free(to_a);
    free(thr);
    /* the label: most votes, a tie to the category listed first (libsvm's rule, as the
     * evaluator): ArgMax of the vote shares, which keeps the first maximum */
    res->probs = s_nan_if(cv, s_isnan(cv, s_col(cv, Fm, 0)), OP2("Div", votes, s_k(cv, nm)));
    return cv->rc;
}

/* ---- models and outputs ---------------------------------------------------------------------- */
static int s_targets(s_cv_t *cv, const ferry_pmml_model_t *m, s_res_t *res)
{
    const ferry_pmml_target_t *t = &m->tgt;
    const char *v = res->value;
    if (!v)
        return cv->rc;
    if (t->factor != 1 || t->constant != 0)
        v = OP2("Add", OP2("Mul", v, s_k(cv, t->factor)), s_k(cv, t->constant));
    if (t->has_min)
        v = OP3("Where", OP2("Less", v, s_k(cv, t->min)), s_k(cv, t->min), v);
    if (t->has_max)
        v = OP3("Where", OP2("Greater", v, s_k(cv, t->max)), s_k(cv, t->max), v);
    if (t->cast == 1)
        v = OP1("Floor", OP2("Add", v, s_k(cv, 0.5)));
    else if (t->cast == 2)
        v = OP1("Ceil", v);
    else if (t->cast == 3)
        v = OP1("Floor", v);
    if (m->is_float)
        v = s_cast(cv, s_cast(cv, v, S_ONNX_FLOAT), S_ONNX_DOUBLE);
    if (t->has_default)
        v = OP3("Where", s_isnan(cv, v), s_k(cv, t->default_value), v);
    res->value = v;
    return cv->rc;
}

static s_res_t *s_model(s_cv_t *cv, int32_t mi)
{
    const ferry_pmml_t *p = cv->p;
    if (mi < 0 || mi >= p->n_models) {
        ferry_err(cv->err, "%s: model reference %d out of range", cv->name, mi);
        cv->rc = FERRY_CONVERT_EINVALID;
        return NULL;
    }
    if (cv->res_state[mi] == 2)
        return &cv->res[mi];
    if (cv->rc)
        return NULL;
    if (cv->res_state[mi] == 1) {
        s_unsup(cv, p->models[mi].line, "a model depending on itself");
        return NULL;
    }
    cv->res_state[mi] = 1;
    const ferry_pmml_model_t *m = &p->models[mi];
    s_res_t r = {0};
    if (m->function == FERRY_PMML_FN_CLASSIFICATION && m->n_classes < 1) {
        s_unsup(cv, m->line, "a classification model without target categories");
        return NULL;
    }
    if (m->is_float && m->type != FERRY_PMML_REGRESSION && m->type != FERRY_PMML_TREE && m->type != FERRY_PMML_MINING) {
        s_unsup(cv, m->line, "mathContext=\"float\" on a %s", ferry_pmml_model_type_name(m->type));
        return NULL;
    }
    if (m->is_float && m->function == FERRY_PMML_FN_CLASSIFICATION) {
        s_unsup(cv, m->line, "mathContext=\"float\" on a classifier");
        return NULL;
    }
    /* DataDictionary fields whose invalid values make this model's row fail (returnInvalid) */
    for (int32_t i = 0; i < m->n_checks; i++) {
        if (!s_field(cv, m->checks[i])) {
            cv->res_state[mi] = 0;
            return NULL;
        }
        const char *inv = cv->slot_invalid[m->checks[i]];
        if (inv) {
            cv->invalid = ferry_reallocarray(cv->invalid, cv->n_invalid + 1, sizeof *cv->invalid);
            cv->invalid[cv->n_invalid++] = inv;
        }
    }
    switch (m->type) {
    case FERRY_PMML_REGRESSION: s_regression(cv, m, &r); break;
    case FERRY_PMML_TREE: s_tree(cv, mi, m, &r); break;
    case FERRY_PMML_MINING: s_mining_model(cv, mi, m, &r); break;
    case FERRY_PMML_NN: s_nn(cv, m, &r); break;
    case FERRY_PMML_SVM: s_svm(cv, m, &r); break;
    case FERRY_PMML_GENREG: s_genreg(cv, m, &r); break;
    case FERRY_PMML_SCORECARD: s_scorecard(cv, m, &r); break;
    case FERRY_PMML_NAIVEBAYES: s_bayes(cv, m, &r); break;
    case FERRY_PMML_RULESET: s_ruleset(cv, m, &r); break;
    default: s_unsup(cv, m->line, "%s", ferry_pmml_model_type_name(m->type)); break;
    }
    if (!cv->rc && m->function == FERRY_PMML_FN_REGRESSION)
        s_targets(cv, m, &r);
    if (cv->rc)
        return NULL;
    if (m->function == FERRY_PMML_FN_CLASSIFICATION && !r.probs) {
        s_unsup(cv, m->line, "a classifier without probabilities");
        return NULL;
    }
    cv->res[mi] = r;
    cv->res_state[mi] = 2;
    return &cv->res[mi];
}

/* [N, 1] double class index of a classifier's result, NaN where there is no prediction */
static const char *s_class_index(s_cv_t *cv, s_res_t *r)
{
    if (r->cls)
        return r->cls;
    const char *in[] = {r->probs};
    Onnx__NodeProto *n = ferry_cg_node(&cv->g, "ArgMax", NULL, in, 1, NULL);
    ferry_cg_attr_int(n, "axis", 1);
    ferry_cg_attr_int(n, "keepdims", 1);
    const char *idx = s_cast(cv, ferry_cg_out(n), S_ONNX_DOUBLE);
    r->cls = s_nan_if(cv, s_isnan(cv, s_col(cv, r->probs, 0)), idx);
    return r->cls;
}

/* int64 [N, 1] index into a table of n_classes + 1 entries (the last one: no prediction) */
static const char *s_class_slot(s_cv_t *cv, s_res_t *r, int32_t nc)
{
    const char *c = s_class_index(cv, r);
    return s_cast(cv, OP3("Where", s_isnan(cv, c), s_k(cv, nc), c), S_ONNX_INT64);
}

static const char *s_output_value(s_cv_t *cv, int32_t mi, int32_t oi)
{
    const ferry_pmml_t *p = cv->p;
    const ferry_pmml_model_t *m = &p->models[mi];
    const ferry_pmml_output_t *o = &m->outputs[oi];
    s_res_t *r = s_model(cv, mi);
    if (!r)
        return NULL;
    bool is_class = m->function == FERRY_PMML_FN_CLASSIFICATION;
    switch (o->feature) {
    case FERRY_PMML_OUT_PREDICTED:
        if (!is_class)
            return r->value;
        {
            int32_t nc = m->n_classes;
            double *sym = ferry_malloc(sizeof(double) * ((size_t)nc + 1));
            for (int32_t k = 0; k < nc; k++)
                sym[k] = m->class_sym[k];
            sym[nc] = NAN;
            int64_t d[] = {nc + 1};
            const char *t = ferry_cg_const_f64(&cv->g, sym, d, 1);
            free(sym);
            return OP2("Gather", t, s_class_slot(cv, r, nc));
        }
    case FERRY_PMML_OUT_PROBABILITY:
        if (!is_class)
            break;
        if (o->class_idx >= 0)
            return s_col(cv, r->probs, o->class_idx);
        {
            const char *idx = s_cast(cv, OP3("Where", s_isnan(cv, s_class_index(cv, r)), s_k(cv, 0), r->cls),
                                     S_ONNX_INT64);
            const char *in[] = {r->probs, idx};
            Onnx__NodeProto *n = ferry_cg_node(&cv->g, "GatherElements", NULL, in, 2, NULL);
            ferry_cg_attr_int(n, "axis", 1);
            return ferry_cg_out(n);
        }
    case FERRY_PMML_OUT_TRANSFORMED: return s_expr(cv, o->expr);
    default: break;
    }
    s_unsup(cv, m->line, "OutputField \"%s\" (feature #%d)", o->name, o->feature);
    return NULL;
}

/* ---- top level --------------------------------------------------------------------------------- */
typedef struct {
    const char *name;
    const char *tensor; /* graph output */
    int64_t index;      /* column of that tensor */
    bool is_string;
} s_column_t;

static const char *s_named(s_cv_t *cv, const char *v, const char *name)
{
    const char *in[] = {v};
    return ferry_cg_out(ferry_cg_node(&cv->g, "Identity", NULL, in, 1, name));
}

static void s_manifest(s_cv_t *cv, const ferry_pmml_model_t *m, const s_column_t *cols, int32_t ncols,
                       bool has_label, bool has_valid, int32_t n_extra, ferry_buf_t *out)
{
    const ferry_pmml_t *p = cv->p;
    ferry_json_t j;
    ferry_json_init(&j, out, true);
    ferry_json_obj_begin(&j);
    ferry_json_key(&j, "format");
    ferry_json_str(&j, "ferry-signature-manifest");
    ferry_json_key(&j, "version");
    ferry_json_int(&j, 1);
    ferry_json_key(&j, "source");
    ferry_json_obj_begin(&j);
    ferry_json_key(&j, "format");
    ferry_json_str(&j, "PMML");
    ferry_json_key(&j, "version");
    ferry_json_str(&j, p->version ? p->version : "");
    ferry_json_key(&j, "model");
    ferry_json_str(&j, ferry_pmml_model_type_name(m->type));
    ferry_json_key(&j, "function");
    ferry_json_str(&j, m->function == FERRY_PMML_FN_CLASSIFICATION ? "classification" : "regression");
    ferry_json_obj_end(&j);
    ferry_json_key(&j, "precision");
    ferry_json_obj_begin(&j);
    ferry_json_key(&j, "dtype");
    ferry_json_str(&j, "double");
    ferry_json_key(&j, "reason");
    ferry_json_str(&j, "PMML evaluates in double: inputs, split thresholds (TreeEnsemble ai.onnx.ml opset 5 in "
                       "double), coefficients and every intermediate value are double, so a value exactly on a "
                       "threshold decides as in PMML and no float rounding drifts the scores. Leaf values are "
                       "gathered from an exact double table indexed by the leaf reached.");
    if (cv->notes.len) {
        ferry_json_key(&j, "approximations");
        ferry_json_str(&j, cv->notes.data);
    }
    ferry_json_obj_end(&j);
    ferry_json_key(&j, "missing_values");
    ferry_json_str(&j, "numeric inputs: NaN; string inputs: the empty string. Missing values then follow the "
                       "PMML model's own rules (missingValueReplacement, missingValueStrategy...).");
    ferry_json_key(&j, "no_prediction");
    ferry_json_str(&j, "a row without a prediction has NaN in value/probabilities and the empty string as label");
    ferry_json_key(&j, "inputs");
    ferry_json_arr_begin(&j);
    for (size_t i = 0; i < cv->n_in; i++) {
        const ferry_pmml_field_t *f = &p->fields[cv->in_slots[i]];
        bool is_str = f->datatype == FERRY_PMML_DT_STRING;
        ferry_json_obj_begin(&j);
        ferry_json_key(&j, "name");
        ferry_json_str(&j, f->name);
        ferry_json_key(&j, "tensor");
        ferry_json_str(&j, f->name);
        ferry_json_key(&j, "dtype");
        ferry_json_str(&j, is_str ? "string" : "double");
        ferry_json_key(&j, "shape");
        ferry_json_arr_begin(&j);
        ferry_json_str(&j, "N");
        ferry_json_int(&j, 1);
        ferry_json_arr_end(&j);
        ferry_json_key(&j, "optype");
        ferry_json_str(&j, f->optype == FERRY_PMML_OP_CONTINUOUS ? "continuous"
                           : f->optype == FERRY_PMML_OP_ORDINAL  ? "ordinal"
                                                                 : "categorical");
        ferry_json_key(&j, "missing");
        ferry_json_str(&j, is_str ? "" : "NaN");
        if (f->n_values) {
            ferry_json_key(&j, is_str ? "categories" : "values");
            ferry_json_arr_begin(&j);
            for (int32_t k = 0; k < f->n_values; k++) {
                if (f->value_property[k] != FERRY_PMML_VALID)
                    continue;
                if (f->values[k].kind == FERRY_PMML_STR)
                    ferry_json_str(&j, f->values[k].str);
                else
                    ferry_json_double(&j, f->values[k].num);
            }
            ferry_json_arr_end(&j);
        }
        if (is_str) {
            ferry_json_key(&j, "encoding");
            ferry_json_str(&j, "string tensor, encoded inside the graph (LabelEncoder)");
            ferry_json_key(&j, "unseen");
            ferry_json_str(&j, f->has_valid_values ? "invalid value: handled by the field's invalidValueTreatment"
                                                   : "a category the model does not name: equal to none");
        }
        ferry_json_obj_end(&j);
    }
    ferry_json_arr_end(&j);
    ferry_json_key(&j, "outputs");
    ferry_json_arr_begin(&j);
    if (m->function == FERRY_PMML_FN_CLASSIFICATION) {
        ferry_json_obj_begin(&j);
        ferry_json_key(&j, "tensor");
        ferry_json_str(&j, "probabilities");
        ferry_json_key(&j, "dtype");
        ferry_json_str(&j, "double");
        ferry_json_key(&j, "shape");
        ferry_json_arr_begin(&j);
        ferry_json_str(&j, "N");
        ferry_json_int(&j, m->n_classes);
        ferry_json_arr_end(&j);
        ferry_json_key(&j, "classes");
        ferry_json_arr_begin(&j);
        for (int32_t k = 0; k < m->n_classes; k++)
            ferry_json_str(&j, p->syms[m->class_sym[k]]);
        ferry_json_arr_end(&j);
        ferry_json_obj_end(&j);
        if (has_label) {
            ferry_json_obj_begin(&j);
            ferry_json_key(&j, "tensor");
            ferry_json_str(&j, "label");
            ferry_json_key(&j, "dtype");
            ferry_json_str(&j, "string");
            ferry_json_key(&j, "shape");
            ferry_json_arr_begin(&j);
            ferry_json_str(&j, "N");
            ferry_json_int(&j, 1);
            ferry_json_arr_end(&j);
            ferry_json_key(&j, "meaning");
            ferry_json_str(&j, "predicted class (argmax of probabilities, first on ties, as the PMML evaluator)");
            ferry_json_obj_end(&j);
        }
    } else {
        ferry_json_obj_begin(&j);
        ferry_json_key(&j, "tensor");
        ferry_json_str(&j, "value");
        ferry_json_key(&j, "dtype");
        ferry_json_str(&j, "double");
        ferry_json_key(&j, "shape");
        ferry_json_arr_begin(&j);
        ferry_json_str(&j, "N");
        ferry_json_int(&j, 1);
        ferry_json_arr_end(&j);
        ferry_json_obj_end(&j);
    }
    for (int32_t k = 0; k < n_extra; k++) {
        char name[32];
        snprintf(name, sizeof name, "column_%d", k);
        ferry_json_obj_begin(&j);
        ferry_json_key(&j, "tensor");
        ferry_json_str(&j, name);
        ferry_json_key(&j, "dtype");
        ferry_json_str(&j, "double");
        ferry_json_obj_end(&j);
    }
    if (has_valid) {
        ferry_json_obj_begin(&j);
        ferry_json_key(&j, "tensor");
        ferry_json_str(&j, "row_valid");
        ferry_json_key(&j, "dtype");
        ferry_json_str(&j, "bool");
        ferry_json_key(&j, "meaning");
        ferry_json_str(&j, "false where an input value is invalid and the PMML model returns invalid "
                           "(the row is not scored; its other outputs are NaN)");
        ferry_json_obj_end(&j);
    }
    ferry_json_arr_end(&j);
    ferry_json_key(&j, "columns");
    ferry_json_arr_begin(&j);
    for (int32_t c = 0; c < ncols; c++) {
        ferry_json_obj_begin(&j);
        ferry_json_key(&j, "name");
        ferry_json_str(&j, cols[c].name);
        ferry_json_key(&j, "tensor");
        ferry_json_str(&j, cols[c].tensor);
        ferry_json_key(&j, "index");
        ferry_json_int(&j, cols[c].index);
        ferry_json_key(&j, "format");
        ferry_json_str(&j, cols[c].is_string ? "string" : "number");
        ferry_json_obj_end(&j);
    }
    ferry_json_arr_end(&j);
    ferry_json_obj_end(&j);
    ferry_buf_putc(out, '\n');
}

int ferry_convert_pmml(const ferry_pmml_t *pmml, const char *name, const ferry_convert_opts_t *opts,
                       ferry_buf_t *onnx_out, char **manifest_json, ferry_err_t *err)
{
    int opset = opts && opts->opset ? opts->opset : FERRY_CONVERT_OPSET_DEFAULT;
    if (opset < FERRY_CONVERT_OPSET_MIN || opset > FERRY_CONVERT_OPSET_MAX)
        return ferry_err(err, "%s: --opset %d: PMML is converted to opset %d..%d", name, opset,
                         FERRY_CONVERT_OPSET_MIN, FERRY_CONVERT_OPSET_MAX),
               FERRY_CONVERT_EUNSUPPORTED;
    if (!pmml || pmml->n_models < 1)
        return ferry_err(err, "%s: no model to convert", name), FERRY_CONVERT_EINVALID;
    s_cv_t cvs = {.p = pmml, .name = name, .err = err};
    s_cv_t *cv = &cvs;
    ferry_cg_init(&cv->g);
    size_t nf = (size_t)pmml->n_fields + 1, nm = (size_t)pmml->n_models + 1;
    cv->slot_val = ferry_calloc(nf, sizeof *cv->slot_val);
    cv->slot_invalid = ferry_calloc(nf, sizeof *cv->slot_invalid);
    cv->slot_busy = ferry_calloc(nf, sizeof *cv->slot_busy);
    cv->res = ferry_calloc(nm, sizeof *cv->res);
    cv->res_state = ferry_calloc(nm, 1);
    const ferry_pmml_model_t *m = &pmml->models[0];
    s_column_t *cols = ferry_calloc((size_t)pmml->n_columns + 1, sizeof *cols);
    int32_t n_extra = 0;
    bool is_class = m->function == FERRY_PMML_FN_CLASSIFICATION;
    Onnx__ModelProto *model = NULL;
    char **extra_names = ferry_calloc((size_t)pmml->n_columns + 1, sizeof(char *));
    const char **extra_vals = ferry_calloc((size_t)pmml->n_columns + 1, sizeof(char *));
    ferry_buf_t man = FERRY_BUF_INIT;
    if (m->function != FERRY_PMML_FN_CLASSIFICATION && m->function != FERRY_PMML_FN_REGRESSION) {
        s_unsup(cv, m->line, "a %s whose functionName is neither regression nor classification",
                ferry_pmml_model_type_name(m->type));
        goto out;
    }
    s_res_t *r = s_model(cv, 0);
    if (!r)
        goto out;
    bool has_label = false;
    for (int32_t c = 0; c < pmml->n_columns && !cv->rc; c++) {
        const ferry_pmml_column_t *pc = &pmml->columns[c];
        s_column_t *col = &cols[c];
        col->name = pc->name;
        const ferry_pmml_output_t *o = pc->output >= 0 ? &m->outputs[pc->output] : NULL;
        if (pc->class_idx >= 0 || (o && o->feature == FERRY_PMML_OUT_PROBABILITY && o->class_idx >= 0)) {
            col->tensor = "probabilities";
            col->index = pc->class_idx >= 0 ? pc->class_idx : o->class_idx;
        } else if (!o || o->feature == FERRY_PMML_OUT_PREDICTED) {
            col->tensor = is_class ? "label" : "value";
            col->is_string = is_class;
            has_label |= is_class;
        } else {
            if (o->datatype == FERRY_PMML_DT_STRING) {
                s_unsup(cv, m->line, "OutputField \"%s\" with a string value other than the predicted class",
                        o->name);
                break;
            }
            const char *v = s_output_value(cv, 0, pc->output);
            if (!v)
                break;
            extra_names[n_extra] = ferry_asprintf("column_%d", n_extra);
            extra_vals[n_extra] = v;
            col->tensor = extra_names[n_extra++];
        }
    }
    if (cv->rc)
        goto out;
    /* rows made invalid under returnInvalid: every output NaN, label empty */
    const char *invalid = NULL;
    for (size_t i = 0; i < cv->n_invalid; i++)
        invalid = s_or(cv, invalid, cv->invalid[i]);
    if (is_class) {
        const char *probs = r->probs;
        if (has_label || invalid) {
            int32_t nc = m->n_classes;
            const char *slot = s_class_slot(cv, r, nc);
            if (invalid)
                slot = OP3("Where", invalid, ferry_cg_const_i64(&cv->g, (int64_t[]){nc}, (int64_t[]){1, 1}, 2), slot);
            const char **names = ferry_calloc((size_t)nc + 1, sizeof(char *));
            for (int32_t k = 0; k < nc; k++)
                names[k] = pmml->syms[m->class_sym[k]];
            names[nc] = "";
            int64_t d[] = {nc + 1};
            const char *labels = ferry_cg_const_str(&cv->g, names, d, 1);
            free(names);
            s_named(cv, ferry_cg_op2(&cv->g, "Gather", labels, slot), "label");
            ferry_cg_output(&cv->g, "label", S_ONNX_STRING, 1);
            has_label = true;
        }
        if (invalid)
            probs = s_nan_if(cv, invalid, probs);
        s_named(cv, probs, "probabilities");
        ferry_cg_output(&cv->g, "probabilities", S_ONNX_DOUBLE, m->n_classes);
    } else {
        const char *v = r->value;
        if (invalid)
            v = s_nan_if(cv, invalid, v);
        s_named(cv, v, "value");
        ferry_cg_output(&cv->g, "value", S_ONNX_DOUBLE, 1);
    }
    for (int32_t k = 0; k < n_extra; k++) {
        const char *v = extra_vals[k];
        if (invalid)
            v = s_nan_if(cv, invalid, v);
        s_named(cv, v, extra_names[k]);
        ferry_cg_output(&cv->g, extra_names[k], S_ONNX_DOUBLE, 1);
    }
    if (invalid) {
        s_named(cv, OP1("Not", invalid), "row_valid");
        ferry_cg_output(&cv->g, "row_valid", S_ONNX_BOOL, 1);
    }
    if (cv->rc)
        goto out;
    s_manifest(cv, m, cols, pmml->n_columns, has_label, invalid != NULL, n_extra, &man);
    model = ferry_cg_model(&cv->g, opset, FERRY_CONVERT_ML_OPSET, m->name ? m->name : "pmml");
    ferry_cg_metadata(model, FERRY_CONVERT_MANIFEST_KEY, man.data);
    ferry_onnx_pack(&model->base, onnx_out);
    *manifest_json = ferry_buf_steal(&man);
out:
    if (model)
        protobuf_c_message_free_unpacked(&model->base, NULL);
    ferry_cg_clear(&cv->g);
    ferry_buf_free(&man);
    for (int32_t k = 0; k < n_extra; k++)
        free(extra_names[k]);
    free(extra_names);
    free(extra_vals);
    free(cols);
    free(cv->slot_val);
    free(cv->slot_invalid);
    free(cv->slot_busy);
    free(cv->res);
    free(cv->res_state);
    free(cv->invalid);
    free(cv->in_slots);
    ferry_buf_free(&cv->notes);
    return cv->rc;
}

char *ferry_convert_manifest_path(const char *onnx_path)
{
    size_t n = strlen(onnx_path);
    if (n > 5 && !strcmp(onnx_path + n - 5, ".onnx"))
        n -= 5;
    return ferry_asprintf("%.*s.manifest.json", (int)n, onnx_path);
}

int ferry_convert_file(const char *pmml_path, const char *onnx_path, const ferry_convert_opts_t *opts,
                       ferry_err_t *err)
{
    ferry_pmml_t *pmml = ferry_pmml_load(pmml_path, err);
    if (!pmml)
        return FERRY_CONVERT_EINVALID;
    ferry_buf_t onnx = FERRY_BUF_INIT;
    char *manifest = NULL;
    int rc = ferry_convert_pmml(pmml, pmml_path, opts, &onnx, &manifest, err);
    ferry_pmml_destroy(&pmml);
    if (rc == 0) {
        char *mpath = ferry_convert_manifest_path(onnx_path);
        int wrc = ferry_file_write_atomic(onnx_path, onnx.data, onnx.len);
        if (wrc < 0)
            rc = ferry_err(err, "%s: cannot write: %s", onnx_path, strerror(-wrc));
        else if ((wrc = ferry_file_write_atomic(mpath, manifest, strlen(manifest))) < 0)
            rc = ferry_err(err, "%s: cannot write: %s", mpath, strerror(-wrc));
        free(mpath);
    }
    free(manifest);
    ferry_buf_free(&onnx);
    return rc;
}
