/* coordinator.h -- the coordinator: a libuv loop owning a ROUTER socket, the journal and the scheduler
 *
 * One thread runs ferry_coordinator_run() (it commits each loop turn's journal batch
 * itself, or hands it to a journal writer thread when that one is still busy: see
 * jwriter.h); it leases tasks from the journal to workers
 * that have credit and whose capabilities match the task's group requirements, renews
 * leases on every sign of life, retries failed attempts with exponential backoff, and
 * stops when every task is done or failed (or on ferry_coordinator_stop / SIGINT /
 * SIGTERM, after waiting FERRY_COORD_DRAIN_MS for in-flight results). */
#ifndef FERRY_COORDINATOR_H
#define FERRY_COORDINATOR_H

#include "coordinator/plan.h"
#include "proto/proto.h"
#include "util/common.h"

#include <stdbool.h>
#include <stdint.h>

/* Liveness and limits (named here, not as numbers in code). */
#define FERRY_COORD_LIVENESS 3               /* heartbeats missed before a worker is lost */
#define FERRY_COORD_MAX_WORKERS 4096         /* registered workers; more HELLOs are refused */
#define FERRY_COORD_FETCH_BATCH 2048         /* pending tasks read from the journal at once per group */
#define FERRY_COORD_MAX_TURN_MSGS 8192       /* messages handled per journal transaction */
#define FERRY_COORD_MAX_FREE_LEASES 65536   /* ended lease records kept for reuse */
#define FERRY_COORD_DRAIN_MS 5000            /* graceful stop: wait this long for in-flight results */
#define FERRY_COORD_HWM 100000               /* ZeroMQ queue limits (messages per peer) */
#define FERRY_COORD_MAX_BACKOFF_SHIFT 16     /* backoff = retry_backoff_ms << min(attempt-1, this) */
#define FERRY_COORD_WARN_INTERVAL_MS 5000    /* rate limit of warnings about malformed frames */
/* With at most this many CPUs available, the loop thread commits a turn itself while the
 * journal writer thread is idle (ferry_jwriter_seal_commit): the hand-over between threads
 * costs more CPU than the overlap wins when workers, loop and writer share a few CPUs. With
 * more, every turn goes to the writer thread, so the loop never waits for SQLite.
 * FERRY_JOURNAL_INLINE=1 or 0 overrides. */
#define FERRY_COORD_INLINE_COMMIT_MAX_CPUS 4

/* Progress figures, passed to on_progress. */
typedef struct {
    uint64_t total, done, failed, running;
    uint64_t done_this_run;   /* finished since this process started (for rates) */
    double elapsed_s;         /* since this process started */
    size_t workers;
    bool is_final;            /* the last call, after the run ended */
} ferry_coord_progress_t;

typedef struct {
    const ferry_plan_t *plan;   /* borrowed, must outlive the coordinator */
    const char *plan_text;      /* the plan file's bytes (hashed into the journal) */
    size_t plan_len;
    const char *state_dir;
    const char *bind;           /* e.g. tcp://127.0.0.1:5555 or inproc://ferry */
    void *zmq_ctx;              /* NULL: the coordinator makes its own */
    const char *secret_key;     /* CURVE server secret (Z85, 40 chars) or NULL */
    const char *allow_list;     /* ZAP allow-list path (with secret_key) */
    bool handle_signals;        /* SIGINT/SIGTERM stop the run gracefully */
    size_t local_workers;       /* embedded mode (`ferry run`): every worker is known up front;
                                   once this many have said HELLO, a group none of them can
                                   serve fails at once. 0: distributed, wait for workers (a
                                   warning per such group is logged once) */
    int progress_ms;            /* interval of on_progress calls (0: none) */
    void (*on_progress)(void *ud, const ferry_coord_progress_t *p);
    void *progress_ud;
} ferry_coord_opts_t;

typedef struct ferry_coordinator ferry_coordinator_t;

/* Open the journal (expanding the plan on first use), create and bind the socket.
 * NULL + err on failure (err names the state dir, plan or endpoint). */
ferry_coordinator_t *ferry_coordinator_new(const ferry_coord_opts_t *opts, ferry_err_t *err);

/* Run until the plan is finished or stopped. Returns FERRY_EXIT_OK when every task
 * succeeded, FERRY_EXIT_FAIL when some failed, FERRY_EXIT_INTERRUPTED when stopped
 * first, FERRY_EXIT_RUNTIME on a journal or socket failure. */
int ferry_coordinator_run(ferry_coordinator_t *c);

/* Ask a running coordinator to stop gracefully; safe from any thread or signal-free context. */
void ferry_coordinator_stop(ferry_coordinator_t *c);

/* Malformed or refused frames seen so far (for tests and logs). */
uint64_t ferry_coordinator_bad_frames(const ferry_coordinator_t *c);

void ferry_coordinator_destroy(ferry_coordinator_t **c_p);

/* Handle one message as if the ROUTER had received it from identity, then run one
 * scheduling turn (commit, send). For the dispatch fuzz target and tests; the
 * coordinator must not be running its loop in another thread. Returns 0 when the
 * message decoded, else its FERRY_PROTO_E* code. */
int ferry_coordinator_feed(ferry_coordinator_t *c, const void *identity, size_t identity_len, const void *header,
                           size_t header_len, const void *body, size_t body_len);

/* Read and parse the plan at path, keeping its bytes (the journal stores and hashes
 * them). Returns 0, or -1 with err naming the file (and line, for YAML errors). */
int ferry_coordinator_load_plan(const char *path, ferry_plan_t **plan, char **text, size_t *len, ferry_err_t *err);

/* True for endpoints that stay on this machine (inproc, ipc, 127.x, localhost, ::1). */
bool ferry_endpoint_is_local(const char *endpoint);

/* True when a worker with these capabilities may run tasks with requirements req. */
bool ferry_requirements_match(const ferry_requirements_t *req, const ferry_msg_hello_t *caps);

/* The first requirement of req that caps does not meet, as a phrase completing "no worker
 * ...", e.g. "has a GPU (requires gpu: true)". NULL when caps meet them all; else the
 * caller frees the string. */
char *ferry_requirements_unmet(const ferry_requirements_t *req, const ferry_msg_hello_t *caps);

#endif
