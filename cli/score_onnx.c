/* score_onnx.c -- `ferry score MODEL.onnx ...`: converted models scored with ferry's engine via their manifest
 *
 * The signature manifest (metadata_props "ferry.manifest", else MODEL.manifest.json beside
 * the model) says which CSV column feeds which input tensor and which output tensor column
 * becomes which score column, so the output has the same columns, with the same names,
 * as `ferry score` on the source PMML. Rows go through the engine in batches. */
#include "cli/score_onnx.h"
#include "model/convert.h"
#include "model/dataset.h"
#include "model/engine.h"
#include "model/manifest.h"
#include "model/npy.h"
#include "model/onnx.h"
#include "util/buf.h"
#include "util/file.h"
#include "util/mem.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_BATCH 1024           /* rows per engine run */
#define S_MAX_DIAGNOSTICS 20

/* The manifest of a loaded model: metadata first, then the sidecar file. */
static ferry_manifest_t *s_manifest(ferry_onnx_t *model, const char *path, ferry_err_t *err)
{
    const Onnx__ModelProto *mp = ferry_onnx_proto(model);
    for (size_t i = 0; i < mp->n_metadata_props; i++) {
        const Onnx__StringStringEntryProto *e = mp->metadata_props[i];
        if (e->key && e->value && !strcmp(e->key, FERRY_CONVERT_MANIFEST_KEY))
            return ferry_manifest_parse(e->value, strlen(e->value), path, err);
    }
    char *mpath = ferry_convert_manifest_path(path);
    char *data = NULL;
    size_t len = 0;
    int rc = ferry_file_read(mpath, FERRY_MANIFEST_MAX_BYTES, &data, &len);
    ferry_manifest_t *m = NULL;
    if (rc < 0)
        ferry_err(err, "%s: no signature manifest (metadata_props \"%s\" or %s: %s); ferry score needs one to map "
                       "CSV columns to tensors",
                  path, FERRY_CONVERT_MANIFEST_KEY, mpath, strerror(-rc));
    else
        m = ferry_manifest_parse(data, len, mpath, err);
    free(data);
    free(mpath);
    return m;
}

typedef struct {
    ferry_engine_t *engine;
    const ferry_manifest_t *man;
    int *in_index;  /* manifest input -> engine input */
    int *col_out;   /* manifest column -> engine output */
    int valid_out;  /* engine output row_valid, or -1 */
    ferry_buf_t *out;
    size_t rows, failed, diagnostics;
    uint8_t *row_bad; /* per batch row: CSV problem */
    size_t *row_line;
    const char *data_name;
} s_run_t;

static void s_diag(s_run_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_diag(s_run_t *r, const char *fmt, ...)
{
    if (++r->diagnostics > S_MAX_DIAGNOSTICS)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("ferry score: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* Run the batch in the engine's inputs (n rows) and append the score rows. */
static int s_flush(s_run_t *r, size_t n)
{
    if (!n)
        return 0;
    ferry_err_t err;
    if (ferry_engine_run(r->engine, &err) < 0) {
        fprintf(stderr, "ferry score: %s\n", err.msg);
        return -1;
    }
    const ferry_manifest_t *m = r->man;
    for (size_t c = 0; c < m->n_columns; c++) {
        const ferry_tensor_t *t = ferry_engine_output(r->engine, r->col_out[c]);
        int64_t width = t->ndim >= 2 ? t->dims[1] : 1;
        if (t->ndim < 1 || t->dims[0] != (int64_t)n || m->columns[c].index >= width) {
            fprintf(stderr, "ferry score: output \"%s\" has no column %lld for %zu rows\n", m->columns[c].tensor,
                    (long long)m->columns[c].index, n);
            return -1;
        }
    }
    const ferry_tensor_t *valid = r->valid_out >= 0 ? ferry_engine_output(r->engine, r->valid_out) : NULL;
    for (size_t i = 0; i < n; i++) {
        bool is_bad = r->row_bad[i];
        if (!is_bad && valid && valid->count == (int64_t)n && !ferry_tensor_get_i64(valid, (int64_t)i)) {
            s_diag(r, "%s:%zu: row not scored: an input value is invalid for the model", r->data_name, r->row_line[i]);
            is_bad = true;
        }
        for (size_t c = 0; c < m->n_columns; c++) {
            if (c)
                ferry_buf_putc(r->out, ',');
            if (is_bad)
                continue;
            const ferry_tensor_t *t = ferry_engine_output(r->engine, r->col_out[c]);
            int64_t width = t->ndim >= 2 ? t->dims[1] : 1;
            int64_t k = (int64_t)i * width + m->columns[c].index;
            if (t->dtype == FERRY_DT_STRING) {
                const char *s = ((char **)t->data)[k];
                ferry_csv_put_str(r->out, s ? s : "");
            } else {
                double d = ferry_tensor_get_f64(t, k);
                if (!isnan(d))
                    ferry_csv_put_double(r->out, d);
            }
        }
        ferry_buf_putc(r->out, '\n');
        r->failed += is_bad;
    }
    r->rows += n;
    return 0;
}

/* The run's inputs from .npy files instead of a CSV: "NAME=FILE.npy" (or FILE.npy for a
 * one-input model). Fills every manifest input; returns the row count or -1. */
static long s_npy_inputs(ferry_engine_t *engine, const ferry_manifest_t *man, const char *const *specs, size_t n,
                         const char *model_path)
{
    long rows = -1;
    bool *is_set = ferry_calloc(man->n_inputs + 1, sizeof(bool));
    for (size_t k = 0; k < n; k++) {
        const char *eq = strchr(specs[k], '=');
        char *name = eq ? ferry_strndup(specs[k], (size_t)(eq - specs[k])) : NULL;
        const char *file = eq ? eq + 1 : specs[k];
        long idx = -1;
        for (size_t i = 0; i < man->n_inputs; i++)
            if (name ? !strcmp(man->inputs[i].tensor, name) : man->n_inputs == 1)
                idx = (long)i;
        if (idx < 0) {
            fprintf(stderr, "ferry score: --input %s: %s\n", specs[k],
                    name ? "no input of that name in the model's manifest" : "name the input (NAME=FILE.npy)");
            free(name);
            goto out;
        }
        free(name);
        ferry_err_t err;
        ferry_npy_t *a = ferry_npy_read(file, &err);
        if (!a) {
            fprintf(stderr, "ferry score: %s\n", err.msg);
            goto out;
        }
        bool is_str = man->inputs[idx].is_string;
        if ((is_str ? a->dtype != FERRY_NPY_STRING : a->dtype != FERRY_NPY_FLOAT64) || a->ndim != 2 ||
            a->shape[1] != 1 || a->shape[0] > (uint64_t)FERRY_TENSOR_MAX_ELEMS) {
            fprintf(stderr, "ferry score: %s: input \"%s\" needs a %s array of shape (N, 1)\n", file,
                    man->inputs[idx].tensor, is_str ? "string" : "float64");
            ferry_npy_destroy(&a);
            goto out;
        }
        ferry_tensor_t t;
        ferry_tensor_init(&t);
        int64_t dims[] = {(int64_t)a->shape[0], 1};
        int rc = ferry_tensor_reshape(&t, is_str ? FERRY_DT_STRING : FERRY_DT_DOUBLE, 2, dims, &err);
        if (rc == 0) {
            if (is_str)
                for (uint64_t i = 0; i < a->count; i++)
                    ferry_tensor_set_string(&t, (int64_t)i, a->strings[i], strlen(a->strings[i]));
            else if (a->count)
                memcpy(t.data, a->data, a->count * sizeof(double));
            rc = ferry_engine_set_input(engine, man->inputs[idx].tensor, &t, &err);
        }
        ferry_tensor_clear(&t);
        if (rc < 0) {
            fprintf(stderr, "ferry score: %s: %s\n", file, err.msg);
            ferry_npy_destroy(&a);
            goto out;
        }
        if (rows >= 0 && rows != (long)a->shape[0]) {
            fprintf(stderr, "ferry score: %s: %llu rows, other inputs have %ld\n", file,
                    (unsigned long long)a->shape[0], rows);
            ferry_npy_destroy(&a);
            rows = -1;
            goto out;
        }
        rows = (long)a->shape[0];
        is_set[idx] = true;
        ferry_npy_destroy(&a);
    }
    for (size_t i = 0; i < man->n_inputs; i++)
        if (!is_set[i]) {
            fprintf(stderr, "ferry score: %s: input \"%s\" has no --input\n", model_path, man->inputs[i].tensor);
            rows = -1;
            goto out;
        }
out:
    free(is_set);
    return rows;
}

int ferry_score_onnx(const char *model_path, const char *data_path, const char *out_path)
{
    return ferry_score_onnx_ex(model_path, data_path, NULL, 0, out_path);
}

int ferry_score_onnx_ex(const char *model_path, const char *data_path, const char *const *npy_specs, size_t n_npy,
                        const char *out_path)
{
    ferry_err_t err;
    ferry_onnx_t *model = NULL;
    ferry_manifest_t *man = NULL;
    ferry_engine_t *engine = NULL;
    ferry_csv_t *csv = NULL;
    ferry_buf_t out = FERRY_BUF_INIT;
    int exit_code = FERRY_EXIT_INPUT;
    s_run_t run = {0};
    long *csv_col = NULL;
    ferry_tensor_t **ins = NULL;
    if (ferry_onnx_load_file(model_path, &model, &err) < 0) {
        fprintf(stderr, "ferry score: %s\n", err.msg);
        goto out;
    }
    if (!(man = s_manifest(model, model_path, &err))) {
        fprintf(stderr, "ferry score: %s\n", err.msg);
        goto out;
    }
    int code;
    if (!(engine = ferry_engine_new(ferry_onnx_proto(model), &code, &err))) {
        fprintf(stderr, "ferry score: %s\n", err.msg);
        goto out;
    }
    run.engine = engine;
    run.man = man;
    run.out = &out;
    run.data_name = data_path;
    run.in_index = ferry_calloc(man->n_inputs + 1, sizeof(int));
    run.col_out = ferry_calloc(man->n_columns + 1, sizeof(int));
    run.valid_out = -1;
    for (size_t i = 0; i < man->n_inputs; i++) {
        run.in_index[i] = ferry_engine_input_index(engine, man->inputs[i].tensor);
        int32_t want = man->inputs[i].is_string ? FERRY_DT_STRING : FERRY_DT_DOUBLE;
        if (run.in_index[i] < 0 || ferry_engine_input_dtype(engine, run.in_index[i]) != want) {
            fprintf(stderr, "ferry score: %s: manifest input \"%s\" is not a %s input of the model\n", model_path,
                    man->inputs[i].tensor, man->inputs[i].is_string ? "string" : "double");
            goto out;
        }
    }
    if ((size_t)ferry_engine_input_count(engine) != man->n_inputs) {
        fprintf(stderr, "ferry score: %s: the model has %d inputs, its manifest describes %zu\n", model_path,
                ferry_engine_input_count(engine), man->n_inputs);
        goto out;
    }
    for (size_t c = 0; c < man->n_columns; c++) {
        run.col_out[c] = -1;
        for (int o = 0; o < ferry_engine_output_count(engine); o++)
            if (!strcmp(ferry_engine_output_name(engine, o), man->columns[c].tensor))
                run.col_out[c] = o;
        if (run.col_out[c] < 0) {
            fprintf(stderr, "ferry score: %s: manifest column \"%s\" names output \"%s\", which the model lacks\n",
                    model_path, man->columns[c].name, man->columns[c].tensor);
            goto out;
        }
    }
    for (int o = 0; o < ferry_engine_output_count(engine); o++)
        if (man->has_row_valid && !strcmp(ferry_engine_output_name(engine, o), "row_valid"))
            run.valid_out = o;
    if (n_npy) {
        long rows = s_npy_inputs(engine, man, npy_specs, n_npy, model_path);
        if (rows < 0)
            goto out;
        size_t nrows = (size_t)rows;
        run.row_bad = ferry_calloc(nrows + 1, 1);
        run.row_line = ferry_calloc(nrows + 1, sizeof(size_t));
        for (size_t i = 0; i < nrows; i++)
            run.row_line[i] = i + 1;
        run.data_name = "input row";
        for (size_t c = 0; c < man->n_columns; c++) {
            if (c)
                ferry_buf_putc(&out, ',');
            ferry_csv_put_str(&out, man->columns[c].name);
        }
        ferry_buf_putc(&out, '\n');
        if (nrows && s_flush(&run, nrows) < 0)
            goto out;
        goto write;
    }
    if (!(csv = ferry_csv_open(data_path, &err))) {
        fprintf(stderr, "ferry score: %s\n", err.msg);
        goto out;
    }
    int r = ferry_csv_next(csv, &err);
    if (r <= 0) {
        fprintf(stderr, "ferry score: %s\n", r < 0 ? err.msg : "empty CSV: a header is required");
        goto out;
    }
    size_t ncols = ferry_csv_ncells(csv);
    csv_col = ferry_calloc(man->n_inputs + 1, sizeof(long));
    for (size_t i = 0; i < man->n_inputs; i++) {
        csv_col[i] = -1; /* an absent column: missing in every row, as the PMML scorer does */
        for (size_t k = 0; k < ncols; k++)
            if (!strcmp(ferry_csv_cell(csv, k, NULL), man->inputs[i].name)) {
                if (csv_col[i] >= 0) {
                    fprintf(stderr, "ferry score: %s:%zu: column %zu: duplicate column \"%s\"\n", data_path,
                            ferry_csv_line(csv), k + 1, man->inputs[i].name);
                    goto out;
                }
                csv_col[i] = (long)k;
            }
    }
    ins = ferry_calloc(man->n_inputs + 1, sizeof *ins);
    for (size_t i = 0; i < man->n_inputs; i++)
        ins[i] = ferry_engine_input_tensor(engine, run.in_index[i]);
    run.row_bad = ferry_calloc(S_BATCH, 1);
    run.row_line = ferry_calloc(S_BATCH, sizeof(size_t));
    for (size_t c = 0; c < man->n_columns; c++) {
        if (c)
            ferry_buf_putc(&out, ',');
        ferry_csv_put_str(&out, man->columns[c].name);
    }
    ferry_buf_putc(&out, '\n');
    size_t n = 0;
    for (;;) {
        if (n == 0)
            for (size_t i = 0; i < man->n_inputs; i++) {
                int64_t dims[] = {S_BATCH, 1};
                if (ferry_tensor_reshape(ins[i], man->inputs[i].is_string ? FERRY_DT_STRING : FERRY_DT_DOUBLE, 2,
                                         dims, &err) < 0) {
                    fprintf(stderr, "ferry score: %s\n", err.msg);
                    exit_code = FERRY_EXIT_RUNTIME;
                    goto out;
                }
            }
        r = ferry_csv_next(csv, &err);
        if (r < 0) {
            fprintf(stderr, "ferry score: %s\n", err.msg);
            goto out;
        }
        if (r == 1) {
            size_t line = ferry_csv_line(csv), nc = ferry_csv_ncells(csv);
            if (nc != ncols) {
                fprintf(stderr, "ferry score: %s:%zu: column %zu: expected %zu columns, found %zu\n", data_path, line,
                        nc < ncols ? nc + 1 : ncols + 1, ncols, nc);
                goto out;
            }
            run.row_bad[n] = 0;
            run.row_line[n] = line;
            for (size_t i = 0; i < man->n_inputs; i++) {
                size_t len = 0;
                const char *cell = csv_col[i] >= 0 ? ferry_csv_cell(csv, (size_t)csv_col[i], &len) : "";
                bool is_missing = ferry_csv_is_missing(cell, len);
                if (man->inputs[i].is_string) {
                    ferry_tensor_set_string(ins[i], (int64_t)n, is_missing ? "" : cell, is_missing ? 0 : len);
                    continue;
                }
                double d = NAN;
                if (!is_missing) {
                    char *end;
                    errno = 0;
                    d = strtod(cell, &end);
                    while (*end == ' ' || *end == '\t')
                        end++;
                    if (end == cell || *end) {
                        s_diag(&run, "%s:%zu: column %ld (%s): expected a number, got \"%.40s\"", data_path, line,
                               csv_col[i] + 1, man->inputs[i].name, cell);
                        run.row_bad[n] = 1;
                        d = NAN;
                    }
                }
                ((double *)ins[i]->data)[n] = d;
            }
            n++;
        }
        if (n == S_BATCH || (r == 0 && n > 0)) {
            if (n < S_BATCH)
                for (size_t i = 0; i < man->n_inputs; i++) {
                    /* shrink keeps the first n elements: the buffer is reused in place */
                    ins[i]->dims[0] = (int64_t)n;
                    ins[i]->count = (int64_t)n;
                    if (man->inputs[i].is_string)
                        for (size_t k = n; k < S_BATCH; k++) {
                            free(((char **)ins[i]->data)[k]);
                            ((char **)ins[i]->data)[k] = NULL;
                        }
                }
            if (s_flush(&run, n) < 0) {
                exit_code = FERRY_EXIT_INPUT;
                goto out;
            }
            n = 0;
        }
        if (r == 0)
            break;
    }
write:
    if (run.diagnostics > S_MAX_DIAGNOSTICS)
        fprintf(stderr, "ferry score: ... and %zu more diagnostics\n", run.diagnostics - S_MAX_DIAGNOSTICS);
    if (out_path) {
        int wrc = ferry_file_write_atomic(out_path, out.data, out.len);
        if (wrc < 0) {
            fprintf(stderr, "ferry score: %s: cannot write: %s\n", out_path, strerror(-wrc));
            exit_code = FERRY_EXIT_RUNTIME;
            goto out;
        }
    } else if (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
        fprintf(stderr, "ferry score: cannot write standard output: %s\n", strerror(errno));
        exit_code = FERRY_EXIT_RUNTIME;
        goto out;
    }
    if (run.failed)
        fprintf(stderr, "ferry score: %zu of %zu rows could not be scored\n", run.failed, run.rows);
    exit_code = run.failed ? FERRY_EXIT_FAIL : FERRY_EXIT_OK;
out:
    free(ins);
    free(csv_col);
    free(run.row_bad);
    free(run.row_line);
    free(run.in_index);
    free(run.col_out);
    ferry_buf_free(&out);
    ferry_csv_destroy(&csv);
    ferry_engine_destroy(&engine);
    ferry_manifest_destroy(&man);
    ferry_onnx_destroy(&model);
    return exit_code;
}
