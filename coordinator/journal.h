/* journal.h -- the coordinator's durable state: SQLite (WAL) in the state directory
 *
 * Tables (state.db): meta, plan, groups, tasks, attempts, workers, events; views
 * leases (open attempts) and results (successful attempts). One task row is a few
 * integers; a task's name "<group>-<index>" is derived from its group, not stored, so a
 * task costs well under 1 KiB including its attempts.
 *
 * Schema 2: the attempts are the truth; a run writes one row per lease (the attempt) and
 * one per success (the attempt closed). Task rows are written only when an attempt fails
 * (RETRY, FAILED) and are settled from the attempts at each start and at the end of a run
 * (ferry_journal_settle): DONE for a successful attempt, LEASED (at start) for an open one,
 * so fetching pending tasks skips both. While a coordinator runs, a task row may still say
 * PENDING for a task leased or done in this run: `ferry status` (ferry_journal_counts and
 * the printers) therefore counts done, running and attempts from the attempts table (the
 * results and leases views), failed from the task rows. A row's attempts column counts its
 * closed attempts as of its last write. Schema 1 journals (task row written at every lease
 * and result) are upgraded on open; a newer schema is refused.
 *
 * Writes are batched: while a coordinator runs, its journal writer (jwriter.h) owns this
 * connection and commits the loop turns' writes, one transaction per turn or group of
 * turns (on the loop thread when the writer thread is idle, else on that thread), before
 * any ACK or TASK of those turns leaves. In
 * WAL mode with synchronous=NORMAL a committed transaction survives a killed process
 * (kill -9); a power cut may lose the last few (set FERRY_JOURNAL_SYNC=full to fsync
 * every commit).
 *
 * A journal handle is used by one thread at a time (SQLITE_OPEN_NOMUTEX).
 *
 * All functions return 0 or a negative code (-EIO for SQLite errors, logged). */
#ifndef FERRY_JOURNAL_H
#define FERRY_JOURNAL_H

#include "util/common.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define FERRY_JOURNAL_FILE "state.db"
#define FERRY_JOURNAL_SCHEMA_VERSION 2 /* 2: leases live in attempts only (1 is upgraded on open) */
#define FERRY_JOURNAL_BUSY_MS 5000       /* readers wait this long for a writer */
#define FERRY_JOURNAL_MAX_STDERR 1024    /* bytes of a child's stderr kept per attempt */
#define FERRY_JOURNAL_MAX_OUTPUT 4096    /* bytes of a task's output kept */

typedef enum {
    FERRY_TASK_PENDING = 0,
    FERRY_TASK_LEASED = 1, /* only for attempts open at the last start: see above */
    FERRY_TASK_DONE = 2,
    FERRY_TASK_FAILED = 3,
    FERRY_TASK_RETRY = 4, /* waiting out its backoff in the coordinator's memory; a restart
                             makes it PENDING again (fetch_pending only reads PENDING, so a
                             task is never both queued for retry and fetched) */
} ferry_task_state_t;

typedef struct ferry_journal ferry_journal_t;

/* A task group as the coordinator expands it. */
typedef struct {
    const char *name;
    int kind;         /* ferry_task_kind_t */
    int64_t sleep_ms;
    uint64_t count;
} ferry_journal_group_t;

/* A group as stored: tasks first_task .. first_task + count - 1. */
typedef struct {
    char *name;
    int kind;
    int64_t sleep_ms;
    uint64_t count, first_task;
} ferry_journal_group_row_t;

/* Open (creating dir and database when read_only is false) the journal in dir.
 * NULL + err on failure (missing dir when read_only, not a ferry journal, newer schema). */
ferry_journal_t *ferry_journal_open(const char *dir, bool read_only, ferry_err_t *err);
/* Close; a write transaction still open is committed first. Sets *j_p NULL. */
void ferry_journal_destroy(ferry_journal_t **j_p);

/* First run on this journal: store the plan (path, sha256 hex, text) and expand the
 * groups into task rows, streaming (one row per task, nothing held in memory), in one
 * transaction. Later runs: check the stored plan's sha256 equals plan_sha256 (refusing a
 * different plan with a message naming both), set *is_resumed, make waiting retries pending
 * and mark the tasks of open attempts leased (O(attempts)). */
int ferry_journal_setup(ferry_journal_t *j, const char *plan_path, const char *plan_sha256, const char *plan_text,
                        const ferry_journal_group_t *groups, size_t n_groups, bool *is_resumed, ferry_err_t *err);

/* The stored groups (caller frees with ferry_journal_groups_free). */
int ferry_journal_groups(ferry_journal_t *j, ferry_journal_group_row_t **groups, size_t *n);
void ferry_journal_groups_free(ferry_journal_group_row_t *groups, size_t n);

/* Page cache of this connection in KiB (PRAGMA cache_size); 0 or -EIO. The journal
 * writer runs with a small one (see jwriter.c), setup and settle with the default. */
#define FERRY_JOURNAL_CACHE_KIB 16384
int ferry_journal_set_cache_kib(ferry_journal_t *j, int kib);

/* Batch boundaries (no-ops when nothing is open / already open). */
int ferry_journal_begin(ferry_journal_t *j);
int ferry_journal_commit(ferry_journal_t *j);

/* Roll back the open write transaction (no-op when none is open, or when SQLite already
 * rolled it back after an I/O error). */
int ferry_journal_rollback(ferry_journal_t *j);

/* Up to max pending task ids in (after_id, end_id), ascending, with each one's number of
 * closed attempts in attempts (may be NULL). Works on a read-only connection too: the
 * coordinator reads from one while its journal writer thread writes (the rows it reads,
 * tasks above the cursor, are not written by the run; see jwriter.h). */
int ferry_journal_fetch_pending(ferry_journal_t *j, uint64_t after_id, uint64_t end_id, uint64_t *ids,
                                uint32_t *attempts, size_t max, size_t *n);

/* Insert or update a worker by name; returns its row id in *worker_id. */
int ferry_journal_worker(ferry_journal_t *j, const char *name, const char *caps_json, int64_t now_ms,
                         int64_t *worker_id);
/* Mark a worker lost (is_lost) or gone (BYE) with its last-seen time. */
int ferry_journal_worker_gone(ferry_journal_t *j, int64_t worker_id, bool is_lost, int64_t now_ms);

/* Open a new attempt of task for worker (one row insert; the task row is not written):
 * *attempt_id is the new attempt. */
int ferry_journal_lease(ferry_journal_t *j, uint64_t task_id, int64_t worker_id, int64_t now_ms, uint64_t *attempt_id);
/* The same for n tasks at once (task_ids[i] for worker_ids[i]), a few statements for the
 * whole batch; attempt_ids[i] gets task i's attempt id (ascending, consecutive). */
int ferry_journal_lease_many(ferry_journal_t *j, const uint64_t *task_ids, const int64_t *worker_ids, size_t n,
                             int64_t now_ms, uint64_t *attempt_ids);

/* The id the next attempt gets: max(attempts.id) + 1 (ids are never reused: an id handed
 * out but never committed can come again only because no TASK ever carried it). */
int ferry_journal_next_attempt(ferry_journal_t *j, uint64_t *next);
/* Open n attempts with the given ids (attempt_ids[i] for task_ids[i], leased to
 * worker_ids[i], started at started_ms[i]); a few multi-row statements. */
int ferry_journal_lease_ids(ferry_journal_t *j, size_t n, const uint64_t *attempt_ids, const uint64_t *task_ids,
                            const int64_t *worker_ids, const int64_t *started_ms);

/* How an attempt ended. */
typedef struct {
    int outcome;          /* ferry_outcome_t */
    int exit_code, signal;
    int64_t elapsed_ms;
    const char *reason, *stderr_tail, *output; /* NULL ok; truncated to the limits above */
} ferry_journal_outcome_t;

/* Close an open attempt; for FAILED or RETRY also set its task row's state and closed
 * attempt count (attempt_no, the attempt's 1-based number). A DONE task's row is left for
 * ferry_journal_settle (one row write per success instead of two).
 * Returns 0, or 1 when the attempt was not open for that task (nothing changed). */
int ferry_journal_finish(ferry_journal_t *j, uint64_t attempt_id, uint64_t task_id, const ferry_journal_outcome_t *o,
                         ferry_task_state_t task_state, int attempt_no, int64_t now_ms);

/* Bring the task rows up to date with their attempts (DONE for each task with a successful
 * attempt): the coordinator calls it at the end of a run, so the journal a finished run
 * leaves reads the same through the task rows as through the attempts. In the open write
 * transaction, or in its own. O(attempts). */
int ferry_journal_settle(ferry_journal_t *j);

/* Fail every task in [first_task, end_task) that is still PENDING or RETRY without being
 * run: each gets a closed attempt with outcome FERRY_OUTCOME_ERROR, no worker, and reason
 * (so `ferry status` shows why), and becomes FAILED. *n_failed is how many (may be 0). */
int ferry_journal_fail_unrun(ferry_journal_t *j, uint64_t first_task, uint64_t end_task, const char *reason,
                             int64_t now_ms, uint64_t *n_failed);

/* Append an event (task/attempt/worker 0 = none; detail may be NULL). */
int ferry_journal_event(ferry_journal_t *j, int64_t now_ms, const char *kind, uint64_t task, uint64_t attempt,
                        int64_t worker, const char *detail);

/* Call fn for every open attempt (a lease in flight when the coordinator stopped), with
 * its 1-based attempt number. */
typedef void (*ferry_journal_open_fn)(void *ud, uint64_t attempt_id, uint64_t task_id, int64_t worker_id,
                                      int attempt_no);
int ferry_journal_open_attempts(ferry_journal_t *j, ferry_journal_open_fn fn, void *ud);

/* Tasks per state, over all groups (leased: the open attempts; O(tasks + attempts)). */
typedef struct {
    uint64_t total, pending, leased, done, failed;
} ferry_journal_counts_t;
int ferry_journal_counts(ferry_journal_t *j, ferry_journal_counts_t *c);

/* Print the progress table (per group and total, workers, recent failures) to out. */
int ferry_journal_print_status(ferry_journal_t *j, FILE *out);

/* The same as one JSON document (schema FERRY_JOURNAL_STATUS_SCHEMA, documented in
 * coordinator/STATUS.md): plan, totals, groups, workers, and every failed task with every
 * attempt. Streamed (memory O(one task's attempts)); one read transaction, so consistent
 * while a coordinator writes. */
#define FERRY_JOURNAL_STATUS_SCHEMA 1
int ferry_journal_print_status_json(ferry_journal_t *j, FILE *out);

#endif
