/* pmml.c -- PMML compiler: libxml2 document -> the flat structure of pmml.h
 *
 * The XML tree lives only during ferry_pmml_load_mem(). Names are resolved through a
 * chain of scopes (DataDictionary + TransformationDictionary, then each model's
 * MiningSchema views, LocalTransformations and, inside a modelChain, the outputs of
 * earlier segments), so evaluation works on slot indexes only. */
#include "model/pmml.h"
#include "util/file.h"
#include "util/mem.h"

#include <libxml/parser.h>
#include <libxml/tree.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct s_scope {
    struct s_scope *parent;
    int32_t n, cap;
    const char **names; /* borrowed from fields[].name */
    int32_t *slots;
} s_scope_t;

typedef struct {
    ferry_pmml_t *p;
    ferry_err_t *err;
    const char *file;
    s_scope_t *scope;
    const char *model_kind; /* element name of the model being compiled */
    int32_t cap_fields, cap_exprs, cap_preds, cap_models, cap_syms, cap_num, cap_int, cap_val, cap_iv, cap_fn;
    int32_t cur_function;  /* DefineFunction being compiled (SAS Constant quirk), -1 */
    s_scope_t *chain_scope; /* set for the next segment model of a modelChain */
    int depth;
} s_cc_t;

/* ---- small helpers ------------------------------------------------------------------- */
static bool s_is(const xmlNode *n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name);
}

static const char *s_attr(const xmlNode *n, const char *name)
{
    for (const xmlAttr *a = n->properties; a; a = a->next)
        if (!strcmp((const char *)a->name, name))
            return a->children && a->children->content ? (const char *)a->children->content : "";
    return NULL;
}

static xmlNode *s_next_el(xmlNode *n)
{
    for (; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, "Extension"))
            return n;
    return NULL;
}
#define S_EACH(c, parent) for (xmlNode *c = s_next_el((parent)->children); c; c = s_next_el(c->next))

static xmlNode *s_child(xmlNode *n, const char *name)
{
    S_EACH(c, n)
        if (s_is(c, name))
            return c;
    return NULL;
}

static int s_fail(s_cc_t *cc, const xmlNode *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int s_fail(s_cc_t *cc, const xmlNode *n, const char *fmt, ...)
{
    char msg[FERRY_ERR_MAX / 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ferry_err(cc->err, "%s:%d: <%s>%s%s: %s", cc->file, n ? (int)xmlGetLineNo((xmlNode *)n) : 0,
              n ? (const char *)n->name : "?", cc->model_kind ? " in " : "", cc->model_kind ? cc->model_kind : "",
              msg);
    return -1;
}

static int s_unsupported(s_cc_t *cc, const xmlNode *n)
{
    return s_fail(cc, n, "unsupported element");
}

static void *s_grow(void *arr, int32_t *cap, int32_t need, size_t elsize)
{
    if (need <= *cap)
        return arr;
    int32_t nc = *cap ? *cap : 16;
    while (nc < need)
        nc *= 2;
    arr = ferry_reallocarray(arr, (size_t)nc, elsize);
    memset((char *)arr + (size_t)*cap * elsize, 0, (size_t)(nc - *cap) * elsize);
    *cap = nc;
    return arr;
}

static bool s_parse_num(const char *s, double *out)
{
    if (!s)
        return false;
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    if (!*s)
        return false;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
        end++;
    if (*end)
        return false;
    *out = v;
    return true;
}

static double s_attr_num(const xmlNode *n, const char *name, double dflt)
{
    double v;
    const char *s = s_attr(n, name);
    return s && s_parse_num(s, &v) ? v : dflt;
}

static int s_attr_num_req(s_cc_t *cc, const xmlNode *n, const char *name, double *out)
{
    const char *s = s_attr(n, name);
    if (!s)
        return s_fail(cc, n, "missing attribute %s", name);
    if (!s_parse_num(s, out))
        return s_fail(cc, n, "attribute %s=\"%.60s\" is not a number", name, s);
    return 0;
}

/* ---- symbols ---------------------------------------------------------------------------- */
static uint32_t s_hash(const char *s, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

int32_t ferry_pmml_sym_find(const ferry_pmml_t *p, const char *s, size_t len)
{
    if (!p->sym_cap)
        return -1;
    uint32_t mask = (uint32_t)p->sym_cap - 1;
    for (uint32_t i = s_hash(s, len) & mask;; i = (i + 1) & mask) {
        int32_t id = p->sym_hash[i];
        if (id < 0)
            return -1;
        if (!strncmp(p->syms[id], s, len) && p->syms[id][len] == '\0')
            return id;
    }
}

static int32_t s_sym(s_cc_t *cc, const char *s)
{
    ferry_pmml_t *p = cc->p;
    size_t len = strlen(s);
    int32_t id = ferry_pmml_sym_find(p, s, len);
    if (id >= 0)
        return id;
    if ((p->n_syms + 1) * 2 > p->sym_cap) {
        int32_t nc = p->sym_cap ? p->sym_cap * 2 : 256;
        free(p->sym_hash);
        p->sym_hash = ferry_malloc((size_t)nc * sizeof(int32_t));
        for (int32_t i = 0; i < nc; i++)
            p->sym_hash[i] = -1;
        p->sym_cap = nc;
        for (int32_t k = 0; k < p->n_syms; k++) {
            uint32_t mask = (uint32_t)nc - 1;
            uint32_t i = s_hash(p->syms[k], strlen(p->syms[k])) & mask;
            while (p->sym_hash[i] >= 0)
                i = (i + 1) & mask;
            p->sym_hash[i] = k;
        }
    }
    p->syms = s_grow(p->syms, &cc->cap_syms, p->n_syms + 1, sizeof(char *));
    id = p->n_syms++;
    p->syms[id] = ferry_strdup(s);
    uint32_t mask = (uint32_t)p->sym_cap - 1;
    uint32_t i = s_hash(s, len) & mask;
    while (p->sym_hash[i] >= 0)
        i = (i + 1) & mask;
    p->sym_hash[i] = id;
    return id;
}

static bool s_is_numeric_dt(int dt)
{
    return dt != FERRY_PMML_DT_STRING;
}

static int s_datatype(const char *s)
{
    if (!s)
        return -1;
    if (!strcmp(s, "string"))
        return FERRY_PMML_DT_STRING;
    if (!strcmp(s, "integer"))
        return FERRY_PMML_DT_INTEGER;
    if (!strcmp(s, "float"))
        return FERRY_PMML_DT_FLOAT;
    if (!strcmp(s, "double"))
        return FERRY_PMML_DT_DOUBLE;
    if (!strcmp(s, "boolean"))
        return FERRY_PMML_DT_BOOLEAN;
    return FERRY_PMML_DT_OTHER;
}

/* A typed constant: numbers for numeric dataTypes, interned strings otherwise. */
static int s_typed_value(s_cc_t *cc, const xmlNode *n, const char *text, int datatype, ferry_pmml_value_t *v)
{
    memset(v, 0, sizeof *v);
    if (datatype == 255 || datatype < 0) {
        double d;
        datatype = s_parse_num(text, &d) ? FERRY_PMML_DT_DOUBLE : FERRY_PMML_DT_STRING;
    }
    if (datatype == FERRY_PMML_DT_BOOLEAN) {
        v->kind = FERRY_PMML_NUM;
        if (!strcmp(text, "true") || !strcmp(text, "1"))
            v->num = 1;
        else if (!strcmp(text, "false") || !strcmp(text, "0"))
            v->num = 0;
        else
            return s_fail(cc, n, "\"%.60s\" is not a boolean", text);
        return 0;
    }
    if (s_is_numeric_dt(datatype) && datatype >= 0) {
        v->kind = FERRY_PMML_NUM;
        if (!s_parse_num(text, &v->num))
            return s_fail(cc, n, "\"%.60s\" is not a number", text);
        return 0;
    }
    v->kind = FERRY_PMML_STR;
    v->sym = s_sym(cc, text);
    v->str = NULL; /* fixed up by s_fix_strings once syms stop moving */
    return 0;
}

/* ---- pools --------------------------------------------------------------------------------- */
static int32_t s_new_field(s_cc_t *cc, const char *name, int origin)
{
    ferry_pmml_t *p = cc->p;
    p->fields = s_grow(p->fields, &cc->cap_fields, p->n_fields + 1, sizeof(ferry_pmml_field_t));
    int32_t i = p->n_fields++;
    ferry_pmml_field_t *f = &p->fields[i];
    f->name = ferry_strdup(name ? name : "");
    f->origin = (uint8_t)origin;
    f->datatype = FERRY_PMML_DT_DOUBLE;
    f->expr = -1;
    f->src = -1;
    return i;
}

static int32_t s_new_expr(s_cc_t *cc)
{
    ferry_pmml_t *p = cc->p;
    p->exprs = s_grow(p->exprs, &cc->cap_exprs, p->n_exprs + 1, sizeof(ferry_pmml_expr_t));
    int32_t i = p->n_exprs++;
    p->exprs[i].field = -1;
    p->exprs[i].fn = -1;
    p->exprs[i].datatype = 255;
    return i;
}

static int32_t s_new_pred(s_cc_t *cc)
{
    ferry_pmml_t *p = cc->p;
    p->preds = s_grow(p->preds, &cc->cap_preds, p->n_preds + 1, sizeof(ferry_pmml_pred_t));
    int32_t i = p->n_preds++;
    p->preds[i].field = -1;
    return i;
}

static int32_t s_new_model(s_cc_t *cc)
{
    ferry_pmml_t *p = cc->p;
    p->models = s_grow(p->models, &cc->cap_models, p->n_models + 1, sizeof(ferry_pmml_model_t));
    int32_t i = p->n_models++;
    ferry_pmml_model_t *m = &p->models[i];
    m->target = m->target_data = -1;
    m->tgt.factor = 1;
    return i;
}

static int32_t s_num_alloc(s_cc_t *cc, int32_t n)
{
    ferry_pmml_t *p = cc->p;
    p->num_pool = s_grow(p->num_pool, &cc->cap_num, p->n_num_pool + n, sizeof(double));
    int32_t off = p->n_num_pool;
    p->n_num_pool += n;
    return off;
}

static int32_t s_int_alloc(s_cc_t *cc, int32_t n)
{
    ferry_pmml_t *p = cc->p;
    p->int_pool = s_grow(p->int_pool, &cc->cap_int, p->n_int_pool + n, sizeof(int32_t));
    int32_t off = p->n_int_pool;
    p->n_int_pool += n;
    return off;
}

static int32_t s_val_alloc(s_cc_t *cc, int32_t n)
{
    ferry_pmml_t *p = cc->p;
    p->value_pool = s_grow(p->value_pool, &cc->cap_val, p->n_value_pool + n, sizeof(ferry_pmml_value_t));
    int32_t off = p->n_value_pool;
    p->n_value_pool += n;
    return off;
}

static int32_t s_iv_alloc(s_cc_t *cc, int32_t n)
{
    ferry_pmml_t *p = cc->p;
    p->interval_pool = s_grow(p->interval_pool, &cc->cap_iv, p->n_interval_pool + n, sizeof(ferry_pmml_interval_t));
    int32_t off = p->n_interval_pool;
    p->n_interval_pool += n;
    return off;
}

/* ---- scopes -------------------------------------------------------------------------------- */
static void s_scope_push(s_cc_t *cc, s_scope_t *s)
{
    memset(s, 0, sizeof *s);
    s->parent = cc->scope;
    cc->scope = s;
}

static void s_scope_pop(s_cc_t *cc)
{
    s_scope_t *s = cc->scope;
    cc->scope = s->parent;
    free(s->names);
    free(s->slots);
}

static void s_scope_add(s_scope_t *s, int32_t slot, const char *name)
{
    s->names = s_grow(s->names, &s->cap, s->n + 1, sizeof(char *));
    int32_t cap = s->cap - 0; /* slots grow in step with names */
    s->slots = ferry_reallocarray(s->slots, (size_t)cap, sizeof(int32_t));
    s->names[s->n] = name;
    s->slots[s->n] = slot;
    s->n++;
}

static int32_t s_resolve(s_cc_t *cc, const char *name)
{
    for (s_scope_t *s = cc->scope; s; s = s->parent)
        for (int32_t i = s->n - 1; i >= 0; i--)
            if (!strcmp(s->names[i], name))
                return s->slots[i];
    return -1;
}

static int32_t s_field_ref(s_cc_t *cc, const xmlNode *n, const char *attr)
{
    const char *name = s_attr(n, attr);
    if (!name) {
        s_fail(cc, n, "missing attribute %s", attr);
        return -1;
    }
    int32_t slot = s_resolve(cc, name);
    if (slot < 0)
        s_fail(cc, n, "field \"%.100s\" is not defined", name);
    return slot;
}

/* ---- Array ------------------------------------------------------------------------------- */
/* Split an Array's text into tokens (whitespace separated, "quoted" with \" escapes).
 * Calls fn for each token; returns the count or -1. */
typedef int (*s_token_fn)(s_cc_t *cc, const xmlNode *n, const char *tok, void *arg);
static int s_array_tokens(s_cc_t *cc, xmlNode *arr, s_token_fn fn, void *arg)
{
    xmlChar *text = xmlNodeGetContent(arr);
    const char *s = text ? (const char *)text : "";
    size_t len = strlen(s);
    char *tok = ferry_malloc(len + 1);
    int count = 0, rc = 0;
    size_t i = 0;
    while (i < len) {
        while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
            i++;
        if (i >= len)
            break;
        size_t k = 0;
        if (s[i] == '"') {
            i++;
            while (i < len && s[i] != '"') {
                if (s[i] == '\\' && i + 1 < len && s[i + 1] == '"')
                    i++;
                tok[k++] = s[i++];
            }
            if (i >= len) {
                rc = s_fail(cc, arr, "unterminated quoted string in Array");
                break;
            }
            i++;
        } else {
            while (i < len && !(s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
                tok[k++] = s[i++];
        }
        tok[k] = '\0';
        if (count >= FERRY_PMML_MAX_ARRAY) {
            rc = s_fail(cc, arr, "Array longer than %d entries", FERRY_PMML_MAX_ARRAY);
            break;
        }
        if (fn(cc, arr, tok, arg) < 0) {
            rc = -1;
            break;
        }
        count++;
    }
    free(tok);
    xmlFree(text);
    return rc < 0 ? -1 : count;
}

typedef struct {
    double *v;
    int32_t n, cap;
} s_dvec_t;
static int s_tok_num(s_cc_t *cc, const xmlNode *n, const char *tok, void *arg)
{
    s_dvec_t *d = arg;
    d->v = s_grow(d->v, &d->cap, d->n + 1, sizeof(double));
    if (!s_parse_num(tok, &d->v[d->n]))
        return s_fail(cc, n, "Array entry \"%.60s\" is not a number", tok);
    d->n++;
    return 0;
}

static int s_array_nums(s_cc_t *cc, xmlNode *arr, s_dvec_t *out)
{
    memset(out, 0, sizeof *out);
    if (s_array_tokens(cc, arr, s_tok_num, out) < 0) {
        free(out->v);
        memset(out, 0, sizeof *out);
        return -1;
    }
    return 0;
}

typedef struct {
    int datatype;
    int32_t start;
} s_vtok_t;
static int s_tok_val(s_cc_t *cc, const xmlNode *n, const char *tok, void *arg)
{
    s_vtok_t *t = arg;
    ferry_pmml_value_t v;
    if (s_typed_value(cc, n, tok, t->datatype, &v) < 0)
        return -1;
    int32_t off = s_val_alloc(cc, 1);
    cc->p->value_pool[off] = v;
    return 0;
}

/* ---- expressions ---------------------------------------------------------------------------- */
static int32_t s_compile_expr(s_cc_t *cc, xmlNode *n);

static xmlNode *s_first_expr_child(xmlNode *n)
{
    static const char *const kinds[] = {"Constant", "FieldRef", "NormContinuous", "NormDiscrete", "Discretize",
                                        "MapValues", "Apply", "Aggregate", "TextIndex", "Lag"};
    S_EACH(c, n)
        for (size_t k = 0; k < FERRY_ARRAY_LEN(kinds); k++)
            if (s_is(c, kinds[k]))
                return c;
    return NULL;
}

static int s_opt_value(s_cc_t *cc, xmlNode *n, const char *attr, int datatype, ferry_pmml_value_t *v)
{
    memset(v, 0, sizeof *v);
    const char *s = s_attr(n, attr);
    if (!s)
        return 0;
    if (datatype < 0 || datatype == 255) {
        double d;
        datatype = s_parse_num(s, &d) ? FERRY_PMML_DT_DOUBLE : FERRY_PMML_DT_STRING;
    }
    return s_typed_value(cc, n, s, datatype, v);
}

static const struct {
    const char *name;
    int fn;
    int min_args, max_args;
} s_builtins[] = {
    {"+", FERRY_PMML_FN_ADD, 2, 2}, {"-", FERRY_PMML_FN_SUB, 2, 2}, {"*", FERRY_PMML_FN_MUL, 2, 2},
    {"/", FERRY_PMML_FN_DIV, 2, 2}, {"min", FERRY_PMML_FN_MIN, 1, 1 << 20}, {"max", FERRY_PMML_FN_MAX, 1, 1 << 20},
    {"sum", FERRY_PMML_FN_SUM, 1, 1 << 20}, {"avg", FERRY_PMML_FN_AVG, 1, 1 << 20},
    {"median", FERRY_PMML_FN_MEDIAN, 1, 1 << 20}, {"product", FERRY_PMML_FN_PRODUCT, 1, 1 << 20},
    {"log10", FERRY_PMML_FN_LOG10, 1, 1}, {"ln", FERRY_PMML_FN_LN, 1, 1}, {"sqrt", FERRY_PMML_FN_SQRT, 1, 1},
    {"abs", FERRY_PMML_FN_ABS, 1, 1}, {"exp", FERRY_PMML_FN_EXP, 1, 1}, {"pow", FERRY_PMML_FN_POW, 2, 2},
    {"threshold", FERRY_PMML_FN_THRESHOLD, 2, 2}, {"floor", FERRY_PMML_FN_FLOOR, 1, 1},
    {"ceil", FERRY_PMML_FN_CEIL, 1, 1}, {"round", FERRY_PMML_FN_ROUND, 1, 1},
    {"modulo", FERRY_PMML_FN_MODULO, 2, 2}, {"isMissing", FERRY_PMML_FN_ISMISSING, 1, 1},
    {"isNotMissing", FERRY_PMML_FN_ISNOTMISSING, 1, 1}, {"isValid", FERRY_PMML_FN_ISVALID, 1, 1},
    {"isNotValid", FERRY_PMML_FN_ISNOTVALID, 1, 1}, {"equal", FERRY_PMML_FN_EQUAL, 2, 2},
    {"notEqual", FERRY_PMML_FN_NOTEQUAL, 2, 2}, {"lessThan", FERRY_PMML_FN_LT, 2, 2},
    {"lessOrEqual", FERRY_PMML_FN_LE, 2, 2}, {"greaterThan", FERRY_PMML_FN_GT, 2, 2},
    {"greaterOrEqual", FERRY_PMML_FN_GE, 2, 2}, {"and", FERRY_PMML_FN_AND, 1, 1 << 20},
    {"or", FERRY_PMML_FN_OR, 1, 1 << 20}, {"not", FERRY_PMML_FN_NOT, 1, 1},
    {"isIn", FERRY_PMML_FN_ISIN, 2, 1 << 20}, {"isNotIn", FERRY_PMML_FN_ISNOTIN, 2, 1 << 20},
    {"if", FERRY_PMML_FN_IF, 2, 3}, {"uppercase", FERRY_PMML_FN_UPPERCASE, 1, 1},
    {"lowercase", FERRY_PMML_FN_LOWERCASE, 1, 1}, {"stringLength", FERRY_PMML_FN_STRLEN, 1, 1},
    {"substring", FERRY_PMML_FN_SUBSTRING, 3, 3}, {"trimBlanks", FERRY_PMML_FN_TRIMBLANKS, 1, 1},
    {"concat", FERRY_PMML_FN_CONCAT, 1, 1 << 20}, {"replace", FERRY_PMML_FN_REPLACE, 3, 3},
    {"matches", FERRY_PMML_FN_MATCHES, 2, 2}, {"formatNumber", FERRY_PMML_FN_FORMATNUMBER, 2, 2},
    {"expm1", FERRY_PMML_FN_EXPM1, 1, 1}, {"ln1p", FERRY_PMML_FN_LN1P, 1, 1},
    {"x-ln1p", FERRY_PMML_FN_LN1P, 1, 1}, {"x-expm1", FERRY_PMML_FN_EXPM1, 1, 1},
    {"logistic", FERRY_PMML_FN_LOGISTIC, 1, 1}, {"atan", FERRY_PMML_FN_ATAN, 1, 1},
    {"sin", FERRY_PMML_FN_SIN, 1, 1}, {"cos", FERRY_PMML_FN_COS, 1, 1}, {"tan", FERRY_PMML_FN_TAN, 1, 1},
    {"asin", FERRY_PMML_FN_ASIN, 1, 1}, {"acos", FERRY_PMML_FN_ACOS, 1, 1},
    {"sinh", FERRY_PMML_FN_SINH, 1, 1}, {"cosh", FERRY_PMML_FN_COSH, 1, 1},
    {"tanh", FERRY_PMML_FN_TANH, 1, 1}, {"hypot", FERRY_PMML_FN_HYPOT, 2, 2},
    {"rint", FERRY_PMML_FN_RINT, 1, 1}, {"stdNormalCDF", FERRY_PMML_FN_STDNORM_CDF, 1, 1},
    {"stdNormalPDF", FERRY_PMML_FN_STDNORM_PDF, 1, 1}, {"stdNormalIDF", FERRY_PMML_FN_STDNORM_IDF, 1, 1},
    {"erf", FERRY_PMML_FN_ERF, 1, 1}, {"normalCDF", FERRY_PMML_FN_NORM_CDF, 3, 3},
    {"normalPDF", FERRY_PMML_FN_NORM_PDF, 3, 3}, {"normalIDF", FERRY_PMML_FN_NORM_IDF, 3, 3},
};

static int32_t s_compile_expr(s_cc_t *cc, xmlNode *n)
{
    ferry_pmml_t *p = cc->p;
    if (++cc->depth > FERRY_PMML_MAX_DEPTH) {
        s_fail(cc, n, "expression nested deeper than %d", FERRY_PMML_MAX_DEPTH);
        cc->depth--;
        return -1;
    }
    int32_t e = s_new_expr(cc);
    int32_t result = -1;
#define E (&p->exprs[e])
    int dt = s_datatype(s_attr(n, "dataType"));
    if (s_is(n, "Constant")) {
        E->kind = FERRY_PMML_EX_CONST;
        xmlChar *text = xmlNodeGetContent(n);
        const char *t = text ? (const char *)text : "";
        const char *missing = s_attr(n, "missing");
        if (missing && !strcmp(missing, "true")) {
            xmlFree(text);
            goto ok;
        }
        /* SAS quirk (documented in the conformance README): inside a DefineFunction,
         * <Constant>PARAM</Constant> names the parameter PARAM. */
        if (dt < 0 && cc->cur_function >= 0) {
            ferry_pmml_function_t *f = &p->functions[cc->cur_function];
            for (int32_t i = 0; i < f->n_params; i++)
                if (!strcmp(p->fields[f->param_slots[i]].name, t)) {
                    E->kind = FERRY_PMML_EX_FIELDREF;
                    E->field = f->param_slots[i];
                    xmlFree(text);
                    goto ok;
                }
        }
        if (dt < 0) {
            double d;
            dt = s_parse_num(t, &d) ? FERRY_PMML_DT_DOUBLE : FERRY_PMML_DT_STRING;
        }
        int rc = s_typed_value(cc, n, t, dt, &p->exprs[e].value);
        xmlFree(text);
        if (rc < 0)
            goto out;
        p->exprs[e].datatype = (uint8_t)dt;
        goto ok;
    }
    if (s_is(n, "FieldRef")) {
        int32_t f = s_field_ref(cc, n, "field");
        if (f < 0)
            goto out;
        E->kind = FERRY_PMML_EX_FIELDREF;
        E->field = f;
        if (s_opt_value(cc, n, "mapMissingTo", -1, &p->exprs[e].map_missing_to) < 0)
            goto out;
        goto ok;
    }
    if (s_is(n, "NormContinuous")) {
        int32_t f = s_field_ref(cc, n, "field");
        if (f < 0)
            goto out;
        s_dvec_t orig = {0}, norm = {0};
        S_EACH(c, n) {
            if (!s_is(c, "LinearNorm")) {
                s_unsupported(cc, c);
                goto nc_fail;
            }
            double o, v;
            if (s_attr_num_req(cc, c, "orig", &o) < 0 || s_attr_num_req(cc, c, "norm", &v) < 0)
                goto nc_fail;
            orig.v = s_grow(orig.v, &orig.cap, orig.n + 1, sizeof(double));
            norm.v = s_grow(norm.v, &norm.cap, norm.n + 1, sizeof(double));
            orig.v[orig.n++] = o;
            norm.v[norm.n++] = v;
        }
        if (orig.n < 2) {
            s_fail(cc, n, "NormContinuous needs at least two LinearNorm elements");
            goto nc_fail;
        }
        for (int32_t i = 1; i < orig.n; i++)
            if (!(orig.v[i] > orig.v[i - 1])) {
                s_fail(cc, n, "LinearNorm orig values must increase");
                goto nc_fail;
            }
        {
            int32_t off = s_num_alloc(cc, orig.n * 2);
            memcpy(p->num_pool + off, orig.v, (size_t)orig.n * sizeof(double));
            memcpy(p->num_pool + off + orig.n, norm.v, (size_t)orig.n * sizeof(double));
            E->kind = FERRY_PMML_EX_NORMCONT;
            E->field = f;
            E->n = orig.n;
            E->off = off;
            const char *o = s_attr(n, "outliers");
            E->outliers = !o || !strcmp(o, "asIs") ? FERRY_PMML_OUTLIER_ASIS
                          : !strcmp(o, "asMissingValues") ? FERRY_PMML_OUTLIER_ASMISSING
                                                          : FERRY_PMML_OUTLIER_ASEXTREME;
            free(orig.v);
            free(norm.v);
            if (s_opt_value(cc, n, "mapMissingTo", FERRY_PMML_DT_DOUBLE, &p->exprs[e].map_missing_to) < 0)
                goto out;
            goto ok;
        }
    nc_fail:
        free(orig.v);
        free(norm.v);
        goto out;
    }
    if (s_is(n, "NormDiscrete")) {
        int32_t f = s_field_ref(cc, n, "field");
        if (f < 0)
            goto out;
        const char *v = s_attr(n, "value");
        if (!v) {
            s_fail(cc, n, "missing attribute value");
            goto out;
        }
        E->kind = FERRY_PMML_EX_NORMDISC;
        E->field = f;
        if (s_typed_value(cc, n, v, p->fields[f].datatype, &p->exprs[e].disc_value) < 0)
            goto out;
        if (s_opt_value(cc, n, "mapMissingTo", FERRY_PMML_DT_DOUBLE, &p->exprs[e].map_missing_to) < 0)
            goto out;
        goto ok;
    }
    if (s_is(n, "Discretize")) {
        int32_t f = s_field_ref(cc, n, "field");
        if (f < 0)
            goto out;
        int odt = dt >= 0 ? dt : -1;
        E->kind = FERRY_PMML_EX_DISCRETIZE;
        E->field = f;
        int32_t count = 0;
        S_EACH(c, n) count += s_is(c, "DiscretizeBin");
        int32_t ivoff = s_iv_alloc(cc, count), voff = s_val_alloc(cc, count);
        p->exprs[e].n = count;
        p->exprs[e].off = ivoff;
        p->exprs[e].aux = voff;
        int32_t k = 0;
        S_EACH(c, n) {
            if (!s_is(c, "DiscretizeBin")) {
                s_unsupported(cc, c);
                goto out;
            }
            xmlNode *iv = s_child(c, "Interval");
            const char *bv = s_attr(c, "binValue");
            if (!iv || !bv) {
                s_fail(cc, c, "DiscretizeBin needs binValue and an Interval");
                goto out;
            }
            ferry_pmml_interval_t *I = &p->interval_pool[ivoff + k];
            I->left = s_attr_num(iv, "leftMargin", -INFINITY);
            I->right = s_attr_num(iv, "rightMargin", INFINITY);
            const char *cl = s_attr(iv, "closure");
            I->is_left_open = !cl || !strncmp(cl, "open", 4);
            I->is_right_open = !cl || strstr(cl, "Open") != NULL;
            ferry_pmml_value_t bvv;
            int bdt = odt;
            if (bdt < 0) {
                double d;
                bdt = s_parse_num(bv, &d) ? FERRY_PMML_DT_DOUBLE : FERRY_PMML_DT_STRING;
            }
            if (s_typed_value(cc, c, bv, bdt, &bvv) < 0)
                goto out;
            p->value_pool[voff + k] = bvv;
            k++;
        }
        if (s_opt_value(cc, n, "mapMissingTo", odt, &p->exprs[e].map_missing_to) < 0 ||
            s_opt_value(cc, n, "defaultValue", odt, &p->exprs[e].default_value) < 0)
            goto out;
        goto ok;
    }
    if (s_is(n, "MapValues")) {
        const char *outcol = s_attr(n, "outputColumn");
        if (!outcol) {
            s_fail(cc, n, "missing attribute outputColumn");
            goto out;
        }
        int32_t ncols = 0;
        S_EACH(c, n) ncols += s_is(c, "FieldColumnPair");
        int32_t fo = s_int_alloc(cc, ncols * 2); /* field slot, column sym */
        int32_t k = 0;
        xmlNode *table = NULL;
        S_EACH(c, n) {
            if (s_is(c, "FieldColumnPair")) {
                int32_t f = s_field_ref(cc, c, "field");
                const char *col = s_attr(c, "column");
                if (f < 0)
                    goto out;
                if (!col) {
                    s_fail(cc, c, "missing attribute column");
                    goto out;
                }
                p->int_pool[fo + k] = f;
                p->int_pool[fo + ncols + k] = s_sym(cc, col);
                k++;
            } else if (s_is(c, "InlineTable")) {
                table = c;
            } else {
                s_unsupported(cc, c);
                goto out;
            }
        }
        if (!table) {
            s_fail(cc, n, "MapValues without InlineTable");
            goto out;
        }
        int32_t outsym = s_sym(cc, outcol);
        int32_t nrows = 0;
        S_EACH(r, table) nrows += s_is(r, "row");
        int32_t voff = s_val_alloc(cc, nrows * (ncols + 1));
        int32_t ri = 0;
        S_EACH(r, table) {
            if (!s_is(r, "row"))
                continue;
            ferry_pmml_value_t *rowv = &p->value_pool[voff + ri * (ncols + 1)];
            for (int32_t j = 0; j <= ncols; j++)
                rowv[j].kind = FERRY_PMML_MISSING;
            S_EACH(cell, r) {
                int32_t cs = ferry_pmml_sym_find(p, (const char *)cell->name, strlen((const char *)cell->name));
                int32_t j = -1;
                if (cs == outsym)
                    j = ncols;
                else
                    for (int32_t q = 0; q < ncols; q++)
                        if (p->int_pool[fo + ncols + q] == cs)
                            j = q;
                if (j < 0)
                    continue;
                xmlChar *text = xmlNodeGetContent(cell);
                int cdt = j < ncols ? p->fields[p->int_pool[fo + j]].datatype : dt;
                if (cdt < 0) {
                    double d;
                    cdt = s_parse_num((const char *)text, &d) ? FERRY_PMML_DT_DOUBLE : FERRY_PMML_DT_STRING;
                }
                ferry_pmml_value_t v;
                int rc = s_typed_value(cc, cell, text ? (const char *)text : "", cdt, &v);
                xmlFree(text);
                if (rc < 0)
                    goto out;
                p->value_pool[voff + ri * (ncols + 1) + j] = v;
            }
            ri++;
        }
        E->kind = FERRY_PMML_EX_MAPVALUES;
        E->ncols = ncols;
        E->aux = fo;
        E->n = nrows;
        E->off = voff;
        if (s_opt_value(cc, n, "mapMissingTo", dt, &p->exprs[e].map_missing_to) < 0 ||
            s_opt_value(cc, n, "defaultValue", dt, &p->exprs[e].default_value) < 0)
            goto out;
        goto ok;
    }
    if (s_is(n, "Apply")) {
        const char *fname = s_attr(n, "function");
        if (!fname) {
            s_fail(cc, n, "missing attribute function");
            goto out;
        }
        int32_t nargs = 0;
        S_EACH(c, n) nargs++;
        int fn = -1;
        bool is_user = false;
        for (int32_t i = 0; i < p->n_functions; i++)
            if (!strcmp(p->functions[i].name, fname)) {
                fn = i;
                is_user = true;
                if (nargs != p->functions[i].n_params) {
                    s_fail(cc, n, "function %.60s takes %d arguments, got %d", fname, p->functions[i].n_params, nargs);
                    goto out;
                }
            }
        if (!is_user)
            for (size_t i = 0; i < FERRY_ARRAY_LEN(s_builtins); i++)
                if (!strcmp(s_builtins[i].name, fname)) {
                    fn = s_builtins[i].fn;
                    if (nargs < s_builtins[i].min_args || nargs > s_builtins[i].max_args) {
                        s_fail(cc, n, "function %.60s: wrong number of arguments (%d)", fname, nargs);
                        goto out;
                    }
                }
        if (fn < 0) {
            s_fail(cc, n, "unknown function \"%.60s\"", fname);
            goto out;
        }
        int32_t off = s_int_alloc(cc, nargs);
        int32_t k = 0;
        S_EACH(c, n) {
            int32_t a = s_compile_expr(cc, c);
            if (a < 0)
                goto out;
            p->int_pool[off + k++] = a;
        }
        E->kind = is_user ? FERRY_PMML_EX_CALL : FERRY_PMML_EX_APPLY;
        E->fn = fn;
        E->n = nargs;
        E->off = off;
        const char *ivt = s_attr(n, "invalidValueTreatment");
        E->invalid_as_missing = ivt && !strcmp(ivt, "asMissing");
        if (s_opt_value(cc, n, "mapMissingTo", -1, &p->exprs[e].map_missing_to) < 0 ||
            s_opt_value(cc, n, "defaultValue", -1, &p->exprs[e].default_value) < 0)
            goto out;
        goto ok;
    }
    s_unsupported(cc, n);
    goto out;
ok:
    result = e;
out:
#undef E
    cc->depth--;
    return result;
}

/* Compile the expression child of a DerivedField / OutputField container into slot's expr. */
static int32_t s_compile_expr_child(s_cc_t *cc, xmlNode *n)
{
    xmlNode *c = s_first_expr_child(n);
    if (!c) {
        S_EACH(x, n)
            return s_unsupported(cc, x);
        s_fail(cc, n, "missing expression");
        return -1;
    }
    return s_compile_expr(cc, c);
}

/* DerivedFields of a TransformationDictionary or LocalTransformations: register every
 * name first (a field may use one defined later), then compile the expressions. */
static int s_compile_derived(s_cc_t *cc, xmlNode *container)
{
    ferry_pmml_t *p = cc->p;
    int32_t first = p->n_fields;
    S_EACH(c, container) {
        if (s_is(c, "DefineFunction"))
            continue;
        if (!s_is(c, "DerivedField"))
            return s_unsupported(cc, c);
        const char *name = s_attr(c, "name");
        if (!name)
            return s_fail(cc, c, "missing attribute name");
        int32_t slot = s_new_field(cc, name, FERRY_PMML_FIELD_DERIVED);
        int dt = s_datatype(s_attr(c, "dataType"));
        p->fields[slot].datatype = (uint8_t)(dt >= 0 ? dt : 255); /* 255: untyped, keep the value */
        const char *op = s_attr(c, "optype");
        p->fields[slot].optype = op && !strcmp(op, "continuous") ? FERRY_PMML_OP_CONTINUOUS : FERRY_PMML_OP_CATEGORICAL;
        s_scope_add(cc->scope, slot, p->fields[slot].name);
    }
    int32_t k = first;
    S_EACH(c, container) {
        if (!s_is(c, "DerivedField"))
            continue;
        int32_t e = s_compile_expr_child(cc, c);
        if (e < 0)
            return -1;
        p->fields[k].expr = e;
        k++;
    }
    return 0;
}

static int s_compile_functions(s_cc_t *cc, xmlNode *dict)
{
    ferry_pmml_t *p = cc->p;
    S_EACH(c, dict) {
        if (!s_is(c, "DefineFunction"))
            continue;
        const char *name = s_attr(c, "name");
        if (!name)
            return s_fail(cc, c, "missing attribute name");
        p->functions = s_grow(p->functions, &cc->cap_fn, p->n_functions + 1, sizeof(ferry_pmml_function_t));
        int32_t fi = p->n_functions++;
        ferry_pmml_function_t *f = &p->functions[fi];
        f->name = ferry_strdup(name);
        f->body = -1;
        int32_t np = 0;
        S_EACH(a, c) np += s_is(a, "ParameterField");
        f->param_slots = ferry_calloc((size_t)np + 1, sizeof(int32_t));
        s_scope_t scope;
        s_scope_t *saved = cc->scope;
        cc->scope = NULL; /* a function body sees only its parameters */
        s_scope_push(cc, &scope);
        S_EACH(a, c) {
            if (!s_is(a, "ParameterField"))
                continue;
            const char *pn = s_attr(a, "name");
            if (!pn) {
                s_scope_pop(cc);
                cc->scope = saved;
                return s_fail(cc, a, "missing attribute name");
            }
            int32_t slot = s_new_field(cc, pn, FERRY_PMML_FIELD_PARAM);
            int dt = s_datatype(s_attr(a, "dataType"));
            p->fields[slot].datatype = (uint8_t)(dt >= 0 ? dt : 255);
            f = &p->functions[fi];
            f->param_slots[f->n_params++] = slot;
            s_scope_add(cc->scope, slot, p->fields[slot].name);
        }
        cc->cur_function = fi;
        int32_t body = s_compile_expr_child(cc, c);
        cc->cur_function = -1;
        s_scope_pop(cc);
        cc->scope = saved;
        if (body < 0)
            return -1;
        p->functions[fi].body = body;
    }
    return 0;
}

/* ---- DataDictionary -------------------------------------------------------------------------- */
static int s_compile_data_dictionary(s_cc_t *cc, xmlNode *dd)
{
    ferry_pmml_t *p = cc->p;
    S_EACH(c, dd) {
        if (s_is(c, "Taxonomy"))
            continue;
        if (!s_is(c, "DataField"))
            return s_unsupported(cc, c);
        const char *name = s_attr(c, "name");
        if (!name)
            return s_fail(cc, c, "missing attribute name");
        int32_t slot = s_new_field(cc, name, FERRY_PMML_FIELD_DATA);
        ferry_pmml_field_t *f = &p->fields[slot];
        int dt = s_datatype(s_attr(c, "dataType"));
        f->datatype = (uint8_t)(dt >= 0 ? dt : FERRY_PMML_DT_STRING);
        const char *op = s_attr(c, "optype");
        f->optype = !op ? (s_is_numeric_dt(f->datatype) ? FERRY_PMML_OP_CONTINUOUS : FERRY_PMML_OP_CATEGORICAL)
                    : !strcmp(op, "continuous") ? FERRY_PMML_OP_CONTINUOUS
                    : !strcmp(op, "ordinal")    ? FERRY_PMML_OP_ORDINAL
                                                : FERRY_PMML_OP_CATEGORICAL;
        int32_t nv = 0, ni = 0;
        S_EACH(v, c) {
            nv += s_is(v, "Value");
            ni += s_is(v, "Interval");
        }
        f->values = ferry_calloc((size_t)nv + 1, sizeof(ferry_pmml_value_t));
        f->value_property = ferry_calloc((size_t)nv + 1, 1);
        f->intervals = ferry_calloc((size_t)ni + 1, sizeof(ferry_pmml_interval_t));
        S_EACH(v, c) {
            f = &p->fields[slot];
            if (s_is(v, "Value")) {
                const char *val = s_attr(v, "value");
                if (!val)
                    return s_fail(cc, v, "missing attribute value");
                ferry_pmml_value_t tv;
                if (s_typed_value(cc, v, val, f->datatype, &tv) < 0)
                    return -1;
                const char *prop = s_attr(v, "property");
                uint8_t pr = !prop || !strcmp(prop, "valid") ? FERRY_PMML_VALID
                             : !strcmp(prop, "invalid")     ? FERRY_PMML_INVALID
                                                            : FERRY_PMML_AS_MISSING;
                f->values[f->n_values] = tv;
                f->value_property[f->n_values] = pr;
                f->n_values++;
                if (pr == FERRY_PMML_VALID)
                    f->has_valid_values = true;
            } else if (s_is(v, "Interval")) {
                ferry_pmml_interval_t *I = &f->intervals[f->n_intervals++];
                I->left = s_attr_num(v, "leftMargin", -INFINITY);
                I->right = s_attr_num(v, "rightMargin", INFINITY);
                const char *cl = s_attr(v, "closure");
                if (!cl)
                    return s_fail(cc, v, "missing attribute closure");
                I->is_left_open = !strncmp(cl, "open", 4);
                I->is_right_open = strstr(cl, "Open") != NULL;
            } else {
                return s_unsupported(cc, v);
            }
        }
        /* Value lists on continuous fields only name missing/invalid values. */
        if (f->optype == FERRY_PMML_OP_CONTINUOUS)
            f->has_valid_values = false;
        s_scope_add(cc->scope, slot, f->name);
    }
    p->n_data_fields = p->n_fields;
    return 0;
}

/* ---- predicates ------------------------------------------------------------------------------- */
static bool s_is_predicate(const xmlNode *n)
{
    return s_is(n, "SimplePredicate") || s_is(n, "SimpleSetPredicate") || s_is(n, "CompoundPredicate") ||
           s_is(n, "True") || s_is(n, "False");
}

static int32_t s_compile_pred(s_cc_t *cc, xmlNode *n)
{
    ferry_pmml_t *p = cc->p;
    if (++cc->depth > FERRY_PMML_MAX_DEPTH) {
        cc->depth--;
        s_fail(cc, n, "predicate nested deeper than %d", FERRY_PMML_MAX_DEPTH);
        return -1;
    }
    int32_t r = -1;
    int32_t pi = s_new_pred(cc);
    if (s_is(n, "True") || s_is(n, "False")) {
        p->preds[pi].kind = s_is(n, "True") ? FERRY_PMML_PR_TRUE : FERRY_PMML_PR_FALSE;
        r = pi;
    } else if (s_is(n, "SimplePredicate")) {
        int32_t f = s_field_ref(cc, n, "field");
        const char *op = s_attr(n, "operator");
        if (f < 0)
            goto out;
        static const char *const ops[] = {"equal", "notEqual", "lessThan", "lessOrEqual",
                                          "greaterThan", "greaterOrEqual", "isMissing", "isNotMissing"};
        int k = -1;
        for (int i = 0; op && i < (int)FERRY_ARRAY_LEN(ops); i++)
            if (!strcmp(op, ops[i]))
                k = i;
        if (k < 0) {
            s_fail(cc, n, "unknown operator \"%.40s\"", op ? op : "");
            goto out;
        }
        p->preds[pi].kind = FERRY_PMML_PR_SIMPLE;
        p->preds[pi].op = (uint8_t)k;
        p->preds[pi].field = f;
        if (k < FERRY_PMML_CMP_ISMISSING) {
            const char *v = s_attr(n, "value");
            if (!v) {
                s_fail(cc, n, "missing attribute value");
                goto out;
            }
            ferry_pmml_value_t tv;
            if (s_typed_value(cc, n, v, p->fields[f].datatype, &tv) < 0)
                goto out;
            p->preds[pi].value = tv;
        }
        r = pi;
    } else if (s_is(n, "SimpleSetPredicate")) {
        int32_t f = s_field_ref(cc, n, "field");
        const char *op = s_attr(n, "booleanOperator");
        xmlNode *arr = s_child(n, "Array");
        if (f < 0)
            goto out;
        if (!op || (strcmp(op, "isIn") && strcmp(op, "isNotIn")) || !arr) {
            s_fail(cc, n, "needs booleanOperator isIn|isNotIn and an Array");
            goto out;
        }
        s_vtok_t t = {p->fields[f].datatype, p->n_value_pool};
        int cnt = s_array_tokens(cc, arr, s_tok_val, &t);
        if (cnt < 0)
            goto out;
        p->preds[pi].kind = FERRY_PMML_PR_SET;
        p->preds[pi].op = strcmp(op, "isIn") ? 1 : 0;
        p->preds[pi].field = f;
        p->preds[pi].off = t.start;
        p->preds[pi].n = cnt;
        r = pi;
    } else if (s_is(n, "CompoundPredicate")) {
        const char *op = s_attr(n, "booleanOperator");
        static const char *const ops[] = {"and", "or", "xor", "surrogate"};
        int k = -1;
        for (int i = 0; op && i < 4; i++)
            if (!strcmp(op, ops[i]))
                k = i;
        if (k < 0) {
            s_fail(cc, n, "unknown booleanOperator \"%.40s\"", op ? op : "");
            goto out;
        }
        int32_t cnt = 0;
        S_EACH(c, n) cnt++;
        int32_t *kids = ferry_calloc((size_t)cnt + 1, sizeof(int32_t));
        int32_t k2 = 0;
        S_EACH(c, n) {
            int32_t ci = s_is_predicate(c) ? s_compile_pred(cc, c) : (s_unsupported(cc, c), -1);
            if (ci < 0) {
                free(kids);
                goto out;
            }
            kids[k2++] = ci;
        }
        int32_t off = s_int_alloc(cc, cnt);
        if (cnt) /* no children: the pool may still be NULL */
            memcpy(p->int_pool + off, kids, (size_t)cnt * sizeof(int32_t));
        free(kids);
        p->preds[pi].kind = FERRY_PMML_PR_COMPOUND;
        p->preds[pi].op = (uint8_t)k;
        p->preds[pi].n = cnt;
        p->preds[pi].off = off;
        r = pi;
    } else {
        s_unsupported(cc, n);
    }
out:
    cc->depth--;
    return r;
}

static int32_t s_compile_pred_of(s_cc_t *cc, xmlNode *container)
{
    S_EACH(c, container)
        if (s_is_predicate(c))
            return s_compile_pred(cc, c);
    s_fail(cc, container, "missing predicate");
    return -1;
}

/* ---- classes ------------------------------------------------------------------------------------ */
/* The index of a model's class, -1 when label is not one. */
static int32_t s_class_find(const ferry_pmml_t *p, const ferry_pmml_model_t *m, const char *label)
{
    int32_t sym = ferry_pmml_sym_find(p, label, strlen(label));
    for (int32_t i = 0; sym >= 0 && i < m->n_classes; i++)
        if (m->class_sym[i] == sym)
            return i;
    return -1;
}

static int32_t s_class(s_cc_t *cc, ferry_pmml_model_t *m, const char *label)
{
    int32_t sym = s_sym(cc, label);
    for (int32_t i = 0; i < m->n_classes; i++)
        if (m->class_sym[i] == sym)
            return i;
    m->class_sym = ferry_reallocarray(m->class_sym, (size_t)m->n_classes + 1, sizeof(int32_t));
    m->class_num = ferry_reallocarray(m->class_num, (size_t)m->n_classes + 1, sizeof(double));
    m->class_sym[m->n_classes] = sym;
    double d;
    m->class_num[m->n_classes] = s_parse_num(label, &d) ? d : NAN;
    return m->n_classes++;
}

/* Collect class labels mentioned anywhere below n (scores, distributions, categories). */
static void s_scan_classes(s_cc_t *cc, ferry_pmml_model_t *m, xmlNode *n, int depth)
{
    /* one level beyond the deepest tree s_compile_node accepts: the children of its deepest
     * Node (their ScoreDistributions) are scanned too */
    if (depth > FERRY_PMML_MAX_DEPTH + 1)
        return;
    S_EACH(c, n) {
        const char *v = NULL;
        if (s_is(c, "ScoreDistribution"))
            v = s_attr(c, "value");
        else if (s_is(c, "Node") || s_is(c, "SimpleRule"))
            v = s_attr(c, "score");
        else if (s_is(c, "RegressionTable") || s_is(c, "SupportVectorMachine"))
            v = s_attr(c, "targetCategory");
        if (v)
            s_class(cc, m, v);
        if (s_is(c, "SupportVectorMachine") && s_attr(c, "alternateTargetCategory"))
            s_class(cc, m, s_attr(c, "alternateTargetCategory"));
        if (s_is(c, "Node") || s_is(c, "RuleSet") || s_is(c, "CompoundRule") || s_is(c, "SimpleRule"))
            s_scan_classes(cc, m, c, depth + 1);
    }
}

/* ---- model pieces --------------------------------------------------------------------------------- */
static int32_t s_compile_model(s_cc_t *cc, xmlNode *n, int32_t *idx_out);

static int s_compile_mining_schema(s_cc_t *cc, int32_t mi, xmlNode *ms)
{
    ferry_pmml_t *p = cc->p;
    S_EACH(c, ms) {
        if (!s_is(c, "MiningField"))
            return s_unsupported(cc, c);
        int32_t src = s_field_ref(cc, c, "name");
        if (src < 0)
            return -1;
        const char *usage = s_attr(c, "usageType");
        if (usage && (!strcmp(usage, "target") || !strcmp(usage, "predicted"))) {
            if (p->models[mi].target_data < 0) {
                p->models[mi].target_data = src;
                p->models[mi].target = src;
            }
            continue;
        }
        if (usage && (!strcmp(usage, "supplementary") || !strcmp(usage, "frequencyWeight") ||
                      !strcmp(usage, "analysisWeight") || !strcmp(usage, "group")))
            continue;
        const char *ivt = s_attr(c, "invalidValueTreatment");
        int inv = !ivt || !strcmp(ivt, "returnInvalid") ? FERRY_PMML_INVALID_RETURN
                  : !strcmp(ivt, "asIs")               ? FERRY_PMML_INVALID_ASIS
                  : !strcmp(ivt, "asMissing")          ? FERRY_PMML_INVALID_ASMISSING
                  : !strcmp(ivt, "asValue")            ? FERRY_PMML_INVALID_ASVALUE
                                                       : -1;
        if (inv < 0)
            return s_fail(cc, c, "unknown invalidValueTreatment \"%.40s\"", ivt);
        const char *out = s_attr(c, "outliers");
        int outl = !out || !strcmp(out, "asIs") ? FERRY_PMML_OUTLIER_ASIS
                   : !strcmp(out, "asMissingValues") ? FERRY_PMML_OUTLIER_ASMISSING
                   : !strcmp(out, "asExtremeValues") ? FERRY_PMML_OUTLIER_ASEXTREME
                                                     : -1;
        if (outl < 0)
            return s_fail(cc, c, "unknown outliers \"%.40s\"", out);
        const char *mvr = s_attr(c, "missingValueReplacement");
        const char *ivr = s_attr(c, "invalidValueReplacement");
        const char *mvt = s_attr(c, "missingValueTreatment");
        bool is_missing_invalid = mvt && !strcmp(mvt, "returnInvalid");
        bool is_data = p->fields[src].origin == FERRY_PMML_FIELD_DATA;
        if (is_data && inv == FERRY_PMML_INVALID_RETURN) {
            ferry_pmml_model_t *m = &p->models[mi];
            m->checks = ferry_reallocarray(m->checks, (size_t)m->n_checks + 1, sizeof(int32_t));
            m->checks[m->n_checks++] = src;
        }
        bool is_trivial = !mvr && outl == FERRY_PMML_OUTLIER_ASIS && !is_missing_invalid &&
                          (inv == FERRY_PMML_INVALID_RETURN || inv == FERRY_PMML_INVALID_ASIS || !is_data);
        if (is_trivial)
            continue;
        int32_t slot = s_new_field(cc, p->fields[src].name, FERRY_PMML_FIELD_MINING);
        ferry_pmml_field_t *f = &p->fields[slot];
        f->src = src;
        f->datatype = p->fields[src].datatype;
        f->optype = p->fields[src].optype;
        f->invalid_treatment = (uint8_t)inv;
        f->outliers = (uint8_t)outl;
        f->has_low = s_attr(c, "lowValue") != NULL;
        f->has_high = s_attr(c, "highValue") != NULL;
        f->low_value = s_attr_num(c, "lowValue", -INFINITY);
        f->high_value = s_attr_num(c, "highValue", INFINITY);
        if (mvr) {
            if (s_typed_value(cc, c, mvr, f->datatype, &p->fields[slot].missing_replacement) < 0)
                return -1;
            p->fields[slot].is_missing_replacement_set = 1;
        }
        if (ivr) {
            if (s_typed_value(cc, c, ivr, f->datatype, &p->fields[slot].invalid_replacement) < 0)
                return -1;
            p->fields[slot].is_invalid_replacement_set = 1;
        }
        if (is_missing_invalid)
            p->fields[slot].is_missing_replacement_set = 2; /* returnInvalid on missing */
        ferry_pmml_model_t *m = &p->models[mi];
        m->mining = ferry_reallocarray(m->mining, (size_t)m->n_mining + 1, sizeof(int32_t));
        m->mining[m->n_mining++] = slot;
        s_scope_add(cc->scope, slot, p->fields[slot].name);
    }
    return 0;
}

static int s_compile_targets(s_cc_t *cc, int32_t mi, xmlNode *ts)
{
    ferry_pmml_t *p = cc->p;
    S_EACH(t, ts) {
        if (!s_is(t, "Target"))
            return s_unsupported(cc, t);
        ferry_pmml_target_t *g = &p->models[mi].tgt;
        g->factor = s_attr_num(t, "rescaleFactor", 1);
        g->constant = s_attr_num(t, "rescaleConstant", 0);
        g->has_min = s_attr(t, "min") != NULL;
        g->has_max = s_attr(t, "max") != NULL;
        g->min = s_attr_num(t, "min", -INFINITY);
        g->max = s_attr_num(t, "max", INFINITY);
        const char *cast = s_attr(t, "castInteger");
        g->cast = !cast ? 0 : !strcmp(cast, "round") ? 1 : !strcmp(cast, "ceiling") ? 2 : !strcmp(cast, "floor") ? 3 : 0;
        S_EACH(v, t) {
            if (!s_is(v, "TargetValue"))
                return s_unsupported(cc, v);
            const char *val = s_attr(v, "value");
            ferry_pmml_model_t *m = &p->models[mi];
            if (val && m->function == FERRY_PMML_FN_CLASSIFICATION) {
                int32_t ci = s_class(cc, m, val);
                const char *disp = s_attr(v, "displayValue");
                if (disp) {
                    int32_t dsym = s_sym(cc, disp);
                    m = &p->models[mi];
                    m->tgt.display = ferry_reallocarray(m->tgt.display, (size_t)m->n_classes, sizeof(int32_t));
                    for (int32_t k = m->tgt.n_display; k < m->n_classes; k++)
                        m->tgt.display[k] = -1;
                    m->tgt.n_display = m->n_classes;
                    m->tgt.display[ci] = dsym;
                }
                double prior = s_attr_num(v, "priorProbability", NAN);
                if (!isnan(prior)) {
                    m->tgt.prior = ferry_reallocarray(m->tgt.prior, (size_t)m->n_classes, sizeof(double));
                    m->tgt.prior[ci] = prior;
                }
            } else if (s_attr(v, "defaultValue")) {
                g->has_default = true;
                g->default_value = s_attr_num(v, "defaultValue", 0);
            }
        }
    }
    return 0;
}

static int s_compile_output(s_cc_t *cc, int32_t mi, xmlNode *out, s_scope_t *export_scope)
{
    ferry_pmml_t *p = cc->p;
    int32_t cnt = 0;
    S_EACH(c, out) cnt++;
    ferry_pmml_output_t *outs = ferry_calloc((size_t)cnt + 1, sizeof(ferry_pmml_output_t));
    p->models[mi].outputs = outs;
    S_EACH(c, out) {
        if (!s_is(c, "OutputField"))
            return s_unsupported(cc, c);
        const char *name = s_attr(c, "name");
        if (!name)
            return s_fail(cc, c, "missing attribute name");
        int32_t oi = p->models[mi].n_outputs++; /* counted now so destroy frees the name */
        ferry_pmml_output_t *o = &p->models[mi].outputs[oi];
        o->name = ferry_strdup(name);
        o->class_idx = -1;
        o->expr = -1;
        const char *fin = s_attr(c, "isFinalResult");
        o->is_final = !fin || strcmp(fin, "false");
        int dt = s_datatype(s_attr(c, "dataType"));
        const char *feat = s_attr(c, "feature");
        if (!feat || !strcmp(feat, "predictedValue"))
            o->feature = FERRY_PMML_OUT_PREDICTED;
        else if (!strcmp(feat, "predictedDisplayValue"))
            o->feature = FERRY_PMML_OUT_DISPLAY;
        else if (!strcmp(feat, "probability"))
            o->feature = FERRY_PMML_OUT_PROBABILITY;
        else if (!strcmp(feat, "transformedValue") || !strcmp(feat, "decision"))
            o->feature = FERRY_PMML_OUT_TRANSFORMED;
        else if (!strcmp(feat, "entityId") || !strcmp(feat, "clusterId"))
            o->feature = FERRY_PMML_OUT_ENTITY;
        else if (!strcmp(feat, "clusterAffinity") || !strcmp(feat, "affinity") || !strcmp(feat, "entityAffinity"))
            o->feature = FERRY_PMML_OUT_AFFINITY;
        else if (!strcmp(feat, "confidence"))
            o->feature = FERRY_PMML_OUT_CONFIDENCE;
        else if (!strcmp(feat, "reasonCode"))
            o->feature = FERRY_PMML_OUT_REASON;
        else if (!strcmp(feat, "ruleValue"))
            o->feature = FERRY_PMML_OUT_RULEVALUE;
        else if (!strcmp(feat, "residual"))
            o->feature = FERRY_PMML_OUT_RESIDUAL;
        else
            return s_fail(cc, c, "unsupported output feature \"%.40s\"", feat);
        if (o->feature == FERRY_PMML_OUT_RESIDUAL ||
            (o->feature == FERRY_PMML_OUT_RULEVALUE && p->models[mi].type != FERRY_PMML_ASSOCIATION))
            return s_fail(cc, c, "unsupported output feature \"%.40s\"", feat);
        if (o->feature == FERRY_PMML_OUT_RULEVALUE) {
            static const char *const rf[] = {"ruleId", "support", "confidence", "lift", "antecedent", "consequent"};
            static const char *const alg[] = {"recommendation", "exclusiveRecommendation", "ruleAssociation"};
            const char *a = s_attr(c, "ruleFeature"), *g = s_attr(c, "algorithm"), *b = s_attr(c, "rankBasis");
            const char *order = s_attr(c, "rankOrder");
            int fi = -1, ai = g ? -1 : 1, bi = b ? -1 : FERRY_PMML_RULEF_CONFIDENCE;
            for (int i = 0; i < 6; i++) {
                if (!strcmp(a ? a : "consequent", rf[i]))
                    fi = i;
                if (b && !strcmp(b, rf[i]) && i >= FERRY_PMML_RULEF_SUPPORT && i <= FERRY_PMML_RULEF_LIFT)
                    bi = i;
            }
            for (int i = 0; g && i < 3; i++)
                if (!strcmp(g, alg[i]))
                    ai = i;
            if (fi < 0 || fi > FERRY_PMML_RULEF_LIFT || ai < 0 || bi < 0 || (order && strcmp(order, "descending")))
                return s_fail(cc, c, "unsupported ruleValue (ruleFeature, algorithm, rankBasis or rankOrder)");
            o->rule_feature = (uint8_t)fi;
            o->rule_algorithm = (uint8_t)ai;
            o->rank_basis = (uint8_t)bi;
        }
        if (dt < 0)
            dt = o->feature == FERRY_PMML_OUT_PROBABILITY || o->feature == FERRY_PMML_OUT_AFFINITY ||
                         o->feature == FERRY_PMML_OUT_CONFIDENCE
                     ? FERRY_PMML_DT_DOUBLE
                     : 255;
        o->datatype = (uint8_t)dt;
        double rank = s_attr_num(c, "rank", 1);
        if (!(rank >= 1 && rank <= INT32_MAX) || rank != floor(rank))
            return s_fail(cc, c, "OutputField rank must be a positive integer");
        o->rank = (int32_t)rank;
        const char *val = s_attr(c, "value");
        if (val) {
            ferry_pmml_model_t *m = &p->models[mi];
            /* the model's arrays (distributions, counts) are sized by its classes by now:
             * a probability of anything else is an error in the document, not a new class */
            if (o->feature == FERRY_PMML_OUT_PROBABILITY &&
                (o->class_idx = s_class_find(p, m, val)) < 0)
                return s_fail(cc, c, "OutputField \"%.60s\": value \"%.40s\" is not a class of the model", name, val);
            o->value.kind = FERRY_PMML_STR;
            o->value.sym = s_sym(cc, val);
        }
        if (o->feature == FERRY_PMML_OUT_TRANSFORMED) {
            int32_t e = s_compile_expr_child(cc, c);
            if (e < 0)
                return -1;
            o = &p->models[mi].outputs[oi];
            o->expr = e;
        }
        int32_t slot = s_new_field(cc, name, FERRY_PMML_FIELD_OUTPUT);
        o = &p->models[mi].outputs[oi];
        o->slot = slot;
        p->fields[slot].datatype = (uint8_t)(o->datatype == 255 ? FERRY_PMML_DT_DOUBLE : o->datatype);
        s_scope_add(cc->scope, slot, p->fields[slot].name);
        if (export_scope)
            s_scope_add(export_scope, slot, p->fields[slot].name);
    }
    return 0;
}

/* ---- TreeModel ------------------------------------------------------------------------------------- */
static int s_compile_node(s_cc_t *cc, int32_t mi, xmlNode *n, int32_t ni, int depth)
{
    ferry_pmml_t *p = cc->p;
    if (depth > FERRY_PMML_MAX_DEPTH)
        return s_fail(cc, n, "tree deeper than %d", FERRY_PMML_MAX_DEPTH);
    ferry_pmml_model_t *m = &p->models[mi];
    ferry_pmml_tree_t *t = &m->u.tree;
    int32_t pred = s_compile_pred_of(cc, n);
    if (pred < 0)
        return -1;
    m = &p->models[mi];
    t = &m->u.tree;
    ferry_pmml_node_t *node = &t->nodes[ni];
    node->pred = pred;
    node->default_child = -1;
    node->dist_off = -1;
    node->score_class = -1;
    const char *id = s_attr(n, "id");
    node->id_sym = id ? s_sym(cc, id) : -1;
    const char *score = s_attr(n, "score");
    if (score) {
        node->has_score = true;
        if (m->function == FERRY_PMML_FN_CLASSIFICATION) {
            node->score_class = s_class(cc, m, score);
            node->score = m->class_num[node->score_class];
        } else if (!s_parse_num(score, &node->score)) {
            return s_fail(cc, n, "score \"%.40s\" is not a number", score);
        }
    }
    int32_t n_kids = 0, n_sd = 0;
    S_EACH(c, n) {
        if (s_is(c, "Node"))
            n_kids++;
        else if (s_is(c, "ScoreDistribution"))
            n_sd++;
        else if (s_is_predicate(c) || s_is(c, "Partition"))
            continue;
        else
            return s_unsupported(cc, c);
    }
    if (n_sd && m->function == FERRY_PMML_FN_CLASSIFICATION) {
        int32_t nc = m->n_classes; /* the distribution has this many entries */
        int32_t off = s_num_alloc(cc, nc);
        double sum = 0;
        bool is_prob = true;
        S_EACH(c, n) {
            if (!s_is(c, "ScoreDistribution"))
                continue;
            const char *v = s_attr(c, "value");
            double rc;
            if (!v || s_attr_num_req(cc, c, "recordCount", &rc) < 0)
                return s_fail(cc, c, "ScoreDistribution needs value and recordCount");
            int32_t ci = s_class_find(p, m, v);
            if (ci < 0)
                return s_fail(cc, c, "class \"%.40s\" not declared", v);
            double pr = s_attr_num(c, "probability", NAN);
            if (isnan(pr))
                is_prob = false;
            p->num_pool[off + ci] = rc;
            sum += rc;
        }
        if (is_prob) {
            S_EACH(c, n)
                if (s_is(c, "ScoreDistribution"))
                    p->num_pool[off + s_class_find(p, m, s_attr(c, "value"))] = s_attr_num(c, "probability", 0);
        } else if (sum > 0) {
            for (int32_t k = 0; k < nc; k++)
                p->num_pool[off + k] /= sum;
        }
        t->nodes[ni].dist_off = off;
    }
    if (!n_kids)
        return 0;
    int32_t first = t->n_nodes;
    t->n_nodes += n_kids;
    t->nodes = ferry_reallocarray(t->nodes, (size_t)t->n_nodes, sizeof(ferry_pmml_node_t));
    memset(t->nodes + first, 0, (size_t)n_kids * sizeof(ferry_pmml_node_t));
    t->nodes[ni].first_child = first;
    t->nodes[ni].n_children = n_kids;
    const char *dflt = s_attr(n, "defaultChild");
    int32_t k = 0;
    S_EACH(c, n) {
        if (!s_is(c, "Node"))
            continue;
        if (s_compile_node(cc, mi, c, first + k, depth + 1) < 0)
            return -1;
        t = &p->models[mi].u.tree;
        const char *cid = s_attr(c, "id");
        if (dflt && cid && !strcmp(dflt, cid))
            t->nodes[ni].default_child = first + k;
        k++;
    }
    if (dflt && t->nodes[ni].default_child < 0)
        return s_fail(cc, n, "defaultChild \"%.40s\" is not a child of this node", dflt);
    return 0;
}

static int s_compile_tree(s_cc_t *cc, int32_t mi, xmlNode *n)
{
    ferry_pmml_t *p = cc->p;
    ferry_pmml_model_t *m = &p->models[mi];
    const char *mvs = s_attr(n, "missingValueStrategy");
    m->u.tree.missing_value_strategy = !mvs || !strcmp(mvs, "none") ? FERRY_PMML_MVS_NONE
                                       : !strcmp(mvs, "lastPrediction") ? FERRY_PMML_MVS_LAST
                                       : !strcmp(mvs, "nullPrediction") ? FERRY_PMML_MVS_NULL
                                       : !strcmp(mvs, "defaultChild")   ? FERRY_PMML_MVS_DEFAULT
                                                                        : 255;
    if (m->u.tree.missing_value_strategy == 255)
        return s_fail(cc, n, "unsupported missingValueStrategy \"%.40s\"", mvs);
    const char *ntc = s_attr(n, "noTrueChildStrategy");
    m->u.tree.is_no_true_child_last = ntc && !strcmp(ntc, "returnLastPrediction");
    m->u.tree.missing_value_penalty = s_attr_num(n, "missingValuePenalty", 1);
    if (m->function == FERRY_PMML_FN_CLASSIFICATION)
        s_scan_classes(cc, m, n, 0);
    xmlNode *root = s_child(n, "Node");
    if (!root)
        return s_fail(cc, n, "TreeModel without Node");
    m->u.tree.n_nodes = 1;
    m->u.tree.nodes = ferry_calloc(1, sizeof(ferry_pmml_node_t));
    return s_compile_node(cc, mi, root, 0, 0);
}

/* ---- MiningModel ------------------------------------------------------------------------------------- */
static int s_compile_mining(s_cc_t *cc, int32_t mi, xmlNode *n)
{
    ferry_pmml_t *p = cc->p;
    xmlNode *seg = s_child(n, "Segmentation");
    if (!seg)
        return s_fail(cc, n, "MiningModel without Segmentation");
    const char *mm = s_attr(seg, "multipleModelMethod");
    static const char *const methods[] = {"average", "weightedAverage", "median", "weightedMedian", "sum",
                                          "weightedSum", "majorityVote", "weightedMajorityVote", "max",
                                          "selectFirst", "selectAll", "modelChain"};
    int k = -1;
    for (int i = 0; mm && i < (int)FERRY_ARRAY_LEN(methods); i++)
        if (!strcmp(mm, methods[i]))
            k = i;
    if (k < 0)
        return s_fail(cc, seg, "unsupported multipleModelMethod \"%.40s\"", mm ? mm : "");
    p->models[mi].u.mining_model.method = (uint8_t)k;
    int32_t cnt = 0;
    S_EACH(c, seg) {
        if (s_is(c, "Segment"))
            cnt++;
        else if (s_is(c, "LocalTransformations")) {
            if (s_compile_derived(cc, c) < 0)
                return -1;
        } else
            return s_unsupported(cc, c);
    }
    ferry_pmml_segment_t *segs = ferry_calloc((size_t)cnt + 1, sizeof(ferry_pmml_segment_t));
    p->models[mi].u.mining_model.segments = segs;
    int32_t si = 0;
    S_EACH(c, seg) {
        if (!s_is(c, "Segment"))
            continue;
        ferry_pmml_segment_t *s = &p->models[mi].u.mining_model.segments[si];
        s->weight = s_attr_num(c, "weight", 1);
        const char *id = s_attr(c, "id");
        s->id_sym = id ? s_sym(cc, id) : -1;
        int32_t pred = s_compile_pred_of(cc, c);
        if (pred < 0)
            return -1;
        p->models[mi].u.mining_model.segments[si].pred = pred;
        xmlNode *model_el = NULL;
        S_EACH(x, c)
            if (!s_is_predicate(x))
                model_el = x;
        if (!model_el)
            return s_fail(cc, c, "Segment without a model");
        int32_t sub;
        cc->chain_scope = p->models[mi].u.mining_model.method == FERRY_PMML_SEG_CHAIN ? cc->scope : NULL;
        if (s_compile_model(cc, model_el, &sub) < 0)
            return -1;
        p->models[mi].u.mining_model.segments[si].model = sub;
        p->models[mi].u.mining_model.n_segments = ++si;
    }
    /* the classes of a classification ensemble: union of the segments' classes */
    ferry_pmml_model_t *m = &p->models[mi];
    if (m->function == FERRY_PMML_FN_CLASSIFICATION || m->function == FERRY_PMML_FN_CLUSTERING) {
        for (int32_t i = 0; i < m->u.mining_model.n_segments; i++) {
            int32_t sub = m->u.mining_model.segments[i].model;
            for (int32_t c = 0; c < p->models[sub].n_classes; c++)
                s_class(cc, &p->models[mi], p->syms[p->models[sub].class_sym[c]]);
            m = &p->models[mi];
        }
        for (int32_t i = 0; i < m->u.mining_model.n_segments; i++) {
            int32_t sub = m->u.mining_model.segments[i].model;
            int32_t nc = p->models[sub].n_classes;
            int32_t off = s_int_alloc(cc, nc);
            for (int32_t c = 0; c < nc; c++)
                p->int_pool[off + c] = s_class(cc, &p->models[mi], p->syms[p->models[sub].class_sym[c]]);
            p->models[mi].u.mining_model.segments[i].class_map_off = off;
            m = &p->models[mi];
        }
    }
    return 0;
}

/* ---- RegressionModel ---------------------------------------------------------------------------------- */
static int s_norm_method(const char *s)
{
    static const char *const names[] = {"none", "softmax", "logit", "exp", "probit", "cloglog", "loglog", "cauchit", "simplemax"};
    if (!s)
        return FERRY_PMML_NORM_NONE;
    for (int i = 0; i < (int)FERRY_ARRAY_LEN(names); i++)
        if (!strcmp(s, names[i]))
            return i;
    return -1;
}

static int s_compile_regression(s_cc_t *cc, int32_t mi, xmlNode *n)
{
    ferry_pmml_t *p = cc->p;
    const char *nm = s_attr(n, "normalizationMethod");
    int norm = s_norm_method(nm);
    if (norm < 0)
        return s_fail(cc, n, "unsupported normalizationMethod \"%.40s\"", nm);
    ferry_pmml_regression_t *r = &p->models[mi].u.regression;
    r->normalization = (uint8_t)norm;
    int32_t cnt = 0;
    S_EACH(c, n) cnt += s_is(c, "RegressionTable");
    if (!cnt)
        return s_fail(cc, n, "RegressionModel without RegressionTable");
    r->tables = ferry_calloc((size_t)cnt, sizeof(ferry_pmml_regtable_t));
    r->n_tables = cnt;
    int32_t ti = 0;
    S_EACH(c, n) {
        if (!s_is(c, "RegressionTable"))
            continue;
        ferry_pmml_regtable_t *t = &p->models[mi].u.regression.tables[ti++];
        if (s_attr_num_req(cc, c, "intercept", &t->intercept) < 0)
            return -1;
        const char *tc = s_attr(c, "targetCategory");
        t->class_idx = tc ? s_class(cc, &p->models[mi], tc) : -1;
        int32_t nn = 0, nc = 0, nt = 0;
        S_EACH(x, c) {
            if (s_is(x, "NumericPredictor"))
                nn++;
            else if (s_is(x, "CategoricalPredictor"))
                nc++;
            else if (s_is(x, "PredictorTerm"))
                nt++;
            else
                return s_unsupported(cc, x);
        }
        t->num_field = ferry_calloc((size_t)nn + 1, sizeof(int32_t));
        t->num_exp = ferry_calloc((size_t)nn + 1, sizeof(double));
        t->num_coef = ferry_calloc((size_t)nn + 1, sizeof(double));
        t->cat_field = ferry_calloc((size_t)nc + 1, sizeof(int32_t));
        t->cat_value = ferry_calloc((size_t)nc + 1, sizeof(ferry_pmml_value_t));
        t->cat_coef = ferry_calloc((size_t)nc + 1, sizeof(double));
        t->term_off = ferry_calloc((size_t)nt + 1, sizeof(int32_t));
        t->term_n = ferry_calloc((size_t)nt + 1, sizeof(int32_t));
        t->term_coef = ferry_calloc((size_t)nt + 1, sizeof(double));
        S_EACH(x, c) {
            if (s_is(x, "NumericPredictor")) {
                int32_t f = s_field_ref(cc, x, "name");
                if (f < 0 || s_attr_num_req(cc, x, "coefficient", &t->num_coef[t->n_num]) < 0)
                    return -1;
                t->num_field[t->n_num] = f;
                t->num_exp[t->n_num] = s_attr_num(x, "exponent", 1);
                t->n_num++;
            } else if (s_is(x, "CategoricalPredictor")) {
                int32_t f = s_field_ref(cc, x, "name");
                const char *v = s_attr(x, "value");
                if (f < 0 || s_attr_num_req(cc, x, "coefficient", &t->cat_coef[t->n_cat]) < 0)
                    return -1;
                if (!v)
                    return s_fail(cc, x, "missing attribute value");
                if (s_typed_value(cc, x, v, p->fields[f].datatype, &t->cat_value[t->n_cat]) < 0)
                    return -1;
                t->cat_field[t->n_cat++] = f;
            } else {
                if (s_attr_num_req(cc, x, "coefficient", &t->term_coef[t->n_terms]) < 0)
                    return -1;
                int32_t nf = 0;
                S_EACH(y, x) nf++;
                int32_t off = s_int_alloc(cc, nf);
                int32_t k = 0;
                S_EACH(y, x) {
                    if (!s_is(y, "FieldRef"))
                        return s_unsupported(cc, y);
                    int32_t f = s_field_ref(cc, y, "field");
                    if (f < 0)
                        return -1;
                    p->int_pool[off + k++] = f;
                }
                t->term_off[t->n_terms] = off;
                t->term_n[t->n_terms] = nf;
                t->n_terms++;
            }
        }
    }
    return 0;
}

/* ---- GeneralRegressionModel --------------------------------------------------------------------------- */
/* CoxRegression: endTimeVariable, baselineStrataVariable and BaseCumHazardTables */
static int s_compile_cox(s_cc_t *cc, int32_t mi, xmlNode *n)
{
    ferry_pmml_t *p = cc->p;
    ferry_pmml_genreg_t *g = &p->models[mi].u.genreg;
    g->end_time_field = s_field_ref(cc, n, "endTimeVariable");
    if (g->end_time_field < 0)
        return -1;
    g->strata_field = s_attr(n, "baselineStrataVariable") ? s_field_ref(cc, n, "baselineStrataVariable") : -1;
    if (s_attr(n, "baselineStrataVariable") && g->strata_field < 0)
        return -1;
    xmlNode *tables = s_child(n, "BaseCumHazardTables");
    if (!tables)
        return s_fail(cc, n, "CoxRegression without BaseCumHazardTables");
    int32_t ns = 0, ncell = 0;
    S_EACH(c, tables) {
        if (s_is(c, "BaselineStratum")) {
            ns++;
            S_EACH(x, c) ncell++;
        } else if (s_is(c, "BaselineCell")) {
            ncell++;
        } else {
            return s_unsupported(cc, c);
        }
    }
    bool is_flat = ns == 0;
    if (is_flat)
        ns = 1;
    g->n_strata = ns;
    g->strata_value = ferry_calloc((size_t)ns, sizeof(ferry_pmml_value_t));
    g->strata_max_time = ferry_calloc((size_t)ns, sizeof(double));
    g->strata_off = ferry_calloc((size_t)ns, sizeof(int32_t));
    g->strata_n = ferry_calloc((size_t)ns, sizeof(int32_t));
    g->cell_time = ferry_calloc((size_t)ncell + 1, sizeof(double));
    g->cell_hazard = ferry_calloc((size_t)ncell + 1, sizeof(double));
    int32_t cell = 0, si = 0;
    if (is_flat) {
        if (s_attr_num_req(cc, tables, "maxTime", &g->strata_max_time[0]) < 0)
            return -1;
    }
    S_EACH(c, tables) {
        xmlNode *holder = is_flat ? tables : c;
        if (!is_flat) {
            const char *v = s_attr(c, "value");
            if (!v || g->strata_field < 0)
                return s_fail(cc, c, "BaselineStratum needs a value and a baselineStrataVariable");
            if (s_typed_value(cc, c, v, p->fields[g->strata_field].datatype, &g->strata_value[si]) < 0 ||
                s_attr_num_req(cc, c, "maxTime", &g->strata_max_time[si]) < 0)
                return -1;
        }
        g->strata_off[si] = cell;
        S_EACH(x, holder) {
            if (!s_is(x, "BaselineCell"))
                return s_unsupported(cc, x);
            if (s_attr_num_req(cc, x, "time", &g->cell_time[cell]) < 0 ||
                s_attr_num_req(cc, x, "cumHazard", &g->cell_hazard[cell]) < 0)
                return -1;
            if (cell > g->strata_off[si] && g->cell_time[cell] < g->cell_time[cell - 1])
                return s_fail(cc, x, "BaselineCell times must not decrease");
            cell++;
        }
        g->strata_n[si] = cell - g->strata_off[si];
        si++;
        if (is_flat)
            break;
    }
    return 0;
}

static int s_compile_genreg(s_cc_t *cc, int32_t mi, xmlNode *n)
{
    ferry_pmml_t *p = cc->p;
    ferry_pmml_genreg_t *g = &p->models[mi].u.genreg;
    const char *mt = s_attr(n, "modelType");
    if (!mt)
        return s_fail(cc, n, "missing attribute modelType");
    if (!strcmp(mt, "regression") || !strcmp(mt, "generalLinear"))
        g->kind = FERRY_PMML_GR_REGRESSION;
    else if (!strcmp(mt, "generalizedLinear"))
        g->kind = FERRY_PMML_GR_GLM;
    else if (!strcmp(mt, "multinomialLogistic"))
        g->kind = FERRY_PMML_GR_MULTINOMIAL;
    else if (!strcmp(mt, "CoxRegression") && p->models[mi].function == FERRY_PMML_FN_REGRESSION)
        g->kind = FERRY_PMML_GR_COX;
    else
        return s_fail(cc, n, "unsupported modelType \"%.40s\"", mt);
    const char *lf = s_attr(n, "linkFunction");
    static const char *const links[] = {"identity", "logit", "probit", "cloglog", "loglog", "log", "power",
                                        "cauchit", "oddspower", "negbin", "logc"};
    g->link = FERRY_PMML_LINK_IDENTITY;
    if (lf) {
        int k = -1;
        for (int i = 0; i < (int)FERRY_ARRAY_LEN(links); i++)
            if (!strcmp(lf, links[i]))
                k = i;
        if (k < 0)
            return s_fail(cc, n, "unsupported linkFunction \"%.40s\"", lf);
        g->link = (uint8_t)k;
    }
    if (g->kind == FERRY_PMML_GR_GLM && !lf)
        return s_fail(cc, n, "generalizedLinear needs linkFunction");
    g->link_power = s_attr_num(n, "linkParameter", 1);
    g->distr_param = s_attr_num(n, "distParameter", 1);
    g->offset_value = s_attr_num(n, "offsetValue", 0);
    g->trials_value = s_attr_num(n, "trialsValue", NAN);
    g->offset_field = s_attr(n, "offsetVariable") ? s_field_ref(cc, n, "offsetVariable") : -1;
    g->trials_field = s_attr(n, "trialsVariable") ? s_field_ref(cc, n, "trialsVariable") : -1;
    xmlNode *plist = s_child(n, "ParameterList");
    if (!plist)
        return s_fail(cc, n, "missing ParameterList");
    /* parameter names -> index */
    int32_t np = 0;
    S_EACH(c, plist) np++;
    char **pnames = ferry_calloc((size_t)np + 1, sizeof(char *));
    int32_t k = 0;
    int rc = -1;
    S_EACH(c, plist) {
        const char *nm = s_attr(c, "name");
        if (!s_is(c, "Parameter") || !nm) {
            s_fail(cc, c, "expected Parameter with a name");
            goto out;
        }
        pnames[k++] = (char *)nm;
    }
    g = &p->models[mi].u.genreg;
    g->n_params = np;
    g->ref_point = ferry_calloc((size_t)np + 1, sizeof(double));
    k = 0;
    S_EACH(c, plist)
        g->ref_point[k++] = s_attr_num(c, "referencePoint", 0);
    g->cell_off = ferry_calloc((size_t)np + 1, sizeof(int32_t));
    g->cell_n = ferry_calloc((size_t)np + 1, sizeof(int32_t));
    /* factor names */
    xmlNode *factors = s_child(n, "FactorList");
    xmlNode *ppm = s_child(n, "PPMatrix");
    int32_t ncells = 0;
    if (ppm)
        S_EACH(c, ppm) ncells++;
    g->cells = ferry_calloc((size_t)ncells + 1, sizeof(ferry_pmml_ppcell_t));
    /* cells grouped by parameter: count, then fill */
    int32_t *fill = ferry_calloc((size_t)np + 1, sizeof(int32_t));
    if (ppm)
        S_EACH(c, ppm) {
            const char *pn = s_attr(c, "parameterName");
            int32_t pi = -1;
            for (int32_t i = 0; pn && i < np; i++)
                if (!strcmp(pnames[i], pn))
                    pi = i;
            if (!s_is(c, "PPCell") || pi < 0) {
                free(fill);
                s_fail(cc, c, "PPCell names unknown parameter \"%.40s\"", pn ? pn : "");
                goto out;
            }
            g->cell_n[pi]++;
        }
    for (int32_t i = 1; i < np; i++)
        g->cell_off[i] = g->cell_off[i - 1] + g->cell_n[i - 1];
    if (ppm)
        S_EACH(c, ppm) {
            const char *pn = s_attr(c, "parameterName");
            int32_t pi = 0;
            for (int32_t i = 0; i < np; i++)
                if (!strcmp(pnames[i], pn))
                    pi = i;
            const char *pred = s_attr(c, "predictorName");
            const char *val = s_attr(c, "value");
            int32_t f = s_field_ref(cc, c, "predictorName");
            g = &p->models[mi].u.genreg;
            if (f < 0 || !val) {
                free(fill);
                if (f >= 0)
                    s_fail(cc, c, "missing attribute value");
                goto out;
            }
            bool is_factor = false;
            if (factors)
                S_EACH(x, factors)
                    if (s_attr(x, "name") && !strcmp(s_attr(x, "name"), pred))
                        is_factor = true;
            ferry_pmml_ppcell_t *cell = &g->cells[g->cell_off[pi] + fill[pi]++];
            cell->field = f;
            cell->is_factor = is_factor;
            if (is_factor) {
                if (s_typed_value(cc, c, val, p->fields[f].datatype, &cell->value) < 0) {
                    free(fill);
                    goto out;
                }
            } else if (!s_parse_num(val, &cell->exponent)) {
                free(fill);
                s_fail(cc, c, "covariate exponent \"%.40s\" is not a number", val);
                goto out;
            }
        }
    free(fill);
    /* ParamMatrix: rows per target category */
    xmlNode *pm = s_child(n, "ParamMatrix");
    if (!pm) {
        s_fail(cc, n, "missing ParamMatrix");
        goto out;
    }
    ferry_pmml_model_t *m = &p->models[mi];
    bool is_class = m->function == FERRY_PMML_FN_CLASSIFICATION;
    int32_t nrows = 0;
    int32_t *rows = NULL;
    S_EACH(c, pm) {
        if (!s_is(c, "PCell")) {
            s_unsupported(cc, c);
            free(rows); /* not yet owned by the model */
            goto out;
        }
        const char *tc = s_attr(c, "targetCategory");
        int32_t cls = is_class && tc ? s_class(cc, &p->models[mi], tc) : -1;
        bool found = false;
        for (int32_t i = 0; i < nrows; i++)
            found |= rows[i] == cls;
        if (!found) {
            rows = ferry_reallocarray(rows, (size_t)nrows + 1, sizeof(int32_t));
            rows[nrows++] = cls;
        }
    }
    g = &p->models[mi].u.genreg;
    g->n_rows = nrows;
    g->row_class = rows ? rows : ferry_calloc(1, sizeof(int32_t));
    g->beta = ferry_calloc((size_t)(nrows ? nrows : 1) * (size_t)(np ? np : 1), sizeof(double));
    S_EACH(c, pm) {
        const char *tc = s_attr(c, "targetCategory");
        int32_t cls = is_class && tc ? s_class(cc, &p->models[mi], tc) : -1;
        const char *pn = s_attr(c, "parameterName");
        int32_t pi = -1, ri = 0;
        for (int32_t i = 0; pn && i < np; i++)
            if (!strcmp(pnames[i], pn))
                pi = i;
        for (int32_t i = 0; i < nrows; i++)
            if (g->row_class[i] == cls)
                ri = i;
        double beta;
        if (pi < 0) {
            s_fail(cc, c, "PCell names unknown parameter \"%.40s\"", pn ? pn : "");
            goto out;
        }
        if (s_attr_num_req(cc, c, "beta", &beta) < 0)
            goto out;
        g->beta[ri * np + pi] = beta;
    }
    if (g->kind == FERRY_PMML_GR_COX && s_compile_cox(cc, mi, n) < 0)
        goto out;
    g = &p->models[mi].u.genreg;
    if (is_class) {
        const char *ref = s_attr(n, "targetReferenceCategory");
        g->ref_class = ref ? s_class(cc, &p->models[mi], ref) : -1;
        m = &p->models[mi];
        if (g->ref_class < 0)
            for (int32_t c = 0; c < m->n_classes && g->ref_class < 0; c++) {
                bool has = false;
                for (int32_t i = 0; i < nrows; i++)
                    has |= g->row_class[i] == c;
                if (!has)
                    g->ref_class = c;
            }
        if (g->ref_class < 0 && nrows == 1 && m->n_classes == 2)
            g->ref_class = g->row_class[0] == 0 ? 1 : 0;
        if (m->n_classes < 2) {
            s_fail(cc, n, "classification needs at least two target categories");
            goto out;
        }
    }
    rc = 0;
out:
    free(pnames);
    return rc;
}

/* ---- NeuralNetwork -------------------------------------------------------------------------------------- */
static int s_activation(const char *s)
{
    static const char *const names[] = {"threshold", "logistic", "tanh", "identity", "exponential", "reciprocal",
                                        "square", "Gauss", "sine", "cosine", "Elliott", "arctan", "rectifier",
                                        "radialBasis"};
    if (!s)
        return -1;
    for (int i = 0; i < (int)FERRY_ARRAY_LEN(names); i++)
        if (!strcmp(s, names[i]))
            return i;
    return -1;
}

typedef struct {
    const char **ids;
    int32_t n, cap;
} s_ids_t;

static int32_t s_id_index(s_ids_t *ids, const char *id)
{
    for (int32_t i = ids->n - 1; i >= 0; i--)
        if (!strcmp(ids->ids[i], id))
            return i;
    return -1;
}

static int s_compile_nn(s_cc_t *cc, int32_t mi, xmlNode *n)
{
    ferry_pmml_t *p = cc->p;
    ferry_pmml_nn_t *nn = &p->models[mi].u.nn;
    int def_act = s_activation(s_attr(n, "activationFunction"));
    if (def_act < 0)
        return s_fail(cc, n, "unsupported activationFunction \"%.40s\"", s_attr(n, "activationFunction") ? s_attr(n, "activationFunction") : "");
    int def_norm = s_norm_method(s_attr(n, "normalizationMethod"));
    if (def_norm < 0)
        return s_fail(cc, n, "unsupported normalizationMethod");
    double def_threshold = s_attr_num(n, "threshold", 0), def_width = s_attr_num(n, "width", NAN),
           def_alt = s_attr_num(n, "altitude", 1);
    s_ids_t ids = {0};
    int rc = -1;
    xmlNode *inputs = s_child(n, "NeuralInputs");
    if (!inputs) {
        s_fail(cc, n, "missing NeuralInputs");
        goto out;
    }
    int32_t ni = 0, total = 0, ncons = 0, nlayers = 0;
    S_EACH(c, inputs) ni++;
    S_EACH(l, n) {
        if (!s_is(l, "NeuralLayer"))
            continue;
        nlayers++;
        S_EACH(x, l) {
            if (!s_is(x, "Neuron"))
                continue;
            total++;
            S_EACH(y, x) ncons++;
        }
    }
    total += ni;
    nn = &p->models[mi].u.nn;
    nn->n_inputs = ni;
    nn->input_expr = ferry_calloc((size_t)ni + 1, sizeof(int32_t));
    nn->n_neurons = total;
    nn->bias = ferry_calloc((size_t)total + 1, sizeof(double));
    nn->width = ferry_calloc((size_t)total + 1, sizeof(double));
    nn->altitude = ferry_calloc((size_t)total + 1, sizeof(double));
    nn->con_off = ferry_calloc((size_t)total + 1, sizeof(int32_t));
    nn->con_n = ferry_calloc((size_t)total + 1, sizeof(int32_t));
    nn->dense_from = ferry_calloc((size_t)total + 1, sizeof(int32_t));
    nn->con_from = ferry_calloc((size_t)ncons + 1, sizeof(int32_t));
    nn->con_w = ferry_calloc((size_t)ncons + 1, sizeof(double));
    nn->layers = ferry_calloc((size_t)nlayers + 1, sizeof(ferry_pmml_layer_t));
    int32_t k = 0;
    S_EACH(c, inputs) {
        const char *id = s_attr(c, "id");
        xmlNode *df = s_child(c, "DerivedField");
        if (!s_is(c, "NeuralInput") || !id || !df) {
            s_fail(cc, c, "expected NeuralInput with id and DerivedField");
            goto out;
        }
        int32_t e = s_compile_expr_child(cc, df);
        if (e < 0)
            goto out;
        nn = &p->models[mi].u.nn;
        nn->input_expr[k++] = e;
        ids.ids = s_grow(ids.ids, &ids.cap, ids.n + 1, sizeof(char *));
        ids.ids[ids.n++] = id;
    }
    int32_t con = 0, neuron = ni;
    S_EACH(l, n) {
        if (!s_is(l, "NeuralLayer"))
            continue;
        nn = &p->models[mi].u.nn;
        ferry_pmml_layer_t *L = &nn->layers[nn->n_layers++];
        const char *a = s_attr(l, "activationFunction");
        int act = a ? s_activation(a) : def_act;
        int norm = s_attr(l, "normalizationMethod") ? s_norm_method(s_attr(l, "normalizationMethod")) : def_norm;
        if (act < 0 || (norm != FERRY_PMML_NORM_NONE && norm != FERRY_PMML_NORM_SOFTMAX && norm != FERRY_PMML_NORM_SIMPLEMAX)) {
            s_fail(cc, l, "unsupported activationFunction or normalizationMethod");
            goto out;
        }
        L->activation = (uint8_t)act;
        L->normalization = (uint8_t)norm;
        L->threshold = s_attr_num(l, "threshold", def_threshold);
        L->width = s_attr_num(l, "width", def_width);
        L->altitude = s_attr_num(l, "altitude", def_alt);
        L->first_neuron = neuron;
        S_EACH(x, l) {
            if (!s_is(x, "Neuron")) {
                s_unsupported(cc, x);
                goto out;
            }
            const char *id = s_attr(x, "id");
            if (!id) {
                s_fail(cc, x, "Neuron without id");
                goto out;
            }
            nn->bias[neuron] = s_attr_num(x, "bias", 0);
            nn->width[neuron] = s_attr_num(x, "width", L->width);
            nn->altitude[neuron] = s_attr_num(x, "altitude", L->altitude);
            nn->con_off[neuron] = con;
            nn->dense_from[neuron] = -1;
            bool is_dense = true;
            S_EACH(y, x) {
                const char *from = s_attr(y, "from");
                double w;
                if (!s_is(y, "Con") || !from) {
                    s_fail(cc, y, "expected Con with from");
                    goto out;
                }
                if (s_attr_num_req(cc, y, "weight", &w) < 0)
                    goto out;
                int32_t fi = s_id_index(&ids, from);
                if (fi < 0 || fi >= L->first_neuron) {
                    s_fail(cc, y, "Con from unknown or later neuron \"%.40s\"", from);
                    goto out;
                }
                if (nn->con_n[neuron] > 0 && fi != nn->con_from[con - 1] + 1)
                    is_dense = false;
                nn->con_from[con] = fi;
                nn->con_w[con] = w;
                con++;
                nn->con_n[neuron]++;
            }
            if (is_dense && nn->con_n[neuron] > 0)
                nn->dense_from[neuron] = nn->con_from[nn->con_off[neuron]];
            ids.ids = s_grow(ids.ids, &ids.cap, ids.n + 1, sizeof(char *));
            ids.ids[ids.n++] = id;
            neuron++;
            L->n_neurons++;
        }
    }
    /* transposed weights for fully connected layers (the row evaluator's fast form) */
    nn = &p->models[mi].u.nn;
    size_t nwt = 0;
    for (int32_t l = 0; l < nn->n_layers; l++) {
        ferry_pmml_layer_t *L = &nn->layers[l];
        L->wt_off = -1;
        int32_t f0 = L->first_neuron;
        bool is_dense = L->n_neurons > 0 && L->activation != FERRY_PMML_ACT_RADIALBASIS && nn->dense_from[f0] >= 0;
        for (int32_t q = 1; is_dense && q < L->n_neurons; q++)
            is_dense = nn->dense_from[f0 + q] == nn->dense_from[f0] && nn->con_n[f0 + q] == nn->con_n[f0];
        if (!is_dense)
            continue;
        L->dense_from = nn->dense_from[f0];
        L->dense_n = nn->con_n[f0];
        L->wt_off = (int32_t)nwt;
        nwt += (size_t)L->dense_n * (size_t)L->n_neurons;
    }
    nn->wt = ferry_calloc(nwt + 1, sizeof(double));
    for (int32_t l = 0; l < nn->n_layers; l++) {
        const ferry_pmml_layer_t *L = &nn->layers[l];
        if (L->wt_off < 0)
            continue;
        for (int32_t q = 0; q < L->n_neurons; q++)
            for (int32_t j = 0; j < L->dense_n; j++)
                nn->wt[(size_t)L->wt_off + (size_t)j * (size_t)L->n_neurons + (size_t)q] =
                    nn->con_w[nn->con_off[L->first_neuron + q] + j];
    }
    xmlNode *outs = s_child(n, "NeuralOutputs");
    if (!outs) {
        s_fail(cc, n, "missing NeuralOutputs");
        goto out;
    }
    int32_t no = 0;
    S_EACH(c, outs) no++;
    nn = &p->models[mi].u.nn;
    nn->output_neuron = ferry_calloc((size_t)no + 1, sizeof(int32_t));
    nn->output_expr = ferry_calloc((size_t)no + 1, sizeof(int32_t));
    nn->output_class = ferry_calloc((size_t)no + 1, sizeof(int32_t));
    S_EACH(c, outs) {
        const char *on = s_attr(c, "outputNeuron");
        xmlNode *df = s_child(c, "DerivedField");
        int32_t idx = on ? s_id_index(&ids, on) : -1;
        if (!s_is(c, "NeuralOutput") || idx < 0 || !df) {
            s_fail(cc, c, "expected NeuralOutput with a known outputNeuron and a DerivedField");
            goto out;
        }
        int32_t e = s_compile_expr_child(cc, df);
        if (e < 0)
            goto out;
        nn = &p->models[mi].u.nn;
        nn->output_neuron[nn->n_outputs] = idx;
        nn->output_expr[nn->n_outputs] = e;
        nn->output_class[nn->n_outputs] = -1;
        ferry_pmml_expr_t *ex = &p->exprs[e];
        if (p->models[mi].function == FERRY_PMML_FN_CLASSIFICATION) {
            if (ex->kind != FERRY_PMML_EX_NORMDISC) {
                s_fail(cc, c, "classification output must be NormDiscrete");
                goto out;
            }
            const char *label = ex->disc_value.kind == FERRY_PMML_STR ? p->syms[ex->disc_value.sym] : NULL;
            char buf[64];
            if (!label) {
                snprintf(buf, sizeof buf, "%.17g", ex->disc_value.num);
                xmlNode *nd = s_first_expr_child(df);
                label = nd && s_attr(nd, "value") ? s_attr(nd, "value") : buf;
            }
            nn->output_class[nn->n_outputs] = s_class(cc, &p->models[mi], label);
        } else if (ex->kind != FERRY_PMML_EX_FIELDREF && ex->kind != FERRY_PMML_EX_NORMCONT) {
            s_fail(cc, c, "regression output must be FieldRef or NormContinuous");
            goto out;
        }
        nn->n_outputs++;
    }
    rc = 0;
out:
    free(ids.ids);
    return rc;
}

/* ---- SupportVectorMachineModel ------------------------------------------------------------------------ */
static int s_compile_svm(s_cc_t *cc, int32_t mi, xmlNode *n)
{
    ferry_pmml_t *p = cc->p;
    ferry_pmml_svm_t *s = &p->models[mi].u.svm;
    const char *cm = s_attr(n, "classificationMethod");
    s->is_ovo = cm && !strcmp(cm, "OneAgainstOne");
    const char *mw = s_attr(n, "maxWins");
    s->is_max_wins = mw && !strcmp(mw, "true");
    s->threshold = s_attr_num(n, "threshold", 0);
    const char *rep = s_attr(n, "svmRepresentation");
    if (rep && strcmp(rep, "SupportVectors"))
        return s_fail(cc, n, "unsupported svmRepresentation \"%.40s\"", rep);
    bool has_kernel = false;
    S_EACH(c, n) {
        if (s_is(c, "LinearKernelType"))
            s->kernel = FERRY_PMML_KERNEL_LINEAR;
        else if (s_is(c, "PolynomialKernelType"))
            s->kernel = FERRY_PMML_KERNEL_POLY;
        else if (s_is(c, "RadialBasisKernelType"))
            s->kernel = FERRY_PMML_KERNEL_RBF;
        else if (s_is(c, "SigmoidKernelType"))
            s->kernel = FERRY_PMML_KERNEL_SIGMOID;
        else
            continue;
        has_kernel = true;
        s->gamma = s_attr_num(c, "gamma", 1);
        s->coef0 = s_attr_num(c, "coef0", 1);
        s->degree = s_attr_num(c, "degree", 1);
    }
    if (!has_kernel)
        return s_fail(cc, n, "missing kernel type");
    xmlNode *vd = s_child(n, "VectorDictionary");
    xmlNode *vf = vd ? s_child(vd, "VectorFields") : NULL;
    if (!vf)
        return s_fail(cc, n, "missing VectorDictionary/VectorFields");
    int32_t nf = 0;
    S_EACH(c, vf) nf++;
    s->n_inputs = nf;
    s->input_expr = ferry_calloc((size_t)nf + 1, sizeof(int32_t));
    int32_t k = 0;
    S_EACH(c, vf) {
        if (!s_is(c, "FieldRef"))
            return s_unsupported(cc, c);
        int32_t e = s_compile_expr(cc, c);
        if (e < 0)
            return -1;
        p->models[mi].u.svm.input_expr[k++] = e;
    }
    s = &p->models[mi].u.svm;
    int32_t nv = 0;
    S_EACH(c, vd) nv += s_is(c, "VectorInstance");
    s->n_vectors = nv;
    s->vectors = ferry_calloc((size_t)nv * (size_t)nf + 1, sizeof(double));
    const char **vids = ferry_calloc((size_t)nv + 1, sizeof(char *));
    int rc = -1;
    int32_t vi = 0;
    S_EACH(c, vd) {
        if (!s_is(c, "VectorInstance"))
            continue;
        vids[vi] = s_attr(c, "id");
        if (!vids[vi]) {
            s_fail(cc, c, "VectorInstance without id");
            goto out;
        }
        double *row = &p->models[mi].u.svm.vectors[(size_t)vi * (size_t)nf];
        xmlNode *sparse = s_child(c, "REAL-SparseArray");
        xmlNode *dense = s_child(c, "Array");
        if (!dense)
            dense = s_child(c, "REAL-ARRAY");
        if (sparse) {
            xmlNode *ix = s_child(sparse, "Indices"), *en = s_child(sparse, "REAL-Entries");
            s_dvec_t a = {0}, b = {0};
            if (ix && s_array_nums(cc, ix, &a) < 0)
                goto out;
            if (en && s_array_nums(cc, en, &b) < 0) {
                free(a.v);
                goto out;
            }
            if (a.n != b.n) {
                free(a.v);
                free(b.v);
                s_fail(cc, sparse, "Indices and REAL-Entries differ in length");
                goto out;
            }
            for (int32_t i = 0; i < a.n; i++) {
                if (!(a.v[i] >= 1 && a.v[i] <= nf)) {
                    s_fail(cc, sparse, "index %g out of range 1..%d", a.v[i], nf);
                    free(a.v);
                    free(b.v);
                    goto out;
                }
                row[(int32_t)a.v[i] - 1] = b.v[i];
            }
            free(a.v);
            free(b.v);
        } else if (dense) {
            s_dvec_t a = {0};
            if (s_array_nums(cc, dense, &a) < 0)
                goto out;
            if (a.n != nf) {
                free(a.v);
                s_fail(cc, dense, "vector has %d entries, expected %d", a.n, nf);
                goto out;
            }
            memcpy(row, a.v, (size_t)nf * sizeof(double));
            free(a.v);
        } else {
            s_fail(cc, c, "VectorInstance without array");
            goto out;
        }
        vi++;
    }
    if (p->models[mi].function == FERRY_PMML_FN_CLASSIFICATION)
        s_scan_classes(cc, &p->models[mi], n, 0);
    int32_t nm = 0;
    S_EACH(c, n) nm += s_is(c, "SupportVectorMachine");
    s = &p->models[mi].u.svm;
    s->machines = ferry_calloc((size_t)nm + 1, sizeof(ferry_pmml_svm_machine_t));
    S_EACH(c, n) {
        if (!s_is(c, "SupportVectorMachine"))
            continue;
        s = &p->models[mi].u.svm;
        ferry_pmml_svm_machine_t *M = &s->machines[s->n_machines++];
        const char *tc = s_attr(c, "targetCategory"), *ac = s_attr(c, "alternateTargetCategory");
        M->class_idx = tc ? s_class(cc, &p->models[mi], tc) : -1;
        M->alt_class_idx = ac ? s_class(cc, &p->models[mi], ac) : -1;
        M->threshold = s_attr_num(c, "threshold", p->models[mi].u.svm.threshold);
        xmlNode *svs = s_child(c, "SupportVectors"), *co = s_child(c, "Coefficients");
        if (!co) {
            s_fail(cc, c, "missing Coefficients");
            goto out;
        }
        M->intercept = s_attr_num(co, "absoluteValue", 0);
        int32_t ns = 0, ncf = 0;
        if (svs)
            S_EACH(x, svs) ns++;
        S_EACH(x, co) ncf++;
        M->sv = ferry_calloc((size_t)ns + 1, sizeof(int32_t));
        M->coef = ferry_calloc((size_t)ncf + 1, sizeof(double));
        if (svs)
            S_EACH(x, svs) {
                const char *id = s_attr(x, "vectorId");
                int32_t idx = -1;
                for (int32_t i = 0; id && i < nv; i++)
                    if (!strcmp(vids[i], id))
                        idx = i;
                if (idx < 0) {
                    s_fail(cc, x, "unknown vectorId \"%.40s\"", id ? id : "");
                    goto out;
                }
                M->sv[M->n_sv++] = idx;
            }
        int32_t q = 0;
        S_EACH(x, co)
            if (s_attr_num_req(cc, x, "value", &M->coef[q++]) < 0)
                goto out;
        if (ncf != M->n_sv && !(M->n_sv == 0 && s->kernel == FERRY_PMML_KERNEL_LINEAR)) {
            s_fail(cc, c, "%d coefficients for %d support vectors", ncf, M->n_sv);
            goto out;
        }
    }
    rc = 0;
out:
    free(vids);
    return rc;
}

/* ---- NaiveBayesModel ------------------------------------------------------------------------------------- */
static int s_compile_bayes(s_cc_t *cc, int32_t mi, xmlNode *n)
{
    ferry_pmml_t *p = cc->p;
    ferry_pmml_model_t *m = &p->models[mi];
    m->u.bayes.threshold = s_attr_num(n, "threshold", 0);
    xmlNode *bo = s_child(n, "BayesOutput"), *bis = s_child(n, "BayesInputs");
    xmlNode *tvc = bo ? s_child(bo, "TargetValueCounts") : NULL;
    if (!tvc || !bis)
        return s_fail(cc, n, "missing BayesInputs or BayesOutput/TargetValueCounts");
    S_EACH(c, tvc)
        if (s_attr(c, "value"))
            s_class(cc, &p->models[mi], s_attr(c, "value"));
    m = &p->models[mi];
    int32_t nc = m->n_classes;
    m->u.bayes.class_counts = ferry_calloc((size_t)nc + 1, sizeof(double));
    S_EACH(c, tvc) {
        double cnt;
        const char *v = s_attr(c, "value");
        if (!v || s_attr_num_req(cc, c, "count", &cnt) < 0)
            return s_fail(cc, c, "TargetValueCount needs value and count");
        int32_t ci = s_class(cc, m, v);
        m = &p->models[mi];
        if (ci >= nc) /* counts are sized by the classes known so far */
            return s_fail(cc, c, "unknown class \"%.40s\"", v);
        m->u.bayes.class_counts[ci] = cnt;
    }
    int32_t ni = 0;
    S_EACH(c, bis) ni++;
    m->u.bayes.inputs = ferry_calloc((size_t)ni + 1, sizeof(ferry_pmml_bayes_input_t));
    S_EACH(c, bis) {
        if (!s_is(c, "BayesInput"))
            return s_unsupported(cc, c);
        m = &p->models[mi];
        ferry_pmml_bayes_input_t *in = &m->u.bayes.inputs[m->u.bayes.n_inputs];
        in->derived_expr = -1;
        int32_t f = s_field_ref(cc, c, "fieldName");
        if (f < 0)
            return -1;
        in->field = f;
        xmlNode *df = s_child(c, "DerivedField");
        if (df) {
            int32_t e = s_compile_expr_child(cc, df);
            if (e < 0)
                return -1;
            m = &p->models[mi];
            in = &m->u.bayes.inputs[m->u.bayes.n_inputs];
            in->derived_expr = e;
        }
        xmlNode *tvs = s_child(c, "TargetValueStats");
        if (tvs) {
            in->is_gaussian = true;
            in->mean = ferry_calloc((size_t)nc + 1, sizeof(double));
            in->var = ferry_calloc((size_t)nc + 1, sizeof(double));
            S_EACH(x, tvs) {
                xmlNode *g = s_child(x, "GaussianDistribution");
                const char *v = s_attr(x, "value");
                if (!g || !v)
                    return s_fail(cc, x, "only GaussianDistribution TargetValueStats are supported");
                int32_t ci = s_class(cc, &p->models[mi], v);
                if (ci >= nc)
                    return s_fail(cc, x, "unknown class \"%.40s\"", v);
                if (s_attr_num_req(cc, g, "mean", &in->mean[ci]) < 0 || s_attr_num_req(cc, g, "variance", &in->var[ci]) < 0)
                    return -1;
            }
        } else {
            int32_t nv = 0;
            S_EACH(x, c) nv += s_is(x, "PairCounts");
            in->values = ferry_calloc((size_t)nv + 1, sizeof(ferry_pmml_value_t));
            in->counts = ferry_calloc((size_t)nv * (size_t)nc + 1, sizeof(double));
            int dt = in->derived_expr >= 0 ? -1 : p->fields[f].datatype;
            S_EACH(x, c) {
                if (!s_is(x, "PairCounts"))
                    continue;
                const char *v = s_attr(x, "value");
                xmlNode *t = s_child(x, "TargetValueCounts");
                if (!v || !t)
                    return s_fail(cc, x, "PairCounts needs value and TargetValueCounts");
                int vdt = dt;
                if (vdt < 0) {
                    double d;
                    vdt = s_parse_num(v, &d) ? FERRY_PMML_DT_DOUBLE : FERRY_PMML_DT_STRING;
                }
                if (s_typed_value(cc, x, v, vdt, &in->values[in->n_values]) < 0)
                    return -1;
                S_EACH(y, t) {
                    const char *cv = s_attr(y, "value");
                    double cnt;
                    if (!cv || s_attr_num_req(cc, y, "count", &cnt) < 0)
                        return s_fail(cc, y, "TargetValueCount needs value and count");
                    int32_t ci = s_class(cc, &p->models[mi], cv);
                    if (ci >= nc)
                        return s_fail(cc, y, "unknown class \"%.40s\"", cv);
                    in->counts[in->n_values * nc + ci] = cnt;
                }
                in->n_values++;
            }
        }
        p->models[mi].u.bayes.n_inputs++;
    }
    return 0;
}

/* ---- ClusteringModel ---------------------------------------------------------------------------------------- */
static int s_compile_clustering(s_cc_t *cc, int32_t mi, xmlNode *n)
{
    ferry_pmml_t *p = cc->p;
    const char *mc = s_attr(n, "modelClass");
    if (mc && strcmp(mc, "centerBased"))
        return s_fail(cc, n, "unsupported modelClass \"%.40s\"", mc);
    xmlNode *cmp = s_child(n, "ComparisonMeasure");
    if (!cmp)
        return s_fail(cc, n, "missing ComparisonMeasure");
    ferry_pmml_clustering_t *cl = &p->models[mi].u.clustering;
    const char *kind = s_attr(cmp, "kind");
    if (kind && strcmp(kind, "distance"))
        return s_fail(cc, cmp, "unsupported ComparisonMeasure kind \"%.40s\"", kind);
    xmlNode *meas = s_next_el(cmp->children);
    if (s_is(meas, "euclidean"))
        cl->measure = FERRY_PMML_DIST_EUCLIDEAN;
    else if (s_is(meas, "squaredEuclidean"))
        cl->measure = FERRY_PMML_DIST_SQEUCLIDEAN;
    else if (s_is(meas, "cityBlock"))
        cl->measure = FERRY_PMML_DIST_CITYBLOCK;
    else if (s_is(meas, "chebychev"))
        cl->measure = FERRY_PMML_DIST_CHEBYCHEV;
    else if (s_is(meas, "minkowski")) {
        cl->measure = FERRY_PMML_DIST_MINKOWSKI;
        cl->minkowski_p = s_attr_num(meas, "p-parameter", 2);
    } else
        return meas ? s_unsupported(cc, meas) : s_fail(cc, cmp, "missing measure");
    int32_t nf = 0, nk = 0;
    S_EACH(c, n) {
        nf += s_is(c, "ClusteringField");
        nk += s_is(c, "Cluster");
    }
    cl->field_expr = ferry_calloc((size_t)nf + 1, sizeof(int32_t));
    cl->field_weight = ferry_calloc((size_t)nf + 1, sizeof(double));
    cl->centers = ferry_calloc((size_t)nf * (size_t)nk + 1, sizeof(double));
    cl->cluster_id_sym = ferry_calloc((size_t)nk + 1, sizeof(int32_t));
    S_EACH(c, n) {
        if (s_is(c, "ClusteringField")) {
            const char *cf = s_attr(c, "compareFunction");
            if (cf && strcmp(cf, "absDiff"))
                return s_fail(cc, c, "unsupported compareFunction \"%.40s\"", cf);
            int32_t f = s_field_ref(cc, c, "field");
            if (f < 0)
                return -1;
            int32_t e = s_new_expr(cc);
            p->exprs[e].kind = FERRY_PMML_EX_FIELDREF;
            p->exprs[e].field = f;
            cl = &p->models[mi].u.clustering;
            cl->field_expr[cl->n_fields] = e;
            cl->field_weight[cl->n_fields++] = s_attr_num(c, "fieldWeight", 1);
        }
    }
    S_EACH(c, n) {
        if (!s_is(c, "Cluster"))
            continue;
        cl = &p->models[mi].u.clustering;
        xmlNode *arr = s_child(c, "Array");
        s_dvec_t a = {0};
        if (!arr)
            return s_fail(cc, c, "Cluster without Array");
        if (s_array_nums(cc, arr, &a) < 0)
            return -1;
        if (a.n != cl->n_fields) {
            free(a.v);
            return s_fail(cc, arr, "center has %d entries, expected %d", a.n, cl->n_fields);
        }
        memcpy(cl->centers + (size_t)cl->n_clusters * (size_t)cl->n_fields, a.v, (size_t)a.n * sizeof(double));
        free(a.v);
        const char *id = s_attr(c, "id");
        if (!id)
            id = s_attr(c, "name");
        char buf[32];
        snprintf(buf, sizeof buf, "%d", cl->n_clusters + 1);
        int32_t sym = s_sym(cc, id ? id : buf);
        cl = &p->models[mi].u.clustering;
        cl->cluster_id_sym[cl->n_clusters] = sym;
        /* clusters are the classes of a clustering model (for predictedValue) */
        s_class(cc, &p->models[mi], id ? id : buf);
        cl->n_clusters++;
    }
    if (!p->models[mi].u.clustering.n_clusters)
        return s_fail(cc, n, "ClusteringModel without Cluster");
    return 0;
}

/* ---- RuleSetModel ------------------------------------------------------------------------------------------- */
static int s_compile_rules(s_cc_t *cc, int32_t mi, xmlNode *container, int32_t *stack, int32_t depth)
{
    ferry_pmml_t *p = cc->p;
    if (depth >= 64)
        return s_fail(cc, container, "CompoundRule nested too deeply");
    S_EACH(c, container) {
        if (!s_is(c, "SimpleRule") && !s_is(c, "CompoundRule"))
            continue;
        int32_t pred = s_compile_pred_of(cc, c);
        if (pred < 0)
            return -1;
        stack[depth] = pred;
        if (s_is(c, "CompoundRule")) {
            if (s_compile_rules(cc, mi, c, stack, depth + 1) < 0)
                return -1;
            continue;
        }
        ferry_pmml_model_t *m = &p->models[mi];
        ferry_pmml_ruleset_t *rs = &m->u.ruleset;
        rs->rules = ferry_reallocarray(rs->rules, (size_t)rs->n_rules + 1, sizeof(ferry_pmml_rule_t));
        ferry_pmml_rule_t *r = &rs->rules[rs->n_rules];
        memset(r, 0, sizeof *r);
        r->n_preds = depth + 1;
        r->pred_off = s_int_alloc(cc, depth + 1);
        memcpy(p->int_pool + r->pred_off, stack, (size_t)(depth + 1) * sizeof(int32_t));
        const char *score = s_attr(c, "score"), *id = s_attr(c, "id");
        if (!score)
            return s_fail(cc, c, "SimpleRule without score");
        r->class_idx = s_class(cc, m, score);
        r->id_sym = id ? s_sym(cc, id) : -1;
        r->weight = s_attr_num(c, "weight", 1);
        r->confidence = s_attr_num(c, "confidence", 1);
        r->dist_off = -1;
        int32_t nsd = 0;
        S_EACH(x, c) nsd += s_is(x, "ScoreDistribution");
        if (nsd) {
            int32_t nc = m->n_classes; /* the distribution has this many entries */
            int32_t off = s_num_alloc(cc, nc);
            double sum = 0;
            S_EACH(x, c) {
                if (!s_is(x, "ScoreDistribution"))
                    continue;
                const char *v = s_attr(x, "value");
                double rc = s_attr_num(x, "recordCount", 0);
                if (!v)
                    return s_fail(cc, x, "ScoreDistribution without value");
                int32_t ci = s_class_find(p, m, v);
                if (ci < 0)
                    return s_fail(cc, x, "class \"%.40s\" not declared", v);
                p->num_pool[off + ci] = rc;
                sum += rc;
            }
            if (sum > 0)
                for (int32_t k = 0; k < nc; k++)
                    p->num_pool[off + k] /= sum;
            r->dist_off = off;
        }
        rs->n_rules++;
    }
    return 0;
}

static int s_compile_ruleset(s_cc_t *cc, int32_t mi, xmlNode *n)
{
    ferry_pmml_t *p = cc->p;
    xmlNode *rs = s_child(n, "RuleSet");
    if (!rs)
        return s_fail(cc, n, "missing RuleSet");
    s_scan_classes(cc, &p->models[mi], n, 0);
    const char *dflt = s_attr(rs, "defaultScore");
    ferry_pmml_ruleset_t *r = &p->models[mi].u.ruleset;
    r->default_class = dflt ? s_class(cc, &p->models[mi], dflt) : -1;
    r = &p->models[mi].u.ruleset;
    r->default_confidence = s_attr_num(rs, "defaultConfidence", 0);
    xmlNode *sel = s_child(rs, "RuleSelectionMethod");
    const char *crit = sel ? s_attr(sel, "criterion") : "firstHit";
    if (!crit || !strcmp(crit, "firstHit"))
        r->criterion = FERRY_PMML_RULE_FIRSTHIT;
    else if (!strcmp(crit, "weightedSum"))
        r->criterion = FERRY_PMML_RULE_WEIGHTEDSUM;
    else if (!strcmp(crit, "weightedMax"))
        r->criterion = FERRY_PMML_RULE_WEIGHTEDMAX;
    else
        return s_fail(cc, sel, "unsupported criterion \"%.40s\"", crit);
    int32_t stack[64];
    return s_compile_rules(cc, mi, rs, stack, 0);
}

/* ---- Scorecard ---------------------------------------------------------------------------------------------- */
static int s_compile_scorecard(s_cc_t *cc, int32_t mi, xmlNode *n)
{
    ferry_pmml_t *p = cc->p;
    ferry_pmml_scorecard_t *sc = &p->models[mi].u.scorecard;
    sc->initial_score = s_attr_num(n, "initialScore", 0);
    const char *urc = s_attr(n, "useReasonCodes");
    sc->use_reason_codes = !urc || strcmp(urc, "false");
    const char *alg = s_attr(n, "reasonCodeAlgorithm");
    sc->is_points_above = !alg || strcmp(alg, "pointsBelow");
    double baseline = s_attr_num(n, "baselineScore", NAN);
    xmlNode *chars = s_child(n, "Characteristics");
    if (!chars)
        return s_fail(cc, n, "missing Characteristics");
    int32_t nch = 0, nat = 0;
    S_EACH(c, chars) {
        nch++;
        S_EACH(a, c) nat += s_is(a, "Attribute");
    }
    sc->chars = ferry_calloc((size_t)nch + 1, sizeof(ferry_pmml_characteristic_t));
    sc->attrs = ferry_calloc((size_t)nat + 1, sizeof(ferry_pmml_attribute_t));
    int32_t ai = 0;
    S_EACH(c, chars) {
        if (!s_is(c, "Characteristic"))
            return s_unsupported(cc, c);
        sc = &p->models[mi].u.scorecard;
        ferry_pmml_characteristic_t *ch = &sc->chars[sc->n_chars];
        const char *rc = s_attr(c, "reasonCode");
        ch->reason_sym = rc ? s_sym(cc, rc) : -1;
        ch->baseline = s_attr_num(c, "baselineScore", baseline);
        ch->attr_off = ai;
        S_EACH(a, c) {
            if (!s_is(a, "Attribute"))
                return s_unsupported(cc, a);
            if (s_child(a, "ComplexPartialScore"))
                return s_unsupported(cc, s_child(a, "ComplexPartialScore"));
            int32_t pred = s_compile_pred_of(cc, a);
            if (pred < 0)
                return -1;
            sc = &p->models[mi].u.scorecard;
            ch = &sc->chars[sc->n_chars];
            ferry_pmml_attribute_t *at = &sc->attrs[ai++];
            at->pred = pred;
            if (s_attr_num_req(cc, a, "partialScore", &at->partial_score) < 0)
                return -1;
            const char *arc = s_attr(a, "reasonCode");
            at->reason_sym = arc ? s_sym(cc, arc) : -1;
            ch->n_attributes++;
        }
        if (sc->use_reason_codes && isnan(ch->baseline))
            return s_fail(cc, c, "reason codes need a baselineScore");
        sc->n_chars++;
    }
    return 0;
}

/* ---- AssociationModel ----------------------------------------------------------------------------------- */
static int s_compile_association(s_cc_t *cc, int32_t mi, xmlNode *n, xmlNode *ms)
{
    ferry_pmml_t *p = cc->p;
    ferry_pmml_association_t *a = &p->models[mi].u.association;
    a->group_field = a->item_field = -1;
    S_EACH(c, ms) {
        const char *usage = s_attr(c, "usageType");
        int32_t f = s_field_ref(cc, c, "name");
        if (f < 0)
            return -1;
        if (usage && !strcmp(usage, "group"))
            a->group_field = f;
        else if (!usage || !strcmp(usage, "active"))
            a->item_field = f;
    }
    if (a->item_field < 0)
        return s_fail(cc, ms, "AssociationModel needs one active (item) field");
    int32_t ni = 0, ns = 0, nr = 0, nsi = 0;
    S_EACH(c, n) {
        if (s_is(c, "Item"))
            ni++;
        else if (s_is(c, "Itemset")) {
            ns++;
            S_EACH(x, c) nsi++;
        } else if (s_is(c, "AssociationRule"))
            nr++;
    }
    a->item_sym = ferry_calloc((size_t)ni + 1, sizeof(int32_t));
    a->set_off = ferry_calloc((size_t)ns + 1, sizeof(int32_t));
    a->set_n = ferry_calloc((size_t)ns + 1, sizeof(int32_t));
    a->set_items = ferry_calloc((size_t)nsi + 1, sizeof(int32_t));
    a->rules = ferry_calloc((size_t)nr + 1, sizeof(ferry_pmml_assoc_rule_t));
    const char **item_ids = ferry_calloc((size_t)ni + 1, sizeof(char *));
    const char **set_ids = ferry_calloc((size_t)ns + 1, sizeof(char *));
    int rc = -1;
    S_EACH(c, n) {
        if (!s_is(c, "Item"))
            continue;
        const char *id = s_attr(c, "id"), *v = s_attr(c, "value");
        if (!id || !v) {
            s_fail(cc, c, "Item needs id and value");
            goto out;
        }
        item_ids[a->n_items] = id;
        int32_t sym = s_sym(cc, v);
        a = &p->models[mi].u.association;
        a->item_sym[a->n_items++] = sym;
    }
    int32_t k = 0;
    S_EACH(c, n) {
        if (!s_is(c, "Itemset"))
            continue;
        const char *id = s_attr(c, "id");
        if (!id) {
            s_fail(cc, c, "Itemset without id");
            goto out;
        }
        set_ids[a->n_itemsets] = id;
        a->set_off[a->n_itemsets] = k;
        S_EACH(x, c) {
            const char *ref = s_attr(x, "itemRef");
            int32_t idx = -1;
            for (int32_t i = 0; ref && i < a->n_items && idx < 0; i++)
                if (!strcmp(item_ids[i], ref))
                    idx = i;
            if (!s_is(x, "ItemRef") || idx < 0) {
                s_fail(cc, x, "expected ItemRef to a known Item");
                goto out;
            }
            a->set_items[k++] = idx;
        }
        a->set_n[a->n_itemsets] = k - a->set_off[a->n_itemsets];
        a->n_itemsets++;
    }
    S_EACH(c, n) {
        if (!s_is(c, "AssociationRule"))
            continue;
        ferry_pmml_assoc_rule_t *r = &a->rules[a->n_rules];
        const char *ant = s_attr(c, "antecedent"), *con = s_attr(c, "consequent"), *id = s_attr(c, "id");
        r->antecedent = r->consequent = -1;
        for (int32_t i = 0; i < a->n_itemsets; i++) {
            if (ant && !strcmp(set_ids[i], ant))
                r->antecedent = i;
            if (con && !strcmp(set_ids[i], con))
                r->consequent = i;
        }
        if (r->antecedent < 0 || r->consequent < 0) {
            s_fail(cc, c, "AssociationRule names unknown itemsets");
            goto out;
        }
        if (s_attr_num_req(cc, c, "support", &r->support) < 0 || s_attr_num_req(cc, c, "confidence", &r->confidence) < 0)
            goto out;
        r->lift = s_attr_num(c, "lift", NAN);
        char buf[32];
        snprintf(buf, sizeof buf, "%d", a->n_rules + 1);
        int32_t sym = s_sym(cc, id ? id : buf);
        a = &p->models[mi].u.association;
        a->rules[a->n_rules++].id_sym = sym;
    }
    rc = 0;
out:
    free(item_ids);
    free(set_ids);
    return rc;
}

/* ---- a model element ------------------------------------------------------------------------------------- */
static const char *const s_model_elements[FERRY_PMML_MODEL_TYPE_COUNT] = {
    "TreeModel", "MiningModel", "RegressionModel", "GeneralRegressionModel", "NeuralNetwork",
    "SupportVectorMachineModel", "NaiveBayesModel", "ClusteringModel", "Scorecard", "RuleSetModel", "AssociationModel"};

const char *ferry_pmml_model_type_name(int type)
{
    return type >= 0 && type < FERRY_PMML_MODEL_TYPE_COUNT ? s_model_elements[type] : "?";
}

static bool s_is_model_element(const xmlNode *n)
{
    if (!n || n->type != XML_ELEMENT_NODE)
        return false;
    const char *nm = (const char *)n->name;
    size_t len = strlen(nm);
    return (len > 5 && !strcmp(nm + len - 5, "Model")) || !strcmp(nm, "NeuralNetwork") || !strcmp(nm, "Scorecard");
}

static int32_t s_compile_model(s_cc_t *cc, xmlNode *n, int32_t *idx_out)
{
    ferry_pmml_t *p = cc->p;
    int type = -1;
    for (int i = 0; i < FERRY_PMML_MODEL_TYPE_COUNT; i++)
        if (s_is(n, s_model_elements[i]))
            type = i;
    const char *saved_kind = cc->model_kind;
    s_scope_t *export_scope = cc->chain_scope;
    cc->chain_scope = NULL;
    if (type < 0) {
        cc->model_kind = NULL;
        return s_fail(cc, n, "unsupported model type");
    }
    if (++cc->depth > 64) {
        cc->depth--;
        return s_fail(cc, n, "models nested deeper than 64");
    }
    cc->model_kind = s_model_elements[type];
    int32_t mi = s_new_model(cc);
    *idx_out = mi;
    ferry_pmml_model_t *m = &p->models[mi];
    m->type = (uint8_t)type;
    m->line = (int)xmlGetLineNo(n);
    const char *name = s_attr(n, "modelName");
    m->name = ferry_strdup(name ? name : "");
    const char *fn = s_attr(n, "functionName");
    if (!fn) {
        cc->depth--;
        return s_fail(cc, n, "missing attribute functionName");
    }
    if (!strcmp(fn, "regression"))
        m->function = FERRY_PMML_FN_REGRESSION;
    else if (!strcmp(fn, "classification"))
        m->function = FERRY_PMML_FN_CLASSIFICATION;
    else if (!strcmp(fn, "clustering"))
        m->function = FERRY_PMML_FN_CLUSTERING;
    else if (!strcmp(fn, "associationRules") && type == FERRY_PMML_ASSOCIATION)
        m->function = FERRY_PMML_FN_ASSOCIATION;
    else {
        cc->depth--;
        return s_fail(cc, n, "unsupported functionName \"%.40s\"", fn);
    }
    const char *mc = s_attr(n, "mathContext");
    m->is_float = mc && !strcmp(mc, "float");
    s_scope_t scope;
    s_scope_push(cc, &scope);
    int rc = -1;
    xmlNode *ms = s_child(n, "MiningSchema");
    if (!ms) {
        s_fail(cc, n, "missing MiningSchema");
        goto out;
    }
    if (s_compile_mining_schema(cc, mi, ms) < 0)
        goto out;
    m = &p->models[mi];
    /* classes: the target's declared valid values, in order */
    if (m->function == FERRY_PMML_FN_CLASSIFICATION && m->target_data >= 0) {
        ferry_pmml_field_t *tf = &p->fields[m->target_data];
        for (int32_t i = 0; i < tf->n_values; i++) {
            if (tf->value_property[i] != FERRY_PMML_VALID)
                continue;
            char buf[64];
            const char *label = buf;
            if (tf->values[i].kind == FERRY_PMML_STR)
                label = p->syms[tf->values[i].sym];
            else
                snprintf(buf, sizeof buf, "%.17g", tf->values[i].num);
            s_class(cc, &p->models[mi], label);
        }
    }
    xmlNode *lt = s_child(n, "LocalTransformations");
    if (lt && s_compile_derived(cc, lt) < 0)
        goto out;
    xmlNode *ts = s_child(n, "Targets");
    if (ts && s_compile_targets(cc, mi, ts) < 0)
        goto out;
    static const char *const common[] = {"MiningSchema", "Output", "ModelStats", "ModelExplanation", "Targets",
                                         "LocalTransformations", "ModelVerification"};
    switch (type) {
    case FERRY_PMML_TREE: rc = s_compile_tree(cc, mi, n); break;
    case FERRY_PMML_MINING: rc = s_compile_mining(cc, mi, n); break;
    case FERRY_PMML_REGRESSION: rc = s_compile_regression(cc, mi, n); break;
    case FERRY_PMML_GENREG: rc = s_compile_genreg(cc, mi, n); break;
    case FERRY_PMML_NN: rc = s_compile_nn(cc, mi, n); break;
    case FERRY_PMML_SVM: rc = s_compile_svm(cc, mi, n); break;
    case FERRY_PMML_NAIVEBAYES: rc = s_compile_bayes(cc, mi, n); break;
    case FERRY_PMML_CLUSTERING: rc = s_compile_clustering(cc, mi, n); break;
    case FERRY_PMML_SCORECARD: rc = s_compile_scorecard(cc, mi, n); break;
    case FERRY_PMML_RULESET: rc = s_compile_ruleset(cc, mi, n); break;
    case FERRY_PMML_ASSOCIATION: rc = s_compile_association(cc, mi, n, ms); break;
    }
    if (rc < 0)
        goto out;
    rc = -1;
    /* elements that are neither common nor known to this model type */
    S_EACH(c, n) {
        bool is_known = false;
        for (size_t i = 0; i < FERRY_ARRAY_LEN(common); i++)
            is_known |= s_is(c, common[i]);
        if (is_known)
            continue;
        static const char *const specific[][12] = {
            {"Node"},
            {"Segmentation", "Regression", "DecisionTree"},
            {"RegressionTable"},
            {"ParameterList", "FactorList", "CovariateList", "PPMatrix", "PCovMatrix", "ParamMatrix", "EventValues",
             "BaseCumHazardTables"},
            {"NeuralInputs", "NeuralLayer", "NeuralOutputs"},
            {"LinearKernelType", "PolynomialKernelType", "RadialBasisKernelType", "SigmoidKernelType",
             "VectorDictionary", "SupportVectorMachine"},
            {"BayesInputs", "BayesOutput"},
            {"ComparisonMeasure", "ClusteringField", "MissingValueWeights", "Cluster", "CenterFields"},
            {"Characteristics"},
            {"RuleSet"},
            {"Item", "Itemset", "AssociationRule"},
        };
        for (size_t i = 0; i < 12 && specific[type][i]; i++)
            is_known |= s_is(c, specific[type][i]);
        if (!is_known) {
            s_unsupported(cc, c);
            goto out;
        }
    }
    if (type == FERRY_PMML_MINING && s_child(s_child(n, "Segmentation"), "Segment") == NULL) {
        s_fail(cc, n, "Segmentation without Segment");
        goto out;
    }
    xmlNode *out_el = s_child(n, "Output");
    if (out_el) {
        /* a segment's outputs are visible to later segments of a modelChain */
        if (s_compile_output(cc, mi, out_el, export_scope) < 0)
            goto out;
    }
    rc = 0;
out:
    s_scope_pop(cc);
    cc->model_kind = saved_kind;
    cc->depth--;
    return rc;
}

/* ---- result columns ---------------------------------------------------------------------------------------- */
static void s_columns(ferry_pmml_t *p)
{
    ferry_pmml_model_t *m = &p->models[0];
    int32_t cap = 1 + m->n_outputs + m->n_classes;
    p->columns = ferry_calloc((size_t)cap, sizeof(ferry_pmml_column_t));
    if (m->target_data >= 0) {
        ferry_pmml_column_t *c = &p->columns[p->n_columns++];
        c->name = ferry_strdup(p->fields[m->target_data].name);
        c->output = -1;
        c->class_idx = -1;
    }
    int32_t nfinal = 0;
    for (int32_t i = 0; i < m->n_outputs; i++) {
        if (!m->outputs[i].is_final)
            continue;
        ferry_pmml_column_t *c = &p->columns[p->n_columns++];
        c->name = ferry_strdup(m->outputs[i].name);
        c->output = i;
        c->class_idx = -1;
        nfinal++;
    }
    if (!p->n_columns && m->function == FERRY_PMML_FN_CLUSTERING) {
        ferry_pmml_column_t *c = &p->columns[p->n_columns++];
        c->name = ferry_strdup("cluster");
        c->output = -1;
        c->class_idx = -1;
    }
    (void)nfinal;
}

/* Strings in values point into syms; set them once syms no longer move. */
static void s_fix_value(ferry_pmml_t *p, ferry_pmml_value_t *v)
{
    if (v->kind == FERRY_PMML_STR && v->sym >= 0)
        v->str = p->syms[v->sym];
}

static void s_fix_strings(ferry_pmml_t *p)
{
    for (int32_t i = 0; i < p->n_value_pool; i++)
        s_fix_value(p, &p->value_pool[i]);
    for (int32_t i = 0; i < p->n_exprs; i++) {
        s_fix_value(p, &p->exprs[i].value);
        s_fix_value(p, &p->exprs[i].map_missing_to);
        s_fix_value(p, &p->exprs[i].default_value);
        s_fix_value(p, &p->exprs[i].disc_value);
    }
    for (int32_t i = 0; i < p->n_preds; i++)
        s_fix_value(p, &p->preds[i].value);
    for (int32_t i = 0; i < p->n_fields; i++) {
        ferry_pmml_field_t *f = &p->fields[i];
        for (int32_t k = 0; k < f->n_values; k++)
            s_fix_value(p, &f->values[k]);
        s_fix_value(p, &f->missing_replacement);
        s_fix_value(p, &f->invalid_replacement);
    }
    for (int32_t i = 0; i < p->n_models; i++) {
        ferry_pmml_model_t *m = &p->models[i];
        for (int32_t k = 0; k < m->n_outputs; k++)
            s_fix_value(p, &m->outputs[k].value);
        if (m->type == FERRY_PMML_REGRESSION)
            for (int32_t t = 0; t < m->u.regression.n_tables; t++)
                for (int32_t k = 0; k < m->u.regression.tables[t].n_cat; k++)
                    s_fix_value(p, &m->u.regression.tables[t].cat_value[k]);
        if (m->type == FERRY_PMML_GENREG) {
            for (int32_t k = 0; k < m->u.genreg.n_strata; k++)
                s_fix_value(p, &m->u.genreg.strata_value[k]);
            int32_t nc = 0;
            for (int32_t k = 0; k < m->u.genreg.n_params; k++)
                nc += m->u.genreg.cell_n[k];
            for (int32_t k = 0; k < nc; k++)
                s_fix_value(p, &m->u.genreg.cells[k].value);
        }
        if (m->type == FERRY_PMML_NAIVEBAYES)
            for (int32_t k = 0; k < m->u.bayes.n_inputs; k++)
                for (int32_t v = 0; v < m->u.bayes.inputs[k].n_values; v++)
                    s_fix_value(p, &m->u.bayes.inputs[k].values[v]);
    }
}

/* ---- fast trees ---------------------------------------------------------------------------------------- */
static bool s_is_complement(const ferry_pmml_pred_t *a, const ferry_pmml_pred_t *b)
{
    if (a->kind != FERRY_PMML_PR_SIMPLE || b->kind != FERRY_PMML_PR_SIMPLE || a->field != b->field ||
        a->value.kind != FERRY_PMML_NUM || b->value.kind != FERRY_PMML_NUM || a->value.num != b->value.num)
        return false;
    return (a->op == FERRY_PMML_CMP_LE && b->op == FERRY_PMML_CMP_GT) ||
           (a->op == FERRY_PMML_CMP_LT && b->op == FERRY_PMML_CMP_GE) ||
           (a->op == FERRY_PMML_CMP_GT && b->op == FERRY_PMML_CMP_LE) ||
           (a->op == FERRY_PMML_CMP_GE && b->op == FERRY_PMML_CMP_LT) ||
           (a->op == FERRY_PMML_CMP_EQ && b->op == FERRY_PMML_CMP_NE) ||
           (a->op == FERRY_PMML_CMP_NE && b->op == FERRY_PMML_CMP_EQ);
}

static void s_build_fast_trees(ferry_pmml_t *p)
{
    for (int32_t i = 0; i < p->n_models; i++) {
        ferry_pmml_model_t *m = &p->models[i];
        if (m->type != FERRY_PMML_TREE)
            continue;
        ferry_pmml_tree_t *t = &m->u.tree;
        bool ok = true;
        for (int32_t k = 0; k < t->n_nodes && ok; k++) {
            const ferry_pmml_pred_t *pr = &p->preds[t->nodes[k].pred];
            if (pr->kind == FERRY_PMML_PR_TRUE || pr->kind == FERRY_PMML_PR_FALSE)
                continue;
            ok = pr->kind == FERRY_PMML_PR_SIMPLE && pr->op <= FERRY_PMML_CMP_GE && pr->value.kind == FERRY_PMML_NUM &&
                 p->fields[pr->field].origin == FERRY_PMML_FIELD_DATA && p->fields[pr->field].datatype != FERRY_PMML_DT_STRING;
        }
        if (!ok)
            continue;
        t->fast = ferry_calloc((size_t)t->n_nodes, sizeof(ferry_pmml_fastnode_t));
        for (int32_t k = 0; k < t->n_nodes; k++) {
            const ferry_pmml_node_t *n = &t->nodes[k];
            const ferry_pmml_pred_t *pr = &p->preds[n->pred];
            ferry_pmml_fastnode_t *f = &t->fast[k];
            f->kind = pr->kind;
            f->op = pr->op;
            f->field = pr->kind == FERRY_PMML_PR_SIMPLE ? pr->field : -1;
            f->threshold = pr->value.num;
            f->first_child = n->first_child;
            f->n_children = n->n_children;
            if (n->n_children == 2) {
                const ferry_pmml_pred_t *a = &p->preds[t->nodes[n->first_child].pred];
                f->is_pair = s_is_complement(a, &p->preds[t->nodes[n->first_child + 1].pred]);
                if (f->is_pair) {
                    f->split_field = a->field;
                    f->split_op = a->op;
                    f->split_threshold = a->value.num;
                }
            }
        }
        bool is_binary = t->fast[0].kind == FERRY_PMML_PR_TRUE;
        for (int32_t k = 0; k < t->n_nodes && is_binary; k++)
            is_binary = t->fast[k].n_children == 0 ||
                        (t->fast[k].is_pair && t->fast[k].split_op >= FERRY_PMML_CMP_LT && t->fast[k].split_op <= FERRY_PMML_CMP_GE);
        if (!is_binary)
            continue;
        t->bin = ferry_calloc((size_t)t->n_nodes, sizeof(ferry_pmml_binnode_t));
        for (int32_t k = 0; k < t->n_nodes; k++) {
            const ferry_pmml_fastnode_t *f = &t->fast[k];
            ferry_pmml_binnode_t *b = &t->bin[k];
            b->is_leaf = f->n_children == 0;
            b->left = f->n_children ? f->first_child : -1;
            b->field = f->n_children ? f->split_field : 0;
            b->is_lt = f->split_op == FERRY_PMML_CMP_LT || f->split_op == FERRY_PMML_CMP_GE;
            b->flip = f->split_op == FERRY_PMML_CMP_LT || f->split_op == FERRY_PMML_CMP_LE;
            /* a leaf keeps its regression score where inner nodes keep the threshold */
            b->threshold = f->n_children ? f->split_threshold : (t->nodes[k].has_score ? t->nodes[k].score : NAN);
        }
    }
}

/* ---- loading ----------------------------------------------------------------------------------------------- */
static xmlParserInputPtr s_no_external(const char *url, const char *id, xmlParserCtxtPtr ctxt)
{
    (void)url;
    (void)id;
    (void)ctxt;
    return NULL; /* never load DTDs or external entities */
}

static void s_xml_silence(void *ctx, const char *msg, ...)
{
    (void)ctx;
    (void)msg;
}

ferry_pmml_t *ferry_pmml_load_mem(const char *data, size_t len, const char *name, ferry_err_t *err)
{
    if (len > FERRY_PMML_MAX_FILE || len > (size_t)INT32_MAX) {
        ferry_err(err, "%s: document larger than %u bytes", name, FERRY_PMML_MAX_FILE);
        return NULL;
    }
    xmlSetExternalEntityLoader(s_no_external);
    xmlSetGenericErrorFunc(NULL, s_xml_silence);
    xmlParserCtxtPtr pctx = xmlNewParserCtxt();
    if (!pctx) {
        ferry_err(err, "%s: cannot create an XML parser", name);
        return NULL;
    }
    xmlDocPtr doc = xmlCtxtReadMemory(pctx, data, (int)len, name, NULL,
                                      XML_PARSE_NONET | XML_PARSE_HUGE | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc) {
        const xmlError *e = xmlCtxtGetLastError(pctx);
        ferry_err(err, "%s:%d: not well-formed XML: %s", name, e ? e->line : 0,
                  e && e->message ? e->message : "parse error");
        size_t l = strlen(err ? err->msg : "");
        if (err && l && err->msg[l - 1] == '\n')
            err->msg[l - 1] = '\0';
        xmlFreeParserCtxt(pctx);
        return NULL;
    }
    xmlFreeParserCtxt(pctx);
    ferry_pmml_t *p = ferry_calloc(1, sizeof *p);
    s_cc_t cc = {.p = p, .err = err, .file = name, .cur_function = -1};
    s_scope_t global;
    s_scope_push(&cc, &global);
    xmlNode *root = xmlDocGetRootElement(doc);
    int rc = -1;
    if (doc->intSubset) {
        s_fail(&cc, root, "documents with a DOCTYPE are refused");
        goto out;
    }
    if (!s_is(root, "PMML")) {
        s_fail(&cc, root, "root element must be PMML");
        goto out;
    }
    if (root->ns && root->ns->href && strncmp((const char *)root->ns->href, "http://www.dmg.org/PMML-", 24)) {
        s_fail(&cc, root, "unknown namespace %.100s", (const char *)root->ns->href);
        goto out;
    }
    const char *ver = s_attr(root, "version");
    p->version = ferry_strdup(ver ? ver : "");
    xmlNode *dd = s_child(root, "DataDictionary");
    if (!dd) {
        s_fail(&cc, root, "missing DataDictionary");
        goto out;
    }
    if (s_compile_data_dictionary(&cc, dd) < 0)
        goto out;
    xmlNode *td = s_child(root, "TransformationDictionary");
    if (td && (s_compile_functions(&cc, td) < 0 || s_compile_derived(&cc, td) < 0))
        goto out;
    xmlNode *model_el = NULL;
    S_EACH(c, root) {
        if (s_is(c, "Header") || s_is(c, "DataDictionary") || s_is(c, "TransformationDictionary") ||
            s_is(c, "MiningBuildTask"))
            continue;
        if (!s_is_model_element(c)) {
            s_unsupported(&cc, c);
            goto out;
        }
        if (!model_el)
            model_el = c;
    }
    if (!model_el) {
        s_fail(&cc, root, "no model element");
        goto out;
    }
    int32_t top;
    if (s_compile_model(&cc, model_el, &top) < 0)
        goto out;
    s_fix_strings(p);
    s_build_fast_trees(p);
    s_columns(p);
    rc = 0;
out:
    while (cc.scope)
        s_scope_pop(&cc);
    xmlFreeDoc(doc);
    if (rc < 0)
        ferry_pmml_destroy(&p);
    return p;
}

ferry_pmml_t *ferry_pmml_load(const char *path, ferry_err_t *err)
{
    char *data = NULL;
    size_t len = 0;
    int rc = ferry_file_read(path, FERRY_PMML_MAX_FILE, &data, &len);
    if (rc < 0) {
        ferry_err(err, "%s: cannot read: %s", path, strerror(-rc));
        return NULL;
    }
    ferry_pmml_t *p = ferry_pmml_load_mem(data, len, path, err);
    free(data);
    return p;
}

int32_t ferry_pmml_data_field(const ferry_pmml_t *p, const char *name)
{
    for (int32_t i = 0; i < p->n_data_fields; i++)
        if (!strcmp(p->fields[i].name, name))
            return i;
    return -1;
}

void ferry_pmml_destroy(ferry_pmml_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ferry_pmml_t *p = *self_p;
    for (int32_t i = 0; i < p->n_fields; i++) {
        ferry_pmml_field_t *f = &p->fields[i];
        free(f->name);
        free(f->intervals);
        free(f->values);
        free(f->value_property);
    }
    free(p->fields);
    free(p->exprs);
    free(p->preds);
    for (int32_t i = 0; i < p->n_functions; i++) {
        free(p->functions[i].name);
        free(p->functions[i].param_slots);
    }
    free(p->functions);
    for (int32_t i = 0; i < p->n_models; i++) {
        ferry_pmml_model_t *m = &p->models[i];
        free(m->name);
        free(m->class_sym);
        free(m->class_num);
        free(m->mining);
        free(m->checks);
        for (int32_t k = 0; k < m->n_outputs; k++)
            free(m->outputs[k].name);
        free(m->outputs);
        free(m->tgt.prior);
        free(m->tgt.display);
        switch (m->type) {
        case FERRY_PMML_TREE:
            free(m->u.tree.nodes);
            free(m->u.tree.fast);
            free(m->u.tree.bin);
            break;
        case FERRY_PMML_MINING: free(m->u.mining_model.segments); break;
        case FERRY_PMML_REGRESSION:
            for (int32_t t = 0; t < m->u.regression.n_tables; t++) {
                ferry_pmml_regtable_t *r = &m->u.regression.tables[t];
                free(r->num_field); free(r->num_exp); free(r->num_coef);
                free(r->cat_field); free(r->cat_value); free(r->cat_coef);
                free(r->term_off); free(r->term_n); free(r->term_coef);
            }
            free(m->u.regression.tables);
            break;
        case FERRY_PMML_GENREG:
            free(m->u.genreg.ref_point); free(m->u.genreg.strata_value); free(m->u.genreg.strata_max_time);
            free(m->u.genreg.strata_off); free(m->u.genreg.strata_n); free(m->u.genreg.cell_time);
            free(m->u.genreg.cell_hazard);
            free(m->u.genreg.cell_off); free(m->u.genreg.cell_n); free(m->u.genreg.cells);
            free(m->u.genreg.row_class); free(m->u.genreg.beta);
            break;
        case FERRY_PMML_NN: {
            ferry_pmml_nn_t *nn = &m->u.nn;
            free(nn->input_expr); free(nn->layers); free(nn->bias); free(nn->width); free(nn->altitude);
            free(nn->con_off); free(nn->con_n); free(nn->dense_from); free(nn->con_from); free(nn->con_w);
            free(nn->wt);
            free(nn->output_neuron); free(nn->output_expr); free(nn->output_class);
            break;
        }
        case FERRY_PMML_SVM:
            free(m->u.svm.input_expr); free(m->u.svm.vectors);
            for (int32_t k = 0; k < m->u.svm.n_machines; k++) {
                free(m->u.svm.machines[k].sv);
                free(m->u.svm.machines[k].coef);
            }
            free(m->u.svm.machines);
            break;
        case FERRY_PMML_NAIVEBAYES:
            free(m->u.bayes.class_counts);
            /* <= : the input being compiled when a later error stopped it owns arrays too
             * (inputs has one zeroed slot more than BayesInputs) */
            for (int32_t k = 0; m->u.bayes.inputs && k <= m->u.bayes.n_inputs; k++) {
                ferry_pmml_bayes_input_t *in = &m->u.bayes.inputs[k];
                free(in->mean); free(in->var); free(in->values); free(in->counts);
            }
            free(m->u.bayes.inputs);
            break;
        case FERRY_PMML_CLUSTERING:
            free(m->u.clustering.field_expr); free(m->u.clustering.field_weight);
            free(m->u.clustering.centers); free(m->u.clustering.cluster_id_sym);
            break;
        case FERRY_PMML_SCORECARD: free(m->u.scorecard.chars); free(m->u.scorecard.attrs); break;
        case FERRY_PMML_RULESET: free(m->u.ruleset.rules); break;
        case FERRY_PMML_ASSOCIATION:
            free(m->u.association.item_sym); free(m->u.association.set_off); free(m->u.association.set_n);
            free(m->u.association.set_items); free(m->u.association.rules);
            break;
        }
    }
    free(p->models);
    for (int32_t i = 0; i < p->n_columns; i++)
        free(p->columns[i].name);
    free(p->columns);
    for (int32_t i = 0; i < p->n_syms; i++)
        free(p->syms[i]);
    free(p->syms);
    free(p->sym_hash);
    free(p->num_pool);
    free(p->int_pool);
    free(p->value_pool);
    free(p->interval_pool);
    free(p->version);
    free(p);
    *self_p = NULL;
}
