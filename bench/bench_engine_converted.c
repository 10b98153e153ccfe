/* bench_engine_converted.c -- models converted from PMML (double precision) on ferry's
 * engine vs ONNX Runtime 1.30 (onnxruntime-node), single thread, same converted models,
 * same inputs, same run, in alternating rounds.
 *
 * The target: at batch 1 faster than ONNX Runtime, at batch 1,000 at least half
 * its throughput, for logistic regression, random forest 100 trees, gradient boosting 300
 * trees and MLP 20-64-64-1 as `ferry convert` writes them (double MatMul/Add/Where, the
 * ai.onnx.ml 5 TreeEnsemble with leaf tables) -- the models whose results must equal the
 * PMML evaluator's bit for bit, so the engine cannot trade exactness for speed.
 *
 * Models and inputs: bench/convert_bench_models.py (sklearn fits, PMML writer); converted
 * here in process. ONNX Runtime is timed inside node by bench/convert_ort_bench.js
 * (session creation excluded). ferry is timed here: setting the 20 input columns + run per
 * call, median of S_SAMPLES samples. ORT then ferry, S_ROUNDS times (a shared machine's
 * load shifts between them); each time is the median over the rounds and the ratio (ORT
 * time / ferry time, > 1: ferry faster) the median of the per-round ratios, with the
 * lowest round's ratio beside it. Exit 1 when a median ratio misses the target. Needs
 * runners/ort-node/node_modules (make deps); without it only ferry's figures print. */
#include "model/convert.h"
#include "model/engine.h"
#include "model/pmml.h"
#include "util/file.h"
#include "util/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define S_SAMPLES 9
#define S_SAMPLE_TARGET_NS 15e6
#define S_CALIBRATE_NS 5e6
#define S_WARMUP_CALLS 10
#define S_ROUNDS 3
#define S_NF 20 /* input columns x0..x19, each [batch, 1] */
#define S_MAX_FILE ((size_t)64 << 20)
#define S_TARGET_B1 1.0    /* batch 1: faster than ONNX Runtime */
#define S_TARGET_B1000 0.5 /* batch 1,000: at least half its throughput */

static const char *s_names[] = {"logreg", "rf100", "gbr300", "mlp"};
static const char *s_desc[] = {"logistic regression", "random forest 100 trees", "gradient boosting 300 trees",
                               "MLP 20-64-64-1"};
static const int s_batches[] = {1, 1000};

enum { S_NM = FERRY_ARRAY_LEN(s_names), S_NB = FERRY_ARRAY_LEN(s_batches) };

typedef struct {
    ferry_engine_t *engine;
    Onnx__ModelProto *proto;
    int input_index[S_NF]; /* -1: the model does not use that column */
} s_model_t;

static double s_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int s_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double s_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, s_cmp);
    return v[n / 2];
}

/* DIR/NAME.pmml -> DIR/NAME.onnx (for ORT) and an engine on it. Returns 0 or -1. */
static int s_load(const char *dir, const char *name, s_model_t *m)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.pmml", dir, name);
    char *text = NULL;
    size_t len = 0;
    ferry_err_t err;
    ferry_buf_t onnx = FERRY_BUF_INIT;
    char *manifest = NULL;
    ferry_pmml_t *p = NULL;
    int rc = -1;
    if (ferry_file_read(path, S_MAX_FILE, &text, &len) < 0) {
        fprintf(stderr, "bench_engine_converted: cannot read %s\n", path);
        goto out;
    }
    if (!(p = ferry_pmml_load_mem(text, len, path, &err)) ||
        ferry_convert_pmml(p, path, NULL, &onnx, &manifest, &err) < 0) {
        fprintf(stderr, "bench_engine_converted: %s\n", err.msg);
        goto out;
    }
    snprintf(path, sizeof path, "%s/%s.onnx", dir, name);
    if (ferry_file_write_atomic(path, onnx.data, onnx.len) < 0) {
        fprintf(stderr, "bench_engine_converted: cannot write %s\n", path);
        goto out;
    }
    m->proto = onnx__model_proto__unpack(NULL, onnx.len, (const uint8_t *)onnx.data);
    int code;
    if (!m->proto || !(m->engine = ferry_engine_new(m->proto, &code, &err))) {
        fprintf(stderr, "bench_engine_converted: %s: %s\n", name, m->proto ? err.msg : "unreadable model");
        goto out;
    }
    for (int j = 0; j < S_NF; j++) {
        char col[16];
        snprintf(col, sizeof col, "x%d", j);
        m->input_index[j] = ferry_engine_input_index(m->engine, col);
    }
    rc = 0;
out:
    ferry_pmml_destroy(&p);
    ferry_buf_free(&onnx);
    free(manifest);
    free(text);
    return rc;
}

/* one call: the model's input columns, then a run */
static int s_call(s_model_t *m, ferry_tensor_t *cols, ferry_err_t *err)
{
    for (int j = 0; j < S_NF; j++)
        if (m->input_index[j] >= 0 &&
            ferry_engine_set_input(m->engine, ferry_engine_input_name(m->engine, m->input_index[j]), &cols[j], err) < 0)
            return -1;
    return ferry_engine_run(m->engine, err);
}

/* median per-call microseconds, or -1 */
static double s_time_ferry(s_model_t *m, ferry_tensor_t *cols, const char *name)
{
    ferry_err_t err;
    for (int i = 0; i < S_WARMUP_CALLS; i++)
        if (s_call(m, cols, &err) < 0) {
            fprintf(stderr, "bench_engine_converted: %s: %s\n", name, err.msg);
            return -1;
        }
    double t0 = s_now_ns();
    long calls = 0;
    while (s_now_ns() - t0 < S_CALIBRATE_NS) {
        s_call(m, cols, &err);
        calls++;
    }
    long per = (long)((double)calls * S_SAMPLE_TARGET_NS / S_CALIBRATE_NS);
    per = per < 1 ? 1 : per;
    double samples[S_SAMPLES];
    for (int s = 0; s < S_SAMPLES; s++) {
        t0 = s_now_ns();
        for (long i = 0; i < per; i++)
            s_call(m, cols, &err);
        samples[s] = (s_now_ns() - t0) / (double)per / 1e3;
    }
    return s_median(samples, S_SAMPLES);
}

/* DIR/x_b<batch>.bin (raw float64 [batch, 20]) as 20 column tensors [batch, 1] */
static int s_columns(const char *dir, int batch, ferry_tensor_t *cols)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/x_b%d.bin", dir, batch);
    char *raw = NULL;
    size_t len = 0;
    ferry_err_t err;
    if (ferry_file_read(path, S_MAX_FILE, &raw, &len) < 0 || len != (size_t)batch * S_NF * sizeof(double)) {
        fprintf(stderr, "bench_engine_converted: %s is missing or not %d x %d doubles\n", path, batch, S_NF);
        free(raw);
        return -1;
    }
    const double *all = (const double *)raw;
    for (int j = 0; j < S_NF; j++) {
        int64_t dims[] = {batch, 1};
        if (ferry_tensor_reshape(&cols[j], FERRY_DT_DOUBLE, 2, dims, &err) < 0) {
            free(raw);
            return -1;
        }
        for (int i = 0; i < batch; i++)
            ((double *)cols[j].data)[i] = all[(size_t)i * S_NF + (size_t)j];
    }
    free(raw);
    return 0;
}

/* ORT medians from the node script's JSON line: "name/batch": us */
static double s_ort_value(const char *json, const char *name, int batch)
{
    char key[64];
    snprintf(key, sizeof key, "\"%s/%d\":", name, batch);
    const char *p = json ? strstr(json, key) : NULL;
    return p ? strtod(p + strlen(key), NULL) : -1;
}

static char *s_ort_round(const char *nm, const char *dir)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "NODE_PATH=%s node bench/convert_ort_bench.js %s logreg rf100 gbr300 mlp", nm, dir);
    FILE *f = popen(cmd, "r");
    if (!f)
        return NULL;
    char *line = NULL;
    size_t cap = 0;
    if (getline(&line, &cap, f) < 0) {
        free(line);
        line = NULL;
    }
    if (pclose(f) != 0) {
        free(line);
        line = NULL;
    }
    return line;
}

int main(void)
{
    char dir[] = "/tmp/ferry-bench-engine-converted-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 bench/convert_bench_models.py %s", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "bench_engine_converted: model generation failed\n");
        return 1;
    }
    int rc = 0;
    s_model_t models[S_NM];
    memset(models, 0, sizeof models);
    ferry_tensor_t cols[S_NB][S_NF];
    for (int b = 0; b < S_NB; b++)
        for (int j = 0; j < S_NF; j++)
            ferry_tensor_init(&cols[b][j]);
    for (int m = 0; m < S_NM; m++)
        if (s_load(dir, s_names[m], &models[m]) < 0)
            rc = 1;
    for (int b = 0; b < S_NB; b++)
        if (s_columns(dir, s_batches[b], cols[b]) < 0)
            rc = 1;
    if (rc)
        goto out;
    const char *nm = getenv("FERRY_ORT_NODE_MODULES");
    if (!nm)
        nm = "runners/ort-node/node_modules";
    snprintf(cmd, sizeof cmd, "%s/onnxruntime-node", nm);
    bool has_ort = access(cmd, F_OK) == 0;
    if (!has_ort)
        printf("ONNX Runtime (onnxruntime-node) not installed in %s: ferry figures only (make deps)\n", nm);
    double fer[S_NM][S_NB][S_ROUNDS], ort[S_NM][S_NB][S_ROUNDS], ratio[S_NM][S_NB][S_ROUNDS];
    for (int round = 0; round < S_ROUNDS; round++) {
        char *json = has_ort ? s_ort_round(nm, dir) : NULL;
        if (has_ort && !json) {
            fprintf(stderr, "bench_engine_converted: ONNX Runtime timing failed\n");
            rc = 1;
        }
        for (int m = 0; m < S_NM; m++)
            for (int b = 0; b < S_NB; b++) {
                double f = s_time_ferry(&models[m], cols[b], s_names[m]);
                double o = s_ort_value(json, s_names[m], s_batches[b]);
                fer[m][b][round] = f;
                ort[m][b][round] = o;
                ratio[m][b][round] = f > 0 && o > 0 ? o / f : -1;
                if (f < 0)
                    rc = 1;
            }
        free(json);
    }
    printf("converted models (double), single thread; per-call medians of %d samples (set 20 input columns + "
           "run),\nmedian of %d alternating rounds; ratio = ORT time / ferry time, median (and lowest) of the "
           "per-round ratios\n",
           S_SAMPLES, S_ROUNDS);
    printf("%-28s %6s %11s %11s %7s %7s %8s %13s  %s\n", "model", "batch", "ferry_us", "ort_us", "ratio", "lowest",
           "target", "ferry_rows/s", "verdict");
    for (int m = 0; m < S_NM; m++)
        for (int b = 0; b < S_NB; b++) {
            double f = s_median(fer[m][b], S_ROUNDS), o = s_median(ort[m][b], S_ROUNDS);
            double r = s_median(ratio[m][b], S_ROUNDS), lowest = ratio[m][b][0]; /* sorted by s_median */
            double target = s_batches[b] == 1 ? S_TARGET_B1 : S_TARGET_B1000;
            if (f < 0)
                continue;
            const char *verdict = o <= 0 ? "-" : r >= target ? "meets" : "BELOW TARGET";
            if (o > 0 && r < target)
                rc = 1;
            printf("%-28s %6d %11.1f %11.1f %7.2f %7.2f %8.2f %13.0f  %s\n", s_desc[m], s_batches[b], f, o, r, lowest,
                   target, s_batches[b] / f * 1e6, verdict);
        }
out:
    for (int m = 0; m < S_NM; m++) {
        ferry_engine_destroy(&models[m].engine);
        if (models[m].proto)
            onnx__model_proto__free_unpacked(models[m].proto, NULL);
    }
    for (int b = 0; b < S_NB; b++)
        for (int j = 0; j < S_NF; j++)
            ferry_tensor_clear(&cols[b][j]);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_engine_converted: could not remove %s\n", dir);
    return rc;
}
