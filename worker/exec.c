/* exec.c -- child-process executor: uv_spawn, deadline, bounded output capture, outcome */
#include "worker/exec.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/mem.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct s_child {
    uv_process_t proc;
    uv_pipe_t out, err;
    uv_timer_t timer;
    int open_handles;
    bool has_exited, is_timed_out, is_out_truncated;
    int64_t exit_status;
    int term_signal;
    int spawn_error;
    uv_loop_t *loop;
    uint64_t start_ms;
    int64_t timeout_ms;
    ferry_buf_t out_buf, err_buf;
    uint64_t attempt, task;
    ferry_exec_done_fn cb;
    void *ud;
    struct s_child *next;
} s_child_t;

/* Children per loop, for kill_all (a worker owns one loop; few children). */
typedef struct s_registry {
    uv_loop_t *loop;
    s_child_t *children;
    struct s_registry *next;
} s_registry_t;
static s_registry_t *s_registries;
static uv_mutex_t s_reg_lock;
static uv_once_t s_reg_once = UV_ONCE_INIT;

static void s_reg_init(void)
{
    uv_mutex_init(&s_reg_lock);
}

static s_registry_t *s_registry(uv_loop_t *loop, bool create)
{
    for (s_registry_t *r = s_registries; r; r = r->next)
        if (r->loop == loop)
            return r;
    if (!create)
        return NULL;
    s_registry_t *r = ferry_calloc(1, sizeof *r);
    r->loop = loop;
    r->next = s_registries;
    s_registries = r;
    return r;
}

static void s_register(s_child_t *ch, bool add)
{
    uv_once(&s_reg_once, s_reg_init);
    uv_mutex_lock(&s_reg_lock);
    s_registry_t *r = s_registry(ch->loop, add);
    if (r) {
        if (add) {
            ch->next = r->children;
            r->children = ch;
        } else {
            for (s_child_t **pp = &r->children; *pp; pp = &(*pp)->next)
                if (*pp == ch) {
                    *pp = ch->next;
                    break;
                }
        }
    }
    uv_mutex_unlock(&s_reg_lock);
}

void ferry_exec_kill_all(uv_loop_t *loop)
{
    uv_once(&s_reg_once, s_reg_init);
    uv_mutex_lock(&s_reg_lock);
    s_registry_t *r = s_registry(loop, false);
    for (s_child_t *ch = r ? r->children : NULL; ch; ch = ch->next)
        if (!ch->has_exited)
            uv_process_kill(&ch->proc, SIGKILL);
    uv_mutex_unlock(&s_reg_lock);
}

void ferry_exec_judge(ferry_msg_result_t *r, bool is_timed_out, int64_t timeout_ms, int64_t exit_status,
                      int term_signal, const char *out, size_t out_len, bool is_out_truncated, const char *err_tail)
{
    r->exit_code = (int32_t)exit_status;
    r->signal = term_signal;
    r->stderr_tail = err_tail && *err_tail ? ferry_strdup(err_tail) : NULL;
    if (is_timed_out) {
        r->outcome = FERRY_OUTCOME_TIMEOUT;
        r->reason = ferry_asprintf("deadline of %lld ms passed; child killed", (long long)timeout_ms);
        return;
    }
    if (term_signal) {
        r->outcome = FERRY_OUTCOME_CRASHED;
        r->reason = ferry_asprintf("child killed by signal %d (%s)", term_signal, strsignal(term_signal));
        return;
    }
    if (exit_status != 0) {
        r->outcome = FERRY_OUTCOME_FAILED;
        r->reason = ferry_asprintf("child exited with status %lld", (long long)exit_status);
        return;
    }
    size_t plen = strlen(FERRY_EXEC_RESULT_PREFIX);
    const char *nl = out ? memchr(out, '\n', out_len) : NULL;
    bool is_ok = !is_out_truncated && nl && nl == out + out_len - 1 && out_len - 1 >= plen &&
                 memcmp(out, FERRY_EXEC_RESULT_PREFIX, plen) == 0 && (out_len - 1 == plen || out[plen] == ' ') &&
                 !memchr(out, '\0', out_len);
    if (!is_ok) {
        r->outcome = FERRY_OUTCOME_GARBAGE;
        r->reason = ferry_asprintf("child exited 0 but its output (%zu bytes%s) is not one '%s' line", out_len,
                                   is_out_truncated ? ", truncated" : "", FERRY_EXEC_RESULT_PREFIX);
        return;
    }
    r->outcome = FERRY_OUTCOME_OK;
    if (out_len - 1 > plen + 1)
        r->output = ferry_strndup(out + plen + 1, out_len - 1 - plen - 1);
}

static void s_finish(s_child_t *ch)
{
    ferry_msg_result_t r = {.attempt = ch->attempt, .task = ch->task};
    r.elapsed_ms = (int64_t)(uv_now(ch->loop) - ch->start_ms);
    if (ch->spawn_error) {
        r.outcome = FERRY_OUTCOME_ERROR;
        r.reason = ferry_asprintf("cannot start the child process: %s", uv_strerror(ch->spawn_error));
    } else
        ferry_exec_judge(&r, ch->is_timed_out, ch->timeout_ms, ch->exit_status, ch->term_signal, ch->out_buf.data,
                     ch->out_buf.len, ch->is_out_truncated, ch->err_buf.data);
    ch->cb(ch->ud, &r);
    ferry_buf_free(&ch->out_buf);
    ferry_buf_free(&ch->err_buf);
    free(ch);
}

static void s_on_close(uv_handle_t *h)
{
    s_child_t *ch = h->data;
    if (--ch->open_handles == 0)
        s_finish(ch);
}

static void s_close(s_child_t *ch, uv_handle_t *h)
{
    if (!uv_is_closing(h))
        uv_close(h, s_on_close);
}

static void s_maybe_done(s_child_t *ch)
{
    if (ch->has_exited && uv_is_closing((uv_handle_t *)&ch->out) && uv_is_closing((uv_handle_t *)&ch->err))
        s_close(ch, (uv_handle_t *)&ch->timer);
}

static void s_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    static __thread char scratch[16384];
    buf->base = scratch;
    buf->len = sizeof scratch;
}

static void s_on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    s_child_t *ch = s->data;
    if (n < 0) {
        s_close(ch, (uv_handle_t *)s);
        s_maybe_done(ch);
        return;
    }
    if (s == (uv_stream_t *)&ch->out) {
        size_t room = FERRY_EXEC_MAX_STDOUT - ch->out_buf.len;
        if ((size_t)n > room)
            ch->is_out_truncated = true;
        ferry_buf_append(&ch->out_buf, buf->base, FERRY_MIN((size_t)n, room));
    } else {
        ferry_buf_append(&ch->err_buf, buf->base, (size_t)n);
        if (ch->err_buf.len > 2 * FERRY_EXEC_STDERR_TAIL) { /* keep the tail: O(tail) per overflow */
            memmove(ch->err_buf.data, ch->err_buf.data + ch->err_buf.len - FERRY_EXEC_STDERR_TAIL,
                    FERRY_EXEC_STDERR_TAIL);
            ch->err_buf.len = FERRY_EXEC_STDERR_TAIL;
            ch->err_buf.data[ch->err_buf.len] = 0;
        }
    }
}

static void s_on_timer(uv_timer_t *t)
{
    s_child_t *ch = t->data;
    if (!ch->has_exited) {
        ch->is_timed_out = true;
        uv_process_kill(&ch->proc, SIGKILL);
        return;
    }
    /* pipe grace passed: a grandchild may hold them open; stop waiting */
    s_close(ch, (uv_handle_t *)&ch->out);
    s_close(ch, (uv_handle_t *)&ch->err);
    s_maybe_done(ch);
}

static void s_on_exit(uv_process_t *p, int64_t exit_status, int term_signal)
{
    s_child_t *ch = p->data;
    ch->has_exited = true;
    ch->exit_status = exit_status;
    ch->term_signal = term_signal;
    s_register(ch, false);
    s_close(ch, (uv_handle_t *)p);
    uv_timer_stop(&ch->timer);
    uv_timer_start(&ch->timer, s_on_timer, FERRY_EXEC_PIPE_GRACE_MS, 0);
    s_maybe_done(ch);
}

int ferry_exec_start(uv_loop_t *loop, const char *exe, const ferry_msg_task_t *task, ferry_exec_done_fn cb, void *ud)
{
    s_child_t *ch = ferry_calloc(1, sizeof *ch);
    ch->attempt = task->attempt;
    ch->task = task->task;
    ch->cb = cb;
    ch->ud = ud;
    ch->timeout_ms = task->timeout_ms;
    ch->start_ms = uv_now(loop);
    ch->loop = loop;
    char ms[32], mem[32];
    snprintf(ms, sizeof ms, "%lld", (long long)task->sleep_ms);
    snprintf(mem, sizeof mem, "%llu", (unsigned long long)task->memory_mb);
    char *args[] = {(char *)exe, "exec", "--kind", (char *)ferry_task_kind_name((int)task->kind), "--ms", ms,
                    "--memory-mb", mem, "--task", task->id ? task->id : "?", NULL};
    uv_pipe_init(loop, &ch->out, 0);
    uv_pipe_init(loop, &ch->err, 0);
    uv_timer_init(loop, &ch->timer);
    ch->out.data = ch->err.data = ch->timer.data = ch->proc.data = ch;
    uv_stdio_container_t stdio[3] = {
        {.flags = UV_IGNORE},
        {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&ch->out},
        {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&ch->err},
    };
    uv_process_options_t po = {.exit_cb = s_on_exit, .file = exe, .args = args, .stdio = stdio, .stdio_count = 3};
    ch->open_handles = 4;
    int rc = uv_spawn(loop, &ch->proc, &po);
    if (rc) {
        /* the handles must still be closed; the result (ERROR) arrives from s_finish */
        ch->spawn_error = rc;
        ch->has_exited = true;
        s_close(ch, (uv_handle_t *)&ch->proc);
        s_close(ch, (uv_handle_t *)&ch->out);
        s_close(ch, (uv_handle_t *)&ch->err);
        s_close(ch, (uv_handle_t *)&ch->timer);
        return 0;
    }
    s_register(ch, true);
    uv_read_start((uv_stream_t *)&ch->out, s_alloc, s_on_read);
    uv_read_start((uv_stream_t *)&ch->err, s_alloc, s_on_read);
    if (task->timeout_ms > 0)
        uv_timer_start(&ch->timer, s_on_timer, (uint64_t)task->timeout_ms, 0);
    return 0;
}
