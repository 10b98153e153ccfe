/* bench_npy.c -- .npy parse/encode throughput against a memcpy of the same bytes (baseline)
 *
 * The reader must copy the data out of the file image into memory it owns, so "malloc +
 * memcpy + free" of the data section is the floor for parsing (both pay the same page
 * faults on fresh memory); the encoder appends to a reused buffer, so its floor is a
 * memcpy into a reused buffer. The ratio shows what header parsing, byte swapping,
 * Fortran reordering and string decoding cost on top. Medians of 11 runs. */
#include "model/npy.h"
#include "util/buf.h"
#include "util/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_RUNS 11
#define S_FLOATS (4u << 20) /* 16 MiB of float32 */
#define S_STRINGS (1u << 18)

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int s_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double s_median(double *v)
{
    qsort(v, S_RUNS, sizeof *v, s_cmp);
    return v[S_RUNS / 2];
}

/* Replace "<f4" by ">f4" or set fortran_order True in an encoded image (same length). */
static void s_patch(ferry_buf_t *img, const char *from, const char *to)
{
    char *p = memmem(img->data, 128, from, strlen(from));
    if (p)
        memcpy(p, to, strlen(to));
}

static void s_case(const char *label, const ferry_buf_t *img, size_t data_bytes)
{
    double parse[S_RUNS], copy[S_RUNS];
    for (int r = 0; r < S_RUNS; r++) {
        double t0 = s_now();
        void *dst = ferry_malloc(data_bytes);
        memcpy(dst, img->data + img->len - data_bytes, data_bytes);
        __asm__ volatile("" : : "r"(dst) : "memory"); /* keep the copy: it is the baseline */
        free(dst);
        copy[r] = s_now() - t0;
        ferry_err_t err;
        t0 = s_now();
        ferry_npy_t *a = ferry_npy_parse("bench.npy", img->data, img->len, &err);
        parse[r] = s_now() - t0;
        if (!a) {
            fprintf(stderr, "bench_npy: %s\n", err.msg);
            exit(1);
        }
        ferry_npy_destroy(&a);
    }
    double p = s_median(parse), c = s_median(copy);
    printf("%-34s parse  %7.2f ms (%5.0f MB/s)   baseline %7.2f ms   ratio %.2fx\n", label, p * 1e3,
           (double)data_bytes / p / 1e6, c * 1e3, p / c);
}

int main(void)
{
    uint64_t shape[2] = {4096, S_FLOATS / 4096};
    ferry_npy_t *a = ferry_npy_new(FERRY_NPY_FLOAT32, 2, shape);
    float *f = a->data;
    for (size_t i = 0; i < S_FLOATS; i++)
        f[i] = (float)i * 0.5f;
    ferry_buf_t img = FERRY_BUF_INIT;
    ferry_err_t err;
    double enc[S_RUNS], copy[S_RUNS];
    char *dst = ferry_malloc(S_FLOATS * 4 + 4096);
    memset(dst, 1, S_FLOATS * 4 + 4096); /* touched, like the reused output buffer */
    for (int r = 0; r < S_RUNS; r++) {
        ferry_buf_reset(&img);
        double t0 = s_now();
        ferry_npy_encode(a, &img, &err);
        enc[r] = s_now() - t0;
        t0 = s_now();
        memcpy(dst, a->data, S_FLOATS * 4);
        __asm__ volatile("" : : "r"(dst) : "memory");
        copy[r] = s_now() - t0;
    }
    free(dst);
    double e = s_median(enc), c = s_median(copy);
    printf("%-34s encode %7.2f ms (%5.0f MB/s)   baseline %7.2f ms   ratio %.2fx\n", "float32 16 MiB, C order", e * 1e3,
           S_FLOATS * 4 / e / 1e6, c * 1e3, e / c);
    s_case("float32 16 MiB, C order, LE", &img, S_FLOATS * 4);
    s_patch(&img, "'<f4'", "'>f4'");
    s_case("float32 16 MiB, big-endian", &img, S_FLOATS * 4);
    s_patch(&img, "'>f4'", "'<f4'");
    s_patch(&img, "False", "True ");
    s_case("float32 4096x1024, Fortran order", &img, S_FLOATS * 4);
    ferry_npy_destroy(&a);

    uint64_t sshape[1] = {S_STRINGS};
    ferry_npy_t *s = ferry_npy_new(FERRY_NPY_STRING, 1, sshape);
    for (size_t i = 0; i < S_STRINGS; i++) {
        char word[16];
        snprintf(word, sizeof word, "w%06zu", i);
        ferry_npy_set_string(s, i, word);
    }
    ferry_buf_reset(&img);
    ferry_npy_encode(s, &img, &err);
    s_case("256Ki strings '<U7' (7 MiB)", &img, S_STRINGS * 7 * 4);
    ferry_npy_destroy(&s);
    ferry_buf_free(&img);
    return 0;
}
