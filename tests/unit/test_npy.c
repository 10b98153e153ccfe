/* test_npy.c -- unit tests for model/npy: round trips of every dtype, byte order and
 * Fortran order conversion, and hostile headers and data (numpy itself is the oracle
 * in tests/oracle/test_npy.py) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "model/npy.h"
#include "util/mem.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A .npy image with the given version, header text (padded here) and data. */
static void s_image(ferry_buf_t *out, int major, const char *header, const void *data, size_t data_len)
{
    ferry_buf_reset(out);
    ferry_buf_append(out, "\x93NUMPY", 6);
    unsigned char v[2] = {(unsigned char)major, 0};
    ferry_buf_append(out, v, 2);
    size_t hlen = strlen(header) + 1;
    unsigned char len[4] = {(unsigned char)hlen, (unsigned char)(hlen >> 8), (unsigned char)(hlen >> 16),
                            (unsigned char)(hlen >> 24)};
    ferry_buf_append(out, len, major == 1 ? 2 : 4);
    ferry_buf_puts(out, header);
    ferry_buf_putc(out, '\n');
    if (data_len)
        ferry_buf_append(out, data, data_len);
}

/* Parse must fail with a message containing want. */
static void s_expect_error(const ferry_buf_t *img, const char *want)
{
    ferry_err_t err = {{0}};
    /* an exact-size heap copy so ASan catches any over-read */
    char *copy = ferry_malloc(img->len ? img->len : 1);
    memcpy(copy, img->data, img->len);
    ferry_npy_t *a = ferry_npy_parse("t.npy", copy, img->len, &err);
    free(copy);
    if (a) {
        ferry_npy_destroy(&a);
        fail_msg("accepted a bad image (wanted an error containing '%s')", want);
    }
    if (!strstr(err.msg, want))
        fail_msg("error '%s' lacks '%s'", err.msg, want);
}

static void test_round_trip_every_dtype(void **state)
{
    const uint64_t shapes[][3] = {{2, 3, 4}, {5, 0, 0}, {0, 0, 0}};
    const size_t ndims[] = {3, 1, 0};
    for (int t = 0; t < FERRY_NPY_STRING; t++) {
        for (size_t s = 0; s < FERRY_ARRAY_LEN(ndims); s++) {
            ferry_npy_t *a = ferry_npy_new((ferry_npy_dtype_t)t, ndims[s], shapes[s]);
            assert_non_null(a);
            size_t size = ferry_npy_itemsize(a->dtype);
            unsigned char *p = a->data;
            for (uint64_t i = 0; i < a->count * size; i++)
                p[i] = t == FERRY_NPY_BOOL ? (unsigned char)(i & 1) : (unsigned char)(i * 37 + 11);
            ferry_buf_t img = FERRY_BUF_INIT;
            ferry_err_t err;
            assert_int_equal(ferry_npy_encode(a, &img, &err), 0);
            /* numpy's layout: version 1.0, data aligned to 64 bytes, header ends in '\n' */
            size_t hlen = (unsigned char)img.data[8] | (size_t)(unsigned char)img.data[9] << 8;
            assert_int_equal(img.data[6], 1);
            assert_int_equal((10 + hlen) % 64, 0);
            assert_int_equal(img.data[10 + hlen - 1], '\n');
            ferry_npy_t *b = ferry_npy_parse("rt.npy", img.data, img.len, &err);
            if (!b)
                fail_msg("%s: %s", ferry_npy_dtype_name(a->dtype), err.msg);
            assert_int_equal(b->dtype, a->dtype);
            assert_int_equal(b->ndim, a->ndim);
            assert_int_equal(b->count, a->count);
            assert_memory_equal(b->shape, a->shape, a->ndim * sizeof(uint64_t));
            if (a->count)
                assert_memory_equal(b->data, a->data, a->count * size);
            ferry_npy_destroy(&a);
            ferry_npy_destroy(&b);
            assert_null(b);
            ferry_npy_destroy(&b);
            ferry_buf_free(&img);
        }
    }
    assert_int_equal(ferry_npy_dtype_from_name("float32"), FERRY_NPY_FLOAT32);
    assert_int_equal(ferry_npy_dtype_from_name("string"), FERRY_NPY_STRING);
    assert_int_equal(ferry_npy_dtype_from_name("complex64"), -1);
}

static void test_strings(void **state)
{
    uint64_t shape[] = {2, 2};
    ferry_npy_t *a = ferry_npy_new(FERRY_NPY_STRING, 2, shape);
    assert_string_equal(a->strings[3], "");
    assert_int_equal(ferry_npy_set_string(a, 0, "héllo"), 0);
    assert_int_equal(ferry_npy_set_string(a, 1, "日本語"), 0);
    assert_int_equal(ferry_npy_set_string(a, 2, "\xf0\x9f\x98\x80 emoji"), 0);
    assert_int_equal(ferry_npy_set_string(a, 2, "replaced \xf0\x9f\x98\x80"), 0);
    assert_int_equal(ferry_npy_set_string(a, 3, "\xff"), -EINVAL);
    assert_int_equal(ferry_npy_set_string(a, 3, "\xed\xa0\x80"), -EINVAL); /* a surrogate */
    assert_int_equal(ferry_npy_set_string(a, 3, "\xc0\x80"), -EINVAL);     /* overlong NUL */
    assert_int_equal(ferry_npy_set_string(a, 4, "x"), -EINVAL);
    ferry_buf_t img = FERRY_BUF_INIT;
    ferry_err_t err;
    assert_int_equal(ferry_npy_encode(a, &img, &err), 0);
    assert_non_null(memmem(img.data, img.len, "'descr': '<U10'", 15));
    ferry_npy_t *b = ferry_npy_parse("s.npy", img.data, img.len, &err);
    if (!b)
        fail_msg("%s", err.msg);
    assert_string_equal(b->strings[0], "héllo");
    assert_string_equal(b->strings[1], "日本語");
    assert_string_equal(b->strings[2], "replaced \xf0\x9f\x98\x80");
    assert_string_equal(b->strings[3], "");
    assert_true(isnan(ferry_npy_get_double(b, 0)));
    /* a string set on a parsed array (pool-owned strings) is freed correctly */
    assert_int_equal(ferry_npy_set_string(b, 0, "new"), 0);
    ferry_npy_destroy(&a);
    ferry_npy_destroy(&b);

    /* '|S' bytes arrays read as UTF-8; trailing NULs are padding */
    s_image(&img, 1, "{'descr': '|S3', 'fortran_order': False, 'shape': (2,), }", "abcc\0\0", 6);
    b = ferry_npy_parse("b.npy", img.data, img.len, &err);
    if (!b)
        fail_msg("%s", err.msg);
    assert_string_equal(b->strings[0], "abc");
    assert_string_equal(b->strings[1], "c");
    ferry_npy_destroy(&b);
    s_image(&img, 1, "{'descr': '|S2', 'fortran_order': False, 'shape': (1,), }", "a\0", 2);
    b = ferry_npy_parse("b.npy", img.data, img.len, &err);
    assert_non_null(b);
    ferry_npy_destroy(&b);
    s_image(&img, 1, "{'descr': '|S2', 'fortran_order': False, 'shape': (1,), }", "\0a", 2);
    s_expect_error(&img, "NUL byte");
    s_image(&img, 1, "{'descr': '|S2', 'fortran_order': False, 'shape': (1,), }", "\xff\xfe", 2);
    s_expect_error(&img, "not UTF-8");
    /* '<U' with bad code points */
    uint32_t surrogate[2] = {0xd800, 0}, too_big[2] = {0x110000, 0}, inner_nul[2] = {0, 'a'};
    s_image(&img, 1, "{'descr': '<U2', 'fortran_order': False, 'shape': (1,), }", surrogate, 8);
    s_expect_error(&img, "invalid character (U+D800)");
    s_image(&img, 1, "{'descr': '<U2', 'fortran_order': False, 'shape': (1,), }", too_big, 8);
    s_expect_error(&img, "invalid character");
    s_image(&img, 1, "{'descr': '<U2', 'fortran_order': False, 'shape': (1,), }", inner_nul, 8);
    s_expect_error(&img, "invalid character (U+0000)");
    /* big-endian UTF-32 */
    unsigned char be[8] = {0, 0, 0, 'h', 0, 0, 0x65, 0xe5};
    s_image(&img, 1, "{'descr': '>U2', 'fortran_order': False, 'shape': (), }", be, 8);
    b = ferry_npy_parse("be.npy", img.data, img.len, &err);
    if (!b)
        fail_msg("%s", err.msg);
    assert_string_equal(b->strings[0], "h\xe6\x97\xa5"); /* h + U+65E5 */
    ferry_npy_destroy(&b);
    ferry_buf_free(&img);
}

static void test_byte_order_fortran_and_versions(void **state)
{
    ferry_buf_t img = FERRY_BUF_INIT;
    ferry_err_t err;
    /* big-endian int32 1, 2, 258 */
    unsigned char be[12] = {0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 1, 2};
    s_image(&img, 1, "{'descr': '>i4', 'fortran_order': False, 'shape': (3,), }", be, 12);
    ferry_npy_t *a = ferry_npy_parse("be.npy", img.data, img.len, &err);
    assert_non_null(a);
    assert_int_equal(((int32_t *)a->data)[0], 1);
    assert_int_equal(((int32_t *)a->data)[2], 258);
    ferry_npy_destroy(&a);

    /* Fortran order 2x3: memory holds columns: [0 3][1 4][2 5] -> C order 0..5 */
    double f[6] = {0, 3, 1, 4, 2, 5};
    s_image(&img, 1, "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3), }", f, sizeof f);
    a = ferry_npy_parse("f.npy", img.data, img.len, &err);
    assert_non_null(a);
    for (int i = 0; i < 6; i++)
        assert_true(((double *)a->data)[i] == i);
    ferry_npy_destroy(&a);
    /* 2x3x2 Fortran: element (i,j,k) at i + 2j + 6k holds value 6i + 2j + k (its C index) */
    double f3[12];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 2; k++)
                f3[i + 2 * j + 6 * k] = 6 * i + 2 * j + k;
    s_image(&img, 1, "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 3, 2), }", f3, sizeof f3);
    a = ferry_npy_parse("f3.npy", img.data, img.len, &err);
    assert_non_null(a);
    for (int i = 0; i < 12; i++)
        if (((double *)a->data)[i] != i)
            fail_msg("C index %d holds %g", i, ((double *)a->data)[i]);
    ferry_npy_destroy(&a);

    /* versions 2.0 and 3.0 (u32 header length), double-quoted keys, Python 2 longs */
    float one = 1.0f;
    s_image(&img, 2, "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (1L,)}", &one, 4);
    a = ferry_npy_parse("v2.npy", img.data, img.len, &err);
    if (!a)
        fail_msg("%s", err.msg);
    ferry_npy_destroy(&a);
    s_image(&img, 3, "{'shape': (1, 1), 'fortran_order': False, 'descr': '<f4'}", &one, 4);
    a = ferry_npy_parse("v3.npy", img.data, img.len, &err);
    assert_non_null(a);
    assert_true(ferry_npy_get_double(a, 0) == 1.0);
    ferry_npy_destroy(&a);

    /* float16 bits -> double */
    uint16_t h[4] = {0x3e00, 0xc000, 0x7c00, 0x0001};
    s_image(&img, 1, "{'descr': '<f2', 'fortran_order': False, 'shape': (4,), }", h, 8);
    a = ferry_npy_parse("h.npy", img.data, img.len, &err);
    assert_non_null(a);
    assert_true(ferry_npy_get_double(a, 0) == 1.5);
    assert_true(ferry_npy_get_double(a, 1) == -2.0);
    assert_true(isinf(ferry_npy_get_double(a, 2)));
    assert_true(ferry_npy_get_double(a, 3) == ldexp(1, -24));
    assert_true(isnan(ferry_npy_get_double(a, 4)));
    ferry_npy_destroy(&a);

    /* a header too big for 1.0 is written as 2.0 */
    uint64_t shape[FERRY_NPY_MAX_DIMS];
    for (int i = 0; i < FERRY_NPY_MAX_DIMS; i++)
        shape[i] = 1;
    a = ferry_npy_new(FERRY_NPY_UINT8, FERRY_NPY_MAX_DIMS, shape);
    ferry_buf_t out = FERRY_BUF_INIT;
    assert_int_equal(ferry_npy_encode(a, &out, &err), 0);
    assert_int_equal(out.data[6], 1); /* still small */
    ferry_npy_destroy(&a);
    ferry_buf_free(&out);
    ferry_buf_free(&img);
}

static void test_hostile_headers(void **state)
{
    ferry_buf_t img = FERRY_BUF_INIT;
    float x[4] = {0};
    struct {
        const char *header;
        const char *want;
        size_t data_len; /* 0 = 4 bytes: exactly one float32 */
    } cases[] = {
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}", "unknown key 'extra'", 0},
        {"{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,)}", "duplicate key 'descr'", 0},
        {"{'descr': '<f4', 'shape': (1,)}", "needs the keys", 0},
        {"{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,)}", "structured dtypes", 0},
        {"{'descr': '|O', 'fortran_order': False, 'shape': (1,)}", "object arrays are refused", 0},
        {"{'descr': '<c8', 'fortran_order': False, 'shape': (1,)}", "dtype '<c8' is not supported", 0},
        {"{'descr': '<f3', 'fortran_order': False, 'shape': (1,)}", "not supported", 0},
        {"{'descr': '<U0', 'fortran_order': False, 'shape': (1,)}", "string width 0", 0},
        {"{'descr': '<U99999999', 'fortran_order': False, 'shape': (1,)}", "string width", 0},
        {"{'descr': 'f4', 'fortran_order': False, 'shape': (1,)}", "not supported", 0},
        {"{'descr': '<f4', 'fortran_order': 'yes', 'shape': (1,)}", "True or False", 0},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1)}", "trailing comma", 0},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (-1,)}", "non-negative integer", 0},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': [1]}", "expected a tuple", 0},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2 3)}", "expected ',' or ')'", 0},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,)}", "too large", 0},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296)}", "too large", 0},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,)} junk", "after the closing", 0},
        {"{'descr': '<f\\x34', 'fortran_order': False, 'shape': (1,)}", "unexpected text", 0},
        {"{'descr': '<f4, 'fortran_order': False, 'shape': (1,)}", "malformed", 0},
        {"{'descr' '<f4'}", "expected ':'", 0},
        {"['descr']", "expected '{'", 0},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,) 'x': 1}", "expected ',' or '}'", 0},
        {"", "expected '{'", 0},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", "truncated file", 4},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (), }", "trailing bytes", 8},
        {"{'descr': '<f4', 'fortran_order': False, 'shape': (0,), }", "trailing bytes", 4},
    };
    for (size_t i = 0; i < FERRY_ARRAY_LEN(cases); i++) {
        s_image(&img, 1, cases[i].header, x, cases[i].data_len ? cases[i].data_len : 4);
        s_expect_error(&img, cases[i].want);
    }
    /* 33 dimensions */
    ferry_buf_t h = FERRY_BUF_INIT;
    ferry_buf_puts(&h, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    for (int i = 0; i < 33; i++)
        ferry_buf_puts(&h, "1, ");
    ferry_buf_puts(&h, ")}");
    s_image(&img, 1, h.data, x, 4);
    s_expect_error(&img, "more than 32 dimensions");
    ferry_buf_free(&h);
    /* bool values other than 0/1 */
    s_image(&img, 1, "{'descr': '|b1', 'fortran_order': False, 'shape': (2,)}", "\x01\x02", 2);
    s_expect_error(&img, "bool element 1 is 2");
    /* preamble problems */
    ferry_buf_reset(&img);
    ferry_buf_append(&img, "\x93NUMPX\x01\x00\x00\x00", 10);
    s_expect_error(&img, "not a .npy file");
    ferry_buf_reset(&img);
    ferry_buf_append(&img, "\x93NUMPY\x04\x00\x10\x00", 10);
    s_expect_error(&img, "version 4.0 is not supported");
    ferry_buf_reset(&img);
    ferry_buf_append(&img, "\x93NUMPY\x02\x00\xff\xff\xff\x7f", 12);
    s_expect_error(&img, "header too large");
    ferry_buf_reset(&img);
    ferry_buf_append(&img, "\x93NUMPY\x01\x00\xff\x00{", 11);
    s_expect_error(&img, "truncated .npy header");
    ferry_buf_reset(&img);
    ferry_buf_append(&img, "\x93NUMPY\x02\x00\xff", 9);
    s_expect_error(&img, "not a .npy file"); /* under 10 bytes */
    ferry_buf_append(&img, "\x00", 1);
    s_expect_error(&img, "truncated .npy preamble");
    ferry_err_t err;
    assert_null(ferry_npy_parse(NULL, NULL, 0, &err));
    assert_null(ferry_npy_read("/nonexistent/x.npy", &err));
    assert_non_null(strstr(err.msg, "/nonexistent/x.npy: cannot read"));
    ferry_buf_free(&img);
}

/* Every prefix of valid images must be refused cleanly (and never over-read). */
static void test_every_truncation(void **state)
{
    uint64_t shape[] = {3, 2};
    ferry_npy_t *num = ferry_npy_new(FERRY_NPY_FLOAT64, 2, shape);
    ferry_npy_t *str = ferry_npy_new(FERRY_NPY_STRING, 2, shape);
    ferry_npy_set_string(str, 1, "日本");
    ferry_npy_t *arrays[] = {num, str};
    size_t tried = 0;
    for (size_t k = 0; k < FERRY_ARRAY_LEN(arrays); k++) {
        ferry_buf_t img = FERRY_BUF_INIT;
        ferry_err_t err;
        assert_int_equal(ferry_npy_encode(arrays[k], &img, &err), 0);
        for (size_t cut = 0; cut < img.len; cut++) {
            char *copy = ferry_malloc(cut ? cut : 1);
            memcpy(copy, img.data, cut);
            ferry_npy_t *a = ferry_npy_parse("cut.npy", copy, cut, &err);
            free(copy);
            if (a)
                fail_msg("a %zu-byte prefix of a %zu-byte image parsed", cut, img.len);
            tried++;
        }
        /* and random corruption never crashes */
        srand(7);
        for (int round = 0; round < 2000; round++) {
            char *copy = ferry_malloc(img.len);
            memcpy(copy, img.data, img.len);
            for (int f = 0; f < 3; f++)
                copy[(size_t)rand() % img.len] = (char)rand();
            ferry_npy_t *a = ferry_npy_parse("flip.npy", copy, img.len, &err);
            ferry_npy_destroy(&a);
            free(copy);
        }
        ferry_buf_free(&img);
    }
    ferry_npy_destroy(&num);
    ferry_npy_destroy(&str);
    printf("summary: %zu truncated .npy images refused\n", tried);
}

static void test_file_write_read(void **state)
{
    char path[] = "/tmp/ferry-npy-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    uint64_t shape[] = {4};
    ferry_npy_t *a = ferry_npy_new(FERRY_NPY_INT64, 1, shape);
    int64_t *v = a->data;
    v[0] = INT64_MIN;
    v[1] = -1;
    v[2] = 0;
    v[3] = INT64_MAX;
    ferry_err_t err;
    assert_int_equal(ferry_npy_write(path, a, &err), 0);
    ferry_npy_t *b = ferry_npy_read(path, &err);
    assert_non_null(b);
    assert_memory_equal(a->data, b->data, 32);
    ferry_npy_destroy(&a);
    ferry_npy_destroy(&b);
    unlink(path);
    assert_int_equal(ferry_npy_write("/nonexistent/dir/x.npy", b, &err), -EINVAL); /* NULL array */
    uint64_t bad_shape[] = {UINT64_MAX, 2};
    assert_null(ferry_npy_new(FERRY_NPY_FLOAT32, 2, bad_shape));
    assert_null(ferry_npy_new(FERRY_NPY_DTYPE_COUNT, 1, shape));
    assert_null(ferry_npy_new(FERRY_NPY_FLOAT32, FERRY_NPY_MAX_DIMS + 1, bad_shape));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_every_dtype),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_byte_order_fortran_and_versions),
        cmocka_unit_test(test_hostile_headers),
        cmocka_unit_test(test_every_truncation),
        cmocka_unit_test(test_file_write_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
