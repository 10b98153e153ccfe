/* test_dataset.c -- unit tests for model/dataset: RFC 4180 quoting, missing cells, errors */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "model/dataset.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void s_expect_row(ferry_csv_t *c, int ncells, const char *const *cells)
{
    ferry_err_t err = {{0}};
    int r = ferry_csv_next(c, &err);
    if (r != 1)
        fail_msg("expected a record, got %d (%s)", r, err.msg);
    assert_int_equal(ferry_csv_ncells(c), ncells);
    for (int i = 0; i < ncells; i++)
        assert_string_equal(ferry_csv_cell(c, (size_t)i, NULL), cells[i]);
}

static void test_quoting_and_line_ends(void **state)
{
    const char *data = "a,b,c\r\n1,\"x,y\",\"he said \"\"hi\"\"\"\n\"multi\nline\",,NA\n\n3,N/A,\"\"";
    ferry_csv_t *c = ferry_csv_open_mem(data, strlen(data), "t.csv", 1);
    s_expect_row(c, 3, (const char *const[]){"a", "b", "c"});
    assert_int_equal(ferry_csv_line(c), 1);
    s_expect_row(c, 3, (const char *const[]){"1", "x,y", "he said \"hi\""});
    s_expect_row(c, 3, (const char *const[]){"multi\nline", "", "NA"});
    assert_int_equal(ferry_csv_line(c), 3);
    s_expect_row(c, 3, (const char *const[]){"3", "N/A", ""});
    assert_int_equal(ferry_csv_line(c), 6); /* the blank line is skipped, lines still count */
    ferry_err_t err;
    assert_int_equal(ferry_csv_next(c, &err), 0);
    ferry_csv_destroy(&c);
    ferry_csv_destroy(&c);
    assert_null(c);
}

static void test_missing_tokens(void **state)
{
    assert_true(ferry_csv_is_missing("", 0));
    assert_true(ferry_csv_is_missing("NA", 2));
    assert_true(ferry_csv_is_missing("N/A", 3));
    assert_false(ferry_csv_is_missing("na", 2));
    assert_false(ferry_csv_is_missing("0", 1));
    assert_false(ferry_csv_is_missing("NAN", 3));
}

static void s_expect_error(const char *data, const char *where)
{
    ferry_csv_t *c = ferry_csv_open_mem(data, strlen(data), "bad.csv", 1);
    ferry_err_t err = {{0}};
    int r;
    while ((r = ferry_csv_next(c, &err)) == 1)
        ;
    assert_int_equal(r, -1);
    if (!strstr(err.msg, where))
        fail_msg("error \"%s\" does not name \"%s\"", err.msg, where);
    ferry_csv_destroy(&c);
}

static void test_malformed_input_names_line_and_column(void **state)
{
    s_expect_error("a,b\n1,\"open", "bad.csv:2: column 2: unterminated");
    s_expect_error("a,b\n1,\"x\"y\n", "bad.csv:2: column 2: unexpected character after closing quote");
    s_expect_error("a,b\n1,2\n3,x\"y\n", "bad.csv:3: column 2: quote inside an unquoted field");
}

static void test_bounds(void **state)
{
    /* a very wide record is refused with a message, not an allocation storm */
    size_t n = (FERRY_CSV_MAX_COLUMNS + 10) * 2;
    char *data = malloc(n + 1);
    for (size_t i = 0; i < n; i += 2) {
        data[i] = 'x';
        data[i + 1] = ',';
    }
    data[n] = '\0';
    s_expect_error(data, "more than");
    free(data);
}

/* ferry_parse_double must agree with glibc's strtod bit for bit, fast path or not */
static void test_parse_double_matches_strtod(void **state)
{
    static const char *const fixed[] = {"0", "-0", "1", "0.1", "-2.5e-3", "123456789012345", "1234567890123456",
                                        "9007199254740993", "1e22", "1e23", "4.9e-324", "1.7976931348623157e308",
                                        "1e309", "  7.25\t", "+.5", "5.", ".e1", "1e", "0x1p3", "inf", "-NaN", "1,5",
                                        "12abc", "", " ", "00000000000000000000000001.5", "0.000000000000000000000123"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        const char *t = fixed[i];
        char *end;
        double want = strtod(t, &end);
        while (*end == ' ' || *end == '\t')
            end++;
        bool is_valid = end != t && !*end && strspn(t, " \t") != strlen(t);
        double got = -1;
        bool ok = ferry_parse_double(t, strlen(t), &got);
        if (ok != is_valid)
            fail_msg("\"%s\": accepted %d, strtod says %d", t, ok, is_valid);
        if (ok && memcmp(&got, &want, sizeof got) && !(got != got && want != want))
            fail_msg("\"%s\": %.17g, strtod %.17g", t, got, want);
    }
    /* random decimals of every length and exponent */
    uint64_t x = 88172645463325252ull;
    for (int n = 0; n < 200000; n++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        char t[64];
        int digits = 1 + (int)(x % 19), point = (int)((x >> 8) % 21), e = (int)((x >> 16) % 61) - 30;
        int len = 0;
        if ((x >> 24) & 1)
            t[len++] = '-';
        uint64_t y = x;
        for (int d = 0; d < digits; d++) {
            if (d == point)
                t[len++] = '.';
            t[len++] = (char)('0' + (y % 10));
            y = y / 10 ? y / 10 : x >> 3;
        }
        if ((x >> 30) & 1)
            len += snprintf(t + len, sizeof t - (size_t)len, "e%d", e);
        t[len] = '\0';
        double want = strtod(t, NULL), got;
        assert_true(ferry_parse_double(t, (size_t)len, &got));
        if (memcmp(&got, &want, sizeof got))
            fail_msg("\"%s\": %.17g, strtod %.17g", t, got, want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quoting_and_line_ends),
        cmocka_unit_test(test_missing_tokens),
        cmocka_unit_test(test_malformed_input_names_line_and_column),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_parse_double_matches_strtod),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
