/* test_exec.c -- unit tests for worker/exec.c: how a child's end becomes an outcome,
 * with real child processes (a shell script standing in for `ferry exec`) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "proto/proto.h"
#include "util/mem.h"
#include "worker/exec.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void s_clear(ferry_msg_result_t *r)
{
    free(r->reason);
    free(r->stderr_tail);
    free(r->output);
    memset(r, 0, sizeof *r);
}

static void test_judge(void **state)
{
    ferry_msg_result_t r = {0};
    const char *ok = FERRY_EXEC_RESULT_PREFIX " slept 5 ms\n";
    ferry_exec_judge(&r, false, 100, 0, 0, ok, strlen(ok), false, "");
    assert_int_equal(r.outcome, FERRY_OUTCOME_OK);
    assert_string_equal(r.output, "slept 5 ms");
    assert_null(r.stderr_tail);
    s_clear(&r);
    const char *bare = FERRY_EXEC_RESULT_PREFIX "\n";
    ferry_exec_judge(&r, false, 100, 0, 0, bare, strlen(bare), false, NULL);
    assert_int_equal(r.outcome, FERRY_OUTCOME_OK);
    assert_null(r.output);
    s_clear(&r);
    /* garbage: no newline, two lines, wrong prefix, prefix glued to text, truncated, empty */
    const char *bad[] = {FERRY_EXEC_RESULT_PREFIX " x", FERRY_EXEC_RESULT_PREFIX " x\nmore\n",
                         "FERRY-RESULT 2 ok x\n", FERRY_EXEC_RESULT_PREFIX "x\n", ""};
    for (size_t i = 0; i < FERRY_ARRAY_LEN(bad); i++) {
        ferry_exec_judge(&r, false, 100, 0, 0, bad[i], strlen(bad[i]), false, NULL);
        if (r.outcome != FERRY_OUTCOME_GARBAGE)
            fail_msg("'%s' judged %s", bad[i], ferry_outcome_name((int)r.outcome));
        s_clear(&r);
    }
    ferry_exec_judge(&r, false, 100, 0, 0, ok, strlen(ok), true, NULL);
    assert_int_equal(r.outcome, FERRY_OUTCOME_GARBAGE);
    s_clear(&r);
    const char nul[] = FERRY_EXEC_RESULT_PREFIX " a\0b\n";
    ferry_exec_judge(&r, false, 100, 0, 0, nul, sizeof nul - 1, false, NULL);
    assert_int_equal(r.outcome, FERRY_OUTCOME_GARBAGE);
    s_clear(&r);
    /* precedence: a timeout beats the signal it caused; a signal beats the exit status */
    ferry_exec_judge(&r, true, 250, 0, SIGKILL, NULL, 0, false, "late");
    assert_int_equal(r.outcome, FERRY_OUTCOME_TIMEOUT);
    assert_string_equal(r.reason, "deadline of 250 ms passed; child killed");
    assert_string_equal(r.stderr_tail, "late");
    s_clear(&r);
    ferry_exec_judge(&r, false, 250, 0, SIGSEGV, ok, strlen(ok), false, NULL);
    assert_int_equal(r.outcome, FERRY_OUTCOME_CRASHED);
    assert_int_equal(r.signal, SIGSEGV);
    assert_non_null(strstr(r.reason, "signal 11"));
    s_clear(&r);
    ferry_exec_judge(&r, false, 250, 3, 0, ok, strlen(ok), false, NULL);
    assert_int_equal(r.outcome, FERRY_OUTCOME_FAILED);
    assert_int_equal(r.exit_code, 3);
    s_clear(&r);
}

/* ---- real children ------------------------------------------------------------------- */
static char s_script[64];
static ferry_msg_result_t s_results[8];
static int s_n_results;

static void s_done(void *ud, ferry_msg_result_t *r)
{
    s_results[s_n_results++] = *r; /* takes the strings */
}

static int s_setup(void **state)
{
    snprintf(s_script, sizeof s_script, "/tmp/ferry-exec-test-XXXXXX");
    int fd = mkstemp(s_script);
    assert_true(fd >= 0);
    /* argv: exec --kind K --ms N --memory-mb M --task ID ($1..$9) */
    const char *body = "#!/bin/sh\n"
                       "case \"$3\" in\n"
                       "echo) echo 'FERRY-RESULT 1 ok hello' ;;\n"
                       "sleep) sleep 10 ;;\n"
                       "fail) i=0; while [ $i -lt 300 ]; do echo \"noise line $i\" >&2; i=$((i+1)); done;"
                       " echo 'last words' >&2; exit 3 ;;\n"
                       "crash) echo dying >&2; kill -SEGV $$ ;;\n"
                       "esac\n";
    assert_int_equal(write(fd, body, strlen(body)), (ssize_t)strlen(body));
    close(fd);
    chmod(s_script, 0700);
    s_n_results = 0;
    return 0;
}

static int s_teardown(void **state)
{
    unlink(s_script);
    for (int i = 0; i < s_n_results; i++)
        s_clear(&s_results[i]);
    return 0;
}

static const ferry_msg_result_t *s_find(uint64_t attempt)
{
    for (int i = 0; i < s_n_results; i++)
        if (s_results[i].attempt == attempt)
            return &s_results[i];
    fail_msg("no result for attempt %llu", (unsigned long long)attempt);
    return NULL;
}

static void test_children(void **state)
{
    uv_loop_t loop;
    uv_loop_init(&loop);
    ferry_msg_task_t tasks[] = {
        {.attempt = 1, .task = 11, .id = "echo-0", .kind = FERRY_TASK_ECHO, .timeout_ms = 5000},
        {.attempt = 2, .task = 12, .id = "sleep-0", .kind = FERRY_TASK_SLEEP, .timeout_ms = 300},
        {.attempt = 3, .task = 13, .id = "fail-0", .kind = FERRY_TASK_FAIL, .timeout_ms = 5000},
        {.attempt = 4, .task = 14, .id = "crash-0", .kind = FERRY_TASK_CRASH, .timeout_ms = 5000},
    };
    for (size_t i = 0; i < FERRY_ARRAY_LEN(tasks); i++)
        assert_int_equal(ferry_exec_start(&loop, s_script, &tasks[i], s_done, NULL), 0);
    ferry_msg_task_t missing = {.attempt = 5, .task = 15, .id = "x", .kind = FERRY_TASK_ECHO, .timeout_ms = 100};
    assert_int_equal(ferry_exec_start(&loop, "/nonexistent/ferry", &missing, s_done, NULL), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_int_equal(s_n_results, 5);

    const ferry_msg_result_t *r = s_find(1);
    assert_int_equal(r->outcome, FERRY_OUTCOME_OK);
    assert_string_equal(r->output, "hello");
    assert_int_equal(r->task, 11);
    r = s_find(2);
    assert_int_equal(r->outcome, FERRY_OUTCOME_TIMEOUT);
    assert_true(r->elapsed_ms >= 250 && r->elapsed_ms < 5000);
    r = s_find(3);
    assert_int_equal(r->outcome, FERRY_OUTCOME_FAILED);
    assert_int_equal(r->exit_code, 3);
    assert_non_null(r->stderr_tail);
    assert_true(strlen(r->stderr_tail) <= 2 * FERRY_EXEC_STDERR_TAIL);
    assert_non_null(strstr(r->stderr_tail, "last words")); /* the tail is kept, not the head */
    assert_null(strstr(r->stderr_tail, "noise line 0\n"));
    r = s_find(4);
    assert_int_equal(r->outcome, FERRY_OUTCOME_CRASHED);
    assert_int_equal(r->signal, SIGSEGV);
    assert_string_equal(r->stderr_tail, "dying\n");
    r = s_find(5);
    assert_int_equal(r->outcome, FERRY_OUTCOME_ERROR);
    assert_non_null(strstr(r->reason, "cannot start"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_judge),
        cmocka_unit_test_setup_teardown(test_children, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
