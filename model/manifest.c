/* manifest.c -- reads the signature manifest JSON of converted models (hostile input) */
#include "model/manifest.h"
#include "util/mem.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A minimal JSON reader: values are parsed into a small tree, then picked apart. */
typedef enum { S_NULL, S_BOOL, S_NUM, S_STR, S_ARR, S_OBJ } s_kind_t;

typedef struct s_val {
    s_kind_t kind;
    double num;
    char *str;          /* S_STR; also the key of an object member */
    char *key;
    struct s_val *kids; /* S_ARR / S_OBJ */
    size_t n;
} s_val_t;

typedef struct {
    const char *p, *end, *start;
    const char *name;
    ferry_err_t *err;
    size_t items;
    int failed;
} s_parser_t;

static int s_fail(s_parser_t *ps, const char *what)
{
    if (!ps->failed)
        ferry_err(ps->err, "%s: manifest JSON, byte %zu: expected %s", ps->name, (size_t)(ps->p - ps->start), what);
    ps->failed = 1;
    return -1;
}

static void s_free(s_val_t *v)
{
    free(v->str);
    free(v->key);
    for (size_t i = 0; i < v->n; i++)
        s_free(&v->kids[i]);
    free(v->kids);
}

static void s_ws(s_parser_t *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static int s_hex(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static char *s_string(s_parser_t *ps)
{
    if (ps->p >= ps->end || *ps->p != '"')
        return s_fail(ps, "a string"), NULL;
    ps->p++;
    size_t cap = 16, n = 0;
    char *out = ferry_malloc(cap);
    while (ps->p < ps->end && *ps->p != '"') {
        unsigned c = (unsigned char)*ps->p++;
        if (c < 0x20) {
            free(out);
            return s_fail(ps, "no control character inside a string"), NULL;
        }
        char buf[4];
        size_t k = 0;
        if (c == '\\') {
            if (ps->p >= ps->end)
                break;
            char e = *ps->p++;
            switch (e) {
            case '"': case '\\': case '/': buf[k++] = e; break;
            case 'b': buf[k++] = '\b'; break;
            case 'f': buf[k++] = '\f'; break;
            case 'n': buf[k++] = '\n'; break;
            case 'r': buf[k++] = '\r'; break;
            case 't': buf[k++] = '\t'; break;
            case 'u': {
                unsigned cp = 0;
                for (int i = 0; i < 4; i++) {
                    int h = ps->p < ps->end ? s_hex(*ps->p) : -1;
                    if (h < 0) {
                        free(out);
                        return s_fail(ps, "four hex digits after \\u"), NULL;
                    }
                    cp = cp * 16 + (unsigned)h;
                    ps->p++;
                }
                /* surrogates are kept as U+FFFD: names in manifests are field names */
                if (cp >= 0xD800 && cp <= 0xDFFF)
                    cp = 0xFFFD;
                if (cp < 0x80) {
                    buf[k++] = (char)cp;
                } else if (cp < 0x800) {
                    buf[k++] = (char)(0xC0 | (cp >> 6));
                    buf[k++] = (char)(0x80 | (cp & 0x3F));
                } else {
                    buf[k++] = (char)(0xE0 | (cp >> 12));
                    buf[k++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                    buf[k++] = (char)(0x80 | (cp & 0x3F));
                }
                break;
            }
            default: free(out); return s_fail(ps, "a valid escape"), NULL;
            }
        } else {
            buf[k++] = (char)c;
        }
        if (n + k + 1 > cap) {
            cap *= 2;
            out = ferry_realloc(out, cap);
        }
        memcpy(out + n, buf, k);
        n += k;
    }
    if (ps->p >= ps->end) {
        free(out);
        return s_fail(ps, "a closing quote"), NULL;
    }
    ps->p++;
    out[n] = 0;
    if (strlen(out) != n) {
        free(out);
        return s_fail(ps, "no NUL character in a string"), NULL;
    }
    return out;
}

static int s_value(s_parser_t *ps, s_val_t *v, int depth)
{
    memset(v, 0, sizeof *v);
    if (depth > FERRY_MANIFEST_MAX_DEPTH)
        return s_fail(ps, "nesting of at most 32 levels");
    if (++ps->items > FERRY_MANIFEST_MAX_ITEMS)
        return s_fail(ps, "at most 100000 values");
    s_ws(ps);
    if (ps->p >= ps->end)
        return s_fail(ps, "a value");
    char c = *ps->p;
    if (c == '{' || c == '[') {
        bool is_obj = c == '{';
        v->kind = is_obj ? S_OBJ : S_ARR;
        ps->p++;
        s_ws(ps);
        if (ps->p < ps->end && *ps->p == (is_obj ? '}' : ']')) {
            ps->p++;
            return 0;
        }
        size_t cap = 0;
        for (;;) {
            if (v->n == cap) {
                cap = cap ? cap * 2 : 4;
                v->kids = ferry_reallocarray(v->kids, cap, sizeof *v->kids);
            }
            s_val_t *kid = &v->kids[v->n];
            char *key = NULL;
            if (is_obj) {
                s_ws(ps);
                if (!(key = s_string(ps)))
                    return -1;
                s_ws(ps);
                if (ps->p >= ps->end || *ps->p != ':') {
                    free(key);
                    return s_fail(ps, "':'");
                }
                ps->p++;
            }
            int rc = s_value(ps, kid, depth + 1);
            kid->key = key;
            v->n++;
            if (rc < 0)
                return -1;
            s_ws(ps);
            if (ps->p < ps->end && *ps->p == ',') {
                ps->p++;
                continue;
            }
            if (ps->p < ps->end && *ps->p == (is_obj ? '}' : ']')) {
                ps->p++;
                return 0;
            }
            return s_fail(ps, is_obj ? "',' or '}'" : "',' or ']'");
        }
    }
    if (c == '"') {
        v->kind = S_STR;
        return (v->str = s_string(ps)) ? 0 : -1;
    }
    static const struct { const char *word; s_kind_t kind; double num; } words[] = {
        {"true", S_BOOL, 1}, {"false", S_BOOL, 0}, {"null", S_NULL, 0}};
    for (size_t i = 0; i < FERRY_ARRAY_LEN(words); i++) {
        size_t l = strlen(words[i].word);
        if ((size_t)(ps->end - ps->p) >= l && !memcmp(ps->p, words[i].word, l)) {
            ps->p += l;
            v->kind = words[i].kind;
            v->num = words[i].num;
            return 0;
        }
    }
    char buf[64];
    size_t n = 0;
    while (ps->p + n < ps->end && n < sizeof buf - 1 && strchr("+-0123456789.eE", ps->p[n]))
        n++;
    memcpy(buf, ps->p, n);
    buf[n] = 0;
    char *endp;
    v->num = n ? strtod(buf, &endp) : 0;
    if (!n || *endp || !isfinite(v->num))
        return s_fail(ps, "a JSON value");
    v->kind = S_NUM;
    ps->p += n;
    return 0;
}

static const s_val_t *s_get(const s_val_t *obj, const char *key)
{
    if (!obj || obj->kind != S_OBJ)
        return NULL;
    for (size_t i = 0; i < obj->n; i++)
        if (obj->kids[i].key && !strcmp(obj->kids[i].key, key))
            return &obj->kids[i];
    return NULL;
}

static const char *s_get_str(const s_val_t *obj, const char *key)
{
    const s_val_t *v = s_get(obj, key);
    return v && v->kind == S_STR ? v->str : NULL;
}

void ferry_manifest_destroy(ferry_manifest_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ferry_manifest_t *m = *self_p;
    for (size_t i = 0; i < m->n_inputs; i++) {
        free(m->inputs[i].name);
        free(m->inputs[i].tensor);
    }
    for (size_t i = 0; i < m->n_columns; i++) {
        free(m->columns[i].name);
        free(m->columns[i].tensor);
    }
    free(m->inputs);
    free(m->columns);
    free(m);
    *self_p = NULL;
}

ferry_manifest_t *ferry_manifest_parse(const char *json, size_t len, const char *name, ferry_err_t *err)
{
    if (len > FERRY_MANIFEST_MAX_BYTES) {
        ferry_err(err, "%s: manifest of %zu bytes is larger than the %u allowed", name, len, FERRY_MANIFEST_MAX_BYTES);
        return NULL;
    }
    s_parser_t ps = {.p = json, .end = json + len, .start = json, .name = name, .err = err};
    s_val_t root;
    ferry_manifest_t *m = NULL;
    if (s_value(&ps, &root, 0) < 0)
        goto out;
    s_ws(&ps);
    if (ps.p != ps.end) {
        s_fail(&ps, "the end of the manifest");
        goto out;
    }
    const char *fmt = s_get_str(&root, "format");
    if (!fmt || strcmp(fmt, "ferry-signature-manifest")) {
        ferry_err(err, "%s: manifest: \"format\" must be \"ferry-signature-manifest\"", name);
        goto out;
    }
    const s_val_t *ins = s_get(&root, "inputs"), *cols = s_get(&root, "columns"), *outs = s_get(&root, "outputs");
    if (!ins || ins->kind != S_ARR || !cols || cols->kind != S_ARR) {
        ferry_err(err, "%s: manifest: \"inputs\" and \"columns\" must be arrays", name);
        goto out;
    }
    m = ferry_calloc(1, sizeof *m);
    m->inputs = ferry_calloc(ins->n + 1, sizeof *m->inputs);
    for (size_t i = 0; i < ins->n; i++) {
        const char *n = s_get_str(&ins->kids[i], "name"), *t = s_get_str(&ins->kids[i], "tensor");
        const char *dt = s_get_str(&ins->kids[i], "dtype");
        if (!n || !t || !dt || (strcmp(dt, "double") && strcmp(dt, "string"))) {
            ferry_err(err, "%s: manifest: inputs[%zu] needs string \"name\", \"tensor\" and \"dtype\" "
                           "(double or string)", name, i);
            ferry_manifest_destroy(&m);
            goto out;
        }
        m->inputs[i] = (ferry_manifest_input_t){ferry_strdup(n), ferry_strdup(t), !strcmp(dt, "string")};
        m->n_inputs++;
    }
    m->columns = ferry_calloc(cols->n + 1, sizeof *m->columns);
    for (size_t i = 0; i < cols->n; i++) {
        const s_val_t *c = &cols->kids[i], *idx = s_get(c, "index");
        const char *n = s_get_str(c, "name"), *t = s_get_str(c, "tensor"), *f = s_get_str(c, "format");
        if (!n || !t || !f || !idx || idx->kind != S_NUM || idx->num < 0 || idx->num > 1e9 ||
            idx->num != floor(idx->num) || (strcmp(f, "number") && strcmp(f, "string"))) {
            ferry_err(err, "%s: manifest: columns[%zu] needs \"name\", \"tensor\", a non-negative integer "
                           "\"index\" and \"format\" (number or string)", name, i);
            ferry_manifest_destroy(&m);
            goto out;
        }
        m->columns[i] = (ferry_manifest_column_t){ferry_strdup(n), ferry_strdup(t), (int64_t)idx->num, !strcmp(f, "string")};
        m->n_columns++;
    }
    if (outs && outs->kind == S_ARR)
        for (size_t i = 0; i < outs->n; i++) {
            const char *t = s_get_str(&outs->kids[i], "tensor");
            if (t && !strcmp(t, "row_valid"))
                m->has_row_valid = true;
        }
out:
    s_free(&root);
    return m;
}
