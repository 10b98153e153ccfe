/* bench_engine.c -- ferry's engine vs ONNX Runtime 1.30 (onnxruntime-node), single thread,
 * same models, same inputs, same run: logistic regression (LinearClassifier), random forest
 * 100 trees (TreeEnsembleClassifier), gradient boosting 300 trees (TreeEnsembleRegressor),
 * MLP 20-64-64-1 (MatMul/Add/Relu), at batch 1 and batch 1000.
 *
 * Models and inputs come from bench/engine_bench_models.py (Debian's python3 + sklearn);
 * ONNX Runtime is timed inside node by bench/engine_ort_bench.js (process start and session
 * creation excluded). ferry is timed here: set input + run per call, medians of 15 samples.
 * Both are timed in 3 alternating rounds; each figure is the median over the rounds and
 * the ratio is the median of the per-round ratios (a shared machine's load shifts).
 * Prints per-call medians, rows/s and the ratio ORT time / ferry time (> 1: ferry faster).
 * Needs runners/ort-node/node_modules (make deps); without it only ferry's figures print. */
#include "model/engine.h"
#include "model/tensor.h"
#include "util/file.h"
#include "util/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define S_SAMPLES 15
#define S_SAMPLE_TARGET_NS 25e6
#define S_ROUNDS 3 /* ORT then ferry, three times: the machine's load shifts between them */
#define S_MAX_FILE ((size_t)256 << 20)

static const char *s_names[] = {"logreg", "rf100", "gbr300", "mlp"};
static const char *s_desc[] = {"logistic regression (LinearClassifier)", "random forest 100 trees (TreeEnsembleClassifier)",
                               "gradient boosting 300 trees (TreeEnsembleRegressor)", "MLP 20-64-64-1 (MatMul/Add/Relu)"};
static const int s_batches[] = {1, 1000};

static double s_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* median per-call microseconds of set_input + run, or -1 */
static double s_time_ferry(const char *dir, const char *name, int batch)
{
    char path[1024];
    char *bytes = NULL, *tb = NULL;
    size_t len = 0, tlen = 0;
    double result = -1;
    ferry_err_t err;
    snprintf(path, sizeof(path), "%s/%s.onnx", dir, name);
    if (ferry_file_read(path, S_MAX_FILE, &bytes, &len) < 0) {
        fprintf(stderr, "bench_engine: cannot read %s\n", path);
        return -1;
    }
    Onnx__ModelProto *model = onnx__model_proto__unpack(NULL, len, (const uint8_t *)bytes);
    ferry_engine_t *e = model ? ferry_engine_new(model, NULL, &err) : NULL;
    ferry_tensor_t *x = ferry_tensor_new();
    snprintf(path, sizeof(path), "%s/%s_b%d.pb", dir, name, batch);
    if (!e || ferry_file_read(path, S_MAX_FILE, &tb, &tlen) < 0 ||
        ferry_tensor_from_pb_bytes(x, (const uint8_t *)tb, tlen, path, &err) < 0) {
        fprintf(stderr, "bench_engine: %s: %s\n", name, e ? err.msg : "engine refused the model");
        goto out;
    }
    for (int i = 0; i < 20; i++) /* warm-up: buffers reach their steady size */
        if (ferry_engine_set_input(e, "X", x, &err) < 0 || ferry_engine_run(e, &err) < 0) {
            fprintf(stderr, "bench_engine: %s: %s\n", name, err.msg);
            goto out;
        }
    double t0 = s_now_ns();
    long calls = 0;
    while (s_now_ns() - t0 < 10e6) {
        ferry_engine_set_input(e, "X", x, &err);
        ferry_engine_run(e, &err);
        calls++;
    }
    long per_sample = (long)(calls * S_SAMPLE_TARGET_NS / 10e6);
    if (per_sample < 1)
        per_sample = 1;
    double samples[S_SAMPLES];
    for (int s = 0; s < S_SAMPLES; s++) {
        t0 = s_now_ns();
        for (long i = 0; i < per_sample; i++) {
            ferry_engine_set_input(e, "X", x, &err);
            ferry_engine_run(e, &err);
        }
        samples[s] = (s_now_ns() - t0) / (double)per_sample / 1000.0;
    }
    qsort(samples, S_SAMPLES, sizeof(double), s_cmp_double);
    result = samples[S_SAMPLES / 2];
out:
    ferry_tensor_destroy(&x);
    ferry_engine_destroy(&e);
    if (model)
        onnx__model_proto__free_unpacked(model, NULL);
    free(bytes);
    free(tb);
    return result;
}

static double s_ort_lookup(const char *json, const char *name, int batch)
{
    char key[128];
    snprintf(key, sizeof(key), "\"%s/%d\":{\"median_us\":", name, batch);
    const char *p = json ? strstr(json, key) : NULL;
    return p ? strtod(p + strlen(key), NULL) : -1;
}

int main(void)
{
    char dir[] = "/tmp/ferry-bench-engine-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("bench_engine: mkdtemp");
        return 1;
    }
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 bench/engine_bench_models.py %s 2>/dev/null", dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "bench_engine: generating the models failed (%s)\n", cmd);
        return 1;
    }
    const char *nm = getenv("FERRY_ORT_NODE_MODULES");
    if (!nm)
        nm = "runners/ort-node/node_modules";
    snprintf(cmd, sizeof(cmd), "%s/onnxruntime-node", nm);
    bool has_ort = access(cmd, F_OK) == 0;
    if (!has_ort)
        printf("ONNX Runtime (onnxruntime-node) not installed in %s: ferry figures only (make deps)\n", nm);
    enum { NM = FERRY_ARRAY_LEN(s_names), NB = FERRY_ARRAY_LEN(s_batches) };
    double fer[NM][NB][S_ROUNDS], ort[NM][NB][S_ROUNDS], ratio[NM][NB][S_ROUNDS];
    char *ort_json = NULL;
    int rc = 0;
    for (int round = 0; round < S_ROUNDS; round++) {
        free(ort_json);
        ort_json = NULL;
        if (has_ort) {
            snprintf(cmd, sizeof(cmd), "NODE_PATH=%s node bench/engine_ort_bench.js %s/cases.json", nm, dir);
            FILE *p = popen(cmd, "r");
            if (p) {
                size_t cap = 1 << 16, n = 0, got;
                ort_json = ferry_malloc(cap);
                while (n + 1 < cap && (got = fread(ort_json + n, 1, cap - 1 - n, p)) > 0)
                    n += got;
                ort_json[n] = 0;
                if (pclose(p) != 0) {
                    fprintf(stderr, "bench_engine: ONNX Runtime timing failed\n");
                    free(ort_json);
                    ort_json = NULL;
                    rc = 1;
                }
            }
        }
        for (int m = 0; m < NM; m++)
            for (int b = 0; b < NB; b++) {
                fer[m][b][round] = s_time_ferry(dir, s_names[m], s_batches[b]);
                ort[m][b][round] = s_ort_lookup(ort_json, s_names[m], s_batches[b]);
                ratio[m][b][round] = fer[m][b][round] > 0 && ort[m][b][round] > 0 ? ort[m][b][round] / fer[m][b][round] : -1;
                if (fer[m][b][round] < 0)
                    rc = 1;
            }
    }
    printf("single thread; per-call medians of %d samples, median of %d alternating rounds;\n"
           "ratio = ORT time / ferry time, median of the per-round ratios (> 1: ferry faster)\n",
           S_SAMPLES, S_ROUNDS);
    printf("%-8s %6s %12s %12s %8s %14s %14s\n", "model", "batch", "ferry_us", "ort_us", "ratio", "ferry_rows/s",
           "ort_rows/s");
    for (int m = 0; m < NM; m++)
        for (int b = 0; b < NB; b++) {
            qsort(fer[m][b], S_ROUNDS, sizeof(double), s_cmp_double);
            qsort(ort[m][b], S_ROUNDS, sizeof(double), s_cmp_double);
            qsort(ratio[m][b], S_ROUNDS, sizeof(double), s_cmp_double);
            double f = fer[m][b][S_ROUNDS / 2], o = ort[m][b][S_ROUNDS / 2], r = ratio[m][b][S_ROUNDS / 2];
            int batch = s_batches[b];
            if (f < 0)
                continue;
            if (o > 0)
                printf("%-8s %6d %12.2f %12.2f %8.2f %14.0f %14.0f\n", s_names[m], batch, f, o, r, batch / f * 1e6,
                       batch / o * 1e6);
            else
                printf("%-8s %6d %12.2f %12s %8s %14.0f %14s\n", s_names[m], batch, f, "-", "-", batch / f * 1e6, "-");
        }
    for (size_t m = 0; m < FERRY_ARRAY_LEN(s_names); m++)
        printf("  %-8s %s\n", s_names[m], s_desc[m]);
    free(ort_json);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_engine: could not remove %s\n", dir);
    return rc;
}
