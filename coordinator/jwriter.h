/* jwriter.h -- the journal writer: a thread that owns the journal's write connection during a run
 *
 * (ferry_jwriter_seal_commit lets the loop thread commit a turn itself when the writer
 * thread is idle; the rules below hold for either.)
 *
 * The coordinator's loop thread records the journal writes of a loop turn (attempts
 * opened and closed, task rows of failed attempts, events, workers leaving) into the open
 * batch, O(1) each and without touching SQLite, and seals the batch at the end of the
 * turn. The writer thread commits every batch sealed since its last commit as ONE
 * transaction (group commit), in the order sealed, then calls notify. So the loop thread
 * receives, decodes and schedules turn N+1 while turn N is being committed, and a slow
 * commit makes the next one bigger rather than the loop slower.
 *
 * Durability rule the caller keeps: a message that depends on a batch (a TASK on its
 * attempt, an ACK on its result) leaves only once ferry_jwriter_committed() >= the
 * sequence number ferry_jwriter_seal() returned for it. Batches commit in order, so a
 * killed process leaves a journal holding a prefix of the sealed batches.
 *
 * A failed commit (disk full, I/O error, a constraint) is rolled back, makes
 * ferry_jwriter_status() -EIO for good, and every later batch is discarded: the journal
 * stays consistent up to the last commit. notify is called after each commit and after
 * a failure.
 *
 * Rare writes that need an answer from the journal (a worker's row id, failing a whole
 * group) go through ferry_jwriter_hold: the caller waits until everything sealed is
 * committed and then uses the journal directly, the writer thread idle, until
 * ferry_jwriter_release.
 *
 * All functions but notify run on one thread (the loop's). */
#ifndef FERRY_JWRITER_H
#define FERRY_JWRITER_H

#include "coordinator/journal.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Sealed batches not yet committed may hold at most about this many bytes; sealing more
 * waits for the writer (bounds memory when the disk is slower than the workers). */
#define FERRY_JWRITER_MAX_BACKLOG_BYTES ((size_t)64 << 20)
/* The journal's page cache while the writer owns it: a run writes only the tail of the
 * attempts table, and a cache this small recycles its pages, where a large one allocates
 * (and page-faults in) fresh memory for every page the growing table adds. The default
 * (FERRY_JOURNAL_CACHE_KIB) comes back when the writer stops. */
#define FERRY_JWRITER_CACHE_KIB 1024
/* ferry_jwriter_seal_commit commits on the calling thread only batches up to this size
 * (bounds how long a loop turn can spend committing; larger ones go to the thread). */
#define FERRY_JWRITER_INLINE_MAX_BYTES ((size_t)256 << 10)
/* Attempts opened by one multi-row statement at most (see ferry_journal_lease_ids). */
#define FERRY_JWRITER_LEASE_CHUNK 1024

typedef struct ferry_jwriter ferry_jwriter_t;

/* Called on the writer thread after each commit and after a failure; must be quick and
 * thread-safe (e.g. uv_async_send). May be NULL. */
typedef void (*ferry_jwriter_notify_fn)(void *ud);

/* Start the writer thread for journal j (borrowed: it must outlive the writer; no
 * transaction may be open on it). Returns once the thread runs; NULL when it cannot
 * be started. */
ferry_jwriter_t *ferry_jwriter_new(ferry_journal_t *j, ferry_jwriter_notify_fn notify, void *ud);

/* Seal what is recorded, wait until the writer committed it (or failed), stop and join
 * the thread. Sets *w_p NULL; safe on NULL. */
void ferry_jwriter_destroy(ferry_jwriter_t **w_p);

/* Record writes in the open batch (copied; strings truncated to the journal's limits).
 * They mean what ferry_journal_lease_ids, _finish, _event and _worker_gone mean; the
 * attempt id of a lease is the caller's (see ferry_journal_next_attempt). A finish of an
 * attempt that is not open changes nothing (as ferry_journal_finish returning 1). */
void ferry_jwriter_lease(ferry_jwriter_t *w, uint64_t attempt_id, uint64_t task_id, int64_t worker_id,
                         int64_t now_ms);
void ferry_jwriter_finish(ferry_jwriter_t *w, uint64_t attempt_id, uint64_t task_id,
                          const ferry_journal_outcome_t *o, ferry_task_state_t task_state, int attempt_no,
                          int64_t now_ms);
void ferry_jwriter_event(ferry_jwriter_t *w, int64_t now_ms, const char *kind, uint64_t task, uint64_t attempt,
                         int64_t worker, const char *detail);
void ferry_jwriter_worker_gone(ferry_jwriter_t *w, int64_t worker_id, bool is_lost, int64_t now_ms);

/* Hand the open batch to the writer. Returns the sequence number after whose commit
 * everything recorded so far is durable: a new one, or the last sealed one when nothing
 * was recorded since (0: nothing was ever recorded). Waits only when the backlog is
 * past FERRY_JWRITER_MAX_BACKLOG_BYTES. */
uint64_t ferry_jwriter_seal(ferry_jwriter_t *w);

/* The same, but when the writer thread is idle with nothing sealed before (the usual
 * case: a loop turn takes less time than the commit before it) and the batch is at most
 * FERRY_JWRITER_INLINE_MAX_BYTES, commit it here, on the calling thread, before returning:
 * no hand-over, no wake-up of the writer thread and no notify for it (the caller sends
 * what waited for it right after; notify is called only when this commit failed). Otherwise
 * exactly ferry_jwriter_seal. On a 2-CPU machine the hand-over (a futex wake of the
 * writer, an eventfd wake of the loop) cost more CPU per turn than the overlap gained. */
uint64_t ferry_jwriter_seal_commit(ferry_jwriter_t *w);

/* The highest sequence number committed (every batch up to it is durable). */
uint64_t ferry_jwriter_committed(ferry_jwriter_t *w);

/* 0, or -EIO once a commit failed (sticky). */
int ferry_jwriter_status(ferry_jwriter_t *w);

/* Wait until batch seq is committed: 0, or -EIO when a commit failed first. */
int ferry_jwriter_wait(ferry_jwriter_t *w, uint64_t seq);

/* Seal, wait until everything is committed and the writer is idle, and keep it idle:
 * the journal is the caller's (no transaction open) until ferry_jwriter_release.
 * Batches sealed meanwhile wait. NULL when a commit failed (nothing is held then). */
ferry_journal_t *ferry_jwriter_hold(ferry_jwriter_t *w);
void ferry_jwriter_release(ferry_jwriter_t *w);

/* Transactions the writer committed so far (for tests and benchmarks). */
uint64_t ferry_jwriter_commits(ferry_jwriter_t *w);

/* Figures for the coordinator's last log line: transactions, batches they held, how many
 * of the transactions ferry_jwriter_seal_commit ran on the calling thread, and the writer
 * thread's CPU time (as of its last transaction; inline commits count on the caller's). */
typedef struct {
    uint64_t commits, batches, inline_commits;
    double cpu_s;
} ferry_jwriter_stats_t;
void ferry_jwriter_stats(ferry_jwriter_t *w, ferry_jwriter_stats_t *st);

#endif
