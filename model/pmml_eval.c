/* pmml_eval.c -- the PMML evaluator: scores rows against a compiled ferry_pmml_t
 *
 * Works only on the flat structure of pmml.h: slot values, memoised derived fields,
 * flattened trees, dense coefficient arrays. Missing and invalid values follow the
 * PMML 4.4 rules; a row that cannot be scored fails with a message, never a number. */
#include "model/dataset.h"
#include "model/pmml.h"
#include "util/mem.h"

#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_ARENA_CHUNK 4096
#define S_BLOCK 256   /* rows per batch block: a block's inputs and results stay in cache */
#define S_LANES 8     /* rows evaluated side by side in the neural network kernel */
#define S_MIN_PRECOMP 1  /* batches of at least this many rows use the block kernels */
typedef double s_v2_t __attribute__((vector_size(16))); /* one SSE2 register of lanes */

enum { S_PRE_NONE = 0, S_PRE_ENSEMBLE, S_PRE_REGRESSION, S_PRE_NN };

typedef struct s_chunk {
    struct s_chunk *next;
    size_t used, cap;
    char data[];
} s_chunk_t;

typedef struct {
    bool has;          /* a prediction was made */
    bool has_probs;
    int32_t cls;       /* class index (classification, clustering) */
    double value;      /* regression value or numeric class label */
    double *probs;     /* n_classes (clustering: distances) */
    int32_t entity_sym;
    int32_t n_reasons;
    int32_t *reasons;  /* Scorecard reason codes, best first */
} s_pred_t;

struct ferry_pmml_ctx {
    const ferry_pmml_t *p;
    ferry_pmml_value_t *vals;
    uint8_t *state;    /* DERIVED/MINING/OUTPUT: 0 not computed, 1 computing, 2 done */
    uint8_t *invalid;  /* DATA slots: value failed DataDictionary validity */
    bool any_invalid;
    s_pred_t *preds;   /* per model */
    double *prob_store;
    double *neurons;   /* largest NeuralNetwork */
    double *work;      /* scratch: SVM inputs, votes, medians */
    int32_t *reason_store;
    s_chunk_t *arena;
    ferry_err_t *err;
    int call_depth;
    int get_depth;         /* nested derived-field evaluations */
    uint8_t *basket;       /* AssociationModel: items present in the row's basket */
    int32_t n_basket;
    int32_t *rule_match;   /* AssociationModel: matching rules, ranked */
    /* batch precomputation (ferry_pmml_eval_batch): models evaluated block-wise before
     * the rows are walked one by one; see s_precompute */
    int32_t n_precomp;
    int32_t *precomp;      /* model indexes */
    uint8_t *precomp_kind;
    int32_t *cache_index;  /* per model: position in precomp or -1 */
    int32_t *cache_probs_off;
    int32_t cache_row;     /* row of the block being walked, -1 outside batches */
    double *X;             /* scratch columns for masked inputs: X[slot * S_BLOCK + r], NaN = missing */
    const double **xcol;   /* block input column per DATA slot: the caller's array, X, or NaNs */
    double *nan_col;       /* S_BLOCK NaNs: a field the batch does not provide */
    uint8_t *cache_ok;     /* n_precomp x S_BLOCK */
    double *cache_value;
    int32_t *cache_cls;
    double *cache_probs;
    double *tmp;           /* S_BLOCK x max(n_tables, 2) */
    double *nn_block;      /* n_neurons x S_LANES */
    bool is_direct;        /* outputs written straight from the cache */
};

static const ferry_pmml_value_t s_missing = {0};

/* ---- arena for strings made during a row ------------------------------------------------ */
static char *s_alloc_str(ferry_pmml_ctx_t *ctx, size_t len)
{
    s_chunk_t *c = ctx->arena;
    if (!c || c->used + len + 1 > c->cap) {
        size_t cap = len + 1 > S_ARENA_CHUNK ? len + 1 : S_ARENA_CHUNK;
        s_chunk_t *n = ferry_malloc(sizeof *n + cap);
        n->next = c;
        n->used = 0;
        n->cap = cap;
        ctx->arena = c = n;
    }
    char *s = c->data + c->used;
    c->used += len + 1;
    return s;
}

static ferry_pmml_value_t s_str_value(ferry_pmml_ctx_t *ctx, const char *s, size_t len)
{
    ferry_pmml_value_t v = {.kind = FERRY_PMML_STR};
    v.sym = ferry_pmml_sym_find(ctx->p, s, len);
    if (v.sym >= 0) {
        v.str = ctx->p->syms[v.sym];
    } else {
        char *d = s_alloc_str(ctx, len);
        memcpy(d, s, len);
        d[len] = '\0';
        v.str = d;
    }
    return v;
}

static ferry_pmml_value_t s_num_value(double d)
{
    ferry_pmml_value_t v = {.kind = FERRY_PMML_NUM, .num = d};
    return v;
}

/* shortest representation that reads back to the same double */
static int s_format_num(char *buf, size_t size, double d)
{
    if (d == floor(d) && fabs(d) < 1e15)
        return snprintf(buf, size, "%.0f", d);
    for (int prec = 15; prec <= 17; prec++) {
        int n = snprintf(buf, size, "%.*g", prec, d);
        if (strtod(buf, NULL) == d || prec == 17)
            return n;
    }
    return 0;
}

static int s_fail(ferry_pmml_ctx_t *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int s_fail(ferry_pmml_ctx_t *ctx, const char *fmt, ...)
{
    if (ctx->err && !ctx->err->msg[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ctx->err->msg, sizeof ctx->err->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* ---- context ------------------------------------------------------------------------------ */
static void s_precomp_setup(ferry_pmml_ctx_t *ctx);

ferry_pmml_ctx_t *ferry_pmml_ctx_new(const ferry_pmml_t *p)
{
    ferry_pmml_ctx_t *ctx = ferry_calloc(1, sizeof *ctx);
    ctx->p = p;
    ctx->vals = ferry_calloc((size_t)p->n_fields + 1, sizeof(ferry_pmml_value_t));
    ctx->state = ferry_calloc((size_t)p->n_fields + 1, 1);
    ctx->invalid = ferry_calloc((size_t)p->n_fields + 1, 1);
    ctx->preds = ferry_calloc((size_t)p->n_models + 1, sizeof(s_pred_t));
    size_t nprob = 0, nneur = 1, nwork = 16, nreason = 1;
    for (int32_t i = 0; i < p->n_models; i++) {
        const ferry_pmml_model_t *m = &p->models[i];
        nprob += (size_t)m->n_classes + 1;
        if (m->type == FERRY_PMML_NN && (size_t)m->u.nn.n_neurons + 1 > nneur)
            nneur = (size_t)m->u.nn.n_neurons + 1;
        size_t w = 0;
        if (m->type == FERRY_PMML_SVM)
            w = (size_t)m->u.svm.n_inputs + (size_t)m->n_classes * 2 + 4;
        if (m->type == FERRY_PMML_MINING)
            w = (size_t)m->u.mining_model.n_segments * 2 + (size_t)m->n_classes + 4;
        if (m->type == FERRY_PMML_CLUSTERING)
            w = (size_t)m->u.clustering.n_fields + 4;
        if (m->type == FERRY_PMML_SCORECARD) {
            w = (size_t)m->u.scorecard.n_chars * 2 + 4;
            nreason += (size_t)m->u.scorecard.n_chars + 1;
        }
        if (w > nwork)
            nwork = w;
    }
    ctx->prob_store = ferry_calloc(nprob + 1, sizeof(double));
    ctx->neurons = ferry_calloc(nneur, sizeof(double));
    ctx->work = ferry_calloc(nwork * 2, sizeof(double));
    ctx->reason_store = ferry_calloc(nreason * 2, sizeof(int32_t));
    int32_t nitems = 1, nrules = 1;
    for (int32_t i = 0; i < p->n_models; i++)
        if (p->models[i].type == FERRY_PMML_ASSOCIATION) {
            nitems = FERRY_MAX(nitems, p->models[i].u.association.n_items);
            nrules = FERRY_MAX(nrules, p->models[i].u.association.n_rules);
        }
    ctx->basket = ferry_calloc((size_t)nitems, 1);
    ctx->n_basket = nitems;
    ctx->rule_match = ferry_calloc((size_t)nrules, sizeof(int32_t));
    s_precomp_setup(ctx);
    size_t off = 0, roff = 0;
    for (int32_t i = 0; i < p->n_models; i++) {
        ctx->preds[i].probs = ctx->prob_store + off;
        off += (size_t)p->models[i].n_classes + 1;
        if (p->models[i].type == FERRY_PMML_SCORECARD) {
            ctx->preds[i].reasons = ctx->reason_store + roff;
            roff += (size_t)p->models[i].u.scorecard.n_chars * 2 + 1;
        }
    }
    return ctx;
}

void ferry_pmml_ctx_destroy(ferry_pmml_ctx_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ferry_pmml_ctx_t *ctx = *self_p;
    while (ctx->arena) {
        s_chunk_t *n = ctx->arena->next;
        free(ctx->arena);
        ctx->arena = n;
    }
    free(ctx->vals);
    free(ctx->state);
    free(ctx->invalid);
    free(ctx->preds);
    free(ctx->prob_store);
    free(ctx->neurons);
    free(ctx->work);
    free(ctx->reason_store);
    free(ctx->basket);
    free(ctx->rule_match);
    free(ctx->precomp);
    free(ctx->precomp_kind);
    free(ctx->cache_index);
    free(ctx->cache_probs_off);
    free(ctx->X);
    free(ctx->xcol);
    free(ctx->nan_col);
    free(ctx->cache_ok);
    free(ctx->cache_value);
    free(ctx->cache_cls);
    free(ctx->cache_probs);
    free(ctx->tmp);
    free(ctx->nn_block);
    free(ctx);
    *self_p = NULL;
}

void ferry_pmml_ctx_clear(ferry_pmml_ctx_t *ctx)
{
    const ferry_pmml_t *p = ctx->p;
    memset(ctx->state, 0, (size_t)p->n_fields);
    if (ctx->any_invalid) {
        memset(ctx->invalid, 0, (size_t)p->n_fields);
        ctx->any_invalid = false;
    }
    for (int32_t i = 0; i < p->n_data_fields; i++)
        ctx->vals[i].kind = FERRY_PMML_MISSING;
    memset(ctx->basket, 0, (size_t)ctx->n_basket);
    /* keep one arena chunk */
    if (ctx->arena) {
        while (ctx->arena->next) {
            s_chunk_t *n = ctx->arena->next;
            ctx->arena->next = n->next;
            free(n);
        }
        ctx->arena->used = 0;
    }
}

static bool s_value_eq(const ferry_pmml_value_t *a, const ferry_pmml_value_t *b);

/* DataDictionary validity of a DATA value */
static int s_validity(const ferry_pmml_field_t *f, const ferry_pmml_value_t *v)
{
    for (int32_t i = 0; i < f->n_values; i++)
        if (s_value_eq(&f->values[i], v))
            return f->value_property[i];
    if (f->has_valid_values)
        return FERRY_PMML_INVALID;
    if (v->kind == FERRY_PMML_NUM) {
        if (f->datatype == FERRY_PMML_DT_INTEGER && v->num != floor(v->num))
            return FERRY_PMML_INVALID;
        if (f->n_intervals) {
            for (int32_t i = 0; i < f->n_intervals; i++) {
                const ferry_pmml_interval_t *I = &f->intervals[i];
                bool is_left_ok = I->is_left_open ? v->num > I->left : v->num >= I->left;
                bool is_right_ok = I->is_right_open ? v->num < I->right : v->num <= I->right;
                if (is_left_ok && is_right_ok)
                    return FERRY_PMML_VALID;
            }
            return FERRY_PMML_INVALID;
        }
    }
    return FERRY_PMML_VALID;
}

static void s_set_checked(ferry_pmml_ctx_t *ctx, int32_t slot, ferry_pmml_value_t v)
{
    const ferry_pmml_field_t *f = &ctx->p->fields[slot];
    int val = (f->n_values || f->n_intervals || f->datatype == FERRY_PMML_DT_INTEGER) ? s_validity(f, &v) : FERRY_PMML_VALID;
    if (val == FERRY_PMML_AS_MISSING) {
        ctx->vals[slot].kind = FERRY_PMML_MISSING;
        return;
    }
    if (val == FERRY_PMML_INVALID) {
        ctx->invalid[slot] = 1;
        ctx->any_invalid = true;
    }
    ctx->vals[slot] = v;
}

void ferry_pmml_ctx_set_num(ferry_pmml_ctx_t *ctx, int32_t slot, double v)
{
    if (slot < 0 || slot >= ctx->p->n_data_fields)
        return;
    if (isnan(v)) {
        ctx->vals[slot].kind = FERRY_PMML_MISSING;
        return;
    }
    if (ctx->p->fields[slot].datatype == FERRY_PMML_DT_STRING) {
        char buf[40];
        int n = s_format_num(buf, sizeof buf, v);
        s_set_checked(ctx, slot, s_str_value(ctx, buf, (size_t)n));
        return;
    }
    s_set_checked(ctx, slot, s_num_value(v));
}

void ferry_pmml_ctx_add_item(ferry_pmml_ctx_t *ctx, const char *s, size_t len)
{
    const ferry_pmml_t *p = ctx->p;
    if (p->models[0].type != FERRY_PMML_ASSOCIATION)
        return;
    const ferry_pmml_association_t *a = &p->models[0].u.association;
    int32_t sym = ferry_pmml_sym_find(p, s, len);
    for (int32_t i = 0; sym >= 0 && i < a->n_items; i++)
        if (a->item_sym[i] == sym)
            ctx->basket[i] = 1;
}

void ferry_pmml_ctx_set_missing(ferry_pmml_ctx_t *ctx, int32_t slot)
{
    if (slot >= 0 && slot < ctx->p->n_data_fields)
        ctx->vals[slot].kind = FERRY_PMML_MISSING;
}

static bool s_parse_full(const char *s, size_t len, double *out)
{
    return ferry_parse_double(s, len, out);
}

int ferry_pmml_ctx_set_str(ferry_pmml_ctx_t *ctx, int32_t slot, const char *s, size_t len)
{
    if (slot < 0 || slot >= ctx->p->n_data_fields)
        return 0;
    const ferry_pmml_field_t *f = &ctx->p->fields[slot];
    if (f->datatype == FERRY_PMML_DT_STRING) {
        s_set_checked(ctx, slot, s_str_value(ctx, s, len));
        return 0;
    }
    double d;
    if (f->datatype == FERRY_PMML_DT_BOOLEAN) {
        if ((len == 4 && !strncmp(s, "true", 4)) || (len == 1 && s[0] == '1'))
            d = 1;
        else if ((len == 5 && !strncmp(s, "false", 5)) || (len == 1 && s[0] == '0'))
            d = 0;
        else
            goto bad;
        s_set_checked(ctx, slot, s_num_value(d));
        return 0;
    }
    if (!s_parse_full(s, len, &d))
        goto bad;
    s_set_checked(ctx, slot, s_num_value(d));
    return 0;
bad:
    ctx->vals[slot].kind = FERRY_PMML_MISSING;
    ctx->invalid[slot] = 1;
    ctx->any_invalid = true;
    return -1;
}

/* ---- values --------------------------------------------------------------------------------- */
static bool s_as_num(const ferry_pmml_value_t *v, double *out)
{
    if (v->kind == FERRY_PMML_NUM) {
        *out = v->num;
        return true;
    }
    if (v->kind == FERRY_PMML_STR)
        return s_parse_full(v->str, strlen(v->str), out);
    return false;
}

static bool s_value_eq(const ferry_pmml_value_t *a, const ferry_pmml_value_t *b)
{
    if (a->kind == FERRY_PMML_NUM && b->kind == FERRY_PMML_NUM)
        return a->num == b->num;
    if (a->kind == FERRY_PMML_STR && b->kind == FERRY_PMML_STR) {
        if (a->sym >= 0 && b->sym >= 0)
            return a->sym == b->sym;
        return !strcmp(a->str, b->str);
    }
    double x, y;
    if (a->kind != FERRY_PMML_MISSING && b->kind != FERRY_PMML_MISSING && s_as_num(a, &x) && s_as_num(b, &y))
        return x == y;
    return false;
}

/* -1, 0, 1; *ok false when incomparable */
static int s_value_cmp(const ferry_pmml_value_t *a, const ferry_pmml_value_t *b, bool *ok)
{
    double x, y;
    *ok = true;
    if (a->kind == FERRY_PMML_STR && b->kind == FERRY_PMML_STR) {
        int c = strcmp(a->str, b->str);
        return c < 0 ? -1 : c > 0;
    }
    if (s_as_num(a, &x) && s_as_num(b, &y))
        return x < y ? -1 : x > y;
    *ok = false;
    return 0;
}

static ferry_pmml_value_t s_cast(ferry_pmml_ctx_t *ctx, ferry_pmml_value_t v, int datatype)
{
    if (v.kind == FERRY_PMML_MISSING || datatype == 255)
        return v;
    if (datatype == FERRY_PMML_DT_STRING && v.kind == FERRY_PMML_NUM) {
        char buf[40];
        int n = s_format_num(buf, sizeof buf, v.num);
        return s_str_value(ctx, buf, (size_t)n);
    }
    if (datatype != FERRY_PMML_DT_STRING && v.kind == FERRY_PMML_STR) {
        double d;
        if (datatype == FERRY_PMML_DT_BOOLEAN && (!strcmp(v.str, "true") || !strcmp(v.str, "false")))
            return s_num_value(!strcmp(v.str, "true"));
        if (s_parse_full(v.str, strlen(v.str), &d))
            return s_num_value(datatype == FERRY_PMML_DT_INTEGER ? trunc(d) : d);
        return s_missing;
    }
    if (datatype == FERRY_PMML_DT_INTEGER && v.kind == FERRY_PMML_NUM)
        return s_num_value(trunc(v.num));
    if (datatype == FERRY_PMML_DT_FLOAT && v.kind == FERRY_PMML_NUM)
        return s_num_value((double)(float)v.num);
    return v;
}

/* ---- fields ------------------------------------------------------------------------------------- */
static int s_eval_expr(ferry_pmml_ctx_t *ctx, int32_t e, ferry_pmml_value_t *out);
static const ferry_pmml_value_t *s_get(ferry_pmml_ctx_t *ctx, int32_t slot);

static int s_compute_mining(ferry_pmml_ctx_t *ctx, int32_t slot)
{
    const ferry_pmml_t *p = ctx->p;
    const ferry_pmml_field_t *f = &p->fields[slot];
    ferry_pmml_value_t v;
    int32_t src = f->src;
    const ferry_pmml_field_t *sf = &p->fields[src];
    if (sf->origin == FERRY_PMML_FIELD_DATA || sf->origin == FERRY_PMML_FIELD_PARAM) {
        v = ctx->vals[src];
    } else {
        const ferry_pmml_value_t *sv = s_get(ctx, src);
        if (!sv)
            return -1;
        v = *sv;
    }
    if (sf->origin == FERRY_PMML_FIELD_DATA && ctx->invalid[src]) {
        switch (f->invalid_treatment) {
        case FERRY_PMML_INVALID_RETURN:
            return s_fail(ctx, "field \"%s\": invalid value", sf->name);
        case FERRY_PMML_INVALID_ASMISSING: v = s_missing; break;
        case FERRY_PMML_INVALID_ASVALUE:
            if (f->is_invalid_replacement_set)
                v = f->invalid_replacement;
            else
                v = s_missing;
            break;
        default: break;
        }
    }
    if (v.kind == FERRY_PMML_MISSING) {
        if (f->is_missing_replacement_set == 1)
            v = f->missing_replacement;
        else if (f->is_missing_replacement_set == 2)
            return s_fail(ctx, "field \"%s\": missing value", sf->name);
    } else if (v.kind == FERRY_PMML_NUM && f->outliers != FERRY_PMML_OUTLIER_ASIS) {
        bool is_low = f->has_low && v.num < f->low_value, is_high = f->has_high && v.num > f->high_value;
        if (is_low || is_high) {
            if (f->outliers == FERRY_PMML_OUTLIER_ASMISSING)
                v = f->is_missing_replacement_set == 1 ? f->missing_replacement : s_missing;
            else
                v.num = is_low ? f->low_value : f->high_value;
        }
    }
    ctx->vals[slot] = v;
    return 0;
}

/* The value of a slot for this row: DATA/PARAM as set, DERIVED and MINING computed on
 * first use and memoised, OUTPUT once its model produced it. NULL on error (ctx->err). */
static const ferry_pmml_value_t *s_get(ferry_pmml_ctx_t *ctx, int32_t slot)
{
    const ferry_pmml_field_t *f = &ctx->p->fields[slot];
    switch (f->origin) {
    case FERRY_PMML_FIELD_DATA:
    case FERRY_PMML_FIELD_PARAM: return &ctx->vals[slot];
    case FERRY_PMML_FIELD_OUTPUT: return ctx->state[slot] == 2 ? &ctx->vals[slot] : &s_missing;
    default: break;
    }
    if (ctx->state[slot] == 2)
        return &ctx->vals[slot];
    if (ctx->state[slot] == 1) {
        s_fail(ctx, "field \"%s\" depends on itself", f->name);
        return NULL;
    }
    /* derived fields may chain through each other: bound the recursion */
    if (ctx->get_depth >= FERRY_PMML_MAX_DEPTH) {
        s_fail(ctx, "field \"%s\": derived fields nested deeper than %d", f->name, FERRY_PMML_MAX_DEPTH);
        return NULL;
    }
    ctx->state[slot] = 1;
    ctx->get_depth++;
    int rc = 0;
    if (f->origin == FERRY_PMML_FIELD_MINING) {
        rc = s_compute_mining(ctx, slot);
    } else {
        ferry_pmml_value_t v;
        rc = s_eval_expr(ctx, f->expr, &v);
        if (rc == 0)
            ctx->vals[slot] = s_cast(ctx, v, f->datatype);
    }
    ctx->get_depth--;
    if (rc < 0)
        return NULL;
    ctx->state[slot] = 2;
    return &ctx->vals[slot];
}

/* ---- expressions --------------------------------------------------------------------------------- */
static double s_norm_cdf(double x)
{
    return 0.5 * erfc(-x / M_SQRT2);
}

/* Acklam's rational approximation refined with one Halley step (full double precision). */
static double s_norm_idf(double p)
{
    if (!(p > 0 && p < 1))
        return p == 0 ? -INFINITY : p == 1 ? INFINITY : NAN;
    static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                               1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                               6.680131188771972e+01, -1.328068155288572e+01};
    static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                               -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00};
    static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                               3.754408661907416e+00};
    double q, r, x;
    if (p < 0.02425) {
        q = sqrt(-2 * log(p));
        x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    } else if (p <= 1 - 0.02425) {
        q = p - 0.5;
        r = q * q;
        x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
            (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
    } else {
        q = sqrt(-2 * log(1 - p));
        x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    }
    double e = s_norm_cdf(x) - p;
    double u = e * sqrt(2 * M_PI) * exp(x * x / 2);
    return x - u / (1 + x * u / 2);
}

static int s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* value as text for string functions */
static const char *s_as_text(ferry_pmml_ctx_t *ctx, const ferry_pmml_value_t *v, size_t *len)
{
    if (v->kind == FERRY_PMML_STR) {
        *len = strlen(v->str);
        return v->str;
    }
    char buf[40];
    int n = s_format_num(buf, sizeof buf, v->num);
    char *d = s_alloc_str(ctx, (size_t)n);
    memcpy(d, buf, (size_t)n + 1);
    *len = (size_t)n;
    return d;
}

static int s_format_number(ferry_pmml_ctx_t *ctx, double x, const char *pat, ferry_pmml_value_t *out)
{
    /* one printf conversion, nothing dangerous: %[flags][width][.prec](f|e|E|g|G|d|i|x|X|o) */
    const char *pc = strchr(pat, '%');
    if (!pc || strchr(pc + 1, '%'))
        return s_fail(ctx, "formatNumber: pattern \"%.40s\" needs exactly one %% conversion", pat);
    const char *q = pc + 1;
    while (*q && strchr("-+ 0#", *q))
        q++;
    int digits = 0;
    while (*q >= '0' && *q <= '9' && digits < 3)
        q++, digits++;
    if (*q == '.') {
        q++;
        digits = 0;
        while (*q >= '0' && *q <= '9' && digits < 3)
            q++, digits++;
    }
    if (!*q || !strchr("feEgGdixXo", *q))
        return s_fail(ctx, "formatNumber: unsupported pattern \"%.40s\"", pat);
    char buf[512];
    int n;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    if (strchr("dixXo", *q)) {
        char fmt[64];
        size_t pre = (size_t)(q - pat);
        if (pre + 3 + strlen(q + 1) >= sizeof fmt)
            return s_fail(ctx, "formatNumber: pattern too long");
        memcpy(fmt, pat, pre);
        fmt[pre] = 'l';
        fmt[pre + 1] = 'l';
        strcpy(fmt + pre + 2, q);
        n = snprintf(buf, sizeof buf, fmt, (long long)x);
    } else {
        n = snprintf(buf, sizeof buf, pat, x);
    }
#pragma GCC diagnostic pop
    if (n < 0)
        return s_fail(ctx, "formatNumber failed");
    if ((size_t)n >= sizeof buf)
        n = sizeof buf - 1;
    *out = s_str_value(ctx, buf, (size_t)n);
    return 0;
}

static int s_apply(ferry_pmml_ctx_t *ctx, const ferry_pmml_expr_t *x, ferry_pmml_value_t *args, int32_t n,
                   ferry_pmml_value_t *out)
{
    *out = s_missing;
    int fn = x->fn;
    double a = 0, b = 0, r;
    bool is_a_num = n >= 1 && s_as_num(&args[0], &a);
    bool is_b_num = n >= 2 && s_as_num(&args[1], &b);
    bool any_missing = false;
    for (int32_t i = 0; i < n; i++)
        any_missing |= args[i].kind == FERRY_PMML_MISSING;
    switch (fn) {
    case FERRY_PMML_FN_ISMISSING: *out = s_num_value(args[0].kind == FERRY_PMML_MISSING); return 0;
    case FERRY_PMML_FN_ISNOTMISSING: *out = s_num_value(args[0].kind != FERRY_PMML_MISSING); return 0;
    case FERRY_PMML_FN_ISVALID:
    case FERRY_PMML_FN_ISNOTVALID: {
        bool is_valid = args[0].kind != FERRY_PMML_MISSING;
        int32_t a0 = ctx->p->int_pool[x->off];
        const ferry_pmml_expr_t *ae = &ctx->p->exprs[a0];
        if (is_valid && ae->kind == FERRY_PMML_EX_FIELDREF && ctx->p->fields[ae->field].origin == FERRY_PMML_FIELD_DATA)
            is_valid = !ctx->invalid[ae->field];
        *out = s_num_value(fn == FERRY_PMML_FN_ISVALID ? is_valid : !is_valid);
        return 0;
    }
    case FERRY_PMML_FN_IF: {
        double c;
        if (!s_as_num(&args[0], &c))
            return 0;
        if (c != 0)
            *out = args[1];
        else if (n > 2)
            *out = args[2];
        return 0;
    }
    case FERRY_PMML_FN_AND:
    case FERRY_PMML_FN_OR: {
        bool acc = fn == FERRY_PMML_FN_AND;
        for (int32_t i = 0; i < n; i++) {
            double c;
            if (!s_as_num(&args[i], &c))
                return 0;
            acc = fn == FERRY_PMML_FN_AND ? (acc && c != 0) : (acc || c != 0);
        }
        *out = s_num_value(acc);
        return 0;
    }
    default: break;
    }
    if (any_missing)
        return 0;
    switch (fn) {
    case FERRY_PMML_FN_EQUAL: *out = s_num_value(s_value_eq(&args[0], &args[1])); return 0;
    case FERRY_PMML_FN_NOTEQUAL: *out = s_num_value(!s_value_eq(&args[0], &args[1])); return 0;
    case FERRY_PMML_FN_LT:
    case FERRY_PMML_FN_LE:
    case FERRY_PMML_FN_GT:
    case FERRY_PMML_FN_GE: {
        bool ok;
        int c = s_value_cmp(&args[0], &args[1], &ok);
        if (!ok)
            return 0;
        bool res = fn == FERRY_PMML_FN_LT ? c < 0 : fn == FERRY_PMML_FN_LE ? c <= 0 : fn == FERRY_PMML_FN_GT ? c > 0 : c >= 0;
        *out = s_num_value(res);
        return 0;
    }
    case FERRY_PMML_FN_NOT: *out = s_num_value(is_a_num && a == 0); return 0;
    case FERRY_PMML_FN_ISIN:
    case FERRY_PMML_FN_ISNOTIN: {
        bool found = false;
        for (int32_t i = 1; i < n; i++)
            found |= s_value_eq(&args[0], &args[i]);
        *out = s_num_value(fn == FERRY_PMML_FN_ISIN ? found : !found);
        return 0;
    }
    case FERRY_PMML_FN_UPPERCASE:
    case FERRY_PMML_FN_LOWERCASE:
    case FERRY_PMML_FN_TRIMBLANKS:
    case FERRY_PMML_FN_STRLEN:
    case FERRY_PMML_FN_SUBSTRING: {
        size_t len;
        const char *s = s_as_text(ctx, &args[0], &len);
        if (fn == FERRY_PMML_FN_STRLEN) {
            *out = s_num_value((double)len);
            return 0;
        }
        if (fn == FERRY_PMML_FN_SUBSTRING) {
            if (!is_b_num || n < 3 || !s_as_num(&args[2], &r))
                return s_fail(ctx, "substring: position and length must be numbers");
            double start = b < 1 ? 1 : b;
            size_t st = start - 1 > (double)len ? len : (size_t)(start - 1);
            double want = r < 0 ? 0 : r;
            size_t l = want > (double)(len - st) ? len - st : (size_t)want;
            *out = s_str_value(ctx, s + st, l);
            return 0;
        }
        if (fn == FERRY_PMML_FN_TRIMBLANKS) {
            while (len && (*s == ' ' || *s == '\t'))
                s++, len--;
            while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
                len--;
            *out = s_str_value(ctx, s, len);
            return 0;
        }
        char *d = s_alloc_str(ctx, len);
        for (size_t i = 0; i < len; i++) {
            unsigned char ch = (unsigned char)s[i];
            d[i] = (char)(fn == FERRY_PMML_FN_UPPERCASE ? (ch >= 'a' && ch <= 'z' ? ch - 32 : ch)
                                                         : (ch >= 'A' && ch <= 'Z' ? ch + 32 : ch));
        }
        d[len] = '\0';
        *out = s_str_value(ctx, d, len);
        return 0;
    }
    case FERRY_PMML_FN_CONCAT: {
        size_t total = 0, len;
        for (int32_t i = 0; i < n; i++) {
            s_as_text(ctx, &args[i], &len);
            total += len;
        }
        char *d = s_alloc_str(ctx, total);
        size_t pos = 0;
        for (int32_t i = 0; i < n; i++) {
            const char *s = s_as_text(ctx, &args[i], &len);
            memcpy(d + pos, s, len);
            pos += len;
        }
        d[pos] = '\0';
        *out = s_str_value(ctx, d, pos);
        return 0;
    }
    case FERRY_PMML_FN_MATCHES:
    case FERRY_PMML_FN_REPLACE: {
        size_t l0, l1;
        const char *s = s_as_text(ctx, &args[0], &l0);
        const char *pat = s_as_text(ctx, &args[1], &l1);
        regex_t re;
        if (regcomp(&re, pat, REG_EXTENDED | (fn == FERRY_PMML_FN_MATCHES ? REG_NOSUB : 0)))
            return s_fail(ctx, "bad regular expression \"%.40s\"", pat);
        if (fn == FERRY_PMML_FN_MATCHES) {
            *out = s_num_value(regexec(&re, s, 0, NULL, 0) == 0);
            regfree(&re);
            return 0;
        }
        size_t l2;
        const char *rep = s_as_text(ctx, &args[2], &l2);
        size_t cap = l0 + 1, pos = 0;
        char *res = ferry_malloc(cap);
        const char *cur = s;
        regmatch_t m;
        int guard = 0;
        while (*cur && regexec(&re, cur, 1, &m, cur == s ? 0 : REG_NOTBOL) == 0 && guard++ < 100000) {
            size_t need = pos + (size_t)m.rm_so + l2 + 1;
            if (need > cap) {
                cap = need * 2;
                res = ferry_realloc(res, cap);
            }
            memcpy(res + pos, cur, (size_t)m.rm_so);
            pos += (size_t)m.rm_so;
            memcpy(res + pos, rep, l2);
            pos += l2;
            cur += m.rm_eo > m.rm_so ? m.rm_eo : m.rm_so + 1;
            if (m.rm_eo == m.rm_so) {
                res[pos++] = cur[-1];
            }
        }
        size_t rest = strlen(cur);
        if (pos + rest + 1 > cap)
            res = ferry_realloc(res, pos + rest + 1);
        memcpy(res + pos, cur, rest);
        pos += rest;
        *out = s_str_value(ctx, res, pos);
        free(res);
        regfree(&re);
        return 0;
    }
    case FERRY_PMML_FN_FORMATNUMBER: {
        size_t l;
        const char *pat = s_as_text(ctx, &args[1], &l);
        if (!is_a_num)
            return s_fail(ctx, "formatNumber: not a number");
        return s_format_number(ctx, a, pat, out);
    }
    default: break;
    }
    /* numeric functions */
    double *nums = ctx->work;
    double local[8];
    if (n > 8)
        nums = ferry_malloc((size_t)n * sizeof(double));
    else
        nums = local;
    for (int32_t i = 0; i < n; i++)
        if (!s_as_num(&args[i], &nums[i])) {
            if (nums != local)
                free(nums);
            return s_fail(ctx, "function argument %d is not a number", i + 1);
        }
    a = n > 0 ? nums[0] : 0;
    b = n > 1 ? nums[1] : 0;
    switch (fn) {
    case FERRY_PMML_FN_ADD: r = a + b; break;
    case FERRY_PMML_FN_SUB: r = a - b; break;
    case FERRY_PMML_FN_MUL: r = a * b; break;
    case FERRY_PMML_FN_DIV: r = a / b; break;
    case FERRY_PMML_FN_MIN: r = a; for (int32_t i = 1; i < n; i++) r = nums[i] < r ? nums[i] : r; break;
    case FERRY_PMML_FN_MAX: r = a; for (int32_t i = 1; i < n; i++) r = nums[i] > r ? nums[i] : r; break;
    case FERRY_PMML_FN_SUM: r = 0; for (int32_t i = 0; i < n; i++) r += nums[i]; break;
    case FERRY_PMML_FN_AVG: r = 0; for (int32_t i = 0; i < n; i++) r += nums[i]; r /= n; break;
    case FERRY_PMML_FN_PRODUCT: r = 1; for (int32_t i = 0; i < n; i++) r *= nums[i]; break;
    case FERRY_PMML_FN_MEDIAN:
        qsort(nums, (size_t)n, sizeof(double), s_cmp_double);
        r = n % 2 ? nums[n / 2] : (nums[n / 2 - 1] + nums[n / 2]) / 2;
        break;
    case FERRY_PMML_FN_LOG10: r = log10(a); break;
    case FERRY_PMML_FN_LN: r = log(a); break;
    case FERRY_PMML_FN_SQRT: r = sqrt(a); break;
    case FERRY_PMML_FN_ABS: r = fabs(a); break;
    case FERRY_PMML_FN_EXP: r = exp(a); break;
    case FERRY_PMML_FN_POW: r = pow(a, b); break;
    case FERRY_PMML_FN_THRESHOLD: r = a > b ? 1 : 0; break;
    case FERRY_PMML_FN_FLOOR: r = floor(a); break;
    case FERRY_PMML_FN_CEIL: r = ceil(a); break;
    case FERRY_PMML_FN_ROUND: r = floor(a + 0.5); break;
    case FERRY_PMML_FN_RINT: r = nearbyint(a); break;
    case FERRY_PMML_FN_MODULO: r = a - b * floor(a / b); break;
    case FERRY_PMML_FN_EXPM1: r = expm1(a); break;
    case FERRY_PMML_FN_LN1P: r = log1p(a); break;
    case FERRY_PMML_FN_LOGISTIC: r = 1 / (1 + exp(-a)); break;
    case FERRY_PMML_FN_ATAN: r = atan(a); break;
    case FERRY_PMML_FN_SIN: r = sin(a); break;
    case FERRY_PMML_FN_COS: r = cos(a); break;
    case FERRY_PMML_FN_TAN: r = tan(a); break;
    case FERRY_PMML_FN_ASIN: r = asin(a); break;
    case FERRY_PMML_FN_ACOS: r = acos(a); break;
    case FERRY_PMML_FN_SINH: r = sinh(a); break;
    case FERRY_PMML_FN_COSH: r = cosh(a); break;
    case FERRY_PMML_FN_TANH: r = tanh(a); break;
    case FERRY_PMML_FN_HYPOT: r = hypot(a, b); break;
    case FERRY_PMML_FN_STDNORM_CDF: r = s_norm_cdf(a); break;
    case FERRY_PMML_FN_STDNORM_PDF: r = exp(-a * a / 2) / sqrt(2 * M_PI); break;
    case FERRY_PMML_FN_STDNORM_IDF: r = s_norm_idf(a); break;
    case FERRY_PMML_FN_ERF: r = erf(a); break;
    case FERRY_PMML_FN_NORM_CDF: r = s_norm_cdf((a - b) / nums[2]); break;
    case FERRY_PMML_FN_NORM_PDF: r = exp(-(a - b) * (a - b) / (2 * nums[2] * nums[2])) / (nums[2] * sqrt(2 * M_PI)); break;
    case FERRY_PMML_FN_NORM_IDF: r = b + nums[2] * s_norm_idf(a); break;
    default:
        if (nums != local)
            free(nums);
        return s_fail(ctx, "function %d not implemented", fn);
    }
    if (nums != local)
        free(nums);
    if (isnan(r) || isinf(r)) {
        /* invalid result (log of a negative, division by zero): PMML says invalid */
        if (x->invalid_as_missing)
            return 0;
        return s_fail(ctx, "function result is not a finite number");
    }
    *out = s_num_value(r);
    return 0;
}

static int s_eval_expr(ferry_pmml_ctx_t *ctx, int32_t e, ferry_pmml_value_t *out)
{
    const ferry_pmml_t *p = ctx->p;
    const ferry_pmml_expr_t *x = &p->exprs[e];
    const ferry_pmml_value_t *v;
    switch (x->kind) {
    case FERRY_PMML_EX_CONST: *out = x->value; return 0;
    case FERRY_PMML_EX_FIELDREF:
        if (!(v = s_get(ctx, x->field)))
            return -1;
        *out = v->kind == FERRY_PMML_MISSING ? x->map_missing_to : *v;
        return 0;
    case FERRY_PMML_EX_NORMCONT: {
        if (!(v = s_get(ctx, x->field)))
            return -1;
        double d;
        if (v->kind == FERRY_PMML_MISSING || !s_as_num(v, &d)) {
            *out = x->map_missing_to;
            return 0;
        }
        const double *o = p->num_pool + x->off, *nm = o + x->n;
        int32_t k = x->n;
        if (d < o[0] || d > o[k - 1]) {
            if (x->outliers == FERRY_PMML_OUTLIER_ASMISSING) {
                *out = x->map_missing_to;
                return 0;
            }
            if (x->outliers == FERRY_PMML_OUTLIER_ASEXTREME) {
                *out = s_num_value(d < o[0] ? nm[0] : nm[k - 1]);
                return 0;
            }
        }
        int32_t i = 1;
        while (i < k - 1 && d > o[i])
            i++;
        double r = nm[i - 1] + (d - o[i - 1]) / (o[i] - o[i - 1]) * (nm[i] - nm[i - 1]);
        *out = s_num_value(r);
        return 0;
    }
    case FERRY_PMML_EX_NORMDISC:
        if (!(v = s_get(ctx, x->field)))
            return -1;
        if (v->kind == FERRY_PMML_MISSING)
            *out = x->map_missing_to;
        else
            *out = s_num_value(s_value_eq(v, &x->disc_value) ? 1 : 0);
        return 0;
    case FERRY_PMML_EX_DISCRETIZE: {
        if (!(v = s_get(ctx, x->field)))
            return -1;
        double d;
        if (v->kind == FERRY_PMML_MISSING || !s_as_num(v, &d)) {
            *out = x->map_missing_to;
            return 0;
        }
        for (int32_t i = 0; i < x->n; i++) {
            const ferry_pmml_interval_t *I = &p->interval_pool[x->off + i];
            bool is_l = I->is_left_open ? d > I->left : d >= I->left;
            bool is_r = I->is_right_open ? d < I->right : d <= I->right;
            if (is_l && is_r) {
                *out = p->value_pool[x->aux + i];
                return 0;
            }
        }
        *out = x->default_value;
        return 0;
    }
    case FERRY_PMML_EX_MAPVALUES: {
        int32_t nc = x->ncols;
        ferry_pmml_value_t key[16];
        if (nc > 16)
            return s_fail(ctx, "MapValues with more than 16 columns");
        for (int32_t j = 0; j < nc; j++) {
            if (!(v = s_get(ctx, p->int_pool[x->aux + j])))
                return -1;
            if (v->kind == FERRY_PMML_MISSING) {
                *out = x->map_missing_to;
                return 0;
            }
            key[j] = *v;
        }
        for (int32_t r = 0; r < x->n; r++) {
            const ferry_pmml_value_t *row = &p->value_pool[x->off + r * (nc + 1)];
            bool match = true;
            for (int32_t j = 0; j < nc && match; j++)
                match = s_value_eq(&row[j], &key[j]);
            if (match) {
                *out = row[nc];
                return 0;
            }
        }
        *out = x->default_value;
        return 0;
    }
    case FERRY_PMML_EX_APPLY:
    case FERRY_PMML_EX_CALL: {
        int32_t n = x->n;
        ferry_pmml_value_t local[8];
        ferry_pmml_value_t *args = n > 8 ? ferry_malloc((size_t)n * sizeof *args) : local;
        int rc = 0;
        bool any_missing = false;
        for (int32_t i = 0; i < n && rc == 0; i++) {
            rc = s_eval_expr(ctx, p->int_pool[x->off + i], &args[i]);
            any_missing |= args[i].kind == FERRY_PMML_MISSING;
        }
        if (rc == 0) {
            if (any_missing && x->map_missing_to.kind != FERRY_PMML_MISSING) {
                *out = x->map_missing_to;
            } else if (x->kind == FERRY_PMML_EX_APPLY) {
                rc = s_apply(ctx, x, args, n, out);
            } else {
                const ferry_pmml_function_t *f = &p->functions[x->fn];
                if (ctx->call_depth >= FERRY_PMML_MAX_CALL_DEPTH) {
                    rc = s_fail(ctx, "function %s nested too deeply", f->name);
                } else {
                    ferry_pmml_value_t saved[8];
                    ferry_pmml_value_t *sv = n > 8 ? ferry_malloc((size_t)n * sizeof *sv) : saved;
                    for (int32_t i = 0; i < n; i++) {
                        sv[i] = ctx->vals[f->param_slots[i]];
                        ctx->vals[f->param_slots[i]] = s_cast(ctx, args[i], p->fields[f->param_slots[i]].datatype);
                    }
                    ctx->call_depth++;
                    rc = s_eval_expr(ctx, f->body, out);
                    ctx->call_depth--;
                    for (int32_t i = 0; i < n; i++)
                        ctx->vals[f->param_slots[i]] = sv[i];
                    if (sv != saved)
                        free(sv);
                }
            }
            if (rc == 0 && out->kind == FERRY_PMML_MISSING && !any_missing)
                *out = x->default_value;
        }
        if (args != local)
            free(args);
        return rc;
    }
    }
    return s_fail(ctx, "unknown expression kind");
}

/* ---- predicates ------------------------------------------------------------------------------------- */
enum { S_FALSE = 0, S_TRUE = 1, S_UNKNOWN = 2 };

static int s_pred(ferry_pmml_ctx_t *ctx, int32_t pi)
{
    const ferry_pmml_t *p = ctx->p;
    const ferry_pmml_pred_t *pr = &p->preds[pi];
    switch (pr->kind) {
    case FERRY_PMML_PR_TRUE: return S_TRUE;
    case FERRY_PMML_PR_FALSE: return S_FALSE;
    case FERRY_PMML_PR_SIMPLE: {
        const ferry_pmml_value_t *v = s_get(ctx, pr->field);
        if (!v)
            return -1;
        if (pr->op == FERRY_PMML_CMP_ISMISSING)
            return v->kind == FERRY_PMML_MISSING ? S_TRUE : S_FALSE;
        if (pr->op == FERRY_PMML_CMP_ISNOTMISSING)
            return v->kind != FERRY_PMML_MISSING ? S_TRUE : S_FALSE;
        if (v->kind == FERRY_PMML_MISSING)
            return S_UNKNOWN;
        int c;
        if (v->kind == FERRY_PMML_NUM && pr->value.kind == FERRY_PMML_NUM) {
            double a = v->num, b = pr->value.num;
            switch (pr->op) {
            case FERRY_PMML_CMP_EQ: return a == b;
            case FERRY_PMML_CMP_NE: return a != b;
            case FERRY_PMML_CMP_LT: return a < b;
            case FERRY_PMML_CMP_LE: return a <= b;
            case FERRY_PMML_CMP_GT: return a > b;
            default: return a >= b;
            }
        }
        if (pr->op == FERRY_PMML_CMP_EQ)
            return s_value_eq(v, &pr->value);
        if (pr->op == FERRY_PMML_CMP_NE)
            return !s_value_eq(v, &pr->value);
        bool ok;
        c = s_value_cmp(v, &pr->value, &ok);
        if (!ok)
            return S_UNKNOWN;
        switch (pr->op) {
        case FERRY_PMML_CMP_LT: return c < 0;
        case FERRY_PMML_CMP_LE: return c <= 0;
        case FERRY_PMML_CMP_GT: return c > 0;
        default: return c >= 0;
        }
    }
    case FERRY_PMML_PR_SET: {
        const ferry_pmml_value_t *v = s_get(ctx, pr->field);
        if (!v)
            return -1;
        if (v->kind == FERRY_PMML_MISSING)
            return S_UNKNOWN;
        bool found = false;
        for (int32_t i = 0; i < pr->n && !found; i++)
            found = s_value_eq(v, &p->value_pool[pr->off + i]);
        return (pr->op == 0) == found ? S_TRUE : S_FALSE;
    }
    case FERRY_PMML_PR_COMPOUND: {
        const int32_t *kids = p->int_pool + pr->off;
        bool any_unknown = false;
        int acc = pr->op == FERRY_PMML_BOOL_XOR ? 0 : -1;
        for (int32_t i = 0; i < pr->n; i++) {
            int r = s_pred(ctx, kids[i]);
            if (r < 0)
                return -1;
            switch (pr->op) {
            case FERRY_PMML_BOOL_AND:
                if (r == S_FALSE)
                    return S_FALSE;
                any_unknown |= r == S_UNKNOWN;
                break;
            case FERRY_PMML_BOOL_OR:
                if (r == S_TRUE)
                    return S_TRUE;
                any_unknown |= r == S_UNKNOWN;
                break;
            case FERRY_PMML_BOOL_XOR:
                if (r == S_UNKNOWN)
                    return S_UNKNOWN;
                acc ^= r;
                break;
            default: /* surrogate */
                if (r != S_UNKNOWN)
                    return r;
                any_unknown = true;
                break;
            }
        }
        if (pr->op == FERRY_PMML_BOOL_XOR)
            return acc;
        if (any_unknown)
            return S_UNKNOWN;
        return pr->op == FERRY_PMML_BOOL_AND ? S_TRUE : S_FALSE;
    }
    }
    return s_fail(ctx, "unknown predicate kind");
}

/* ---- models ---------------------------------------------------------------------------------------------- */
static int s_eval_model(ferry_pmml_ctx_t *ctx, int32_t mi);

static int32_t s_argmax(const double *v, int32_t n)
{
    int32_t best = -1;
    for (int32_t i = 0; i < n; i++)
        if (!isnan(v[i]) && (best < 0 || v[i] > v[best]))
            best = i;
    return best;
}

static void s_set_class(ferry_pmml_ctx_t *ctx, const ferry_pmml_model_t *m, s_pred_t *pr, int32_t cls)
{
    (void)ctx;
    pr->has = cls >= 0;
    pr->cls = cls;
    pr->value = cls >= 0 ? m->class_num[cls] : NAN;
}

/* The fast walker: same result as the general one for rows without missing values on the
 * path. Returns the node reached, -1 for no prediction, -2 when a value is missing. */
static inline bool s_fast_test(const ferry_pmml_fastnode_t *f, const ferry_pmml_value_t *vals, bool *is_missing)
{
    if (f->kind != FERRY_PMML_PR_SIMPLE)
        return f->kind == FERRY_PMML_PR_TRUE;
    const ferry_pmml_value_t *v = &vals[f->field];
    if (v->kind != FERRY_PMML_NUM) {
        *is_missing = true;
        return false;
    }
    double a = v->num, b = f->threshold;
    switch (f->op) {
    case FERRY_PMML_CMP_EQ: return a == b;
    case FERRY_PMML_CMP_NE: return a != b;
    case FERRY_PMML_CMP_LT: return a < b;
    case FERRY_PMML_CMP_LE: return a <= b;
    case FERRY_PMML_CMP_GT: return a > b;
    default: return a >= b;
    }
}

static int32_t s_fast_walk(const ferry_pmml_tree_t *t, const ferry_pmml_value_t *vals)
{
    const ferry_pmml_fastnode_t *fast = t->fast;
    bool is_missing = false;
    if (!s_fast_test(&fast[0], vals, &is_missing))
        return is_missing ? -2 : -1;
    int32_t cur = 0;
    for (;;) {
        const ferry_pmml_fastnode_t *n = &fast[cur];
        if (!n->n_children)
            return cur;
        int32_t c = n->first_child;
        if (n->is_pair) {
            bool is_first = s_fast_test(&fast[c], vals, &is_missing);
            if (is_missing)
                return -2;
            cur = is_first ? c : c + 1;
            continue;
        }
        int32_t next = -1;
        for (int32_t end = c + n->n_children; c < end; c++) {
            if (s_fast_test(&fast[c], vals, &is_missing)) {
                next = c;
                break;
            }
            if (is_missing)
                return -2;
        }
        if (next < 0)
            return t->is_no_true_child_last ? cur : -1;
        cur = next;
    }
}

static void s_tree_result(ferry_pmml_ctx_t *ctx, const ferry_pmml_model_t *m, s_pred_t *pr, int32_t cur);

static int s_eval_tree(ferry_pmml_ctx_t *ctx, const ferry_pmml_model_t *m, s_pred_t *pr)
{
    const ferry_pmml_tree_t *t = &m->u.tree;
    const ferry_pmml_node_t *nodes = t->nodes;
    if (t->fast) {
        int32_t cur = s_fast_walk(t, ctx->vals);
        if (cur >= 0)
            s_tree_result(ctx, m, pr, cur);
        if (cur != -2)
            return 0;
    }
    int r = s_pred(ctx, nodes[0].pred);
    if (r < 0)
        return -1;
    if (r != S_TRUE)
        return 0;
    int32_t cur = 0;
    for (;;) {
        const ferry_pmml_node_t *n = &nodes[cur];
        if (!n->n_children)
            break;
        int32_t next = -1;
        for (int32_t c = n->first_child; c < n->first_child + n->n_children; c++) {
            r = s_pred(ctx, nodes[c].pred);
            if (r < 0)
                return -1;
            if (r == S_TRUE) {
                next = c;
                break;
            }
            if (r == S_UNKNOWN) {
                switch (t->missing_value_strategy) {
                case FERRY_PMML_MVS_NONE: continue;
                case FERRY_PMML_MVS_LAST: goto done;
                case FERRY_PMML_MVS_NULL: return 0;
                default:
                    if (n->default_child < 0)
                        goto done;
                    next = n->default_child;
                    break;
                }
                break;
            }
        }
        if (next < 0) {
            if (t->is_no_true_child_last)
                break;
            return 0;
        }
        cur = next;
    }
done:
    s_tree_result(ctx, m, pr, cur);
    return 0;
}

static void s_tree_result(ferry_pmml_ctx_t *ctx, const ferry_pmml_model_t *m, s_pred_t *pr, int32_t cur)
{
    const ferry_pmml_node_t *n = &m->u.tree.nodes[cur];
    pr->entity_sym = n->id_sym;
    if (m->function == FERRY_PMML_FN_CLASSIFICATION) {
        int32_t nc = m->n_classes;
        if (n->dist_off >= 0) {
            memcpy(pr->probs, ctx->p->num_pool + n->dist_off, (size_t)nc * sizeof(double));
            pr->has_probs = true;
        } else if (n->has_score) {
            memset(pr->probs, 0, (size_t)nc * sizeof(double));
            pr->probs[n->score_class] = 1;
            pr->has_probs = true;
        }
        int32_t cls = n->has_score ? n->score_class : (n->dist_off >= 0 ? s_argmax(pr->probs, nc) : -1);
        s_set_class(ctx, m, pr, cls);
        return;
    }
    if (!n->has_score)
        return;
    pr->has = true;
    pr->value = n->score;
}

static double s_weighted_median(double *vals, double *w, int32_t n)
{
    /* insertion sort by value (segments are few) */
    for (int32_t i = 1; i < n; i++)
        for (int32_t j = i; j > 0 && vals[j] < vals[j - 1]; j--) {
            double t = vals[j]; vals[j] = vals[j - 1]; vals[j - 1] = t;
            t = w[j]; w[j] = w[j - 1]; w[j - 1] = t;
        }
    double total = 0, acc = 0;
    for (int32_t i = 0; i < n; i++)
        total += w[i];
    for (int32_t i = 0; i < n; i++) {
        acc += w[i];
        if (acc >= total / 2)
            return vals[i];
    }
    return vals[n - 1];
}

static int s_eval_outputs(ferry_pmml_ctx_t *ctx, int32_t mi);

static int s_eval_mining(ferry_pmml_ctx_t *ctx, int32_t mi, const ferry_pmml_model_t *m, s_pred_t *pr)
{
    const ferry_pmml_t *p = ctx->p;
    const ferry_pmml_mining_t *mm = &m->u.mining_model;
    int method = mm->method;
    int32_t nc = m->n_classes;
    bool is_class = m->function == FERRY_PMML_FN_CLASSIFICATION || m->function == FERRY_PMML_FN_CLUSTERING;
    double *vals = ctx->work, *ws = ctx->work + mm->n_segments;
    int32_t count = 0;
    double sum = 0, wsum = 0;
    if (is_class)
        memset(pr->probs, 0, (size_t)nc * sizeof(double));
    int32_t best_seg = -1;
    double best_val = -INFINITY;
    for (int32_t s = 0; s < mm->n_segments; s++) {
        const ferry_pmml_segment_t *seg = &mm->segments[s];
        int r = s_pred(ctx, seg->pred);
        if (r < 0)
            return -1;
        if (r != S_TRUE)
            continue;
        if (s_eval_model(ctx, seg->model) < 0)
            return -1;
        const s_pred_t *sp = &ctx->preds[seg->model];
        const ferry_pmml_model_t *sm = &p->models[seg->model];
        if (method == FERRY_PMML_SEG_CHAIN) {
            if (s_eval_outputs(ctx, seg->model) < 0)
                return -1;
            best_seg = s;
            continue;
        }
        if (method == FERRY_PMML_SEG_SELECTFIRST) {
            best_seg = s;
            break;
        }
        if (!sp->has)
            return 0; /* a segment without a prediction: no ensemble prediction */
        const int32_t *map = p->int_pool + seg->class_map_off;
        if (is_class) {
            switch (method) {
            case FERRY_PMML_SEG_VOTE:
            case FERRY_PMML_SEG_WVOTE: {
                double w = method == FERRY_PMML_SEG_WVOTE ? seg->weight : 1;
                pr->probs[map[sp->cls]] += w;
                wsum += w;
                break;
            }
            case FERRY_PMML_SEG_AVERAGE:
            case FERRY_PMML_SEG_WAVERAGE: {
                double w = method == FERRY_PMML_SEG_WAVERAGE ? seg->weight : 1;
                if (!sp->has_probs)
                    return s_fail(ctx, "segment %d has no probabilities to average", s + 1);
                for (int32_t k = 0; k < sm->n_classes; k++)
                    pr->probs[map[k]] += w * sp->probs[k];
                wsum += w;
                break;
            }
            case FERRY_PMML_SEG_MAX: {
                double v = sp->has_probs ? sp->probs[sp->cls] : 1;
                if (best_seg < 0 || v > best_val) {
                    best_val = v;
                    best_seg = s;
                }
                break;
            }
            default:
                return s_fail(ctx, "multipleModelMethod not supported for classification");
            }
        } else {
            double w = seg->weight;
            switch (method) {
            case FERRY_PMML_SEG_AVERAGE: sum += sp->value; wsum += 1; break;
            case FERRY_PMML_SEG_WAVERAGE: sum += w * sp->value; wsum += w; break;
            case FERRY_PMML_SEG_SUM: sum += sp->value; break;
            case FERRY_PMML_SEG_WSUM: sum += w * sp->value; break;
            case FERRY_PMML_SEG_MEDIAN:
            case FERRY_PMML_SEG_WMEDIAN:
                vals[count] = sp->value;
                ws[count] = method == FERRY_PMML_SEG_WMEDIAN ? w : 1;
                break;
            case FERRY_PMML_SEG_MAX:
                if (best_seg < 0 || sp->value > best_val) {
                    best_val = sp->value;
                    best_seg = s;
                }
                break;
            default: return s_fail(ctx, "multipleModelMethod not supported for regression");
            }
        }
        count++;
    }
    if (method == FERRY_PMML_SEG_CHAIN || method == FERRY_PMML_SEG_SELECTFIRST ||
        (method == FERRY_PMML_SEG_MAX)) {
        if (best_seg < 0)
            return 0;
        const ferry_pmml_segment_t *seg = &mm->segments[best_seg];
        const s_pred_t *sp = &ctx->preds[seg->model];
        const ferry_pmml_model_t *sm = &p->models[seg->model];
        if (!sp->has)
            return 0;
        pr->entity_sym = sp->entity_sym;
        if (is_class) {
            const int32_t *map = p->int_pool + seg->class_map_off;
            pr->has_probs = sp->has_probs;
            for (int32_t k = 0; k < sm->n_classes; k++)
                pr->probs[map[k]] = sp->probs[k];
            s_set_class(ctx, m, pr, map[sp->cls]);
        } else {
            pr->has = true;
            pr->value = sp->value;
        }
        return 0;
    }
    if (!count)
        return 0;
    if (is_class) {
        if (wsum <= 0)
            return 0;
        for (int32_t k = 0; k < nc; k++)
            pr->probs[k] /= wsum;
        pr->has_probs = true;
        s_set_class(ctx, m, pr, s_argmax(pr->probs, nc));
        return 0;
    }
    pr->has = true;
    switch (method) {
    case FERRY_PMML_SEG_AVERAGE:
    case FERRY_PMML_SEG_WAVERAGE: pr->value = sum / wsum; break;
    case FERRY_PMML_SEG_MEDIAN:
    case FERRY_PMML_SEG_WMEDIAN:
        if (method == FERRY_PMML_SEG_MEDIAN) {
            qsort(vals, (size_t)count, sizeof(double), s_cmp_double);
            pr->value = count % 2 ? vals[count / 2] : (vals[count / 2 - 1] + vals[count / 2]) / 2;
        } else {
            pr->value = s_weighted_median(vals, ws, count);
        }
        break;
    default: pr->value = sum; break;
    }
    return 0;
}

static double s_regnorm(int norm, double y)
{
    switch (norm) {
    case FERRY_PMML_NORM_SOFTMAX:
    case FERRY_PMML_NORM_LOGIT: return 1 / (1 + exp(-y));
    case FERRY_PMML_NORM_EXP: return exp(y);
    case FERRY_PMML_NORM_PROBIT: return s_norm_cdf(y);
    case FERRY_PMML_NORM_CLOGLOG: return 1 - exp(-exp(y));
    case FERRY_PMML_NORM_LOGLOG: return exp(-exp(-y));
    case FERRY_PMML_NORM_CAUCHIT: return 0.5 + atan(y) / M_PI;
    default: return y;
    }
}

/* returns 0 and sets *y, or 1 when an input is missing */
static int s_regtable(ferry_pmml_ctx_t *ctx, const ferry_pmml_regtable_t *t, double *y)
{
    double acc = t->intercept;
    const ferry_pmml_value_t *v;
    for (int32_t i = 0; i < t->n_num; i++) {
        if (!(v = s_get(ctx, t->num_field[i])))
            return -1;
        double d;
        if (v->kind == FERRY_PMML_NUM)
            d = v->num;
        else if (!s_as_num(v, &d))
            return 1;
        double e = t->num_exp[i];
        acc += t->num_coef[i] * (e == 1 ? d : pow(d, e));
    }
    for (int32_t i = 0; i < t->n_cat; i++) {
        if (!(v = s_get(ctx, t->cat_field[i])))
            return -1;
        if (v->kind == FERRY_PMML_MISSING)
            return 1;
        if (s_value_eq(v, &t->cat_value[i]))
            acc += t->cat_coef[i];
    }
    for (int32_t k = 0; k < t->n_terms; k++) {
        double prod = t->term_coef[k];
        for (int32_t j = 0; j < t->term_n[k]; j++) {
            if (!(v = s_get(ctx, ctx->p->int_pool[t->term_off[k] + j])))
                return -1;
            double d;
            if (!s_as_num(v, &d))
                return 1;
            prod *= d;
        }
        acc += prod;
    }
    *y = acc;
    return 0;
}

static void s_normalize_probs(int norm, double *y, int32_t n)
{
    if (norm == FERRY_PMML_NORM_SOFTMAX) {
        double mx = -INFINITY, sum = 0;
        for (int32_t k = 0; k < n; k++)
            mx = y[k] > mx ? y[k] : mx;
        for (int32_t k = 0; k < n; k++)
            sum += (y[k] = exp(y[k] - mx));
        for (int32_t k = 0; k < n; k++)
            y[k] /= sum;
    } else if (norm == FERRY_PMML_NORM_SIMPLEMAX) {
        double sum = 0;
        for (int32_t k = 0; k < n; k++)
            sum += y[k];
        for (int32_t k = 0; k < n; k++)
            y[k] /= sum;
    } else if (norm == FERRY_PMML_NORM_EXP) {
        for (int32_t k = 0; k < n; k++)
            y[k] = exp(y[k]);
    } else if (n == 2) {
        y[0] = s_regnorm(norm, y[0]);
        y[1] = 1 - y[0];
    } else if (norm != FERRY_PMML_NORM_NONE) {
        double sum = 0;
        for (int32_t k = 0; k < n - 1; k++)
            sum += (y[k] = s_regnorm(norm, y[k]));
        y[n - 1] = 1 - sum;
    }
}

static void s_reg_finish(ferry_pmml_ctx_t *ctx, const ferry_pmml_model_t *m, s_pred_t *pr, double *y);

static int s_eval_regression(ferry_pmml_ctx_t *ctx, const ferry_pmml_model_t *m, s_pred_t *pr)
{
    const ferry_pmml_regression_t *r = &m->u.regression;
    if (m->function != FERRY_PMML_FN_CLASSIFICATION) {
        double y;
        int rc = s_regtable(ctx, &r->tables[0], &y);
        if (rc)
            return rc < 0 ? -1 : 0;
        pr->has = true;
        pr->value = s_regnorm(r->normalization, y);
        return 0;
    }
    int32_t nt = r->n_tables;
    double y[nt > 0 ? nt : 1];
    for (int32_t t = 0; t < nt; t++) {
        int rc = s_regtable(ctx, &r->tables[t], &y[t]);
        if (rc)
            return rc < 0 ? -1 : 0;
    }
    s_reg_finish(ctx, m, pr, y);
    return 0;
}

/* classification probabilities from the table values y[] (overwritten) */
static void s_reg_finish(ferry_pmml_ctx_t *ctx, const ferry_pmml_model_t *m, s_pred_t *pr, double *y)
{
    const ferry_pmml_regression_t *r = &m->u.regression;
    int32_t nc = m->n_classes, nt = r->n_tables;
    s_normalize_probs(r->normalization, y, nt);
    for (int32_t k = 0; k < nc; k++)
        pr->probs[k] = 0;
    for (int32_t t = 0; t < nt; t++)
        if (r->tables[t].class_idx >= 0)
            pr->probs[r->tables[t].class_idx] = y[t];
    pr->has_probs = true;
    s_set_class(ctx, m, pr, s_argmax(pr->probs, nc));
}

static double s_inverse_link(const ferry_pmml_genreg_t *g, double eta)
{
    double pw = g->link_power;
    switch (g->link) {
    case FERRY_PMML_LINK_LOGIT: return 1 / (1 + exp(-eta));
    case FERRY_PMML_LINK_PROBIT: return s_norm_cdf(eta);
    case FERRY_PMML_LINK_CLOGLOG: return 1 - exp(-exp(eta));
    case FERRY_PMML_LINK_LOGLOG: return exp(-exp(-eta));
    case FERRY_PMML_LINK_LOG: return exp(eta);
    case FERRY_PMML_LINK_POWER: return pw == 0 ? exp(eta) : pow(eta, 1 / pw);
    case FERRY_PMML_LINK_CAUCHIT: return 0.5 + atan(eta) / M_PI;
    case FERRY_PMML_LINK_ODDSPOWER:
        if (pw == 0)
            return 1 / (1 + exp(-eta));
        return 1 / (1 + pow(1 + pw * eta, -1 / pw));
    case FERRY_PMML_LINK_NEGBIN: return 1 / (g->distr_param * (exp(-eta) - 1));
    case FERRY_PMML_LINK_LOGC: return 1 - exp(eta);
    default: return eta;
    }
}

static int s_eval_genreg(ferry_pmml_ctx_t *ctx, const ferry_pmml_model_t *m, s_pred_t *pr)
{
    const ferry_pmml_genreg_t *g = &m->u.genreg;
    int32_t np = g->n_params;
    double x[np > 0 ? np : 1];
    for (int32_t i = 0; i < np; i++) {
        double prod = 1;
        for (int32_t c = g->cell_off[i]; c < g->cell_off[i] + g->cell_n[i]; c++) {
            const ferry_pmml_ppcell_t *cell = &g->cells[c];
            const ferry_pmml_value_t *v = s_get(ctx, cell->field);
            if (!v)
                return -1;
            if (v->kind == FERRY_PMML_MISSING)
                return 0;
            if (cell->is_factor) {
                prod *= s_value_eq(v, &cell->value) ? 1 : 0;
            } else {
                double d;
                if (!s_as_num(v, &d))
                    return 0;
                prod *= cell->exponent == 1 ? d : pow(d, cell->exponent);
            }
        }
        x[i] = prod;
    }
    double offset = g->offset_value;
    if (g->offset_field >= 0) {
        const ferry_pmml_value_t *v = s_get(ctx, g->offset_field);
        double d;
        if (!v)
            return -1;
        if (!s_as_num(v, &d))
            return 0;
        offset += d;
    }
    if (g->kind == FERRY_PMML_GR_COX) {
        /* PMML "CoxRegression": H(t) = H0(t) * exp(sum beta_p (x_p - referencePoint_p)) */
        double r = 0;
        for (int32_t i = 0; i < np; i++)
            r += g->beta[i] * (x[i] - g->ref_point[i]);
        const ferry_pmml_value_t *tv = s_get(ctx, g->end_time_field);
        double t;
        if (!tv)
            return -1;
        if (!s_as_num(tv, &t))
            return 0;
        int32_t si = 0;
        if (g->strata_field >= 0) {
            const ferry_pmml_value_t *sv = s_get(ctx, g->strata_field);
            if (!sv)
                return -1;
            if (sv->kind == FERRY_PMML_MISSING)
                return 0;
            for (si = 0; si < g->n_strata && !s_value_eq(sv, &g->strata_value[si]); si++)
                ;
            if (si == g->n_strata)
                return 0; /* no baseline for this stratum */
        }
        if (t > g->strata_max_time[si])
            return 0;
        double h0 = 0;
        for (int32_t c = g->strata_off[si]; c < g->strata_off[si] + g->strata_n[si] && g->cell_time[c] <= t; c++)
            h0 = g->cell_hazard[c];
        pr->has = true;
        pr->value = h0 * exp(r);
        return 0;
    }
    double eta[g->n_rows > 0 ? g->n_rows : 1];
    for (int32_t r = 0; r < g->n_rows; r++) {
        double acc = 0;
        for (int32_t i = 0; i < np; i++)
            acc += g->beta[r * np + i] * x[i];
        eta[r] = acc + offset;
    }
    if (m->function != FERRY_PMML_FN_CLASSIFICATION) {
        pr->has = true;
        pr->value = g->kind == FERRY_PMML_GR_GLM ? s_inverse_link(g, eta[0]) : eta[0];
        if (g->kind == FERRY_PMML_GR_GLM && !isnan(g->trials_value))
            pr->value *= g->trials_value;
        return 0;
    }
    int32_t nc = m->n_classes;
    for (int32_t k = 0; k < nc; k++)
        pr->probs[k] = 0;
    if (g->kind == FERRY_PMML_GR_MULTINOMIAL) {
        double mx = 0, sum = 0;
        double e[nc];
        for (int32_t k = 0; k < nc; k++)
            e[k] = 0;
        for (int32_t r = 0; r < g->n_rows; r++)
            if (g->row_class[r] >= 0)
                e[g->row_class[r]] = eta[r];
        for (int32_t k = 0; k < nc; k++)
            mx = e[k] > mx ? e[k] : mx;
        for (int32_t k = 0; k < nc; k++)
            sum += (pr->probs[k] = exp(e[k] - mx));
        for (int32_t k = 0; k < nc; k++)
            pr->probs[k] /= sum;
    } else {
        /* binary: the modelled probability belongs to the non-reference category */
        if (nc != 2)
            return s_fail(ctx, "GeneralRegressionModel classification other than multinomial needs two categories");
        double mu = g->kind == FERRY_PMML_GR_GLM ? s_inverse_link(g, eta[0]) : eta[0];
        int32_t pos = g->row_class[0] >= 0 ? g->row_class[0] : (g->ref_class == 0 ? 1 : 0);
        pr->probs[pos] = mu;
        pr->probs[1 - pos] = 1 - mu;
    }
    pr->has_probs = true;
    s_set_class(ctx, m, pr, s_argmax(pr->probs, nc));
    return 0;
}

static double s_activate(int act, double z, double threshold)
{
    switch (act) {
    case FERRY_PMML_ACT_THRESHOLD: return z > threshold ? 1 : 0;
    case FERRY_PMML_ACT_LOGISTIC: return 1 / (1 + exp(-z));
    case FERRY_PMML_ACT_TANH: return tanh(z);
    case FERRY_PMML_ACT_IDENTITY: return z;
    case FERRY_PMML_ACT_EXPONENTIAL: return exp(z);
    case FERRY_PMML_ACT_RECIPROCAL: return 1 / z;
    case FERRY_PMML_ACT_SQUARE: return z * z;
    case FERRY_PMML_ACT_GAUSS: return exp(-z * z);
    case FERRY_PMML_ACT_SINE: return sin(z);
    case FERRY_PMML_ACT_COSINE: return cos(z);
    case FERRY_PMML_ACT_ELLIOTT: return z / (1 + fabs(z));
    case FERRY_PMML_ACT_ARCTAN: return 2 * atan(z) / M_PI;
    case FERRY_PMML_ACT_RECTIFIER: return z > 0 ? z : 0;
    default: return z;
    }
}

static void s_nn_finish(ferry_pmml_ctx_t *ctx, const ferry_pmml_model_t *m, s_pred_t *pr, const double *a);

static int s_eval_nn(ferry_pmml_ctx_t *ctx, const ferry_pmml_model_t *m, s_pred_t *pr)
{
    const ferry_pmml_nn_t *nn = &m->u.nn;
    double *a = ctx->neurons;
    for (int32_t i = 0; i < nn->n_inputs; i++) {
        ferry_pmml_value_t v;
        if (s_eval_expr(ctx, nn->input_expr[i], &v) < 0)
            return -1;
        if (!s_as_num(&v, &a[i]))
            return 0;
    }
    for (int32_t l = 0; l < nn->n_layers; l++) {
        const ferry_pmml_layer_t *L = &nn->layers[l];
        int32_t end = L->first_neuron + L->n_neurons;
        if (L->wt_off >= 0) {
            /* fully connected: all the layer's sums advance together over the inputs,
             * two neurons per SSE2 operation, each neuron adding in its input order */
            double *z = a + L->first_neuron;
            const double *src = a + L->dense_from, *wt = nn->wt + L->wt_off;
            int32_t nq = L->n_neurons, nj = L->dense_n, q = 0;
            /* eight neurons at a time in four registers */
            for (; q + 8 <= nq; q += 8) {
                s_v2_t z0 = {0, 0}, z1 = {0, 0}, z2 = {0, 0}, z3 = {0, 0};
                for (int32_t j = 0; j < nj; j++) {
                    const double *wj = wt + (size_t)j * (size_t)nq + q;
                    s_v2_t xv = {src[j], src[j]}, w0, w1, w2, w3;
                    memcpy(&w0, wj, sizeof w0);
                    memcpy(&w1, wj + 2, sizeof w1);
                    memcpy(&w2, wj + 4, sizeof w2);
                    memcpy(&w3, wj + 6, sizeof w3);
                    z0 += w0 * xv;
                    z1 += w1 * xv;
                    z2 += w2 * xv;
                    z3 += w3 * xv;
                }
                memcpy(z + q, &z0, sizeof z0);
                memcpy(z + q + 2, &z1, sizeof z1);
                memcpy(z + q + 4, &z2, sizeof z2);
                memcpy(z + q + 6, &z3, sizeof z3);
            }
            for (; q < nq; q++) {
                double zq = 0;
                for (int32_t j = 0; j < nj; j++)
                    zq += wt[(size_t)j * (size_t)nq + (size_t)q] * src[j];
                z[q] = zq;
            }
            for (q = 0; q < nq; q++)
                z[q] = s_activate(L->activation, z[q] + nn->bias[L->first_neuron + q], L->threshold);
            if (L->normalization != FERRY_PMML_NORM_NONE)
                s_normalize_probs(L->normalization, a + L->first_neuron, L->n_neurons);
            continue;
        }
        for (int32_t k = L->first_neuron; k < end; k++) {
            int32_t off = nn->con_off[k], cnt = nn->con_n[k];
            const double *w = nn->con_w + off;
            double z;
            if (L->activation != FERRY_PMML_ACT_RADIALBASIS && k + 3 < end && nn->dense_from[k] >= 0 &&
                nn->dense_from[k + 1] == nn->dense_from[k] && nn->dense_from[k + 2] == nn->dense_from[k] &&
                nn->dense_from[k + 3] == nn->dense_from[k] && nn->con_n[k + 1] == cnt && nn->con_n[k + 2] == cnt &&
                nn->con_n[k + 3] == cnt) {
                /* four neurons over the same inputs side by side: four independent sums,
                 * each in its own input order (same result, four times the throughput) */
                const double *src = a + nn->dense_from[k];
                const double *w1 = nn->con_w + nn->con_off[k + 1], *w2 = nn->con_w + nn->con_off[k + 2],
                             *w3 = nn->con_w + nn->con_off[k + 3];
                double z0 = 0, z1 = 0, z2 = 0, z3 = 0;
                for (int32_t j = 0; j < cnt; j++) {
                    double x = src[j];
                    z0 += w[j] * x;
                    z1 += w1[j] * x;
                    z2 += w2[j] * x;
                    z3 += w3[j] * x;
                }
                a[k] = s_activate(L->activation, z0 + nn->bias[k], L->threshold);
                a[k + 1] = s_activate(L->activation, z1 + nn->bias[k + 1], L->threshold);
                a[k + 2] = s_activate(L->activation, z2 + nn->bias[k + 2], L->threshold);
                a[k + 3] = s_activate(L->activation, z3 + nn->bias[k + 3], L->threshold);
                k += 3;
                continue;
            }
            if (L->activation == FERRY_PMML_ACT_RADIALBASIS) {
                double d2 = 0;
                for (int32_t j = 0; j < cnt; j++) {
                    double diff = a[nn->con_from[off + j]] - w[j];
                    d2 += diff * diff;
                }
                double width = nn->width[k];
                z = d2 / (2 * width * width);
                a[k] = exp(cnt * log(nn->altitude[k]) - z);
                continue;
            }
            z = 0;
            if (nn->dense_from[k] >= 0) {
                const double *src = a + nn->dense_from[k];
                for (int32_t j = 0; j < cnt; j++)
                    z += w[j] * src[j];
            } else {
                for (int32_t j = 0; j < cnt; j++)
                    z += w[j] * a[nn->con_from[off + j]];
            }
            z += nn->bias[k];
            a[k] = s_activate(L->activation, z, L->threshold);
        }
        if (L->normalization != FERRY_PMML_NORM_NONE)
            s_normalize_probs(L->normalization, a + L->first_neuron, L->n_neurons);
    }
    s_nn_finish(ctx, m, pr, a);
    return 0;
}

/* probabilities or value from the neuron activations a[] */
static void s_nn_finish(ferry_pmml_ctx_t *ctx, const ferry_pmml_model_t *m, s_pred_t *pr, const double *a)
{
    const ferry_pmml_t *p = ctx->p;
    const ferry_pmml_nn_t *nn = &m->u.nn;
    if (m->function == FERRY_PMML_FN_CLASSIFICATION) {
        for (int32_t k = 0; k < m->n_classes; k++)
            pr->probs[k] = 0;
        for (int32_t o = 0; o < nn->n_outputs; o++)
            pr->probs[nn->output_class[o]] = a[nn->output_neuron[o]];
        pr->has_probs = true;
        s_set_class(ctx, m, pr, s_argmax(pr->probs, m->n_classes));
        return;
    }
    if (nn->n_outputs < 1)
        return;
    double y = a[nn->output_neuron[0]];
    const ferry_pmml_expr_t *x = &p->exprs[nn->output_expr[0]];
    if (x->kind == FERRY_PMML_EX_NORMCONT) {
        /* invert the piecewise linear normalisation */
        const double *o = p->num_pool + x->off, *nm = o + x->n;
        int32_t k = x->n, i = 1;
        while (i < k - 1 && y > nm[i])
            i++;
        y = o[i - 1] + (y - nm[i - 1]) / (nm[i] - nm[i - 1]) * (o[i] - o[i - 1]);
    }
    pr->has = true;
    pr->value = y;
}

static int s_eval_svm(ferry_pmml_ctx_t *ctx, const ferry_pmml_model_t *m, s_pred_t *pr)
{
    const ferry_pmml_svm_t *s = &m->u.svm;
    int32_t ni = s->n_inputs;
    double *x = ctx->work;
    for (int32_t i = 0; i < ni; i++) {
        ferry_pmml_value_t v;
        if (s_eval_expr(ctx, s->input_expr[i], &v) < 0)
            return -1;
        if (!s_as_num(&v, &x[i]))
            return 0;
    }
    int32_t nc = m->n_classes;
    double *votes = ctx->work + ni;
    for (int32_t k = 0; k < nc; k++)
        votes[k] = 0;
    int32_t best = -1;
    double best_f = 0;
    for (int32_t mi = 0; mi < s->n_machines; mi++) {
        const ferry_pmml_svm_machine_t *M = &s->machines[mi];
        double f = M->intercept;
        for (int32_t j = 0; j < M->n_sv; j++) {
            const double *v = s->vectors + (size_t)M->sv[j] * (size_t)ni;
            double k;
            if (s->kernel == FERRY_PMML_KERNEL_RBF) {
                double d2 = 0;
                for (int32_t i = 0; i < ni; i++)
                    d2 += (x[i] - v[i]) * (x[i] - v[i]);
                k = exp(-s->gamma * d2);
            } else {
                double dot = 0;
                for (int32_t i = 0; i < ni; i++)
                    dot += x[i] * v[i];
                k = s->kernel == FERRY_PMML_KERNEL_LINEAR ? dot
                    : s->kernel == FERRY_PMML_KERNEL_POLY ? pow(s->gamma * dot + s->coef0, s->degree)
                                                          : tanh(s->gamma * dot + s->coef0);
            }
            f += M->coef[j] * k;
        }
        if (m->function != FERRY_PMML_FN_CLASSIFICATION) {
            pr->has = true;
            pr->value = f;
            return 0;
        }
        if (M->alt_class_idx >= 0) {
            bool is_target = s->is_max_wins ? f > M->threshold : f < M->threshold;
            int32_t c = is_target ? M->class_idx : M->alt_class_idx;
            votes[c] += 1;
        } else {
            bool better = best < 0 || (s->is_max_wins ? f > best_f : f < best_f);
            if (better) {
                best = M->class_idx;
                best_f = f;
            }
        }
    }
    if (m->function != FERRY_PMML_FN_CLASSIFICATION)
        return 0;
    if (best < 0) {
        /* most votes; a tie goes to the category listed first (libsvm's rule) */
        double mx = 0, total = 0;
        for (int32_t k = 0; k < nc; k++) {
            total += votes[k];
            if (votes[k] > mx) {
                mx = votes[k];
                best = k;
            }
        }
        /* probabilities of a voting SVM: the share of the votes */
        for (int32_t k = 0; k < nc; k++)
            pr->probs[k] = total > 0 ? votes[k] / total : 0;
        pr->has_probs = total > 0;
    }
    s_set_class(ctx, m, pr, best);
    return 0;
}

static int s_eval_bayes(ferry_pmml_ctx_t *ctx, const ferry_pmml_model_t *m, s_pred_t *pr)
{
    const ferry_pmml_naivebayes_t *b = &m->u.bayes;
    int32_t nc = m->n_classes;
    double *L = pr->probs;
    for (int32_t c = 0; c < nc; c++)
        L[c] = b->class_counts[c];
    for (int32_t i = 0; i < b->n_inputs; i++) {
        const ferry_pmml_bayes_input_t *in = &b->inputs[i];
        ferry_pmml_value_t v;
        if (in->derived_expr >= 0) {
            if (s_eval_expr(ctx, in->derived_expr, &v) < 0)
                return -1;
        } else {
            const ferry_pmml_value_t *pv = s_get(ctx, in->field);
            if (!pv)
                return -1;
            v = *pv;
        }
        if (v.kind == FERRY_PMML_MISSING)
            continue;
        if (in->is_gaussian) {
            double x;
            if (!s_as_num(&v, &x))
                continue;
            for (int32_t c = 0; c < nc; c++) {
                double var = in->var[c], d = x - in->mean[c];
                double pdf = exp(-d * d / (2 * var)) / sqrt(2 * M_PI * var);
                L[c] *= (pdf > 0 && !isnan(pdf)) ? pdf : b->threshold;
            }
            continue;
        }
        int32_t vi = -1;
        for (int32_t k = 0; k < in->n_values && vi < 0; k++)
            if (s_value_eq(&in->values[k], &v))
                vi = k;
        if (vi < 0)
            continue;
        for (int32_t c = 0; c < nc; c++) {
            double total = 0;
            for (int32_t k = 0; k < in->n_values; k++)
                total += in->counts[k * nc + c];
            double cnt = in->counts[vi * nc + c];
            L[c] *= cnt > 0 && total > 0 ? cnt / total : b->threshold;
        }
    }
    double sum = 0;
    for (int32_t c = 0; c < nc; c++)
        sum += L[c];
    if (!(sum > 0))
        return 0;
    for (int32_t c = 0; c < nc; c++)
        L[c] /= sum;
    pr->has_probs = true;
    s_set_class(ctx, m, pr, s_argmax(L, nc));
    return 0;
}

static int s_eval_clustering(ferry_pmml_ctx_t *ctx, const ferry_pmml_model_t *m, s_pred_t *pr)
{
    const ferry_pmml_clustering_t *cl = &m->u.clustering;
    double *x = ctx->work;
    for (int32_t i = 0; i < cl->n_fields; i++) {
        ferry_pmml_value_t v;
        if (s_eval_expr(ctx, cl->field_expr[i], &v) < 0)
            return -1;
        if (!s_as_num(&v, &x[i]))
            return 0;
    }
    int32_t best = -1;
    for (int32_t k = 0; k < cl->n_clusters; k++) {
        const double *c = cl->centers + (size_t)k * (size_t)cl->n_fields;
        double acc = 0;
        for (int32_t i = 0; i < cl->n_fields; i++) {
            double d = fabs(x[i] - c[i]), w = cl->field_weight[i];
            switch (cl->measure) {
            case FERRY_PMML_DIST_EUCLIDEAN:
            case FERRY_PMML_DIST_SQEUCLIDEAN: acc += w * d * d; break;
            case FERRY_PMML_DIST_CITYBLOCK: acc += w * d; break;
            case FERRY_PMML_DIST_CHEBYCHEV: acc = w * d > acc ? w * d : acc; break;
            default: acc += w * pow(d, cl->minkowski_p); break;
            }
        }
        if (cl->measure == FERRY_PMML_DIST_EUCLIDEAN)
            acc = sqrt(acc);
        else if (cl->measure == FERRY_PMML_DIST_MINKOWSKI)
            acc = pow(acc, 1 / cl->minkowski_p);
        pr->probs[k] = acc;
        if (best < 0 || acc < pr->probs[best])
            best = k;
    }
    pr->has_probs = false; /* probs hold distances (affinities) */
    s_set_class(ctx, m, pr, best);
    pr->entity_sym = cl->cluster_id_sym[best];
    return 0;
}

static int s_eval_ruleset(ferry_pmml_ctx_t *ctx, const ferry_pmml_model_t *m, s_pred_t *pr)
{
    const ferry_pmml_ruleset_t *rs = &m->u.ruleset;
    int32_t nc = m->n_classes;
    const int32_t *pool = ctx->p->int_pool;
    int32_t best_rule = -1;
    double *acc = pr->probs;
    for (int32_t k = 0; k < nc; k++)
        acc[k] = 0;
    bool any = false;
    for (int32_t r = 0; r < rs->n_rules; r++) {
        const ferry_pmml_rule_t *rule = &rs->rules[r];
        int res = S_TRUE;
        for (int32_t j = 0; j < rule->n_preds && res == S_TRUE; j++) {
            res = s_pred(ctx, pool[rule->pred_off + j]);
            if (res < 0)
                return -1;
        }
        if (res != S_TRUE)
            continue;
        any = true;
        if (rs->criterion == FERRY_PMML_RULE_FIRSTHIT) {
            best_rule = r;
            break;
        }
        if (rs->criterion == FERRY_PMML_RULE_WEIGHTEDMAX) {
            if (best_rule < 0 || rule->weight > rs->rules[best_rule].weight)
                best_rule = r;
        } else {
            acc[rule->class_idx] += rule->weight;
        }
    }
    if (!any) {
        if (rs->default_class < 0)
            return 0;
        for (int32_t k = 0; k < nc; k++)
            acc[k] = 0;
        acc[rs->default_class] = rs->default_confidence;
        pr->has_probs = true;
        s_set_class(ctx, m, pr, rs->default_class);
        return 0;
    }
    if (rs->criterion == FERRY_PMML_RULE_WEIGHTEDSUM) {
        s_set_class(ctx, m, pr, s_argmax(acc, nc));
        double sum = 0;
        for (int32_t k = 0; k < nc; k++)
            sum += acc[k];
        for (int32_t k = 0; k < nc; k++)
            acc[k] = sum > 0 ? acc[k] / sum : 0;
        pr->has_probs = true;
        return 0;
    }
    const ferry_pmml_rule_t *rule = &rs->rules[best_rule];
    if (rule->dist_off >= 0) {
        memcpy(acc, ctx->p->num_pool + rule->dist_off, (size_t)nc * sizeof(double));
    } else {
        acc[rule->class_idx] = 1;
    }
    pr->has_probs = true;
    pr->entity_sym = rule->id_sym;
    s_set_class(ctx, m, pr, rule->class_idx);
    return 0;
}

static int s_eval_scorecard(ferry_pmml_ctx_t *ctx, const ferry_pmml_model_t *m, s_pred_t *pr)
{
    const ferry_pmml_scorecard_t *sc = &m->u.scorecard;
    double score = sc->initial_score;
    double *diff = ctx->work;
    int32_t *codes = pr->reasons + sc->n_chars;
    int32_t nr = 0;
    for (int32_t c = 0; c < sc->n_chars; c++) {
        const ferry_pmml_characteristic_t *ch = &sc->chars[c];
        int32_t hit = -1;
        for (int32_t a = 0; a < ch->n_attributes && hit < 0; a++) {
            int r = s_pred(ctx, sc->attrs[ch->attr_off + a].pred);
            if (r < 0)
                return -1;
            if (r == S_TRUE)
                hit = ch->attr_off + a;
        }
        if (hit < 0)
            return s_fail(ctx, "Scorecard: no Attribute of characteristic %d matches", c + 1);
        double ps = sc->attrs[hit].partial_score;
        score += ps;
        if (!sc->use_reason_codes)
            continue;
        int32_t code = sc->attrs[hit].reason_sym >= 0 ? sc->attrs[hit].reason_sym : ch->reason_sym;
        double d = sc->is_points_above ? ps - ch->baseline : ch->baseline - ps;
        int32_t k = 0;
        while (k < nr && codes[k] != code)
            k++;
        if (k == nr) {
            codes[nr] = code;
            diff[nr++] = 0;
        }
        diff[k] += d;
    }
    /* rank reason codes by points, largest first (stable) */
    for (int32_t i = 0; i < nr; i++)
        pr->reasons[i] = i;
    for (int32_t i = 1; i < nr; i++)
        for (int32_t j = i; j > 0 && diff[pr->reasons[j]] > diff[pr->reasons[j - 1]]; j--) {
            int32_t t = pr->reasons[j];
            pr->reasons[j] = pr->reasons[j - 1];
            pr->reasons[j - 1] = t;
        }
    for (int32_t i = 0; i < nr; i++)
        pr->reasons[i] = codes[pr->reasons[i]];
    pr->n_reasons = nr;
    pr->has = true;
    pr->value = score;
    return 0;
}

static double s_apply_target(const ferry_pmml_model_t *m, double v)
{
    const ferry_pmml_target_t *t = &m->tgt;
    v = v * t->factor + t->constant;
    if (t->has_min && v < t->min)
        v = t->min;
    if (t->has_max && v > t->max)
        v = t->max;
    if (t->cast == 1)
        v = floor(v + 0.5);
    else if (t->cast == 2)
        v = ceil(v);
    else if (t->cast == 3)
        v = floor(v);
    return m->is_float ? (double)(float)v : v;
}

static bool s_cached(ferry_pmml_ctx_t *ctx, int32_t mi, const ferry_pmml_model_t *m, s_pred_t *pr);

static int s_eval_model(ferry_pmml_ctx_t *ctx, int32_t mi)
{
    const ferry_pmml_t *p = ctx->p;
    const ferry_pmml_model_t *m = &p->models[mi];
    s_pred_t *pr = &ctx->preds[mi];
    pr->has = false;
    pr->has_probs = false;
    pr->cls = -1;
    pr->value = NAN;
    pr->entity_sym = -1;
    pr->n_reasons = 0;
    if (ctx->any_invalid)
        for (int32_t i = 0; i < m->n_checks; i++)
            if (ctx->invalid[m->checks[i]])
                return s_fail(ctx, "field \"%s\": invalid value", p->fields[m->checks[i]].name);
    for (int32_t i = 0; i < m->n_mining; i++)
        if (!s_get(ctx, m->mining[i]))
            return -1;
    int rc;
    if (ctx->cache_row >= 0 && ctx->cache_index[mi] >= 0 && s_cached(ctx, mi, m, pr))
        goto targets;
    switch (m->type) {
    case FERRY_PMML_TREE: rc = s_eval_tree(ctx, m, pr); break;
    case FERRY_PMML_MINING: rc = s_eval_mining(ctx, mi, m, pr); break;
    case FERRY_PMML_REGRESSION: rc = s_eval_regression(ctx, m, pr); break;
    case FERRY_PMML_GENREG: rc = s_eval_genreg(ctx, m, pr); break;
    case FERRY_PMML_NN: rc = s_eval_nn(ctx, m, pr); break;
    case FERRY_PMML_SVM: rc = s_eval_svm(ctx, m, pr); break;
    case FERRY_PMML_NAIVEBAYES: rc = s_eval_bayes(ctx, m, pr); break;
    case FERRY_PMML_CLUSTERING: rc = s_eval_clustering(ctx, m, pr); break;
    case FERRY_PMML_SCORECARD: rc = s_eval_scorecard(ctx, m, pr); break;
    case FERRY_PMML_RULESET: rc = s_eval_ruleset(ctx, m, pr); break;
    case FERRY_PMML_ASSOCIATION:
        pr->has = true; /* the rules are picked per OutputField */
        rc = 0;
        break;
    default: rc = s_fail(ctx, "unknown model type");
    }
    if (rc < 0)
        return -1;
targets:
    /* Targets: rescale, clamp, cast (regression) */
    if (pr->has && m->function == FERRY_PMML_FN_REGRESSION) {
        pr->value = s_apply_target(m, pr->value);
    } else if (!pr->has && m->function == FERRY_PMML_FN_REGRESSION && m->tgt.has_default) {
        pr->has = true;
        pr->value = m->tgt.default_value;
    }
    return 0;
}

/* the model's predicted target value */
static ferry_pmml_value_t s_predicted(ferry_pmml_ctx_t *ctx, const ferry_pmml_model_t *m, const s_pred_t *pr)
{
    if (!pr->has)
        return s_missing;
    if (m->function == FERRY_PMML_FN_CLASSIFICATION || m->function == FERRY_PMML_FN_CLUSTERING) {
        ferry_pmml_value_t v = {.kind = FERRY_PMML_STR, .sym = m->class_sym[pr->cls]};
        v.str = ctx->p->syms[v.sym];
        return v;
    }
    return s_num_value(pr->value);
}

/* every item of the itemset is in the basket */
static bool s_itemset_in(const ferry_pmml_association_t *a, const uint8_t *basket, int32_t set)
{
    for (int32_t i = a->set_off[set]; i < a->set_off[set] + a->set_n[set]; i++)
        if (!basket[a->set_items[i]])
            return false;
    return true;
}

static double s_rule_basis(const ferry_pmml_assoc_rule_t *r, int basis)
{
    return basis == FERRY_PMML_RULEF_SUPPORT ? r->support : basis == FERRY_PMML_RULEF_LIFT ? r->lift : r->confidence;
}

/* ruleValue (section "AssociationModel" / Output): the rank-th matching rule by rankBasis,
 * descending, document order among equals */
static ferry_pmml_value_t s_rule_value(ferry_pmml_ctx_t *ctx, const ferry_pmml_model_t *m, const ferry_pmml_output_t *o)
{
    const ferry_pmml_association_t *a = &m->u.association;
    int32_t n = 0;
    for (int32_t r = 0; r < a->n_rules; r++) {
        const ferry_pmml_assoc_rule_t *rule = &a->rules[r];
        if (!s_itemset_in(a, ctx->basket, rule->antecedent))
            continue;
        bool has_consequent = s_itemset_in(a, ctx->basket, rule->consequent);
        if ((o->rule_algorithm == FERRY_PMML_RULE_EXCLUSIVE && has_consequent) ||
            (o->rule_algorithm == FERRY_PMML_RULE_ASSOCIATION && !has_consequent))
            continue;
        /* insertion into the ranked list: O(matches * rank), only the first `rank` matter */
        double b = s_rule_basis(rule, o->rank_basis);
        int32_t pos = n < o->rank ? n : o->rank;
        while (pos > 0 && s_rule_basis(&a->rules[ctx->rule_match[pos - 1]], o->rank_basis) < b)
            pos--;
        if (pos >= o->rank)
            continue;
        int32_t last = n < o->rank ? n : o->rank - 1;
        for (int32_t k = last; k > pos; k--)
            ctx->rule_match[k] = ctx->rule_match[k - 1];
        ctx->rule_match[pos] = r;
        if (n < o->rank)
            n++;
    }
    if (o->rank < 1 || n < o->rank)
        return s_missing;
    const ferry_pmml_assoc_rule_t *rule = &a->rules[ctx->rule_match[o->rank - 1]];
    switch (o->rule_feature) {
    case FERRY_PMML_RULEF_ID: {
        ferry_pmml_value_t v = {.kind = FERRY_PMML_STR, .sym = rule->id_sym, .str = ctx->p->syms[rule->id_sym]};
        return v;
    }
    case FERRY_PMML_RULEF_SUPPORT: return s_num_value(rule->support);
    case FERRY_PMML_RULEF_CONFIDENCE: return s_num_value(rule->confidence);
    default: return isnan(rule->lift) ? s_missing : s_num_value(rule->lift);
    }
}

static int s_eval_outputs(ferry_pmml_ctx_t *ctx, int32_t mi)
{
    const ferry_pmml_t *p = ctx->p;
    const ferry_pmml_model_t *m = &p->models[mi];
    const s_pred_t *pr = &ctx->preds[mi];
    for (int32_t i = 0; i < m->n_outputs; i++) {
        const ferry_pmml_output_t *o = &m->outputs[i];
        ferry_pmml_value_t v = s_missing;
        switch (o->feature) {
        case FERRY_PMML_OUT_PREDICTED: v = s_predicted(ctx, m, pr); break;
        case FERRY_PMML_OUT_DISPLAY:
            v = s_predicted(ctx, m, pr);
            if (pr->has && pr->cls >= 0 && pr->cls < m->tgt.n_display && m->tgt.display[pr->cls] >= 0) {
                v.sym = m->tgt.display[pr->cls];
                v.str = p->syms[v.sym];
            }
            break;
        case FERRY_PMML_OUT_PROBABILITY:
        case FERRY_PMML_OUT_CONFIDENCE: {
            int32_t c = o->class_idx >= 0 ? o->class_idx : pr->cls;
            if (pr->has && pr->has_probs && c >= 0)
                v = s_num_value(pr->probs[c]);
            else if (pr->has && c >= 0 && m->type == FERRY_PMML_SVM)
                v = s_missing;
            break;
        }
        case FERRY_PMML_OUT_AFFINITY: {
            int32_t c = pr->cls;
            if (o->value.kind == FERRY_PMML_STR) {
                c = -1;
                for (int32_t k = 0; k < m->n_classes; k++)
                    if (m->class_sym[k] == o->value.sym)
                        c = k;
            }
            if (pr->has && c >= 0)
                v = s_num_value(pr->probs[c]);
            break;
        }
        case FERRY_PMML_OUT_ENTITY:
            if (pr->has && pr->entity_sym >= 0) {
                v.kind = FERRY_PMML_STR;
                v.sym = pr->entity_sym;
                v.str = p->syms[v.sym];
            }
            break;
        case FERRY_PMML_OUT_REASON:
            if (pr->has && o->rank >= 1 && o->rank <= pr->n_reasons && pr->reasons[o->rank - 1] >= 0) {
                v.kind = FERRY_PMML_STR;
                v.sym = pr->reasons[o->rank - 1];
                v.str = p->syms[v.sym];
            }
            break;
        case FERRY_PMML_OUT_RULEVALUE:
            if (m->type == FERRY_PMML_ASSOCIATION)
                v = s_rule_value(ctx, m, o);
            break;
        case FERRY_PMML_OUT_TRANSFORMED:
            ctx->state[o->slot] = 1;
            if (s_eval_expr(ctx, o->expr, &v) < 0)
                return -1;
            break;
        default: break;
        }
        ctx->vals[o->slot] = s_cast(ctx, v, o->datatype);
        ctx->state[o->slot] = 2;
    }
    return 0;
}

int ferry_pmml_eval_row(ferry_pmml_ctx_t *ctx, ferry_pmml_value_t *out, ferry_err_t *err)
{
    const ferry_pmml_t *p = ctx->p;
    ferry_err_t local;
    ctx->err = err ? err : &local;
    ctx->err->msg[0] = '\0';
    ctx->call_depth = 0;
    ctx->get_depth = 0;
    if (s_eval_model(ctx, 0) < 0 || s_eval_outputs(ctx, 0) < 0) {
        if (!ctx->err->msg[0])
            snprintf(ctx->err->msg, sizeof ctx->err->msg, "evaluation failed");
        return -1;
    }
    const ferry_pmml_model_t *m = &p->models[0];
    const s_pred_t *pr = &ctx->preds[0];
    for (int32_t i = 0; i < p->n_columns; i++) {
        const ferry_pmml_column_t *c = &p->columns[i];
        if (c->output >= 0)
            out[i] = ctx->vals[m->outputs[c->output].slot];
        else if (c->class_idx >= 0)
            out[i] = pr->has && pr->has_probs ? s_num_value(pr->probs[c->class_idx]) : s_missing;
        else
            out[i] = s_predicted(ctx, m, pr);
    }
    return 0;
}

/* ---- batch evaluation ----------------------------------------------------------------------------------
 *
 * Models that only read plain numeric DataDictionary fields are evaluated for a whole
 * block of rows first, in the loop order that keeps their data in cache: tree ensembles
 * tree by tree (each tree stays in L1/L2 while every row walks it), regressions column
 * by column, neural networks S_LANES rows side by side. Every row keeps exactly the
 * arithmetic order of the row evaluator, so results are bit-identical; rows with a
 * missing value on the way are left to the row evaluator. */

/* a DATA field whose value reaches a model unchanged as a number */
static bool s_is_plain(const ferry_pmml_t *p, int32_t slot)
{
    const ferry_pmml_field_t *f = &p->fields[slot];
    return f->origin == FERRY_PMML_FIELD_DATA && f->n_values == 0 && f->datatype != FERRY_PMML_DT_STRING &&
           f->datatype != FERRY_PMML_DT_BOOLEAN;
}

static bool s_tree_is_plain(const ferry_pmml_t *p, const ferry_pmml_model_t *t)
{
    if (t->type != FERRY_PMML_TREE || !t->u.tree.fast || t->n_mining)
        return false;
    for (int32_t k = 0; k < t->u.tree.n_nodes; k++) {
        int32_t f = t->u.tree.fast[k].field;
        if (f >= 0 && !s_is_plain(p, f))
            return false;
    }
    return true;
}

static int s_precomp_kind(const ferry_pmml_t *p, const ferry_pmml_model_t *m)
{
    if (m->n_mining)
        return S_PRE_NONE;
    if (m->type == FERRY_PMML_MINING) {
        int meth = m->u.mining_model.method;
        bool is_class = m->function == FERRY_PMML_FN_CLASSIFICATION;
        bool ok = is_class ? (meth == FERRY_PMML_SEG_AVERAGE || meth == FERRY_PMML_SEG_WAVERAGE ||
                              meth == FERRY_PMML_SEG_VOTE || meth == FERRY_PMML_SEG_WVOTE)
                           : (m->function == FERRY_PMML_FN_REGRESSION &&
                              (meth == FERRY_PMML_SEG_AVERAGE || meth == FERRY_PMML_SEG_WAVERAGE ||
                               meth == FERRY_PMML_SEG_SUM || meth == FERRY_PMML_SEG_WSUM));
        for (int32_t s = 0; ok && s < m->u.mining_model.n_segments; s++) {
            const ferry_pmml_segment_t *seg = &m->u.mining_model.segments[s];
            const ferry_pmml_model_t *t = &p->models[seg->model];
            ok = p->preds[seg->pred].kind == FERRY_PMML_PR_TRUE && s_tree_is_plain(p, t) && t->function == m->function;
        }
        return ok ? S_PRE_ENSEMBLE : S_PRE_NONE;
    }
    if (m->type == FERRY_PMML_REGRESSION) {
        const ferry_pmml_regression_t *r = &m->u.regression;
        if (m->function == FERRY_PMML_FN_CLASSIFICATION && r->n_tables > m->n_classes + 8)
            return S_PRE_NONE;
        for (int32_t t = 0; t < r->n_tables; t++) {
            const ferry_pmml_regtable_t *tb = &r->tables[t];
            if (tb->n_cat || tb->n_terms)
                return S_PRE_NONE;
            for (int32_t i = 0; i < tb->n_num; i++)
                if (tb->num_exp[i] != 1 || !s_is_plain(p, tb->num_field[i]))
                    return S_PRE_NONE;
        }
        return S_PRE_REGRESSION;
    }
    if (m->type == FERRY_PMML_NN) {
        const ferry_pmml_nn_t *nn = &m->u.nn;
        for (int32_t i = 0; i < nn->n_inputs; i++) {
            const ferry_pmml_expr_t *x = &p->exprs[nn->input_expr[i]];
            if (x->kind != FERRY_PMML_EX_FIELDREF || x->map_missing_to.kind != FERRY_PMML_MISSING ||
                !s_is_plain(p, x->field))
                return S_PRE_NONE;
        }
        for (int32_t l = 0; l < nn->n_layers; l++)
            if (nn->layers[l].activation == FERRY_PMML_ACT_RADIALBASIS)
                return S_PRE_NONE;
        return S_PRE_NN;
    }
    return S_PRE_NONE;
}

static bool s_can_be_invalid(const ferry_pmml_t *p, int32_t slot)
{
    const ferry_pmml_field_t *f = &p->fields[slot];
    return f->n_intervals || f->n_values || f->datatype == FERRY_PMML_DT_INTEGER;
}

static void s_precomp_setup(ferry_pmml_ctx_t *ctx)
{
    const ferry_pmml_t *p = ctx->p;
    ctx->cache_row = -1;
    ctx->cache_index = ferry_calloc((size_t)p->n_models + 1, sizeof(int32_t));
    ctx->cache_probs_off = ferry_calloc((size_t)p->n_models + 1, sizeof(int32_t));
    ctx->precomp = ferry_calloc((size_t)p->n_models + 1, sizeof(int32_t));
    ctx->precomp_kind = ferry_calloc((size_t)p->n_models + 1, 1);
    size_t nprobs = 0, maxt = 2, maxn = 1;
    for (int32_t i = 0; i < p->n_models; i++) {
        const ferry_pmml_model_t *m = &p->models[i];
        ctx->cache_index[i] = -1;
        int kind = s_precomp_kind(p, m);
        if (!kind)
            continue;
        ctx->cache_index[i] = ctx->n_precomp;
        ctx->precomp[ctx->n_precomp] = i;
        ctx->precomp_kind[ctx->n_precomp] = (uint8_t)kind;
        ctx->n_precomp++;
        ctx->cache_probs_off[i] = (int32_t)nprobs;
        nprobs += (size_t)m->n_classes * S_BLOCK;
        if (kind == S_PRE_REGRESSION && (size_t)m->u.regression.n_tables > maxt)
            maxt = (size_t)m->u.regression.n_tables;
        if (kind == S_PRE_NN && (size_t)m->u.nn.n_neurons > maxn)
            maxn = (size_t)m->u.nn.n_neurons;
    }
    if (!ctx->n_precomp)
        return;
    ctx->X = ferry_malloc((size_t)(p->n_data_fields ? p->n_data_fields : 1) * S_BLOCK * sizeof(double));
    ctx->xcol = ferry_calloc((size_t)p->n_data_fields + 1, sizeof(double *));
    ctx->nan_col = ferry_malloc(S_BLOCK * sizeof(double));
    for (size_t r = 0; r < S_BLOCK; r++)
        ctx->nan_col[r] = NAN;
    ctx->cache_ok = ferry_calloc((size_t)ctx->n_precomp * S_BLOCK, 1);
    ctx->cache_value = ferry_calloc((size_t)ctx->n_precomp * S_BLOCK, sizeof(double));
    ctx->cache_cls = ferry_calloc((size_t)ctx->n_precomp * S_BLOCK, sizeof(int32_t));
    ctx->cache_probs = ferry_calloc(nprobs + 1, sizeof(double));
    ctx->tmp = ferry_calloc(maxt * S_BLOCK, sizeof(double));
    ctx->nn_block = ferry_calloc(maxn * S_LANES, sizeof(double));
    /* direct output: the top model is precomputed, cannot fail, and its outputs come
     * straight from its prediction */
    const ferry_pmml_model_t *top = &p->models[0];
    bool is_direct = ctx->cache_index[0] >= 0 && top->n_mining == 0;
    for (int32_t i = 0; is_direct && i < top->n_checks; i++)
        is_direct = !s_can_be_invalid(p, top->checks[i]);
    for (int32_t i = 0; is_direct && i < top->n_outputs; i++) {
        const ferry_pmml_output_t *o = &top->outputs[i];
        bool is_class = top->function == FERRY_PMML_FN_CLASSIFICATION;
        if (o->feature == FERRY_PMML_OUT_PREDICTED)
            is_direct = o->datatype == 255 || (is_class ? o->datatype == FERRY_PMML_DT_STRING : o->datatype == FERRY_PMML_DT_DOUBLE);
        else if (o->feature == FERRY_PMML_OUT_PROBABILITY)
            is_direct = is_class && (o->datatype == 255 || o->datatype == FERRY_PMML_DT_DOUBLE);
        else
            is_direct = false;
    }
    ctx->is_direct = is_direct;
}

static bool s_cached(ferry_pmml_ctx_t *ctx, int32_t mi, const ferry_pmml_model_t *m, s_pred_t *pr)
{
    int32_t ci = ctx->cache_index[mi];
    size_t at = (size_t)ci * S_BLOCK + (size_t)ctx->cache_row;
    if (!ctx->cache_ok[at])
        return false;
    if (m->function == FERRY_PMML_FN_CLASSIFICATION) {
        memcpy(pr->probs, ctx->cache_probs + ctx->cache_probs_off[mi] + (size_t)ctx->cache_row * (size_t)m->n_classes,
               (size_t)m->n_classes * sizeof(double));
        pr->has_probs = true;
        s_set_class(ctx, m, pr, ctx->cache_cls[at]);
    } else {
        pr->has = true;
        pr->value = ctx->cache_value[at];
    }
    return true;
}

static inline bool s_cmp_op(int op, double a, double b)
{
    switch (op) {
    case FERRY_PMML_CMP_EQ: return a == b;
    case FERRY_PMML_CMP_NE: return a != b;
    case FERRY_PMML_CMP_LT: return a < b;
    case FERRY_PMML_CMP_LE: return a <= b;
    case FERRY_PMML_CMP_GT: return a > b;
    default: return a >= b;
    }
}

/* s_fast_walk over block column r of X: the node reached, -1 no prediction, -2 missing */
static inline int32_t s_fast_walk_x(const ferry_pmml_tree_t *t, const double *const *X, size_t r)
{
    const ferry_pmml_fastnode_t *fast = t->fast;
    if (fast[0].kind != FERRY_PMML_PR_TRUE) {
        if (fast[0].kind == FERRY_PMML_PR_FALSE)
            return -1;
        double a = X[fast[0].field][r];
        if (isnan(a))
            return -2;
        if (!s_cmp_op(fast[0].op, a, fast[0].threshold))
            return -1;
    }
    int32_t cur = 0;
    for (;;) {
        const ferry_pmml_fastnode_t *n = &fast[cur];
        if (n->is_pair) {
            double a = X[n->split_field][r];
            if (isnan(a))
                return -2;
            cur = n->first_child + !s_cmp_op(n->split_op, a, n->split_threshold);
            continue;
        }
        if (!n->n_children)
            return cur;
        int32_t next = -1;
        for (int32_t c = n->first_child, end = c + n->n_children; c < end; c++) {
            const ferry_pmml_fastnode_t *f = &fast[c];
            if (f->kind != FERRY_PMML_PR_SIMPLE) {
                if (f->kind == FERRY_PMML_PR_TRUE) {
                    next = c;
                    break;
                }
                continue;
            }
            double a = X[f->field][r];
            if (isnan(a))
                return -2;
            if (s_cmp_op(f->op, a, f->threshold)) {
                next = c;
                break;
            }
        }
        if (next < 0)
            return t->is_no_true_child_last ? cur : -1;
        cur = next;
    }
}

/* add the leaf cur reached by row r in segment seg to the ensemble's accumulators */
static inline __attribute__((always_inline)) void s_ens_add(const ferry_pmml_t *p, const ferry_pmml_model_t *m, const ferry_pmml_segment_t *seg,
                             int32_t cur, size_t r, uint8_t *ok, double *sum, double *wsum, double *probs)
{
    const ferry_pmml_model_t *sm = &p->models[seg->model];
    const ferry_pmml_tree_t *t = &sm->u.tree;
    /* int_pool is NULL when no segment needed a class map (regression ensembles) */
    const int32_t *map = p->int_pool ? p->int_pool + seg->class_map_off : NULL;
    int32_t nc = m->n_classes;
    bool is_class = m->function == FERRY_PMML_FN_CLASSIFICATION;
    int meth = m->u.mining_model.method;
    double w = seg->weight;
    if (cur < 0) {
        ok[r] = 0;
        return;
    }
    const ferry_pmml_node_t *n = &t->nodes[cur];
    if (!is_class) {
        if (!n->has_score) {
            ok[r] = 0;
            return;
        }
        double v = s_apply_target(sm, n->score);
        switch (meth) {
        case FERRY_PMML_SEG_AVERAGE: sum[r] += v; wsum[r] += 1; break;
        case FERRY_PMML_SEG_WAVERAGE: sum[r] += w * v; wsum[r] += w; break;
        case FERRY_PMML_SEG_SUM: sum[r] += v; break;
        default: sum[r] += w * v; break;
        }
        return;
    }
    double *pr = probs + r * (size_t)nc;
    const double *dist = n->dist_off >= 0 ? p->num_pool + n->dist_off : NULL;
    if (meth == FERRY_PMML_SEG_VOTE || meth == FERRY_PMML_SEG_WVOTE) {
        int32_t cls = n->has_score ? n->score_class : -1;
        if (cls < 0 && dist)
            cls = s_argmax(dist, sm->n_classes);
        if (cls < 0) {
            ok[r] = 0;
            return;
        }
        double vw = meth == FERRY_PMML_SEG_WVOTE ? w : 1;
        pr[map[cls]] += vw;
        wsum[r] += vw;
    } else {
        double vw = meth == FERRY_PMML_SEG_WAVERAGE ? w : 1;
        if (dist) {
            for (int32_t k = 0; k < sm->n_classes; k++)
                pr[map[k]] += vw * dist[k];
        } else if (n->has_score) {
            for (int32_t k = 0; k < sm->n_classes; k++)
                pr[map[k]] += vw * (k == n->score_class ? 1.0 : 0.0);
        } else {
            ok[r] = 0;
            return;
        }
        wsum[r] += vw;
    }
}

/* Walk S_WALK_LANES rows through a binary tree side by side: independent walks overlap
 * their memory latency. cur[l] gets the leaf, or -2 when the row has a missing value. */
#define S_WALK_LANES 8
static inline void s_bin_walk(const ferry_pmml_binnode_t *bin, const double *const *X, size_t r0, int32_t *cur)
{
    int32_t c[S_WALK_LANES];
    for (int l = 0; l < S_WALK_LANES; l++)
        c[l] = 0;
    for (;;) {
        int active = 0;
        for (int l = 0; l < S_WALK_LANES; l++) {
            if (c[l] < 0)
                continue;
            const ferry_pmml_binnode_t *n = &bin[c[l]];
            if (n->is_leaf)
                continue;
            double a = X[n->field][r0 + (size_t)l];
            if (isnan(a)) {
                c[l] = -2;
                continue;
            }
            int test = n->is_lt ? a < n->threshold : a <= n->threshold;
            c[l] = n->left + (test ^ n->flip);
            active++;
        }
        if (!active)
            break;
    }
    for (int l = 0; l < S_WALK_LANES; l++)
        cur[l] = c[l];
}

/* one row through a binary tree (the tail of a block) */
static inline int32_t s_bin_walk1(const ferry_pmml_binnode_t *bin, const double *const *X, size_t r)
{
    int32_t c = 0;
    while (!bin[c].is_leaf) {
        const ferry_pmml_binnode_t *n = &bin[c];
        double a = X[n->field][r];
        if (isnan(a))
            return -2;
        int test = n->is_lt ? a < n->threshold : a <= n->threshold;
        c = n->left + (test ^ n->flip);
    }
    return c;
}

static void s_pre_ensemble(ferry_pmml_ctx_t *ctx, int32_t ci, const ferry_pmml_model_t *m, size_t nb)
{
    const ferry_pmml_t *p = ctx->p;
    const ferry_pmml_mining_t *mm = &m->u.mining_model;
    uint8_t *ok = ctx->cache_ok + (size_t)ci * S_BLOCK;
    double *sum = ctx->cache_value + (size_t)ci * S_BLOCK, *wsum = ctx->tmp;
    int32_t nc = m->n_classes;
    double *probs = ctx->cache_probs + ctx->cache_probs_off[m - p->models];
    bool is_class = m->function == FERRY_PMML_FN_CLASSIFICATION;
    int meth = mm->method;
    for (size_t r = 0; r < nb; r++) {
        sum[r] = 0;
        wsum[r] = 0;
    }
    if (is_class)
        memset(probs, 0, nb * (size_t)nc * sizeof(double));
    for (int32_t s = 0; s < mm->n_segments; s++) {
        const ferry_pmml_segment_t *seg = &mm->segments[s];
        const ferry_pmml_tree_t *t = &p->models[seg->model].u.tree;
        const ferry_pmml_model_t *sm = &p->models[seg->model];
        const ferry_pmml_target_t *tg = &sm->tgt;
        if (t->bin && !is_class && tg->factor == 1 && tg->constant == 0 && !tg->has_min && !tg->has_max &&
            !tg->cast && !sm->is_float) {
            /* regression trees: leaf scores straight from the compact nodes */
            double w = meth == FERRY_PMML_SEG_WAVERAGE || meth == FERRY_PMML_SEG_WSUM ? seg->weight : 1;
            bool is_weighted = meth == FERRY_PMML_SEG_WAVERAGE || meth == FERRY_PMML_SEG_WSUM;
            size_t r = 0;
            for (; r + S_WALK_LANES <= nb; r += S_WALK_LANES) {
                int32_t cur[S_WALK_LANES];
                s_bin_walk(t->bin, ctx->xcol, r, cur);
                for (int l = 0; l < S_WALK_LANES; l++) {
                    size_t q = r + (size_t)l;
                    double v = cur[l] >= 0 ? t->bin[cur[l]].threshold : NAN;
                    if (isnan(v)) {
                        ok[q] = 0;
                        continue;
                    }
                    sum[q] += is_weighted ? w * v : v;
                    wsum[q] += w;
                }
            }
            for (; r < nb; r++) {
                if (!ok[r])
                    continue;
                int32_t cur = s_bin_walk1(t->bin, ctx->xcol, r);
                double v = cur >= 0 ? t->bin[cur].threshold : NAN;
                if (isnan(v)) {
                    ok[r] = 0;
                    continue;
                }
                sum[r] += is_weighted ? w * v : v;
                wsum[r] += w;
            }
            continue;
        }
        if (t->bin) {
            size_t r = 0;
            for (; r + S_WALK_LANES <= nb; r += S_WALK_LANES) {
                int32_t cur[S_WALK_LANES];
                s_bin_walk(t->bin, ctx->xcol, r, cur);
                for (int l = 0; l < S_WALK_LANES; l++)
                    if (ok[r + (size_t)l])
                        s_ens_add(p, m, seg, cur[l], r + (size_t)l, ok, sum, wsum, probs);
            }
            for (; r < nb; r++)
                if (ok[r])
                    s_ens_add(p, m, seg, s_bin_walk1(t->bin, ctx->xcol, r), r, ok, sum, wsum, probs);
            continue;
        }
        for (size_t r = 0; r < nb; r++)
            if (ok[r])
                s_ens_add(p, m, seg, s_fast_walk_x(t, ctx->xcol, r), r, ok, sum, wsum, probs);
    }
    int32_t *cls = ctx->cache_cls + (size_t)ci * S_BLOCK;
    for (size_t r = 0; r < nb; r++) {
        if (!ok[r])
            continue;
        if (!is_class) {
            if (meth == FERRY_PMML_SEG_AVERAGE || meth == FERRY_PMML_SEG_WAVERAGE)
                sum[r] /= wsum[r];
            continue;
        }
        if (wsum[r] <= 0) {
            ok[r] = 0;
            continue;
        }
        double *pr = probs + r * (size_t)nc;
        for (int32_t k = 0; k < nc; k++)
            pr[k] /= wsum[r];
        cls[r] = s_argmax(pr, nc);
    }
}

static void s_pre_regression(ferry_pmml_ctx_t *ctx, int32_t ci, int32_t mi, const ferry_pmml_model_t *m, size_t nb)
{
    const ferry_pmml_regression_t *rg = &m->u.regression;
    uint8_t *ok = ctx->cache_ok + (size_t)ci * S_BLOCK;
    int32_t nt = rg->n_tables;
    double *y = ctx->tmp; /* y[t * S_BLOCK + r] */
    for (int32_t t = 0; t < nt; t++) {
        const ferry_pmml_regtable_t *tb = &rg->tables[t];
        double *yt = y + (size_t)t * S_BLOCK;
        for (size_t r = 0; r < nb; r++)
            yt[r] = tb->intercept;
        for (int32_t i = 0; i < tb->n_num; i++) {
            const double *col = ctx->xcol[tb->num_field[i]];
            double c = tb->num_coef[i];
            s_v2_t cv = {c, c};
            size_t r = 0;
            /* two rows per SSE2 operation; every row adds its terms in table order */
            for (; r + 2 <= nb; r += 2) {
                s_v2_t yv, xv;
                memcpy(&yv, yt + r, sizeof yv);
                memcpy(&xv, col + r, sizeof xv);
                yv += cv * xv;
                memcpy(yt + r, &yv, sizeof yv);
            }
            for (; r < nb; r++)
                yt[r] += c * col[r];
        }
        for (size_t r = 0; r < nb; r++)
            if (isnan(yt[r]))
                ok[r] = 0; /* a missing input (or an overflow): the row evaluator decides */
    }
    double *val = ctx->cache_value + (size_t)ci * S_BLOCK;
    int32_t *cls = ctx->cache_cls + (size_t)ci * S_BLOCK;
    if (m->function != FERRY_PMML_FN_CLASSIFICATION) {
        for (size_t r = 0; r < nb; r++)
            val[r] = s_regnorm(rg->normalization, y[r]);
        return;
    }
    int32_t nc = m->n_classes;
    int norm = rg->normalization;
    if (nt == 2 && nc == 2 && norm != FERRY_PMML_NORM_SOFTMAX && norm != FERRY_PMML_NORM_SIMPLEMAX &&
        norm != FERRY_PMML_NORM_EXP && rg->tables[0].class_idx >= 0 && rg->tables[1].class_idx >= 0 &&
        rg->tables[0].class_idx != rg->tables[1].class_idx) {
        /* binary: what s_reg_finish does, one tight loop per block */
        double *probs = ctx->cache_probs + ctx->cache_probs_off[mi];
        int32_t c0 = rg->tables[0].class_idx, c1 = rg->tables[1].class_idx;
        for (size_t r = 0; r < nb; r++) {
            if (!ok[r])
                continue;
            double a = s_regnorm(norm, y[r]);
            probs[r * 2 + (size_t)c0] = a;
            probs[r * 2 + (size_t)c1] = 1 - a;
            cls[r] = probs[r * 2 + 1] > probs[r * 2] ? 1 : 0;
        }
        return;
    }
    double yv[nt > 0 ? nt : 1];
    s_pred_t tmp = {0};
    for (size_t r = 0; r < nb; r++) {
        if (!ok[r])
            continue;
        for (int32_t t = 0; t < nt; t++)
            yv[t] = y[(size_t)t * S_BLOCK + r];
        tmp.probs = ctx->cache_probs + ctx->cache_probs_off[mi] + r * (size_t)nc;
        s_reg_finish(ctx, m, &tmp, yv);
        cls[r] = tmp.cls;
    }
}

static void s_pre_nn(ferry_pmml_ctx_t *ctx, int32_t ci, int32_t mi, const ferry_pmml_model_t *m, size_t nb)
{
    const ferry_pmml_t *p = ctx->p;
    const ferry_pmml_nn_t *nn = &m->u.nn;
    uint8_t *ok = ctx->cache_ok + (size_t)ci * S_BLOCK;
    double *A = ctx->nn_block;
    int32_t nc = m->n_classes;
    for (size_t b0 = 0; b0 < nb; b0 += S_LANES) {
        size_t lanes = nb - b0 < S_LANES ? nb - b0 : S_LANES;
        for (int32_t i = 0; i < nn->n_inputs; i++) {
            const double *col = ctx->xcol[p->exprs[nn->input_expr[i]].field] + b0;
            for (size_t b = 0; b < S_LANES; b++) {
                double v = b < lanes ? col[b] : 0;
                if (isnan(v)) {
                    ok[b0 + b] = 0;
                    v = 0;
                }
                A[(size_t)i * S_LANES + b] = v;
            }
        }
        for (int32_t l = 0; l < nn->n_layers; l++) {
            const ferry_pmml_layer_t *L = &nn->layers[l];
            for (int32_t k = L->first_neuron; k < L->first_neuron + L->n_neurons; k++) {
                int32_t off = nn->con_off[k], cnt = nn->con_n[k];
                const double *w = nn->con_w + off;
                /* four 2-wide accumulators kept in registers; each lane adds in the
                 * row evaluator's order (no reassociation, no fused multiply-add) */
                s_v2_t z0 = {0, 0}, z1 = {0, 0}, z2 = {0, 0}, z3 = {0, 0};
                const double *src = A + (size_t)(nn->dense_from[k] >= 0 ? nn->dense_from[k] : 0) * S_LANES;
                for (int32_t j = 0; j < cnt; j++) {
                    if (nn->dense_from[k] < 0)
                        src = A + (size_t)nn->con_from[off + j] * S_LANES;
                    s_v2_t wj = {w[j], w[j]}, a0, a1, a2, a3;
                    memcpy(&a0, src, sizeof a0);
                    memcpy(&a1, src + 2, sizeof a1);
                    memcpy(&a2, src + 4, sizeof a2);
                    memcpy(&a3, src + 6, sizeof a3);
                    z0 += wj * a0;
                    z1 += wj * a1;
                    z2 += wj * a2;
                    z3 += wj * a3;
                    src += S_LANES;
                }
                double z[S_LANES];
                memcpy(z, &z0, sizeof z0);
                memcpy(z + 2, &z1, sizeof z1);
                memcpy(z + 4, &z2, sizeof z2);
                memcpy(z + 6, &z3, sizeof z3);
                double *dst = A + (size_t)k * S_LANES;
                for (int b = 0; b < S_LANES; b++)
                    dst[b] = s_activate(L->activation, z[b] + nn->bias[k], L->threshold);
            }
            if (L->normalization != FERRY_PMML_NORM_NONE)
                for (size_t b = 0; b < lanes; b++) {
                    double *v = ctx->neurons;
                    for (int32_t q = 0; q < L->n_neurons; q++)
                        v[q] = A[(size_t)(L->first_neuron + q) * S_LANES + b];
                    s_normalize_probs(L->normalization, v, L->n_neurons);
                    for (int32_t q = 0; q < L->n_neurons; q++)
                        A[(size_t)(L->first_neuron + q) * S_LANES + b] = v[q];
                }
        }
        for (size_t b = 0; b < lanes; b++) {
            size_t r = b0 + b;
            if (!ok[r])
                continue;
            for (int32_t o = 0; o < nn->n_outputs; o++)
                ctx->neurons[nn->output_neuron[o]] = A[(size_t)nn->output_neuron[o] * S_LANES + b];
            s_pred_t tmp = {0};
            tmp.probs = ctx->cache_probs + ctx->cache_probs_off[mi] + r * (size_t)nc;
            s_nn_finish(ctx, m, &tmp, ctx->neurons);
            if (!tmp.has) {
                ok[r] = 0;
                continue;
            }
            ctx->cache_value[(size_t)ci * S_BLOCK + r] = tmp.value;
            ctx->cache_cls[(size_t)ci * S_BLOCK + r] = tmp.cls;
        }
    }
}

int ferry_pmml_eval_batch(ferry_pmml_ctx_t *ctx, int32_t n_inputs, const int32_t *input_slots,
                          const double *const *cols, const uint8_t *const *is_missing, size_t n_rows,
                          double *out_values, int32_t *out_syms, uint8_t *row_ok)
{
    const ferry_pmml_t *p = ctx->p;
    int32_t nc = p->n_columns;
    ferry_pmml_value_t outv[nc > 0 ? nc : 1];
    ferry_err_t err;
    int failures = 0;
    for (size_t b0 = 0; b0 < n_rows; b0 += S_BLOCK) {
        size_t nb = n_rows - b0 < S_BLOCK ? n_rows - b0 : S_BLOCK;
        bool is_pre = ctx->n_precomp && nb >= S_MIN_PRECOMP;
        if (is_pre) {
            /* the caller's columns as they are; a copy only where a mask marks missing cells */
            for (int32_t f = 0; f < p->n_data_fields; f++)
                ctx->xcol[f] = ctx->nan_col;
            for (int32_t i = 0; i < n_inputs; i++) {
                int32_t slot = input_slots[i];
                if (slot < 0 || slot >= p->n_data_fields)
                    continue;
                const uint8_t *mask = is_missing && is_missing[i] ? is_missing[i] + b0 : NULL;
                bool any = false;
                for (size_t r = 0; mask && r < nb && !any; r++)
                    any = mask[r];
                if (!any) {
                    ctx->xcol[slot] = cols[i] + b0;
                    continue;
                }
                double *x = ctx->X + (size_t)slot * S_BLOCK;
                for (size_t r = 0; r < nb; r++)
                    x[r] = mask[r] ? NAN : cols[i][b0 + r];
                ctx->xcol[slot] = x;
            }
            for (int32_t c = 0; c < ctx->n_precomp; c++) {
                int32_t mi = ctx->precomp[c];
                memset(ctx->cache_ok + (size_t)c * S_BLOCK, 1, nb);
                switch (ctx->precomp_kind[c]) {
                case S_PRE_ENSEMBLE: s_pre_ensemble(ctx, c, &p->models[mi], nb); break;
                case S_PRE_REGRESSION: s_pre_regression(ctx, c, mi, &p->models[mi], nb); break;
                default:
                    /* a network evaluates S_LANES rows at a time: tiny batches are cheaper row by row */
                    if (nb * 2 < S_LANES)
                        memset(ctx->cache_ok + (size_t)c * S_BLOCK, 0, nb);
                    else
                        s_pre_nn(ctx, c, mi, &p->models[mi], nb);
                    break;
                }
            }
        }
        for (size_t rb = 0; rb < nb; rb++) {
            size_t r = b0 + rb;
            double *ov = out_values + r * (size_t)nc;
            int32_t *os = out_syms ? out_syms + r * (size_t)nc : NULL;
            if (is_pre && ctx->is_direct && ctx->cache_ok[rb]) {
                /* top model precomputed and unable to fail: outputs straight from the cache */
                const ferry_pmml_model_t *m = &p->models[0];
                bool is_class = m->function == FERRY_PMML_FN_CLASSIFICATION;
                const double *probs = ctx->cache_probs + rb * (size_t)m->n_classes;
                int32_t cls = ctx->cache_cls[rb];
                double value = is_class ? NAN : s_apply_target(m, ctx->cache_value[rb]);
                for (int32_t c = 0; c < nc; c++) {
                    const ferry_pmml_column_t *col = &p->columns[c];
                    const ferry_pmml_output_t *o = col->output >= 0 ? &m->outputs[col->output] : NULL;
                    double d = NAN;
                    int32_t sym = -1;
                    if (!o || o->feature == FERRY_PMML_OUT_PREDICTED) {
                        if (is_class)
                            sym = m->class_sym[cls];
                        else
                            d = value;
                    } else {
                        d = probs[o->class_idx >= 0 ? o->class_idx : cls];
                    }
                    ov[c] = d;
                    if (os)
                        os[c] = sym;
                }
                row_ok[r] = 1;
                continue;
            }
            ferry_pmml_ctx_clear(ctx);
            for (int32_t i = 0; i < n_inputs; i++) {
                if (is_missing && is_missing[i] && is_missing[i][r])
                    ferry_pmml_ctx_set_missing(ctx, input_slots[i]);
                else
                    ferry_pmml_ctx_set_num(ctx, input_slots[i], cols[i][r]);
            }
            ctx->cache_row = is_pre ? (int32_t)rb : -1;
            int rc = ferry_pmml_eval_row(ctx, outv, &err);
            ctx->cache_row = -1;
            row_ok[r] = rc == 0;
            if (rc < 0)
                failures++;
            for (int32_t c = 0; c < nc; c++) {
                double d = NAN;
                int32_t sym = -1;
                if (rc == 0) {
                    if (outv[c].kind == FERRY_PMML_NUM)
                        d = outv[c].num;
                    else if (outv[c].kind == FERRY_PMML_STR)
                        sym = outv[c].sym;
                }
                ov[c] = d;
                if (os)
                    os[c] = sym;
            }
        }
    }
    return failures;
}

bool ferry_pmml_is_batchable(const ferry_pmml_t *p)
{
    const ferry_pmml_model_t *m = &p->models[0];
    bool is_labelled = m->function != FERRY_PMML_FN_REGRESSION;
    for (int32_t i = 0; i < m->n_outputs; i++) {
        const ferry_pmml_output_t *o = &m->outputs[i];
        if (o->feature == FERRY_PMML_OUT_TRANSFORMED)
            return false;
        bool is_text = o->feature == FERRY_PMML_OUT_ENTITY || o->feature == FERRY_PMML_OUT_REASON ||
                       ((o->feature == FERRY_PMML_OUT_PREDICTED || o->feature == FERRY_PMML_OUT_DISPLAY) && is_labelled);
        if (o->datatype == FERRY_PMML_DT_STRING && !is_text)
            return false;
    }
    return true;
}
