/* worker.c -- worker loop: DEALER socket, credit, heartbeats, reconnects, child processes */
#include "worker/worker.h"
#include "proto/curve.h"
#include "proto/proto.h"
#include "util/log.h"
#include "util/mem.h"
#include "worker/exec.h"
#include "worker/probe.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>
#include <zmq.h>

typedef struct s_pending {
    ferry_msg_task_t task; /* owns task.id */
    struct s_pending *next;
} s_pending_t;

typedef struct s_unacked {
    uint64_t attempt;
    ferry_buf_t body; /* encoded RESULT */
    bool is_unsent;   /* waiting for the end of the loop turn (batched into RESULTS) */
    struct s_unacked *next;
} s_unacked_t;

typedef struct {
    uv_poll_t handle;
    struct ferry_worker *owner;
} s_poll_t;

struct ferry_worker {
    ferry_worker_opts_t opts;
    char *name, *exe;
    ferry_msg_hello_t caps; /* the HELLO template (owns its strings) */
    ferry_probe_t probe;
    void *ctx;
    bool is_own_ctx;
    void *sock;
    s_poll_t *poll;
    uv_loop_t loop;
    uv_timer_t heartbeat_timer, reconnect_timer;
    uv_async_t stop_async;
    uv_signal_t sigint, sigterm;
    bool has_loop, is_stopping, is_in_turn;
    int exit_code;
    uint32_t capacity, slots;
    uint32_t running;
    uint64_t *running_ids; /* attempts in child processes (slots entries) */
    size_t n_running_ids;
    s_pending_t *queue_head, *queue_tail;
    uint32_t queued;
    s_unacked_t *unacked;
    size_t n_unsent;        /* unacked entries with is_unsent */
    uint32_t coord_batch;   /* the coordinator takes RESULTS of up to this many (0: RESULT each) */
    uint32_t finished_since_ready;
    uint64_t finished;
    uint64_t last_task; /* the highest attempt id received since the last HELLO (0: none) */
    uint64_t heartbeat_ms, last_heard_ms, last_sent_ms, last_hello_ms, backoff_ms;
};

/* ---- sending ------------------------------------------------------------------------- */
/* Sends never block the loop: a full pipe (EAGAIN at the high-water mark) leaves what was
 * not sent waiting, and the next loop turn or heartbeat tries again. Results and the credit
 * they return are never dropped: a lost RESULT would keep its lease alive on our heartbeats,
 * and lost credit would starve this worker. */
static int s_send(ferry_worker_t *w, const ferry_msg_t *m)
{
    if (!w->sock)
        return -ENOTCONN;
    int rc = ferry_proto_send(w->sock, NULL, 0, m);
    if (rc && rc != -EAGAIN)
        ferry_debug("send %s: %s", ferry_cmd_name(m->cmd), zmq_strerror(-rc));
    if (!rc)
        w->last_sent_ms = uv_now(&w->loop);
    return rc;
}

/* A coordinator that has not said it takes batches gets plain RESULTs. */
static int s_send_results_plain(ferry_worker_t *w)
{
    for (s_unacked_t *u = w->unacked; u && w->n_unsent; u = u->next) {
        if (!u->is_unsent)
            continue;
        int rc = w->sock ? ferry_proto_send_raw(w->sock, NULL, 0, FERRY_CMD_RESULT, u->body.data, u->body.len)
                         : -ENOTCONN;
        if (rc)
            return rc;
        w->last_sent_ms = uv_now(&w->loop);
        u->is_unsent = false;
        w->n_unsent--;
    }
    return 0;
}

/* The attempts this worker holds (queued, running, result not ACKed); *n reaches
 * FERRY_PROTO_MAX_ACKS when the list is cut there. The caller frees it. */
static uint64_t *s_held_attempts(ferry_worker_t *w, size_t *n_out)
{
    uint64_t *ids = ferry_calloc(FERRY_PROTO_MAX_ACKS, sizeof *ids);
    size_t n = 0;
    for (s_pending_t *p = w->queue_head; p && n < FERRY_PROTO_MAX_ACKS; p = p->next)
        ids[n++] = p->task.attempt;
    for (size_t i = 0; i < w->n_running_ids && n < FERRY_PROTO_MAX_ACKS; i++)
        ids[n++] = w->running_ids[i];
    for (s_unacked_t *u = w->unacked; u && n < FERRY_PROTO_MAX_ACKS; u = u->next)
        ids[n++] = u->attempt;
    *n_out = n;
    return ids;
}

static void s_send_hello(ferry_worker_t *w)
{
    uint32_t held = w->running + w->queued;
    ferry_msg_t m = {.cmd = FERRY_CMD_HELLO};
    m.u.hello = w->caps;
    m.u.hello.credit = w->capacity > held ? w->capacity - held : 0;
    /* every attempt we hold, so the coordinator can retire the ones we never received */
    m.u.hello.attempts = s_held_attempts(w, &m.u.hello.n_attempts);
    s_send(w, &m);
    free(m.u.hello.attempts);
    w->finished_since_ready = 0; /* HELLO's credit already counts them */
    w->last_hello_ms = uv_now(&w->loop);
    w->last_task = 0; /* TASK attempt ids count again from this registration */
    /* results the coordinator has not confirmed: send them again (it drops duplicates);
     * what does not fit the pipe now goes at the end of a later turn */
    w->n_unsent = 0;
    for (s_unacked_t *u = w->unacked; u; u = u->next) {
        u->is_unsent = true;
        w->n_unsent++;
    }
    s_send_results_plain(w);
}

/* Keep r until ACKed and send it at the end of this loop turn; takes r's strings. */
static void s_send_result(ferry_worker_t *w, ferry_msg_result_t *r)
{
    ferry_msg_t m = {.cmd = FERRY_CMD_RESULT};
    m.u.result = *r;
    s_unacked_t *u = ferry_calloc(1, sizeof *u);
    u->attempt = r->attempt;
    ferry_msg_encode(&m, &u->body);
    u->next = w->unacked;
    w->unacked = u;
    u->is_unsent = true;
    w->n_unsent++;
    ferry_msg_clear(&m);
    w->finished++;
    w->finished_since_ready++;
}

/* One RESULTS message of the n entries in batch; on success they are sent. */
static int s_send_results_batch(ferry_worker_t *w, ferry_buf_t *items, s_unacked_t **batch, size_t n,
                                uint32_t credit)
{
    ferry_buf_t body = FERRY_BUF_INIT;
    ferry_proto_batch_body(FERRY_CMD_RESULTS, items->data, items->len, n, credit, &body);
    int rc = w->sock ? ferry_proto_send_raw(w->sock, NULL, 0, FERRY_CMD_RESULTS, body.data, body.len) : -ENOTCONN;
    if (rc && rc != -EAGAIN && rc != -ENOTCONN)
        ferry_debug("send RESULTS: %s", zmq_strerror(-rc));
    ferry_buf_free(&body);
    ferry_buf_reset(items);
    if (rc)
        return rc;
    w->last_sent_ms = uv_now(&w->loop);
    for (size_t i = 0; i < n; i++)
        batch[i]->is_unsent = false;
    w->n_unsent -= n;
    return 0;
}

/* End of a loop turn: the results waiting to go in RESULTS messages (at most coord_batch
 * entries and about FERRY_PROTO_BATCH_BYTES each), the last one carrying the READY
 * credit; or plain RESULTs and a READY. What does not fit the pipe waits, with its credit,
 * for the next turn. O(unacked). */
static void s_send_ready(ferry_worker_t *w)
{
    if (w->is_stopping)
        return;
    if (w->n_unsent && w->coord_batch) {
        ferry_buf_t items = FERRY_BUF_INIT;
        s_unacked_t *batch[FERRY_PROTO_MAX_BATCH];
        size_t n = 0;
        uint32_t max = FERRY_MIN(w->coord_batch, (uint32_t)FERRY_PROTO_MAX_BATCH);
        int rc = 0;
        for (s_unacked_t *u = w->unacked; u && !rc; u = u->next) {
            if (!u->is_unsent)
                continue;
            if (n && (n >= max || items.len + u->body.len > FERRY_PROTO_BATCH_BYTES)) {
                rc = s_send_results_batch(w, &items, batch, n, 0);
                n = 0;
                if (rc)
                    break;
            }
            ferry_buf_append(&items, u->body.data, u->body.len);
            batch[n++] = u;
        }
        if (!rc && n && !s_send_results_batch(w, &items, batch, n, w->finished_since_ready))
            w->finished_since_ready = 0;
        ferry_buf_free(&items);
        return;
    }
    if (w->n_unsent && s_send_results_plain(w))
        return;
    if (!w->finished_since_ready)
        return;
    ferry_msg_t m = {.cmd = FERRY_CMD_READY};
    m.u.ready.credit = w->finished_since_ready;
    if (!s_send(w, &m))
        w->finished_since_ready = 0;
}

static int s_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Forget the results the coordinator has committed: one pass over the unACKed list with
 * a binary search in the sorted ACK, O(unacked x log acks) (an ACK covers a whole batch,
 * which sits behind the results of newer tasks in the list). */
static void s_on_ack(ferry_worker_t *w, ferry_msg_t *m)
{
    uint64_t *acks = m->u.ack.attempts;
    size_t n = m->u.ack.n;
    if (!n)
        return;
    qsort(acks, n, sizeof *acks, s_cmp_u64);
    for (s_unacked_t **pp = &w->unacked; *pp;) {
        s_unacked_t *u = *pp;
        if (!bsearch(&u->attempt, acks, n, sizeof *acks, s_cmp_u64)) {
            pp = &u->next;
            continue;
        }
        *pp = u->next;
        if (u->is_unsent)
            w->n_unsent--;
        ferry_buf_free(&u->body);
        free(u);
    }
}

/* ---- tasks --------------------------------------------------------------------------- */
static void s_pump(ferry_worker_t *w);

static void s_on_child_done(void *ud, ferry_msg_result_t *r)
{
    ferry_worker_t *w = ud;
    w->running--;
    for (size_t i = 0; i < w->n_running_ids; i++)
        if (w->running_ids[i] == r->attempt) {
            w->running_ids[i] = w->running_ids[--w->n_running_ids];
            break;
        }
    if (r->outcome != FERRY_OUTCOME_OK)
        ferry_info("attempt %llu: %s: %s", (unsigned long long)r->attempt, ferry_outcome_name((int)r->outcome),
                   r->reason ? r->reason : "");
    s_send_result(w, r);
    s_pump(w);
}

static void s_start_children(ferry_worker_t *w)
{
    while (w->queue_head && w->running < w->slots && !w->is_stopping) {
        s_pending_t *p = w->queue_head;
        w->queue_head = p->next;
        if (!w->queue_head)
            w->queue_tail = NULL;
        w->queued--;
        w->running++;
        w->running_ids[w->n_running_ids++] = p->task.attempt;
        ferry_exec_start(&w->loop, w->exe, &p->task, s_on_child_done, w);
        free(p->task.id);
        free(p);
    }
}

static void s_on_task(ferry_worker_t *w, ferry_msg_task_t *t)
{
    if (t->attempt > w->last_task)
        w->last_task = t->attempt;
    if (t->kind == FERRY_TASK_ECHO) { /* in-process: measures the orchestration path */
        ferry_msg_result_t r = {.attempt = t->attempt, .task = t->task, .outcome = FERRY_OUTCOME_OK,
                                .output = t->id ? ferry_strdup(t->id) : NULL};
        s_send_result(w, &r); /* takes r's strings */
        return;
    }
    s_pending_t *p = ferry_calloc(1, sizeof *p);
    p->task = *t;
    t->id = NULL; /* moved */
    if (w->queue_tail)
        w->queue_tail->next = p;
    else
        w->queue_head = p;
    w->queue_tail = p;
    w->queued++;
}

/* ---- connection ---------------------------------------------------------------------- */
static void s_on_poll(uv_poll_t *h, int status, int events);

static void s_poll_closed(uv_handle_t *h)
{
    free(container_of(h, s_poll_t, handle));
}

static void s_disconnect(ferry_worker_t *w)
{
    if (w->poll) {
        uv_poll_stop(&w->poll->handle);
        uv_close((uv_handle_t *)&w->poll->handle, s_poll_closed);
        w->poll = NULL;
    }
    if (w->sock) {
        zmq_close(w->sock);
        w->sock = NULL;
    }
}

static int s_connect(ferry_worker_t *w)
{
    w->sock = zmq_socket(w->ctx, ZMQ_DEALER);
    if (!w->sock)
        return -zmq_errno();
    int zero = 0, hwm = 100000;
    int64_t maxmsg = FERRY_PROTO_MAX_BODY + 1024;
    zmq_setsockopt(w->sock, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(w->sock, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(w->sock, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(w->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    if (w->opts.server_key &&
        ferry_curve_client(w->sock, w->opts.server_key, w->opts.public_key, w->opts.secret_key) != 0) {
        ferry_error("cannot enable CURVE: %s", zmq_strerror(zmq_errno()));
        zmq_close(w->sock);
        w->sock = NULL;
        return -EINVAL;
    }
    if (zmq_connect(w->sock, w->opts.endpoint) != 0) {
        int rc = -zmq_errno();
        ferry_error("cannot connect to %s: %s", w->opts.endpoint, zmq_strerror(-rc));
        zmq_close(w->sock);
        w->sock = NULL;
        return rc;
    }
    int fd;
    size_t sz = sizeof fd;
    zmq_getsockopt(w->sock, ZMQ_FD, &fd, &sz);
    w->poll = ferry_calloc(1, sizeof *w->poll);
    w->poll->owner = w;
    uv_poll_init(&w->loop, &w->poll->handle, fd);
    w->poll->handle.data = w;
    uv_poll_start(&w->poll->handle, UV_READABLE, s_on_poll);
    w->last_heard_ms = uv_now(&w->loop);
    w->coord_batch = 0; /* until this coordinator's HEARTBEAT says it takes RESULTS */
    s_send_hello(w);
    return 0;
}

static void s_on_reconnect_timer(uv_timer_t *t)
{
    ferry_worker_t *w = t->data;
    if (w->is_stopping)
        return;
    if (s_connect(w) != 0) {
        w->backoff_ms = FERRY_MIN(w->backoff_ms * 2, (uint64_t)FERRY_WORKER_RECONNECT_MAX_MS);
        uv_timer_start(&w->reconnect_timer, s_on_reconnect_timer, w->backoff_ms, 0);
        return;
    }
    s_pump(w);
}

static void s_reconnect(ferry_worker_t *w, const char *why)
{
    ferry_warn("%s; reconnecting to %s in %llu ms", why, w->opts.endpoint, (unsigned long long)w->backoff_ms);
    s_disconnect(w);
    uv_timer_start(&w->reconnect_timer, s_on_reconnect_timer, w->backoff_ms, 0);
    w->backoff_ms = FERRY_MIN(w->backoff_ms * 2, (uint64_t)FERRY_WORKER_RECONNECT_MAX_MS);
}

static void s_stop_loop(ferry_worker_t *w);

static void s_handle(ferry_worker_t *w, ferry_msg_t *m)
{
    w->last_heard_ms = uv_now(&w->loop);
    w->backoff_ms = FERRY_WORKER_RECONNECT_MIN_MS;
    switch (m->cmd) {
    case FERRY_CMD_TASK:
        s_on_task(w, &m->u.task);
        return;
    case FERRY_CMD_TASKS:
        for (size_t i = 0; i < m->u.tasks.n; i++)
            s_on_task(w, &m->u.tasks.v[i]);
        return;
    case FERRY_CMD_ACK:
        s_on_ack(w, m);
        return;
    case FERRY_CMD_HEARTBEAT:
        w->coord_batch = m->u.heartbeat.batch;
        if (m->u.heartbeat.interval_ms && m->u.heartbeat.interval_ms != w->heartbeat_ms) {
            w->heartbeat_ms = m->u.heartbeat.interval_ms;
            uv_timer_start(&w->heartbeat_timer, w->heartbeat_timer.timer_cb, w->heartbeat_ms, w->heartbeat_ms);
        }
        return;
    case FERRY_CMD_ERROR:
        if (m->u.error.code == FERRY_ERRCODE_NOT_REGISTERED) {
            /* the coordinator restarted or declared us lost: register again (once per interval) */
            if (uv_now(&w->loop) - w->last_hello_ms >= w->heartbeat_ms / 2) {
                ferry_info("coordinator does not know this worker; saying HELLO again");
                s_send_hello(w);
            }
        } else {
            ferry_warn("coordinator error %u: %s", m->u.error.code, m->u.error.message ? m->u.error.message : "");
        }
        return;
    case FERRY_CMD_BYE:
        ferry_info("coordinator said BYE (%s)", m->u.bye.reason ? m->u.bye.reason : "");
        if (!w->opts.stay_after_bye && m->u.bye.reason && !strcmp(m->u.bye.reason, FERRY_BYE_FINISHED)) {
            w->exit_code = FERRY_EXIT_OK;
            s_stop_loop(w);
        } else {
            s_reconnect(w, "coordinator left");
        }
        return;
    default:
        ferry_debug("ignoring %s from the coordinator", ferry_cmd_name(m->cmd));
        return;
    }
}

static bool s_has_input(ferry_worker_t *w)
{
    int events = 0;
    size_t sz = sizeof events;
    return w->sock && zmq_getsockopt(w->sock, ZMQ_EVENTS, &events, &sz) == 0 && (events & ZMQ_POLLIN);
}

static void s_pump(ferry_worker_t *w)
{
    if (w->is_in_turn)
        return;
    w->is_in_turn = true;
    do {
        for (int n = 0; n < FERRY_WORKER_MAX_TURN_MSGS && w->sock && !w->is_stopping; n++) {
            ferry_inbound_t in;
            ferry_err_t err = {{0}};
            int rc = ferry_proto_recv(w->sock, false, &in, &err);
            bool is_proto_error = rc <= FERRY_PROTO_EFRAMES && rc >= FERRY_PROTO_EFIELD;
            if (rc == 0)
                s_handle(w, &in.msg);
            else if (is_proto_error)
                ferry_warn("malformed message from the coordinator: %s", err.msg);
            ferry_msg_clear(&in.msg);
            if (rc != 0 && !is_proto_error && rc != -EINTR)
                break; /* EAGAIN: drained; anything else: the heartbeat timer will notice */
        }
        s_start_children(w);
        s_send_ready(w);
    } while (!w->is_stopping && s_has_input(w));
    w->is_in_turn = false;
}

static void s_on_poll(uv_poll_t *h, int status, int events)
{
    s_pump(h->data);
}

static void s_on_heartbeat(uv_timer_t *t)
{
    ferry_worker_t *w = t->data;
    uint64_t now = uv_now(&w->loop);
    if (!w->sock)
        return;
    if (now - w->last_heard_ms > FERRY_WORKER_LIVENESS * w->heartbeat_ms) {
        char why[96];
        snprintf(why, sizeof why, "coordinator silent for %llu ms", (unsigned long long)(now - w->last_heard_ms));
        s_reconnect(w, why);
        return;
    }
    if (now - w->last_sent_ms >= w->heartbeat_ms) {
        ferry_msg_t m = {.cmd = FERRY_CMD_HEARTBEAT};
        m.u.heartbeat.inflight = w->running + w->queued;
        /* what we hold, when complete: an attempt the coordinator leased us up to last_task
         * that is not on it never reached us or lost its result, and is retried */
        uint64_t *held = NULL;
        if (w->last_task) {
            held = s_held_attempts(w, &m.u.heartbeat.n_attempts);
            if (m.u.heartbeat.n_attempts < FERRY_PROTO_MAX_ACKS) {
                m.u.heartbeat.attempts = held;
                m.u.heartbeat.last_task = w->last_task;
            }
        }
        s_send(w, &m);
        free(held);
    }
    s_pump(w);
}

static void s_walk_close(uv_handle_t *h, void *arg)
{
    if (!uv_is_closing(h))
        uv_close(h, h->type == UV_POLL ? s_poll_closed : NULL);
}

static void s_stop_loop(ferry_worker_t *w)
{
    if (w->is_stopping)
        return;
    w->is_stopping = true;
    ferry_exec_kill_all(&w->loop);
    if (w->poll) {
        uv_poll_stop(&w->poll->handle);
        uv_close((uv_handle_t *)&w->poll->handle, s_poll_closed);
        w->poll = NULL;
    }
    uv_timer_stop(&w->heartbeat_timer);
    uv_timer_stop(&w->reconnect_timer);
    uv_close((uv_handle_t *)&w->heartbeat_timer, NULL);
    uv_close((uv_handle_t *)&w->reconnect_timer, NULL);
    uv_close((uv_handle_t *)&w->stop_async, NULL);
    if (w->opts.handle_signals) {
        uv_close((uv_handle_t *)&w->sigint, NULL);
        uv_close((uv_handle_t *)&w->sigterm, NULL);
    }
    /* killed children still close their handles; the loop ends when they are done */
}

static void s_on_stop(ferry_worker_t *w, const char *why)
{
    if (w->is_stopping)
        return;
    ferry_info("%s: stopping (killing %u running task(s))", why, w->running);
    ferry_msg_t m = {.cmd = FERRY_CMD_BYE};
    m.u.bye.reason = (char *)why;
    s_send(w, &m);
    w->exit_code = FERRY_EXIT_INTERRUPTED;
    s_stop_loop(w);
}

static void s_on_stop_async(uv_async_t *a)
{
    s_on_stop(a->data, "stop requested");
}

static void s_on_signal(uv_signal_t *s, int signum)
{
    s_on_stop(s->data, signum == SIGINT ? "SIGINT" : "SIGTERM");
}

/* ---- construction -------------------------------------------------------------------- */
static char **s_strv_dup(const char *const *v, size_t n)
{
    char **out = ferry_calloc(n ? n : 1, sizeof *out);
    for (size_t i = 0; i < n; i++)
        out[i] = ferry_strdup(v[i]);
    return out;
}

ferry_worker_t *ferry_worker_new(const ferry_worker_opts_t *opts, ferry_err_t *err)
{
    ferry_worker_t *w = ferry_calloc(1, sizeof *w);
    w->opts = *opts;
    w->exit_code = FERRY_EXIT_RUNTIME;
    if (!opts->endpoint) {
        ferry_err(err, "no coordinator endpoint");
        goto fail;
    }
    if (opts->name) {
        w->name = ferry_strdup(opts->name);
    } else {
        char host[256] = "host";
        gethostname(host, sizeof host - 1);
        unsigned nonce = 0;
        FILE *f = fopen("/dev/urandom", "rb");
        if (f) {
            if (fread(&nonce, sizeof nonce, 1, f) != 1)
                nonce = (unsigned)getpid() * 2654435761u;
            fclose(f);
        }
        w->name = ferry_asprintf("%s:%d:%08x", host, (int)getpid(), nonce);
    }
    if (opts->exe) {
        w->exe = ferry_strdup(opts->exe);
    } else {
        char path[4096];
        ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
        if (n <= 0) {
            ferry_err(err, "cannot find this program (/proc/self/exe): %s", strerror(errno));
            goto fail;
        }
        path[n] = 0;
        w->exe = ferry_strdup(path);
    }
    ferry_probe_run(&w->probe, NULL);
    w->slots = opts->slots > 0 ? (uint32_t)FERRY_MIN(opts->slots, FERRY_WORKER_MAX_SLOTS)
                               : (uint32_t)(w->probe.cores > 0 ? w->probe.cores : 1);
    uint32_t prefetch = opts->prefetch > 0 ? (uint32_t)opts->prefetch
                        : opts->prefetch < 0 ? 0
                                             : FERRY_WORKER_DEFAULT_PREFETCH;
    w->running_ids = ferry_calloc(w->slots, sizeof *w->running_ids);
    w->capacity = FERRY_MIN(w->slots + prefetch, (uint32_t)FERRY_PROTO_MAX_CREDIT);
    ferry_msg_hello_t *h = &w->caps;
    h->name = w->name;
    h->slots = w->slots;
    h->batch = FERRY_PROTO_MAX_BATCH;
    h->arch = w->probe.arch;
    h->cpu_model = w->probe.cpu_model;
    h->os = w->probe.os;
    h->kernel = w->probe.kernel;
    h->isa = w->probe.isa;
    h->n_isa = FERRY_MIN(w->probe.n_isa, (size_t)FERRY_PROTO_MAX_LIST);
    h->cores = w->probe.cores > 0 ? (uint32_t)w->probe.cores : 0;
    h->memory_bytes = w->probe.memory_bytes;
    h->n_gpus = FERRY_MIN(w->probe.n_gpus, (size_t)FERRY_PROTO_MAX_LIST);
    h->gpus = ferry_calloc(h->n_gpus ? h->n_gpus : 1, sizeof *h->gpus);
    for (size_t i = 0; i < h->n_gpus; i++)
        h->gpus[i] = (ferry_msg_gpu_t){.name = w->probe.gpus[i].name, .memory_bytes = w->probe.gpus[i].memory_bytes,
                                       .driver = w->probe.gpus[i].driver};
    h->tags = s_strv_dup(opts->tags, opts->n_tags);
    h->n_tags = opts->n_tags;
    h->runtimes = s_strv_dup(opts->runtimes, opts->n_runtimes);
    h->n_runtimes = opts->n_runtimes;

    w->ctx = opts->zmq_ctx;
    if (!w->ctx) {
        w->ctx = zmq_ctx_new();
        w->is_own_ctx = true;
    }
    if (uv_loop_init(&w->loop)) {
        ferry_err(err, "cannot create an event loop");
        goto fail;
    }
    w->has_loop = true;
    w->heartbeat_ms = FERRY_WORKER_HEARTBEAT_MS;
    w->backoff_ms = FERRY_WORKER_RECONNECT_MIN_MS;
    uv_timer_init(&w->loop, &w->heartbeat_timer);
    w->heartbeat_timer.data = w;
    uv_timer_init(&w->loop, &w->reconnect_timer);
    w->reconnect_timer.data = w;
    uv_async_init(&w->loop, &w->stop_async, s_on_stop_async);
    w->stop_async.data = w;
    if (opts->handle_signals) {
        uv_signal_init(&w->loop, &w->sigint);
        w->sigint.data = w;
        uv_signal_start(&w->sigint, s_on_signal, SIGINT);
        uv_signal_init(&w->loop, &w->sigterm);
        w->sigterm.data = w;
        uv_signal_start(&w->sigterm, s_on_signal, SIGTERM);
    }
    return w;
fail:
    ferry_worker_destroy(&w);
    return NULL;
}

int ferry_worker_run(ferry_worker_t *w)
{
    ferry_info("worker %s: %u slots, capacity %u, connecting to %s", w->name, w->slots, w->capacity,
               w->opts.endpoint);
    uv_timer_start(&w->heartbeat_timer, s_on_heartbeat, w->heartbeat_ms, w->heartbeat_ms);
    if (s_connect(w) != 0)
        s_reconnect(w, "first connection failed");
    s_pump(w);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    return w->exit_code;
}

void ferry_worker_stop(ferry_worker_t *w)
{
    uv_async_send(&w->stop_async);
}

uint64_t ferry_worker_finished(const ferry_worker_t *w)
{
    return w->finished;
}

void ferry_worker_destroy(ferry_worker_t **w_p)
{
    ferry_worker_t *w = w_p ? *w_p : NULL;
    if (!w)
        return;
    if (w->has_loop) {
        ferry_exec_kill_all(&w->loop);
        uv_walk(&w->loop, s_walk_close, NULL);
        uv_run(&w->loop, UV_RUN_DEFAULT);
        uv_loop_close(&w->loop);
    }
    w->poll = NULL;
    if (w->sock)
        zmq_close(w->sock);
    if (w->is_own_ctx && w->ctx)
        zmq_ctx_term(w->ctx);
    for (s_pending_t *p = w->queue_head, *nx; p; p = nx) {
        nx = p->next;
        free(p->task.id);
        free(p);
    }
    for (s_unacked_t *u = w->unacked, *nx; u; u = nx) {
        nx = u->next;
        ferry_buf_free(&u->body);
        free(u);
    }
    for (size_t i = 0; i < w->caps.n_tags; i++)
        free(w->caps.tags[i]);
    free(w->caps.tags);
    for (size_t i = 0; i < w->caps.n_runtimes; i++)
        free(w->caps.runtimes[i]);
    free(w->caps.runtimes);
    free(w->caps.gpus);
    free(w->running_ids);
    ferry_probe_free(&w->probe);
    free(w->name);
    free(w->exe);
    free(w);
    *w_p = NULL;
}
