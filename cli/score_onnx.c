/* score_onnx.c -- `ferry score MODEL.onnx ...`: converted models scored via their manifest, by ferry's engine or ONNX Runtime
 *
 * The signature manifest (metadata_props "ferry.manifest", else MODEL.manifest.json beside
 * the model) says which CSV column feeds which input tensor and which output tensor column
 * becomes which score column, so the output has the same columns, with the same names,
 * as `ferry score` on the source PMML. The CSV becomes tensors by one loop for both
 * runtimes: the engine runs each batch of S_BATCH rows as it fills; for ONNX Runtime the
 * batches are gathered and all rows go through one runner process (cli/score_ort.c),
 * whose outputs are checked (dtype, rank, rows, width) before a cell is written. */
#include "cli/score_onnx.h"
#include "cli/score_ort.h"
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
    ferry_engine_t *engine;                 /* engine runtime, else NULL */
    const ferry_ort_opts_t *ort;            /* ONNX Runtime, else NULL */
    const ferry_manifest_t *man;
    const char *model_path;
    int *in_index;                          /* manifest input -> engine input / graph input */
    int *col_out;                           /* manifest column -> engine output / graph output */
    int valid_out;                          /* output row_valid, or -1 */
    ferry_buf_t *out;
    size_t rows, failed, diagnostics;
    uint8_t *row_bad;                       /* per batch row: CSV problem */
    size_t *row_line;
    const char *data_name;
    /* ONNX Runtime: every row, gathered batch by batch */
    ferry_buf_t *acc;                       /* per input: doubles, or char * (owned strings) */
    ferry_buf_t acc_bad, acc_line;          /* uint8_t and size_t per row */
    size_t acc_rows;
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

/* Append n score rows: column c from col_t[c] (row i, manifest index), rows flagged in bad
 * or refused by valid (row_valid) left empty. The tensors are checked first: whatever
 * produced them (the engine, or a runner process) must give n rows, the width the manifest
 * indexes, and a string tensor exactly for a string column. */
static int s_emit(s_run_t *r, size_t n, const ferry_tensor_t *const *col_t, const ferry_tensor_t *valid,
                  const uint8_t *bad, const size_t *line)
{
    const ferry_manifest_t *m = r->man;
    for (size_t c = 0; c < m->n_columns; c++) {
        const ferry_tensor_t *t = col_t[c];
        int64_t width = t->ndim >= 2 ? t->dims[1] : 1;
        if (t->ndim < 1 || t->ndim > 2 || t->dims[0] != (int64_t)n || m->columns[c].index >= width) {
            fprintf(stderr, "ferry score: %s: output \"%s\" has no column %lld for %zu rows\n", r->model_path,
                    m->columns[c].tensor, (long long)m->columns[c].index, n);
            return -1;
        }
        if ((t->dtype == FERRY_DT_STRING) != m->columns[c].is_string) {
            fprintf(stderr, "ferry score: %s: output \"%s\" is %s; the manifest's column \"%s\" is a %s\n",
                    r->model_path, m->columns[c].tensor, ferry_dtype_name(t->dtype), m->columns[c].name,
                    m->columns[c].is_string ? "string" : "number");
            return -1;
        }
    }
    if (valid && (valid->count != (int64_t)n || valid->dtype == FERRY_DT_STRING)) {
        fprintf(stderr, "ferry score: %s: output \"row_valid\" has %lld %s elements for %zu rows\n", r->model_path,
                (long long)valid->count, ferry_dtype_name(valid->dtype), n);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        bool is_bad = bad[i];
        if (!is_bad && valid && !ferry_tensor_get_i64(valid, (int64_t)i)) {
            s_diag(r, "%s:%zu: row not scored: an input value is invalid for the model", r->data_name, line[i]);
            is_bad = true;
        }
        for (size_t c = 0; c < m->n_columns; c++) {
            if (c)
                ferry_buf_putc(r->out, ',');
            if (is_bad)
                continue;
            const ferry_tensor_t *t = col_t[c];
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
    const ferry_tensor_t **col_t = ferry_calloc(m->n_columns + 1, sizeof *col_t);
    for (size_t c = 0; c < m->n_columns; c++)
        col_t[c] = ferry_engine_output(r->engine, r->col_out[c]);
    const ferry_tensor_t *valid = r->valid_out >= 0 ? ferry_engine_output(r->engine, r->valid_out) : NULL;
    int rc = s_emit(r, n, col_t, valid, r->row_bad, r->row_line);
    free(col_t);
    return rc;
}

/* ONNX Runtime: keep the batch (n rows of ins) for the one runner run at the end. */
static void s_gather(s_run_t *r, ferry_tensor_t *const *ins, size_t n)
{
    const ferry_manifest_t *m = r->man;
    for (size_t i = 0; i < m->n_inputs; i++) {
        if (m->inputs[i].is_string) {
            for (size_t k = 0; k < n; k++) {
                char **cell = &((char **)ins[i]->data)[k];
                char *s = *cell ? *cell : ferry_strdup("");
                *cell = NULL; /* moved into the accumulator */
                ferry_buf_append(&r->acc[i], &s, sizeof s);
            }
        } else {
            ferry_buf_append(&r->acc[i], ins[i]->data, n * sizeof(double));
        }
    }
    ferry_buf_append(&r->acc_bad, r->row_bad, n);
    ferry_buf_append(&r->acc_line, r->row_line, n * sizeof(size_t));
    r->acc_rows += n;
}

static void s_acc_free(s_run_t *r)
{
    for (size_t i = 0; r->acc && i < r->man->n_inputs; i++) {
        if (r->man->inputs[i].is_string)
            for (size_t k = 0; k < r->acc[i].len / sizeof(char *); k++)
                free(((char **)r->acc[i].data)[k]);
        ferry_buf_free(&r->acc[i]);
    }
    free(r->acc);
    r->acc = NULL;
    ferry_buf_free(&r->acc_bad);
    ferry_buf_free(&r->acc_line);
}

static int32_t s_npy_to_dt(ferry_npy_dtype_t d)
{
    static const int32_t map[FERRY_NPY_DTYPE_COUNT] = {
        [FERRY_NPY_BOOL] = FERRY_DT_BOOL,       [FERRY_NPY_INT8] = FERRY_DT_INT8,
        [FERRY_NPY_UINT8] = FERRY_DT_UINT8,     [FERRY_NPY_INT16] = FERRY_DT_INT16,
        [FERRY_NPY_UINT16] = FERRY_DT_UINT16,   [FERRY_NPY_INT32] = FERRY_DT_INT32,
        [FERRY_NPY_UINT32] = FERRY_DT_UINT32,   [FERRY_NPY_INT64] = FERRY_DT_INT64,
        [FERRY_NPY_UINT64] = FERRY_DT_UINT64,   [FERRY_NPY_FLOAT16] = FERRY_DT_FLOAT16,
        [FERRY_NPY_FLOAT32] = FERRY_DT_FLOAT,   [FERRY_NPY_FLOAT64] = FERRY_DT_DOUBLE,
        [FERRY_NPY_STRING] = FERRY_DT_STRING,
    };
    return (unsigned)d < FERRY_NPY_DTYPE_COUNT ? map[d] : FERRY_DT_UNDEFINED;
}

/* A runner's output array as a tensor of rank 1 or 2 (what s_emit indexes). */
static int s_npy_to_tensor(const ferry_npy_t *a, const char *what, ferry_tensor_t *t, ferry_err_t *err)
{
    int32_t dt = s_npy_to_dt(a->dtype);
    if (a->ndim < 1 || a->ndim > 2 || dt == FERRY_DT_UNDEFINED)
        return ferry_err(err, "output \"%s\" from the runner has rank %zu (dtype %s); expected rank 1 or 2", what,
                         a->ndim, ferry_npy_dtype_name(a->dtype));
    int64_t dims[2];
    for (size_t d = 0; d < a->ndim; d++) {
        if (a->shape[d] > (uint64_t)FERRY_TENSOR_MAX_ELEMS)
            return ferry_err(err, "output \"%s\" from the runner: dimension %zu is %llu, over the limit", what, d,
                             (unsigned long long)a->shape[d]);
        dims[d] = (int64_t)a->shape[d];
    }
    if (ferry_tensor_reshape(t, dt, (int)a->ndim, dims, err) < 0)
        return -1;
    if (dt == FERRY_DT_STRING) {
        for (uint64_t i = 0; i < a->count; i++)
            ferry_tensor_set_string(t, (int64_t)i, a->strings[i], strlen(a->strings[i]));
    } else if (a->count) {
        memcpy(t->data, a->data, a->count * ferry_npy_itemsize(a->dtype));
    }
    return 0;
}

/* Index of the graph input / output named name, or -1. */
static int s_graph_input(const Onnx__GraphProto *g, const char *name)
{
    for (size_t i = 0; i < g->n_input; i++)
        if (g->input[i]->name && !strcmp(g->input[i]->name, name))
            return (int)i;
    return -1;
}

static int s_graph_output(const Onnx__GraphProto *g, const char *name)
{
    for (size_t i = 0; i < g->n_output; i++)
        if (g->output[i]->name && !strcmp(g->output[i]->name, name))
            return (int)i;
    return -1;
}

static int32_t s_value_elem_type(const Onnx__ValueInfoProto *v)
{
    if (!v->type || v->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !v->type->tensor_type)
        return FERRY_DT_UNDEFINED;
    return v->type->tensor_type->elem_type;
}

/* ONNX Runtime: match the manifest to the graph (no engine is built): every manifest input
 * a double/string graph input, no other graph input without an initializer, every column a
 * graph output. Fills r->in_index, r->col_out, r->valid_out. */
static int s_match_graph(s_run_t *r, const Onnx__ModelProto *mp)
{
    const Onnx__GraphProto *g = mp->graph;
    const ferry_manifest_t *man = r->man;
    if (!g) {
        fprintf(stderr, "ferry score: %s: the model has no graph\n", r->model_path);
        return -1;
    }
    for (size_t i = 0; i < man->n_inputs; i++) {
        int32_t want = man->inputs[i].is_string ? FERRY_DT_STRING : FERRY_DT_DOUBLE;
        r->in_index[i] = s_graph_input(g, man->inputs[i].tensor);
        if (r->in_index[i] < 0 || s_value_elem_type(g->input[r->in_index[i]]) != want) {
            fprintf(stderr, "ferry score: %s: manifest input \"%s\" is not a %s input of the model\n", r->model_path,
                    man->inputs[i].tensor, man->inputs[i].is_string ? "string" : "double");
            return -1;
        }
    }
    for (size_t k = 0; k < g->n_input; k++) {
        bool is_fed = false;
        for (size_t i = 0; i < man->n_inputs && !is_fed; i++)
            is_fed = r->in_index[i] == (int)k;
        for (size_t j = 0; j < g->n_initializer && !is_fed; j++)
            is_fed = g->initializer[j]->name && g->input[k]->name && !strcmp(g->initializer[j]->name, g->input[k]->name);
        if (!is_fed) {
            fprintf(stderr, "ferry score: %s: graph input \"%s\" is not in the model's manifest\n", r->model_path,
                    g->input[k]->name ? g->input[k]->name : "");
            return -1;
        }
    }
    for (size_t c = 0; c < man->n_columns; c++) {
        if ((r->col_out[c] = s_graph_output(g, man->columns[c].tensor)) < 0) {
            fprintf(stderr, "ferry score: %s: manifest column \"%s\" names output \"%s\", which the model lacks\n",
                    r->model_path, man->columns[c].name, man->columns[c].tensor);
            return -1;
        }
    }
    r->valid_out = man->has_row_valid ? s_graph_output(g, "row_valid") : -1;
    return 0;
}

/* ONNX Runtime: run the gathered rows (arrays[i] per manifest input, rows rows; bad and
 * line per row) through a runner and append the score rows. Returns a FERRY_EXIT_* code. */
static int s_ort_score(s_run_t *r, const ferry_npy_t *const *arrays, size_t rows, const uint8_t *bad,
                       const size_t *line)
{
    const ferry_manifest_t *m = r->man;
    if (!rows)
        return FERRY_EXIT_OK;
    size_t n_out = m->n_columns + (r->valid_out >= 0);
    size_t *want = ferry_calloc(n_out + 1, sizeof(size_t));
    ferry_npy_t **outs = ferry_calloc(n_out + 1, sizeof *outs);
    ferry_tensor_t *tens = ferry_calloc(n_out + 1, sizeof *tens);
    const ferry_tensor_t **col_t = ferry_calloc(m->n_columns + 1, sizeof *col_t);
    const char **names = ferry_calloc(m->n_inputs + 1, sizeof *names);
    ferry_buf_t tail = FERRY_BUF_INIT;
    ferry_err_t err;
    int exit_code;
    for (size_t j = 0; j < n_out; j++) {
        ferry_tensor_init(&tens[j]);
        want[j] = (size_t)(j < m->n_columns ? r->col_out[j] : r->valid_out);
    }
    for (size_t i = 0; i < m->n_inputs; i++)
        names[i] = m->inputs[i].tensor;
    exit_code = ferry_ort_run(r->ort, r->model_path, m->n_inputs, names, arrays, n_out, want, outs, &tail, &err);
    if (exit_code) {
        const char *nl = tail.len ? memchr(tail.data, '\n', tail.len) : NULL;
        if (nl && (size_t)(nl - tail.data) + 1 < tail.len) { /* more than the last line, quoted in err */
            fprintf(stderr, "ferry score: the runner's stderr (last %zu bytes):\n", tail.len);
            fwrite(tail.data, 1, tail.len, stderr);
            if (tail.data[tail.len - 1] != '\n')
                fputc('\n', stderr);
        }
        fprintf(stderr, "ferry score: %s\n", err.msg);
        goto out;
    }
    exit_code = FERRY_EXIT_RUNTIME; /* a malformed output is the runner's failure */
    for (size_t j = 0; j < n_out; j++) {
        const char *what = j < m->n_columns ? m->columns[j].tensor : "row_valid";
        if (s_npy_to_tensor(outs[j], what, &tens[j], &err) < 0) {
            fprintf(stderr, "ferry score: %s: %s\n", r->model_path, err.msg);
            goto out;
        }
        if (j < m->n_columns)
            col_t[j] = &tens[j];
    }
    if (s_emit(r, rows, col_t, r->valid_out >= 0 ? &tens[m->n_columns] : NULL, bad, line) < 0)
        goto out;
    exit_code = FERRY_EXIT_OK;
out:
    for (size_t j = 0; j < n_out; j++) {
        ferry_npy_destroy(&outs[j]);
        ferry_tensor_clear(&tens[j]);
    }
    ferry_buf_free(&tail);
    free(names);
    free(col_t);
    free(tens);
    free(outs);
    free(want);
    return exit_code;
}

/* The gathered CSV rows as (rows, 1) arrays, then through the runner. A string cell the
 * runner cannot carry (.npy strings are UTF-8 without NUL) leaves its row unscored. */
static int s_ort_score_gathered(s_run_t *r)
{
    const ferry_manifest_t *m = r->man;
    size_t rows = r->acc_rows;
    uint8_t *bad = (uint8_t *)r->acc_bad.data;
    const size_t *line = (const size_t *)r->acc_line.data;
    ferry_npy_t **arrays = ferry_calloc(m->n_inputs + 1, sizeof *arrays);
    int exit_code = FERRY_EXIT_RUNTIME;
    for (size_t i = 0; i < m->n_inputs && rows; i++) {
        uint64_t shape[2] = {rows, 1};
        arrays[i] = ferry_npy_new(m->inputs[i].is_string ? FERRY_NPY_STRING : FERRY_NPY_FLOAT64, 2, shape);
        if (!arrays[i]) {
            fprintf(stderr, "ferry score: %s: %zu rows are more than one input tensor can hold\n", r->data_name,
                    rows);
            exit_code = FERRY_EXIT_INPUT;
            goto out;
        }
        if (!m->inputs[i].is_string) {
            memcpy(arrays[i]->data, r->acc[i].data, rows * sizeof(double));
            continue;
        }
        char **cells = (char **)r->acc[i].data;
        for (size_t k = 0; k < rows; k++)
            if (ferry_npy_set_string(arrays[i], k, cells[k]) < 0) {
                s_diag(r, "%s:%zu: column %s: not valid UTF-8; ONNX Runtime takes UTF-8 strings: row not scored",
                       r->data_name, line[k], m->inputs[i].name);
                bad[k] = 1;
            }
    }
    exit_code = s_ort_score(r, (const ferry_npy_t *const *)arrays, rows, bad, line);
out:
    for (size_t i = 0; i < m->n_inputs; i++)
        ferry_npy_destroy(&arrays[i]);
    free(arrays);
    return exit_code;
}

/* The run's inputs from .npy files instead of a CSV: "NAME=FILE.npy" (or FILE.npy for a
 * one-input model), one array per manifest input into arrays[]. Returns the row count or -1. */
static long s_npy_load(const ferry_manifest_t *man, const char *const *specs, size_t n, const char *model_path,
                       ferry_npy_t **arrays)
{
    long rows = -1;
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
            return -1;
        }
        free(name);
        if (arrays[idx]) {
            fprintf(stderr, "ferry score: --input %s: input \"%s\" is given twice\n", specs[k],
                    man->inputs[idx].tensor);
            return -1;
        }
        ferry_err_t err;
        ferry_npy_t *a = ferry_npy_read(file, &err);
        if (!a) {
            fprintf(stderr, "ferry score: %s\n", err.msg);
            return -1;
        }
        bool is_str = man->inputs[idx].is_string;
        if ((is_str ? a->dtype != FERRY_NPY_STRING : a->dtype != FERRY_NPY_FLOAT64) || a->ndim != 2 ||
            a->shape[1] != 1 || a->shape[0] > (uint64_t)FERRY_TENSOR_MAX_ELEMS) {
            fprintf(stderr, "ferry score: %s: input \"%s\" needs a %s array of shape (N, 1)\n", file,
                    man->inputs[idx].tensor, is_str ? "string" : "float64");
            ferry_npy_destroy(&a);
            return -1;
        }
        if (rows >= 0 && rows != (long)a->shape[0]) {
            fprintf(stderr, "ferry score: %s: %llu rows, other inputs have %ld\n", file,
                    (unsigned long long)a->shape[0], rows);
            ferry_npy_destroy(&a);
            return -1;
        }
        rows = (long)a->shape[0];
        arrays[idx] = a;
    }
    for (size_t i = 0; i < man->n_inputs; i++)
        if (!arrays[i]) {
            fprintf(stderr, "ferry score: %s: input \"%s\" has no --input\n", model_path, man->inputs[i].tensor);
            return -1;
        }
    return rows;
}

/* Engine: the loaded arrays as the engine's inputs. */
static int s_npy_set_engine(ferry_engine_t *engine, const ferry_manifest_t *man, ferry_npy_t *const *arrays)
{
    for (size_t idx = 0; idx < man->n_inputs; idx++) {
        const ferry_npy_t *a = arrays[idx];
        bool is_str = man->inputs[idx].is_string;
        ferry_err_t err;
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
            fprintf(stderr, "ferry score: input \"%s\": %s\n", man->inputs[idx].tensor, err.msg);
            return -1;
        }
    }
    return 0;
}

/* Engine: match the manifest to the engine's inputs and outputs. */
static int s_match_engine(s_run_t *r)
{
    ferry_engine_t *engine = r->engine;
    const ferry_manifest_t *man = r->man;
    for (size_t i = 0; i < man->n_inputs; i++) {
        r->in_index[i] = ferry_engine_input_index(engine, man->inputs[i].tensor);
        int32_t want = man->inputs[i].is_string ? FERRY_DT_STRING : FERRY_DT_DOUBLE;
        if (r->in_index[i] < 0 || ferry_engine_input_dtype(engine, r->in_index[i]) != want) {
            fprintf(stderr, "ferry score: %s: manifest input \"%s\" is not a %s input of the model\n", r->model_path,
                    man->inputs[i].tensor, man->inputs[i].is_string ? "string" : "double");
            return -1;
        }
    }
    if ((size_t)ferry_engine_input_count(engine) != man->n_inputs) {
        fprintf(stderr, "ferry score: %s: the model has %d inputs, its manifest describes %zu\n", r->model_path,
                ferry_engine_input_count(engine), man->n_inputs);
        return -1;
    }
    for (size_t c = 0; c < man->n_columns; c++) {
        r->col_out[c] = -1;
        for (int o = 0; o < ferry_engine_output_count(engine); o++)
            if (!strcmp(ferry_engine_output_name(engine, o), man->columns[c].tensor))
                r->col_out[c] = o;
        if (r->col_out[c] < 0) {
            fprintf(stderr, "ferry score: %s: manifest column \"%s\" names output \"%s\", which the model lacks\n",
                    r->model_path, man->columns[c].name, man->columns[c].tensor);
            return -1;
        }
    }
    for (int o = 0; o < ferry_engine_output_count(engine); o++)
        if (man->has_row_valid && !strcmp(ferry_engine_output_name(engine, o), "row_valid"))
            r->valid_out = o;
    return 0;
}

int ferry_score_onnx(const char *model_path, const char *data_path, const char *out_path)
{
    return ferry_score_onnx_rt(model_path, data_path, NULL, 0, out_path, NULL);
}

int ferry_score_onnx_ex(const char *model_path, const char *data_path, const char *const *npy_specs, size_t n_npy,
                        const char *out_path)
{
    return ferry_score_onnx_rt(model_path, data_path, npy_specs, n_npy, out_path, NULL);
}

int ferry_score_onnx_rt(const char *model_path, const char *data_path, const char *const *npy_specs, size_t n_npy,
                        const char *out_path, const ferry_ort_opts_t *ort)
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
    ferry_tensor_t *own_ins = NULL; /* ONNX Runtime: the batch tensors are ours */
    ferry_npy_t **arrays = NULL;
    if (ferry_onnx_load_file(model_path, &model, &err) < 0) {
        fprintf(stderr, "ferry score: %s\n", err.msg);
        goto out;
    }
    if (!(man = s_manifest(model, model_path, &err))) {
        fprintf(stderr, "ferry score: %s\n", err.msg);
        goto out;
    }
    run.man = man;
    run.ort = ort;
    run.model_path = model_path;
    run.out = &out;
    run.data_name = data_path;
    run.in_index = ferry_calloc(man->n_inputs + 1, sizeof(int));
    run.col_out = ferry_calloc(man->n_columns + 1, sizeof(int));
    run.valid_out = -1;
    if (ort) {
        if (s_match_graph(&run, ferry_onnx_proto(model)) < 0)
            goto out;
    } else {
        int code;
        if (!(engine = ferry_engine_new(ferry_onnx_proto(model), &code, &err))) {
            fprintf(stderr, "ferry score: %s\n", err.msg);
            goto out;
        }
        run.engine = engine;
        if (s_match_engine(&run) < 0)
            goto out;
    }
    if (n_npy) {
        arrays = ferry_calloc(man->n_inputs + 1, sizeof *arrays);
        long rows = s_npy_load(man, npy_specs, n_npy, model_path, arrays);
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
        if (ort) {
            int rc = s_ort_score(&run, (const ferry_npy_t *const *)arrays, nrows, run.row_bad, run.row_line);
            if (rc) {
                exit_code = rc;
                goto out;
            }
            goto write;
        }
        if (s_npy_set_engine(engine, man, arrays) < 0)
            goto out;
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
    if (ort) {
        own_ins = ferry_calloc(man->n_inputs + 1, sizeof *own_ins);
        run.acc = ferry_calloc(man->n_inputs + 1, sizeof *run.acc);
        for (size_t i = 0; i < man->n_inputs; i++) {
            ferry_tensor_init(&own_ins[i]);
            ins[i] = &own_ins[i];
        }
    } else {
        for (size_t i = 0; i < man->n_inputs; i++)
            ins[i] = ferry_engine_input_tensor(engine, run.in_index[i]);
    }
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
            if (ort) {
                if (run.acc_rows + n > (size_t)FERRY_TENSOR_MAX_ELEMS) {
                    fprintf(stderr, "ferry score: %s:%zu: more than %lld rows: too many for one runner run\n",
                            data_path, run.row_line[n - 1], (long long)FERRY_TENSOR_MAX_ELEMS);
                    goto out;
                }
                s_gather(&run, ins, n);
            } else if (s_flush(&run, n) < 0) {
                exit_code = FERRY_EXIT_INPUT;
                goto out;
            }
            n = 0;
        }
        if (r == 0)
            break;
    }
    if (ort) {
        int rc = s_ort_score_gathered(&run);
        if (rc) {
            exit_code = rc;
            goto out;
        }
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
    for (size_t i = 0; own_ins && i < man->n_inputs; i++)
        ferry_tensor_clear(&own_ins[i]);
    free(own_ins);
    for (size_t i = 0; arrays && i < man->n_inputs; i++)
        ferry_npy_destroy(&arrays[i]);
    free(arrays);
    s_acc_free(&run);
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
