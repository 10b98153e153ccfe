/* test_onnx.c -- unit tests for the ONNX layer: load/save round trip over the ONNX test
 * suite, hostile bytes, external data confinement, zero copy, checker, converter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "model/onnx.h"
#include "model/onnx_check.h"
#include "model/onnx_convert.h"
#include "model/onnx_inspect.h"
#include "model/onnx_ops.h"
#include "model/onnx_wire.h"
#include "util/buf.h"
#include "util/file.h"
#include "util/mem.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NODE_DIR "/usr/include/onnx/backend/test/data/node"

static char s_tmp[256];

static int s_setup_tmp(void **state)
{
    snprintf(s_tmp, sizeof s_tmp, "/tmp/ferry-test-onnx-XXXXXX");
    return mkdtemp(s_tmp) ? 0 : -1;
}

static int s_teardown_tmp(void **state)
{
    char *cmd = ferry_asprintf("rm -rf '%s'", s_tmp);
    int rc = system(cmd);
    free(cmd);
    return rc == 0 ? 0 : -1;
}

static void s_write(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static ferry_onnx_t *s_load_test(const char *name)
{
    char *path = ferry_asprintf("%s/%s/model.onnx", NODE_DIR, name);
    ferry_onnx_t *m = NULL;
    ferry_err_t err;
    int rc = ferry_onnx_load_file(path, &m, &err);
    if (rc < 0)
        fail_msg("%s: %s", path, err.msg);
    free(path);
    return m;
}

/* ---- round trip over every model of libonnx-testdata -------------------------------- */

static void test_round_trip_all_test_models(void **state)
{
    DIR *d = opendir(NODE_DIR);
    assert_non_null(d);
    size_t models = 0, identical = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *path = ferry_asprintf("%s/%s/model.onnx", NODE_DIR, e->d_name);
        struct stat st;
        if (stat(path, &st) < 0) {
            free(path);
            continue;
        }
        ferry_onnx_t *m1, *m2;
        ferry_err_t err;
        if (ferry_onnx_load_file(path, &m1, &err) < 0)
            fail_msg("load %s: %s", path, err.msg);
        ferry_buf_t b1 = FERRY_BUF_INIT, b2 = FERRY_BUF_INIT;
        ferry_onnx_pack(&ferry_onnx_proto(m1)->base, &b1);
        if (ferry_onnx_load_buffer(b1.data, b1.len, NULL, path, &m2, &err) < 0)
            fail_msg("reload %s: %s", path, err.msg);
        ferry_onnx_pack(&ferry_onnx_proto(m2)->base, &b2);
        if (b1.len != b2.len || memcmp(b1.data, b2.data, b1.len) != 0)
            fail_msg("%s: saved and reloaded model differs (%zu vs %zu bytes)", path, b1.len, b2.len);
        size_t orig_len;
        const uint8_t *orig = ferry_onnx_bytes(m1, &orig_len);
        if (orig_len == b1.len && !memcmp(orig, b1.data, orig_len))
            identical++;
        ferry_onnx_destroy(&m2);
        ferry_onnx_destroy(&m1);
        ferry_buf_free(&b1);
        ferry_buf_free(&b2);
        free(path);
        models++;
    }
    closedir(d);
    printf("summary: %zu test models round-tripped, %zu byte-identical to the original file\n", models, identical);
    assert_true(models >= 900);
}

static void test_every_test_model_checks_valid(void **state)
{
    DIR *d = opendir(NODE_DIR);
    assert_non_null(d);
    size_t models = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *path = ferry_asprintf("%s/%s/model.onnx", NODE_DIR, e->d_name);
        ferry_onnx_t *m;
        ferry_err_t err;
        if (access(path, R_OK) == 0) {
            if (ferry_onnx_load_file(path, &m, &err) < 0)
                fail_msg("load %s: %s", path, err.msg);
            ferry_onnx_problems_t p;
            if (ferry_onnx_check(m, &p)) {
                char *line = ferry_onnx_problem_format(&p.items[0]);
                fail_msg("%s: %s", path, line);
            }
            ferry_onnx_problems_free(&p);
            ferry_onnx_destroy(&m);
            models++;
        }
        free(path);
    }
    closedir(d);
    printf("summary: %zu test models pass ferry check\n", models);
    assert_true(models >= 900);
}

/* ---- hostile bytes ----------------------------------------------------------------------- */

static void s_expect_load_error(const uint8_t *data, size_t len, const char *needle)
{
    ferry_onnx_t *m = NULL;
    ferry_err_t err = {{0}};
    int rc = ferry_onnx_load_buffer(data, len, NULL, "hostile.onnx", &m, &err);
    if (rc == 0) {
        ferry_onnx_destroy(&m);
        fail_msg("expected an error containing '%s', the load succeeded", needle);
    }
    assert_null(m);
    if (!strstr(err.msg, needle))
        fail_msg("error '%s' does not contain '%s'", err.msg, needle);
    assert_non_null(strstr(err.msg, "hostile.onnx"));
}

static void test_truncated_and_bitflipped_models_never_crash(void **state)
{
    const char *names[] = {"test_if", "test_loop11", "test_scan9_sum", "test_conv_with_strides_padding",
                           "test_sequence_map_identity_1_sequence"};
    size_t errors = 0, loads = 0;
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    for (size_t k = 0; k < FERRY_ARRAY_LEN(names); k++) {
        char *path = ferry_asprintf("%s/%s/model.onnx", NODE_DIR, names[k]);
        char *data;
        size_t len;
        if (ferry_file_read(path, 1 << 20, &data, &len) < 0) {
            free(path);
            continue;
        }
        uint8_t *copy = ferry_malloc(len + 1);
        for (size_t cut = 0; cut < len; cut++) { /* every prefix */
            memcpy(copy, data, cut);
            ferry_onnx_t *m = NULL;
            ferry_err_t err;
            if (ferry_onnx_load_buffer(copy, cut, NULL, "t", &m, &err) == 0) {
                ferry_onnx_problems_t p;
                ferry_onnx_check(m, &p);
                ferry_onnx_problems_free(&p);
                ferry_onnx_destroy(&m);
                loads++;
            } else {
                assert_true(strlen(err.msg) > 0);
                errors++;
            }
        }
        for (int round = 0; round < 3000; round++) { /* 1 to 4 random bit flips */
            memcpy(copy, data, len);
            int flips = 1 + (int)(rng % 4);
            for (int f = 0; f < flips; f++) {
                rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
                copy[rng % len] ^= (uint8_t)(1u << (rng >> 60 & 7));
            }
            ferry_onnx_t *m = NULL;
            ferry_err_t err;
            if (ferry_onnx_load_buffer(copy, len, NULL, "t", &m, &err) == 0) {
                ferry_onnx_problems_t p;
                ferry_onnx_check(m, &p);
                ferry_onnx_problems_free(&p);
                ferry_onnx_summary_t s;
                ferry_onnx_summarize(m, false, &s);
                ferry_onnx_summary_free(&s);
                ferry_onnx_destroy(&m);
                loads++;
            } else {
                assert_true(strlen(err.msg) > 0);
                errors++;
            }
        }
        free(copy);
        free(data);
        free(path);
    }
    printf("summary: hostile variants: %zu rejected with a message, %zu loaded and checked\n", errors, loads);
    assert_true(errors > 1000);
}

/* ModelProto.graph (7) -> node (1) -> attribute (5) -> g (6) -> node ... `levels` times */
static void s_nested(ferry_buf_t *out, int levels)
{
    ferry_buf_t inner = FERRY_BUF_INIT;
    uint8_t hdr[16];
    static const uint8_t tags[] = {0x32 /* attr.g */, 0x2a /* node.attribute */, 0x0a /* graph.node */};
    for (int i = 0; i < levels; i++) {
        ferry_buf_t outer = FERRY_BUF_INIT;
        uint8_t tag = tags[i % 3];
        ferry_buf_append(&outer, &tag, 1);
        ferry_buf_append(&outer, hdr, ferry_onnx_wire_put_varint(hdr, inner.len));
        if (inner.len)
            ferry_buf_append(&outer, inner.data, inner.len);
        ferry_buf_free(&inner);
        inner = outer;
    }
    /* inner now starts with a graph.node tag at the graph level */
    uint8_t tag = 0x3a; /* ModelProto.graph */
    ferry_buf_append(out, &tag, 1);
    ferry_buf_append(out, hdr, ferry_onnx_wire_put_varint(hdr, inner.len));
    ferry_buf_append(out, inner.data, inner.len);
    ferry_buf_free(&inner);
}

static void test_deep_nesting_is_refused(void **state)
{
    ferry_buf_t b = FERRY_BUF_INIT;
    s_nested(&b, 3 * 1000);
    s_expect_load_error((const uint8_t *)b.data, b.len, "nested deeper than 64 levels");
    ferry_buf_free(&b);
    /* a shallow one of the same shape loads */
    s_nested(&b, 3 * 5);
    ferry_onnx_t *m;
    ferry_err_t err;
    assert_int_equal(ferry_onnx_load_buffer(b.data, b.len, NULL, "ok", &m, &err), 0);
    ferry_onnx_destroy(&m);
    ferry_buf_free(&b);
}

static void test_bad_lengths_and_varints(void **state)
{
    /* graph field claiming 1000 bytes with 3 present */
    const uint8_t overlong[] = {0x3a, 0xe8, 0x07, 0x0a, 0x00, 0x00};
    s_expect_load_error(overlong, sizeof overlong, "exceeds the");
    /* ir_version with an 11-byte varint */
    const uint8_t varint[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    s_expect_load_error(varint, sizeof varint, "varint");
    /* ir_version (int64) sent as length-delimited */
    const uint8_t wiretype[] = {0x0a, 0x01, 0x00};
    s_expect_load_error(wiretype, sizeof wiretype, "wire type");
    /* groups are never used by ONNX */
    const uint8_t group[] = {0x0b, 0x0c};
    s_expect_load_error(group, sizeof group, "groups");
    s_expect_load_error((const uint8_t *)"", 0, "empty");
    /* a tensor repeating a large raw_data field: ambiguous, refused */
    ferry_buf_t tensor = FERRY_BUF_INIT, graph = FERRY_BUF_INIT, model = FERRY_BUF_INIT;
    uint8_t hdr[16], *zeros = ferry_calloc(1, 5000);
    for (int i = 0; i < 2; i++) {
        ferry_buf_append(&tensor, "\x4a", 1);
        ferry_buf_append(&tensor, hdr, ferry_onnx_wire_put_varint(hdr, 5000));
        ferry_buf_append(&tensor, zeros, 5000);
    }
    ferry_buf_append(&graph, "\x2a", 1);
    ferry_buf_append(&graph, hdr, ferry_onnx_wire_put_varint(hdr, tensor.len));
    ferry_buf_append(&graph, tensor.data, tensor.len);
    ferry_buf_append(&model, "\x3a", 1);
    ferry_buf_append(&model, hdr, ferry_onnx_wire_put_varint(hdr, graph.len));
    ferry_buf_append(&model, graph.data, graph.len);
    s_expect_load_error((const uint8_t *)model.data, model.len, "a tensor repeats its raw_data field");
    ferry_buf_free(&tensor);
    ferry_buf_free(&graph);
    ferry_buf_free(&model);
    free(zeros);
    /* field number 0 */
    const uint8_t zero[] = {0x00, 0x01};
    s_expect_load_error(zero, sizeof zero, "invalid field number");
}

static void test_decode_budget_refuses_expansion_bombs(void **state)
{
    /* 4 MiB of empty graph.node entries: 2 bytes each on the wire, ~100 bytes decoded */
    size_t count = (size_t)2 << 20;
    ferry_buf_t graph = FERRY_BUF_INIT;
    ferry_buf_reserve(&graph, 2 * count);
    for (size_t i = 0; i < count; i++)
        ferry_buf_append(&graph, "\x0a\x00", 2);
    ferry_buf_t model = FERRY_BUF_INIT;
    uint8_t hdr[16];
    ferry_buf_append(&model, "\x3a", 1);
    ferry_buf_append(&model, hdr, ferry_onnx_wire_put_varint(hdr, graph.len));
    ferry_buf_append(&model, graph.data, graph.len);
    s_expect_load_error((const uint8_t *)model.data, model.len, "bytes of memory");
    ferry_buf_free(&graph);
    ferry_buf_free(&model);
}

/* ---- zero copy and external data ---------------------------------------------------------- */

/* A model with one float initializer "w" of n elements, inline or external. */
static void s_weight_model(ferry_buf_t *out, size_t n, const char *location, uint64_t offset, int64_t length)
{
    Onnx__ModelProto mp = ONNX__MODEL_PROTO__INIT;
    Onnx__GraphProto g = ONNX__GRAPH_PROTO__INIT;
    Onnx__TensorProto t = ONNX__TENSOR_PROTO__INIT;
    Onnx__OperatorSetIdProto op = ONNX__OPERATOR_SET_ID_PROTO__INIT;
    Onnx__OperatorSetIdProto *ops[] = {&op};
    Onnx__TensorProto *inits[] = {&t};
    Onnx__StringStringEntryProto e_loc = ONNX__STRING_STRING_ENTRY_PROTO__INIT,
                                 e_off = ONNX__STRING_STRING_ENTRY_PROTO__INIT,
                                 e_len = ONNX__STRING_STRING_ENTRY_PROTO__INIT;
    Onnx__StringStringEntryProto *ext[] = {&e_loc, &e_off, &e_len};
    int64_t dims[] = {(int64_t)n};
    char off_s[32], len_s[32];
    float *w = ferry_calloc(n, sizeof *w);
    for (size_t i = 0; i < n; i++)
        w[i] = (float)i * 0.5f;
    mp.has_ir_version = 1;
    mp.ir_version = 8;
    op.domain = "";
    op.has_version = 1;
    op.version = 17;
    mp.n_opset_import = 1;
    mp.opset_import = ops;
    mp.graph = &g;
    g.name = "g";
    g.n_initializer = 1;
    g.initializer = inits;
    t.name = "w";
    t.n_dims = 1;
    t.dims = dims;
    t.has_data_type = 1;
    t.data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    if (location) {
        t.has_data_location = 1;
        t.data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
        e_loc.key = "location";
        e_loc.value = (char *)location;
        e_off.key = "offset";
        snprintf(off_s, sizeof off_s, "%llu", (unsigned long long)offset);
        e_off.value = off_s;
        e_len.key = "length";
        snprintf(len_s, sizeof len_s, "%lld", (long long)length);
        e_len.value = len_s;
        t.n_external_data = 3;
        t.external_data = ext;
    } else {
        t.has_raw_data = 1;
        t.raw_data.data = (uint8_t *)w;
        t.raw_data.len = n * sizeof *w;
    }
    ferry_onnx_pack(&mp.base, out);
    free(w);
}

static void test_large_raw_data_is_not_copied(void **state)
{
    ferry_buf_t b = FERRY_BUF_INIT;
    s_weight_model(&b, 100000, NULL, 0, 0);
    ferry_onnx_t *m;
    ferry_err_t err;
    assert_int_equal(ferry_onnx_load_buffer(b.data, b.len, NULL, "w", &m, &err), 0);
    Onnx__TensorProto *t = ferry_onnx_proto(m)->graph->initializer[0];
    assert_int_equal(t->raw_data.len, 400000);
    assert_true((const char *)t->raw_data.data > b.data && (const char *)t->raw_data.data < b.data + b.len);
    float v;
    memcpy(&v, t->raw_data.data + 4 * 99999, 4);
    assert_true(v == 99999 * 0.5f);
    ferry_onnx_problems_t p;
    assert_int_equal(ferry_onnx_check(m, &p), 0);
    ferry_onnx_problems_free(&p);
    /* saving writes the same bytes back */
    ferry_buf_t again = FERRY_BUF_INIT;
    ferry_onnx_pack(&ferry_onnx_proto(m)->base, &again);
    assert_int_equal(again.len, b.len);
    assert_memory_equal(again.data, b.data, b.len);
    ferry_buf_free(&again);
    ferry_onnx_destroy(&m);
    ferry_onnx_destroy(&m); /* safe twice */
    ferry_buf_free(&b);
}

static void s_expect_file_error(const char *path, const char *needle)
{
    ferry_onnx_t *m = NULL;
    ferry_err_t err;
    int rc = ferry_onnx_load_file(path, &m, &err);
    if (rc == 0) {
        ferry_onnx_destroy(&m);
        fail_msg("%s: expected an error containing '%s'", path, needle);
    }
    if (!strstr(err.msg, needle))
        fail_msg("error '%s' does not contain '%s'", err.msg, needle);
}

static void test_external_data_is_confined(void **state)
{
    char *dir = ferry_asprintf("%s/model", s_tmp);
    char *sub = ferry_asprintf("%s/model/data", s_tmp);
    assert_int_equal(ferry_mkdirs(sub), 0);
    float w[1000];
    for (int i = 0; i < 1000; i++)
        w[i] = (float)i * 0.5f;
    char *bin = ferry_asprintf("%s/data/w.bin", dir);
    char *outside = ferry_asprintf("%s/secret.bin", s_tmp);
    s_write(bin, w, sizeof w);
    s_write(outside, w, sizeof w);
    char *link = ferry_asprintf("%s/data/link.bin", dir);
    assert_int_equal(symlink(outside, link), 0);

    struct {
        const char *location;
        uint64_t offset;
        int64_t length;
        const char *error; /* NULL: loads */
    } cases[] = {
        {"data/w.bin", 0, 4000, NULL},
        {"data/w.bin", 400, 3000, NULL},
        {"../secret.bin", 0, 4000, "'..' are refused"},
        {"data/../../secret.bin", 0, 4000, "'..' are refused"},
        {"/etc/passwd", 0, 4, "absolute paths"},
        {"data/link.bin", 0, 4000, "outside the model's directory"},
        {"data/missing.bin", 0, 4000, "No such file"},
        {"data/w.bin", 2000, 4000, "past the end"},
        {"data", 0, 4, "not a regular file"},
    };
    char *model = ferry_asprintf("%s/model.onnx", dir);
    for (size_t i = 0; i < FERRY_ARRAY_LEN(cases); i++) {
        ferry_buf_t b = FERRY_BUF_INIT;
        size_t n = (size_t)(cases[i].length / 4);
        s_weight_model(&b, n, cases[i].location, cases[i].offset, cases[i].length);
        s_write(model, b.data, b.len);
        ferry_buf_free(&b);
        if (cases[i].error) {
            s_expect_file_error(model, cases[i].error);
            continue;
        }
        ferry_onnx_t *m;
        ferry_err_t err;
        if (ferry_onnx_load_file(model, &m, &err) < 0)
            fail_msg("%s: %s", cases[i].location, err.msg);
        const uint8_t *data;
        size_t len;
        Onnx__TensorProto *t = ferry_onnx_proto(m)->graph->initializer[0];
        assert_int_equal(ferry_onnx_tensor_bytes(m, t, &data, &len, &err), 0);
        assert_int_equal(len, (size_t)cases[i].length);
        assert_memory_equal(data, (const uint8_t *)w + cases[i].offset, len);
        ferry_onnx_problems_t p;
        assert_int_equal(ferry_onnx_check(m, &p), 0);
        ferry_onnx_problems_free(&p);
        /* saving elsewhere copies the external file along */
        char *other = ferry_asprintf("%s/copy", s_tmp);
        char *saved = ferry_asprintf("%s/copy/m.onnx", s_tmp);
        assert_int_equal(ferry_mkdirs(other), 0);
        if (ferry_onnx_save(m, saved, &err) < 0)
            fail_msg("save: %s", err.msg);
        ferry_onnx_t *m2;
        if (ferry_onnx_load_file(saved, &m2, &err) < 0)
            fail_msg("reload: %s", err.msg);
        const uint8_t *data2;
        size_t len2;
        assert_int_equal(ferry_onnx_tensor_bytes(m2, ferry_onnx_proto(m2)->graph->initializer[0], &data2, &len2, &err),
                         0);
        assert_int_equal(len2, len);
        assert_memory_equal(data2, data, len);
        ferry_onnx_destroy(&m2);
        ferry_onnx_destroy(&m);
        free(other);
        free(saved);
    }
    assert_false(ferry_onnx_location_is_safe("a/../b"));
    assert_false(ferry_onnx_location_is_safe(""));
    assert_false(ferry_onnx_location_is_safe("a\\..\\b"));
    assert_true(ferry_onnx_location_is_safe("a/b..c/d"));
    free(model);
    free(link);
    free(outside);
    free(bin);
    free(sub);
    free(dir);
}

/* Weights past 2 GiB: a sparse 3 GiB external file, tensor data at 2.5 GiB. */
static void test_external_data_beyond_2gib(void **state)
{
    char *dir = ferry_asprintf("%s/big", s_tmp);
    assert_int_equal(ferry_mkdirs(dir), 0);
    char *bin = ferry_asprintf("%s/weights.bin", dir);
    FILE *f = fopen(bin, "wb");
    assert_non_null(f);
    const uint64_t offset = (uint64_t)5 << 29; /* 2.5 GiB */
    float w[1000];
    for (int i = 0; i < 1000; i++)
        w[i] = (float)i * 0.5f;
    assert_int_equal(ftruncate(fileno(f), (off_t)3 << 30), 0);
    assert_int_equal(fseeko(f, (off_t)offset, SEEK_SET), 0);
    assert_int_equal(fwrite(w, sizeof w, 1, f), 1);
    fclose(f);
    ferry_buf_t b = FERRY_BUF_INIT;
    s_weight_model(&b, 1000, "weights.bin", offset, (int64_t)sizeof w);
    char *model = ferry_asprintf("%s/model.onnx", dir);
    s_write(model, b.data, b.len);
    ferry_buf_free(&b);
    ferry_onnx_t *m;
    ferry_err_t err;
    if (ferry_onnx_load_file(model, &m, &err) < 0)
        fail_msg("%s", err.msg);
    const uint8_t *data;
    size_t len;
    assert_int_equal(ferry_onnx_tensor_bytes(m, ferry_onnx_proto(m)->graph->initializer[0], &data, &len, &err), 0);
    assert_int_equal(len, sizeof w);
    assert_memory_equal(data, w, sizeof w);
    ferry_onnx_summary_t sum;
    ferry_onnx_summarize(m, false, &sum);
    assert_int_equal(sum.n_external, 1);
    assert_int_equal(sum.external[0].bytes, sizeof w);
    ferry_onnx_summary_free(&sum);
    ferry_onnx_destroy(&m);
    unlink(bin);
    free(model);
    free(bin);
    free(dir);
}

/* ---- checker: deliberately broken variants ------------------------------------------------ */

static void s_expect_problem(ferry_onnx_t *m, const char *needle, long node_index)
{
    ferry_onnx_problems_t p;
    size_t n = ferry_onnx_check(m, &p);
    bool found = false;
    for (size_t i = 0; i < p.count && !found; i++)
        found = strstr(p.items[i].message, needle) && (node_index == -2 || p.items[i].node_index == node_index);
    if (!found) {
        char *first = n ? ferry_onnx_problem_format(&p.items[0]) : ferry_strdup("(no problem)");
        fail_msg("expected a problem containing '%s' at node %ld; got %zu problems, first: %s", needle, node_index, n,
                 first);
    }
    ferry_onnx_problems_free(&p);
}

static char *s_swap_str(char **slot, const char *v)
{
    char *old = *slot;
    *slot = ferry_strdup(v);
    return old;
}

static void test_check_rejects_broken_variants(void **state)
{
    ferry_onnx_t *m;
    Onnx__GraphProto *g;
    char *old;

    m = s_load_test("test_softmax_axis_0");
    g = ferry_onnx_proto(m)->graph;
    old = s_swap_str(&g->node[0]->op_type, "Softmaxx");
    s_expect_problem(m, "unknown operator Softmaxx", 0);
    free(g->node[0]->op_type);
    g->node[0]->op_type = old;
    /* wrong attribute type: axis as a float */
    g->node[0]->attribute[0]->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
    s_expect_problem(m, "has type 1, Softmax-13 declares type 2", 0);
    g->node[0]->attribute[0]->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    old = s_swap_str(&g->node[0]->attribute[0]->name, "axes");
    s_expect_problem(m, "attribute 'axes' is not declared by Softmax-13", 0);
    free(g->node[0]->attribute[0]->name);
    g->node[0]->attribute[0]->name = old;
    /* undefined input, output never produced */
    old = s_swap_str(&g->node[0]->input[0], "nowhere");
    s_expect_problem(m, "input 'nowhere' is not defined", 0);
    free(g->node[0]->input[0]);
    g->node[0]->input[0] = old;
    old = s_swap_str(&g->output[0]->name, "ghost");
    s_expect_problem(m, "graph output 'ghost' is not produced", -1);
    free(g->output[0]->name);
    g->output[0]->name = old;
    /* operator newer than the imported opset */
    ferry_onnx_proto(m)->opset_import[0]->version = 7;
    old = s_swap_str(&g->node[0]->op_type, "Trilu");
    s_expect_problem(m, "operator Trilu is not defined at ai.onnx opset 7 (introduced at opset 14)", 0);
    free(g->node[0]->op_type);
    g->node[0]->op_type = old;
    ferry_onnx_proto(m)->opset_import[0]->version = 13;
    /* missing IR version and opset imports */
    ferry_onnx_proto(m)->has_ir_version = 0;
    s_expect_problem(m, "ir_version is missing", -1);
    ferry_onnx_proto(m)->has_ir_version = 1;
    size_t n_imp = ferry_onnx_proto(m)->n_opset_import;
    ferry_onnx_proto(m)->n_opset_import = 0;
    s_expect_problem(m, "no opset_import", -1);
    ferry_onnx_proto(m)->n_opset_import = n_imp;
    ferry_onnx_problems_t ok;
    assert_int_equal(ferry_onnx_check(m, &ok), 0);
    ferry_onnx_problems_free(&ok);
    ferry_onnx_destroy(&m);

    /* two nodes out of order, and a name assigned twice */
    m = s_load_test("test_softmax_example_expanded"); /* Constant, ReduceMax, Sub, Exp, ReduceSum, Div */
    g = ferry_onnx_proto(m)->graph;
    assert_true(g->n_node >= 3);
    Onnx__NodeProto *second = g->node[1];
    g->node[1] = g->node[2];
    g->node[2] = second;
    s_expect_problem(m, "is used before node 2 produces it (nodes are not topologically sorted)", 1);
    g->node[2] = g->node[1];
    g->node[1] = second;
    old = s_swap_str(&g->node[2]->output[0], g->node[1]->output[0]);
    s_expect_problem(m, "is already defined", 2);
    free(g->node[2]->output[0]);
    g->node[2]->output[0] = old;
    assert_int_equal(ferry_onnx_check(m, &ok), 0);
    ferry_onnx_problems_free(&ok);
    ferry_onnx_destroy(&m);

    /* a required attribute missing: Cast without 'to' */
    m = s_load_test("test_cast_FLOAT_to_DOUBLE");
    g = ferry_onnx_proto(m)->graph;
    old = s_swap_str(&g->node[0]->attribute[0]->name, "too");
    s_expect_problem(m, "required attribute 'to' of Cast-13 is missing", 0);
    free(g->node[0]->attribute[0]->name);
    g->node[0]->attribute[0]->name = old;
    ferry_onnx_destroy(&m);

    /* an operator removed from the spec: Upsample at opset 10 */
    m = s_load_test("test_upsample_nearest");
    ferry_onnx_proto(m)->opset_import[0]->version = 10;
    s_expect_problem(m, "operator Upsample was removed (deprecated) at ai.onnx opset 10", 0);
    ferry_onnx_destroy(&m);

    /* initializer sizes inconsistent with dims */
    ferry_buf_t b = FERRY_BUF_INIT;
    s_weight_model(&b, 10, NULL, 0, 0);
    assert_int_equal(ferry_onnx_load_buffer(b.data, b.len, NULL, "w", &m, &(ferry_err_t){{0}}), 0);
    ferry_onnx_proto(m)->graph->initializer[0]->dims[0] = 11;
    s_expect_problem(m, "raw data holds 40 bytes, but dims give 11 elements of float (44 bytes)", -1);
    ferry_onnx_proto(m)->graph->initializer[0]->dims[0] = -1;
    s_expect_problem(m, "dims are negative", -1);
    ferry_onnx_proto(m)->graph->initializer[0]->data_type = 99;
    ferry_onnx_proto(m)->graph->initializer[0]->dims[0] = 10;
    s_expect_problem(m, "data_type 99 is not a valid tensor element type", -1);
    ferry_onnx_destroy(&m);
    ferry_buf_free(&b);
}

static void test_ops_table(void **state)
{
    assert_int_equal(ferry_onnx_opset_latest, 17);
    const ferry_onnx_op_def_t *d = ferry_onnx_op_find("", "Softmax", 12);
    assert_non_null(d);
    assert_int_equal(d->since_version, 11);
    assert_int_equal(ferry_onnx_op_find("ai.onnx", "Softmax", 17)->since_version, 13);
    assert_null(ferry_onnx_op_find("", "Trilu", 13));
    assert_non_null(ferry_onnx_op_find("ai.onnx.ml", "TreeEnsembleClassifier", 3));
    assert_true(ferry_onnx_op_find("", "Upsample", 10)->deprecated);
    const ferry_onnx_attr_def_t *a = ferry_onnx_op_attr(ferry_onnx_op_find("", "Cast", 13), "to");
    assert_non_null(a);
    assert_true(a->required);
    assert_int_equal(a->type, 2);
    /* Add-13 has no uint8, Add-14 does */
    assert_int_equal(ferry_onnx_op_type_mask(ferry_onnx_op_find("", "Add", 13), false, 0) & (1u << 2), 0);
    assert_int_not_equal(ferry_onnx_op_type_mask(ferry_onnx_op_find("", "Add", 14), false, 0) & (1u << 2), 0);
}

/* ---- inspect ------------------------------------------------------------------------------ */

static void test_inspect_summary_and_json(void **state)
{
    ferry_onnx_t *m = s_load_test("test_if");
    ferry_onnx_summary_t s;
    assert_int_equal(ferry_onnx_summarize(m, true, &s), 0);
    assert_int_equal(s.n_opsets, 1);
    assert_int_equal(s.main_graph_nodes, 1);
    assert_int_equal(s.subgraphs, 2);
    assert_int_equal(s.node_count, 3);
    assert_int_equal(strlen(s.sha256), 64);
    ferry_buf_t out = FERRY_BUF_INIT;
    ferry_json_t j;
    ferry_json_init(&j, &out, false);
    ferry_onnx_summary_json(&s, &j);
    assert_non_null(strstr(out.data, "\"operators\":[{\"domain\":\"ai.onnx\",\"op_type\":\"Constant\",\"count\":2},"
                                      "{\"domain\":\"ai.onnx\",\"op_type\":\"If\",\"count\":1}]"));
    ferry_buf_free(&out);
    ferry_onnx_summary_free(&s);
    ferry_onnx_destroy(&m);

    /* symbolic dims are kept as strings */
    m = s_load_test("test_softmax_axis_0");
    Onnx__TensorShapeProto__Dimension *d = ferry_onnx_proto(m)->graph->input[0]->type->tensor_type->shape->dim[0];
    d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
    d->dim_param = ferry_strdup("batch");
    assert_int_equal(ferry_onnx_summarize(m, false, &s), 0);
    ferry_json_init(&j, &out, false);
    ferry_onnx_summary_json(&s, &j);
    assert_non_null(strstr(out.data, "\"shape\":[\"batch\",4,5]"));
    ferry_buf_free(&out);
    ferry_onnx_summary_free(&s);
    ferry_onnx_destroy(&m);
}

/* ---- converter ------------------------------------------------------------------------------ */

static Onnx__NodeProto *s_find_op(Onnx__GraphProto *g, const char *op)
{
    for (size_t i = 0; i < g->n_node; i++)
        if (!strcmp(g->node[i]->op_type, op))
            return g->node[i];
    return NULL;
}

static int64_t s_default_opset(ferry_onnx_t *m)
{
    Onnx__ModelProto *mp = ferry_onnx_proto(m);
    for (size_t i = 0; i < mp->n_opset_import; i++)
        if (!*ferry_onnx_domain_canonical(mp->opset_import[i]->domain))
            return mp->opset_import[i]->version;
    return -1;
}

static void test_convert_attributes_and_inputs(void **state)
{
    ferry_onnx_convert_report_t r;
    ferry_err_t err;
    /* ReduceSum-13 takes axes as an input (here from a Constant node) */
    ferry_onnx_t *m = s_load_test("test_softmax_example_expanded");
    Onnx__NodeProto *n = s_find_op(ferry_onnx_proto(m)->graph, "ReduceSum");
    assert_int_equal(n->n_input, 2);
    if (ferry_onnx_convert_opset(m, 11, &r, &err) < 0)
        fail_msg("%s", err.msg);
    n = s_find_op(ferry_onnx_proto(m)->graph, "ReduceSum");
    assert_int_equal(n->n_input, 1);
    assert_string_equal(n->attribute[n->n_attribute - 1]->name, "axes");
    assert_int_equal(s_default_opset(m), 11);
    ferry_onnx_problems_t p;
    assert_int_equal(ferry_onnx_check(m, &p), 0);
    ferry_onnx_problems_free(&p);
    if (ferry_onnx_convert_opset(m, 13, &r, &err) < 0)
        fail_msg("%s", err.msg);
    n = s_find_op(ferry_onnx_proto(m)->graph, "ReduceSum");
    assert_int_equal(n->n_input, 2);
    for (size_t i = 0; i < n->n_attribute; i++)
        assert_string_not_equal(n->attribute[i]->name, "axes");
    assert_int_equal(r.nodes_added, 1);
    assert_int_equal(ferry_onnx_check(m, &p), 0);
    ferry_onnx_problems_free(&p);
    ferry_onnx_destroy(&m);

    /* axes from a graph input cannot become an attribute */
    m = s_load_test("test_unsqueeze_axis_0");
    assert_int_equal(ferry_onnx_convert_opset(m, 11, &r, &err), -ENOTSUP);
    assert_non_null(strstr(err.msg, "is computed at run time; opset 11 needs it as a constant attribute"));
    ferry_onnx_destroy(&m);

    /* Upsample-9 -> Resize at 10 and later */
    m = s_load_test("test_upsample_nearest");
    if (ferry_onnx_convert_opset(m, 13, &r, &err) < 0)
        fail_msg("%s", err.msg);
    assert_non_null(s_find_op(ferry_onnx_proto(m)->graph, "Resize"));
    assert_null(s_find_op(ferry_onnx_proto(m)->graph, "Upsample"));
    ferry_onnx_destroy(&m);
}

static void test_convert_refuses_with_reason(void **state)
{
    ferry_onnx_convert_report_t r;
    ferry_err_t err;
    ferry_onnx_t *m = s_load_test("test_tril"); /* Trilu, opset 14 */
    assert_int_equal(ferry_onnx_convert_opset(m, 13, &r, &err), -ENOTSUP);
    assert_non_null(strstr(err.msg, "(Trilu): cannot convert from opset 14 to 13: Trilu does not exist before "
                                    "opset 14"));
    ferry_onnx_destroy(&m);
    m = s_load_test("test_add_uint8"); /* Add-14 takes uint8, Add-13 does not */
    assert_int_equal(ferry_onnx_convert_opset(m, 13, &r, &err), -ENOTSUP);
    assert_non_null(strstr(err.msg, "Add-13 does not accept uint8 for input 0"));
    ferry_onnx_destroy(&m);
    m = s_load_test("test_add");
    assert_int_equal(ferry_onnx_convert_opset(m, 6, &r, &err), -ERANGE);
    assert_int_equal(ferry_onnx_convert_opset(m, 18, &r, &err), -ERANGE);
    ferry_onnx_destroy(&m);
}

static void test_convert_keeps_other_domains(void **state)
{
    ferry_onnx_t *m = s_load_test("test_softmax_axis_0");
    Onnx__ModelProto *mp = ferry_onnx_proto(m);
    /* add ai.onnx.ml opset 3 and a Binarizer node after the Softmax */
    Onnx__OperatorSetIdProto *ml = ferry_malloc(sizeof *ml);
    onnx__operator_set_id_proto__init(ml);
    ml->domain = ferry_strdup("ai.onnx.ml");
    ml->has_version = 1;
    ml->version = 3;
    mp->opset_import = ferry_reallocarray(mp->opset_import, mp->n_opset_import + 1, sizeof *mp->opset_import);
    mp->opset_import[mp->n_opset_import++] = ml;
    Onnx__GraphProto *g = mp->graph;
    Onnx__NodeProto *bin = ferry_malloc(sizeof *bin);
    onnx__node_proto__init(bin);
    bin->op_type = ferry_strdup("Binarizer");
    bin->domain = ferry_strdup("ai.onnx.ml");
    bin->n_input = 1;
    bin->input = ferry_malloc(sizeof(char *));
    free(g->node[0]->output[0]);
    g->node[0]->output[0] = ferry_strdup("soft");
    bin->input[0] = ferry_strdup("soft");
    bin->n_output = 1;
    bin->output = ferry_malloc(sizeof(char *));
    bin->output[0] = ferry_strdup(g->output[0]->name);
    g->node = ferry_reallocarray(g->node, g->n_node + 1, sizeof *g->node);
    g->node[g->n_node++] = bin;
    ferry_onnx_problems_t p;
    assert_int_equal(ferry_onnx_check(m, &p), 0);
    ferry_onnx_problems_free(&p);
    ferry_onnx_convert_report_t r;
    ferry_err_t err;
    /* axis 0 of a rank-3 input: rebuilt with Shape + Flatten + Softmax + Reshape at 13 */
    if (ferry_onnx_convert_opset(m, 13, &r, &err) < 0)
        fail_msg("%s", err.msg);
    if (ferry_onnx_convert_opset(m, 17, &r, &err) < 0)
        fail_msg("%s", err.msg);
    Onnx__NodeProto *kept = s_find_op(g, "Binarizer");
    assert_non_null(kept);
    assert_string_equal(kept->domain, "ai.onnx.ml");
    bool ml_kept = false;
    for (size_t i = 0; i < mp->n_opset_import; i++)
        ml_kept |= !strcmp(mp->opset_import[i]->domain, "ai.onnx.ml") && mp->opset_import[i]->version == 3;
    assert_true(ml_kept);
    assert_int_equal(s_default_opset(m), 17);
    assert_int_equal(ferry_onnx_check(m, &p), 0);
    ferry_onnx_problems_free(&p);
    ferry_onnx_destroy(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_all_test_models),
        cmocka_unit_test(test_every_test_model_checks_valid),
        cmocka_unit_test(test_truncated_and_bitflipped_models_never_crash),
        cmocka_unit_test(test_deep_nesting_is_refused),
        cmocka_unit_test(test_bad_lengths_and_varints),
        cmocka_unit_test(test_decode_budget_refuses_expansion_bombs),
        cmocka_unit_test(test_large_raw_data_is_not_copied),
        cmocka_unit_test(test_external_data_is_confined),
        cmocka_unit_test(test_external_data_beyond_2gib),
        cmocka_unit_test(test_check_rejects_broken_variants),
        cmocka_unit_test(test_ops_table),
        cmocka_unit_test(test_inspect_summary_and_json),
        cmocka_unit_test(test_convert_attributes_and_inputs),
        cmocka_unit_test(test_convert_refuses_with_reason),
        cmocka_unit_test(test_convert_keeps_other_domains),
    };
    return cmocka_run_group_tests(tests, s_setup_tmp, s_teardown_tmp);
}
