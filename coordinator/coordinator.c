/* coordinator.c -- libuv loop + ROUTER socket + journal + scheduler (leases, credit, retries)
 *
 * One loop turn: drain the ROUTER until EAGAIN (at most FERRY_COORD_MAX_TURN_MSGS),
 * handle each message, lease tasks to workers with credit, record the turn's journal
 * writes and SEAL them as one batch for the journal writer thread (jwriter.h), and park
 * the turn's TASKs and ACKs in the outbox tagged with the batch's sequence number. They
 * leave when the writer reports that batch committed (uv_async), so a TASK's attempt is
 * durable before any worker sees it, and a RESULT is durable before it is ACKed, while
 * the loop thread already receives and schedules the next turn. Attempt ids are handed
 * out in memory (max id in the journal at start + 1).
 *
 * Memory is O(workers + in-flight leases + one fetch batch per active group): pending
 * tasks stay in the journal and are read FERRY_COORD_FETCH_BATCH at a time. */
#include "coordinator/coordinator.h"
#include "coordinator/journal.h"
#include "coordinator/jwriter.h"
#include "proto/curve.h"
#include "util/cpus.h"
#include "util/file.h"
#include "util/json.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/sha256.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <uv.h>
#include <zmq.h>

typedef struct s_worker {
    char *name;
    int64_t id; /* journal row */
    uint8_t identity[FERRY_PROTO_MAX_IDENTITY];
    size_t identity_len;
    uint32_t credit;
    uint64_t last_seen_ms, last_sent_ms; /* uv_now */
    size_t inflight;
    size_t rr; /* next group to look at */
    bool *matches;
    uint64_t *acks;
    size_t n_acks, cap_acks;
    uint32_t batch;          /* the worker takes TASKS of up to this many (0: one TASK each) */
    ferry_buf_t task_items;  /* this turn's TASK bodies, not yet wrapped in a TASKS message */
    uint64_t *task_attempts; /* their attempt ids */
    size_t n_task_items;
    struct s_worker *next;
} s_worker_t;

typedef struct s_lease {
    uint64_t attempt, task;
    uint32_t group;
    int attempt_no;
    s_worker_t *worker;  /* NULL: its worker is not connected (after a restart) */
    int64_t worker_id;
    uint64_t expires_ms; /* for worker == NULL: uv_now deadline */
    struct s_lease *next;
} s_lease_t;

typedef struct {
    uint64_t task;
    uint32_t attempts; /* closed attempts so far: the next lease is attempt attempts + 1 */
} s_ready_t;

typedef struct {
    s_ready_t *v;
    size_t head, len, cap;
} s_queue_t;

typedef struct {
    ferry_journal_group_row_t row;
    const ferry_plan_group_t *plan_group; /* NULL when the plan has no group of that name */
    s_queue_t ready;
    uint64_t cursor; /* highest task id fetched */
    bool is_exhausted;
    char *unmet;          /* why the last worker that could not serve this group could not */
    bool is_unservable;   /* embedded mode: no local worker can serve it; its tasks failed */
    bool is_warned_unserved; /* distributed mode: "no connected worker" logged once */
} s_group_t;

typedef struct {
    uint64_t due_ms, task;
    uint32_t group, attempts;
} s_retry_t;

/* A task picked for a worker. */
typedef struct {
    s_worker_t *worker;
    uint64_t task;
    uint32_t group;
    int attempt_no;
} s_pick_t;

typedef struct {
    uint8_t identity[FERRY_PROTO_MAX_IDENTITY];
    size_t identity_len;
    ferry_cmd_t cmd;
    ferry_buf_t body;
    uint64_t seq;     /* the journal batch it waits for (0: not sealed yet) */
    uint64_t attempt; /* for TASK: so an undeliverable TASK ends its attempt */
    uint64_t *attempts; /* for TASKS: the same, for each entry (n_attempts; capacity kept) */
    size_t n_attempts;
    uint64_t deferred_ms; /* in c->deferred: uv_now when its peer's queue was first full */
} s_out_t;

struct ferry_coordinator {
    ferry_coord_opts_t opts;
    const ferry_plan_t *plan;
    ferry_journal_t *journal; /* the writer's connection: the jwriter's while it runs */
    ferry_journal_t *reader;  /* read-only connection for pending tasks (loop thread) */
    ferry_jwriter_t *jw;      /* NULL before the loop starts and once it finished */
    bool is_inline_commit;    /* turns committed on the loop thread when the writer is idle */
    uint64_t next_attempt;    /* the id the next lease gets */
    void *ctx;
    bool is_own_ctx;
    void *router;
    ferry_zap_t *zap;
    uv_loop_t loop;
    uv_poll_t poll;
    uv_timer_t heartbeat_timer, retry_timer, progress_timer, drain_timer;
    uv_async_t stop_async, commit_async;
    uv_signal_t sigint, sigterm, sighup;
    bool has_handles, is_stopping, is_finished, is_broken, is_in_turn;
    bool is_all_local_joined; /* embedded mode: every local worker has said HELLO */
    int exit_code;

    s_group_t *groups;
    size_t n_groups;
    s_worker_t *workers;
    size_t n_workers;
    s_lease_t **buckets;
    size_t n_buckets, n_leases;
    s_lease_t *free_leases; /* ended leases kept for reuse (one malloc/free less per task) */
    size_t n_free_leases;
    s_retry_t *retries;
    size_t n_retries, cap_retries;
    s_out_t *outbox; /* [out_head, out_sealed): sealed, waiting for their commit; then this turn's */
    size_t out_head, out_sealed, n_out, cap_out;
    uint64_t *undelivered;
    size_t n_undelivered, cap_undelivered;
    s_out_t *deferred; /* TASKs whose peer's queue was full (EAGAIN): tried again each turn */
    size_t n_deferred, cap_deferred;

    uint64_t total, done, failed, done_at_start;
    uint64_t start_ms;
    double run_cpu_s;      /* the loop thread's CPU time when ferry_coordinator_run began */
    double run_proc_cpu_s; /* the whole process's (ZeroMQ's I/O thread included) then */
    uint64_t bad_frames, bad_frames_warned, last_bad_warn_ms;
};

static double s_cpu_s(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double s_thread_cpu_s(void)
{
    return s_cpu_s(CLOCK_THREAD_CPUTIME_ID);
}

static int64_t s_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- small containers ---------------------------------------------------------------- */
static void s_queue_push(s_queue_t *q, s_ready_t v)
{
    if (q->len == q->cap) {
        size_t ncap = q->cap ? q->cap * 2 : 64;
        s_ready_t *nv = ferry_reallocarray(NULL, ncap, sizeof *nv);
        for (size_t i = 0; i < q->len; i++)
            nv[i] = q->v[(q->head + i) % q->cap];
        free(q->v);
        q->v = nv;
        q->cap = ncap;
        q->head = 0;
    }
    q->v[(q->head + q->len++) % q->cap] = v;
}

static s_ready_t s_queue_pop(s_queue_t *q)
{
    s_ready_t v = q->v[q->head];
    q->head = (q->head + 1) % q->cap;
    q->len--;
    return v;
}

static void s_retry_push(ferry_coordinator_t *c, s_retry_t r)
{
    if (c->n_retries == c->cap_retries) {
        c->cap_retries = c->cap_retries ? c->cap_retries * 2 : 64;
        c->retries = ferry_reallocarray(c->retries, c->cap_retries, sizeof *c->retries);
    }
    size_t i = c->n_retries++;
    while (i > 0 && c->retries[(i - 1) / 2].due_ms > r.due_ms) {
        c->retries[i] = c->retries[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    c->retries[i] = r;
}

static s_retry_t s_retry_pop(ferry_coordinator_t *c)
{
    s_retry_t top = c->retries[0], last = c->retries[--c->n_retries];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l >= c->n_retries)
            break;
        if (l + 1 < c->n_retries && c->retries[l + 1].due_ms < c->retries[l].due_ms)
            l++;
        if (c->retries[l].due_ms >= last.due_ms)
            break;
        c->retries[m] = c->retries[l];
        i = l;
    }
    if (c->n_retries)
        c->retries[i] = last;
    return top;
}

/* Leases come and go once per task: reuse ended ones (at most
 * FERRY_COORD_MAX_FREE_LEASES kept, about 4 MB). */
static s_lease_t *s_lease_alloc(ferry_coordinator_t *c)
{
    s_lease_t *l = c->free_leases;
    if (!l)
        return ferry_calloc(1, sizeof *l);
    c->free_leases = l->next;
    c->n_free_leases--;
    return l;
}

static void s_lease_free(ferry_coordinator_t *c, s_lease_t *l)
{
    if (c->n_free_leases >= FERRY_COORD_MAX_FREE_LEASES) {
        free(l);
        return;
    }
    l->next = c->free_leases;
    c->free_leases = l;
    c->n_free_leases++;
}

static size_t s_bucket(ferry_coordinator_t *c, uint64_t attempt)
{
    return (size_t)((attempt * 0x9E3779B97F4A7C15ull) >> 20) & (c->n_buckets - 1);
}

static void s_lease_insert(ferry_coordinator_t *c, s_lease_t *l)
{
    if (c->n_leases >= c->n_buckets) {
        size_t old_n = c->n_buckets;
        s_lease_t **old = c->buckets;
        c->n_buckets = old_n ? old_n * 2 : 1024;
        c->buckets = ferry_calloc(c->n_buckets, sizeof *c->buckets);
        for (size_t b = 0; b < old_n; b++)
            for (s_lease_t *e = old[b], *nx; e; e = nx) {
                nx = e->next;
                size_t h = s_bucket(c, e->attempt);
                e->next = c->buckets[h];
                c->buckets[h] = e;
            }
        free(old);
    }
    size_t h = s_bucket(c, l->attempt);
    l->next = c->buckets[h];
    c->buckets[h] = l;
    c->n_leases++;
}

static s_lease_t *s_lease_take(ferry_coordinator_t *c, uint64_t attempt)
{
    if (!c->n_buckets)
        return NULL;
    for (s_lease_t **pp = &c->buckets[s_bucket(c, attempt)]; *pp; pp = &(*pp)->next)
        if ((*pp)->attempt == attempt) {
            s_lease_t *l = *pp;
            *pp = l->next;
            c->n_leases--;
            return l;
        }
    return NULL;
}

/* ---- outbox: messages queued during a turn, sent after the commit -------------------- */
/* Move the unsent messages to the front by swapping slots (each slot owns its buffers, so
 * nothing is copied twice nor freed twice). O(unsent). */
static void s_out_compact(ferry_coordinator_t *c)
{
    size_t head = c->out_head, n = c->n_out - head;
    for (size_t i = 0; head && i < n; i++) {
        s_out_t tmp = c->outbox[i];
        c->outbox[i] = c->outbox[head + i];
        c->outbox[head + i] = tmp;
    }
    c->out_sealed -= head;
    c->n_out = n;
    c->out_head = 0;
}

static s_out_t *s_out_new(ferry_coordinator_t *c, const uint8_t *identity, size_t identity_len, ferry_cmd_t cmd)
{
    if (c->n_out == c->cap_out && c->out_head)
        s_out_compact(c);
    if (c->n_out == c->cap_out) {
        size_t ncap = c->cap_out ? c->cap_out * 2 : 256;
        c->outbox = ferry_reallocarray(c->outbox, ncap, sizeof *c->outbox);
        memset(c->outbox + c->cap_out, 0, (ncap - c->cap_out) * sizeof *c->outbox);
        c->cap_out = ncap;
    }
    s_out_t *o = &c->outbox[c->n_out++];
    memcpy(o->identity, identity, identity_len);
    o->identity_len = identity_len;
    o->cmd = cmd;
    o->seq = 0;
    o->attempt = 0;
    o->n_attempts = 0;
    ferry_buf_reset(&o->body);
    return o;
}

static void s_out_msg(ferry_coordinator_t *c, const uint8_t *identity, size_t identity_len, const ferry_msg_t *m)
{
    s_out_t *o = s_out_new(c, identity, identity_len, m->cmd);
    ferry_msg_encode(m, &o->body);
}

static void s_out_error(ferry_coordinator_t *c, const uint8_t *identity, size_t identity_len, ferry_errcode_t code,
                        const char *text)
{
    ferry_msg_t m = {.cmd = FERRY_CMD_ERROR};
    m.u.error.code = code;
    m.u.error.message = (char *)text;
    s_out_msg(c, identity, identity_len, &m);
}

/* ---- workers ------------------------------------------------------------------------- */
static s_worker_t *s_worker_by_identity(ferry_coordinator_t *c, const uint8_t *id, size_t len)
{
    for (s_worker_t *w = c->workers; w; w = w->next)
        if (w->identity_len == len && memcmp(w->identity, id, len) == 0)
            return w;
    return NULL;
}

static s_worker_t *s_worker_by_name(ferry_coordinator_t *c, const char *name)
{
    for (s_worker_t *w = c->workers; w; w = w->next)
        if (!strcmp(w->name, name))
            return w;
    return NULL;
}

static bool s_has(char **list, size_t n, const char *want)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] && !strcasecmp(list[i], want))
            return true;
    return false;
}

bool ferry_requirements_match(const ferry_requirements_t *req, const ferry_msg_hello_t *caps)
{
    if (req->arch && (!caps->arch || strcmp(req->arch, caps->arch)))
        return false;
    if (req->needs_gpu && caps->n_gpus == 0)
        return false;
    for (size_t i = 0; i < req->n_isa; i++)
        if (!s_has(caps->isa, caps->n_isa, req->isa[i]))
            return false;
    for (size_t i = 0; i < req->n_tags; i++)
        if (!s_has(caps->tags, caps->n_tags, req->tags[i]))
            return false;
    for (size_t i = 0; i < req->n_runtimes; i++)
        if (!s_has(caps->runtimes, caps->n_runtimes, req->runtimes[i]))
            return false;
    return true;
}

char *ferry_requirements_unmet(const ferry_requirements_t *req, const ferry_msg_hello_t *caps)
{
    if (req->arch && (!caps->arch || strcmp(req->arch, caps->arch)))
        return ferry_asprintf("runs on %s (requires arch: %s; workers run on %s)", req->arch, req->arch,
                              caps->arch ? caps->arch : "an unknown arch");
    if (req->needs_gpu && caps->n_gpus == 0)
        return ferry_strdup("has a GPU (requires gpu: true)");
    for (size_t i = 0; i < req->n_isa; i++)
        if (!s_has(caps->isa, caps->n_isa, req->isa[i]))
            return ferry_asprintf("supports ISA flag %s (requires isa: %s)", req->isa[i], req->isa[i]);
    for (size_t i = 0; i < req->n_tags; i++)
        if (!s_has(caps->tags, caps->n_tags, req->tags[i]))
            return ferry_asprintf("has tag %s (requires tags: %s)", req->tags[i], req->tags[i]);
    for (size_t i = 0; i < req->n_runtimes; i++)
        if (!s_has(caps->runtimes, caps->n_runtimes, req->runtimes[i]))
            return ferry_asprintf("offers runtime %s (requires runtimes: %s)", req->runtimes[i], req->runtimes[i]);
    return NULL;
}

static char *s_caps_json(const ferry_msg_hello_t *h)
{
    ferry_buf_t b = FERRY_BUF_INIT;
    ferry_json_t j;
    ferry_json_init(&j, &b, false);
    ferry_json_obj_begin(&j);
    ferry_json_key(&j, "slots");
    ferry_json_uint(&j, h->slots);
    const char *keys[] = {"arch", "cpu_model", "os", "kernel"};
    const char *vals[] = {h->arch, h->cpu_model, h->os, h->kernel};
    for (size_t i = 0; i < 4; i++) {
        ferry_json_key(&j, keys[i]);
        if (vals[i])
            ferry_json_str(&j, vals[i]);
        else
            ferry_json_null(&j);
    }
    ferry_json_key(&j, "cores");
    ferry_json_uint(&j, h->cores);
    ferry_json_key(&j, "memory_bytes");
    ferry_json_uint(&j, h->memory_bytes);
    char **lists[] = {h->isa, h->tags, h->runtimes};
    size_t ns[] = {h->n_isa, h->n_tags, h->n_runtimes};
    const char *lkeys[] = {"isa", "tags", "runtimes"};
    for (size_t l = 0; l < 3; l++) {
        ferry_json_key(&j, lkeys[l]);
        ferry_json_arr_begin(&j);
        for (size_t i = 0; i < ns[l]; i++)
            ferry_json_str(&j, lists[l][i]);
        ferry_json_arr_end(&j);
    }
    ferry_json_key(&j, "gpus");
    ferry_json_arr_begin(&j);
    for (size_t i = 0; i < h->n_gpus; i++) {
        ferry_json_obj_begin(&j);
        ferry_json_key(&j, "name");
        ferry_json_str(&j, h->gpus[i].name ? h->gpus[i].name : "");
        ferry_json_key(&j, "memory_bytes");
        ferry_json_uint(&j, h->gpus[i].memory_bytes);
        ferry_json_obj_end(&j);
    }
    ferry_json_arr_end(&j);
    ferry_json_obj_end(&j);
    return ferry_buf_steal(&b);
}

static void s_worker_free(s_worker_t *w)
{
    ferry_buf_free(&w->task_items);
    free(w->task_attempts);
    free(w->name);
    free(w->matches);
    free(w->acks);
    free(w);
}

/* ---- attempts ---------------------------------------------------------------------- */
static void s_journal_failed(ferry_coordinator_t *c)
{
    if (!c->is_broken)
        ferry_error("the journal failed; stopping (state is consistent up to the last commit)");
    c->is_broken = true;
}

static void s_finish(ferry_coordinator_t *c);

/* Journal writes of the loop: recorded for the writer thread while it runs, else (before
 * the loop starts, after it ended) written directly. */
static void s_event(ferry_coordinator_t *c, int64_t now_ms, const char *kind, uint64_t task, uint64_t attempt,
                    int64_t worker, const char *detail)
{
    if (c->jw)
        ferry_jwriter_event(c->jw, now_ms, kind, task, attempt, worker, detail);
    else if (ferry_journal_event(c->journal, now_ms, kind, task, attempt, worker, detail))
        s_journal_failed(c);
}

/* Hold the writer and get the journal for a write that needs an answer (rare: HELLO,
 * failing a group); NULL (journal failed) after s_journal_failed. Pair with s_unhold. */
static ferry_journal_t *s_hold(ferry_coordinator_t *c)
{
    if (c->is_broken)
        return NULL;
    ferry_journal_t *j = c->jw ? ferry_jwriter_hold(c->jw) : c->journal;
    if (!j || ferry_journal_begin(j)) {
        if (j && c->jw)
            ferry_jwriter_release(c->jw);
        s_journal_failed(c);
        return NULL;
    }
    return j;
}

static void s_unhold(ferry_coordinator_t *c, ferry_journal_t *j)
{
    if (ferry_journal_commit(j))
        s_journal_failed(c);
    if (c->jw)
        ferry_jwriter_release(c->jw);
}

/* End an attempt: record it, then count the task done, schedule a retry or fail it. */
/* End an attempt. is_unstarted: its TASK never reached a worker (the peer was gone), so it
 * does not count towards max_attempts and the task is ready again at once; the attempt row
 * stays in the journal with its reason. */
static void s_attempt_end_as(ferry_coordinator_t *c, s_lease_t *l, const ferry_journal_outcome_t *o, bool is_unstarted)
{
    int64_t now = s_wall_ms();
    ferry_task_state_t state;
    bool is_retry = false;
    if (is_unstarted)
        l->attempt_no--; /* the attempts counted so far */
    if (o->outcome == FERRY_OUTCOME_OK)
        state = FERRY_TASK_DONE;
    else if (is_unstarted && !c->groups[l->group].is_unservable) {
        state = FERRY_TASK_RETRY;
        is_retry = true;
    } else if (l->attempt_no >= c->plan->max_attempts || c->groups[l->group].is_unservable)
        state = FERRY_TASK_FAILED;
    else {
        state = FERRY_TASK_RETRY;
        is_retry = true;
    }
    int rc = 0;
    if (c->jw) /* the lease is open in memory, so its attempt is open in the journal */
        ferry_jwriter_finish(c->jw, l->attempt, l->task, o, state, l->attempt_no, now);
    else
        rc = ferry_journal_finish(c->journal, l->attempt, l->task, o, state, l->attempt_no, now);
    if (rc < 0) {
        s_journal_failed(c);
    } else if (rc == 0) {
        if (state == FERRY_TASK_DONE)
            c->done++;
        else if (state == FERRY_TASK_FAILED) {
            c->failed++;
            s_group_t *g = &c->groups[l->group];
            ferry_warn("task %s-%llu failed after %d attempts: %s: %s", g->row.name,
                       (unsigned long long)(l->task - g->row.first_task), l->attempt_no,
                       ferry_outcome_name(o->outcome), o->reason ? o->reason : "");
            s_event(c, now, "task-failed", l->task, l->attempt, l->worker_id, o->reason);
        } else if (is_retry) {
            int shift = FERRY_MIN(l->attempt_no - 1, FERRY_COORD_MAX_BACKOFF_SHIFT);
            uint64_t delay = is_unstarted ? 0 : (uint64_t)c->plan->retry_backoff_ms << shift;
            s_retry_push(c, (s_retry_t){.due_ms = uv_now(&c->loop) + delay, .task = l->task, .group = l->group,
                                        .attempts = (uint32_t)l->attempt_no});
        }
    }
    if (l->worker && l->worker->inflight)
        l->worker->inflight--;
    s_lease_free(c, l);
}

static void s_attempt_end(ferry_coordinator_t *c, s_lease_t *l, const ferry_journal_outcome_t *o)
{
    s_attempt_end_as(c, l, o, false);
}

static void s_lost_as(ferry_coordinator_t *c, s_lease_t *l, const char *reason, bool is_unstarted)
{
    ferry_journal_outcome_t o = {.outcome = FERRY_OUTCOME_LOST, .reason = reason};
    s_event(c, s_wall_ms(), "lease-lost", l->task, l->attempt, l->worker_id, reason);
    s_attempt_end_as(c, l, &o, is_unstarted);
}

static void s_lost(ferry_coordinator_t *c, s_lease_t *l, const char *reason)
{
    s_lost_as(c, l, reason, false);
}

/* Every lease held by w (or matching pred) ends as lost. O(leases). */
static void s_leases_lost_for(ferry_coordinator_t *c, s_worker_t *w, const char *reason)
{
    for (size_t b = 0; b < c->n_buckets; b++) {
        s_lease_t **pp = &c->buckets[b];
        while (*pp) {
            s_lease_t *l = *pp;
            if (l->worker == w) {
                *pp = l->next;
                c->n_leases--;
                s_lost(c, l, reason);
            } else {
                pp = &l->next;
            }
        }
    }
}

static void s_worker_remove(ferry_coordinator_t *c, s_worker_t *w, bool is_lost, const char *reason)
{
    ferry_log(is_lost ? FERRY_LOG_WARN : FERRY_LOG_INFO, "worker %s %s: %s", w->name, is_lost ? "lost" : "left",
              reason);
    s_leases_lost_for(c, w, reason);
    if (c->jw)
        ferry_jwriter_worker_gone(c->jw, w->id, is_lost, s_wall_ms());
    else if (ferry_journal_worker_gone(c->journal, w->id, is_lost, s_wall_ms()))
        s_journal_failed(c);
    s_event(c, s_wall_ms(), is_lost ? "worker-lost" : "worker-left", 0, 0, w->id, reason);
    for (s_worker_t **pp = &c->workers; *pp; pp = &(*pp)->next)
        if (*pp == w) {
            *pp = w->next;
            break;
        }
    c->n_workers--;
    s_worker_free(w);
}

/* ---- message handlers ---------------------------------------------------------------- */
static int s_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Is attempt on a worker's sorted list of the attempts it holds? */
static bool s_is_held(const uint64_t *held, size_t n, uint64_t attempt)
{
    return n && bsearch(&attempt, held, n, sizeof *held, s_cmp_u64);
}

static bool s_group_served(const ferry_coordinator_t *c, size_t gi)
{
    for (const s_worker_t *w = c->workers; w; w = w->next)
        if (w->matches[gi])
            return true;
    return false;
}

static void s_group_reason(const ferry_coordinator_t *c, size_t gi, const char *who, char *out, size_t out_len)
{
    const s_group_t *g = &c->groups[gi];
    snprintf(out, out_len, "group %s: no %s worker %s", g->row.name, who,
             g->unmet ? g->unmet : "matches its requirements");
}

/* Embedded mode, once every local worker has said HELLO: a group none of them can serve
 * would wait forever, so its tasks fail now (in the journal, with the reason as their
 * attempt's reason). O(groups x workers + leases) once per run. */
static void s_fail_unservable(ferry_coordinator_t *c)
{
    int64_t now = s_wall_ms();
    for (size_t gi = 0; gi < c->n_groups; gi++) {
        s_group_t *g = &c->groups[gi];
        if (s_group_served(c, gi))
            continue;
        char reason[FERRY_PLAN_MAX_NAME + 512];
        s_group_reason(c, gi, "local", reason, sizeof reason);
        g->is_unservable = true;
        g->ready.len = 0;
        g->is_exhausted = true;
        /* retries waiting out a backoff: their tasks are RETRY in the journal and fail below */
        for (size_t i = 0; i < c->n_retries;) {
            if (c->retries[i].group == gi) {
                c->retries[i] = c->retries[--c->n_retries];
                continue;
            }
            i++;
        }
        /* attempts left open by an earlier run whose worker is gone end now, failed */
        uint64_t n_failed = 0;
        for (size_t b = 0; b < c->n_buckets; b++) {
            s_lease_t **pp = &c->buckets[b];
            while (*pp) {
                s_lease_t *l = *pp;
                if (l->group == gi && !l->worker) {
                    *pp = l->next;
                    c->n_leases--;
                    ferry_journal_outcome_t o = {.outcome = FERRY_OUTCOME_ERROR, .reason = reason};
                    uint64_t failed_before = c->failed;
                    s_attempt_end(c, l, &o);
                    n_failed += c->failed - failed_before;
                } else {
                    pp = &l->next;
                }
            }
        }
        uint64_t n_unrun = 0;
        ferry_journal_t *j = s_hold(c); /* the attempts above are committed first */
        if (!j)
            return;
        int rc = ferry_journal_fail_unrun(j, g->row.first_task, g->row.first_task + g->row.count, reason, now,
                                          &n_unrun);
        /* SQLite chose those attempts' ids: continue after them */
        uint64_t next = 0;
        if (!rc)
            rc = ferry_journal_next_attempt(j, &next);
        s_unhold(c, j);
        if (rc) {
            s_journal_failed(c);
            return;
        }
        c->next_attempt = FERRY_MAX(c->next_attempt, next);
        c->failed += n_unrun;
        n_failed += n_unrun;
        if (n_failed) {
            ferry_error("%s; %llu task(s) failed", reason, (unsigned long long)n_failed);
            s_event(c, now, "group-unservable", 0, 0, 0, reason);
        }
    }
    /* the retry heap lost entries out of order: restore the heap property */
    size_t n = c->n_retries;
    c->n_retries = 0;
    for (size_t i = 0; i < n; i++)
        s_retry_push(c, c->retries[i]);
}

/* Distributed mode: warn once per group that has work left and that no connected worker
 * can serve (workers may still join, so nothing fails). O(groups x workers) per heartbeat. */
static bool s_group_has_task(ferry_coordinator_t *c, s_group_t *g);

static void s_warn_unserved(ferry_coordinator_t *c)
{
    if (!c->n_workers || c->opts.local_workers)
        return;
    for (size_t gi = 0; gi < c->n_groups; gi++) {
        s_group_t *g = &c->groups[gi];
        if (g->is_warned_unserved || s_group_served(c, gi) || !s_group_has_task(c, g))
            continue;
        g->is_warned_unserved = true;
        char reason[FERRY_PLAN_MAX_NAME + 512];
        s_group_reason(c, gi, "connected", reason, sizeof reason);
        ferry_warn("%s; its tasks wait until such a worker joins (%zu connected)", reason, c->n_workers);
        s_event(c, s_wall_ms(), "group-unserved", 0, 0, 0, reason);
    }
}

static void s_on_hello(ferry_coordinator_t *c, ferry_inbound_t *in)
{
    ferry_msg_hello_t *h = &in->msg.u.hello;
    uint64_t now = uv_now(&c->loop);
    if (c->is_stopping) {
        s_out_error(c, in->identity, in->identity_len, FERRY_ERRCODE_REFUSED, "coordinator is stopping");
        return;
    }
    s_worker_t *by_id = s_worker_by_identity(c, in->identity, in->identity_len);
    if (by_id && strcmp(by_id->name, h->name))
        s_worker_remove(c, by_id, false, "its connection now speaks for another worker");
    s_worker_t *w = s_worker_by_name(c, h->name);
    bool is_new = !w;
    if (!w) {
        if (c->n_workers >= FERRY_COORD_MAX_WORKERS) {
            s_out_error(c, in->identity, in->identity_len, FERRY_ERRCODE_REFUSED, "too many workers");
            c->bad_frames++;
            return;
        }
        w = ferry_calloc(1, sizeof *w);
        w->name = ferry_strdup(h->name);
        w->matches = ferry_calloc(c->n_groups ? c->n_groups : 1, sizeof *w->matches);
        w->next = c->workers;
        c->workers = w;
        c->n_workers++;
    }
    memcpy(w->identity, in->identity, in->identity_len);
    w->identity_len = in->identity_len;
    w->credit = h->credit;
    w->batch = FERRY_MIN(h->batch, (uint32_t)FERRY_PROTO_MAX_BATCH);
    w->last_seen_ms = now;
    char *caps = s_caps_json(h);
    ferry_journal_t *j = s_hold(c); /* its row id is needed now; HELLO is rare */
    if (j) {
        if (ferry_journal_worker(j, h->name, caps, s_wall_ms(), &w->id))
            s_journal_failed(c);
        s_unhold(c, j);
    }
    free(caps);
    size_t n_match = 0;
    for (size_t g = 0; g < c->n_groups; g++) {
        const ferry_plan_group_t *pg = c->groups[g].plan_group;
        w->matches[g] = pg ? ferry_requirements_match(&pg->req, h) : true;
        n_match += w->matches[g];
        if (!w->matches[g]) {
            free(c->groups[g].unmet);
            c->groups[g].unmet = ferry_requirements_unmet(&pg->req, h);
        }
    }
    /* Leases of this worker name: those it still holds stay (attached again after a
     * coordinator restart); those it never received end as lost now. O(leases). */
    if (h->n_attempts)
        qsort(h->attempts, h->n_attempts, sizeof *h->attempts, s_cmp_u64);
    for (size_t b = 0; b < c->n_buckets; b++) {
        s_lease_t **pp = &c->buckets[b];
        while (*pp) {
            s_lease_t *l = *pp;
            if (l->worker_id != w->id || (l->worker && l->worker != w)) {
                pp = &l->next;
                continue;
            }
            if (s_is_held(h->attempts, h->n_attempts, l->attempt)) {
                if (!l->worker) {
                    l->worker = w;
                    w->inflight++;
                }
                pp = &l->next;
            } else {
                *pp = l->next;
                c->n_leases--;
                s_lost(c, l, "the worker does not hold this attempt (its TASK was lost in transit)");
            }
        }
    }
    ferry_log(is_new ? FERRY_LOG_INFO : FERRY_LOG_DEBUG, "worker %s %s: %u slots, credit %u, %s, serves %zu of %zu groups",
              w->name, is_new ? "joined" : "said HELLO again", h->slots, h->credit, h->arch ? h->arch : "?", n_match,
              c->n_groups);
    if (is_new)
        s_event(c, s_wall_ms(), "worker-joined", 0, 0, w->id, NULL);
    ferry_msg_t hb = {.cmd = FERRY_CMD_HEARTBEAT};
    hb.u.heartbeat.interval_ms = (uint32_t)c->plan->heartbeat_ms;
    hb.u.heartbeat.batch = FERRY_PROTO_MAX_BATCH; /* we take RESULTS */
    s_out_msg(c, w->identity, w->identity_len, &hb);
    w->last_sent_ms = now;
    if (c->opts.local_workers && !c->is_all_local_joined && c->n_workers >= c->opts.local_workers) {
        c->is_all_local_joined = true;
        s_fail_unservable(c);
    }
}

/* A HEARTBEAT with the complete list of what the worker holds: a lease of this worker up
 * to the last TASK it received that is not on the list never reached it or lost its
 * result; it ends as lost and is retried (the worker's heartbeats would otherwise keep it
 * alive for ever), and the slot it took counts as credit again. TASKs and RESULTs travel
 * in order on one connection, so a lease on the list, or past last_task, is never judged
 * early. O(1) while the counts agree, else O(leases). */
static void s_on_worker_heartbeat(ferry_coordinator_t *c, s_worker_t *w, ferry_msg_t *m)
{
    uint64_t last = m->u.heartbeat.last_task, *held = m->u.heartbeat.attempts;
    size_t n = m->u.heartbeat.n_attempts;
    if (!last || w->inflight <= n || c->n_deferred) /* a deferred TASK may go out after a later one */
        return;
    if (n)
        qsort(held, n, sizeof *held, s_cmp_u64);
    for (size_t b = 0; b < c->n_buckets; b++) {
        s_lease_t **pp = &c->buckets[b];
        while (*pp) {
            s_lease_t *l = *pp;
            if (l->worker != w || l->attempt > last || s_is_held(held, n, l->attempt)) {
                pp = &l->next;
                continue;
            }
            *pp = l->next;
            c->n_leases--;
            if (w->credit < FERRY_PROTO_MAX_CREDIT)
                w->credit++;
            ferry_warn("worker %s does not hold attempt %llu: retrying its task", w->name,
                       (unsigned long long)l->attempt);
            s_lost(c, l, "the worker does not hold this attempt (its TASK or its RESULT was lost)");
        }
    }
}

static void s_ack(ferry_coordinator_t *c, s_worker_t *w, const ferry_inbound_t *in, uint64_t attempt)
{
    if (!w) {
        ferry_msg_t m = {.cmd = FERRY_CMD_ACK};
        m.u.ack.attempts = &attempt;
        m.u.ack.n = 1;
        s_out_msg(c, in->identity, in->identity_len, &m);
        return;
    }
    if (w->n_acks == w->cap_acks) {
        w->cap_acks = w->cap_acks ? w->cap_acks * 2 : 64;
        w->acks = ferry_reallocarray(w->acks, w->cap_acks, sizeof *w->acks);
    }
    w->acks[w->n_acks++] = attempt;
}

static void s_on_result(ferry_coordinator_t *c, s_worker_t *w, ferry_inbound_t *in, const ferry_msg_result_t *r)
{
    s_lease_t *l = s_lease_take(c, r->attempt);
    if (l && l->task != r->task) { /* not this attempt's task: hostile or confused */
        s_lease_insert(c, l);
        l = NULL;
    }
    if (!l) {
        ferry_log(w ? FERRY_LOG_INFO : FERRY_LOG_DEBUG, "dropping a stale or duplicate result for attempt %llu (task %llu) from %s",
                  (unsigned long long)r->attempt, (unsigned long long)r->task, w ? w->name : "an unregistered peer");
        s_event(c, s_wall_ms(), "stale-result", r->task, r->attempt, w ? w->id : 0,
                            ferry_outcome_name((int)r->outcome));
        s_ack(c, w, in, r->attempt);
        return;
    }
    ferry_journal_outcome_t o = {.outcome = (int)r->outcome, .exit_code = r->exit_code, .signal = r->signal,
                                 .elapsed_ms = r->elapsed_ms, .reason = r->reason, .stderr_tail = r->stderr_tail,
                                 .output = r->output};
    if (r->outcome != FERRY_OUTCOME_OK)
        ferry_info("attempt %d of task %llu: %s: %s", l->attempt_no, (unsigned long long)l->task,
                   ferry_outcome_name((int)r->outcome), r->reason ? r->reason : "");
    s_attempt_end(c, l, &o);
    s_ack(c, w, in, r->attempt);
}

static void s_note_bad_frame(ferry_coordinator_t *c, const ferry_inbound_t *in, int rc, const ferry_err_t *err)
{
    c->bad_frames++;
    uint64_t now = uv_now(&c->loop);
    if (c->last_bad_warn_ms == 0 || now - c->last_bad_warn_ms >= FERRY_COORD_WARN_INTERVAL_MS) {
        ferry_warn("refused %llu malformed message(s) so far; latest: %s",
                   (unsigned long long)(c->bad_frames - c->bad_frames_warned), err->msg);
        c->last_bad_warn_ms = now;
        c->bad_frames_warned = c->bad_frames;
    }
    if (in->identity_len == 0 || in->msg.cmd == FERRY_CMD_ERROR)
        return;
    ferry_errcode_t code = rc == FERRY_PROTO_EVERSION ? FERRY_ERRCODE_VERSION
                           : rc == FERRY_PROTO_ECMD   ? FERRY_ERRCODE_COMMAND
                                                      : FERRY_ERRCODE_MALFORMED;
    s_out_error(c, in->identity, in->identity_len, code, err->msg);
}

static void s_handle(ferry_coordinator_t *c, ferry_inbound_t *in)
{
    s_worker_t *w = s_worker_by_identity(c, in->identity, in->identity_len);
    if (w)
        w->last_seen_ms = uv_now(&c->loop);
    switch (in->msg.cmd) {
    case FERRY_CMD_HELLO:
        s_on_hello(c, in);
        return;
    case FERRY_CMD_RESULT:
        s_on_result(c, w, in, &in->msg.u.result);
        return;
    case FERRY_CMD_RESULTS:
        for (size_t i = 0; i < in->msg.u.results.n; i++)
            s_on_result(c, w, in, &in->msg.u.results.v[i]);
        if (w) {
            uint64_t credit = (uint64_t)w->credit + in->msg.u.results.credit;
            w->credit = (uint32_t)FERRY_MIN(credit, (uint64_t)FERRY_PROTO_MAX_CREDIT);
        }
        return;
    case FERRY_CMD_ERROR:
        ferry_warn("worker %s reports error %u: %s", w ? w->name : "(unregistered)", in->msg.u.error.code,
                   in->msg.u.error.message ? in->msg.u.error.message : "");
        return;
    default:
        break;
    }
    if (!w) {
        if (in->msg.cmd != FERRY_CMD_BYE)
            s_out_error(c, in->identity, in->identity_len, FERRY_ERRCODE_NOT_REGISTERED, "say HELLO first");
        return;
    }
    switch (in->msg.cmd) {
    case FERRY_CMD_READY: {
        uint64_t credit = (uint64_t)w->credit + in->msg.u.ready.credit;
        w->credit = (uint32_t)FERRY_MIN(credit, (uint64_t)FERRY_PROTO_MAX_CREDIT);
        return;
    }
    case FERRY_CMD_BYE:
        s_worker_remove(c, w, false, in->msg.u.bye.reason ? in->msg.u.bye.reason : "said BYE");
        return;
    case FERRY_CMD_HEARTBEAT:
        s_on_worker_heartbeat(c, w, &in->msg);
        return;
    case FERRY_CMD_PROGRESS:
        return;
    default: /* TASK, TASKS, ACK: not a worker's to send */
        c->bad_frames++;
        s_out_error(c, in->identity, in->identity_len, FERRY_ERRCODE_COMMAND, "coordinators do not take this command");
        return;
    }
}

/* ---- scheduling ---------------------------------------------------------------------- */
static bool s_group_has_task(ferry_coordinator_t *c, s_group_t *g)
{
    if (g->ready.len)
        return true;
    if (g->is_exhausted)
        return false;
    uint64_t ids[FERRY_COORD_FETCH_BATCH];
    uint32_t attempts[FERRY_COORD_FETCH_BATCH];
    size_t n = 0;
    if (ferry_journal_fetch_pending(c->reader, g->cursor, g->row.first_task + g->row.count, ids, attempts,
                                    FERRY_COORD_FETCH_BATCH, &n)) {
        s_journal_failed(c);
        return false;
    }
    for (size_t i = 0; i < n; i++)
        s_queue_push(&g->ready, (s_ready_t){.task = ids[i], .attempts = attempts[i]});
    if (n)
        g->cursor = ids[n - 1];
    if (n < FERRY_COORD_FETCH_BATCH)
        g->is_exhausted = true;
    return n > 0;
}

/* Wrap the TASKs queued for w in this turn into one TASKS message in the outbox. */
static void s_flush_task_batch(ferry_coordinator_t *c, s_worker_t *w)
{
    if (!w->n_task_items)
        return;
    s_out_t *o = s_out_new(c, w->identity, w->identity_len, FERRY_CMD_TASKS);
    ferry_proto_batch_body(FERRY_CMD_TASKS, w->task_items.data, w->task_items.len, w->n_task_items, 0, &o->body);
    o->attempts = ferry_reallocarray(o->attempts, FERRY_PROTO_MAX_BATCH, sizeof *o->attempts);
    memcpy(o->attempts, w->task_attempts, w->n_task_items * sizeof *o->attempts);
    o->n_attempts = w->n_task_items;
    w->n_task_items = 0;
    ferry_buf_reset(&w->task_items);
}

/* "<group>-<index>" into out (once per TASK: no printf). */
static void s_task_name(char *out, size_t size, const char *group, uint64_t index)
{
    char digits[24];
    size_t nd = 0;
    do {
        digits[nd++] = (char)('0' + index % 10);
        index /= 10;
    } while (index);
    size_t len = strlen(group);
    if (len + 1 + nd + 1 > size) /* cannot happen for plan names (FERRY_PLAN_MAX_NAME) */
        len = size > nd + 2 ? size - nd - 2 : 0;
    memcpy(out, group, len);
    out[len++] = '-';
    while (nd)
        out[len++] = digits[--nd];
    out[len] = '\0';
}

/* Queue the TASK of a leased attempt for w. */
static void s_lease_send(ferry_coordinator_t *c, const s_pick_t *p, uint64_t attempt)
{
    s_worker_t *w = p->worker;
    size_t gi = p->group;
    s_group_t *g = &c->groups[gi];
    uint64_t task = p->task;
    int attempt_no = p->attempt_no;
    s_lease_t *l = s_lease_alloc(c);
    *l = (s_lease_t){.attempt = attempt, .task = task, .group = (uint32_t)gi, .attempt_no = attempt_no,
                     .worker = w, .worker_id = w->id};
    s_lease_insert(c, l);
    w->inflight++;
    char id[FERRY_PLAN_MAX_NAME + 32];
    s_task_name(id, sizeof id, g->row.name, task - g->row.first_task);
    ferry_msg_t m = {.cmd = FERRY_CMD_TASK};
    m.u.task = (ferry_msg_task_t){.attempt = attempt, .task = task, .id = id, .kind = (uint32_t)g->row.kind,
                                  .sleep_ms = g->row.sleep_ms, .timeout_ms = c->plan->task_timeout_ms,
                                  .memory_mb = c->plan->memory_limit_mb};
    w->last_sent_ms = uv_now(&c->loop);
    if (!w->batch) {
        s_out_t *o = s_out_new(c, w->identity, w->identity_len, FERRY_CMD_TASK);
        ferry_msg_encode(&m, &o->body);
        o->attempt = attempt;
        return;
    }
    if (!w->task_attempts)
        w->task_attempts = ferry_calloc(FERRY_PROTO_MAX_BATCH, sizeof *w->task_attempts);
    ferry_msg_encode(&m, &w->task_items);
    w->task_attempts[w->n_task_items++] = attempt;
    if (w->n_task_items >= w->batch || w->task_items.len >= FERRY_PROTO_BATCH_BYTES)
        s_flush_task_batch(c, w);
}

/* Lease the next ready task of group gi to w: its attempt id from memory, the attempt's
 * row recorded for the writer, the TASK queued (it leaves after the commit). */
static void s_pick(ferry_coordinator_t *c, s_worker_t *w, size_t gi, int64_t now_ms)
{
    s_ready_t ready = s_queue_pop(&c->groups[gi].ready);
    s_pick_t p = {.worker = w, .task = ready.task, .group = (uint32_t)gi, .attempt_no = (int)ready.attempts + 1};
    w->credit--;
    uint64_t attempt = c->next_attempt++;
    if (c->jw) {
        ferry_jwriter_lease(c->jw, attempt, p.task, w->id, now_ms);
    } else if (ferry_journal_lease_ids(c->journal, 1, &attempt, &p.task, &w->id, &now_ms)) {
        s_journal_failed(c);
        return;
    }
    s_lease_send(c, &p, attempt);
}

static void s_dispatch(ferry_coordinator_t *c)
{
    uint64_t now = uv_now(&c->loop);
    while (c->n_retries && c->retries[0].due_ms <= now) {
        s_retry_t r = s_retry_pop(c);
        s_queue_push(&c->groups[r.group].ready, (s_ready_t){.task = r.task, .attempts = r.attempts});
    }
    if (c->is_stopping || c->is_broken)
        return;
    int64_t wall = s_wall_ms();
    for (s_worker_t *w = c->workers; w; w = w->next) {
        while (w->credit > 0 && !c->is_broken) {
            size_t gi = SIZE_MAX;
            for (size_t k = 0; k < c->n_groups; k++) {
                size_t cand = (w->rr + k) % c->n_groups;
                if (w->matches[cand] && s_group_has_task(c, &c->groups[cand])) {
                    gi = cand;
                    break;
                }
            }
            if (gi == SIZE_MAX)
                break;
            w->rr = gi;
            s_pick(c, w, gi, wall);
        }
    }
}

/* Send everything queued in this turn (after the commit). */
static void s_note_undelivered(ferry_coordinator_t *c, uint64_t attempt)
{
    if (c->n_undelivered == c->cap_undelivered) {
        c->cap_undelivered = c->cap_undelivered ? c->cap_undelivered * 2 : 64;
        c->undelivered = ferry_reallocarray(c->undelivered, c->cap_undelivered, sizeof *c->undelivered);
    }
    c->undelivered[c->n_undelivered++] = attempt;
}

/* End of a turn: the workers' TASK batches and ACKs into the outbox, and the turn's
 * journal writes sealed; the turn's messages wait for that batch. */
static void s_seal_turn(ferry_coordinator_t *c)
{
    for (s_worker_t *w = c->workers; w; w = w->next) {
        s_flush_task_batch(c, w);
        if (!w->n_acks)
            continue;
        for (size_t off = 0; off < w->n_acks; off += FERRY_PROTO_MAX_ACKS) {
            ferry_msg_t m = {.cmd = FERRY_CMD_ACK};
            m.u.ack.attempts = w->acks + off;
            m.u.ack.n = FERRY_MIN(w->n_acks - off, (size_t)FERRY_PROTO_MAX_ACKS);
            s_out_msg(c, w->identity, w->identity_len, &m);
        }
        w->n_acks = 0;
    }
    uint64_t seq = !c->jw ? 0 : c->is_inline_commit ? ferry_jwriter_seal_commit(c->jw) : ferry_jwriter_seal(c->jw);
    for (size_t i = c->out_sealed; i < c->n_out; i++)
        c->outbox[i].seq = seq;
    c->out_sealed = c->n_out;
}

static void s_out_undelivered(ferry_coordinator_t *c, const s_out_t *o)
{
    if (o->attempt)
        s_note_undelivered(c, o->attempt);
    for (size_t k = 0; k < o->n_attempts; k++)
        s_note_undelivered(c, o->attempts[k]);
}

/* A TASK whose peer's queue is full (EAGAIN: FERRY_COORD_HWM messages it has not read)
 * is not lost: it moves to c->deferred (slots swapped, nothing copied) and is tried again
 * each turn, for at most the plan's lease_ms; only then do its attempts end as
 * undelivered. (A peer that is gone answers EHOSTUNREACH: undelivered at once.) */
static void s_defer(ferry_coordinator_t *c, s_out_t *o)
{
    if (c->n_deferred == c->cap_deferred) {
        size_t ncap = c->cap_deferred ? c->cap_deferred * 2 : 16;
        c->deferred = ferry_reallocarray(c->deferred, ncap, sizeof *c->deferred);
        memset(c->deferred + c->cap_deferred, 0, (ncap - c->cap_deferred) * sizeof *c->deferred);
        c->cap_deferred = ncap;
    }
    s_out_t tmp = c->deferred[c->n_deferred];
    c->deferred[c->n_deferred] = *o;
    c->deferred[c->n_deferred].deferred_ms = uv_now(&c->loop);
    c->n_deferred++;
    *o = tmp;
    o->attempt = 0;
    o->n_attempts = 0;
    ferry_buf_reset(&o->body);
}

static void s_send_deferred(ferry_coordinator_t *c)
{
    uint64_t now = uv_now(&c->loop);
    for (size_t i = 0; i < c->n_deferred;) {
        s_out_t *o = &c->deferred[i];
        int rc = ferry_proto_send_raw(c->router, o->identity, o->identity_len, o->cmd, o->body.data, o->body.len);
        if (rc == -EAGAIN && now - o->deferred_ms < (uint64_t)c->plan->lease_ms) {
            i++;
            continue;
        }
        if (rc)
            s_out_undelivered(c, o);
        s_out_t tmp = *o; /* done with it: swap the last one in */
        *o = c->deferred[c->n_deferred - 1];
        c->deferred[c->n_deferred - 1] = tmp;
        c->n_deferred--;
    }
}

/* Send the sealed messages whose journal batch is committed, in order. */
static void s_send_committed(ferry_coordinator_t *c)
{
    if (c->n_deferred)
        s_send_deferred(c);
    uint64_t committed = c->jw ? ferry_jwriter_committed(c->jw) : UINT64_MAX;
    while (c->out_head < c->out_sealed && c->outbox[c->out_head].seq <= committed) {
        s_out_t *o = &c->outbox[c->out_head++];
        int rc = ferry_proto_send_raw(c->router, o->identity, o->identity_len, o->cmd, o->body.data, o->body.len);
        if (rc == -EAGAIN && (o->attempt || o->n_attempts)) {
            s_defer(c, o);
            continue;
        }
        if (rc)
            s_out_undelivered(c, o);
    }
    if (c->out_head == c->n_out)
        c->out_head = c->out_sealed = c->n_out = 0;
}

/* The journal failed: nothing waiting for a commit may leave. */
static void s_drop_outbox(ferry_coordinator_t *c)
{
    for (s_worker_t *w = c->workers; w; w = w->next) {
        w->n_acks = 0;
        w->n_task_items = 0;
        ferry_buf_reset(&w->task_items);
    }
    c->out_head = c->out_sealed = c->n_out = 0;
}

static void s_progress(ferry_coordinator_t *c, bool is_final)
{
    if (!c->opts.on_progress)
        return;
    ferry_coord_progress_t p = {.total = c->total, .done = c->done, .failed = c->failed, .running = c->n_leases,
                                .done_this_run = c->done + c->failed - c->done_at_start,
                                .elapsed_s = (double)(uv_now(&c->loop) - c->start_ms) / 1000.0,
                                .workers = c->n_workers, .is_final = is_final};
    c->opts.on_progress(c->opts.progress_ud, &p);
}

static void s_check_done(ferry_coordinator_t *c)
{
    if (c->is_finished)
        return;
    if (c->is_broken) {
        c->exit_code = FERRY_EXIT_RUNTIME;
        s_finish(c);
    } else if (c->done + c->failed >= c->total && c->n_leases == 0) {
        c->exit_code = c->failed ? FERRY_EXIT_FAIL : FERRY_EXIT_OK;
        s_finish(c);
    } else if (c->is_stopping && c->n_leases == 0) {
        c->exit_code = FERRY_EXIT_INTERRUPTED;
        s_finish(c);
    }
}

static void s_on_retry(uv_timer_t *t);

static void s_reschedule_retry_timer(ferry_coordinator_t *c)
{
    if (c->is_finished || !c->n_retries)
        return;
    uint64_t now = uv_now(&c->loop), due = c->retries[0].due_ms;
    uv_timer_start(&c->retry_timer, s_on_retry, due > now ? due - now : 0, 0);
}

/* Attempts whose TASK could not be delivered last turn: they never ran, so they end as lost
 * without counting towards max_attempts (a client that says HELLO and vanishes cannot use
 * up a task's attempts), and then each worker they were meant for, whose connection is
 * gone, is removed; its other leases end as lost and count. */
static void s_end_undelivered(ferry_coordinator_t *c)
{
    if (!c->n_undelivered)
        return;
    s_worker_t **gone = ferry_reallocarray(NULL, c->n_undelivered, sizeof *gone);
    size_t n_gone = 0;
    for (size_t i = 0; i < c->n_undelivered; i++) {
        s_lease_t *l = s_lease_take(c, c->undelivered[i]);
        if (!l)
            continue;
        s_worker_t *w = l->worker;
        s_lost_as(c, l, "TASK could not be delivered to the worker", true);
        size_t k = 0;
        while (w && k < n_gone && gone[k] != w)
            k++;
        if (w && k == n_gone)
            gone[n_gone++] = w;
    }
    c->n_undelivered = 0;
    for (size_t k = 0; k < n_gone; k++)
        s_worker_remove(c, gone[k], true, "unreachable: a TASK could not be delivered");
    free(gone);
}

static bool s_has_input(ferry_coordinator_t *c)
{
    int events = 0;
    size_t sz = sizeof events;
    return zmq_getsockopt(c->router, ZMQ_EVENTS, &events, &sz) == 0 && (events & ZMQ_POLLIN);
}

/* One or more turns: receive, handle, schedule, commit, send; repeat while input waits.
 * extra (may be NULL) runs inside the first turn's transaction (timer work). */
static void s_pump(ferry_coordinator_t *c, void (*extra)(ferry_coordinator_t *))
{
    if (c->is_finished || c->is_in_turn)
        return;
    c->is_in_turn = true;
    bool is_first = true;
    do {
        if (c->jw && ferry_jwriter_status(c->jw))
            s_journal_failed(c);
        if (is_first && extra)
            extra(c);
        is_first = false;
        s_end_undelivered(c);
        for (int n = 0; n < FERRY_COORD_MAX_TURN_MSGS; n++) {
            ferry_inbound_t in;
            ferry_err_t err = {{0}};
            int rc = ferry_proto_recv(c->router, true, &in, &err);
            if (rc == -EAGAIN) {
                ferry_msg_clear(&in.msg);
                break;
            }
            if (rc == 0)
                s_handle(c, &in);
            else if (rc <= FERRY_PROTO_EFRAMES && rc >= FERRY_PROTO_EFIELD)
                s_note_bad_frame(c, &in, rc, &err);
            else if (rc == -EINTR) {
                ferry_msg_clear(&in.msg);
                continue;
            } else {
                ferry_msg_clear(&in.msg);
                ferry_error("receiving: %s", zmq_strerror(-rc));
                break;
            }
            ferry_msg_clear(&in.msg);
        }
        s_dispatch(c);
        if (!c->is_broken) {
            s_seal_turn(c);
            s_send_committed(c); /* earlier turns' messages whose commit came meanwhile */
        } else {
            s_drop_outbox(c);
        }
        s_check_done(c);
    } while (!c->is_finished && (s_has_input(c) || c->n_undelivered));
    if (!c->is_finished)
        s_reschedule_retry_timer(c);
    c->is_in_turn = false;
}

/* ---- libuv callbacks ----------------------------------------------------------------- */
static void s_on_poll(uv_poll_t *h, int status, int events)
{
    s_pump(h->data, NULL);
}

/* The journal writer committed (or failed): send what waited for it. */
static void s_on_committed(uv_async_t *a)
{
    ferry_coordinator_t *c = a->data;
    if (c->is_finished || c->is_in_turn)
        return;
    if (ferry_jwriter_status(c->jw)) {
        s_journal_failed(c);
        s_drop_outbox(c);
        s_check_done(c);
        return;
    }
    s_send_committed(c);
    /* sending may have taken the socket's edge-triggered readiness: look for input now */
    if (s_has_input(c) || c->n_undelivered)
        s_pump(c, NULL);
}

/* uv_async_send is the one libuv call that is safe from another thread */
static void s_notify_committed(void *ud)
{
    ferry_coordinator_t *c = ud;
    uv_async_send(&c->commit_async);
}

static void s_heartbeat_work(ferry_coordinator_t *c)
{
    uint64_t now = uv_now(&c->loop);
    uint64_t hb = (uint64_t)c->plan->heartbeat_ms, lease_ms = (uint64_t)c->plan->lease_ms;
    for (s_worker_t *w = c->workers, *nx; w; w = nx) {
        nx = w->next;
        uint64_t silent = now - w->last_seen_ms;
        if (silent > hb * FERRY_COORD_LIVENESS || silent > lease_ms) {
            char reason[160];
            snprintf(reason, sizeof reason, "silent for %llu ms (heartbeat %llu ms, lease %llu ms)",
                     (unsigned long long)silent, (unsigned long long)hb, (unsigned long long)lease_ms);
            s_worker_remove(c, w, true, reason);
            continue;
        }
        if (now - w->last_sent_ms >= hb) {
            ferry_msg_t m = {.cmd = FERRY_CMD_HEARTBEAT};
            m.u.heartbeat.interval_ms = (uint32_t)hb;
            m.u.heartbeat.batch = FERRY_PROTO_MAX_BATCH;
            s_out_msg(c, w->identity, w->identity_len, &m);
            w->last_sent_ms = now;
        }
    }
    s_warn_unserved(c);
    /* leases whose worker never came back after a restart */
    for (size_t b = 0; b < c->n_buckets; b++) {
        s_lease_t **pp = &c->buckets[b];
        while (*pp) {
            s_lease_t *l = *pp;
            if (!l->worker && now >= l->expires_ms) {
                *pp = l->next;
                c->n_leases--;
                s_lost(c, l, "lease expired: its worker did not come back after a coordinator restart");
            } else {
                pp = &l->next;
            }
        }
    }
}

static void s_on_heartbeat(uv_timer_t *t)
{
    s_pump(t->data, s_heartbeat_work);
}

static void s_on_retry(uv_timer_t *t)
{
    s_pump(t->data, NULL);
}

static void s_on_progress(uv_timer_t *t)
{
    s_progress(t->data, false);
}

static void s_on_drain_timeout(uv_timer_t *t)
{
    ferry_coordinator_t *c = t->data;
    ferry_warn("stopping with %zu attempt(s) still in flight; they will be re-leased on restart", c->n_leases);
    c->exit_code = FERRY_EXIT_INTERRUPTED;
    s_finish(c);
}

static void s_begin_stop(ferry_coordinator_t *c, const char *why)
{
    if (c->is_stopping || c->is_finished)
        return;
    c->is_stopping = true;
    ferry_info("%s: no new leases; waiting up to %d ms for %zu in-flight result(s)", why, FERRY_COORD_DRAIN_MS,
               c->n_leases);
    uv_timer_start(&c->drain_timer, s_on_drain_timeout, FERRY_COORD_DRAIN_MS, 0);
    s_pump(c, NULL);
}

static void s_on_stop_async(uv_async_t *a)
{
    s_begin_stop(a->data, "stop requested");
}

static void s_on_signal(uv_signal_t *s, int signum)
{
    s_begin_stop(s->data, signum == SIGINT ? "SIGINT" : "SIGTERM");
}

/* SIGHUP: re-read the CURVE allow-list (a malformed file keeps the old list in force). */
static void s_on_sighup(uv_signal_t *s, int signum)
{
    ferry_coordinator_t *c = s->data;
    if (!c->zap) {
        ferry_info("SIGHUP: CURVE is off; no allow-list to reload");
        return;
    }
    ferry_err_t err = {{0}};
    if (ferry_zap_reload(c->zap, &err) == 0) {
        ferry_info("SIGHUP: allow-list %s reloaded", c->opts.allow_list ? c->opts.allow_list : "");
        s_event(c, s_wall_ms(), "allow-list-reloaded", 0, 0, 0, c->opts.allow_list);
    } else {
        ferry_warn("SIGHUP: allow-list not reloaded, the previous one stays in force: %s", err.msg);
    }
}

static void s_close_cb(uv_handle_t *h)
{
    (void)h;
}

static void s_walk_close(uv_handle_t *h, void *arg)
{
    if (!uv_is_closing(h))
        uv_close(h, s_close_cb);
}

static void s_finish(ferry_coordinator_t *c)
{
    if (c->is_finished)
        return;
    c->is_finished = true;
    /* drain the writer: everything recorded is committed, and what waited for it leaves */
    if (c->jw) {
        uint64_t seq = c->is_broken ? 0 : ferry_jwriter_seal(c->jw);
        if (!c->is_broken && ferry_jwriter_wait(c->jw, seq) == 0) {
            s_seal_turn(c);
            s_send_committed(c);
        } else if (!c->is_broken) {
            s_journal_failed(c);
            c->exit_code = FERRY_EXIT_RUNTIME;
        }
        ferry_jwriter_stats_t st;
        ferry_jwriter_stats(c->jw, &st);
        ferry_info("journal: %llu batches in %llu transactions (%llu on the loop thread); CPU since listening: "
                   "loop thread %.3f s, journal writer %.3f s, whole process %.3f s",
                   (unsigned long long)st.batches, (unsigned long long)st.commits,
                   (unsigned long long)st.inline_commits, s_thread_cpu_s() - c->run_cpu_s, st.cpu_s,
                   s_cpu_s(CLOCK_PROCESS_CPUTIME_ID) - c->run_proc_cpu_s);
        ferry_jwriter_destroy(&c->jw);
    }
    s_drop_outbox(c);
    /* say BYE to every worker, then close */
    for (s_worker_t *w = c->workers; w; w = w->next) {
        ferry_msg_t m = {.cmd = FERRY_CMD_BYE};
        m.u.bye.reason = c->exit_code == FERRY_EXIT_OK || c->exit_code == FERRY_EXIT_FAIL ? FERRY_BYE_FINISHED
                                                                                        : FERRY_BYE_STOPPING;
        ferry_proto_send(c->router, w->identity, w->identity_len, &m);
    }
    if (!c->is_broken) {
        ferry_journal_begin(c->journal);
        for (s_worker_t *w = c->workers; w; w = w->next)
            ferry_journal_worker_gone(c->journal, w->id, false, s_wall_ms());
        if (ferry_journal_settle(c->journal))
            ferry_warn("the task rows were not settled; the next start settles them");
        char detail[128];
        snprintf(detail, sizeof detail, "exit %d: %llu done, %llu failed of %llu", c->exit_code,
                 (unsigned long long)c->done, (unsigned long long)c->failed, (unsigned long long)c->total);
        s_event(c, s_wall_ms(), "coordinator-stop", 0, 0, 0, detail);
        ferry_journal_commit(c->journal);
    }
    s_progress(c, true);
    uv_handle_t *hs[] = {(uv_handle_t *)&c->poll,          (uv_handle_t *)&c->heartbeat_timer,
                         (uv_handle_t *)&c->retry_timer,   (uv_handle_t *)&c->progress_timer,
                         (uv_handle_t *)&c->drain_timer,   (uv_handle_t *)&c->stop_async,
                         (uv_handle_t *)&c->commit_async,  (uv_handle_t *)&c->sigint,
                         (uv_handle_t *)&c->sigterm,       (uv_handle_t *)&c->sighup};
    for (size_t i = 0; i < FERRY_ARRAY_LEN(hs); i++)
        if (hs[i]->data && !uv_is_closing(hs[i]))
            uv_close(hs[i], s_close_cb);
}

/* ---- construction ------------------------------------------------------------------ */
static void s_on_open_attempt(void *ud, uint64_t attempt, uint64_t task, int64_t worker_id, int attempt_no)
{
    ferry_coordinator_t *c = ud;
    s_lease_t *l = s_lease_alloc(c);
    uint32_t group = 0;
    for (size_t g = 0; g < c->n_groups; g++)
        if (task >= c->groups[g].row.first_task && task < c->groups[g].row.first_task + c->groups[g].row.count)
            group = (uint32_t)g;
    *l = (s_lease_t){.attempt = attempt, .task = task, .group = group, .attempt_no = attempt_no,
                     .worker_id = worker_id, .expires_ms = uv_now(&c->loop) + (uint64_t)c->plan->lease_ms};
    s_lease_insert(c, l);
}

bool ferry_endpoint_is_local(const char *ep)
{
    return !strncmp(ep, "inproc://", 9) || !strncmp(ep, "ipc://", 6) || !strncmp(ep, "tcp://127.", 10) ||
           !strncmp(ep, "tcp://localhost:", 16) || !strncmp(ep, "tcp://[::1]:", 12);
}

ferry_coordinator_t *ferry_coordinator_new(const ferry_coord_opts_t *opts, ferry_err_t *err)
{
    ferry_coordinator_t *c = ferry_calloc(1, sizeof *c);
    c->opts = *opts;
    c->plan = opts->plan;
    c->exit_code = FERRY_EXIT_RUNTIME;
    c->journal = ferry_journal_open(opts->state_dir, false, err);
    if (!c->journal)
        goto fail;

    /* the plan's groups, then expand into the journal (first run) or check it (resume) */
    size_t ng = c->plan->n_groups;
    ferry_journal_group_t *jg = ferry_calloc(ng ? ng : 1, sizeof *jg);
    for (size_t i = 0; i < ng; i++)
        jg[i] = (ferry_journal_group_t){.name = c->plan->groups[i].name, .kind = (int)c->plan->groups[i].kind,
                                        .sleep_ms = c->plan->groups[i].sleep_ms, .count = c->plan->groups[i].count};
    char hex[65];
    ferry_sha256_hex(opts->plan_text, opts->plan_len, hex);
    char *text = ferry_strndup(opts->plan_text, opts->plan_len);
    bool is_resumed = false;
    int rc = ferry_journal_setup(c->journal, c->plan->path ? c->plan->path : "plan", hex, text, jg, ng, &is_resumed,
                                 err);
    free(text);
    free(jg);
    if (rc)
        goto fail;
    ferry_journal_group_row_t *rows;
    size_t nrows;
    if (ferry_journal_groups(c->journal, &rows, &nrows)) {
        ferry_err(err, "%s: cannot read the task groups from the journal", opts->state_dir);
        goto fail;
    }
    c->groups = ferry_calloc(nrows ? nrows : 1, sizeof *c->groups);
    c->n_groups = nrows;
    for (size_t i = 0; i < nrows; i++) {
        c->groups[i].row = rows[i];
        c->groups[i].cursor = rows[i].first_task - 1;
        for (size_t p = 0; p < c->plan->n_groups; p++)
            if (!strcmp(c->plan->groups[p].name, rows[i].name))
                c->groups[i].plan_group = &c->plan->groups[p];
    }
    free(rows); /* names now owned by c->groups */
    ferry_journal_counts_t counts;
    if (ferry_journal_counts(c->journal, &counts)) {
        ferry_err(err, "%s: cannot count tasks in the journal", opts->state_dir);
        goto fail;
    }
    c->total = counts.total;
    c->done = counts.done;
    c->failed = counts.failed;
    c->done_at_start = c->done + c->failed;

    if (uv_loop_init(&c->loop)) {
        ferry_err(err, "cannot create an event loop");
        goto fail;
    }
    c->has_handles = true;
    c->start_ms = uv_now(&c->loop);
    if (ferry_journal_open_attempts(c->journal, s_on_open_attempt, c)) {
        ferry_err(err, "%s: cannot read open attempts", opts->state_dir);
        goto fail;
    }
    ferry_info("%s plan %s: %llu tasks (%llu done, %llu failed, %zu in flight) in %zu group(s)",
               is_resumed ? "resuming" : "starting", c->plan->path ? c->plan->path : "", (unsigned long long)c->total,
               (unsigned long long)c->done, (unsigned long long)c->failed, c->n_leases, c->n_groups);
    if (ferry_journal_event(c->journal, s_wall_ms(), is_resumed ? "coordinator-resume" : "coordinator-start", 0, 0,
                            0, opts->bind) ||
        ferry_journal_next_attempt(c->journal, &c->next_attempt)) {
        ferry_err(err, "%s: cannot write to the journal", opts->state_dir);
        goto fail;
    }
    /* the pending tasks are read on a connection of their own (the writer thread owns
     * the other one); it reads only task rows the run does not write (see journal.h) */
    c->reader = ferry_journal_open(opts->state_dir, true, err);
    if (!c->reader)
        goto fail;

    /* sockets: ZAP handler before the server socket binds (see curve.h) */
    c->ctx = opts->zmq_ctx;
    if (!c->ctx) {
        c->ctx = zmq_ctx_new();
        c->is_own_ctx = true;
    }
    if (opts->secret_key) {
        c->zap = ferry_zap_new(c->ctx, opts->allow_list, err);
        if (!c->zap)
            goto fail;
    } else if (!ferry_endpoint_is_local(opts->bind)) {
        ferry_warn("**********************************************************************");
        ferry_warn("INSECURE: %s is not a loopback endpoint and CURVE is off (--insecure):", opts->bind);
        ferry_warn("anyone who can reach it can take tasks and forge results.");
        ferry_warn("**********************************************************************");
    }
    c->router = zmq_socket(c->ctx, ZMQ_ROUTER);
    int one = 1, zero = 0, hwm = FERRY_COORD_HWM;
    int64_t maxmsg = FERRY_PROTO_MAX_BODY + 1024;
    zmq_setsockopt(c->router, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(c->router, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    zmq_setsockopt(c->router, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(c->router, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(c->router, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    if (opts->secret_key && ferry_curve_server(c->router, opts->secret_key)) {
        ferry_err(err, "cannot enable CURVE on the coordinator socket: %s", zmq_strerror(zmq_errno()));
        goto fail;
    }
    if (zmq_bind(c->router, opts->bind) != 0) {
        ferry_err(err, "cannot bind %s: %s", opts->bind, zmq_strerror(zmq_errno()));
        goto fail;
    }
    int fd;
    size_t fdsz = sizeof fd;
    zmq_getsockopt(c->router, ZMQ_FD, &fd, &fdsz);
    uv_poll_init(&c->loop, &c->poll, fd);
    c->poll.data = c;
    uv_poll_start(&c->poll, UV_READABLE, s_on_poll);
    uv_timer_init(&c->loop, &c->heartbeat_timer);
    c->heartbeat_timer.data = c;
    uv_timer_start(&c->heartbeat_timer, s_on_heartbeat, (uint64_t)c->plan->heartbeat_ms,
                   (uint64_t)c->plan->heartbeat_ms);
    uv_timer_init(&c->loop, &c->retry_timer);
    c->retry_timer.data = c;
    uv_timer_init(&c->loop, &c->drain_timer);
    c->drain_timer.data = c;
    uv_timer_init(&c->loop, &c->progress_timer);
    c->progress_timer.data = c;
    if (opts->on_progress && opts->progress_ms > 0)
        uv_timer_start(&c->progress_timer, s_on_progress, (uint64_t)opts->progress_ms, (uint64_t)opts->progress_ms);
    uv_async_init(&c->loop, &c->stop_async, s_on_stop_async);
    c->stop_async.data = c;
    uv_async_init(&c->loop, &c->commit_async, s_on_committed);
    c->commit_async.data = c;
    c->jw = ferry_jwriter_new(c->journal, s_notify_committed, c);
    if (!c->jw) {
        ferry_err(err, "%s: cannot start the journal writer thread", opts->state_dir);
        goto fail;
    }
    const char *inline_env = getenv("FERRY_JOURNAL_INLINE");
    c->is_inline_commit = inline_env && *inline_env ? strcmp(inline_env, "0") != 0
                                                     : ferry_cpus_available() <= FERRY_COORD_INLINE_COMMIT_MAX_CPUS;
    if (opts->handle_signals) {
        uv_signal_init(&c->loop, &c->sigint);
        c->sigint.data = c;
        uv_signal_start(&c->sigint, s_on_signal, SIGINT);
        uv_signal_init(&c->loop, &c->sigterm);
        c->sigterm.data = c;
        uv_signal_start(&c->sigterm, s_on_signal, SIGTERM);
        uv_signal_init(&c->loop, &c->sighup);
        c->sighup.data = c;
        uv_signal_start(&c->sighup, s_on_sighup, SIGHUP);
    }
    return c;
fail:
    ferry_coordinator_destroy(&c);
    return NULL;
}

int ferry_coordinator_run(ferry_coordinator_t *c)
{
    ferry_info("listening on %s", c->opts.bind);
    c->run_cpu_s = s_thread_cpu_s();
    c->run_proc_cpu_s = s_cpu_s(CLOCK_PROCESS_CPUTIME_ID);
    s_pump(c, NULL); /* a finished plan ends at once */
    uv_run(&c->loop, UV_RUN_DEFAULT);
    if (c->is_broken) /* the counts in memory may include results that never committed */
        ferry_info("stopped on a journal failure: the journal holds what was committed before it "
                   "(ferry status --state %s counts it)", c->opts.state_dir);
    else
        ferry_info("finished: %llu done, %llu failed, %llu total", (unsigned long long)c->done,
                   (unsigned long long)c->failed, (unsigned long long)c->total);
    return c->exit_code;
}

void ferry_coordinator_stop(ferry_coordinator_t *c)
{
    uv_async_send(&c->stop_async);
}

int ferry_coordinator_feed(ferry_coordinator_t *c, const void *identity, size_t identity_len, const void *header,
                           size_t header_len, const void *body, size_t body_len)
{
    if (c->is_finished)
        return 0;
    ferry_inbound_t in;
    memset(&in, 0, sizeof in);
    in.identity_len = FERRY_MIN(identity_len, (size_t)FERRY_PROTO_MAX_IDENTITY);
    memcpy(in.identity, identity, in.identity_len);
    ferry_err_t err = {{0}};
    int rc = body_len > FERRY_PROTO_MAX_BODY ? FERRY_PROTO_EFRAMES
                                             : ferry_msg_decode(header, header_len, body, body_len, &in.msg, &err);
    if (rc == 0)
        s_handle(c, &in);
    else
        s_note_bad_frame(c, &in, rc, &err);
    ferry_msg_clear(&in.msg);
    s_pump(c, NULL); /* dispatch, seal, as after a real receive */
    /* synchronous for the caller: wait for the commit and send */
    if (c->jw && !c->is_finished) {
        if (ferry_jwriter_wait(c->jw, ferry_jwriter_seal(c->jw)))
            s_journal_failed(c);
        else
            s_send_committed(c);
        s_check_done(c);
    }
    return rc;
}

uint64_t ferry_coordinator_bad_frames(const ferry_coordinator_t *c)
{
    return c->bad_frames;
}

void ferry_coordinator_destroy(ferry_coordinator_t **c_p)
{
    ferry_coordinator_t *c = c_p ? *c_p : NULL;
    if (!c)
        return;
    ferry_jwriter_destroy(&c->jw); /* commits what was recorded; no notify after this */
    if (c->has_handles) {
        if (!c->is_finished) {
            c->is_finished = true;
            uv_walk(&c->loop, s_walk_close, NULL);
        }
        uv_run(&c->loop, UV_RUN_DEFAULT);
        uv_loop_close(&c->loop);
    }
    if (c->router)
        zmq_close(c->router);
    ferry_zap_destroy(&c->zap);
    if (c->is_own_ctx)
        zmq_ctx_term(c->ctx);
    ferry_journal_destroy(&c->reader);
    ferry_journal_destroy(&c->journal);
    for (s_worker_t *w = c->workers, *nx; w; w = nx) {
        nx = w->next;
        s_worker_free(w);
    }
    for (size_t b = 0; b < c->n_buckets; b++)
        for (s_lease_t *l = c->buckets[b], *nx; l; l = nx) {
            nx = l->next;
            free(l);
        }
    free(c->buckets);
    for (s_lease_t *l = c->free_leases, *nx; l; l = nx) {
        nx = l->next;
        free(l);
    }
    for (size_t i = 0; i < c->n_groups; i++) {
        free(c->groups[i].row.name);
        free(c->groups[i].ready.v);
        free(c->groups[i].unmet);
    }
    free(c->groups);
    free(c->retries);
    for (size_t i = 0; i < c->cap_out; i++) {
        ferry_buf_free(&c->outbox[i].body);
        free(c->outbox[i].attempts);
    }
    free(c->outbox);
    for (size_t i = 0; i < c->cap_deferred; i++) {
        ferry_buf_free(&c->deferred[i].body);
        free(c->deferred[i].attempts);
    }
    free(c->deferred);
    free(c->undelivered);
    free(c);
    *c_p = NULL;
}

int ferry_coordinator_load_plan(const char *path, ferry_plan_t **plan, char **text, size_t *len, ferry_err_t *err)
{
    *plan = NULL;
    *text = NULL;
    int rc = ferry_file_read(path, FERRY_PLAN_MAX_BYTES, text, len);
    if (rc) {
        return ferry_err(err, "%s: %s", path,
                         rc == -EFBIG ? "plan file larger than the 4 MiB limit" : strerror(-rc));
    }
    *plan = ferry_plan_parse(path, *text, *len, err);
    if (!*plan) {
        free(*text);
        *text = NULL;
        return -1;
    }
    return 0;
}
