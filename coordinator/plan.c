/* plan.c -- parse and validate a plan file (YAML) into a ferry_plan_t
 *
 * Two passes: libyaml's event API builds a small tree (refusing aliases, deep nesting,
 * oversized scalars and too many nodes as it goes, so a hostile file cannot make us
 * allocate much), then a validator walks the tree with the key path in hand, so each
 * error can name the file, line, column and key. The event API is used rather than the
 * document API because it lets us stop at the first alias or too-deep level instead of
 * loading everything first. */
#include "coordinator/plan.h"

#include "util/file.h"
#include "util/mem.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* Nodes in the tree: bounds memory to roughly 64 bytes * this, whatever the file. */
#define S_MAX_NODES 1000000
/* Characters of a user value or unknown key quoted back in a message. */
#define S_QUOTE_MAX 40
/* Room for a key path such as diagnostics[9999].requires.runtimes[255]. */
#define S_PATH_MAX 160

typedef enum { S_SCALAR, S_MAP, S_SEQ } s_node_type_t;

typedef struct s_node {
    s_node_type_t type;
    size_t line, col;      /* 1-based */
    char *str;             /* scalar text (NUL-terminated) */
    size_t len;            /* scalar length; for map/seq: number of children */
    bool is_plain;         /* scalar written without quotes (may be a number/bool/null) */
    struct s_node **kids;  /* map: key, value, key, value ...; seq: items */
    size_t cap;
} s_node_t;

typedef struct {
    const char *file;
    ferry_err_t *err;
    size_t n_nodes;
} s_ctx_t;

/* ---- messages ------------------------------------------------------------------------ */

/* Quote a user string into out for a message: at most S_QUOTE_MAX characters, with
 * control and non-ASCII bytes escaped, so a hostile value cannot garble a terminal. */
static void s_quote(char *out, size_t out_size, const char *s, size_t len)
{
    size_t o = 0;
    out[o++] = '"';
    size_t shown = FERRY_MIN(len, (size_t)S_QUOTE_MAX);
    for (size_t i = 0; i < shown && o + 8 < out_size; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            o += (size_t)snprintf(out + o, out_size - o, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            o += (size_t)snprintf(out + o, out_size - o, "\\x%02x", c);
        else
            out[o++] = (char)c;
    }
    if (len > shown && o + 5 < out_size) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o++] = '"';
    out[o] = '\0';
}

/* "got ..." description of a node for type errors. */
static void s_describe(char *out, size_t out_size, const s_node_t *n)
{
    if (n->type == S_MAP) {
        snprintf(out, out_size, "a mapping");
    } else if (n->type == S_SEQ) {
        snprintf(out, out_size, "a list");
    } else if (n->is_plain && (n->len == 0 || !strcmp(n->str, "~") || !strcmp(n->str, "null"))) {
        snprintf(out, out_size, "nothing (null)");
    } else {
        s_quote(out, out_size, n->str, n->len);
    }
}

static int s_fail_at(s_ctx_t *ctx, size_t line, size_t col, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int s_fail_at(s_ctx_t *ctx, size_t line, size_t col, const char *path, const char *fmt, ...)
{
    char what[FERRY_ERR_MAX / 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (path && *path)
        return ferry_err(ctx->err, "%s:%zu:%zu: %s: %s", ctx->file, line, col, path, what);
    return ferry_err(ctx->err, "%s:%zu:%zu: %s", ctx->file, line, col, what);
}

/* "path: expected <what>, got <value>" at the node. */
static int s_expected(s_ctx_t *ctx, const s_node_t *n, const char *path, const char *what)
{
    char got[S_QUOTE_MAX * 4 + 16];
    s_describe(got, sizeof got, n);
    return s_fail_at(ctx, n->line, n->col, path, "expected %s, got %s", what, got);
}

/* ---- pass 1: events to tree ------------------------------------------------------------ */

static void s_node_free(s_node_t *n)
{
    if (!n)
        return;
    if (n->type != S_SCALAR)
        for (size_t i = 0; i < n->len; i++)
            s_node_free(n->kids[i]);
    free(n->kids);
    free(n->str);
    free(n);
}

static s_node_t *s_node_new(s_ctx_t *ctx, s_node_type_t type, yaml_mark_t mark)
{
    if (ctx->n_nodes >= S_MAX_NODES) {
        s_fail_at(ctx, mark.line + 1, mark.column + 1, NULL, "too many entries in the plan (more than %d values)",
                  S_MAX_NODES);
        return NULL;
    }
    ctx->n_nodes++;
    s_node_t *n = ferry_calloc(1, sizeof *n);
    n->type = type;
    n->line = mark.line + 1;
    n->col = mark.column + 1;
    return n;
}

static void s_node_add(s_node_t *parent, s_node_t *kid)
{
    if (parent->len == parent->cap) {
        parent->cap = parent->cap ? parent->cap * 2 : 8;
        parent->kids = ferry_reallocarray(parent->kids, parent->cap, sizeof *parent->kids);
    }
    parent->kids[parent->len++] = kid;
}

/* Tags we accept on scalars: none, the non-specific "!", and the core schema's own. */
static bool s_tag_is_plain(const unsigned char *tag)
{
    if (!tag)
        return true;
    static const char *const ok[] = {"!", "tag:yaml.org,2002:str", "tag:yaml.org,2002:int",
                                     "tag:yaml.org,2002:bool", "tag:yaml.org,2002:map",
                                     "tag:yaml.org,2002:seq", "tag:yaml.org,2002:null"};
    for (size_t i = 0; i < FERRY_ARRAY_LEN(ok); i++)
        if (!strcmp((const char *)tag, ok[i]))
            return true;
    return false;
}

/* Build the tree of the (single) document. Returns the root or NULL with ctx->err set. */
static s_node_t *s_load_tree(s_ctx_t *ctx, const char *yaml, size_t len)
{
    yaml_parser_t parser;
    yaml_event_t event;
    s_node_t *stack[FERRY_PLAN_MAX_DEPTH + 1];
    int depth = 0;
    s_node_t *root = NULL;
    int documents = 0;
    bool is_done = false;
    bool is_failed = false;

    if (!yaml_parser_initialize(&parser)) {
        ferry_err(ctx->err, "%s: cannot initialise the YAML parser", ctx->file);
        return NULL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);

    while (!is_done && !is_failed) {
        if (!yaml_parser_parse(&parser, &event)) {
            const char *problem = parser.problem ? parser.problem : "malformed YAML";
            if (parser.context)
                s_fail_at(ctx, parser.problem_mark.line + 1, parser.problem_mark.column + 1, NULL,
                          "YAML syntax error: %s %s", parser.context, problem);
            else
                s_fail_at(ctx, parser.problem_mark.line + 1, parser.problem_mark.column + 1, NULL,
                          "YAML syntax error: %s", problem);
            is_failed = true;
            break;
        }
        yaml_mark_t mark = event.start_mark;
        s_node_t *n = NULL;
        switch (event.type) {
        case YAML_STREAM_START_EVENT:
        case YAML_NO_EVENT:
            break;
        case YAML_STREAM_END_EVENT:
            is_done = true;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++documents > 1) {
                s_fail_at(ctx, mark.line + 1, mark.column + 1, NULL,
                          "a plan is one YAML document; found a second one (\"---\")");
                is_failed = true;
            }
            break;
        case YAML_DOCUMENT_END_EVENT:
            break;
        case YAML_ALIAS_EVENT:
            s_fail_at(ctx, mark.line + 1, mark.column + 1, NULL,
                      "YAML aliases (*name) are not supported in plans; write the value out");
            is_failed = true;
            break;
        case YAML_SCALAR_EVENT:
            if (!s_tag_is_plain(event.data.scalar.tag)) {
                s_fail_at(ctx, mark.line + 1, mark.column + 1, NULL, "YAML tag %s is not supported in plans",
                          (const char *)event.data.scalar.tag);
                is_failed = true;
                break;
            }
            if (event.data.scalar.length > FERRY_PLAN_MAX_SCALAR) {
                s_fail_at(ctx, mark.line + 1, mark.column + 1, NULL, "value too long (%zu bytes; at most %d)",
                          event.data.scalar.length, FERRY_PLAN_MAX_SCALAR);
                is_failed = true;
                break;
            }
            if (memchr(event.data.scalar.value, '\0', event.data.scalar.length)) {
                s_fail_at(ctx, mark.line + 1, mark.column + 1, NULL, "value contains a NUL character");
                is_failed = true;
                break;
            }
            n = s_node_new(ctx, S_SCALAR, mark);
            if (!n) {
                is_failed = true;
                break;
            }
            n->str = ferry_strndup((const char *)event.data.scalar.value, event.data.scalar.length);
            n->len = event.data.scalar.length;
            n->is_plain = event.data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !event.data.scalar.tag;
            break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT: {
            const unsigned char *tag = event.type == YAML_MAPPING_START_EVENT ? event.data.mapping_start.tag
                                                                               : event.data.sequence_start.tag;
            if (!s_tag_is_plain(tag)) {
                s_fail_at(ctx, mark.line + 1, mark.column + 1, NULL, "YAML tag %s is not supported in plans",
                          (const char *)tag);
                is_failed = true;
                break;
            }
            if (depth >= FERRY_PLAN_MAX_DEPTH) {
                s_fail_at(ctx, mark.line + 1, mark.column + 1, NULL, "nesting deeper than %d levels",
                          FERRY_PLAN_MAX_DEPTH);
                is_failed = true;
                break;
            }
            n = s_node_new(ctx, event.type == YAML_MAPPING_START_EVENT ? S_MAP : S_SEQ, mark);
            if (!n)
                is_failed = true;
            break;
        }
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            if (depth > 0) {
                n = stack[--depth];
                /* attach the finished container below */
                if (depth > 0)
                    s_node_add(stack[depth - 1], n);
                else
                    root = n;
                n = NULL;
            }
            break;
        }
        if (n) {
            if (n->type == S_SCALAR) {
                if (depth > 0)
                    s_node_add(stack[depth - 1], n);
                else if (!root)
                    root = n;
                else
                    s_node_free(n);
            } else {
                stack[depth++] = n;
            }
        }
        yaml_event_delete(&event);
    }
    yaml_parser_delete(&parser);
    if (is_failed) {
        /* Free the open containers (each holds its attached children). */
        while (depth > 0)
            s_node_free(stack[--depth]);
        s_node_free(root);
        return NULL;
    }
    if (!root) {
        ferry_err(ctx->err, "%s:1:1: the plan is empty (expected a mapping with name:, settings: and diagnostics:)",
                  ctx->file);
        return NULL;
    }
    return root;
}

/* ---- pass 2: validation helpers --------------------------------------------------------- */

static bool s_is_null(const s_node_t *n)
{
    return n->type == S_SCALAR && n->is_plain &&
           (n->len == 0 || !strcmp(n->str, "~") || !strcmp(n->str, "null") || !strcmp(n->str, "Null") ||
            !strcmp(n->str, "NULL"));
}

/* Check a mapping's keys: all scalars, none repeated, each in known (NULL-terminated).
 * An unknown key is reported with its name and the list of known ones. */
static int s_check_keys(s_ctx_t *ctx, const s_node_t *map, const char *path, const char *const *known)
{
    for (size_t i = 0; i < map->len; i += 2) {
        const s_node_t *key = map->kids[i];
        if (key->type != S_SCALAR)
            return s_fail_at(ctx, key->line, key->col, path, "keys must be plain words, got %s",
                             key->type == S_MAP ? "a mapping" : "a list");
        bool is_known = false;
        for (size_t k = 0; known[k]; k++)
            if (!strcmp(key->str, known[k]))
                is_known = true;
        if (!is_known) {
            char q[S_QUOTE_MAX * 4 + 16], list[512] = "";
            s_quote(q, sizeof q, key->str, key->len);
            for (size_t k = 0; known[k]; k++) {
                if (k)
                    strncat(list, ", ", sizeof list - strlen(list) - 1);
                strncat(list, known[k], sizeof list - strlen(list) - 1);
            }
            return s_fail_at(ctx, key->line, key->col, path, "unknown key %s (expected one of: %s)", q, list);
        }
        for (size_t j = 0; j < i; j += 2)
            if (!strcmp(map->kids[j]->str, key->str))
                return s_fail_at(ctx, key->line, key->col, path, "duplicate key \"%s\" (first at line %zu)",
                                 key->str, map->kids[j]->line);
    }
    return 0;
}

/* out (S_PATH_MAX bytes) = path.key; a path too long for messages is cut, never overrun. */
static void s_path_join(char *out, const char *path, const char *key)
{
    int n = path && *path ? snprintf(out, S_PATH_MAX, "%s.%s", path, key) : snprintf(out, S_PATH_MAX, "%s", key);
    if (n < 0)
        out[0] = '\0';
}

/* Parse a plain decimal integer in [min, max]. */
static int s_get_int(s_ctx_t *ctx, const s_node_t *n, const char *path, int64_t min, int64_t max,
                     const char *what, int64_t *out)
{
    if (n->type != S_SCALAR || !n->is_plain || n->len == 0)
        return s_expected(ctx, n, path, what);
    const char *s = n->str;
    bool is_negative = false;
    if (*s == '+' || *s == '-')
        is_negative = *s++ == '-';
    if (!*s)
        return s_expected(ctx, n, path, what);
    uint64_t v = 0;
    for (; *s; s++) {
        if (!isdigit((unsigned char)*s))
            return s_expected(ctx, n, path, what);
        if (v > (UINT64_MAX - 9) / 10)
            return s_expected(ctx, n, path, what);
        v = v * 10 + (uint64_t)(*s - '0');
    }
    if (v > (uint64_t)INT64_MAX)
        return s_expected(ctx, n, path, what);
    int64_t sv = is_negative ? -(int64_t)v : (int64_t)v;
    if (sv < min || sv > max) {
        char got[S_QUOTE_MAX * 4 + 16];
        s_describe(got, sizeof got, n);
        return s_fail_at(ctx, n->line, n->col, path, "expected %s, got %s (allowed: %" PRId64 " to %" PRId64 ")",
                         what, got, min, max);
    }
    *out = sv;
    return 0;
}

static int s_get_bool(s_ctx_t *ctx, const s_node_t *n, const char *path, bool *out)
{
    static const char *const yes[] = {"true", "True", "TRUE"}, *const no[] = {"false", "False", "FALSE"};
    if (n->type == S_SCALAR && n->is_plain) {
        for (size_t i = 0; i < FERRY_ARRAY_LEN(yes); i++) {
            if (!strcmp(n->str, yes[i])) {
                *out = true;
                return 0;
            }
            if (!strcmp(n->str, no[i])) {
                *out = false;
                return 0;
            }
        }
    }
    return s_expected(ctx, n, path, "true or false");
}

/* A word: non-empty, at most max_len bytes, only characters from extra or alphanumerics. */
static int s_get_word(s_ctx_t *ctx, const s_node_t *n, const char *path, const char *extra, size_t max_len,
                      const char *what, const char **out)
{
    if (n->type != S_SCALAR || s_is_null(n) || n->len == 0 || n->len > max_len)
        return s_expected(ctx, n, path, what);
    for (size_t i = 0; i < n->len; i++) {
        unsigned char c = (unsigned char)n->str[i];
        if (!isalnum(c) && !strchr(extra, c))
            return s_expected(ctx, n, path, what);
    }
    *out = n->str;
    return 0;
}

/* A list of distinct words into a fresh array. lower: fold to lower case (ISA flags). */
static int s_get_word_list(s_ctx_t *ctx, const s_node_t *n, const char *path, const char *extra, bool lower,
                           const char *what, char ***out, size_t *n_out)
{
    char item_what[128];
    snprintf(item_what, sizeof item_what, "a list of %s", what);
    if (s_is_null(n))
        return 0;
    if (n->type != S_SEQ)
        return s_expected(ctx, n, path, item_what);
    if (n->len > FERRY_PLAN_MAX_LIST)
        return s_fail_at(ctx, n->line, n->col, path, "too many entries (%zu; at most %d)", n->len,
                         FERRY_PLAN_MAX_LIST);
    char **list = n->len ? ferry_calloc(n->len, sizeof *list) : NULL;
    size_t count = 0;
    for (size_t i = 0; i < n->len; i++) {
        char item_path[S_PATH_MAX];
        if (snprintf(item_path, sizeof item_path, "%s[%zu]", path, i) < 0)
            item_path[0] = '\0';
        const char *w;
        if (s_get_word(ctx, n->kids[i], item_path, extra, FERRY_PLAN_MAX_NAME, what, &w) < 0)
            goto fail;
        char *copy = ferry_strdup(w);
        if (lower)
            for (char *c = copy; *c; c++)
                *c = (char)tolower((unsigned char)*c);
        for (size_t j = 0; j < count; j++) {
            if (!strcmp(list[j], copy)) {
                s_fail_at(ctx, n->kids[i]->line, n->kids[i]->col, item_path, "\"%s\" is listed twice", copy);
                free(copy);
                goto fail;
            }
        }
        list[count++] = copy;
    }
    *out = list;
    *n_out = count;
    return 0;
fail:
    for (size_t j = 0; j < count; j++)
        free(list[j]);
    free(list);
    return -1;
}

static const s_node_t *s_lookup(const s_node_t *map, const char *key)
{
    for (size_t i = 0; i + 1 < map->len; i += 2)
        if (!strcmp(map->kids[i]->str, key))
            return map->kids[i + 1];
    return NULL;
}

/* ---- pass 2: sections ---------------------------------------------------------------- */

static const char *const s_arches[] = {"x86_64", "aarch64", "ppc64le", "s390x", "riscv64"};

static int s_parse_requires(s_ctx_t *ctx, const s_node_t *n, const char *path, ferry_requirements_t *req)
{
    static const char *const known[] = {"arch", "isa", "gpu", "tags", "runtimes", NULL};
    char p[S_PATH_MAX];
    if (s_is_null(n))
        return 0;
    if (n->type != S_MAP)
        return s_expected(ctx, n, path, "a mapping of requirements (arch, isa, gpu, tags, runtimes)");
    if (s_check_keys(ctx, n, path, known) < 0)
        return -1;
    const s_node_t *v;
    if ((v = s_lookup(n, "arch"))) {
        s_path_join(p, path, "arch");
        bool is_known = false;
        if (v->type == S_SCALAR)
            for (size_t i = 0; i < FERRY_ARRAY_LEN(s_arches); i++)
                if (!strcmp(v->str, s_arches[i]))
                    is_known = true;
        if (!is_known)
            return s_expected(ctx, v, p, "an architecture: x86_64, aarch64, ppc64le, s390x or riscv64");
        req->arch = ferry_strdup(v->str);
    }
    if ((v = s_lookup(n, "isa"))) {
        s_path_join(p, path, "isa");
        if (s_get_word_list(ctx, v, p, "._", true, "ISA flags (e.g. avx2, avx512f, neon)", &req->isa, &req->n_isa) <
            0)
            return -1;
    }
    if ((v = s_lookup(n, "gpu"))) {
        s_path_join(p, path, "gpu");
        if (s_get_bool(ctx, v, p, &req->needs_gpu) < 0)
            return -1;
    }
    if ((v = s_lookup(n, "tags"))) {
        s_path_join(p, path, "tags");
        if (s_get_word_list(ctx, v, p, "._:/-", false, "tags (letters, digits, . _ : / -)", &req->tags,
                            &req->n_tags) < 0)
            return -1;
    }
    if ((v = s_lookup(n, "runtimes"))) {
        s_path_join(p, path, "runtimes");
        if (s_get_word_list(ctx, v, p, "._:/-", false, "runtime names (e.g. ort-node)", &req->runtimes,
                            &req->n_runtimes) < 0)
            return -1;
    }
    return 0;
}

static const char *const s_kind_names[] = {[FERRY_DIAG_ECHO] = "echo", [FERRY_DIAG_SLEEP] = "sleep",
                                           [FERRY_DIAG_FAIL] = "fail", [FERRY_DIAG_CRASH] = "crash"};

const char *ferry_diag_kind_name(ferry_diag_kind_t kind)
{
    if ((size_t)kind < FERRY_ARRAY_LEN(s_kind_names))
        return s_kind_names[kind];
    return "unknown";
}

static int s_parse_group(s_ctx_t *ctx, const s_node_t *n, const char *path, ferry_plan_group_t *g)
{
    static const char *const known[] = {"kind", "ms", "count", "name", "requires", NULL};
    char p[S_PATH_MAX];
    if (n->type != S_MAP)
        return s_expected(ctx, n, path, "a mapping such as {kind: echo, count: 10}");
    if (s_check_keys(ctx, n, path, known) < 0)
        return -1;
    const s_node_t *kind = s_lookup(n, "kind");
    if (!kind)
        return s_fail_at(ctx, n->line, n->col, path, "missing key \"kind\" (echo, sleep, fail or crash)");
    s_path_join(p, path, "kind");
    bool is_known = false;
    if (kind->type == S_SCALAR)
        for (size_t i = 0; i < FERRY_ARRAY_LEN(s_kind_names); i++)
            if (!strcmp(kind->str, s_kind_names[i])) {
                g->kind = (ferry_diag_kind_t)i;
                is_known = true;
            }
    if (!is_known)
        return s_expected(ctx, kind, p, "one of echo, sleep, fail, crash");

    const s_node_t *v;
    if ((v = s_lookup(n, "ms"))) {
        s_path_join(p, path, "ms");
        if (g->kind != FERRY_DIAG_SLEEP)
            return s_fail_at(ctx, v->line, v->col, p, "only a sleep task takes ms (this one is kind %s)",
                             s_kind_names[g->kind]);
        if (s_get_int(ctx, v, p, 0, FERRY_PLAN_MAX_MS, "a non-negative integer (milliseconds)",
                      &g->sleep_ms) < 0)
            return -1;
    } else if (g->kind == FERRY_DIAG_SLEEP) {
        return s_fail_at(ctx, n->line, n->col, path, "missing key \"ms\": a sleep task needs its duration");
    }
    g->count = 1;
    if ((v = s_lookup(n, "count"))) {
        int64_t count;
        s_path_join(p, path, "count");
        if (s_get_int(ctx, v, p, 1, (int64_t)FERRY_PLAN_MAX_COUNT, "a positive integer (number of tasks)", &count) < 0)
            return -1;
        g->count = (uint64_t)count;
    }
    if ((v = s_lookup(n, "name"))) {
        const char *name;
        s_path_join(p, path, "name");
        if (s_get_word(ctx, v, p, "_.-", FERRY_PLAN_MAX_NAME,
                       "a name of up to 128 letters, digits, '_', '.' or '-'", &name) < 0)
            return -1;
        g->name = ferry_strdup(name);
    } else {
        g->name = ferry_strdup(s_kind_names[g->kind]);
    }
    if ((v = s_lookup(n, "requires"))) {
        s_path_join(p, path, "requires");
        if (s_parse_requires(ctx, v, p, &g->req) < 0)
            return -1;
    }
    return 0;
}

static int s_parse_settings(s_ctx_t *ctx, const s_node_t *n, ferry_plan_t *plan)
{
    static const char *const known[] = {"max_attempts",     "lease_ms",     "task_timeout_ms",
                                        "retry_backoff_ms", "heartbeat_ms", "memory_limit_mb",
                                        NULL};
    if (s_is_null(n))
        return 0;
    if (n->type != S_MAP)
        return s_expected(ctx, n, "settings", "a mapping (max_attempts, lease_ms, ...)");
    if (s_check_keys(ctx, n, "settings", known) < 0)
        return -1;
    const s_node_t *v;
    int64_t x;
    if ((v = s_lookup(n, "max_attempts"))) {
        if (s_get_int(ctx, v, "settings.max_attempts", 1, FERRY_PLAN_MAX_ATTEMPTS,
                      "a positive integer (attempts per task)", &x) < 0)
            return -1;
        plan->max_attempts = (int)x;
    }
    const char *ms_what = "a positive integer (milliseconds)";
    if ((v = s_lookup(n, "lease_ms")) && s_get_int(ctx, v, "settings.lease_ms", 1, FERRY_PLAN_MAX_MS, ms_what,
                                                   &plan->lease_ms) < 0)
        return -1;
    if ((v = s_lookup(n, "task_timeout_ms")) && s_get_int(ctx, v, "settings.task_timeout_ms", 1, FERRY_PLAN_MAX_MS,
                                                          ms_what, &plan->task_timeout_ms) < 0)
        return -1;
    if ((v = s_lookup(n, "retry_backoff_ms")) &&
        s_get_int(ctx, v, "settings.retry_backoff_ms", 0, FERRY_PLAN_MAX_MS,
                  "a non-negative integer (milliseconds)", &plan->retry_backoff_ms) < 0)
        return -1;
    if ((v = s_lookup(n, "heartbeat_ms")) &&
        s_get_int(ctx, v, "settings.heartbeat_ms", 1, FERRY_PLAN_MAX_MS, ms_what, &plan->heartbeat_ms) < 0)
        return -1;
    if ((v = s_lookup(n, "memory_limit_mb"))) {
        if (s_get_int(ctx, v, "settings.memory_limit_mb", 1, (int64_t)FERRY_PLAN_MAX_MEMORY_MB,
                      "a positive integer (MiB)", &x) < 0)
            return -1;
        plan->memory_limit_mb = (uint64_t)x;
    }
    /* A lease must outlive several heartbeats, or every healthy worker loses its tasks. */
    if (plan->heartbeat_ms >= plan->lease_ms) {
        const s_node_t *at = s_lookup(n, "heartbeat_ms") ? s_lookup(n, "heartbeat_ms") : s_lookup(n, "lease_ms");
        const char *path = s_lookup(n, "heartbeat_ms") ? "settings.heartbeat_ms" : "settings.lease_ms";
        return s_fail_at(ctx, at->line, at->col, path,
                         "heartbeat_ms (%" PRId64 ") must be less than lease_ms (%" PRId64 ")", plan->heartbeat_ms,
                         plan->lease_ms);
    }
    return 0;
}

/* qsort has no context argument; parsing is single-threaded per call but plans may be
 * parsed on several threads, hence thread-local. */
static _Thread_local const ferry_plan_group_t *s_sort_groups;

static int s_cmp_group_name(const void *a, const void *b)
{
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    int c = strcmp(s_sort_groups[i].name, s_sort_groups[j].name);
    return c ? c : (i > j) - (i < j);
}

static int s_parse_diagnostics(s_ctx_t *ctx, const s_node_t *n, ferry_plan_t *plan)
{
    if (n->type != S_SEQ)
        return s_expected(ctx, n, "diagnostics", "a list of task groups such as [{kind: echo, count: 10}]");
    if (n->len == 0)
        return s_fail_at(ctx, n->line, n->col, "diagnostics", "the list is empty: a plan needs at least one group");
    if (n->len > FERRY_PLAN_MAX_GROUPS)
        return s_fail_at(ctx, n->line, n->col, "diagnostics", "too many groups (%zu; at most %d)", n->len,
                         FERRY_PLAN_MAX_GROUPS);
    plan->groups = ferry_calloc(n->len, sizeof *plan->groups);
    for (size_t i = 0; i < n->len; i++) {
        char path[S_PATH_MAX];
        snprintf(path, sizeof path, "diagnostics[%zu]", i);
        plan->n_groups = i + 1; /* so destroy frees a half-parsed group */
        if (s_parse_group(ctx, n->kids[i], path, &plan->groups[i]) < 0)
            return -1;
    }
    /* Task ids are "<name>-<index>": names must be distinct to keep them unique.
     * O(n log n): sort the indices by name, then report the repeat that comes first in
     * the file (10,000 groups compared pairwise would cost 50 million strcmp calls). */
    size_t *order = ferry_calloc(n->len, sizeof *order);
    for (size_t i = 0; i < n->len; i++)
        order[i] = i;
    s_sort_groups = plan->groups;
    qsort(order, n->len, sizeof *order, s_cmp_group_name);
    size_t first = SIZE_MAX, repeat = SIZE_MAX;
    for (size_t i = 1; i < n->len; i++) {
        /* equal names sort by index, so order[i - 1] is the earlier of each adjacent pair */
        if (!strcmp(plan->groups[order[i - 1]].name, plan->groups[order[i]].name) && order[i] < repeat &&
            (i < 2 || strcmp(plan->groups[order[i - 2]].name, plan->groups[order[i]].name))) {
            repeat = order[i];
            first = order[i - 1];
        }
    }
    free(order);
    if (repeat != SIZE_MAX) {
        char path[S_PATH_MAX];
        snprintf(path, sizeof path, "diagnostics[%zu]", repeat);
        return s_fail_at(ctx, n->kids[repeat]->line, n->kids[repeat]->col, path,
                         "group name \"%s\" is already used by diagnostics[%zu] (line %zu); "
                         "give each group a distinct name:",
                         plan->groups[repeat].name, first, n->kids[first]->line);
    }
    return 0;
}

static int s_parse_root(s_ctx_t *ctx, const s_node_t *root, ferry_plan_t *plan)
{
    static const char *const known[] = {"name", "settings", "diagnostics", "migration", NULL};
    if (root->type != S_MAP)
        return s_expected(ctx, root, "", "a mapping with name:, settings: and diagnostics: at the top level");
    if (s_check_keys(ctx, root, "", known) < 0)
        return -1;
    const s_node_t *v;
    for (size_t i = 0; i < root->len; i += 2)
        if (!strcmp(root->kids[i]->str, "migration"))
            return s_fail_at(ctx, root->kids[i]->line, root->kids[i]->col, "migration",
                             "migration plans are not supported yet");
    if ((v = s_lookup(root, "name"))) {
        if (v->type != S_SCALAR || s_is_null(v) || v->len == 0 || v->len > FERRY_PLAN_MAX_NAME)
            return s_expected(ctx, v, "name", "a plan name of 1 to 128 characters");
        for (size_t i = 0; i < v->len; i++)
            if ((unsigned char)v->str[i] < 0x20 || v->str[i] == 0x7f)
                return s_expected(ctx, v, "name", "a plan name without control characters");
        plan->name = ferry_strdup(v->str);
    }
    if ((v = s_lookup(root, "settings")) && s_parse_settings(ctx, v, plan) < 0)
        return -1;
    if (!(v = s_lookup(root, "diagnostics")))
        return s_fail_at(ctx, root->line, root->col, "",
                         "the plan has nothing to do: expected a diagnostics: list of task groups");
    return s_parse_diagnostics(ctx, v, plan);
}

/* ---- public API ------------------------------------------------------------------------ */

ferry_plan_t *ferry_plan_parse(const char *path_for_messages, const char *yaml, size_t len, ferry_err_t *err)
{
    s_ctx_t ctx = {.file = path_for_messages ? path_for_messages : "<plan>", .err = err};
    if (len > FERRY_PLAN_MAX_BYTES) {
        ferry_err(err, "%s: plan too large (%zu bytes; at most %u)", ctx.file, len, FERRY_PLAN_MAX_BYTES);
        return NULL;
    }
    s_node_t *root = s_load_tree(&ctx, yaml ? yaml : "", yaml ? len : 0);
    if (!root)
        return NULL;
    ferry_plan_t *plan = ferry_calloc(1, sizeof *plan);
    plan->path = ferry_strdup(ctx.file);
    plan->max_attempts = FERRY_PLAN_DEFAULT_MAX_ATTEMPTS;
    plan->lease_ms = FERRY_PLAN_DEFAULT_LEASE_MS;
    plan->task_timeout_ms = FERRY_PLAN_DEFAULT_TASK_TIMEOUT_MS;
    plan->retry_backoff_ms = FERRY_PLAN_DEFAULT_RETRY_BACKOFF_MS;
    plan->heartbeat_ms = FERRY_PLAN_DEFAULT_HEARTBEAT_MS;
    plan->memory_limit_mb = FERRY_PLAN_DEFAULT_MEMORY_LIMIT_MB;
    int rc = s_parse_root(&ctx, root, plan);
    s_node_free(root);
    if (rc < 0)
        ferry_plan_destroy(&plan);
    return plan;
}

ferry_plan_t *ferry_plan_load(const char *path, ferry_err_t *err)
{
    char *data = NULL;
    size_t len = 0;
    int rc = ferry_file_read(path, FERRY_PLAN_MAX_BYTES, &data, &len);
    if (rc == -EFBIG) {
        ferry_err(err, "%s: plan too large (at most %u bytes)", path, FERRY_PLAN_MAX_BYTES);
        return NULL;
    }
    if (rc < 0) {
        ferry_err(err, "%s: cannot read the plan: %s", path, strerror(-rc));
        return NULL;
    }
    ferry_plan_t *plan = ferry_plan_parse(path, data, len, err);
    free(data);
    return plan;
}

static void s_free_list(char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

void ferry_plan_destroy(ferry_plan_t **plan_p)
{
    if (!plan_p || !*plan_p)
        return;
    ferry_plan_t *plan = *plan_p;
    for (size_t i = 0; i < plan->n_groups; i++) {
        ferry_plan_group_t *g = &plan->groups[i];
        free(g->name);
        free(g->req.arch);
        s_free_list(g->req.isa, g->req.n_isa);
        s_free_list(g->req.tags, g->req.n_tags);
        s_free_list(g->req.runtimes, g->req.n_runtimes);
    }
    free(plan->groups);
    free(plan->path);
    free(plan->name);
    free(plan);
    *plan_p = NULL;
}
