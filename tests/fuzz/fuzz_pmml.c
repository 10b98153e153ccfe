/* fuzz_pmml.c -- libFuzzer target: compile any document as PMML, then score a few rows.
 * Whatever the bytes, the compiler must return a model or an error, and evaluation must
 * return a result or an error: no crash, no leak, no unbounded recursion. */
#include "model/pmml.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ferry_err_t err;
    ferry_pmml_t *p = ferry_pmml_load_mem((const char *)data, size, "fuzz.pmml", &err);
    if (!p)
        return 0;
    ferry_pmml_ctx_t *ctx = ferry_pmml_ctx_new(p);
    ferry_pmml_value_t out[64];
    static const char *const texts[] = {"0", "1.5", "-3", "a", "yes", "NaN", "1e308", ""};
    for (int row = 0; row < 4 && p->n_columns <= 64; row++) {
        ferry_pmml_ctx_clear(ctx);
        for (int32_t f = 0; f < p->n_data_fields; f++) {
            const char *t = texts[(size_t)(row * 3 + f) % (sizeof texts / sizeof texts[0])];
            if ((row + f) % 5 == 4)
                ferry_pmml_ctx_set_missing(ctx, f);
            else
                ferry_pmml_ctx_set_str(ctx, f, t, strlen(t));
        }
        ferry_pmml_eval_row(ctx, out, &err);
    }
    /* the batch path over the same fields as numbers */
    enum { N = 20 };
    int32_t nin = p->n_data_fields < 16 ? p->n_data_fields : 16;
    double cols[16][N];
    const double *colp[16];
    int32_t slots[16];
    for (int32_t f = 0; f < nin; f++) {
        for (int r = 0; r < N; r++)
            cols[f][r] = (r % 7 == 3) ? NAN : (double)((r * 13 + f * 7) % 11) - 5;
        colp[f] = cols[f];
        slots[f] = f;
    }
    if (p->n_columns <= 64) {
        static double outv[N * 64];
        static int32_t syms[N * 64];
        uint8_t ok[N];
        ferry_pmml_eval_batch(ctx, nin, slots, colp, NULL, N, outv, syms, ok);
    }
    ferry_pmml_ctx_destroy(&ctx);
    ferry_pmml_destroy(&p);
    return 0;
}
