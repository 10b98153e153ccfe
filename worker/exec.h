/* exec.h -- run one task in a child process (`ferry exec`) with a deadline, and judge how it ended
 *
 * The child is spawned with uv_spawn; it applies its own memory limit (RLIMIT_AS) and
 * dies with its parent (PR_SET_PDEATHSIG). Its stdout must be exactly one line
 *     FERRY-RESULT 1 ok[ <output>]
 * (the child contract, proto/PROTOCOL.md). A signal, a passed deadline, a non-zero exit
 * or any other stdout becomes a failed outcome with a reason and the tail of stderr. */
#ifndef FERRY_EXEC_H
#define FERRY_EXEC_H

#include "proto/proto.h"

#include <uv.h>

#define FERRY_EXEC_MAX_STDOUT (64u * 1024) /* bytes of child stdout kept; more is garbage */
#define FERRY_EXEC_STDERR_TAIL 2048        /* bytes of child stderr kept (the tail) */
#define FERRY_EXEC_PIPE_GRACE_MS 500       /* after exit, wait this long for pipes to drain */
#define FERRY_EXEC_RESULT_PREFIX "FERRY-RESULT 1 ok"

/* Called once per child with the finished result (attempt/task copied from the TASK).
 * The callee owns result's strings after the call (free with ferry_msg_clear on a
 * ferry_msg_t wrapping it, or free each). */
typedef void (*ferry_exec_done_fn)(void *ud, ferry_msg_result_t *result);

/* Spawn `exe exec --kind K --ms N --memory-mb M --task ID` for task on loop. exe: path
 * of the ferry binary (or any program honouring the child contract, for tests). Returns
 * 0; cb is always called once, later (a child that cannot be spawned is an ERROR result). */
int ferry_exec_start(uv_loop_t *loop, const char *exe, const ferry_msg_task_t *task, ferry_exec_done_fn cb, void *ud);

/* Kill (SIGKILL) every child started on loop that is still running; their results
 * still arrive (as crashed). Used when a worker stops. */
void ferry_exec_kill_all(uv_loop_t *loop);

/* Judge a finished child (exposed for unit tests). Fills r->outcome, reason, exit_code,
 * signal, output; stderr_tail is copied. */
void ferry_exec_judge(ferry_msg_result_t *r, bool is_timed_out, int64_t timeout_ms, int64_t exit_status,
                      int term_signal, const char *out, size_t out_len, bool is_out_truncated,
                      const char *err_tail);

#endif
