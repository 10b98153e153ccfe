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

static const char s_help[] =
    "usage: ferry score MODEL DATA.csv [-o OUT.csv] [-j THREADS]\n"
    "       ferry score MODEL.onnx --input [NAME=]FILE.npy ... [-o OUT.csv]\n"
    "\n"
    "Score every row of DATA.csv with MODEL and write one output row per input row.\n"
    "\n"
    "MODEL is a PMML document (3.0-4.4) or an ONNX model converted by `ferry convert`: its\n"
    "signature manifest maps CSV columns to input tensors and output tensors to the same\n"
    "columns, with the same names, as the source PMML gives (ferry's engine runs it).\n"
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
    "      --runtime R     engine (default: ferry's engine) or ort (needs the ONNX Runtime runner)\n"
    "\n"
    "exit: 0 all rows scored, 1 some rows could not be scored, 2 usage, 3 bad model or\n"
    "malformed CSV, 4 cannot write the output\n";

typedef struct {
    const ferry_pmml_t *pmml;
    const char *name;
    const char *data;
    size_t len, first_line;
    size_t ncols_header;
    const int32_t *col_slot; /* header column -> data slot or -1 */
    ferry_buf_t out;
    size_t rows, failed, diagnostics;
    ferry_buf_t diag;
    ferry_err_t err;
    int rc; /* 0, or -1 malformed CSV */
} s_part_t;

static void s_put_num(ferry_buf_t *b, double d)
{
    char tmp[40];
    int n;
    if (d == floor(d) && fabs(d) < 1e15) {
        n = snprintf(tmp, sizeof tmp, "%.1f", d);
    } else {
        n = snprintf(tmp, sizeof tmp, "%.15g", d);
        if (strtod(tmp, NULL) != d) {
            n = snprintf(tmp, sizeof tmp, "%.16g", d);
            if (strtod(tmp, NULL) != d)
                n = snprintf(tmp, sizeof tmp, "%.17g", d);
        }
    }
    ferry_buf_append(b, tmp, (size_t)n);
}

static void s_put_str(ferry_buf_t *b, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        ferry_buf_puts(b, s);
        return;
    }
    ferry_buf_putc(b, '"');
    for (; *s; s++) {
        if (*s == '"')
            ferry_buf_putc(b, '"');
        ferry_buf_putc(b, *s);
    }
    ferry_buf_putc(b, '"');
}

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

static void *s_score_part(void *arg)
{
    s_part_t *part = arg;
    const ferry_pmml_t *p = part->pmml;
    ferry_csv_t *csv = ferry_csv_open_mem(part->data, part->len, part->name, part->first_line);
    ferry_pmml_ctx_t *ctx = ferry_pmml_ctx_new(p);
    ferry_pmml_value_t *outv = ferry_calloc((size_t)p->n_columns + 1, sizeof *outv);
    ferry_err_t err;
    int r;
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
                s_put_num(&part->out, outv[c].num);
            else if (outv[c].kind == FERRY_PMML_STR)
                s_put_str(&part->out, outv[c].str);
        }
        ferry_buf_putc(&part->out, '\n');
        if (is_bad)
            part->failed++;
    }
    if (r < 0)
        part->rc = -1;
    free(outv);
    ferry_pmml_ctx_destroy(&ctx);
    ferry_csv_destroy(&csv);
    return NULL;
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
                return ferry_cli_usage_error("score", "--runtime needs engine or ort");
            if (!strcmp(argv[i], "ort")) {
                fprintf(stderr, "ferry score: --runtime ort: the ONNX Runtime runner (runners/, aux area) is not "
                                "part of this build yet; use ferry's engine (--runtime engine)\n");
                return FERRY_EXIT_INPUT;
            }
            if (strcmp(argv[i], "engine"))
                return ferry_cli_usage_error("score", "--runtime must be engine or ort, not '%s'", argv[i]);
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
        return ferry_score_onnx_ex(model_path, NULL, npy, n_npy, out_path);
    }
    if (n_npy)
        return ferry_cli_usage_error("score", "--input replaces DATA.csv: give one or the other");
    if (!model_path || !data_path)
        return ferry_cli_usage_error("score", "needs MODEL and DATA.csv");
    if (access(model_path, R_OK) < 0) {
        fprintf(stderr, "ferry score: %s: %s\n", model_path, strerror(errno));
        return FERRY_EXIT_INPUT;
    }
    if (s_is_onnx(model_path)) {
        return ferry_score_onnx(model_path, data_path, out_path);
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
        /* the next part starts after the newlines of this one */
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
        s_put_str(&header, pmml->columns[c].name);
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
        fputs(s_help, stdout);
        return FERRY_EXIT_OK;
    }
    return s_score(argc, argv);
}

FERRY_COMMAND(score, "score", 40, "score a CSV with a PMML or converted ONNX model (ferry score MODEL DATA.csv)", s_run)
