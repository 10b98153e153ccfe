/* test_util.c -- unit tests for util/: buffers, JSON writer, SHA-256, files */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/buf.h"
#include "util/file.h"
#include "util/json.h"
#include "util/mem.h"
#include "util/sha256.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_buf_grows_and_terminates(void **state)
{
    ferry_buf_t b = FERRY_BUF_INIT;
    for (int i = 0; i < 1000; i++)
        ferry_buf_printf(&b, "%d,", i);
    assert_int_equal(b.len, strlen(b.data));
    assert_memory_equal(b.data, "0,1,2,", 6);
    assert_string_equal(b.data + b.len - 4, "999,");
    char *s = ferry_buf_steal(&b);
    assert_null(b.data);
    free(s);
}

static void test_json_nesting_and_escapes(void **state)
{
    ferry_buf_t b = FERRY_BUF_INIT;
    ferry_json_t j;
    ferry_json_init(&j, &b, false);
    ferry_json_obj_begin(&j);
    ferry_json_key(&j, "s");
    ferry_json_str(&j, "a\"b\\c\n\x01");
    ferry_json_key(&j, "a");
    ferry_json_arr_begin(&j);
    ferry_json_int(&j, -3);
    ferry_json_double(&j, 0.1);
    ferry_json_double(&j, 1.0 / 0.0);
    ferry_json_bool(&j, true);
    ferry_json_arr_end(&j);
    ferry_json_key(&j, "e");
    ferry_json_obj_begin(&j);
    ferry_json_obj_end(&j);
    ferry_json_key(&j, "bad");
    ferry_json_strn(&j, "\xff\xc3\xa9", 3);
    ferry_json_obj_end(&j);
    assert_string_equal(b.data, "{\"s\":\"a\\\"b\\\\c\\n\\u0001\",\"a\":[-3,0.1,null,true],\"e\":{},"
                                "\"bad\":\"\\u00ff\xc3\xa9\"}");
    ferry_buf_free(&b);
}

/* FIPS 180-4 example vectors (NIST CSRC "SHA256.pdf"). */
static void test_sha256_vectors(void **state)
{
    char hex[65];
    ferry_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    ferry_sha256_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    ferry_sha256_hex(two, strlen(two), hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    /* one million 'a', fed in odd-sized pieces to exercise the block buffer */
    ferry_sha256_t ctx;
    ferry_sha256_init(&ctx);
    char chunk[997];
    memset(chunk, 'a', sizeof chunk);
    size_t left = 1000000;
    while (left) {
        size_t n = left < sizeof chunk ? left : sizeof chunk;
        ferry_sha256_update(&ctx, chunk, n);
        left -= n;
    }
    uint8_t d[32];
    ferry_sha256_final(&ctx, d);
    ferry_sha256_to_hex(d, hex);
    assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

static void test_file_atomic_write_and_read(void **state)
{
    char dir[] = "/tmp/ferry-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *path = ferry_asprintf("%s/sub/dir/f.txt", dir);
    char *sub = ferry_asprintf("%s/sub/dir", dir);
    assert_int_equal(ferry_mkdirs(sub), 0);
    assert_int_equal(ferry_file_write_atomic(path, "hello", 5), 0);
    assert_int_equal(ferry_file_write_atomic(path, "world!", 6), 0);
    char *data;
    size_t len;
    assert_int_equal(ferry_file_read(path, 1 << 20, &data, &len), 0);
    assert_int_equal(len, 6);
    assert_string_equal(data, "world!");
    free(data);
    assert_int_equal(ferry_file_read(path, 3, &data, &len), -EFBIG);
    ferry_map_t m;
    assert_int_equal(ferry_file_map(path, &m), 0);
    assert_int_equal(m.len, 6);
    assert_memory_equal(m.data, "world!", 6);
    ferry_file_unmap(&m);
    char hex[65];
    assert_int_equal(ferry_sha256_file(path, hex), 0);
    char want[65];
    ferry_sha256_hex("world!", 6, want);
    assert_string_equal(hex, want);
    assert_int_equal(ferry_file_read("/nonexistent/x", 10, &data, &len), -ENOENT);
    unlink(path);
    rmdir(sub);
    char *mid = ferry_asprintf("%s/sub", dir);
    rmdir(mid);
    rmdir(dir);
    free(mid);
    free(path);
    free(sub);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_grows_and_terminates),
        cmocka_unit_test(test_json_nesting_and_escapes),
        cmocka_unit_test(test_sha256_vectors),
        cmocka_unit_test(test_file_atomic_write_and_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
