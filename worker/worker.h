/* worker.h -- the worker: a libuv loop owning a DEALER socket, running tasks in child processes
 *
 * Connects to a coordinator, says HELLO with its capabilities (hardware probe, tags,
 * runtimes) and credit, runs every TASK (echo in-process, everything else through
 * `ferry exec` children, at most `slots` at once), reports RESULTs, keeps each RESULT
 * until it is ACKed (resending after every HELLO), heartbeats, and reconnects with
 * backoff when the coordinator goes silent. Stops on BYE, or ferry_worker_stop. */
#ifndef FERRY_WORKER_H
#define FERRY_WORKER_H

#include "util/common.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FERRY_WORKER_LIVENESS 3             /* coordinator heartbeats missed before reconnecting */
#define FERRY_WORKER_HEARTBEAT_MS 1000      /* until the coordinator says its interval */
#define FERRY_WORKER_RECONNECT_MIN_MS 250   /* reconnect backoff, doubling ... */
#define FERRY_WORKER_RECONNECT_MAX_MS 8000  /* ... up to this */
#define FERRY_WORKER_DEFAULT_PREFETCH 16    /* tasks held beyond the running ones */
#define FERRY_WORKER_MAX_SLOTS 4096
#define FERRY_WORKER_MAX_TURN_MSGS 4096     /* messages handled per loop turn */

typedef struct {
    const char *endpoint;       /* tcp://host:port or inproc://name */
    void *zmq_ctx;              /* NULL: own context (required for inproc: the coordinator's) */
    int slots;                  /* child processes at once (0: number of cores) */
    int prefetch;               /* extra credit (0: FERRY_WORKER_DEFAULT_PREFETCH, <0: none) */
    const char *const *tags;
    size_t n_tags;
    const char *const *runtimes;
    size_t n_runtimes;
    const char *exe;            /* program run as `exe exec ...` (NULL: /proc/self/exe) */
    const char *name;           /* NULL: host:pid:random */
    const char *server_key;     /* CURVE: coordinator public key (Z85), with public/secret */
    const char *public_key, *secret_key;
    bool handle_signals;        /* SIGINT/SIGTERM: kill children, say BYE, stop */
    bool stay_after_bye;        /* keep reconnecting after the coordinator says BYE */
} ferry_worker_opts_t;

typedef struct ferry_worker ferry_worker_t;

/* Probe the hardware and create the socket (not yet connected). NULL + err on failure. */
ferry_worker_t *ferry_worker_new(const ferry_worker_opts_t *opts, ferry_err_t *err);
/* Run until BYE or stop. Returns FERRY_EXIT_OK, FERRY_EXIT_INTERRUPTED (signal/stop), or
 * FERRY_EXIT_RUNTIME. */
int ferry_worker_run(ferry_worker_t *w);
/* Ask a running worker to stop (any thread). */
void ferry_worker_stop(ferry_worker_t *w);
void ferry_worker_destroy(ferry_worker_t **w_p);

/* Tasks this worker finished (all outcomes), for tests and logs. */
uint64_t ferry_worker_finished(const ferry_worker_t *w);

#endif
