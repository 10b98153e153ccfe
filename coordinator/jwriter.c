/* jwriter.c -- the journal writer thread: group commit of the loop's batches, off the loop thread
 *
 * The loop thread appends operations to its open batch without a lock; sealing moves the
 * batch onto the sealed list (one mutex round trip per loop turn) and takes an emptied
 * batch from the free list, so a steady run allocates nothing per turn. The writer takes
 * the whole sealed list at once, applies it in one transaction, and hands the batches
 * back emptied (their memory kept). */
#include "coordinator/jwriter.h"
#include "proto/proto.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/mem.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef enum { S_OP_LEASE, S_OP_FINISH, S_OP_EVENT, S_OP_WORKER_GONE } s_op_kind_t;

#define S_NO_STR SIZE_MAX /* a string slot that holds NULL */

/* One recorded write; strings live in the batch's strs (offsets, as strs may move). */
typedef struct {
    uint8_t kind;   /* s_op_kind_t */
    uint8_t flag;   /* FINISH: the task state; WORKER_GONE: is_lost */
    int32_t outcome, exit_code, signal, attempt_no;
    uint64_t attempt, task;
    int64_t worker, now_ms, elapsed_ms;
    size_t str[3]; /* FINISH: reason, stderr, output; EVENT: kind, detail */
} s_op_t;

typedef struct s_batch {
    uint64_t seq;
    s_op_t *ops;
    size_t n_ops, cap_ops;
    ferry_buf_t strs;
    struct s_batch *next;
} s_batch_t;

struct ferry_jwriter {
    ferry_journal_t *journal;
    ferry_jwriter_notify_fn notify;
    void *ud;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake; /* the writer waits here: work, release, stop */
    pthread_cond_t done; /* the loop waits here: a commit, a failure, the writer idle */
    s_batch_t *open;     /* loop thread only */
    uint64_t last_sealed; /* loop thread only */
    /* under lock */
    s_batch_t *sealed_head, *sealed_tail, *free_list;
    size_t backlog_bytes;
    uint64_t committed, commits, batches, inline_commits;
    double cpu_s; /* the writer thread's CPU time, as of its last transaction */
    int status;
    bool is_busy, is_held, is_stopping;
    /* writer thread only: the leases of a run of consecutive LEASE operations */
    size_t n_leases;
    uint64_t lease_attempts[FERRY_JWRITER_LEASE_CHUNK], lease_tasks[FERRY_JWRITER_LEASE_CHUNK];
    int64_t lease_workers[FERRY_JWRITER_LEASE_CHUNK], lease_started[FERRY_JWRITER_LEASE_CHUNK];
};

static s_batch_t *s_batch_new(void)
{
    return ferry_calloc(1, sizeof(s_batch_t));
}

static void s_batch_free(s_batch_t *b)
{
    if (!b)
        return;
    free(b->ops);
    ferry_buf_free(&b->strs);
    free(b);
}

static size_t s_batch_bytes(const s_batch_t *b)
{
    return b->n_ops * sizeof(s_op_t) + b->strs.len;
}

static s_op_t *s_op_add(ferry_jwriter_t *w, s_op_kind_t kind)
{
    s_batch_t *b = w->open;
    if (b->n_ops == b->cap_ops) {
        b->cap_ops = b->cap_ops ? b->cap_ops * 2 : 256;
        b->ops = ferry_reallocarray(b->ops, b->cap_ops, sizeof *b->ops);
    }
    s_op_t *op = &b->ops[b->n_ops++];
    memset(op, 0, sizeof *op);
    op->kind = (uint8_t)kind;
    op->str[0] = op->str[1] = op->str[2] = S_NO_STR;
    return op;
}

/* Copy s (at most max bytes: its head, or its tail with keep_tail) into the open batch. */
static size_t s_str_add(ferry_jwriter_t *w, const char *s, size_t max, bool keep_tail)
{
    if (!s)
        return S_NO_STR;
    size_t n = strlen(s);
    if (n > max) {
        if (keep_tail)
            s += n - max;
        n = max;
    }
    ferry_buf_t *strs = &w->open->strs;
    size_t off = strs->len;
    ferry_buf_append(strs, s, n);
    ferry_buf_putc(strs, '\0');
    return off;
}

static const char *s_str(const s_batch_t *b, size_t off)
{
    return off == S_NO_STR ? NULL : b->strs.data + off;
}

/* ---- writer thread --------------------------------------------------------------------- */
static int s_flush_leases(ferry_jwriter_t *w)
{
    size_t n = w->n_leases;
    w->n_leases = 0;
    if (!n)
        return 0;
    return ferry_journal_lease_ids(w->journal, n, w->lease_attempts, w->lease_tasks, w->lease_workers,
                                   w->lease_started);
}

static int s_apply_op(ferry_jwriter_t *w, const s_batch_t *b, const s_op_t *op)
{
    if (op->kind == S_OP_LEASE) {
        size_t i = w->n_leases++;
        w->lease_attempts[i] = op->attempt;
        w->lease_tasks[i] = op->task;
        w->lease_workers[i] = op->worker;
        w->lease_started[i] = op->now_ms;
        return w->n_leases == FERRY_JWRITER_LEASE_CHUNK ? s_flush_leases(w) : 0;
    }
    if (s_flush_leases(w)) /* keep the order: an attempt is opened before it is closed */
        return -EIO;
    switch ((s_op_kind_t)op->kind) {
    case S_OP_FINISH: {
        ferry_journal_outcome_t o = {.outcome = op->outcome, .exit_code = op->exit_code, .signal = op->signal,
                                     .elapsed_ms = op->elapsed_ms, .reason = s_str(b, op->str[0]),
                                     .stderr_tail = s_str(b, op->str[1]), .output = s_str(b, op->str[2])};
        int rc = ferry_journal_finish(w->journal, op->attempt, op->task, &o, (ferry_task_state_t)op->flag,
                                      op->attempt_no, op->now_ms);
        if (rc == 1)
            ferry_debug("journal writer: attempt %llu of task %llu was not open; left as it was",
                        (unsigned long long)op->attempt, (unsigned long long)op->task);
        return rc < 0 ? rc : 0;
    }
    case S_OP_EVENT:
        return ferry_journal_event(w->journal, op->now_ms, s_str(b, op->str[0]), op->task, op->attempt, op->worker,
                                   s_str(b, op->str[1]));
    case S_OP_WORKER_GONE:
        return ferry_journal_worker_gone(w->journal, op->worker, op->flag != 0, op->now_ms);
    case S_OP_LEASE:
        break;
    }
    return 0;
}

/* Apply batches (a list) as one transaction; on any failure roll it all back. */
static int s_apply(ferry_jwriter_t *w, const s_batch_t *list)
{
    if (ferry_journal_begin(w->journal))
        return -EIO;
    int rc = 0;
    w->n_leases = 0;
    for (const s_batch_t *b = list; b && !rc; b = b->next)
        for (size_t i = 0; i < b->n_ops && !rc; i++)
            rc = s_apply_op(w, b, &b->ops[i]);
    if (!rc)
        rc = s_flush_leases(w);
    if (rc) {
        ferry_journal_rollback(w->journal);
        return -EIO;
    }
    return ferry_journal_commit(w->journal) ? -EIO : 0;
}

/* Under the lock: the outcome of the transaction that held every batch up to last_seq. */
static void s_record_commit(ferry_jwriter_t *w, int rc, uint64_t last_seq)
{
    if (rc) {
        w->status = -EIO;
        return;
    }
    w->batches += last_seq - w->committed;
    w->committed = last_seq;
    w->commits++;
}

static void *s_writer_main(void *arg)
{
    ferry_jwriter_t *w = arg;
    pthread_setname_np(pthread_self(), "ferry-journal"); /* for top -H and perf */
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->sealed_head && !w->is_stopping)
            pthread_cond_wait(&w->wake, &w->lock);
        while (w->is_held && !w->is_stopping)
            pthread_cond_wait(&w->wake, &w->lock);
        if (!w->sealed_head) {
            if (w->is_stopping)
                break;
            continue;
        }
        s_batch_t *list = w->sealed_head;
        w->sealed_head = w->sealed_tail = NULL;
        w->backlog_bytes = 0;
        w->is_busy = true;
        int status = w->status;
        pthread_mutex_unlock(&w->lock);

        uint64_t last_seq = 0;
        for (const s_batch_t *b = list; b; b = b->next)
            last_seq = b->seq;
        int rc = status ? status : s_apply(w, list); /* after a failure, everything is discarded */

        struct timespec cpu;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
        pthread_mutex_lock(&w->lock);
        w->cpu_s = (double)cpu.tv_sec + (double)cpu.tv_nsec / 1e9;
        if (!status)
            s_record_commit(w, rc, last_seq);
        while (list) {
            s_batch_t *b = list;
            list = b->next;
            b->n_ops = 0;
            ferry_buf_reset(&b->strs);
            b->next = w->free_list;
            w->free_list = b;
        }
        w->is_busy = false;
        pthread_cond_broadcast(&w->done);
        pthread_mutex_unlock(&w->lock);
        if (w->notify && !status)
            w->notify(w->ud);
        pthread_mutex_lock(&w->lock);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* ---- loop thread ----------------------------------------------------------------------- */
ferry_jwriter_t *ferry_jwriter_new(ferry_journal_t *j, ferry_jwriter_notify_fn notify, void *ud)
{
    ferry_jwriter_t *w = ferry_calloc(1, sizeof *w);
    w->journal = j;
    w->notify = notify;
    w->ud = ud;
    w->open = s_batch_new();
    if (ferry_journal_set_cache_kib(j, FERRY_JWRITER_CACHE_KIB))
        ferry_warn("journal writer: keeping the journal's default page cache");
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    pthread_cond_init(&w->done, NULL);
    int rc = pthread_create(&w->thread, NULL, s_writer_main, w);
    if (rc) {
        ferry_error("journal writer: cannot start its thread: %s", strerror(rc));
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->wake);
        pthread_cond_destroy(&w->done);
        s_batch_free(w->open);
        free(w);
        return NULL;
    }
    return w;
}

void ferry_jwriter_destroy(ferry_jwriter_t **w_p)
{
    ferry_jwriter_t *w = w_p ? *w_p : NULL;
    if (!w)
        return;
    ferry_jwriter_seal(w);
    pthread_mutex_lock(&w->lock);
    w->is_stopping = true; /* the thread commits what is sealed, then ends */
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    if (!w->status)
        ferry_journal_set_cache_kib(w->journal, FERRY_JOURNAL_CACHE_KIB);
    s_batch_free(w->open);
    while (w->free_list) {
        s_batch_t *b = w->free_list;
        w->free_list = b->next;
        s_batch_free(b);
    }
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->wake);
    pthread_cond_destroy(&w->done);
    free(w);
    *w_p = NULL;
}

void ferry_jwriter_lease(ferry_jwriter_t *w, uint64_t attempt_id, uint64_t task_id, int64_t worker_id,
                         int64_t now_ms)
{
    s_op_t *op = s_op_add(w, S_OP_LEASE);
    op->attempt = attempt_id;
    op->task = task_id;
    op->worker = worker_id;
    op->now_ms = now_ms;
}

void ferry_jwriter_finish(ferry_jwriter_t *w, uint64_t attempt_id, uint64_t task_id,
                          const ferry_journal_outcome_t *o, ferry_task_state_t task_state, int attempt_no,
                          int64_t now_ms)
{
    size_t reason = s_str_add(w, o->reason, FERRY_PROTO_MAX_STR, false);
    size_t stderr_tail = s_str_add(w, o->stderr_tail, FERRY_JOURNAL_MAX_STDERR, true);
    size_t output = s_str_add(w, o->output, FERRY_JOURNAL_MAX_OUTPUT, false);
    s_op_t *op = s_op_add(w, S_OP_FINISH);
    op->flag = (uint8_t)task_state;
    op->outcome = o->outcome;
    op->exit_code = o->exit_code;
    op->signal = o->signal;
    op->attempt_no = attempt_no;
    op->elapsed_ms = o->elapsed_ms;
    op->attempt = attempt_id;
    op->task = task_id;
    op->now_ms = now_ms;
    op->str[0] = reason;
    op->str[1] = stderr_tail;
    op->str[2] = output;
}

void ferry_jwriter_event(ferry_jwriter_t *w, int64_t now_ms, const char *kind, uint64_t task, uint64_t attempt,
                         int64_t worker, const char *detail)
{
    size_t k = s_str_add(w, kind ? kind : "?", FERRY_PROTO_MAX_STR, false);
    size_t d = s_str_add(w, detail, FERRY_PROTO_MAX_STR, false);
    s_op_t *op = s_op_add(w, S_OP_EVENT);
    op->now_ms = now_ms;
    op->task = task;
    op->attempt = attempt;
    op->worker = worker;
    op->str[0] = k;
    op->str[1] = d;
}

void ferry_jwriter_worker_gone(ferry_jwriter_t *w, int64_t worker_id, bool is_lost, int64_t now_ms)
{
    s_op_t *op = s_op_add(w, S_OP_WORKER_GONE);
    op->worker = worker_id;
    op->flag = is_lost;
    op->now_ms = now_ms;
}

uint64_t ferry_jwriter_seal(ferry_jwriter_t *w)
{
    s_batch_t *b = w->open;
    if (!b->n_ops)
        return w->last_sealed;
    b->seq = ++w->last_sealed;
    b->next = NULL;
    size_t bytes = s_batch_bytes(b);
    pthread_mutex_lock(&w->lock);
    while (w->backlog_bytes > FERRY_JWRITER_MAX_BACKLOG_BYTES && !w->is_held && !w->status)
        pthread_cond_wait(&w->done, &w->lock);
    if (w->sealed_tail)
        w->sealed_tail->next = b;
    else
        w->sealed_head = b;
    w->sealed_tail = b;
    w->backlog_bytes += bytes;
    s_batch_t *fresh = w->free_list;
    if (fresh)
        w->free_list = fresh->next;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    w->open = fresh ? fresh : s_batch_new();
    w->open->next = NULL;
    return b->seq;
}

uint64_t ferry_jwriter_seal_commit(ferry_jwriter_t *w)
{
    s_batch_t *b = w->open;
    if (!b->n_ops)
        return w->last_sealed;
    pthread_mutex_lock(&w->lock);
    bool is_inline = !w->sealed_head && !w->is_busy && !w->is_held && !w->status &&
                     s_batch_bytes(b) <= FERRY_JWRITER_INLINE_MAX_BYTES;
    if (is_inline)
        w->is_busy = true; /* the writer thread keeps off the journal meanwhile */
    pthread_mutex_unlock(&w->lock);
    if (!is_inline)
        return ferry_jwriter_seal(w);
    b->seq = ++w->last_sealed;
    int rc = s_apply(w, b);
    pthread_mutex_lock(&w->lock);
    s_record_commit(w, rc, b->seq);
    if (!rc)
        w->inline_commits++;
    w->is_busy = false;
    pthread_cond_broadcast(&w->done);
    pthread_mutex_unlock(&w->lock);
    b->n_ops = 0; /* the open batch stays open, emptied, its memory kept */
    ferry_buf_reset(&b->strs);
    if (rc && w->notify) /* as a failed commit on the writer thread */
        w->notify(w->ud);
    return b->seq;
}

uint64_t ferry_jwriter_committed(ferry_jwriter_t *w)
{
    pthread_mutex_lock(&w->lock);
    uint64_t seq = w->committed;
    pthread_mutex_unlock(&w->lock);
    return seq;
}

int ferry_jwriter_status(ferry_jwriter_t *w)
{
    pthread_mutex_lock(&w->lock);
    int status = w->status;
    pthread_mutex_unlock(&w->lock);
    return status;
}

int ferry_jwriter_wait(ferry_jwriter_t *w, uint64_t seq)
{
    pthread_mutex_lock(&w->lock);
    while (w->committed < seq && !w->status)
        pthread_cond_wait(&w->done, &w->lock);
    int rc = w->committed >= seq ? 0 : w->status;
    pthread_mutex_unlock(&w->lock);
    return rc;
}

ferry_journal_t *ferry_jwriter_hold(ferry_jwriter_t *w)
{
    ferry_jwriter_seal(w);
    pthread_mutex_lock(&w->lock);
    while (!w->status && (w->is_busy || w->sealed_head))
        pthread_cond_wait(&w->done, &w->lock);
    bool is_ok = !w->status;
    if (is_ok)
        w->is_held = true;
    pthread_mutex_unlock(&w->lock);
    return is_ok ? w->journal : NULL;
}

void ferry_jwriter_release(ferry_jwriter_t *w)
{
    pthread_mutex_lock(&w->lock);
    w->is_held = false;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
}

uint64_t ferry_jwriter_commits(ferry_jwriter_t *w)
{
    pthread_mutex_lock(&w->lock);
    uint64_t n = w->commits;
    pthread_mutex_unlock(&w->lock);
    return n;
}

void ferry_jwriter_stats(ferry_jwriter_t *w, ferry_jwriter_stats_t *st)
{
    pthread_mutex_lock(&w->lock);
    *st = (ferry_jwriter_stats_t){
        .commits = w->commits, .batches = w->batches, .inline_commits = w->inline_commits, .cpu_s = w->cpu_s};
    pthread_mutex_unlock(&w->lock);
}
