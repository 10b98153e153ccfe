/* test_proto.c -- unit tests for proto/: every message both ways, hostile bodies, framing */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "proto/proto.h"
#include "util/mem.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

/* Encode m, decode it back into out; asserts the round trip itself succeeded. */
static void s_roundtrip(const ferry_msg_t *m, ferry_msg_t *out)
{
    ferry_buf_t body = FERRY_BUF_INIT;
    assert_int_equal(ferry_msg_encode(m, &body), 0);
    uint8_t hdr[FERRY_PROTO_HEADER_LEN];
    ferry_proto_header(hdr, m->cmd);
    ferry_err_t err = {{0}};
    int rc = ferry_msg_decode(hdr, sizeof hdr, body.data, body.len, out, &err);
    if (rc)
        fail_msg("decode %s: %d %s", ferry_cmd_name(m->cmd), rc, err.msg);
    assert_int_equal(out->cmd, m->cmd);
    assert_int_equal(out->version, FERRY_PROTO_VERSION);
    ferry_buf_free(&body);
}

static void test_hello_roundtrip(void **state)
{
    char *isa[] = {"avx2", "sse4.2"}, *tags[] = {"gpu-box"}, *rts[] = {"onnxruntime", "ferry"};
    ferry_msg_gpu_t gpus[] = {{.name = "NVIDIA H200", .memory_bytes = 150ull << 30, .driver = "580.1"}};
    ferry_msg_t m = {.cmd = FERRY_CMD_HELLO};
    m.u.hello = (ferry_msg_hello_t){.name = "host:12:ab", .slots = 4, .credit = 16, .arch = "x86_64",
                                    .cpu_model = "EPYC", .os = "Debian 12", .kernel = "6.1", .isa = isa,
                                    .n_isa = 2, .cores = 8, .memory_bytes = 1ull << 36, .gpus = gpus, .n_gpus = 1,
                                    .tags = tags, .n_tags = 1, .runtimes = rts, .n_runtimes = 2};
    uint64_t held[] = {7, 9, UINT64_C(1) << 33};
    m.u.hello.attempts = held;
    m.u.hello.n_attempts = 3;
    ferry_msg_t out;
    s_roundtrip(&m, &out);
    ferry_msg_hello_t *h = &out.u.hello;
    assert_string_equal(h->name, "host:12:ab");
    assert_int_equal(h->slots, 4);
    assert_int_equal(h->credit, 16);
    assert_string_equal(h->arch, "x86_64");
    assert_string_equal(h->cpu_model, "EPYC");
    assert_string_equal(h->os, "Debian 12");
    assert_string_equal(h->kernel, "6.1");
    assert_int_equal(h->n_isa, 2);
    assert_string_equal(h->isa[1], "sse4.2");
    assert_int_equal(h->cores, 8);
    assert_int_equal(h->memory_bytes, 1ull << 36);
    assert_int_equal(h->n_gpus, 1);
    assert_string_equal(h->gpus[0].name, "NVIDIA H200");
    assert_int_equal(h->gpus[0].memory_bytes, 150ull << 30);
    assert_string_equal(h->gpus[0].driver, "580.1");
    assert_int_equal(h->n_tags, 1);
    assert_string_equal(h->tags[0], "gpu-box");
    assert_int_equal(h->n_runtimes, 2);
    assert_string_equal(h->runtimes[1], "ferry");
    assert_int_equal(h->n_attempts, 3);
    assert_int_equal(h->attempts[2], UINT64_C(1) << 33);
    ferry_msg_clear(&out);
    ferry_msg_clear(&out); /* twice is safe */
}

static void test_task_result_ack_roundtrip(void **state)
{
    ferry_msg_t m = {.cmd = FERRY_CMD_TASK}, out;
    m.u.task = (ferry_msg_task_t){.attempt = 77, .task = 5, .id = "sleep-4", .kind = FERRY_TASK_SLEEP,
                                  .sleep_ms = 250, .timeout_ms = 600000, .memory_mb = 4096};
    s_roundtrip(&m, &out);
    assert_int_equal(out.u.task.attempt, 77);
    assert_int_equal(out.u.task.task, 5);
    assert_string_equal(out.u.task.id, "sleep-4");
    assert_int_equal(out.u.task.kind, FERRY_TASK_SLEEP);
    assert_int_equal(out.u.task.sleep_ms, 250);
    assert_int_equal(out.u.task.timeout_ms, 600000);
    assert_int_equal(out.u.task.memory_mb, 4096);
    ferry_msg_clear(&out);

    ferry_msg_t r = {.cmd = FERRY_CMD_RESULT};
    r.u.result = (ferry_msg_result_t){.attempt = 9, .task = 3, .outcome = FERRY_OUTCOME_CRASHED, .exit_code = -1,
                                      .signal = 11, .elapsed_ms = 12, .reason = "killed by signal 11",
                                      .stderr_tail = "boom\n", .output = NULL};
    s_roundtrip(&r, &out);
    assert_int_equal(out.u.result.attempt, 9);
    assert_int_equal(out.u.result.outcome, FERRY_OUTCOME_CRASHED);
    assert_int_equal(out.u.result.exit_code, -1);
    assert_int_equal(out.u.result.signal, 11);
    assert_int_equal(out.u.result.elapsed_ms, 12);
    assert_string_equal(out.u.result.reason, "killed by signal 11");
    assert_string_equal(out.u.result.stderr_tail, "boom\n");
    assert_null(out.u.result.output);
    ferry_msg_clear(&out);

    uint64_t ids[] = {1, 2, UINT64_C(1) << 40};
    ferry_msg_t a = {.cmd = FERRY_CMD_ACK};
    a.u.ack.attempts = ids;
    a.u.ack.n = 3;
    s_roundtrip(&a, &out);
    assert_int_equal(out.u.ack.n, 3);
    assert_int_equal(out.u.ack.attempts[2], UINT64_C(1) << 40);
    ferry_msg_clear(&out);
}

/* TASKS / RESULTS: built from single bodies (as the coordinator and worker do) and from
 * arrays; bounded; each entry checked like a single TASK / RESULT. */
static void test_batches(void **state)
{
    ferry_buf_t items = FERRY_BUF_INIT, body = FERRY_BUF_INIT;
    for (uint64_t i = 1; i <= 3; i++) {
        ferry_msg_t t = {.cmd = FERRY_CMD_TASK};
        t.u.task = (ferry_msg_task_t){.attempt = 100 + i, .task = i, .id = "echo-1", .timeout_ms = 5};
        assert_int_equal(ferry_msg_encode(&t, &items), 0);
    }
    ferry_proto_batch_body(FERRY_CMD_TASKS, items.data, items.len, 3, 0, &body);
    uint8_t hdr[FERRY_PROTO_HEADER_LEN];
    ferry_proto_header(hdr, FERRY_CMD_TASKS);
    ferry_msg_t out;
    ferry_err_t err = {{0}};
    assert_int_equal(ferry_msg_decode(hdr, sizeof hdr, body.data, body.len, &out, &err), 0);
    assert_int_equal(out.u.tasks.n, 3);
    assert_int_equal(out.u.tasks.v[2].attempt, 103);
    assert_int_equal(out.u.tasks.v[2].task, 3);
    assert_string_equal(out.u.tasks.v[0].id, "echo-1");
    assert_int_equal(out.u.tasks.v[1].timeout_ms, 5);
    ferry_msg_clear(&out);

    ferry_msg_result_t rs[2] = {{.attempt = 7, .task = 2, .outcome = FERRY_OUTCOME_OK, .output = "o"},
                                {.attempt = 8, .task = 3, .outcome = FERRY_OUTCOME_FAILED, .reason = "r"}};
    ferry_msg_t m = {.cmd = FERRY_CMD_RESULTS};
    m.u.results.v = rs;
    m.u.results.n = 2;
    m.u.results.credit = 41;
    s_roundtrip(&m, &out);
    assert_int_equal(out.u.results.n, 2);
    assert_int_equal(out.u.results.credit, 41);
    assert_int_equal(out.u.results.v[1].attempt, 8);
    assert_int_equal(out.u.results.v[1].outcome, FERRY_OUTCOME_FAILED);
    assert_string_equal(out.u.results.v[1].reason, "r");
    assert_string_equal(out.u.results.v[0].output, "o");
    ferry_msg_clear(&out);

    /* more than FERRY_PROTO_MAX_BATCH entries: refused, naming the field */
    ferry_buf_reset(&items);
    ferry_buf_reset(&body);
    for (int i = 0; i < FERRY_PROTO_MAX_BATCH + 1; i++) {
        ferry_msg_t t = {.cmd = FERRY_CMD_TASK};
        t.u.task = (ferry_msg_task_t){.attempt = 1, .task = 1};
        ferry_msg_encode(&t, &items);
    }
    ferry_proto_batch_body(FERRY_CMD_TASKS, items.data, items.len, FERRY_PROTO_MAX_BATCH + 1, 0, &body);
    assert_int_equal(ferry_msg_decode(hdr, sizeof hdr, body.data, body.len, &out, &err), FERRY_PROTO_EFIELD);
    assert_non_null(strstr(err.msg, "tasks"));
    ferry_msg_clear(&out);

    /* an entry without its required ids, or not a map, refuses the whole message */
    ferry_buf_reset(&items);
    ferry_buf_reset(&body);
    ferry_msg_t ok = {.cmd = FERRY_CMD_RESULT}, bad = {.cmd = FERRY_CMD_RESULT};
    ok.u.result = (ferry_msg_result_t){.attempt = 1, .task = 1};
    bad.u.result = (ferry_msg_result_t){.attempt = 1, .task = 0};
    ferry_msg_encode(&ok, &items);
    ferry_msg_encode(&bad, &items);
    ferry_proto_batch_body(FERRY_CMD_RESULTS, items.data, items.len, 2, 3, &body);
    ferry_proto_header(hdr, FERRY_CMD_RESULTS);
    assert_int_equal(ferry_msg_decode(hdr, sizeof hdr, body.data, body.len, &out, &err), FERRY_PROTO_EFIELD);
    ferry_msg_clear(&out);
    const uint8_t not_map[] = {0x81, 0xa7, 'r', 'e', 's', 'u', 'l', 't', 's', 0x91, 0x05};
    assert_int_equal(ferry_msg_decode(hdr, sizeof hdr, not_map, sizeof not_map, &out, &err), FERRY_PROTO_EFIELD);
    ferry_msg_clear(&out);
    ferry_buf_free(&items);
    ferry_buf_free(&body);
}

static void test_small_messages_roundtrip(void **state)
{
    ferry_msg_t m = {.cmd = FERRY_CMD_READY}, out;
    m.u.ready.credit = 32;
    s_roundtrip(&m, &out);
    assert_int_equal(out.u.ready.credit, 32);
    ferry_msg_clear(&out);

    m = (ferry_msg_t){.cmd = FERRY_CMD_HEARTBEAT};
    m.u.heartbeat.inflight = 3;
    s_roundtrip(&m, &out);
    assert_int_equal(out.u.heartbeat.inflight, 3);
    assert_int_equal(out.u.heartbeat.last_task, 0);
    assert_null(out.u.heartbeat.attempts);
    ferry_msg_clear(&out);
    /* a worker's heartbeat with what it holds */
    uint64_t held[] = {12, 40, UINT64_C(1) << 40};
    m.u.heartbeat.last_task = 41;
    m.u.heartbeat.attempts = held;
    m.u.heartbeat.n_attempts = 3;
    s_roundtrip(&m, &out);
    assert_int_equal(out.u.heartbeat.last_task, 41);
    assert_int_equal(out.u.heartbeat.n_attempts, 3);
    assert_memory_equal(out.u.heartbeat.attempts, held, sizeof held);
    ferry_msg_clear(&out);
    m.u.heartbeat.n_attempts = 0; /* holds nothing: an empty list, still given */
    s_roundtrip(&m, &out);
    assert_int_equal(out.u.heartbeat.last_task, 41);
    assert_int_equal(out.u.heartbeat.n_attempts, 0);
    assert_non_null(out.u.heartbeat.attempts);
    ferry_msg_clear(&out);

    m = (ferry_msg_t){.cmd = FERRY_CMD_PROGRESS};
    m.u.progress.attempt = 4;
    m.u.progress.percent = 50;
    s_roundtrip(&m, &out);
    assert_int_equal(out.u.progress.percent, 50);
    ferry_msg_clear(&out);

    m = (ferry_msg_t){.cmd = FERRY_CMD_BYE};
    m.u.bye.reason = "shutdown";
    s_roundtrip(&m, &out);
    assert_string_equal(out.u.bye.reason, "shutdown");
    ferry_msg_clear(&out);

    m = (ferry_msg_t){.cmd = FERRY_CMD_ERROR};
    m.u.error.code = FERRY_ERRCODE_VERSION;
    m.u.error.message = "speak 1";
    s_roundtrip(&m, &out);
    assert_int_equal(out.u.error.code, FERRY_ERRCODE_VERSION);
    assert_string_equal(out.u.error.message, "speak 1");
    ferry_msg_clear(&out);
}

/* Build a body with msgpack-c directly (an independent encoder) to check the decoder
 * reads what another msgpack implementation writes, and ignores unknown keys. */
static int s_wr(void *d, const char *b, size_t n)
{
    ferry_buf_append(d, b, n);
    return 0;
}

static void test_unknown_fields_ignored_and_types_checked(void **state)
{
    ferry_buf_t b = FERRY_BUF_INIT;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b, s_wr);
    msgpack_pack_map(&pk, 3);
    msgpack_pack_str_with_body(&pk, "future_field", 12);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_nil(&pk);
    msgpack_pack_double(&pk, 1.5);
    msgpack_pack_str_with_body(&pk, "credit", 6);
    msgpack_pack_uint8(&pk, 7);
    msgpack_pack_uint8(&pk, 1); /* non-string key: ignored */
    msgpack_pack_true(&pk);
    uint8_t hdr[4];
    ferry_proto_header(hdr, FERRY_CMD_READY);
    ferry_msg_t out;
    ferry_err_t err = {{0}};
    assert_int_equal(ferry_msg_decode(hdr, 4, b.data, b.len, &out, &err), 0);
    assert_int_equal(out.u.ready.credit, 7);
    ferry_msg_clear(&out);

    /* credit given as a string: refused with a message naming the field */
    ferry_buf_reset(&b);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, "credit", 6);
    msgpack_pack_str_with_body(&pk, "7", 1);
    assert_int_equal(ferry_msg_decode(hdr, 4, b.data, b.len, &out, &err), FERRY_PROTO_EFIELD);
    assert_non_null(strstr(err.msg, "credit"));
    ferry_msg_clear(&out);

    /* a negative credit and an over-limit credit */
    ferry_buf_reset(&b);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, "credit", 6);
    msgpack_pack_int8(&pk, -1);
    assert_int_equal(ferry_msg_decode(hdr, 4, b.data, b.len, &out, &err), FERRY_PROTO_EFIELD);
    ferry_msg_clear(&out);
    ferry_buf_reset(&b);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, "credit", 6);
    msgpack_pack_uint32(&pk, FERRY_PROTO_MAX_CREDIT + 1);
    assert_int_equal(ferry_msg_decode(hdr, 4, b.data, b.len, &out, &err), FERRY_PROTO_EFIELD);
    ferry_msg_clear(&out);

    /* the root must be a map */
    ferry_buf_reset(&b);
    msgpack_pack_array(&pk, 0);
    assert_int_equal(ferry_msg_decode(hdr, 4, b.data, b.len, &out, &err), FERRY_PROTO_EBODY);
    ferry_msg_clear(&out);

    /* a HELLO without a name is refused; a name with a NUL byte too */
    ferry_proto_header(hdr, FERRY_CMD_HELLO);
    ferry_buf_reset(&b);
    msgpack_pack_map(&pk, 0);
    assert_int_equal(ferry_msg_decode(hdr, 4, b.data, b.len, &out, &err), FERRY_PROTO_EFIELD);
    ferry_msg_clear(&out);
    ferry_buf_reset(&b);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, "name", 4);
    msgpack_pack_str_with_body(&pk, "a\0b", 3);
    assert_int_equal(ferry_msg_decode(hdr, 4, b.data, b.len, &out, &err), FERRY_PROTO_EFIELD);
    ferry_msg_clear(&out);
    /* a NUL inside free text becomes '?' (RESULT.reason) */
    ferry_proto_header(hdr, FERRY_CMD_RESULT);
    ferry_buf_reset(&b);
    msgpack_pack_map(&pk, 3);
    msgpack_pack_str_with_body(&pk, "attempt", 7);
    msgpack_pack_uint8(&pk, 5);
    msgpack_pack_str_with_body(&pk, "task", 4);
    msgpack_pack_uint8(&pk, 7);
    msgpack_pack_str_with_body(&pk, "reason", 6);
    msgpack_pack_str_with_body(&pk, "\0\x1b", 2);
    assert_int_equal(ferry_msg_decode(hdr, 4, b.data, b.len, &out, &err), 0);
    assert_memory_equal(out.u.result.reason, "?\x1b", 3);
    ferry_msg_clear(&out);
    ferry_proto_header(hdr, FERRY_CMD_HELLO);
    /* duplicate keys: the last wins, nothing leaks (ASan checks) */
    ferry_buf_reset(&b);
    msgpack_pack_map(&pk, 2);
    msgpack_pack_str_with_body(&pk, "name", 4);
    msgpack_pack_str_with_body(&pk, "one", 3);
    msgpack_pack_str_with_body(&pk, "name", 4);
    msgpack_pack_str_with_body(&pk, "two", 3);
    assert_int_equal(ferry_msg_decode(hdr, 4, b.data, b.len, &out, &err), 0);
    assert_string_equal(out.u.hello.name, "two");
    ferry_msg_clear(&out);
    ferry_buf_free(&b);
}

static void test_header_errors(void **state)
{
    uint8_t body[] = {0x80}; /* empty map */
    ferry_msg_t out;
    ferry_err_t err = {{0}};
    uint8_t bad_sig[] = {'X', 'Y', 1, FERRY_CMD_READY};
    assert_int_equal(ferry_msg_decode(bad_sig, 4, body, 1, &out, &err), FERRY_PROTO_ESIG);
    uint8_t short_hdr[] = {'F', 'Y', 1};
    assert_int_equal(ferry_msg_decode(short_hdr, 3, body, 1, &out, &err), FERRY_PROTO_ESIG);
    uint8_t v2[] = {'F', 'Y', 2, FERRY_CMD_READY};
    assert_int_equal(ferry_msg_decode(v2, 4, body, 1, &out, &err), FERRY_PROTO_EVERSION);
    assert_int_equal(out.version, 2);
    assert_non_null(strstr(err.msg, "version 2"));
    uint8_t cmd0[] = {'F', 'Y', 1, 0}, cmd99[] = {'F', 'Y', 1, 99}, blob[] = {'F', 'Y', 1, FERRY_CMD_BLOB_GET};
    assert_int_equal(ferry_msg_decode(cmd0, 4, body, 1, &out, &err), FERRY_PROTO_ECMD);
    assert_int_equal(ferry_msg_decode(cmd99, 4, body, 1, &out, &err), FERRY_PROTO_ECMD);
    assert_int_equal(ferry_msg_decode(blob, 4, body, 1, &out, &err), FERRY_PROTO_ECMD);
    uint8_t ok[] = {'F', 'Y', 1, FERRY_CMD_HEARTBEAT};
    assert_int_equal(ferry_msg_decode(ok, 4, body, 0, &out, &err), FERRY_PROTO_EBODY);
    assert_int_equal(ferry_msg_decode(ok, 4, body, 1, &out, &err), 0);
    ferry_msg_clear(&out);
}

static void test_hostile_msgpack(void **state)
{
    /* array32 claiming 4 billion entries in 5 bytes */
    uint8_t huge_array[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(ferry_proto_validate_msgpack(huge_array, sizeof huge_array), FERRY_PROTO_EBODY);
    /* map32 claiming 2^31 pairs */
    uint8_t huge_map[] = {0xdf, 0x80, 0x00, 0x00, 0x00, 0xc0, 0xc0};
    assert_int_equal(ferry_proto_validate_msgpack(huge_map, sizeof huge_map), FERRY_PROTO_EBODY);
    /* str32 longer than the buffer */
    uint8_t long_str[] = {0xdb, 0x00, 0x01, 0x00, 0x00, 'a'};
    assert_int_equal(ferry_proto_validate_msgpack(long_str, sizeof long_str), FERRY_PROTO_EBODY);
    /* the never-used byte 0xc1 */
    uint8_t c1[] = {0xc1};
    assert_int_equal(ferry_proto_validate_msgpack(c1, 1), FERRY_PROTO_EBODY);
    /* trailing garbage after one value */
    uint8_t trailing[] = {0x80, 0x00};
    assert_int_equal(ferry_proto_validate_msgpack(trailing, 2), FERRY_PROTO_EBODY);
    /* nesting: depth limit accepted, one more refused */
    uint8_t deep[64];
    for (int i = 0; i < 64; i++)
        deep[i] = 0x91; /* fixarray of 1 */
    deep[FERRY_PROTO_MAX_DEPTH] = 0xc0;
    assert_int_equal(ferry_proto_validate_msgpack(deep, FERRY_PROTO_MAX_DEPTH + 1), 0);
    deep[FERRY_PROTO_MAX_DEPTH] = 0x91;
    deep[FERRY_PROTO_MAX_DEPTH + 1] = 0xc0;
    assert_int_equal(ferry_proto_validate_msgpack(deep, FERRY_PROTO_MAX_DEPTH + 2), FERRY_PROTO_EBODY);
    /* every scalar type accepted */
    uint8_t scalars[] = {0xdc, 0, 19, 0x00, 0xff, 0xc0, 0xc2, 0xc3, 0xcc, 1, 0xcd, 0, 1, 0xce, 0, 0, 0, 1,
                         0xd0, 0xff, 0xca, 0, 0, 0, 0, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0, 0xc4, 1, 9,
                         0xd4, 1, 2, 0xc7, 1, 5, 9, 0xa1, 'x', 0xd9, 1, 'y', 0x80, 0x90, 0xd8, 1,
                         0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(ferry_proto_validate_msgpack(scalars, sizeof scalars), 0);
    /* every truncation of that value is refused (never read past the end) */
    for (size_t n = 1; n < sizeof scalars; n++)
        assert_int_equal(ferry_proto_validate_msgpack(scalars, n), FERRY_PROTO_EBODY);
    /* too many elements overall */
    size_t n = 3 + FERRY_PROTO_MAX_ELEMS;
    uint8_t *many = ferry_malloc(n + 2);
    many[0] = 0xdd;
    many[1] = 0;
    many[2] = (FERRY_PROTO_MAX_ELEMS >> 16) & 0xff;
    many[3] = (FERRY_PROTO_MAX_ELEMS >> 8) & 0xff;
    many[4] = FERRY_PROTO_MAX_ELEMS & 0xff;
    memset(many + 5, 0xc0, n - 3);
    assert_int_equal(ferry_proto_validate_msgpack(many, n + 2), FERRY_PROTO_EBODY);
    free(many);
}

/* Frames through real sockets: well-formed, wrong frame counts, oversized bodies. */
static void test_zmq_framing(void **state)
{
    void *ctx = zmq_ctx_new();
    void *router = zmq_socket(ctx, ZMQ_ROUTER), *dealer = zmq_socket(ctx, ZMQ_DEALER);
    assert_int_equal(zmq_bind(router, "inproc://t"), 0);
    assert_int_equal(zmq_connect(dealer, "inproc://t"), 0);
    int timeout = 2000;
    zmq_setsockopt(router, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    zmq_setsockopt(dealer, ZMQ_RCVTIMEO, &timeout, sizeof timeout);

    ferry_msg_t m = {.cmd = FERRY_CMD_READY};
    m.u.ready.credit = 5;
    assert_int_equal(ferry_proto_send(dealer, NULL, 0, &m), 0);
    zmq_pollitem_t pi = {router, 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&pi, 1, 2000), 1);
    ferry_inbound_t in;
    ferry_err_t err = {{0}};
    assert_int_equal(ferry_proto_recv(router, true, &in, &err), 0);
    assert_int_equal(in.msg.cmd, FERRY_CMD_READY);
    assert_int_equal(in.msg.u.ready.credit, 5);
    assert_true(in.identity_len > 0);
    ferry_msg_clear(&in.msg);

    /* reply to that identity */
    assert_int_equal(ferry_proto_send_error(router, in.identity, in.identity_len, FERRY_ERRCODE_REFUSED, "no %d", 1),
                     0);
    ferry_inbound_t back;
    assert_int_equal(zmq_poll(&(zmq_pollitem_t){dealer, 0, ZMQ_POLLIN, 0}, 1, 2000), 1);
    assert_int_equal(ferry_proto_recv(dealer, false, &back, &err), 0);
    assert_int_equal(back.msg.u.error.code, FERRY_ERRCODE_REFUSED);
    assert_string_equal(back.msg.u.error.message, "no 1");
    ferry_msg_clear(&back.msg);

    /* one frame only, then three frames: both refused, and the socket stays in step */
    zmq_send(dealer, "FY", 2, 0);
    zmq_send(dealer, "a", 1, ZMQ_SNDMORE);
    zmq_send(dealer, "b", 1, ZMQ_SNDMORE);
    zmq_send(dealer, "c", 1, 0);
    assert_int_equal(ferry_proto_send(dealer, NULL, 0, &m), 0);
    assert_int_equal(zmq_poll(&pi, 1, 2000), 1);
    assert_int_equal(ferry_proto_recv(router, true, &in, &err), FERRY_PROTO_EFRAMES);
    ferry_msg_clear(&in.msg);
    assert_int_equal(ferry_proto_recv(router, true, &in, &err), FERRY_PROTO_EFRAMES);
    ferry_msg_clear(&in.msg);
    assert_int_equal(ferry_proto_recv(router, true, &in, &err), 0);
    assert_int_equal(in.msg.cmd, FERRY_CMD_READY);
    ferry_msg_clear(&in.msg);

    /* an oversized body */
    size_t big = FERRY_PROTO_MAX_BODY + 1;
    char *blob = ferry_calloc(1, big);
    uint8_t hdr[4];
    ferry_proto_header(hdr, FERRY_CMD_READY);
    zmq_send(dealer, hdr, 4, ZMQ_SNDMORE);
    zmq_send(dealer, blob, big, 0);
    free(blob);
    assert_int_equal(zmq_poll(&pi, 1, 2000), 1);
    assert_int_equal(ferry_proto_recv(router, true, &in, &err), FERRY_PROTO_EFRAMES);
    ferry_msg_clear(&in.msg);
    /* nothing left */
    assert_int_equal(ferry_proto_recv(router, true, &in, &err), -EAGAIN);

    zmq_close(router);
    zmq_close(dealer);
    zmq_ctx_term(ctx);
}

/* A storm of signals (as a worker gets SIGCHLD from finished children) while messages go
 * both ways: no message may be lost, cut or reordered (libzmq answers EINTR inside sends
 * and receives, even with ZMQ_DONTWAIT; each frame must be retried). */
#define S_STORM_MSGS 100000

typedef struct {
    void *dealer;
    int failures;
    atomic_bool is_done;
    pthread_t targets[2];
} s_storm_t;

/* message i carries 1..65536 (READY's credit bound), cycling */
static uint32_t s_storm_seq(uint32_t i)
{
    return (i - 1) % 65536 + 1;
}

static void s_on_usr1(int sig)
{
    (void)sig;
}

static void *s_storm_sender(void *arg)
{
    s_storm_t *st = arg;
    for (uint32_t i = 1; i <= S_STORM_MSGS;) {
        ferry_msg_t m = {.cmd = FERRY_CMD_READY};
        m.u.ready.credit = s_storm_seq(i);
        int rc = ferry_proto_send(st->dealer, NULL, 0, &m);
        if (rc == 0)
            i++;
        else if (rc == -EAGAIN)
            nanosleep(&(struct timespec){0, 100000}, NULL);
        else {
            st->failures++;
            i++;
        }
    }
    return NULL;
}

static void *s_storm_signals(void *arg)
{
    s_storm_t *st = arg;
    while (!atomic_load(&st->is_done)) {
        pthread_kill(st->targets[0], SIGUSR1);
        pthread_kill(st->targets[1], SIGUSR1);
        sched_yield();
    }
    return NULL;
}

static void test_signal_storm(void **state)
{
    struct sigaction sa = {.sa_handler = s_on_usr1}, old_sa; /* no SA_RESTART */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, &old_sa);
    void *ctx = zmq_ctx_new();
    void *router = zmq_socket(ctx, ZMQ_ROUTER);
    s_storm_t st = {.dealer = zmq_socket(ctx, ZMQ_DEALER)};
    int hwm = 0; /* no drops at the high-water mark: only signals are under test */
    zmq_setsockopt(router, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(st.dealer, ZMQ_SNDHWM, &hwm, sizeof hwm);
    assert_int_equal(zmq_bind(router, "tcp://127.0.0.1:*"), 0);
    char ep[64];
    size_t ep_len = sizeof ep;
    zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, ep, &ep_len);
    assert_int_equal(zmq_connect(st.dealer, ep), 0);
    pthread_t sender, storm;
    st.targets[0] = pthread_self();
    assert_int_equal(pthread_create(&sender, NULL, s_storm_sender, &st), 0);
    st.targets[1] = sender;
    assert_int_equal(pthread_create(&storm, NULL, s_storm_signals, &st), 0);
    uint32_t next = 1;
    int bad = 0, idle_ms = 0;
    while (next <= S_STORM_MSGS && idle_ms < 10000 && !bad) {
        ferry_inbound_t in;
        ferry_err_t err = {{0}};
        int rc = ferry_proto_recv(router, true, &in, &err);
        if (rc == 0) {
            if (in.msg.cmd != FERRY_CMD_READY || in.msg.u.ready.credit != s_storm_seq(next))
                bad = 1;
            next++;
            idle_ms = 0;
        } else if (rc == -EAGAIN) {
            zmq_pollitem_t pi = {router, 0, ZMQ_POLLIN, 0};
            if (zmq_poll(&pi, 1, 10) == 0)
                idle_ms += 10;
        } else {
            print_error("receive %u: %d %s\n", next, rc, err.msg);
            bad = 1;
        }
        ferry_msg_clear(&in.msg);
    }
    atomic_store(&st.is_done, true);
    pthread_join(sender, NULL);
    pthread_join(storm, NULL);
    sigaction(SIGUSR1, &old_sa, NULL);
    assert_int_equal(st.failures, 0);
    assert_int_equal(bad, 0);
    assert_int_equal(next, S_STORM_MSGS + 1);
    int linger = 0;
    zmq_setsockopt(st.dealer, ZMQ_LINGER, &linger, sizeof linger);
    zmq_close(router);
    zmq_close(st.dealer);
    zmq_ctx_term(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello_roundtrip),
        cmocka_unit_test(test_task_result_ack_roundtrip),
        cmocka_unit_test(test_batches),
        cmocka_unit_test(test_small_messages_roundtrip),
        cmocka_unit_test(test_unknown_fields_ignored_and_types_checked),
        cmocka_unit_test(test_header_errors),
        cmocka_unit_test(test_hostile_msgpack),
        cmocka_unit_test(test_zmq_framing),
        cmocka_unit_test(test_signal_storm),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
