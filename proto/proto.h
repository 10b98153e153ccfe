/* proto.h -- ferry's wire protocol: message structs and their msgpack codec
 *
 * A message is two ZeroMQ frames (after the ROUTER's identity frame, if any):
 *   header  4 bytes: 'F' 'Y' <version> <command>
 *   body    one msgpack map with string keys (unknown keys are ignored)
 * proto/PROTOCOL.md is the specification; this file follows it.
 *
 * Decoding treats every byte as hostile: frame sizes, string lengths, list lengths and
 * nesting depth are bounded (FERRY_PROTO_MAX_*) before msgpack-c allocates anything,
 * known keys are type-checked, and any violation is a negative FERRY_PROTO_E* code with
 * a message, never a crash. */
#ifndef FERRY_PROTO_H
#define FERRY_PROTO_H

#include "util/buf.h"
#include "util/common.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FERRY_PROTO_VERSION 1
#define FERRY_PROTO_SIG0 'F'
#define FERRY_PROTO_SIG1 'Y'
#define FERRY_PROTO_HEADER_LEN 4

/* Limits on hostile input. */
#define FERRY_PROTO_MAX_BODY (256u * 1024)  /* bytes in one body frame */
#define FERRY_PROTO_MAX_IDENTITY 255        /* ZeroMQ routing id */
#define FERRY_PROTO_MAX_DEPTH 6             /* msgpack nesting */
#define FERRY_PROTO_MAX_ELEMS 16384         /* msgpack objects in one body */
#define FERRY_PROTO_MAX_STR 1024            /* a name, arch, reason ... */
#define FERRY_PROTO_MAX_TEXT (64u * 1024)   /* stderr tail, task output */
#define FERRY_PROTO_MAX_LIST 256            /* isa, tags, runtimes, gpus */
#define FERRY_PROTO_MAX_ACKS 4096           /* attempt ids in one ACK */
#define FERRY_PROTO_MAX_CREDIT 65536        /* credit granted by one READY/HELLO */
#define FERRY_PROTO_MAX_BATCH 256           /* entries in one TASKS or RESULTS message */
#define FERRY_PROTO_BATCH_BYTES (64u * 1024) /* a sender starts a new batch past this body size */

typedef enum {
    FERRY_CMD_HELLO = 1,
    FERRY_CMD_READY = 2,
    FERRY_CMD_TASK = 3,
    FERRY_CMD_HEARTBEAT = 4,
    FERRY_CMD_PROGRESS = 5,
    FERRY_CMD_RESULT = 6,
    FERRY_CMD_ACK = 7,
    FERRY_CMD_BLOB_GET = 8,   /* reserved: artifact transfer (stages issue) */
    FERRY_CMD_BLOB_PUT = 9,   /* reserved */
    FERRY_CMD_BLOB_CHUNK = 10, /* reserved */
    FERRY_CMD_BYE = 11,
    FERRY_CMD_ERROR = 12,
    FERRY_CMD_TASKS = 13,   /* several TASKs in one message (peers that said `batch` > 0) */
    FERRY_CMD_RESULTS = 14, /* several RESULTs plus READY credit in one message */
} ferry_cmd_t;
#define FERRY_CMD_MAX 14

/* Decoder errors (negative). */
enum {
    FERRY_PROTO_EFRAMES = -1001,  /* wrong number of frames or oversized frame */
    FERRY_PROTO_ESIG = -1002,     /* header signature is not 'F' 'Y' */
    FERRY_PROTO_EVERSION = -1003, /* a version this build does not speak */
    FERRY_PROTO_ECMD = -1004,     /* unknown or unsupported command */
    FERRY_PROTO_EBODY = -1005,    /* body is not valid msgpack within the limits */
    FERRY_PROTO_EFIELD = -1006,   /* a known field has the wrong type or range */
};

/* Codes carried by ERROR messages. */
typedef enum {
    FERRY_ERRCODE_MALFORMED = 1,      /* frames or body could not be decoded */
    FERRY_ERRCODE_VERSION = 2,        /* unsupported protocol version */
    FERRY_ERRCODE_COMMAND = 3,        /* unknown or unsupported command */
    FERRY_ERRCODE_NOT_REGISTERED = 4, /* send HELLO first (e.g. after a coordinator restart) */
    FERRY_ERRCODE_REFUSED = 5,        /* the coordinator will not serve this peer */
} ferry_errcode_t;

/* BYE reasons with a meaning: a worker exits on FERRY_BYE_FINISHED and reconnects after
 * any other BYE (the coordinator may be restarting). */
#define FERRY_BYE_FINISHED "plan finished"
#define FERRY_BYE_STOPPING "coordinator stopping"

/* Diagnostic task kinds on the wire (same order as the plan's ferry_diag_kind_t). */
typedef enum { FERRY_TASK_ECHO = 0, FERRY_TASK_SLEEP = 1, FERRY_TASK_FAIL = 2, FERRY_TASK_CRASH = 3 } ferry_task_kind_t;
#define FERRY_TASK_KIND_MAX 3

/* How an attempt ended. Stored in the journal as these numbers. */
typedef enum {
    FERRY_OUTCOME_OK = 0,
    FERRY_OUTCOME_FAILED = 1,  /* child exited non-zero */
    FERRY_OUTCOME_CRASHED = 2, /* child killed by a signal */
    FERRY_OUTCOME_TIMEOUT = 3, /* child passed its deadline and was killed */
    FERRY_OUTCOME_GARBAGE = 4, /* child exited 0 but its output was not a valid result */
    FERRY_OUTCOME_ERROR = 5,   /* the worker could not run the task (spawn failed ...) */
    FERRY_OUTCOME_LOST = 6,    /* coordinator side: worker lost or lease expired */
} ferry_outcome_t;
#define FERRY_OUTCOME_MAX 6

typedef struct {
    char *name;
    uint64_t memory_bytes;
    char *driver;
} ferry_msg_gpu_t;

typedef struct {
    char *name;        /* stable worker name (host:pid:nonce), survives reconnects */
    uint32_t slots;    /* tasks the worker runs at once */
    uint32_t credit;   /* tasks the coordinator may send now (replaces earlier credit) */
    char *arch, *cpu_model, *os, *kernel;
    char **isa;
    size_t n_isa;
    uint32_t cores;
    uint64_t memory_bytes;
    ferry_msg_gpu_t *gpus;
    size_t n_gpus;
    char **tags;
    size_t n_tags;
    char **runtimes;
    size_t n_runtimes;
    uint64_t *attempts; /* attempts the worker holds: queued, running, or finished but not ACKed */
    size_t n_attempts;
    uint32_t batch;     /* the worker takes TASKS of up to this many entries (0: only TASK) */
} ferry_msg_hello_t;

typedef struct {
    uint64_t attempt;   /* attempt id (journal), echoed in RESULT */
    uint64_t task;      /* task row id, echoed in RESULT */
    char *id;           /* task name "<group>-<index>" */
    uint32_t kind;      /* ferry_task_kind_t */
    int64_t sleep_ms;
    int64_t timeout_ms; /* child deadline */
    uint64_t memory_mb; /* child RLIMIT_AS */
} ferry_msg_task_t;

typedef struct {
    uint64_t attempt, task;
    uint32_t outcome; /* ferry_outcome_t */
    int32_t exit_code, signal;
    int64_t elapsed_ms;
    char *reason;      /* NULL when OK */
    char *stderr_tail; /* NULL or the last bytes of the child's stderr */
    char *output;      /* NULL or the task's output */
} ferry_msg_result_t;

typedef struct {
    uint32_t code;
    char *message;
} ferry_msg_error_t;

typedef struct {
    ferry_cmd_t cmd;
    uint8_t version;
    union {
        ferry_msg_hello_t hello;
        struct { uint32_t credit; } ready;
        ferry_msg_task_t task;
        /* batch: C→W, takes RESULTS. last_task (W→C, 0: not given): the highest attempt id
         * received in a TASK since the worker's last HELLO, given only with attempts, the
         * complete list of the attempts the worker holds (queued, running, result unACKed). */
        struct {
            uint32_t inflight, interval_ms, batch;
            uint64_t last_task;
            uint64_t *attempts;
            size_t n_attempts;
        } heartbeat;
        struct { uint64_t attempt; uint32_t percent; } progress;
        ferry_msg_result_t result;
        struct { uint64_t *attempts; size_t n; } ack;
        struct { char *reason; } bye;
        ferry_msg_error_t error;
        struct { ferry_msg_task_t *v; size_t n; } tasks;                       /* TASKS */
        struct { ferry_msg_result_t *v; size_t n; uint32_t credit; } results;  /* RESULTS */
    } u;
} ferry_msg_t;

/* "HELLO", "READY" ... or "?" (static strings). */
const char *ferry_cmd_name(int cmd);
/* "ok", "failed", "crashed", "timeout", "garbage", "error", "lost" or "?". */
const char *ferry_outcome_name(int outcome);
const char *ferry_task_kind_name(int kind);

/* Write the 4-byte header for cmd. */
void ferry_proto_header(uint8_t out[FERRY_PROTO_HEADER_LEN], ferry_cmd_t cmd);

/* Append m's msgpack body to body. Strings that are NULL are omitted. Returns 0, or
 * FERRY_PROTO_ECMD for a command without a body codec (reserved BLOB_*). */
int ferry_msg_encode(const ferry_msg_t *m, ferry_buf_t *body);

/* Build the body of a TASKS (cmd FERRY_CMD_TASKS) or RESULTS message into out (appended)
 * from n bodies of single TASK / RESULT messages (ferry_msg_encode output) concatenated in
 * items; credit is RESULTS' READY credit (ignored for TASKS). n <= FERRY_PROTO_MAX_BATCH. */
void ferry_proto_batch_body(ferry_cmd_t cmd, const void *items, size_t items_len, size_t n, uint32_t credit,
                            ferry_buf_t *out);

/* Decode a header and body into *out (zeroed first; free with ferry_msg_clear even on
 * failure). Returns 0 or a FERRY_PROTO_E* code with a message in err (err may be NULL).
 * On FERRY_PROTO_EVERSION / ECMD out->cmd and out->version say what was received. */
int ferry_msg_decode(const void *header, size_t header_len, const void *body, size_t body_len, ferry_msg_t *out,
                     ferry_err_t *err);

/* Free what m owns and zero it; safe to call twice. */
void ferry_msg_clear(ferry_msg_t *m);

/* Check that data is exactly one msgpack value within the FERRY_PROTO_MAX_* limits
 * (depth, element count, declared lengths within the buffer). 0 or FERRY_PROTO_EBODY. */
int ferry_proto_validate_msgpack(const void *data, size_t len);

/* ---- ZeroMQ helpers ------------------------------------------------------------------ */

/* Send m on sock without blocking: [identity] header body. identity NULL for a DEALER.
 * Returns 0, -EAGAIN when the peer's queue is full (the message is dropped), or -errno. */
int ferry_proto_send(void *sock, const void *identity, size_t identity_len, const ferry_msg_t *m);

/* Send an already encoded body (from ferry_msg_encode) for cmd. Same returns. */
int ferry_proto_send_raw(void *sock, const void *identity, size_t identity_len, ferry_cmd_t cmd, const void *body,
                         size_t body_len);

/* Send an ERROR message (code, printf message). */
int ferry_proto_send_error(void *sock, const void *identity, size_t identity_len, ferry_errcode_t code,
                           const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* A received message with its routing identity. */
typedef struct {
    uint8_t identity[FERRY_PROTO_MAX_IDENTITY];
    size_t identity_len;
    ferry_msg_t msg;
} ferry_inbound_t;

/* Receive one whole multipart message without blocking. has_identity: the socket is a
 * ROUTER. Returns 0 with in->msg decoded; -EAGAIN when nothing is waiting; a
 * FERRY_PROTO_E* code when the message was malformed (all its frames are consumed,
 * in->identity is set so the caller can answer ERROR); other -errno on socket errors.
 * Free in->msg with ferry_msg_clear in every case. */
int ferry_proto_recv(void *sock, bool has_identity, ferry_inbound_t *in, ferry_err_t *err);

#endif
