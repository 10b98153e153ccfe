/* test_onnx_fast.c -- the wire-format reader for inspect + check (model/onnx_fast.h) against
 * the protobuf-c path (ferry_onnx_load_buffer_readonly + ferry_onnx_summarize + ferry_onnx_check):
 * the inspect JSON and the check JSON must be byte-equal, and a refused model must get the
 * loader's message word for word, on every backend test model, on broken variants and on
 * truncated and bit-flipped bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "model/onnx.h"
#include "model/onnx_check.h"
#include "model/onnx_fast.h"
#include "model/onnx_inspect.h"
#include "model/onnx_wire.h"
#include "util/buf.h"
#include "util/file.h"
#include "util/json.h"
#include "util/mem.h"

#include <dirent.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NODE_DIR "/usr/include/onnx/backend/test/data/node"
#define MAX_MODEL_BYTES (64 << 20)

static char *s_json(ferry_onnx_summary_t *s, ferry_onnx_problems_t *p)
{
    ferry_buf_t out = FERRY_BUF_INIT;
    ferry_json_t j;
    ferry_json_init(&j, &out, false);
    ferry_json_obj_begin(&j);
    ferry_onnx_summary_json_members(s, &j);
    ferry_json_key(&j, "check");
    ferry_onnx_problems_json(p, &j);
    ferry_json_obj_end(&j);
    ferry_buf_putc(&out, '\0');
    ferry_onnx_summary_free(s);
    ferry_onnx_problems_free(p);
    return out.data;
}

/* The protobuf-c path: JSON document, or "error: MESSAGE". */
static char *s_tree(const uint8_t *data, size_t len, const char *name)
{
    ferry_onnx_t *m;
    ferry_err_t err;
    if (ferry_onnx_load_buffer_readonly(data, len, NULL, name, &m, &err) < 0)
        return ferry_asprintf("error: %s", err.msg);
    ferry_onnx_summary_t s;
    ferry_onnx_problems_t p;
    ferry_onnx_summarize(m, true, &s);
    ferry_onnx_check(m, &p);
    ferry_onnx_destroy(&m);
    return s_json(&s, &p);
}

/* What `ferry inspect --check` runs: the fast reader, or the loader where it hands over. */
static char *s_fast(const uint8_t *data, size_t len, const char *name, bool *used_fast)
{
    ferry_onnx_summary_t s;
    ferry_onnx_problems_t p;
    ferry_err_t err;
    if (ferry_onnx_analyze_buffer(data, len, NULL, name, true, &s, &p, used_fast, &err) < 0)
        return ferry_asprintf("error: %s", err.msg);
    return s_json(&s, &p);
}

/* The fast reader's node parse and checks: serial (threshold out of reach), or parallel from
 * one node on, with a thread count that changes from call to call (2, 3, 4, 7, 16: chunk edges
 * move; one thread is the serial code). */
static const char *const s_thread_counts[] = {"2", "3", "4", "7", "16"};
static unsigned s_next_threads;

static void s_mode(bool is_parallel)
{
    if (is_parallel) {
        setenv("FERRY_ONNX_PARALLEL_MIN", "1", 1);
        setenv("FERRY_ONNX_THREADS", s_thread_counts[s_next_threads++ % FERRY_ARRAY_LEN(s_thread_counts)], 1);
    } else {
        setenv("FERRY_ONNX_PARALLEL_MIN", "4000000000", 1);
        unsetenv("FERRY_ONNX_THREADS");
    }
}

static void s_diff(const char *name, size_t len, const char *what, bool used_fast, const char *want, const char *got)
{
    if (!strcmp(want, got))
        return;
    size_t i = 0;
    while (want[i] && want[i] == got[i])
        i++;
    size_t from = i > 80 ? i - 80 : 0;
    fail_msg("%s (%zu bytes, %s, %s path): outputs differ at byte %zu:\n  want: ...%.200s\n  got:  ...%.200s", name,
             len, what, used_fast ? "fast" : "fallback", i, want + from, got + from);
}

/* Compare both paths on data, the fast one with the serial and with the parallel node check;
 * returns whether the fast reader answered. */
static bool s_same(const uint8_t *data, size_t len, const char *name)
{
    bool used_fast = false, used_fast_par = false;
    char *tree = s_tree(data, len, name);
    s_mode(false);
    char *fast = s_fast(data, len, name, &used_fast);
    s_diff(name, len, "serial check", used_fast, tree, fast);
    s_mode(true);
    char *par = s_fast(data, len, name, &used_fast_par);
    s_diff(name, len, "parallel check", used_fast_par, tree, par);
    unsetenv("FERRY_ONNX_PARALLEL_MIN");
    unsetenv("FERRY_ONNX_THREADS");
    assert_int_equal(used_fast, used_fast_par);
    free(tree);
    free(fast);
    free(par);
    return used_fast;
}

static void test_every_backend_model_gives_the_same_answer(void **state)
{
    DIR *d = opendir(NODE_DIR);
    assert_non_null(d);
    size_t models = 0, fast = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char *path = ferry_asprintf("%s/%s/model.onnx", NODE_DIR, e->d_name);
        char *data;
        size_t len;
        if (ferry_file_read(path, MAX_MODEL_BYTES, &data, &len) == 0) {
            fast += s_same((const uint8_t *)data, len, path);
            models++;
            free(data);
        }
        free(path);
    }
    closedir(d);
    printf("summary: %zu backend test models, inspect + check identical on both paths, %zu by the fast reader\n",
           models, fast);
    assert_true(models >= 900);
    assert_int_equal(fast, models); /* none of them needs the loader */
}

static ferry_onnx_t *s_load(const char *name)
{
    char *path = ferry_asprintf("%s/%s/model.onnx", NODE_DIR, name);
    ferry_onnx_t *m = NULL;
    ferry_err_t err;
    if (ferry_onnx_load_file(path, &m, &err) < 0)
        fail_msg("%s: %s", path, err.msg);
    free(path);
    return m;
}

/* The fast path finds a problem whose message contains needle. */
static void s_assert_problem(const uint8_t *data, size_t len, const char *label, const char *needle)
{
    ferry_onnx_summary_t s;
    ferry_onnx_problems_t p;
    assert_int_equal(ferry_onnx_fast_analyze(data, len, label, false, &s, &p), 0);
    bool found = false;
    for (size_t i = 0; i < p.count && !found; i++)
        found = strstr(p.items[i].message, needle) != NULL;
    if (!found)
        fail_msg("%s: no problem containing '%s' (%zu problems)", label, needle, p.total);
    ferry_onnx_summary_free(&s);
    ferry_onnx_problems_free(&p);
}

/* Pack the (modified) model and compare both paths on the bytes; expect a problem when
 * needle is non-NULL, so each variant is known to be broken the intended way. */
static size_t s_variant(ferry_onnx_t *m, const char *label, const char *needle)
{
    ferry_buf_t b = FERRY_BUF_INIT;
    ferry_onnx_pack(&ferry_onnx_proto(m)->base, &b);
    bool fast = s_same((const uint8_t *)b.data, b.len, label);
    if (needle) {
        s_assert_problem((const uint8_t *)b.data, b.len, label, needle);
    }
    ferry_buf_free(&b);
    return fast;
}

static void s_set(char **slot, const char *v)
{
    free(*slot);
    *slot = v ? ferry_strdup(v) : NULL;
}

static void test_broken_variants_give_the_same_problems(void **state)
{
    size_t variants = 0, fast = 0;
    ferry_onnx_t *m = s_load("test_softmax_axis_0");
    Onnx__ModelProto *mp = ferry_onnx_proto(m);
    Onnx__GraphProto *g = mp->graph;
    s_set(&g->node[0]->op_type, "Softmaxx");
    fast += s_variant(m, "unknown op", "unknown operator Softmaxx"), variants++;
    s_set(&g->node[0]->op_type, "");
    fast += s_variant(m, "no op_type", "node has no op_type"), variants++;
    s_set(&g->node[0]->op_type, "Softmax");
    g->node[0]->attribute[0]->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
    fast += s_variant(m, "attribute type", "declares type 2"), variants++;
    g->node[0]->attribute[0]->has_type = 0;
    fast += s_variant(m, "attribute without type", "has no type"), variants++;
    g->node[0]->attribute[0]->has_type = 1;
    g->node[0]->attribute[0]->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
    fast += s_variant(m, "attribute without value", "carries no value"), variants++;
    g->node[0]->attribute[0]->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    s_set(&g->node[0]->attribute[0]->name, "axes");
    fast += s_variant(m, "undeclared attribute", "is not declared by Softmax-13"), variants++;
    s_set(&g->node[0]->attribute[0]->name, "axis");
    s_set(&g->node[0]->input[0], "nowhere");
    fast += s_variant(m, "undefined input", "input 'nowhere' is not defined"), variants++;
    s_set(&g->node[0]->input[0], g->input[0]->name);
    s_set(&g->node[0]->domain, "com.example");
    fast += s_variant(m, "domain not imported", "domain 'com.example' is not imported"), variants++;
    s_set(&g->node[0]->domain, "ai.onnx");
    fast += s_variant(m, "domain spelled ai.onnx", NULL), variants++;
    s_set(&g->node[0]->domain, NULL);
    s_set(&g->output[0]->name, "ghost");
    fast += s_variant(m, "output never produced", "graph output 'ghost' is not produced"), variants++;
    s_set(&g->output[0]->name, "");
    fast += s_variant(m, "output without a name", "graph output 0 has no name"), variants++;
    s_set(&g->output[0]->name, g->node[0]->output[0]);
    mp->opset_import[0]->version = 7;
    s_set(&g->node[0]->op_type, "Trilu");
    fast += s_variant(m, "operator too new", "is not defined at ai.onnx opset 7 (introduced at opset 14)"), variants++;
    s_set(&g->node[0]->op_type, "Softmax");
    mp->opset_import[0]->version = 13;
    mp->has_ir_version = 0;
    fast += s_variant(m, "no ir_version", "ir_version is missing"), variants++;
    mp->has_ir_version = 1;
    size_t n_imp = mp->n_opset_import;
    mp->n_opset_import = 0;
    fast += s_variant(m, "no opset_import", "no opset_import"), variants++;
    mp->n_opset_import = n_imp;
    fast += s_variant(m, "valid again", NULL), variants++;
    ferry_onnx_destroy(&m);

    m = s_load("test_softmax_example_expanded"); /* Constant, ReduceMax, Sub, Exp, ReduceSum, Div */
    g = ferry_onnx_proto(m)->graph;
    Onnx__NodeProto *second = g->node[1];
    g->node[1] = g->node[2];
    g->node[2] = second;
    fast += s_variant(m, "unsorted", "is used before node 2 produces it"), variants++;
    g->node[2] = g->node[1];
    g->node[1] = second;
    char *old = g->node[2]->output[0];
    g->node[2]->output[0] = ferry_strdup(g->node[1]->output[0]);
    fast += s_variant(m, "assigned twice", "is already defined"), variants++;
    free(g->node[2]->output[0]);
    g->node[2]->output[0] = old;
    s_set(&g->input[0]->name, "");
    fast += s_variant(m, "input without a name", "graph input 0 has no name"), variants++;
    ferry_onnx_destroy(&m);

    m = s_load("test_cast_FLOAT_to_DOUBLE");
    g = ferry_onnx_proto(m)->graph;
    s_set(&g->node[0]->attribute[0]->name, "too");
    fast += s_variant(m, "required attribute missing", "required attribute 'to' of Cast-13 is missing"), variants++;
    /* more attributes than the pairwise comparison handles, one given twice */
    Onnx__NodeProto *node = g->node[0];
    size_t n_attr = 20;
    node->attribute = ferry_reallocarray(node->attribute, n_attr, sizeof *node->attribute);
    for (size_t i = node->n_attribute; i < n_attr; i++) {
        Onnx__AttributeProto *a = ferry_malloc(sizeof *a);
        onnx__attribute_proto__init(a);
        a->name = ferry_asprintf("extra%zu", i % 15);
        a->has_type = 1;
        a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
        node->attribute[i] = a;
    }
    node->n_attribute = n_attr;
    fast += s_variant(m, "many attributes", "is given more than once"), variants++;
    s_set(&node->attribute[0]->name, "to");
    fast += s_variant(m, "many attributes, required present", "is not declared by Cast-13"), variants++;
    ferry_onnx_destroy(&m);

    m = s_load("test_upsample_nearest");
    ferry_onnx_proto(m)->opset_import[0]->version = 10;
    fast += s_variant(m, "deprecated", "was removed (deprecated) at ai.onnx opset 10"), variants++;
    ferry_onnx_destroy(&m);

    /* initializers: sizes, dims, types, names */
    m = s_load("test_softmax_axis_0");
    g = ferry_onnx_proto(m)->graph;
    Onnx__TensorProto *t = ferry_malloc(sizeof *t);
    onnx__tensor_proto__init(t);
    t->name = ferry_strdup(g->input[0]->name);
    t->has_data_type = 1;
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    t->n_dims = 1;
    t->dims = ferry_calloc(1, sizeof *t->dims);
    t->dims[0] = 3;
    t->n_float_data = 3;
    t->float_data = ferry_calloc(3, sizeof *t->float_data);
    g->initializer = ferry_reallocarray(g->initializer, 1, sizeof *g->initializer);
    g->initializer[0] = t;
    g->n_initializer = 1;
    fast += s_variant(m, "initializer that is also an input", NULL), variants++;
    t->dims[0] = 4;
    fast += s_variant(m, "float_data count", "float_data holds 3 values, but dims give 4 elements"), variants++;
    t->dims[0] = -1;
    fast += s_variant(m, "negative dims", "dims are negative"), variants++;
    t->dims[0] = 3;
    t->data_type = 99;
    fast += s_variant(m, "bad data_type", "data_type 99 is not a valid tensor element type"), variants++;
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    t->has_raw_data = 1;
    t->raw_data.len = 8;
    t->raw_data.data = ferry_calloc(1, 8);
    fast += s_variant(m, "raw size", "raw data holds 8 bytes, but dims give 3 elements of float (12 bytes)"), variants++;
    s_set(&t->name, "");
    fast += s_variant(m, "initializer without a name", "initializer 0 has no name"), variants++;
    ferry_onnx_destroy(&m);

    /* subgraphs: an If whose branch uses an undefined name and a name of the outer graph */
    m = s_load("test_if");
    g = ferry_onnx_proto(m)->graph;
    Onnx__GraphProto *then_g = g->node[0]->attribute[0]->g;
    s_set(&then_g->node[0]->output[0], g->input[0]->name);
    fast += s_variant(m, "subgraph redefines an outer name", "is already defined"), variants++;
    ferry_onnx_destroy(&m);

    printf("summary: %zu broken variants, identical problems on both paths, %zu by the fast reader\n", variants, fast);
    assert_int_equal(fast, variants);
}

/* Hand-written wire bytes the fast reader hands to the loader: the answers still agree. */
static void test_fallback_cases_give_the_loaders_answer(void **state)
{
    /* ModelProto: ir_version 8, graph twice (protobuf-c merges them) */
    static const uint8_t graph_twice[] = {0x08, 0x08, 0x3a, 0x02, 0x12, 0x00, 0x3a, 0x02, 0x12, 0x00};
    assert_false(s_same(graph_twice, sizeof graph_twice, "graph twice"));
    /* a graph with node, initializer (raw_data twice) */
    static const uint8_t raw_twice[] = {0x3a, 0x08, 0x2a, 0x06, 0x4a, 0x01, 0x00, 0x4a, 0x01, 0x00};
    assert_false(s_same(raw_twice, sizeof raw_twice, "raw_data twice"));
    /* node inputs interleaved with outputs: input "a", output "b", input "c" */
    static const uint8_t interleaved[] = {0x3a, 0x0b, 0x0a, 0x09, 0x0a, 0x01, 'a', 0x12, 0x01, 'b', 0x0a, 0x01, 'c'};
    bool fast = s_same(interleaved, sizeof interleaved, "interleaved");
    (void)fast; /* inputs and outputs are separate lists: either path may answer */
    /* a node name with an embedded NUL (C strings end there on both paths): fast reader */
    static const uint8_t nul_name[] = {0x3a, 0x0d, 0x0a, 0x0b, 0x1a, 0x03, 'a', 0x00, 'b',
                                       0x22, 0x04, 'R', 'e', 'l', 'u'};
    assert_true(s_same(nul_name, sizeof nul_name, "NUL in a name"));
    /* truncated varint, bad wire type, group, empty input */
    static const uint8_t truncated[] = {0x08, 0x80};
    assert_false(s_same(truncated, sizeof truncated, "truncated"));
    static const uint8_t group[] = {0x0b};
    assert_false(s_same(group, sizeof group, "group"));
    static const uint8_t wrong_wire[] = {0x3d, 0, 0, 0, 0}; /* graph as fixed32 */
    assert_false(s_same(wrong_wire, sizeof wrong_wire, "wire type"));
    assert_false(s_same((const uint8_t *)"", 0, "empty"));
    /* external data: the loader resolves and refuses (no base directory) */
    static const uint8_t external[] = {0x3a, 0x0e, 0x2a, 0x0c, 0x42, 0x01, 'w', 0x6a, 0x05, 0x0a, 0x01, 'k',
                                       0x12, 0x00, 0x70, 0x01};
    assert_false(s_same(external, sizeof external, "external"));
}

/* A graph of `count` copies of the 2-byte empty message `field` (0x0a node, 0x2a initializer). */
static void s_bomb(ferry_buf_t *model, uint8_t field, size_t count)
{
    ferry_buf_t graph = FERRY_BUF_INIT;
    ferry_buf_reserve(&graph, 2 * count);
    uint8_t entry[2] = {field, 0};
    for (size_t i = 0; i < count; i++)
        ferry_buf_append(&graph, entry, 2);
    uint8_t hdr[16];
    ferry_buf_append(model, "\x3a", 1);
    ferry_buf_append(model, hdr, ferry_onnx_wire_put_varint(hdr, graph.len));
    ferry_buf_append(model, graph.data, graph.len);
    ferry_buf_free(&graph);
}

/* Expansion bombs: the fast reader's records stay within the loader's decode budget. 2 M
 * empty nodes fit (32 bytes of record each) where protobuf-c's structs do not: the fast
 * reader answers (the one documented difference); 4 M empty initializers do not fit either,
 * and the loader refuses them with its message. */
static void test_expansion_bombs_stay_within_the_budget(void **state)
{
    ferry_buf_t model = FERRY_BUF_INIT;
    size_t nodes = (size_t)2 << 20;
    s_bomb(&model, 0x0a, nodes);
    ferry_onnx_summary_t s;
    ferry_onnx_problems_t p;
    ferry_err_t err;
    bool used_fast = false;
    assert_int_equal(ferry_onnx_analyze_buffer(model.data, model.len, NULL, "bomb", false, &s, &p, &used_fast, &err), 0);
    assert_true(used_fast);
    assert_int_equal(s.node_count, nodes);
    assert_int_equal(p.total, nodes + 2); /* no ir_version, no opset_import, then every node */
    ferry_onnx_summary_free(&s);
    ferry_onnx_problems_free(&p);
    ferry_onnx_t *m = NULL;
    assert_true(ferry_onnx_load_buffer_readonly(model.data, model.len, NULL, "bomb", &m, &err) < 0);
    assert_non_null(strstr(err.msg, "bytes of memory"));
    ferry_buf_free(&model);

    s_bomb(&model, 0x2a, (size_t)4 << 20);
    assert_int_equal(ferry_onnx_fast_analyze((const uint8_t *)model.data, model.len, "bomb", false, &s, &p),
                     FERRY_ONNX_FAST_FALLBACK);
    assert_false(s_same((const uint8_t *)model.data, model.len, "bomb"));
    char *tree = s_tree((const uint8_t *)model.data, model.len, "bomb");
    assert_non_null(strstr(tree, "bytes of memory"));
    free(tree);
    ferry_buf_free(&model);
}

static void test_truncated_and_bitflipped_bytes_give_the_same_answer(void **state)
{
    const char *names[] = {"test_if", "test_loop11", "test_scan9_sum", "test_conv_with_strides_padding",
                           "test_sequence_map_identity_1_sequence", "test_cast_FLOAT_to_DOUBLE"};
    size_t cases = 0, fast = 0;
    uint64_t rng = 0x243f6a8885a308d3ull;
    for (size_t k = 0; k < FERRY_ARRAY_LEN(names); k++) {
        char *path = ferry_asprintf("%s/%s/model.onnx", NODE_DIR, names[k]);
        char *data;
        size_t len;
        assert_int_equal(ferry_file_read(path, MAX_MODEL_BYTES, &data, &len), 0);
        uint8_t *copy = ferry_malloc(len + 1);
        for (size_t cut = 0; cut < len; cut++) {
            memcpy(copy, data, cut);
            fast += s_same(copy, cut, "t");
            cases++;
        }
        for (int round = 0; round < 1500; round++) {
            memcpy(copy, data, len);
            int flips = 1 + (int)(rng % 4);
            for (int f = 0; f < flips; f++) {
                rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
                copy[rng % len] ^= (uint8_t)(1u << (rng >> 60 & 7));
            }
            fast += s_same(copy, len, "t");
            cases++;
        }
        free(copy);
        free(data);
        free(path);
    }
    printf("summary: %zu truncated or bit-flipped models, same answer on both paths, %zu by the fast reader\n", cases,
           fast);
    assert_true(fast > cases / 10);
}


/* ---- generated graphs for the parallel definition/use check ------------------------------ */

/* Wire-format writer: a field of a length-delimited payload, or a varint field. */
static void s_put_bytes(ferry_buf_t *b, uint32_t field, const void *data, size_t len)
{
    uint8_t hdr[16];
    size_t n = ferry_onnx_wire_put_varint(hdr, (uint64_t)field << 3 | 2);
    n += ferry_onnx_wire_put_varint(hdr + n, len);
    ferry_buf_append(b, hdr, n);
    ferry_buf_append(b, data, len);
}

static void s_put_str(ferry_buf_t *b, uint32_t field, const char *s)
{
    s_put_bytes(b, field, s, strlen(s));
}

static void s_put_uint(ferry_buf_t *b, uint32_t field, uint64_t v)
{
    uint8_t hdr[32];
    size_t n = ferry_onnx_wire_put_varint(hdr, (uint64_t)field << 3);
    n += ferry_onnx_wire_put_varint(hdr + n, v);
    ferry_buf_append(b, hdr, n);
}

/* A node: inputs and outputs as "a,b,c" ("" items are empty names; "-" none at all); value_dims
 * > 0: a "value" tensor attribute of that many elements (dims) holding value_count floats. */
typedef struct {
    const char *op, *inputs, *outputs;
    int value_dims, value_count;
} s_gnode_t;

static void s_put_list(ferry_buf_t *b, uint32_t field, const char *list)
{
    if (!strcmp(list, "-"))
        return;
    const char *p = list;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        s_put_bytes(b, field, p, n);
        if (!comma)
            break;
        p = comma + 1;
    }
}

/* A float tensor value info (for graph inputs and outputs). */
static void s_put_value_info(ferry_buf_t *b, uint32_t field, const char *name)
{
    ferry_buf_t vi = FERRY_BUF_INIT, type = FERRY_BUF_INIT, tensor = FERRY_BUF_INIT;
    s_put_uint(&tensor, 1, 1);                        /* elem_type FLOAT */
    s_put_bytes(&tensor, 2, "\x0a\x02\x08\x01", 4); /* shape [1] */
    s_put_bytes(&type, 1, tensor.data, tensor.len);
    s_put_str(&vi, 1, name);
    s_put_bytes(&vi, 2, type.data, type.len);
    s_put_bytes(b, field, vi.data, vi.len);
    ferry_buf_free(&vi);
    ferry_buf_free(&type);
    ferry_buf_free(&tensor);
}

static void s_gen_model_of(ferry_buf_t *model, ferry_buf_t *graph, const char *outputs);

/* ModelProto (ir_version 8, opset 17) of a graph: graph input "x", initializer "w" (one float),
 * nodes, and graph outputs (a "," list). */
static void s_gen_model(ferry_buf_t *model, const s_gnode_t *nodes, size_t n, const char *outputs)
{
    ferry_buf_t graph = FERRY_BUF_INIT, node = FERRY_BUF_INIT;
    char name[32];
    for (size_t i = 0; i < n; i++) {
        ferry_buf_reset(&node);
        s_put_list(&node, 1, nodes[i].inputs);
        s_put_list(&node, 2, nodes[i].outputs);
        snprintf(name, sizeof name, "n%zu", i);
        s_put_str(&node, 3, name);
        if (nodes[i].op[0])
            s_put_str(&node, 4, nodes[i].op);
        if (nodes[i].value_dims) {
            ferry_buf_t attr = FERRY_BUF_INIT, tensor = FERRY_BUF_INIT;
            s_put_uint(&tensor, 1, (uint64_t)nodes[i].value_dims);
            s_put_uint(&tensor, 2, 1); /* FLOAT */
            for (int k = 0; k < nodes[i].value_count; k++)
                s_put_bytes(&tensor, 4, "\0\0\0\0", 4);
            s_put_str(&attr, 1, "value");
            s_put_bytes(&attr, 5, tensor.data, tensor.len);
            s_put_uint(&attr, 20, 4); /* TENSOR */
            s_put_bytes(&node, 5, attr.data, attr.len);
            ferry_buf_free(&attr);
            ferry_buf_free(&tensor);
        }
        s_put_bytes(&graph, 1, node.data, node.len);
    }
    s_gen_model_of(model, &graph, outputs);
    ferry_buf_free(&graph);
    ferry_buf_free(&node);
}

/* The model of s_gen_model around graph, which holds the node fields (freed by the caller). */
static void s_gen_model_of(ferry_buf_t *model, ferry_buf_t *graph_nodes, const char *outputs)
{
    ferry_buf_t init = FERRY_BUF_INIT, opset = FERRY_BUF_INIT, graph = *graph_nodes;
    char name[32];
    s_put_str(&graph, 2, "generated");
    s_put_uint(&init, 1, 1);                       /* dims [1] */
    s_put_uint(&init, 2, 1);                       /* FLOAT */
    s_put_bytes(&init, 4, "\0\0\x80\x3f", 4);      /* float_data (packed) 1.0 */
    s_put_str(&init, 8, "w");
    s_put_bytes(&graph, 5, init.data, init.len);
    s_put_value_info(&graph, 11, "x");
    const char *p = outputs;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t k = comma ? (size_t)(comma - p) : strlen(p);
        snprintf(name, sizeof name, "%.*s", (int)k, p);
        s_put_value_info(&graph, 12, name);
        p += k + (comma != NULL);
    }
    s_put_uint(model, 1, 8);
    s_put_uint(&opset, 2, 17);
    s_put_bytes(model, 8, opset.data, opset.len);
    s_put_bytes(model, 7, graph.data, graph.len);
    *graph_nodes = graph;
    ferry_buf_free(&init);
    ferry_buf_free(&opset);
}

/* A chain x -> v0 -> v1 -> ... of Add(prev, w) / Relu, names kept in the caller's storage. */
typedef struct {
    s_gnode_t *nodes;
    char (*in)[48], (*out)[48];
    size_t n;
} s_chain_t;

static void s_chain_init(s_chain_t *c, size_t n)
{
    c->n = n;
    c->nodes = ferry_calloc(n, sizeof *c->nodes);
    c->in = ferry_calloc(n, sizeof *c->in);
    c->out = ferry_calloc(n, sizeof *c->out);
    for (size_t i = 0; i < n; i++) {
        if (i == 0)
            snprintf(c->in[i], sizeof c->in[i], "x,w");
        else if (i % 2)
            snprintf(c->in[i], sizeof c->in[i], "v%zu", i - 1);
        else
            snprintf(c->in[i], sizeof c->in[i], "v%zu,w", i - 1);
        snprintf(c->out[i], sizeof c->out[i], "v%zu", i);
        c->nodes[i] = (s_gnode_t){i % 2 ? "Relu" : "Add", c->in[i], c->out[i], 0, 0};
    }
}

static void s_chain_free(s_chain_t *c)
{
    free(c->nodes);
    free(c->in);
    free(c->out);
}

/* Debian's python3-onnx checker on the bytes: 1 valid, 0 invalid, -1 not available. */
static int s_onnx_checker(const ferry_buf_t *model)
{
    char path[] = "/tmp/ferry-test-onnx-fast-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    bool is_written = write(fd, model->data, model->len) == (ssize_t)model->len;
    close(fd);
    int rc = -1;
    if (is_written) {
        char *cmd = ferry_asprintf("/usr/bin/python3 -c "
                                   "'import sys, onnx; onnx.checker.check_model(onnx.load(sys.argv[1]))' "
                                   "%s >/dev/null 2>&1", path);
        int status = system(cmd);
        free(cmd);
        rc = status == 0 ? 1 : WIFEXITED(status) && WEXITSTATUS(status) == 1 ? 0 : -1;
    }
    unlink(path);
    return rc;
}

/* The fast reader's problem count on the bytes (parallel check forced, 4 threads). */
static size_t s_problem_total(const ferry_buf_t *model)
{
    setenv("FERRY_ONNX_PARALLEL_MIN", "1", 1);
    setenv("FERRY_ONNX_THREADS", "4", 1);
    ferry_onnx_summary_t s;
    ferry_onnx_problems_t p;
    assert_int_equal(ferry_onnx_fast_analyze((const uint8_t *)model->data, model->len, "gen", false, &s, &p), 0);
    size_t total = p.total;
    ferry_onnx_summary_free(&s);
    ferry_onnx_problems_free(&p);
    unsetenv("FERRY_ONNX_PARALLEL_MIN");
    unsetenv("FERRY_ONNX_THREADS");
    return total;
}

/* One generated case: both paths and both node checks agree (s_same, thread counts 2 to 16
 * over the calls), with the problems expected (needle: a problem containing it; NULL: none);
 * with_oracle: python3-onnx's checker gives the same verdict (valid / invalid). */
static void s_gen_case(const s_gnode_t *nodes, size_t n, const char *outputs, const char *label, const char *needle,
                       bool with_oracle, size_t *cases, size_t *oracle_cases)
{
    ferry_buf_t model = FERRY_BUF_INIT;
    s_gen_model(&model, nodes, n, outputs);
    for (size_t k = 0; k < FERRY_ARRAY_LEN(s_thread_counts); k++)
        assert_true(s_same((const uint8_t *)model.data, model.len, label));
    size_t total = s_problem_total(&model);
    if (needle) {
        setenv("FERRY_ONNX_PARALLEL_MIN", "1", 1);
        s_assert_problem((const uint8_t *)model.data, model.len, label, needle);
        unsetenv("FERRY_ONNX_PARALLEL_MIN");
    } else if (total) {
        fail_msg("%s: %zu problems, expected none", label, total);
    }
    if (with_oracle) {
        int verdict = s_onnx_checker(&model);
        assert_int_not_equal(verdict, -1);
        if (verdict != (total == 0))
            fail_msg("%s: python3-onnx says %s, ferry found %zu problems", label, verdict ? "valid" : "invalid", total);
        (*oracle_cases)++;
    }
    (*cases)++;
    ferry_buf_free(&model);
}


/* A node field of raw fields: "1:a,2:b,4:Add,A" writes field 1 "a", field 2 "b", field 4
 * "Add" in that order; "A" adds an attribute alpha (FLOAT 0.5); a name may hold any byte but
 * ',' and ':' (names[k] replaces "#k"). */
static void s_put_raw_node(ferry_buf_t *graph, const char *fields, const char *const *names, const size_t *name_lens)
{
    ferry_buf_t node = FERRY_BUF_INIT;
    const char *p = fields;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n == 1 && *p == 'A') {
            ferry_buf_t attr = FERRY_BUF_INIT;
            s_put_str(&attr, 1, "alpha");
            ferry_buf_append(&attr, "\x15\0\0\0\x3f", 5); /* f (field 2, fixed32): 0.5 */
            s_put_uint(&attr, 20, 1);                      /* FLOAT */
            s_put_bytes(&node, 5, attr.data, attr.len);
            ferry_buf_free(&attr);
        } else {
            uint32_t field = (uint32_t)(p[0] - '0');
            const char *v = p + 2;
            size_t vlen = n - 2;
            if (vlen >= 2 && v[0] == '#') {
                size_t k = (size_t)atoi(v + 1);
                s_put_bytes(&node, field, names[k], name_lens[k]);
            } else {
                s_put_bytes(&node, field, v, vlen);
            }
        }
        p += n + (comma != NULL);
    }
    s_put_bytes(graph, 1, node.data, node.len);
    ferry_buf_free(&node);
}

/* One model of raw nodes compared on both paths, serial and parallel. */
static void s_raw_case(const char *const *nodes, size_t n, const char *const *names, const size_t *name_lens,
                       const char *outputs, const char *label, const char *needle)
{
    ferry_buf_t graph = FERRY_BUF_INIT, model = FERRY_BUF_INIT;
    for (size_t i = 0; i < n; i++)
        s_put_raw_node(&graph, nodes[i], names, name_lens);
    s_gen_model_of(&model, &graph, outputs);
    assert_true(s_same((const uint8_t *)model.data, model.len, label));
    if (needle)
        s_assert_problem((const uint8_t *)model.data, model.len, label, needle);
    ferry_buf_free(&graph);
    ferry_buf_free(&model);
}

/* What the per-node shortcuts of the fast check must not hide or change: a later node of an
 * operator already found clean with other arity or attributes (the clean-node memo), names of
 * every short length compared and hashed by words (a NUL inside, a last byte that differs,
 * bytes >= 0x80), inputs and outputs in any field order around name and op_type (the walk that
 * stops after the counted strings), a name with a two-byte length. */
static void test_repeated_operators_and_name_bytes_give_the_same_answer(void **state)
{
    (void)state;
    static const char *const arity[] = {
        "1:x,1:w,2:a0,4:Add",   "1:a0,1:w,2:a1,4:Add", "1:a1,1:w,1:w,2:a2,4:Add", "1:a2,1:w,2:a3,4:Add",
        "1:a3,2:a4,4:Add",      "1:a4,1:w,2:a5,4:Add,A", "1:a5,1:w,2:a6,2:a6b,4:Add", "1:a6,1:w,2:a7,4:Add",
        "1:a7,2:a8,4:Cast",     "1:a8,2:a9,4:Cast",    "1:a9,2:a10,4:Relu",       "1:a10,2:a11,4:Relu",
        "1:a11,1:a11,2:a12,4:Relu", "1:a12,2:a13,4:Relu", "1:a13,4:Relu",         "1:a13,2:a14,4:Relu",
    };
    s_raw_case(arity, FERRY_ARRAY_LEN(arity), NULL, NULL, "a14", "arity after a clean node", "takes at most 2");
    s_raw_case(arity, FERRY_ARRAY_LEN(arity), NULL, NULL, "a14", "arity after a clean node", "needs at least 2");
    s_raw_case(arity, FERRY_ARRAY_LEN(arity), NULL, NULL, "a14", "attribute after a clean node",
               "attribute 'alpha' is not declared");
    s_raw_case(arity, FERRY_ARRAY_LEN(arity), NULL, NULL, "a14", "required attribute, every node",
               "required attribute 'to' of Cast");
    s_raw_case(arity, FERRY_ARRAY_LEN(arity), NULL, NULL, "a14", "outputs after a clean node",
               "2 outputs, Add-14 produces 1 to 1");

    /* names of 1 to 20 bytes: each defined by a Relu and used by the next; then a use whose
     * last byte differs, a name cut at a NUL, high bytes */
    enum { MAX_LEN = 20 };
    char store[2 * MAX_LEN + 4][MAX_LEN + 1];
    const char *names[2 * MAX_LEN + 4];
    size_t lens[2 * MAX_LEN + 4];
    char fields[2 * MAX_LEN + 4][64];
    const char *nodes[2 * MAX_LEN + 4];
    size_t n = 0;
    for (size_t len = 1; len <= MAX_LEN; len++) {
        for (size_t i = 0; i < len; i++)
            store[len][i] = (char)(i % 3 == 2 ? 0x80 + (len * 7 + i) % 0x7f : 'a' + (len + i) % 26);
        store[len][len] = '\0';
        names[len] = store[len];
        lens[len] = len;
    }
    names[0] = "x";
    lens[0] = 1;
    for (size_t len = 1; len <= MAX_LEN; len++) {
        snprintf(fields[n], sizeof fields[n], "1:#%zu,2:#%zu,4:Relu", len - 1, len);
        nodes[n] = fields[n];
        n++;
    }
    s_raw_case(nodes, n, names, lens, store[MAX_LEN] /* high bytes: no output named so */, "names of 1 to 20 bytes",
               NULL);
    for (size_t len = 1; len <= MAX_LEN; len++) { /* the same names, last byte changed */
        size_t k = MAX_LEN + len;
        memcpy(store[k], store[len], len);
        store[k][len - 1] ^= 1;
        store[k][len] = '\0';
        names[k] = store[k];
        lens[k] = len;
        snprintf(fields[n], sizeof fields[n], "1:#%zu,2:u%zu,4:Relu", k, len);
        nodes[n] = fields[n];
        n++;
    }
    s_raw_case(nodes, n, names, lens, "u20", "last byte differs", "is not defined");
    /* a NUL inside: the name is cut there, as C strings of the protobuf-c path are */
    size_t k = 2 * MAX_LEN + 1;
    memcpy(store[k], "q\0tail-of-cut", 14);
    names[k] = store[k];
    lens[k] = 13;
    memcpy(store[k + 1], "qrstuvwxy\0z", 12);
    names[k + 1] = store[k + 1];
    lens[k + 1] = 11;
    static const char *const cut[] = {"1:x,2:#41,4:Relu", "1:q,2:#42,4:Relu", "1:qrstuvwxy,2:y,4:Relu"};
    s_raw_case(cut, FERRY_ARRAY_LEN(cut), names, lens, "y", "NUL inside a name", NULL);

    /* field order: op_type and name before the strings, outputs before and among inputs, a
     * name of 200 bytes (two-byte length) */
    char long_name[201];
    memset(long_name, 'L', 200);
    long_name[200] = '\0';
    char *long_fields[2];
    long_fields[0] = ferry_asprintf("4:Relu,3:n0,2:%s,1:x", long_name);
    long_fields[1] = ferry_asprintf("2:d0,4:Dropout,1:%s,3:n1,2:d1", long_name);
    const char *order[] = {long_fields[0], long_fields[1], "3:n2,2:e0,4:Add,1:d0,1:d1", "4:Relu,1:e0,2:f0,3:n3",
                           "2:g0,1:f0,4:Relu,1:nowhere"};
    s_raw_case(order, FERRY_ARRAY_LEN(order), NULL, NULL, "g0", "field order", "input 'nowhere' is not defined");
    free(long_fields[0]);
    free(long_fields[1]);
}

static void test_generated_graphs_give_the_same_problems_in_parallel(void **state)
{
    size_t cases = 0, oracle_cases = 0;
    enum { N = 10007 };
    s_chain_t c;
    s_chain_init(&c, N);
    char last[48];
    snprintf(last, sizeof last, "v%d", N - 1);
    s_gen_case(c.nodes, N, last, "valid chain", NULL, true, &cases, &oracle_cases);

    /* nodes near every chunk edge (2, 3, 4 and 7 threads) swapped: used before produced */
    static const unsigned splits[] = {2, 3, 4, 7};
    for (size_t k = 0; k < FERRY_ARRAY_LEN(splits); k++) {
        size_t edge = (size_t)N * (splits[k] - 1) / splits[k];
        for (long d = -1; d <= 1; d++) {
            s_chain_t w;
            s_chain_init(&w, N);
            size_t a = (size_t)((long)edge + d - 1), b = a + 1;
            s_gnode_t tmp = w.nodes[a];
            w.nodes[a] = w.nodes[b];
            w.nodes[b] = tmp;
            char label[64];
            snprintf(label, sizeof label, "swap at %zu", a);
            s_gen_case(w.nodes, N, last, label, "is used before node", k == 0 && d == 0, &cases, &oracle_cases);
            s_chain_free(&w);
        }
    }
    /* an output defined again by a later node (across a chunk edge), within one node, and
     * outputs shadowing the graph input and the initializer */
    {
        s_chain_t w;
        s_chain_init(&w, N);
        snprintf(w.out[N / 2 + 1], sizeof w.out[0], "v%d", 5);
        snprintf(w.in[N / 2 + 2], sizeof w.in[0], "v%d", 5);
        s_gen_case(w.nodes, N, last, "defined twice across chunks", "is already defined", true, &cases, &oracle_cases);
        s_chain_free(&w);
        s_chain_init(&w, N);
        snprintf(w.out[N - 3], sizeof w.out[0], "v%d,v%d", N - 3, N - 3);
        w.nodes[N - 3].op = "Dropout";
        s_gen_case(w.nodes, N, last, "defined twice in a node", "is already defined", false, &cases, &oracle_cases);
        s_chain_free(&w);
        s_chain_init(&w, N);
        snprintf(w.out[N / 3], sizeof w.out[0], "x");
        snprintf(w.in[N / 3 + 1], sizeof w.in[0], "x");
        snprintf(w.out[2 * N / 3], sizeof w.out[0], "w");
        snprintf(w.in[2 * N / 3 + 1], sizeof w.in[0], "w");
        s_gen_case(w.nodes, N, last, "shadowing", "output 'x' is already defined", true, &cases, &oracle_cases);
        s_chain_free(&w);
    }
    /* empty names (optional inputs and outputs), undefined inputs, a node's own output as its
     * input, a name produced only by a node without op_type, no op_type at all */
    {
        s_chain_t w;
        s_chain_init(&w, N);
        snprintf(w.in[2500], sizeof w.in[0], "v2499,"); /* an Add */
        snprintf(w.out[5001], sizeof w.out[0], "v5001,");
        w.nodes[5001].op = "Dropout";
        s_gen_case(w.nodes, N, last, "empty names", NULL, false, &cases, &oracle_cases);
        s_chain_free(&w);
        s_chain_init(&w, N);
        snprintf(w.in[100], sizeof w.in[0], "nowhere");
        snprintf(w.in[N / 2 + 1], sizeof w.in[0], "v%d", N / 2 + 1);
        w.nodes[N / 2 + 10].op = "";
        snprintf(w.in[N - 2], sizeof w.in[0], "v%d", N / 2 + 10);
        s_gen_case(w.nodes, N, last, "undefined", "is not defined", true, &cases, &oracle_cases);
        s_chain_free(&w);
    }
    /* a producer far after its use, and the same name produced twice later (first producer) */
    {
        s_chain_t w;
        s_chain_init(&w, N);
        snprintf(w.in[10], sizeof w.in[0], "late");
        snprintf(w.out[N - 100], sizeof w.out[0], "v%d,late", N - 100);
        w.nodes[N - 100].op = "Dropout";
        snprintf(w.out[N - 50], sizeof w.out[0], "v%d,late", N - 50);
        w.nodes[N - 50].op = "Dropout";
        s_gen_case(w.nodes, N, last, "late producer", "is used before node", false, &cases, &oracle_cases);
        s_chain_free(&w);
    }
    /* more problems than are recorded: every node's input undefined, every output twice */
    {
        s_chain_t w;
        s_chain_init(&w, N);
        for (size_t i = 0; i < N; i++) {
            snprintf(w.in[i], sizeof w.in[0], i % 3 ? "u%zu" : "v%zu", i % 3 ? i : i + 1);
            snprintf(w.out[i], sizeof w.out[0], "v%zu", i % 500);
        }
        s_gen_case(w.nodes, N, "", "many problems", "is already defined", false, &cases, &oracle_cases);
        s_chain_free(&w);
    }
    /* attribute tensors in several chunks (their records renumbered when the chunks join), a
     * broken one in the last */
    {
        s_chain_t w;
        s_chain_init(&w, N);
        for (size_t i = 11; i < N; i += 1000)
            w.nodes[i] = (s_gnode_t){"Constant", "-", w.out[i], 1, 1};
        w.nodes[N - 6] = (s_gnode_t){"Constant", "-", w.out[N - 6], 3, 2};
        /* (python3-onnx's checker does not compare a tensor's values with its dims) */
        s_gen_case(w.nodes, N, last, "attribute tensors", "float_data holds 2 values, but dims give 3", false, &cases,
                   &oracle_cases);
        s_chain_free(&w);
    }
    s_chain_free(&c);
    printf("summary: %zu generated graphs of %d nodes, same problems with the serial and the parallel check "
           "(2 to 16 threads), %zu also checked by python3-onnx\n", cases, N, oracle_cases);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_backend_model_gives_the_same_answer),
        cmocka_unit_test(test_broken_variants_give_the_same_problems),
        cmocka_unit_test(test_fallback_cases_give_the_loaders_answer),
        cmocka_unit_test(test_expansion_bombs_stay_within_the_budget),
        cmocka_unit_test(test_truncated_and_bitflipped_bytes_give_the_same_answer),
        cmocka_unit_test(test_generated_graphs_give_the_same_problems_in_parallel),
        cmocka_unit_test(test_repeated_operators_and_name_bytes_give_the_same_answer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
