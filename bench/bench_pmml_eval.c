/* bench_pmml_eval.c -- records/s of the compiled PMML evaluator (driven by bench_pmml.py)
 *
 * usage: bench_pmml_eval MODEL.pmml DATA.bin N_ROWS N_FIELDS
 * DATA.bin holds N_ROWS x N_FIELDS little-endian doubles, row-major, for the first
 * N_FIELDS DataDictionary fields. Prints one line:
 *   batch_rps=<median records/s, columnar batch API> single_us=<median µs per 1-row call>
 * and writes nothing else. Without arguments it says how to run it and exits 0 (the
 * sklearn side-by-side comparison lives in bench_pmml.py). */
#include "model/pmml.h"
#include "util/file.h"
#include "util/mem.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_REPS 5
#define S_SINGLE_CALLS 2000

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int s_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        printf("bench_pmml_eval: run through bench/bench_pmml.py (it builds the models and the sklearn baseline)\n");
        return 0;
    }
    ferry_err_t err;
    ferry_pmml_t *p = ferry_pmml_load(argv[1], &err);
    if (!p) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    size_t n = strtoul(argv[3], NULL, 10);
    int32_t nf = (int32_t)strtol(argv[4], NULL, 10);
    char *raw;
    size_t len;
    if (ferry_file_read(argv[2], (size_t)1 << 32, &raw, &len) < 0 || len != n * (size_t)nf * sizeof(double) ||
        nf > p->n_data_fields || nf < 1) {
        fprintf(stderr, "bench_pmml_eval: %s: expected %zu x %d doubles\n", argv[2], n, nf);
        return 1;
    }
    const double *rows = (const double *)raw;
    double **cols = ferry_calloc((size_t)nf, sizeof(double *));
    int32_t *slots = ferry_calloc((size_t)nf, sizeof(int32_t));
    for (int32_t j = 0; j < nf; j++) {
        cols[j] = ferry_malloc(n * sizeof(double));
        for (size_t i = 0; i < n; i++)
            cols[j][i] = rows[i * (size_t)nf + (size_t)j];
        slots[j] = j;
    }
    ferry_pmml_ctx_t *ctx = ferry_pmml_ctx_new(p);
    int32_t nc = p->n_columns;
    double *out = ferry_malloc(n * (size_t)(nc ? nc : 1) * sizeof(double));
    uint8_t *ok = ferry_malloc(n);
    double rates[S_REPS];
    for (int rep = 0; rep < S_REPS; rep++) {
        double t0 = s_now();
        int failures = ferry_pmml_eval_batch(ctx, nf, slots, (const double *const *)cols, NULL, n, out, NULL, ok);
        double t1 = s_now();
        if (failures) {
            fprintf(stderr, "bench_pmml_eval: %d rows failed\n", failures);
            return 1;
        }
        rates[rep] = (double)n / (t1 - t0);
    }
    qsort(rates, S_REPS, sizeof(double), s_cmp);
    /* batch size 1: one row per call through the same API */
    double lat[S_REPS];
    for (int rep = 0; rep < S_REPS; rep++) {
        double t0 = s_now();
        for (int k = 0; k < S_SINGLE_CALLS; k++) {
            size_t i = (size_t)k % n;
            const double *one[64];
            double vals[64];
            for (int32_t j = 0; j < nf && j < 64; j++) {
                vals[j] = cols[j][i];
                one[j] = &vals[j];
            }
            ferry_pmml_eval_batch(ctx, nf, slots, one, NULL, 1, out, NULL, ok);
        }
        lat[rep] = (s_now() - t0) / S_SINGLE_CALLS * 1e6;
    }
    qsort(lat, S_REPS, sizeof(double), s_cmp);
    /* checksum so the work cannot be optimised away, and a sanity value for the driver */
    double sum = 0;
    for (size_t i = 0; i < n * (size_t)nc; i++)
        if (!isnan(out[i]))
            sum += out[i];
    printf("batch_rps=%.0f single_us=%.3f checksum=%.6g\n", rates[S_REPS / 2], lat[S_REPS / 2], sum);
    for (int32_t j = 0; j < nf; j++)
        free(cols[j]);
    free(cols);
    free(slots);
    free(out);
    free(ok);
    free(raw);
    ferry_pmml_ctx_destroy(&ctx);
    ferry_pmml_destroy(&p);
    return 0;
}
