/* test_jwriter.c -- unit tests for coordinator/jwriter.c: commit before "committed", group
 * commit, failure propagation, shutdown drain, holding the writer, commits on the calling
 * thread (ferry_jwriter_seal_commit)
 *
 * What the journal holds is read on a connection of the test's own (plain sqlite3), so
 * "committed" is checked against what another process would see. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "coordinator/journal.h"
#include "coordinator/jwriter.h"
#include "proto/proto.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char s_dir[64];

static int s_setup(void **state)
{
    snprintf(s_dir, sizeof s_dir, "/tmp/ferry-jwriter-XXXXXX");
    assert_non_null(mkdtemp(s_dir));
    return 0;
}

static int s_teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    return system(cmd);
}

static const ferry_journal_group_t s_groups[] = {
    {.name = "echo", .kind = FERRY_TASK_ECHO, .count = 20},
};

static ferry_journal_t *s_open(void)
{
    ferry_err_t err = {{0}};
    bool is_resumed;
    ferry_journal_t *j = ferry_journal_open(s_dir, false, &err);
    if (!j)
        fail_msg("open: %s", err.msg);
    if (ferry_journal_setup(j, "p.yaml", "abc", "name: p", s_groups, 1, &is_resumed, &err))
        fail_msg("setup: %s", err.msg);
    return j;
}

/* One integer from the journal, read on an independent connection. */
static long long s_query(const char *sql)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", s_dir, FERRY_JOURNAL_FILE);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long long v = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    else
        fail_msg("query '%s': %s", sql, db ? sqlite3_errmsg(db) : "?");
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* notify: counts calls, and records how many attempts another connection saw then */
typedef struct {
    pthread_mutex_t lock;
    int calls;
    long long attempts_seen;
} s_notes_t;

static void s_on_notify(void *ud)
{
    s_notes_t *n = ud;
    long long seen = s_query("SELECT count(*) FROM attempts");
    pthread_mutex_lock(&n->lock);
    n->calls++;
    n->attempts_seen = seen;
    pthread_mutex_unlock(&n->lock);
}

/* notify runs on the writer thread just after wait() returns: give it up to 2 s */
static int s_calls_after(s_notes_t *n, int want)
{
    int calls = 0;
    for (int i = 0; i < 2000; i++) {
        pthread_mutex_lock(&n->lock);
        calls = n->calls;
        pthread_mutex_unlock(&n->lock);
        if (calls >= want)
            break;
        usleep(1000);
    }
    return calls;
}

static void test_commit_before_committed(void **state)
{
    ferry_journal_t *j = s_open();
    uint64_t next = 0;
    assert_int_equal(ferry_journal_next_attempt(j, &next), 0);
    assert_int_equal(next, 1);
    s_notes_t notes = {.lock = PTHREAD_MUTEX_INITIALIZER};
    ferry_jwriter_t *w = ferry_jwriter_new(j, s_on_notify, &notes);
    assert_non_null(w);
    assert_int_equal(ferry_jwriter_seal(w), 0); /* nothing recorded: nothing to wait for */

    /* held: sealed writes are not committed, and "committed" does not move */
    assert_ptr_equal(ferry_jwriter_hold(w), j);
    for (uint64_t a = 1; a <= 3; a++)
        ferry_jwriter_lease(w, a, a + 10, 0, 1000);
    uint64_t seq = ferry_jwriter_seal(w);
    assert_int_equal(seq, 1);
    usleep(50 * 1000);
    assert_int_equal(ferry_jwriter_committed(w), 0);
    assert_int_equal(s_query("SELECT count(*) FROM attempts"), 0);
    ferry_jwriter_release(w);

    /* once committed() reaches the batch, another connection sees all of it */
    assert_int_equal(ferry_jwriter_wait(w, seq), 0);
    assert_true(ferry_jwriter_committed(w) >= seq);
    assert_int_equal(s_query("SELECT count(*) FROM attempts WHERE outcome IS NULL AND task > 10"), 3);
    assert_int_equal(s_calls_after(&notes, 1), 1);
    pthread_mutex_lock(&notes.lock);
    assert_int_equal(notes.attempts_seen, 3); /* notify comes after the commit */
    pthread_mutex_unlock(&notes.lock);

    /* results in order after their leases (same batch); strings truncated as the journal does */
    char long_err[3000];
    memset(long_err, 'e', sizeof long_err - 1);
    long_err[sizeof long_err - 1] = '\0';
    long_err[sizeof long_err - 2] = 'Z';
    ferry_jwriter_lease(w, 4, 14, 0, 1001);
    ferry_journal_outcome_t ok = {.outcome = FERRY_OUTCOME_OK, .output = "out"};
    ferry_journal_outcome_t bad = {.outcome = FERRY_OUTCOME_FAILED, .exit_code = 3, .reason = "exit 3",
                                   .stderr_tail = long_err};
    ferry_jwriter_finish(w, 1, 11, &ok, FERRY_TASK_DONE, 1, 1002);
    ferry_jwriter_finish(w, 2, 12, &bad, FERRY_TASK_FAILED, 1, 1002);
    ferry_jwriter_finish(w, 4, 14, &ok, FERRY_TASK_DONE, 1, 1003);
    ferry_jwriter_finish(w, 99, 19, &ok, FERRY_TASK_DONE, 1, 1003); /* not open: changes nothing */
    ferry_jwriter_event(w, 1004, "test-event", 12, 2, 0, "detail");
    seq = ferry_jwriter_seal(w);
    assert_int_equal(seq, 2);
    assert_int_equal(ferry_jwriter_wait(w, seq), 0);
    assert_int_equal(ferry_jwriter_status(w), 0);
    assert_int_equal(s_query("SELECT count(*) FROM results"), 2);
    assert_int_equal(s_query("SELECT count(*) FROM leases"), 1); /* attempt 3 */
    assert_int_equal(s_query("SELECT state FROM tasks WHERE id = 12"), FERRY_TASK_FAILED);
    assert_int_equal(s_query("SELECT length(stderr) FROM attempts WHERE id = 2"), FERRY_JOURNAL_MAX_STDERR);
    assert_int_equal(s_query("SELECT substr(stderr, -1) = 'Z' FROM attempts WHERE id = 2"), 1);
    assert_int_equal(s_query("SELECT count(*) FROM attempts WHERE id = 99"), 0);
    assert_int_equal(s_query("SELECT count(*) FROM events WHERE kind = 'test-event' AND detail = 'detail'"), 1);
    ferry_jwriter_destroy(&w);
    assert_null(w);
    ferry_jwriter_destroy(&w); /* twice is fine */
    assert_int_equal(ferry_journal_next_attempt(j, &next), 0);
    assert_int_equal(next, 5);
    ferry_journal_destroy(&j);
}

static void test_group_commit(void **state)
{
    ferry_journal_t *j = s_open();
    ferry_jwriter_t *w = ferry_jwriter_new(j, NULL, NULL);
    assert_non_null(w);
    uint64_t before = ferry_jwriter_commits(w);
    assert_non_null(ferry_jwriter_hold(w));
    uint64_t seqs[3];
    for (int b = 0; b < 3; b++) {
        for (int i = 0; i < 5; i++) {
            uint64_t a = (uint64_t)(b * 5 + i + 1);
            ferry_jwriter_lease(w, a, a, 0, 2000);
        }
        seqs[b] = ferry_jwriter_seal(w);
    }
    assert_true(seqs[0] < seqs[1] && seqs[1] < seqs[2]);
    ferry_jwriter_release(w);
    assert_int_equal(ferry_jwriter_wait(w, seqs[2]), 0);
    /* three batches sealed while the writer waited went as one transaction */
    assert_int_equal(ferry_jwriter_commits(w) - before, 1);
    assert_int_equal(s_query("SELECT count(*) FROM attempts"), 15);
    /* more leases than one multi-row chunk, in one batch */
    for (uint64_t a = 100; a < 100 + FERRY_JWRITER_LEASE_CHUNK + 7; a++)
        ferry_jwriter_lease(w, a, 1 + a % 20, 0, 2001);
    assert_int_equal(ferry_jwriter_wait(w, ferry_jwriter_seal(w)), 0);
    assert_int_equal(s_query("SELECT count(*) FROM attempts"), 15 + FERRY_JWRITER_LEASE_CHUNK + 7);
    ferry_jwriter_destroy(&w);
    ferry_journal_destroy(&j);
}

static void test_failure_propagation(void **state)
{
    ferry_journal_t *j = s_open();
    s_notes_t notes = {.lock = PTHREAD_MUTEX_INITIALIZER};
    ferry_jwriter_t *w = ferry_jwriter_new(j, s_on_notify, &notes);
    ferry_jwriter_lease(w, 10, 1, 0, 3000);
    uint64_t good = ferry_jwriter_seal(w);
    assert_int_equal(ferry_jwriter_wait(w, good), 0);
    /* a batch that fails half-way (attempt 10 again: a primary key conflict) is rolled
     * back whole, and the writer stays failed */
    ferry_jwriter_lease(w, 11, 2, 0, 3001);
    ferry_jwriter_lease(w, 10, 3, 0, 3001);
    uint64_t bad = ferry_jwriter_seal(w);
    assert_int_equal(ferry_jwriter_wait(w, bad), -EIO);
    assert_int_equal(ferry_jwriter_status(w), -EIO);
    assert_int_equal(ferry_jwriter_committed(w), good);
    assert_int_equal(ferry_jwriter_wait(w, good), 0); /* what was committed stays committed */
    assert_int_equal(s_calls_after(&notes, 2), 2); /* the commit, then the failure */
    ferry_jwriter_lease(w, 12, 4, 0, 3002);
    uint64_t later = ferry_jwriter_seal(w);
    assert_int_equal(ferry_jwriter_wait(w, later), -EIO);
    assert_null(ferry_jwriter_hold(w));
    ferry_jwriter_destroy(&w);
    assert_int_equal(s_query("SELECT count(*) FROM attempts"), 1);
    assert_int_equal(s_query("SELECT id FROM attempts"), 10);
    /* the connection is usable again after the writer: no transaction was left open */
    assert_int_equal(ferry_journal_begin(j), 0);
    assert_int_equal(ferry_journal_event(j, 3003, "after", 0, 0, 0, NULL), 0);
    assert_int_equal(ferry_journal_commit(j), 0);
    assert_int_equal(s_query("SELECT count(*) FROM events WHERE kind = 'after'"), 1);
    ferry_journal_destroy(&j);
}

static void test_shutdown_drain(void **state)
{
    ferry_journal_t *j = s_open();
    ferry_jwriter_t *w = ferry_jwriter_new(j, NULL, NULL);
    for (uint64_t a = 1; a <= 6; a++)
        ferry_jwriter_lease(w, a, a, 0, 4000);
    ferry_jwriter_seal(w); /* sealed, never waited for */
    ferry_journal_outcome_t ok = {.outcome = FERRY_OUTCOME_OK};
    for (uint64_t a = 1; a <= 6; a++)
        ferry_jwriter_finish(w, a, a, &ok, FERRY_TASK_DONE, 1, 4001);
    ferry_jwriter_worker_gone(w, 1, true, 4002); /* recorded, not even sealed */
    ferry_jwriter_destroy(&w);
    assert_int_equal(s_query("SELECT count(*) FROM results"), 6);
    ferry_journal_destroy(&j);
}

static void test_hold_gives_the_journal(void **state)
{
    ferry_journal_t *j = s_open();
    ferry_jwriter_t *w = ferry_jwriter_new(j, NULL, NULL);
    ferry_jwriter_lease(w, 1, 1, 0, 5000);
    /* hold commits what was recorded first, then the caller writes directly */
    ferry_journal_t *held = ferry_jwriter_hold(w);
    assert_ptr_equal(held, j);
    assert_int_equal(s_query("SELECT count(*) FROM attempts"), 1);
    int64_t worker_id = 0;
    assert_int_equal(ferry_journal_begin(held), 0);
    assert_int_equal(ferry_journal_worker(held, "w1", "{}", 5001, &worker_id), 0);
    assert_int_equal(ferry_journal_commit(held), 0);
    assert_true(worker_id > 0);
    ferry_jwriter_release(w);
    ferry_jwriter_lease(w, 2, 2, worker_id, 5002);
    ferry_jwriter_worker_gone(w, worker_id, false, 5003);
    assert_int_equal(ferry_jwriter_wait(w, ferry_jwriter_seal(w)), 0);
    assert_int_equal(s_query("SELECT count(*) FROM attempts WHERE worker = (SELECT id FROM workers WHERE name = 'w1')"),
                     1);
    assert_int_equal(s_query("SELECT state = 'gone' FROM workers WHERE name = 'w1'"), 1);
    ferry_jwriter_destroy(&w);
    ferry_journal_destroy(&j);
}

/* seal_commit: committed before it returns when the writer is idle (no notify then); handed
 * to the thread when it is held or an earlier batch waits; a failure notifies; order kept */
static void test_seal_commit_inline(void **state)
{
    ferry_journal_t *j = s_open();
    s_notes_t notes = {.lock = PTHREAD_MUTEX_INITIALIZER};
    ferry_jwriter_t *w = ferry_jwriter_new(j, s_on_notify, &notes);
    assert_non_null(w);
    assert_int_equal(ferry_jwriter_seal_commit(w), 0); /* nothing recorded */
    ferry_jwriter_lease(w, 1, 1, 0, 6000);
    ferry_jwriter_lease(w, 2, 2, 0, 6000);
    uint64_t seq = ferry_jwriter_seal_commit(w);
    assert_int_equal(seq, 1);
    assert_int_equal(ferry_jwriter_committed(w), seq); /* no wait needed */
    assert_int_equal(s_query("SELECT count(*) FROM leases"), 2);
    ferry_jwriter_stats_t st;
    ferry_jwriter_stats(w, &st);
    assert_int_equal(st.inline_commits, 1);
    assert_int_equal(st.commits, 1);
    usleep(20 * 1000);
    pthread_mutex_lock(&notes.lock);
    assert_int_equal(notes.calls, 0); /* the caller sends right after: no notify */
    pthread_mutex_unlock(&notes.lock);

    /* held: the batch waits for the thread, in order after what was sealed before it */
    assert_ptr_equal(ferry_jwriter_hold(w), j);
    ferry_jwriter_lease(w, 3, 3, 0, 6001);
    uint64_t first = ferry_jwriter_seal(w);
    ferry_journal_outcome_t ok = {.outcome = FERRY_OUTCOME_OK, .output = "echo-2"};
    ferry_jwriter_finish(w, 3, 3, &ok, FERRY_TASK_DONE, 1, 6002);
    uint64_t second = ferry_jwriter_seal_commit(w); /* an earlier batch waits: to the thread */
    assert_true(second > first);
    assert_int_equal(ferry_jwriter_committed(w), seq);
    assert_int_equal(s_query("SELECT count(*) FROM attempts WHERE id = 3"), 0);
    ferry_jwriter_release(w);
    assert_int_equal(ferry_jwriter_wait(w, second), 0);
    assert_int_equal(s_query("SELECT count(*) FROM results WHERE output = 'echo-2'"), 1);
    assert_true(s_calls_after(&notes, 1) >= 1); /* the thread's commit notifies */
    ferry_jwriter_stats(w, &st);
    assert_int_equal(st.inline_commits, 1);

    /* an inline commit that fails (attempt 1 again) is rolled back, sticks, and notifies */
    int calls_before = s_calls_after(&notes, 1);
    ferry_jwriter_lease(w, 4, 4, 0, 6003);
    ferry_jwriter_lease(w, 1, 5, 0, 6003);
    uint64_t bad = ferry_jwriter_seal_commit(w);
    assert_int_equal(ferry_jwriter_status(w), -EIO);
    assert_int_equal(ferry_jwriter_wait(w, bad), -EIO);
    assert_int_equal(s_calls_after(&notes, calls_before + 1), calls_before + 1);
    assert_int_equal(s_query("SELECT count(*) FROM attempts WHERE id = 4"), 0);
    ferry_jwriter_lease(w, 6, 6, 0, 6004); /* later batches are discarded */
    assert_int_equal(ferry_jwriter_wait(w, ferry_jwriter_seal_commit(w)), -EIO);
    ferry_jwriter_destroy(&w);
    assert_int_equal(s_query("SELECT count(*) FROM attempts"), 3);
    ferry_journal_destroy(&j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_commit_before_committed, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_group_commit, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_failure_propagation, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_shutdown_drain, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_hold_gives_the_journal, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown(test_seal_commit_inline, s_setup, s_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
