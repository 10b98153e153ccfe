/* proto.c -- msgpack codec and ZeroMQ framing of ferry's messages (spec: PROTOCOL.md) */
#include "proto/proto.h"
#include "util/mem.h"

#include <errno.h>
#include <msgpack.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

static const char *s_cmd_names[] = {"?",   "HELLO", "READY",    "TASK",     "HEARTBEAT",  "PROGRESS", "RESULT",
                                    "ACK", "BLOB_GET", "BLOB_PUT", "BLOB_CHUNK", "BYE",      "ERROR",
                                    "TASKS", "RESULTS"};
static const char *s_outcome_names[] = {"ok", "failed", "crashed", "timeout", "garbage", "error", "lost"};
static const char *s_kind_names[] = {"echo", "sleep", "fail", "crash"};

const char *ferry_cmd_name(int cmd)
{
    return cmd >= 1 && cmd <= FERRY_CMD_MAX ? s_cmd_names[cmd] : "?";
}

const char *ferry_outcome_name(int outcome)
{
    return outcome >= 0 && outcome <= FERRY_OUTCOME_MAX ? s_outcome_names[outcome] : "?";
}

const char *ferry_task_kind_name(int kind)
{
    return kind >= 0 && kind <= FERRY_TASK_KIND_MAX ? s_kind_names[kind] : "?";
}

void ferry_proto_header(uint8_t out[FERRY_PROTO_HEADER_LEN], ferry_cmd_t cmd)
{
    out[0] = FERRY_PROTO_SIG0;
    out[1] = FERRY_PROTO_SIG1;
    out[2] = FERRY_PROTO_VERSION;
    out[3] = (uint8_t)cmd;
}

/* ---- structural validation ----------------------------------------------------------- *
 * msgpack-c trusts declared container sizes when it allocates (an array header claiming
 * 4 billion entries costs 5 bytes to send). This walker checks, before msgpack-c sees
 * the bytes, that every declared length fits in what remains of the frame, that nesting
 * stays under FERRY_PROTO_MAX_DEPTH and that the whole body holds at most
 * FERRY_PROTO_MAX_ELEMS objects, so decoding memory is O(frame size). */
typedef struct {
    const uint8_t *p;
    size_t len, pos, elems;
} s_walk_t;

static int s_need(s_walk_t *w, size_t n)
{
    return w->len - w->pos >= n ? 0 : -1;
}

static uint64_t s_be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

static int s_walk_value(s_walk_t *w, int depth)
{
    if (depth > FERRY_PROTO_MAX_DEPTH || ++w->elems > FERRY_PROTO_MAX_ELEMS || s_need(w, 1))
        return -1;
    uint8_t b = w->p[w->pos++];
    uint64_t skip = 0, count = 0;
    int is_map = 0, lenbytes = 0;
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
        return 0;
    if (b >= 0x80 && b <= 0x8f) {
        count = b & 0x0f;
        is_map = 1;
    } else if (b >= 0x90 && b <= 0x9f) {
        count = b & 0x0f;
    } else if (b >= 0xa0 && b <= 0xbf) {
        skip = b & 0x1f;
    } else {
        switch (b) {
        case 0xc4: case 0xd9: lenbytes = 1; break;             /* bin8 str8 */
        case 0xc5: case 0xda: lenbytes = 2; break;             /* bin16 str16 */
        case 0xc6: case 0xdb: lenbytes = 4; break;             /* bin32 str32 */
        case 0xc7: lenbytes = 1; skip = 1; break;              /* ext8 (+type) */
        case 0xc8: lenbytes = 2; skip = 1; break;
        case 0xc9: lenbytes = 4; skip = 1; break;
        case 0xca: skip = 4; break;
        case 0xcb: skip = 8; break;
        case 0xcc: case 0xd0: skip = 1; break;
        case 0xcd: case 0xd1: skip = 2; break;
        case 0xce: case 0xd2: skip = 4; break;
        case 0xcf: case 0xd3: skip = 8; break;
        case 0xd4: skip = 2; break;
        case 0xd5: skip = 3; break;
        case 0xd6: skip = 5; break;
        case 0xd7: skip = 9; break;
        case 0xd8: skip = 17; break;
        case 0xdc: case 0xde:
        case 0xdd: case 0xdf: {
            int n = (b == 0xdc || b == 0xde) ? 2 : 4;
            if (s_need(w, (size_t)n))
                return -1;
            count = s_be(w->p + w->pos, n);
            w->pos += (size_t)n;
            is_map = b >= 0xde;
            break;
        }
        default: return -1; /* 0xc1 is never used */
        }
        if (lenbytes) {
            if (s_need(w, (size_t)lenbytes))
                return -1;
            skip += s_be(w->p + w->pos, lenbytes);
            w->pos += (size_t)lenbytes;
        }
    }
    if (skip) {
        if (skip > w->len - w->pos)
            return -1;
        w->pos += (size_t)skip;
        return 0;
    }
    if (count) {
        uint64_t items = is_map ? count * 2 : count;
        if (items > w->len - w->pos || items > FERRY_PROTO_MAX_ELEMS) /* each item takes >= 1 byte */
            return -1;
        for (uint64_t i = 0; i < items; i++)
            if (s_walk_value(w, depth + 1))
                return -1;
    }
    return 0;
}

int ferry_proto_validate_msgpack(const void *data, size_t len)
{
    if (!data || len == 0 || len > FERRY_PROTO_MAX_BODY)
        return FERRY_PROTO_EBODY;
    s_walk_t w = {.p = data, .len = len};
    if (s_walk_value(&w, 0) || w.pos != len)
        return FERRY_PROTO_EBODY;
    return 0;
}

/* ---- encoding ------------------------------------------------------------------------ */
static int s_buf_write(void *data, const char *buf, size_t len)
{
    ferry_buf_append((ferry_buf_t *)data, buf, len);
    return 0;
}

static void s_key(msgpack_packer *pk, const char *k)
{
    size_t n = strlen(k);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, k, n);
}

static void s_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

static void s_kv_str(msgpack_packer *pk, const char *k, const char *v)
{
    if (!v)
        return;
    s_key(pk, k);
    s_str(pk, v);
}

static void s_kv_u64(msgpack_packer *pk, const char *k, uint64_t v)
{
    s_key(pk, k);
    msgpack_pack_uint64(pk, v);
}

static void s_kv_i64(msgpack_packer *pk, const char *k, int64_t v)
{
    s_key(pk, k);
    msgpack_pack_int64(pk, v);
}

static void s_kv_strlist(msgpack_packer *pk, const char *k, char **v, size_t n)
{
    s_key(pk, k);
    msgpack_pack_array(pk, n);
    for (size_t i = 0; i < n; i++)
        s_str(pk, v[i] ? v[i] : "");
}

static void s_pack_task(msgpack_packer *pk, const ferry_msg_task_t *t)
{
    msgpack_pack_map(pk, 6 + !!t->id);
    s_kv_u64(pk, "attempt", t->attempt);
    s_kv_u64(pk, "task", t->task);
    s_kv_str(pk, "id", t->id);
    s_kv_u64(pk, "kind", t->kind);
    s_kv_i64(pk, "ms", t->sleep_ms);
    s_kv_i64(pk, "timeout_ms", t->timeout_ms);
    s_kv_u64(pk, "memory_mb", t->memory_mb);
}

static void s_pack_result(msgpack_packer *pk, const ferry_msg_result_t *r)
{
    msgpack_pack_map(pk, 6 + !!r->reason + !!r->stderr_tail + !!r->output);
    s_kv_u64(pk, "attempt", r->attempt);
    s_kv_u64(pk, "task", r->task);
    s_kv_u64(pk, "outcome", r->outcome);
    s_kv_i64(pk, "exit_code", r->exit_code);
    s_kv_i64(pk, "signal", r->signal);
    s_kv_i64(pk, "elapsed_ms", r->elapsed_ms);
    s_kv_str(pk, "reason", r->reason);
    s_kv_str(pk, "stderr", r->stderr_tail);
    s_kv_str(pk, "output", r->output);
}

void ferry_proto_batch_body(ferry_cmd_t cmd, const void *items, size_t items_len, size_t n, uint32_t credit,
                            ferry_buf_t *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, s_buf_write);
    if (cmd == FERRY_CMD_RESULTS) {
        msgpack_pack_map(&pk, 2);
        s_kv_u64(&pk, "credit", credit);
        s_key(&pk, "results");
    } else {
        msgpack_pack_map(&pk, 1);
        s_key(&pk, "tasks");
    }
    msgpack_pack_array(&pk, n);
    ferry_buf_append(out, items, items_len);
}

int ferry_msg_encode(const ferry_msg_t *m, ferry_buf_t *body)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, body, s_buf_write);
    switch (m->cmd) {
    case FERRY_CMD_HELLO: {
        const ferry_msg_hello_t *h = &m->u.hello;
        size_t n = 10 + !!h->name + !!h->arch + !!h->cpu_model + !!h->os + !!h->kernel;
        msgpack_pack_map(&pk, n);
        s_kv_str(&pk, "name", h->name);
        s_kv_u64(&pk, "slots", h->slots);
        s_kv_u64(&pk, "credit", h->credit);
        s_kv_u64(&pk, "batch", h->batch);
        s_kv_str(&pk, "arch", h->arch);
        s_kv_str(&pk, "cpu_model", h->cpu_model);
        s_kv_str(&pk, "os", h->os);
        s_kv_str(&pk, "kernel", h->kernel);
        s_kv_u64(&pk, "cores", h->cores);
        s_kv_u64(&pk, "memory", h->memory_bytes);
        s_kv_strlist(&pk, "isa", h->isa, h->n_isa);
        s_kv_strlist(&pk, "tags", h->tags, h->n_tags);
        s_kv_strlist(&pk, "runtimes", h->runtimes, h->n_runtimes);
        s_key(&pk, "attempts");
        msgpack_pack_array(&pk, h->n_attempts);
        for (size_t i = 0; i < h->n_attempts; i++)
            msgpack_pack_uint64(&pk, h->attempts[i]);
        s_key(&pk, "gpus");
        msgpack_pack_array(&pk, h->n_gpus);
        for (size_t i = 0; i < h->n_gpus; i++) {
            const ferry_msg_gpu_t *g = &h->gpus[i];
            msgpack_pack_map(&pk, 1 + !!g->name + !!g->driver);
            s_kv_str(&pk, "name", g->name);
            s_kv_u64(&pk, "memory", g->memory_bytes);
            s_kv_str(&pk, "driver", g->driver);
        }
        return 0;
    }
    case FERRY_CMD_READY:
        msgpack_pack_map(&pk, 1);
        s_kv_u64(&pk, "credit", m->u.ready.credit);
        return 0;
    case FERRY_CMD_TASK:
        s_pack_task(&pk, &m->u.task);
        return 0;
    case FERRY_CMD_TASKS:
        msgpack_pack_map(&pk, 1);
        s_key(&pk, "tasks");
        msgpack_pack_array(&pk, m->u.tasks.n);
        for (size_t i = 0; i < m->u.tasks.n; i++)
            s_pack_task(&pk, &m->u.tasks.v[i]);
        return 0;
    case FERRY_CMD_RESULTS:
        msgpack_pack_map(&pk, 2);
        s_kv_u64(&pk, "credit", m->u.results.credit);
        s_key(&pk, "results");
        msgpack_pack_array(&pk, m->u.results.n);
        for (size_t i = 0; i < m->u.results.n; i++)
            s_pack_result(&pk, &m->u.results.v[i]);
        return 0;
    case FERRY_CMD_HEARTBEAT:
        msgpack_pack_map(&pk, 3 + (m->u.heartbeat.last_task ? 2 : 0));
        s_kv_u64(&pk, "inflight", m->u.heartbeat.inflight);
        s_kv_u64(&pk, "interval_ms", m->u.heartbeat.interval_ms);
        s_kv_u64(&pk, "batch", m->u.heartbeat.batch);
        if (m->u.heartbeat.last_task) {
            s_kv_u64(&pk, "last_task", m->u.heartbeat.last_task);
            s_key(&pk, "attempts");
            msgpack_pack_array(&pk, m->u.heartbeat.n_attempts);
            for (size_t i = 0; i < m->u.heartbeat.n_attempts; i++)
                msgpack_pack_uint64(&pk, m->u.heartbeat.attempts[i]);
        }
        return 0;
    case FERRY_CMD_PROGRESS:
        msgpack_pack_map(&pk, 2);
        s_kv_u64(&pk, "attempt", m->u.progress.attempt);
        s_kv_u64(&pk, "percent", m->u.progress.percent);
        return 0;
    case FERRY_CMD_RESULT:
        s_pack_result(&pk, &m->u.result);
        return 0;
    case FERRY_CMD_ACK:
        msgpack_pack_map(&pk, 1);
        s_key(&pk, "attempts");
        msgpack_pack_array(&pk, m->u.ack.n);
        for (size_t i = 0; i < m->u.ack.n; i++)
            msgpack_pack_uint64(&pk, m->u.ack.attempts[i]);
        return 0;
    case FERRY_CMD_BYE:
        msgpack_pack_map(&pk, !!m->u.bye.reason);
        s_kv_str(&pk, "reason", m->u.bye.reason);
        return 0;
    case FERRY_CMD_ERROR:
        msgpack_pack_map(&pk, 1 + !!m->u.error.message);
        s_kv_u64(&pk, "code", m->u.error.code);
        s_kv_str(&pk, "message", m->u.error.message);
        return 0;
    default:
        return FERRY_PROTO_ECMD;
    }
}

/* ---- decoding ------------------------------------------------------------------------ */
typedef struct {
    ferry_err_t *err;
    const char *cmd;
} s_ctx_t;

static int s_bad(s_ctx_t *c, const char *key, const char *expected)
{
    ferry_err(c->err, "%s: field '%s': expected %s", c->cmd, key, expected);
    return FERRY_PROTO_EFIELD;
}

static int s_get_u64(s_ctx_t *c, const char *key, const msgpack_object *o, uint64_t max, uint64_t *out)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > max) {
        char what[64];
        snprintf(what, sizeof what, "an unsigned integer <= %llu", (unsigned long long)max);
        return s_bad(c, key, what);
    }
    *out = o->via.u64;
    return 0;
}

static int s_get_u32(s_ctx_t *c, const char *key, const msgpack_object *o, uint32_t max, uint32_t *out)
{
    uint64_t v;
    int rc = s_get_u64(c, key, o, max, &v);
    if (!rc)
        *out = (uint32_t)v;
    return rc;
}

static int s_get_i64(s_ctx_t *c, const char *key, const msgpack_object *o, int64_t min, int64_t max, int64_t *out)
{
    int64_t v;
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= (uint64_t)INT64_MAX)
        v = (int64_t)o->via.u64;
    else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        v = o->via.i64;
    else
        return s_bad(c, key, "an integer");
    if (v < min || v > max)
        return s_bad(c, key, "an integer in range");
    *out = v;
    return 0;
}

/* Copy a str (or bin) object into a fresh NUL-terminated string. Embedded NULs are
 * refused in names (is_text false) and replaced by '?' in free text. */
static int s_get_str(s_ctx_t *c, const char *key, const msgpack_object *o, size_t max, bool is_text, char **out)
{
    const char *p;
    size_t n;
    if (o->type == MSGPACK_OBJECT_STR) {
        p = o->via.str.ptr;
        n = o->via.str.size;
    } else if (o->type == MSGPACK_OBJECT_BIN && is_text) {
        p = o->via.bin.ptr;
        n = o->via.bin.size;
    } else if (o->type == MSGPACK_OBJECT_NIL) {
        free(*out);
        *out = NULL;
        return 0;
    } else {
        return s_bad(c, key, "a string");
    }
    if (n > max)
        return s_bad(c, key, "a shorter string");
    if (!is_text && memchr(p, '\0', n))
        return s_bad(c, key, "a string without NUL bytes");
    char *s = ferry_malloc(n + 1); /* not strndup: it would stop at an embedded NUL */
    if (n)
        memcpy(s, p, n);
    s[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\0')
            s[i] = '?';
    free(*out);
    *out = s;
    return 0;
}

static void s_free_strlist(char ***v, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        free((*v)[i]);
    free(*v);
    *v = NULL;
    *n = 0;
}

static int s_get_strlist(s_ctx_t *c, const char *key, const msgpack_object *o, char ***out, size_t *n_out)
{
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size > FERRY_PROTO_MAX_LIST)
        return s_bad(c, key, "an array of at most 256 strings");
    s_free_strlist(out, n_out);
    size_t n = o->via.array.size;
    char **v = ferry_calloc(n ? n : 1, sizeof *v);
    for (size_t i = 0; i < n; i++) {
        int rc = s_get_str(c, key, &o->via.array.ptr[i], FERRY_PROTO_MAX_STR, false, &v[i]);
        if (rc) {
            s_free_strlist(&v, &i);
            return rc;
        }
    }
    *out = v;
    *n_out = n;
    return 0;
}

static int s_get_u64list(s_ctx_t *c, const char *key, const msgpack_object *v, uint64_t **out, size_t *n_out)
{
    if (v->type != MSGPACK_OBJECT_ARRAY || v->via.array.size > FERRY_PROTO_MAX_ACKS)
        return s_bad(c, key, "an array of at most 4096 attempt ids");
    free(*out);
    *n_out = 0;
    *out = ferry_calloc(v->via.array.size ? v->via.array.size : 1, sizeof(uint64_t));
    for (uint32_t i = 0; i < v->via.array.size; i++) {
        int rc = s_get_u64(c, key, &v->via.array.ptr[i], INT64_MAX, &(*out)[i]);
        if (rc)
            return rc;
        *n_out = i + 1;
    }
    return 0;
}

static bool s_key_is(const msgpack_object *k, const char *name)
{
    size_t n = strlen(name);
    return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n && memcmp(k->via.str.ptr, name, n) == 0;
}

static void s_free_gpus(ferry_msg_hello_t *h)
{
    for (size_t i = 0; i < h->n_gpus; i++) {
        free(h->gpus[i].name);
        free(h->gpus[i].driver);
    }
    free(h->gpus);
    h->gpus = NULL;
    h->n_gpus = 0;
}

static int s_get_gpus(s_ctx_t *c, const msgpack_object *o, ferry_msg_hello_t *h)
{
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size > FERRY_PROTO_MAX_LIST)
        return s_bad(c, "gpus", "an array of at most 256 maps");
    s_free_gpus(h);
    h->gpus = ferry_calloc(o->via.array.size ? o->via.array.size : 1, sizeof *h->gpus);
    for (size_t i = 0; i < o->via.array.size; i++) {
        const msgpack_object *g = &o->via.array.ptr[i];
        h->n_gpus = i + 1;
        if (g->type != MSGPACK_OBJECT_MAP)
            return s_bad(c, "gpus", "maps");
        for (uint32_t k = 0; k < g->via.map.size; k++) {
            const msgpack_object *key = &g->via.map.ptr[k].key, *val = &g->via.map.ptr[k].val;
            int rc = 0;
            if (s_key_is(key, "name"))
                rc = s_get_str(c, "gpus.name", val, FERRY_PROTO_MAX_STR, false, &h->gpus[i].name);
            else if (s_key_is(key, "driver"))
                rc = s_get_str(c, "gpus.driver", val, FERRY_PROTO_MAX_STR, false, &h->gpus[i].driver);
            else if (s_key_is(key, "memory"))
                rc = s_get_u64(c, "gpus.memory", val, UINT64_MAX, &h->gpus[i].memory_bytes);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static int s_decode_field(s_ctx_t *c, ferry_msg_t *m, const msgpack_object *k, const msgpack_object *v);
static int s_check_required(s_ctx_t *c, const ferry_msg_t *m);

static void s_free_batch(ferry_msg_t *m)
{
    if (m->cmd == FERRY_CMD_TASKS) {
        for (size_t i = 0; i < m->u.tasks.n; i++)
            free(m->u.tasks.v[i].id);
        free(m->u.tasks.v);
        m->u.tasks.v = NULL;
        m->u.tasks.n = 0;
    } else if (m->cmd == FERRY_CMD_RESULTS) {
        for (size_t i = 0; i < m->u.results.n; i++) {
            free(m->u.results.v[i].reason);
            free(m->u.results.v[i].stderr_tail);
            free(m->u.results.v[i].output);
        }
        free(m->u.results.v);
        m->u.results.v = NULL;
        m->u.results.n = 0;
    }
}

/* TASKS' "tasks" / RESULTS' "results": an array of at most FERRY_PROTO_MAX_BATCH maps,
 * each decoded and checked exactly like the body of one TASK / RESULT (item_cmd). */
static int s_get_batch(s_ctx_t *c, ferry_cmd_t item_cmd, const msgpack_object *o, ferry_msg_t *m)
{
    const char *key = item_cmd == FERRY_CMD_TASK ? "tasks" : "results";
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size > FERRY_PROTO_MAX_BATCH)
        return s_bad(c, key, "an array of at most 256 maps");
    s_free_batch(m);
    size_t n = o->via.array.size;
    if (item_cmd == FERRY_CMD_TASK)
        m->u.tasks.v = ferry_calloc(n ? n : 1, sizeof *m->u.tasks.v);
    else
        m->u.results.v = ferry_calloc(n ? n : 1, sizeof *m->u.results.v);
    for (size_t i = 0; i < n; i++) {
        const msgpack_object *item = &o->via.array.ptr[i];
        if (item->type != MSGPACK_OBJECT_MAP)
            return s_bad(c, key, "maps");
        ferry_msg_t one;
        memset(&one, 0, sizeof one);
        one.cmd = item_cmd;
        int rc = 0;
        for (uint32_t f = 0; f < item->via.map.size && !rc; f++)
            rc = s_decode_field(c, &one, &item->via.map.ptr[f].key, &item->via.map.ptr[f].val);
        if (!rc)
            rc = s_check_required(c, &one);
        if (rc) {
            ferry_msg_clear(&one);
            return rc;
        }
        if (item_cmd == FERRY_CMD_TASK)
            m->u.tasks.v[m->u.tasks.n++] = one.u.task;
        else
            m->u.results.v[m->u.results.n++] = one.u.result;
    }
    return 0;
}

static int s_decode_field(s_ctx_t *c, ferry_msg_t *m, const msgpack_object *k, const msgpack_object *v)
{
    switch (m->cmd) {
    case FERRY_CMD_HELLO: {
        ferry_msg_hello_t *h = &m->u.hello;
        if (s_key_is(k, "name"))
            return s_get_str(c, "name", v, FERRY_PROTO_MAX_STR, false, &h->name);
        if (s_key_is(k, "slots"))
            return s_get_u32(c, "slots", v, FERRY_PROTO_MAX_CREDIT, &h->slots);
        if (s_key_is(k, "credit"))
            return s_get_u32(c, "credit", v, FERRY_PROTO_MAX_CREDIT, &h->credit);
        if (s_key_is(k, "batch"))
            return s_get_u32(c, "batch", v, FERRY_PROTO_MAX_BATCH, &h->batch);
        if (s_key_is(k, "arch"))
            return s_get_str(c, "arch", v, FERRY_PROTO_MAX_STR, false, &h->arch);
        if (s_key_is(k, "cpu_model"))
            return s_get_str(c, "cpu_model", v, FERRY_PROTO_MAX_STR, false, &h->cpu_model);
        if (s_key_is(k, "os"))
            return s_get_str(c, "os", v, FERRY_PROTO_MAX_STR, false, &h->os);
        if (s_key_is(k, "kernel"))
            return s_get_str(c, "kernel", v, FERRY_PROTO_MAX_STR, false, &h->kernel);
        if (s_key_is(k, "cores"))
            return s_get_u32(c, "cores", v, UINT32_MAX, &h->cores);
        if (s_key_is(k, "memory"))
            return s_get_u64(c, "memory", v, UINT64_MAX, &h->memory_bytes);
        if (s_key_is(k, "isa"))
            return s_get_strlist(c, "isa", v, &h->isa, &h->n_isa);
        if (s_key_is(k, "tags"))
            return s_get_strlist(c, "tags", v, &h->tags, &h->n_tags);
        if (s_key_is(k, "runtimes"))
            return s_get_strlist(c, "runtimes", v, &h->runtimes, &h->n_runtimes);
        if (s_key_is(k, "gpus"))
            return s_get_gpus(c, v, h);
        if (s_key_is(k, "attempts"))
            return s_get_u64list(c, "attempts", v, &h->attempts, &h->n_attempts);
        return 0;
    }
    case FERRY_CMD_READY:
        if (s_key_is(k, "credit"))
            return s_get_u32(c, "credit", v, FERRY_PROTO_MAX_CREDIT, &m->u.ready.credit);
        return 0;
    case FERRY_CMD_TASK: {
        ferry_msg_task_t *t = &m->u.task;
        if (s_key_is(k, "attempt"))
            return s_get_u64(c, "attempt", v, INT64_MAX, &t->attempt);
        if (s_key_is(k, "task"))
            return s_get_u64(c, "task", v, INT64_MAX, &t->task);
        if (s_key_is(k, "id"))
            return s_get_str(c, "id", v, FERRY_PROTO_MAX_STR, false, &t->id);
        if (s_key_is(k, "kind"))
            return s_get_u32(c, "kind", v, FERRY_TASK_KIND_MAX, &t->kind);
        if (s_key_is(k, "ms"))
            return s_get_i64(c, "ms", v, 0, INT64_MAX / 2, &t->sleep_ms);
        if (s_key_is(k, "timeout_ms"))
            return s_get_i64(c, "timeout_ms", v, 0, INT64_MAX / 2, &t->timeout_ms);
        if (s_key_is(k, "memory_mb"))
            return s_get_u64(c, "memory_mb", v, UINT64_MAX / (1024 * 1024), &t->memory_mb);
        return 0;
    }
    case FERRY_CMD_HEARTBEAT:
        if (s_key_is(k, "inflight"))
            return s_get_u32(c, "inflight", v, UINT32_MAX, &m->u.heartbeat.inflight);
        if (s_key_is(k, "interval_ms"))
            return s_get_u32(c, "interval_ms", v, 3600 * 1000, &m->u.heartbeat.interval_ms);
        if (s_key_is(k, "batch"))
            return s_get_u32(c, "batch", v, FERRY_PROTO_MAX_BATCH, &m->u.heartbeat.batch);
        if (s_key_is(k, "last_task"))
            return s_get_u64(c, "last_task", v, INT64_MAX, &m->u.heartbeat.last_task);
        if (s_key_is(k, "attempts"))
            return s_get_u64list(c, "attempts", v, &m->u.heartbeat.attempts, &m->u.heartbeat.n_attempts);
        return 0;
    case FERRY_CMD_PROGRESS:
        if (s_key_is(k, "attempt"))
            return s_get_u64(c, "attempt", v, INT64_MAX, &m->u.progress.attempt);
        if (s_key_is(k, "percent"))
            return s_get_u32(c, "percent", v, 100, &m->u.progress.percent);
        return 0;
    case FERRY_CMD_RESULT: {
        ferry_msg_result_t *r = &m->u.result;
        int64_t tmp;
        int rc;
        if (s_key_is(k, "attempt"))
            return s_get_u64(c, "attempt", v, INT64_MAX, &r->attempt);
        if (s_key_is(k, "task"))
            return s_get_u64(c, "task", v, INT64_MAX, &r->task);
        if (s_key_is(k, "outcome"))
            return s_get_u32(c, "outcome", v, FERRY_OUTCOME_ERROR, &r->outcome); /* LOST is not a worker's */
        if (s_key_is(k, "exit_code")) {
            if (!(rc = s_get_i64(c, "exit_code", v, INT32_MIN, INT32_MAX, &tmp)))
                r->exit_code = (int32_t)tmp;
            return rc;
        }
        if (s_key_is(k, "signal")) {
            if (!(rc = s_get_i64(c, "signal", v, 0, 1024, &tmp)))
                r->signal = (int32_t)tmp;
            return rc;
        }
        if (s_key_is(k, "elapsed_ms"))
            return s_get_i64(c, "elapsed_ms", v, 0, INT64_MAX / 2, &r->elapsed_ms);
        if (s_key_is(k, "reason"))
            return s_get_str(c, "reason", v, FERRY_PROTO_MAX_STR, true, &r->reason);
        if (s_key_is(k, "stderr"))
            return s_get_str(c, "stderr", v, FERRY_PROTO_MAX_TEXT, true, &r->stderr_tail);
        if (s_key_is(k, "output"))
            return s_get_str(c, "output", v, FERRY_PROTO_MAX_TEXT, true, &r->output);
        return 0;
    }
    case FERRY_CMD_ACK:
        if (s_key_is(k, "attempts"))
            return s_get_u64list(c, "attempts", v, &m->u.ack.attempts, &m->u.ack.n);
        return 0;
    case FERRY_CMD_BYE:
        if (s_key_is(k, "reason"))
            return s_get_str(c, "reason", v, FERRY_PROTO_MAX_STR, true, &m->u.bye.reason);
        return 0;
    case FERRY_CMD_TASKS:
        if (s_key_is(k, "tasks"))
            return s_get_batch(c, FERRY_CMD_TASK, v, m);
        return 0;
    case FERRY_CMD_RESULTS:
        if (s_key_is(k, "credit"))
            return s_get_u32(c, "credit", v, FERRY_PROTO_MAX_CREDIT, &m->u.results.credit);
        if (s_key_is(k, "results"))
            return s_get_batch(c, FERRY_CMD_RESULT, v, m);
        return 0;
    case FERRY_CMD_ERROR:
        if (s_key_is(k, "code"))
            return s_get_u32(c, "code", v, UINT32_MAX, &m->u.error.code);
        if (s_key_is(k, "message"))
            return s_get_str(c, "message", v, FERRY_PROTO_MAX_STR, true, &m->u.error.message);
        return 0;
    default:
        return FERRY_PROTO_ECMD;
    }
}

/* One msgpack zone per thread, cleared after each message: decoding then costs no
 * malloc/free of an 8 KiB chunk per message (it showed in profiles). */
static pthread_key_t s_zone_key;
static pthread_once_t s_zone_once = PTHREAD_ONCE_INIT;

static void s_zone_free(void *z)
{
    msgpack_zone_destroy(z);
    free(z);
}

static void s_zone_key_init(void)
{
    pthread_key_create(&s_zone_key, s_zone_free);
}

static msgpack_zone *s_zone(void)
{
    pthread_once(&s_zone_once, s_zone_key_init);
    msgpack_zone *z = pthread_getspecific(s_zone_key);
    if (!z) {
        z = ferry_malloc(sizeof *z);
        if (!msgpack_zone_init(z, MSGPACK_ZONE_CHUNK_SIZE)) {
            free(z);
            return NULL;
        }
        pthread_setspecific(s_zone_key, z);
    }
    return z;
}

/* Required fields per command, checked after decoding. */
static int s_check_required(s_ctx_t *c, const ferry_msg_t *m)
{
    switch (m->cmd) {
    case FERRY_CMD_HELLO:
        if (!m->u.hello.name || !m->u.hello.name[0])
            return s_bad(c, "name", "a non-empty worker name");
        return 0;
    case FERRY_CMD_TASK:
        if (!m->u.task.attempt || !m->u.task.task)
            return s_bad(c, "attempt/task", "non-zero ids");
        return 0;
    case FERRY_CMD_RESULT:
        if (!m->u.result.attempt || !m->u.result.task)
            return s_bad(c, "attempt/task", "non-zero ids");
        return 0;
    default:
        return 0;
    }
}

int ferry_msg_decode(const void *header, size_t header_len, const void *body, size_t body_len, ferry_msg_t *out,
                     ferry_err_t *err)
{
    memset(out, 0, sizeof *out);
    const uint8_t *h = header;
    if (!h || header_len != FERRY_PROTO_HEADER_LEN || h[0] != FERRY_PROTO_SIG0 || h[1] != FERRY_PROTO_SIG1) {
        ferry_err(err, "header: expected 4 bytes 'F' 'Y' <version> <command>, got %zu bytes", header_len);
        return FERRY_PROTO_ESIG;
    }
    out->version = h[2];
    out->cmd = (ferry_cmd_t)h[3];
    if (h[2] != FERRY_PROTO_VERSION) {
        ferry_err(err, "header: protocol version %u, this build speaks %u", h[2], FERRY_PROTO_VERSION);
        return FERRY_PROTO_EVERSION;
    }
    if (h[3] < 1 || h[3] > FERRY_CMD_MAX || h[3] == FERRY_CMD_BLOB_GET || h[3] == FERRY_CMD_BLOB_PUT ||
        h[3] == FERRY_CMD_BLOB_CHUNK) {
        ferry_err(err, "header: command %u is unknown or not supported by this build", h[3]);
        return FERRY_PROTO_ECMD;
    }
    if (ferry_proto_validate_msgpack(body, body_len)) {
        ferry_err(err, "%s: body is not one msgpack value within limits (%zu bytes)", ferry_cmd_name(h[3]),
                  body_len);
        return FERRY_PROTO_EBODY;
    }
    msgpack_zone *zone = s_zone();
    if (!zone) {
        ferry_err(err, "out of memory for a msgpack zone");
        return FERRY_PROTO_EBODY;
    }
    msgpack_object root;
    size_t off = 0;
    s_ctx_t c = {.err = err, .cmd = ferry_cmd_name(h[3])};
    int rc = 0;
    if (msgpack_unpack(body, body_len, &off, zone, &root) != MSGPACK_UNPACK_SUCCESS) {
        ferry_err(err, "%s: msgpack-c could not unpack the body", c.cmd);
        rc = FERRY_PROTO_EBODY;
        goto out;
    }
    if (root.type != MSGPACK_OBJECT_MAP) {
        ferry_err(err, "%s: body: expected a map", c.cmd);
        rc = FERRY_PROTO_EBODY;
        goto out;
    }
    for (uint32_t i = 0; i < root.via.map.size && !rc; i++)
        rc = s_decode_field(&c, out, &root.via.map.ptr[i].key, &root.via.map.ptr[i].val);
    if (!rc)
        rc = s_check_required(&c, out);
out:
    msgpack_zone_clear(zone);
    return rc;
}

void ferry_msg_clear(ferry_msg_t *m)
{
    switch (m->cmd) {
    case FERRY_CMD_HELLO: {
        ferry_msg_hello_t *h = &m->u.hello;
        free(h->name);
        free(h->arch);
        free(h->cpu_model);
        free(h->os);
        free(h->kernel);
        s_free_strlist(&h->isa, &h->n_isa);
        s_free_strlist(&h->tags, &h->n_tags);
        s_free_strlist(&h->runtimes, &h->n_runtimes);
        s_free_gpus(h);
        free(h->attempts);
        break;
    }
    case FERRY_CMD_TASK:
        free(m->u.task.id);
        break;
    case FERRY_CMD_RESULT:
        free(m->u.result.reason);
        free(m->u.result.stderr_tail);
        free(m->u.result.output);
        break;
    case FERRY_CMD_ACK:
        free(m->u.ack.attempts);
        break;
    case FERRY_CMD_BYE:
        free(m->u.bye.reason);
        break;
    case FERRY_CMD_ERROR:
        free(m->u.error.message);
        break;
    case FERRY_CMD_TASKS:
    case FERRY_CMD_RESULTS:
        s_free_batch(m);
        break;
    case FERRY_CMD_HEARTBEAT:
        free(m->u.heartbeat.attempts);
        break;
    default:
        break;
    }
    memset(m, 0, sizeof *m);
}

/* ---- ZeroMQ -------------------------------------------------------------------------- */
/* One frame. libzmq processes its command mailbox inside every send and recv, and a signal
 * (SIGCHLD of a finished child, a timer) can interrupt that even with ZMQ_DONTWAIT: EINTR
 * says nothing was done, so do it again. Giving up instead would drop the frame, and a
 * frame after the first would leave a multipart message half sent or half read. */
static int s_send_frame(void *sock, const void *data, size_t len, int flags)
{
    while (zmq_send(sock, data, len, flags) < 0)
        if (zmq_errno() != EINTR)
            return -zmq_errno();
    return 0;
}

static int s_recv_frame(zmq_msg_t *part, void *sock, int flags)
{
    while (zmq_msg_recv(part, sock, flags) < 0)
        if (zmq_errno() != EINTR)
            return -zmq_errno();
    return 0;
}

int ferry_proto_send_raw(void *sock, const void *identity, size_t identity_len, ferry_cmd_t cmd, const void *body,
                         size_t body_len)
{
    uint8_t hdr[FERRY_PROTO_HEADER_LEN];
    ferry_proto_header(hdr, cmd);
    int rc;
    if (identity && (rc = s_send_frame(sock, identity, identity_len, ZMQ_SNDMORE | ZMQ_DONTWAIT)))
        return rc;
    if ((rc = s_send_frame(sock, hdr, sizeof hdr, ZMQ_SNDMORE | ZMQ_DONTWAIT)))
        return rc;
    return s_send_frame(sock, body, body_len, ZMQ_DONTWAIT);
}

int ferry_proto_send(void *sock, const void *identity, size_t identity_len, const ferry_msg_t *m)
{
    ferry_buf_t body = FERRY_BUF_INIT;
    int rc = ferry_msg_encode(m, &body);
    if (!rc)
        rc = ferry_proto_send_raw(sock, identity, identity_len, m->cmd, body.data, body.len);
    ferry_buf_free(&body);
    return rc;
}

int ferry_proto_send_error(void *sock, const void *identity, size_t identity_len, ferry_errcode_t code,
                           const char *fmt, ...)
{
    char text[FERRY_PROTO_MAX_STR];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    ferry_msg_t m = {.cmd = FERRY_CMD_ERROR};
    m.u.error.code = code;
    m.u.error.message = text;
    return ferry_proto_send(sock, identity, identity_len, &m);
}

int ferry_proto_recv(void *sock, bool has_identity, ferry_inbound_t *in, ferry_err_t *err)
{
    memset(in, 0, sizeof *in);
    zmq_msg_t parts[2];
    size_t nparts = 0, extra = 0;
    int rc = 0;
    if (has_identity) {
        zmq_msg_t id;
        zmq_msg_init(&id);
        if ((rc = s_recv_frame(&id, sock, ZMQ_DONTWAIT))) {
            zmq_msg_close(&id);
            return rc;
        }
        size_t n = zmq_msg_size(&id);
        in->identity_len = n > FERRY_PROTO_MAX_IDENTITY ? FERRY_PROTO_MAX_IDENTITY : n;
        memcpy(in->identity, zmq_msg_data(&id), in->identity_len);
        bool more = zmq_msg_more(&id);
        zmq_msg_close(&id);
        if (!more) {
            ferry_err(err, "message: expected identity, header and body frames, got 1 frame");
            return FERRY_PROTO_EFRAMES;
        }
    }
    /* Read every frame of the message (a multipart message arrives whole); keep the
     * first two, count the rest, so a malformed message never desynchronises us. */
    for (;;) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        int flags = (nparts == 0 && extra == 0 && !has_identity) ? ZMQ_DONTWAIT : 0;
        if ((rc = s_recv_frame(&part, sock, flags))) {
            zmq_msg_close(&part);
            break;
        }
        bool more = zmq_msg_more(&part);
        if (nparts < 2)
            parts[nparts++] = part;
        else {
            extra++;
            zmq_msg_close(&part);
        }
        if (!more)
            break;
    }
    if (rc == 0 && (nparts != 2 || extra)) {
        ferry_err(err, "message: expected header and body frames, got %zu", nparts + extra);
        rc = FERRY_PROTO_EFRAMES;
    } else if (rc == 0 && zmq_msg_size(&parts[1]) > FERRY_PROTO_MAX_BODY) {
        ferry_err(err, "message: body of %zu bytes exceeds %u", zmq_msg_size(&parts[1]), FERRY_PROTO_MAX_BODY);
        rc = FERRY_PROTO_EFRAMES;
    } else if (rc == 0) {
        rc = ferry_msg_decode(zmq_msg_data(&parts[0]), zmq_msg_size(&parts[0]), zmq_msg_data(&parts[1]),
                              zmq_msg_size(&parts[1]), &in->msg, err);
    }
    for (size_t i = 0; i < nparts; i++)
        zmq_msg_close(&parts[i]);
    return rc;
}
