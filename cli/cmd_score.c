/* cmd_score.c -- `ferry score MODEL DATA.csv [-o OUT.csv]`: score a CSV with a model */
#include "cli/command.h"
#include "cli/score_onnx.h"
#include "model/dataset.h"
#include "model/pmml.h"
#include "util/buf.h"
#include "util/common.h"
#include "util/file.h"
#include "util/mem.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_PARALLEL_MIN_BYTES (4u << 20) /* below this, one thread is faster than two */
#define S_MAX_THREADS 2
#define S_MAX_DIAGNOSTICS 20            /* per-row messages printed before "and N more" */
#define S_FLUSH_BYTES (1u << 20)
#define S_MAX_NPY_INPUTS 4096           /* --input files of one run */
#define S_CHUNK_ROWS 4096               /* rows per ferry_pmml_eval_batch call */

static const char s_help[] =
    "usage: ferry score MODEL DATA.csv [-o OUT.csv] [-j THREADS]\n"
    "       ferry score MODEL.onnx --input [NAME=]FILE.npy ... [-o OUT.csv]\n"
    "       ferry score MODEL.onnx DATA.csv --runtime ort [--provider P] [-o OUT.csv]\n"
    "\n"
    "Score every row of DATA.csv with MODEL and write one output row per input row.\n"
    "\n"
    "MODEL is a PMML document (3.0-4.4) or an ONNX model converted by `ferry convert`: its\n"
    "signature manifest maps CSV columns to input tensors and output tensors to the same\n"
    "columns, with the same names, as the source PMML gives (ferry's engine runs it, or\n"
    "ONNX Runtime with --runtime ort).\n"
    "DATA.csv has a header of input field names; cells that are empty, NA or N/A are\n"
    "missing. Output columns: the target field, then the model's Output fields (without\n"
    "an Output element, probability(<class>) per class), doubles at full precision.\n"
    "A row that cannot be scored gets empty cells and a diagnostic on stderr.\n"
    "\n"
    "options:\n"
    "  -o, --output FILE   write to FILE (atomically) instead of standard output\n"
    "  -j, --threads N     worker threads for large files (default 2)\n"
    "  -i, --input [NAME=]FILE.npy  feed an input tensor of a converted ONNX model directly\n"
    "                      (float64 or string, shape (N, 1), names from its manifest)\n"
    "      --runtime R     engine (default): ferry's engine; ort: ONNX Runtime in a runner process\n"
    "                      (runners/README.md): ort-node when Node.js and onnxruntime-node are\n"
    "                      installed, else ort-python; ort-node, ort-python: that runner. Runners\n"
    "                      are found in $FERRY_RUNNERS_DIR, else runners/ beside the binary\n"
    "      --provider P    ONNX Runtime execution provider (cpu, cuda), passed to the runner; one\n"
    "                      the runner lacks fails (exit 4), never a silent CPU run\n"
    "      --runner-timeout S  the runner's deadline in seconds (default %d)\n"
    "  --row-by-row        evaluate each row on its own instead of in columnar batches\n"
    "                      (same results; for comparisons and debugging)\n"
    "\n"
    "exit: 0 all rows scored, 1 some rows could not be scored, 2 usage, 3 bad model or\n"
    "malformed CSV (or the runner refused the model), 4 cannot write the output, or the\n"
    "runner is missing, failed, passed its deadline or wrote malformed outputs\n";

typedef struct {
    const ferry_pmml_t *pmml;
    const char *name;
    const char *data;
    size_t len, first_line;
    size_t ncols_header;
    const int32_t *col_slot; /* header column -> data slot or -1 */
    bool is_batch;           /* numeric inputs: columnar chunks through ferry_pmml_eval_batch */
    ferry_buf_t out;
    size_t rows, failed, diagnostics;
    ferry_buf_t diag;
    ferry_err_t err;
    int rc; /* 0, or -1 malformed CSV */
} s_part_t;

static void s_diag(s_part_t *part, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_diag(s_part_t *part, const char *fmt, ...)
{
    part->diagnostics++;
    if (part->diagnostics > S_MAX_DIAGNOSTICS)
        return;
    va_list ap;
    va_start(ap, fmt);
    char msg[FERRY_ERR_MAX + 256];
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ferry_buf_printf(&part->diag, "ferry score: %s\n", msg);
}

static bool s_parse_number(const char *s, size_t len, double *out)
{
    return ferry_parse_double(s, len, out);
}

static void s_put_value(ferry_buf_t *b, const ferry_pmml_t *p, double d, int32_t sym)
{
    if (sym >= 0)
        ferry_csv_put_str(b, p->syms[sym]);
    else if (!isnan(d))
        ferry_csv_put_double(b, d);
}

/* Columnar chunks: parse numbers into columns, score with ferry_pmml_eval_batch. */
static void s_score_batch(s_part_t *part, ferry_csv_t *csv, ferry_pmml_ctx_t *ctx)
{
    const ferry_pmml_t *p = part->pmml;
    int32_t nc = p->n_columns;
    size_t ncols = part->ncols_header;
    int32_t n_in = 0;
    int32_t *slots = ferry_calloc(ncols + 1, sizeof(int32_t));
    size_t *src = ferry_calloc(ncols + 1, sizeof(size_t));
    for (size_t i = 0; i < ncols; i++)
        if (part->col_slot[i] >= 0) {
            slots[n_in] = part->col_slot[i];
            src[n_in++] = i;
        }
    double **cols = ferry_calloc((size_t)n_in + 1, sizeof(double *));
    uint8_t **miss = ferry_calloc((size_t)n_in + 1, sizeof(uint8_t *));
    for (int32_t j = 0; j < n_in; j++) {
        cols[j] = ferry_malloc(S_CHUNK_ROWS * sizeof(double));
        miss[j] = ferry_malloc(S_CHUNK_ROWS);
    }
    double *outv = ferry_malloc((size_t)S_CHUNK_ROWS * (size_t)(nc ? nc : 1) * sizeof(double));
    int32_t *outs = ferry_malloc((size_t)S_CHUNK_ROWS * (size_t)(nc ? nc : 1) * sizeof(int32_t));
    uint8_t *ok = ferry_malloc(S_CHUNK_ROWS), *bad = ferry_malloc(S_CHUNK_ROWS);
    size_t *lines = ferry_malloc(S_CHUNK_ROWS * sizeof(size_t));
    ferry_pmml_value_t *rowv = ferry_calloc((size_t)nc + 1, sizeof *rowv);
    bool is_done = false;
    while (!is_done) {
        size_t n = 0;
        int r = 0;
        while (n < S_CHUNK_ROWS && (r = ferry_csv_next(csv, &part->err)) == 1) {
            size_t line = ferry_csv_line(csv);
            part->rows++;
            size_t cells = ferry_csv_ncells(csv);
            if (cells != ncols) {
                ferry_err(&part->err, "%s:%zu: column %zu: expected %zu columns, found %zu", part->name, line,
                          cells < ncols ? cells + 1 : ncols + 1, ncols, cells);
                r = -1;
                break;
            }
            lines[n] = line;
            bad[n] = 0;
            for (int32_t j = 0; j < n_in; j++) {
                size_t len;
                const char *cell = ferry_csv_cell(csv, src[j], &len);
                miss[j][n] = 0;
                if (ferry_csv_is_missing(cell, len)) {
                    miss[j][n] = 1;
                    cols[j][n] = 0;
                } else if (!s_parse_number(cell, len, &cols[j][n])) {
                    s_diag(part, "%s:%zu: column %zu (%s): expected a number, got \"%.40s\"", part->name, line,
                           src[j] + 1, p->fields[slots[j]].name, cell);
                    bad[n] = 1;
                    miss[j][n] = 1;
                    cols[j][n] = 0;
                }
            }
            n++;
        }
        if (r < 0) {
            part->rc = -1;
            is_done = true;
        } else if (r == 0) {
            is_done = true;
        }
        if (!n)
            break;
        ferry_pmml_eval_batch(ctx, n_in, slots, (const double *const *)cols, (const uint8_t *const *)miss, n, outv,
                              outs, ok);
        for (size_t i = 0; i < n; i++) {
            if (!bad[i] && !ok[i]) {
                /* the row evaluator says why */
                ferry_err_t err = {{0}};
                ferry_pmml_ctx_clear(ctx);
                for (int32_t j = 0; j < n_in; j++) {
                    if (miss[j][i])
                        ferry_pmml_ctx_set_missing(ctx, slots[j]);
                    else
                        ferry_pmml_ctx_set_num(ctx, slots[j], cols[j][i]);
                }
                ferry_pmml_eval_row(ctx, rowv, &err);
                s_diag(part, "%s:%zu: row not scored: %s", part->name, lines[i], err.msg[0] ? err.msg : "evaluation failed");
                bad[i] = 1;
            }
            const double *ov = outv + i * (size_t)nc;
            const int32_t *os = outs + i * (size_t)nc;
            for (int32_t c = 0; c < nc; c++) {
                if (c)
                    ferry_buf_putc(&part->out, ',');
                if (!bad[i])
                    s_put_value(&part->out, p, ov[c], os[c]);
            }
            ferry_buf_putc(&part->out, '\n');
            part->failed += bad[i];
        }
    }
    for (int32_t j = 0; j < n_in; j++) {
        free(cols[j]);
        free(miss[j]);
    }
    free(cols);
    free(miss);
    free(slots);
    free(src);
    free(outv);
    free(outs);
    free(ok);
    free(bad);
    free(lines);
    free(rowv);
}

static void *s_score_part(void *arg)
{
    s_part_t *part = arg;
    const ferry_pmml_t *p = part->pmml;
    ferry_csv_t *csv = ferry_csv_open_mem(part->data, part->len, part->name, part->first_line);
    ferry_pmml_ctx_t *ctx = ferry_pmml_ctx_new(p);
    ferry_pmml_value_t *outv = ferry_calloc((size_t)p->n_columns + 1, sizeof *outv);
    ferry_err_t err;
    int r = 0;
    if (part->is_batch) {
        s_score_batch(part, csv, ctx);
        goto done;
    }
    while ((r = ferry_csv_next(csv, &part->err)) == 1) {
        size_t line = ferry_csv_line(csv);
        part->rows++;
        size_t nc = ferry_csv_ncells(csv);
        if (nc != part->ncols_header) {
            ferry_err(&part->err, "%s:%zu: column %zu: expected %zu columns, found %zu", part->name, line,
                      nc < part->ncols_header ? nc + 1 : part->ncols_header + 1, part->ncols_header, nc);
            part->rc = -1;
            break;
        }
        ferry_pmml_ctx_clear(ctx);
        bool is_bad = false;
        for (size_t i = 0; i < nc; i++) {
            int32_t slot = part->col_slot[i];
            if (slot < 0)
                continue;
            size_t len;
            const char *cell = ferry_csv_cell(csv, i, &len);
            if (ferry_csv_is_missing(cell, len)) {
                ferry_pmml_ctx_set_missing(ctx, slot);
            } else if (ferry_pmml_ctx_set_str(ctx, slot, cell, len) < 0) {
                s_diag(part, "%s:%zu: column %zu (%s): expected a number, got \"%.40s\"", part->name, line, i + 1,
                       p->fields[slot].name, cell);
                is_bad = true;
            }
        }
        if (!is_bad && ferry_pmml_eval_row(ctx, outv, &err) < 0) {
            s_diag(part, "%s:%zu: row not scored: %s", part->name, line, err.msg);
            is_bad = true;
        }
        for (int32_t c = 0; c < p->n_columns; c++) {
            if (c)
                ferry_buf_putc(&part->out, ',');
            if (is_bad)
                continue;
            if (outv[c].kind == FERRY_PMML_NUM)
                ferry_csv_put_double(&part->out, outv[c].num);
            else if (outv[c].kind == FERRY_PMML_STR)
                ferry_csv_put_str(&part->out, outv[c].str);
        }
        ferry_buf_putc(&part->out, '\n');
        if (is_bad)
            part->failed++;
    }
    if (r < 0)
        part->rc = -1;
done:
    free(outv);
    ferry_pmml_ctx_destroy(&ctx);
    ferry_csv_destroy(&csv);
    return NULL;
}

/* AssociationModel: rows are (group, item) pairs; the items of a group form one basket,
 * scored once, in order of the group's first appearance. */
typedef struct {
    char *key;
    ferry_buf_t items; /* NUL-separated */
} s_basket_t;

static uint32_t s_hash_str(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static int s_score_baskets(const ferry_pmml_t *p, ferry_csv_t *csv, const char *name, size_t ncols,
                           ferry_buf_t *out, size_t *rows_out, size_t *failed_out, ferry_err_t *err)
{
    const ferry_pmml_association_t *a = &p->models[0].u.association;
    size_t gcol = ncols, icol = ncols;
    for (size_t i = 0; i < ncols; i++) {
        const char *h = ferry_csv_cell(csv, i, NULL);
        if (a->group_field >= 0 && !strcmp(h, p->fields[a->group_field].name))
            gcol = i;
        if (!strcmp(h, p->fields[a->item_field].name))
            icol = i;
    }
    if (icol == ncols || (a->group_field >= 0 && gcol == ncols))
        return ferry_err(err, "%s:1: the header needs the group and item columns of the AssociationModel", name);
    s_basket_t *baskets = NULL;
    size_t n = 0, cap = 0, hcap = 1024;
    int64_t *hash = ferry_malloc(hcap * sizeof(int64_t));
    for (size_t i = 0; i < hcap; i++)
        hash[i] = -1;
    int r, rc = 0;
    while ((r = ferry_csv_next(csv, err)) == 1) {
        if (ferry_csv_ncells(csv) != ncols) {
            rc = ferry_err(err, "%s:%zu: expected %zu columns, found %zu", name, ferry_csv_line(csv), ncols,
                           ferry_csv_ncells(csv));
            break;
        }
        const char *key = gcol < ncols ? ferry_csv_cell(csv, gcol, NULL) : "";
        size_t ilen;
        const char *item = ferry_csv_cell(csv, icol, &ilen);
        if ((n + 1) * 2 > hcap) {
            size_t nc = hcap * 2;
            int64_t *nh = ferry_malloc(nc * sizeof(int64_t));
            for (size_t i = 0; i < nc; i++)
                nh[i] = -1;
            for (size_t k = 0; k < n; k++) {
                size_t j = s_hash_str(baskets[k].key) & (nc - 1);
                while (nh[j] >= 0)
                    j = (j + 1) & (nc - 1);
                nh[j] = (int64_t)k;
            }
            free(hash);
            hash = nh;
            hcap = nc;
        }
        size_t j = s_hash_str(key) & (hcap - 1);
        while (hash[j] >= 0 && strcmp(baskets[hash[j]].key, key))
            j = (j + 1) & (hcap - 1);
        if (hash[j] < 0) {
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                baskets = ferry_reallocarray(baskets, cap, sizeof *baskets);
            }
            baskets[n].key = ferry_strdup(key);
            memset(&baskets[n].items, 0, sizeof baskets[n].items);
            hash[j] = (int64_t)n++;
        }
        if (!ferry_csv_is_missing(item, ilen)) {
            ferry_buf_append(&baskets[hash[j]].items, item, ilen);
            ferry_buf_putc(&baskets[hash[j]].items, '\0');
        }
    }
    if (r < 0)
        rc = -1;
    ferry_pmml_ctx_t *ctx = ferry_pmml_ctx_new(p);
    ferry_pmml_value_t *outv = ferry_calloc((size_t)p->n_columns + 1, sizeof *outv);
    for (size_t k = 0; k < n && rc == 0; k++) {
        ferry_pmml_ctx_clear(ctx);
        const ferry_buf_t *it = &baskets[k].items;
        for (size_t off = 0; off < it->len;) {
            size_t l = strlen(it->data + off);
            ferry_pmml_ctx_add_item(ctx, it->data + off, l);
            off += l + 1;
        }
        ferry_err_t e;
        bool is_bad = ferry_pmml_eval_row(ctx, outv, &e) < 0;
        if (is_bad) {
            fprintf(stderr, "ferry score: %s: group \"%.40s\" not scored: %s\n", name, baskets[k].key, e.msg);
            (*failed_out)++;
        }
        for (int32_t c = 0; c < p->n_columns; c++) {
            if (c)
                ferry_buf_putc(out, ',');
            if (is_bad)
                continue;
            if (outv[c].kind == FERRY_PMML_NUM)
                ferry_csv_put_double(out, outv[c].num);
            else if (outv[c].kind == FERRY_PMML_STR)
                ferry_csv_put_str(out, outv[c].str);
        }
        ferry_buf_putc(out, '\n');
    }
    *rows_out = n;
    free(outv);
    ferry_pmml_ctx_destroy(&ctx);
    for (size_t k = 0; k < n; k++) {
        free(baskets[k].key);
        ferry_buf_free(&baskets[k].items);
    }
    free(baskets);
    free(hash);
    return rc;
}

static bool s_is_onnx(const char *path)
{
    size_t l = strlen(path);
    if (l >= 5 && !strcmp(path + l - 5, ".onnx"))
        return true;
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    unsigned char head[64];
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    size_t i = 0;
    if (n >= 3 && head[0] == 0xEF && head[1] == 0xBB && head[2] == 0xBF)
        i = 3;
    while (i < n && (head[i] == ' ' || head[i] == '\n' || head[i] == '\r' || head[i] == '\t'))
        i++;
    /* ONNX ModelProto starts with field 1 (ir_version, varint): tag byte 0x08 */
    return n > 0 && i < n && head[i] != '<' && head[0] == 0x08;
}

static int s_score(int argc, char **argv)
{
    const char *model_path = NULL, *data_path = NULL, *out_path = NULL;
    const char *npy[S_MAX_NPY_INPUTS];
    size_t n_npy = 0;
    int threads = S_MAX_THREADS;
    bool is_row_by_row = false;
    bool is_ort = false;
    ferry_ort_opts_t ort = {.runner = FERRY_ORT_AUTO, .provider = NULL, .timeout_s = FERRY_ORT_TIMEOUT_S_DEFAULT};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
            if (++i >= argc)
                return ferry_cli_usage_error("score", "%s needs a file name", a);
            out_path = argv[i];
        } else if (!strcmp(a, "-j") || !strcmp(a, "--threads")) {
            if (++i >= argc)
                return ferry_cli_usage_error("score", "%s needs a number", a);
            char *end;
            long v = strtol(argv[i], &end, 10);
            if (*end || v < 1 || v > S_MAX_THREADS)
                return ferry_cli_usage_error("score", "%s must be 1..%d", a, S_MAX_THREADS);
            threads = (int)v;
        } else if (!strcmp(a, "-i") || !strcmp(a, "--input")) {
            if (++i >= argc || n_npy == S_MAX_NPY_INPUTS)
                return ferry_cli_usage_error("score", "%s needs [NAME=]FILE.npy (at most %d)", a, S_MAX_NPY_INPUTS);
            npy[n_npy++] = argv[i];
        } else if (!strcmp(a, "--runtime")) {
            if (++i >= argc)
                return ferry_cli_usage_error("score", "--runtime needs engine, ort, ort-node or ort-python");
            if (!strcmp(argv[i], "engine")) {
                is_ort = false;
            } else if (ferry_ort_runner_parse(argv[i], &ort.runner) == 0) {
                is_ort = true;
            } else {
                return ferry_cli_usage_error("score", "--runtime must be engine, ort, ort-node or ort-python, not '%s'",
                                             argv[i]);
            }
        } else if (!strcmp(a, "--provider")) {
            if (++i >= argc || !argv[i][0])
                return ferry_cli_usage_error("score", "--provider needs a name (cpu, cuda)");
            ort.provider = argv[i];
        } else if (!strcmp(a, "--runner-timeout")) {
            if (++i >= argc || ferry_cli_parse_int(argv[i], 1, FERRY_ORT_TIMEOUT_S_MAX, &ort.timeout_s) < 0)
                return ferry_cli_usage_error("score", "--runner-timeout needs seconds, 1..%d", FERRY_ORT_TIMEOUT_S_MAX);
        } else if (!strcmp(a, "--row-by-row")) {
            is_row_by_row = true;
        } else if (a[0] == '-' && a[1]) {
            return ferry_cli_usage_error("score", "unknown option %s", a);
        } else if (!model_path) {
            model_path = a;
        } else if (!data_path) {
            data_path = a;
        } else {
            return ferry_cli_usage_error("score", "unexpected argument %s", a);
        }
    }
    if (n_npy && model_path && !data_path) {
        if (!s_is_onnx(model_path))
            return ferry_cli_usage_error("score", "--input feeds tensors to ONNX models only");
        return ferry_score_onnx_rt(model_path, NULL, npy, n_npy, out_path, is_ort ? &ort : NULL);
    }
    if (n_npy)
        return ferry_cli_usage_error("score", "--input replaces DATA.csv: give one or the other");
    if (!model_path || !data_path)
        return ferry_cli_usage_error("score", "needs MODEL and DATA.csv");
    if (!is_ort && (ort.provider || ort.timeout_s != FERRY_ORT_TIMEOUT_S_DEFAULT))
        return ferry_cli_usage_error("score", "--provider and --runner-timeout apply to --runtime ort");
    if (access(model_path, R_OK) < 0) {
        fprintf(stderr, "ferry score: %s: %s\n", model_path, strerror(errno));
        return FERRY_EXIT_INPUT;
    }
    if (s_is_onnx(model_path))
        return ferry_score_onnx_rt(model_path, data_path, NULL, 0, out_path, is_ort ? &ort : NULL);
    if (is_ort) {
        fprintf(stderr, "ferry score: %s: --runtime %s runs ONNX models; a PMML document is scored by ferry's "
                        "evaluator (convert it first: ferry convert)\n", model_path, "ort");
        return FERRY_EXIT_USAGE;
    }
    ferry_err_t err = {{0}};
    ferry_pmml_t *pmml = ferry_pmml_load(model_path, &err);
    if (!pmml) {
        fprintf(stderr, "ferry score: %s\n", err.msg);
        return FERRY_EXIT_INPUT;
    }
    int exit_code = FERRY_EXIT_INPUT;
    ferry_csv_t *csv = ferry_csv_open(data_path, &err);
    int32_t *col_slot = NULL;
    s_part_t parts[S_MAX_THREADS];
    int nparts = 0;
    ferry_buf_t header = FERRY_BUF_INIT;
    if (!csv) {
        fprintf(stderr, "ferry score: %s\n", err.msg);
        goto out;
    }
    int r = ferry_csv_next(csv, &err);
    if (r <= 0) {
        fprintf(stderr, "ferry score: %s\n", r < 0 ? err.msg : "empty CSV: a header is required");
        goto out;
    }
    size_t ncols = ferry_csv_ncells(csv);
    col_slot = ferry_calloc(ncols, sizeof(int32_t));
    for (size_t i = 0; i < ncols; i++) {
        const char *name = ferry_csv_cell(csv, i, NULL);
        col_slot[i] = ferry_pmml_data_field(pmml, name);
        for (size_t k = 0; k < i; k++)
            if (col_slot[i] >= 0 && col_slot[k] == col_slot[i]) {
                fprintf(stderr, "ferry score: %s:%zu: column %zu: duplicate column \"%s\"\n", data_path,
                        ferry_csv_line(csv), i + 1, name);
                goto out;
            }
    }
    if (pmml->models[0].type == FERRY_PMML_ASSOCIATION) {
        ferry_buf_t body = FERRY_BUF_INIT;
        size_t groups = 0, failed = 0;
        if (s_score_baskets(pmml, csv, data_path, ncols, &body, &groups, &failed, &err) < 0) {
            fprintf(stderr, "ferry score: %s\n", err.msg);
            ferry_buf_free(&body);
            goto out;
        }
        for (int32_t c = 0; c < pmml->n_columns; c++) {
            if (c)
                ferry_buf_putc(&header, ',');
            ferry_csv_put_str(&header, pmml->columns[c].name);
        }
        ferry_buf_putc(&header, '\n');
        ferry_buf_append(&header, body.data ? body.data : "", body.len);
        ferry_buf_free(&body);
        int wrc = 0;
        if (out_path)
            wrc = ferry_file_write_atomic(out_path, header.data, header.len);
        else if (fwrite(header.data, 1, header.len, stdout) != header.len || fflush(stdout) != 0)
            wrc = -EIO;
        if (wrc < 0) {
            fprintf(stderr, "ferry score: cannot write the output: %s\n", strerror(-wrc));
            exit_code = FERRY_EXIT_RUNTIME;
            goto out;
        }
        exit_code = failed ? FERRY_EXIT_FAIL : FERRY_EXIT_OK;
        goto out;
    }
    /* fields the model reads that the CSV does not have are missing in every row: say so */
    for (int32_t f = 0; f < pmml->n_data_fields; f++) {
        bool is_present = false, is_target = false;
        for (size_t i = 0; i < ncols; i++)
            is_present |= col_slot[i] == f;
        for (int32_t m = 0; m < pmml->n_models; m++)
            is_target |= pmml->models[m].target_data == f;
        if (!is_present && !is_target)
            fprintf(stderr, "ferry score: %s: no column \"%s\": the field is missing in every row\n", data_path,
                    pmml->fields[f].name);
    }
    /* columnar batches when every input the CSV gives is a plain number */
    bool is_batch = !is_row_by_row && ferry_pmml_is_batchable(pmml);
    for (size_t i = 0; i < ncols && is_batch; i++) {
        int32_t slot = col_slot[i];
        if (slot >= 0)
            is_batch = pmml->fields[slot].datatype != FERRY_PMML_DT_STRING &&
                       pmml->fields[slot].datatype != FERRY_PMML_DT_BOOLEAN;
    }
    /* split the records in two at a line boundary when the file is large and unquoted */
    size_t len;
    const char *data = ferry_csv_data(csv, &len);
    size_t start = ferry_csv_offset(csv);
    size_t first_line = ferry_csv_line(csv) + 1;
    size_t bounds[S_MAX_THREADS + 1] = {start, len, len};
    nparts = 1;
    if (threads > 1 && len - start >= S_PARALLEL_MIN_BYTES && !memchr(data + start, '"', len - start)) {
        const char *mid = memchr(data + start + (len - start) / 2, '\n', len - start - (len - start) / 2);
        if (mid) {
            bounds[1] = (size_t)(mid - data) + 1;
            bounds[2] = len;
            nparts = 2;
        }
    }
    pthread_t tids[S_MAX_THREADS];
    size_t line = first_line;
    for (int i = 0; i < nparts; i++) {
        s_part_t *pt = &parts[i];
        memset(pt, 0, sizeof *pt);
        pt->pmml = pmml;
        pt->name = data_path;
        pt->data = data + bounds[i];
        pt->len = bounds[i + 1] - bounds[i];
        pt->first_line = line;
        pt->ncols_header = ncols;
        pt->col_slot = col_slot;
        pt->is_batch = is_batch;
        /* the next part starts after the newlines of this one (O(part): only when split) */
        if (i + 1 < nparts)
            for (const char *q = pt->data; (q = memchr(q, '\n', (size_t)(pt->data + pt->len - q))); q++)
                line++;
    }
    for (int i = 1; i < nparts; i++)
        if (pthread_create(&tids[i], NULL, s_score_part, &parts[i]) != 0) {
            fprintf(stderr, "ferry score: cannot start a thread\n");
            nparts = i; /* parts already started are joined below */
            exit_code = FERRY_EXIT_RUNTIME;
            break;
        }
    s_score_part(&parts[0]);
    for (int i = 1; i < nparts; i++)
        pthread_join(tids[i], NULL);
    if (exit_code == FERRY_EXIT_RUNTIME)
        goto out;
    size_t failed = 0, rows = 0, diags = 0;
    for (int i = 0; i < nparts; i++) {
        if (parts[i].diag.len)
            fputs(parts[i].diag.data, stderr);
        failed += parts[i].failed;
        rows += parts[i].rows;
        diags += parts[i].diagnostics > S_MAX_DIAGNOSTICS ? parts[i].diagnostics - S_MAX_DIAGNOSTICS : 0;
        if (parts[i].rc < 0) {
            fprintf(stderr, "ferry score: %s\n", parts[i].err.msg);
            goto out;
        }
    }
    if (diags)
        fprintf(stderr, "ferry score: ... and %zu more diagnostics\n", diags);
    for (int32_t c = 0; c < pmml->n_columns; c++) {
        if (c)
            ferry_buf_putc(&header, ',');
        ferry_csv_put_str(&header, pmml->columns[c].name);
    }
    ferry_buf_putc(&header, '\n');
    if (out_path) {
        ferry_buf_t all = FERRY_BUF_INIT;
        ferry_buf_append(&all, header.data, header.len);
        for (int i = 0; i < nparts; i++)
            ferry_buf_append(&all, parts[i].out.data ? parts[i].out.data : "", parts[i].out.len);
        int wrc = ferry_file_write_atomic(out_path, all.data, all.len);
        ferry_buf_free(&all);
        if (wrc < 0) {
            fprintf(stderr, "ferry score: %s: cannot write: %s\n", out_path, strerror(-wrc));
            exit_code = FERRY_EXIT_RUNTIME;
            goto out;
        }
    } else {
        bool ok = fwrite(header.data, 1, header.len, stdout) == header.len;
        for (int i = 0; i < nparts && ok; i++)
            ok = fwrite(parts[i].out.data ? parts[i].out.data : "", 1, parts[i].out.len, stdout) == parts[i].out.len;
        if (fflush(stdout) != 0 || !ok) {
            fprintf(stderr, "ferry score: cannot write standard output: %s\n", strerror(errno));
            exit_code = FERRY_EXIT_RUNTIME;
            goto out;
        }
    }
    if (failed)
        fprintf(stderr, "ferry score: %zu of %zu rows could not be scored\n", failed, rows);
    exit_code = failed ? FERRY_EXIT_FAIL : FERRY_EXIT_OK;
out:
    for (int i = 0; i < nparts; i++) {
        ferry_buf_free(&parts[i].out);
        ferry_buf_free(&parts[i].diag);
    }
    ferry_buf_free(&header);
    free(col_slot);
    ferry_csv_destroy(&csv);
    ferry_pmml_destroy(&pmml);
    return exit_code;
}

static int s_run(int argc, char **argv)
{
    if (ferry_cli_wants_help(argc, argv)) {
        printf(s_help, FERRY_ORT_TIMEOUT_S_DEFAULT);
        return FERRY_EXIT_OK;
    }
    return s_score(argc, argv);
}

FERRY_COMMAND(score, "score", 40, "score a CSV with a PMML or converted ONNX model (ferry score MODEL DATA.csv)", s_run)
