/* test_coordinator.c -- unit tests for coordinator/coordinator.c and worker/worker.c:
 * requirement matching, and a whole run in one process (inproc) with routing by tags */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "coordinator/coordinator.h"
#include "proto/proto.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/mem.h"
#include "worker/worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

static void test_requirements_match(void **state)
{
    char *isa[] = {"sse4.2", "AVX2"}, *tags[] = {"fast", "eu"}, *rts[] = {"ort-node"};
    ferry_msg_gpu_t gpu = {.name = "H200"};
    ferry_msg_hello_t caps = {.arch = "x86_64", .isa = isa, .n_isa = 2, .tags = tags, .n_tags = 2,
                              .runtimes = rts, .n_runtimes = 1};
    ferry_requirements_t any = {0};
    assert_true(ferry_requirements_match(&any, &caps));
    char *want_avx2[] = {"avx2"}, *want_avx512[] = {"avx512f"};
    ferry_requirements_t r = {.arch = "x86_64", .isa = want_avx2, .n_isa = 1};
    assert_true(ferry_requirements_match(&r, &caps)); /* ISA flags compare case-insensitively */
    r.arch = "aarch64";
    assert_false(ferry_requirements_match(&r, &caps));
    r = (ferry_requirements_t){.isa = want_avx512, .n_isa = 1};
    assert_false(ferry_requirements_match(&r, &caps));
    r = (ferry_requirements_t){.needs_gpu = true};
    assert_false(ferry_requirements_match(&r, &caps));
    caps.gpus = &gpu;
    caps.n_gpus = 1;
    assert_true(ferry_requirements_match(&r, &caps));
    char *want_tags[] = {"eu", "fast"}, *want_other[] = {"us"};
    r = (ferry_requirements_t){.tags = want_tags, .n_tags = 2};
    assert_true(ferry_requirements_match(&r, &caps));
    r.tags = want_other;
    r.n_tags = 1;
    assert_false(ferry_requirements_match(&r, &caps));
    char *want_rt[] = {"ort-node"}, *want_trt[] = {"tensorrt"};
    r = (ferry_requirements_t){.runtimes = want_rt, .n_runtimes = 1};
    assert_true(ferry_requirements_match(&r, &caps));
    r.runtimes = want_trt;
    assert_false(ferry_requirements_match(&r, &caps));
    caps.arch = NULL; /* a worker that did not say its arch never matches an arch requirement */
    r = (ferry_requirements_t){.arch = "x86_64"};
    assert_false(ferry_requirements_match(&r, &caps));
}

static void s_assert_unmet(const ferry_requirements_t *r, const ferry_msg_hello_t *caps, const char *want)
{
    char *got = ferry_requirements_unmet(r, caps);
    if (!want) {
        assert_null(got);
        return;
    }
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void test_requirements_unmet(void **state)
{
    char *isa[] = {"avx2"}, *tags[] = {"fast"};
    ferry_msg_hello_t caps = {.arch = "x86_64", .isa = isa, .n_isa = 1, .tags = tags, .n_tags = 1};
    ferry_requirements_t r = {0};
    s_assert_unmet(&r, &caps, NULL);
    r.needs_gpu = true;
    s_assert_unmet(&r, &caps, "has a GPU (requires gpu: true)");
    r = (ferry_requirements_t){.arch = "aarch64"};
    s_assert_unmet(&r, &caps, "runs on aarch64 (requires arch: aarch64; workers run on x86_64)");
    char *want_isa[] = {"AVX2", "avx512f"}, *want_tags[] = {"fast", "eu"}, *want_rt[] = {"ort-node"};
    r = (ferry_requirements_t){.isa = want_isa, .n_isa = 2};
    s_assert_unmet(&r, &caps, "supports ISA flag avx512f (requires isa: avx512f)");
    r = (ferry_requirements_t){.tags = want_tags, .n_tags = 2};
    s_assert_unmet(&r, &caps, "has tag eu (requires tags: eu)");
    r = (ferry_requirements_t){.runtimes = want_rt, .n_runtimes = 1};
    s_assert_unmet(&r, &caps, "offers runtime ort-node (requires runtimes: ort-node)");
    /* unmet exactly when match fails */
    assert_false(ferry_requirements_match(&r, &caps));
}

typedef struct {
    ferry_worker_t *w;
    pthread_t th;
    int rc;
} s_thread_t;

static void *s_worker_main(void *arg)
{
    s_thread_t *t = arg;
    t->rc = ferry_worker_run(t->w);
    return NULL;
}

static int64_t s_query(const char *dir, const char *sql)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "sqlite3 '%s/state.db' \"%s\"", dir, sql);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    long long v = -1;
    if (fscanf(p, "%lld", &v) != 1)
        v = -1;
    pclose(p);
    return v;
}

static void test_inproc_run_routes_by_tag(void **state)
{
    ferry_log_set_level(FERRY_LOG_WARN);
    char dir[] = "/tmp/ferry-coord-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    static const char yaml[] = "name: routing\n"
                               "settings: {heartbeat_ms: 1000}\n"
                               "diagnostics:\n"
                               "  - {kind: echo, name: left, count: 300, requires: {tags: [left]}}\n"
                               "  - {kind: echo, name: right, count: 200, requires: {tags: [right]}}\n"
                               "  - {kind: echo, name: anyone, count: 100}\n";
    ferry_err_t err = {{0}};
    ferry_plan_t *plan = ferry_plan_parse("routing.yaml", yaml, sizeof yaml - 1, &err);
    if (!plan)
        fail_msg("%s", err.msg);
    void *ctx = zmq_ctx_new();
    ferry_coord_opts_t copts = {.plan = plan, .plan_text = yaml, .plan_len = sizeof yaml - 1, .state_dir = dir,
                                .bind = "inproc://test-routing", .zmq_ctx = ctx};
    ferry_coordinator_t *c = ferry_coordinator_new(&copts, &err);
    if (!c)
        fail_msg("%s", err.msg);
    const char *left[] = {"left"}, *right[] = {"right"};
    s_thread_t t[2];
    ferry_worker_opts_t wl = {.endpoint = "inproc://test-routing", .zmq_ctx = ctx, .slots = 1, .prefetch = 8,
                              .tags = left, .n_tags = 1, .name = "w-left"};
    ferry_worker_opts_t wr = wl;
    wr.tags = right;
    wr.name = "w-right";
    t[0].w = ferry_worker_new(&wl, &err);
    t[1].w = ferry_worker_new(&wr, &err);
    assert_non_null(t[0].w);
    assert_non_null(t[1].w);
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i].th, NULL, s_worker_main, &t[i]);
    assert_int_equal(ferry_coordinator_run(c), FERRY_EXIT_OK);
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i].th, NULL);
        assert_int_equal(t[i].rc, FERRY_EXIT_OK); /* both left on the coordinator's BYE */
    }
    assert_int_equal(ferry_worker_finished(t[0].w) + ferry_worker_finished(t[1].w), 600);
    for (int i = 0; i < 2; i++)
        ferry_worker_destroy(&t[i].w);
    ferry_coordinator_destroy(&c);
    assert_null(c);
    zmq_ctx_term(ctx);

    assert_int_equal(s_query(dir, "SELECT count(*) FROM results"), 600);
    /* every 'left' task ran on w-left, every 'right' task on w-right */
    assert_int_equal(s_query(dir, "SELECT count(*) FROM results r JOIN tasks t ON t.id = r.task "
                                  "JOIN workers w ON w.id = r.worker WHERE t.grp = 0 AND w.name != 'w-left'"),
                     0);
    assert_int_equal(s_query(dir, "SELECT count(*) FROM results r JOIN tasks t ON t.id = r.task "
                                  "JOIN workers w ON w.id = r.worker WHERE t.grp = 1 AND w.name != 'w-right'"),
                     0);
    /* echo output is the task id */
    assert_int_equal(s_query(dir, "SELECT count(*) FROM results WHERE output = 'right-7'"), 1);
    ferry_plan_destroy(&plan);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_feed_hostile_and_stale(void **state)
{
    ferry_log_set_level(FERRY_LOG_ERROR);
    char dir[] = "/tmp/ferry-coord-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    static const char yaml[] = "diagnostics:\n  - {kind: echo, count: 3}\n";
    ferry_err_t err = {{0}};
    ferry_plan_t *plan = ferry_plan_parse("p.yaml", yaml, sizeof yaml - 1, &err);
    assert_non_null(plan);
    ferry_coord_opts_t copts = {.plan = plan, .plan_text = yaml, .plan_len = sizeof yaml - 1, .state_dir = dir,
                                .bind = "inproc://test-feed"};
    ferry_coordinator_t *c = ferry_coordinator_new(&copts, &err);
    assert_non_null(c);
    uint8_t hdr[4];
    /* garbage, a wrong version, an unknown command: refused and counted */
    assert_int_equal(ferry_coordinator_feed(c, "a", 1, "xx", 2, "\x80", 1), FERRY_PROTO_ESIG);
    assert_int_equal(ferry_coordinator_feed(c, "a", 1, "FY\x07\x02", 4, "\x80", 1), FERRY_PROTO_EVERSION);
    assert_int_equal(ferry_coordinator_feed(c, "a", 1, "FY\x01\x63", 4, "\x80", 1), FERRY_PROTO_ECMD);
    assert_int_equal(ferry_coordinator_bad_frames(c), 3);
    /* a forged RESULT for an attempt that does not exist: decoded, dropped as stale */
    ferry_msg_t m = {.cmd = FERRY_CMD_RESULT};
    m.u.result = (ferry_msg_result_t){.attempt = 99, .task = 1, .outcome = FERRY_OUTCOME_OK};
    ferry_buf_t body = FERRY_BUF_INIT;
    ferry_msg_encode(&m, &body);
    ferry_proto_header(hdr, FERRY_CMD_RESULT);
    assert_int_equal(ferry_coordinator_feed(c, "a", 1, hdr, 4, body.data, body.len), 0);
    ferry_buf_free(&body);
    ferry_coordinator_destroy(&c);
    ferry_plan_destroy(&plan);
    assert_int_equal(s_query(dir, "SELECT count(*) FROM events WHERE kind = 'stale-result' AND attempt = 99"), 1);
    assert_int_equal(s_query(dir, "SELECT count(*) FROM attempts"), 0);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

typedef struct {
    ferry_coordinator_t *c;
    pthread_t th;
    int rc;
} s_coord_thread_t;

static void *s_coord_main(void *arg)
{
    s_coord_thread_t *t = arg;
    t->rc = ferry_coordinator_run(t->c);
    return NULL;
}

/* Receive the next message of cmd on the test worker's socket (others skipped), within 5 s. */
static int s_expect(void *sock, ferry_cmd_t cmd, ferry_msg_t *out)
{
    for (int waited = 0; waited < 5000;) {
        ferry_inbound_t in;
        ferry_err_t err = {{0}};
        int rc = ferry_proto_recv(sock, false, &in, &err);
        if (rc == -EAGAIN) {
            zmq_pollitem_t pi = {sock, 0, ZMQ_POLLIN, 0};
            if (zmq_poll(&pi, 1, 50) == 0)
                waited += 50;
            continue;
        }
        if (rc == 0 && in.msg.cmd == cmd) {
            *out = in.msg;
            return 0;
        }
        ferry_msg_clear(&in.msg);
    }
    return -ETIMEDOUT;
}

static void s_send_heartbeat(void *sock, uint64_t last_task, uint64_t *held, size_t n_held)
{
    ferry_msg_t m = {.cmd = FERRY_CMD_HEARTBEAT};
    m.u.heartbeat.last_task = last_task;
    m.u.heartbeat.attempts = held;
    m.u.heartbeat.n_attempts = n_held;
    assert_int_equal(ferry_proto_send(sock, NULL, 0, &m), 0);
}

/* A worker whose HEARTBEAT says it does not hold an attempt it was sent (its TASK or its
 * RESULT was lost): the attempt ends as lost and the task goes out again; while the
 * heartbeat lists it, the lease stays. The worker is played by hand on a DEALER. */
static void test_heartbeat_retires_unheld_attempt(void **state)
{
    ferry_log_set_level(FERRY_LOG_ERROR);
    char dir[] = "/tmp/ferry-coord-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    static const char yaml[] = "settings: {heartbeat_ms: 1000}\ndiagnostics:\n  - {kind: sleep, ms: 1, count: 1}\n";
    ferry_err_t err = {{0}};
    ferry_plan_t *plan = ferry_plan_parse("p.yaml", yaml, sizeof yaml - 1, &err);
    assert_non_null(plan);
    void *ctx = zmq_ctx_new();
    ferry_coord_opts_t copts = {.plan = plan, .plan_text = yaml, .plan_len = sizeof yaml - 1, .state_dir = dir,
                                .bind = "inproc://test-unheld", .zmq_ctx = ctx};
    s_coord_thread_t ct = {.c = ferry_coordinator_new(&copts, &err)};
    assert_non_null(ct.c);
    pthread_create(&ct.th, NULL, s_coord_main, &ct);
    void *sock = zmq_socket(ctx, ZMQ_DEALER);
    assert_int_equal(zmq_connect(sock, "inproc://test-unheld"), 0);
    ferry_msg_t m = {.cmd = FERRY_CMD_HELLO};
    m.u.hello = (ferry_msg_hello_t){.name = "by-hand", .slots = 1, .credit = 1, .arch = "x86_64"};
    assert_int_equal(ferry_proto_send(sock, NULL, 0, &m), 0);
    ferry_msg_t task;
    assert_int_equal(s_expect(sock, FERRY_CMD_TASK, &task), 0);
    uint64_t first = task.u.task.attempt, task_id = task.u.task.task;
    ferry_msg_clear(&task);
    /* held: the lease stays, no second TASK */
    s_send_heartbeat(sock, first, &first, 1);
    zmq_pollitem_t pi = {sock, 0, ZMQ_POLLIN, 0};
    bool is_task = false;
    for (int i = 0; i < 6 && !is_task; i++) {
        if (zmq_poll(&pi, 1, 50) <= 0)
            continue;
        ferry_inbound_t in;
        if (ferry_proto_recv(sock, false, &in, &err) == 0)
            is_task = in.msg.cmd == FERRY_CMD_TASK;
        ferry_msg_clear(&in.msg);
    }
    assert_false(is_task);
    /* not held: lost, and the task comes again as a new attempt */
    s_send_heartbeat(sock, first, NULL, 0);
    assert_int_equal(s_expect(sock, FERRY_CMD_TASK, &task), 0);
    assert_int_equal(task.u.task.task, task_id);
    assert_true(task.u.task.attempt > first);
    ferry_msg_t r = {.cmd = FERRY_CMD_RESULT};
    r.u.result = (ferry_msg_result_t){.attempt = task.u.task.attempt, .task = task_id, .outcome = FERRY_OUTCOME_OK};
    ferry_msg_clear(&task);
    assert_int_equal(ferry_proto_send(sock, NULL, 0, &r), 0);
    pthread_join(ct.th, NULL);
    assert_int_equal(ct.rc, FERRY_EXIT_OK);
    int linger = 0;
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    zmq_close(sock);
    ferry_coordinator_destroy(&ct.c);
    zmq_ctx_term(ctx);
    ferry_plan_destroy(&plan);
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM attempts WHERE id = %llu AND reason LIKE '%%does not hold%%'",
             (unsigned long long)first);
    assert_int_equal(s_query(dir, sql), 1);
    assert_int_equal(s_query(dir, "SELECT count(*) FROM results"), 1);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void s_feed_hello(ferry_coordinator_t *c, const char *identity, const char *name)
{
    ferry_msg_t m = {.cmd = FERRY_CMD_HELLO};
    m.u.hello = (ferry_msg_hello_t){.name = (char *)name, .slots = 1, .credit = 1, .arch = "x86_64"};
    ferry_buf_t body = FERRY_BUF_INIT;
    assert_int_equal(ferry_msg_encode(&m, &body), 0);
    uint8_t hdr[4];
    ferry_proto_header(hdr, FERRY_CMD_HELLO);
    assert_int_equal(ferry_coordinator_feed(c, identity, strlen(identity), hdr, 4, body.data, body.len), 0);
    ferry_buf_free(&body);
}

/* A client that says HELLO and is gone before its TASK can be sent (no such peer on the
 * ROUTER): the attempt ends as lost but does not count, so with max_attempts 1 the task is
 * not failed; it goes to the next worker at once. */
static void test_undelivered_task_keeps_its_attempts(void **state)
{
    ferry_log_set_level(FERRY_LOG_ERROR);
    char dir[] = "/tmp/ferry-coord-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    static const char yaml[] = "settings: {max_attempts: 1}\ndiagnostics:\n  - {kind: echo, count: 1}\n";
    ferry_err_t err = {{0}};
    ferry_plan_t *plan = ferry_plan_parse("p.yaml", yaml, sizeof yaml - 1, &err);
    assert_non_null(plan);
    ferry_coord_opts_t copts = {.plan = plan, .plan_text = yaml, .plan_len = sizeof yaml - 1, .state_dir = dir,
                                .bind = "inproc://test-undelivered"};
    ferry_coordinator_t *c = ferry_coordinator_new(&copts, &err);
    assert_non_null(c);
    s_feed_hello(c, "ghost-1", "ghost-1"); /* leased to it; its TASK finds no peer */
    s_feed_hello(c, "ghost-2", "ghost-2"); /* the next turn: lost uncounted, leased again */
    ferry_coordinator_destroy(&c);
    ferry_plan_destroy(&plan);
    /* leased twice (once more after the first was not delivered), the first recorded with its
     * reason; the second may still be open or undelivered too: neither fails the task */
    assert_int_equal(s_query(dir, "SELECT count(*) FROM attempts"), 2);
    assert_int_equal(s_query(dir, "SELECT count(*) FROM attempts WHERE id = (SELECT min(id) FROM attempts) "
                                  "AND reason LIKE '%could not be delivered%'"),
                     1);
    assert_int_equal(s_query(dir, "SELECT count(*) FROM events WHERE kind = 'task-failed'"), 0);
    assert_int_equal(s_query(dir, "SELECT count(*) FROM tasks WHERE state = 3"), 0); /* 3: failed */
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_requirements_match),
        cmocka_unit_test(test_requirements_unmet),
        cmocka_unit_test(test_inproc_run_routes_by_tag),
        cmocka_unit_test(test_feed_hostile_and_stale),
        cmocka_unit_test(test_heartbeat_retires_unheld_attempt),
        cmocka_unit_test(test_undelivered_task_keeps_its_attempts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
