#!/usr/bin/env bash
# Fault 4: a crashing child. Each attempt is recorded as crashed with its signal, retried
# up to max_attempts, then the task fails; the worker keeps serving the other tasks.
# Also: a failing child (exit 1) and a child past its deadline (timeout).
cd "$(dirname "$0")/../.." && source tests/integration/core_lib.sh
cat >"$WORK/plan.yaml" <<'YAML'
name: crash
settings: {heartbeat_ms: 500, max_attempts: 3, retry_backoff_ms: 50, task_timeout_ms: 1500}
diagnostics:
  - {kind: crash, count: 1}
  - {kind: fail, count: 1}
  - {kind: sleep, name: hang, ms: 60000, count: 1}
  - {kind: echo, count: 100}
  - {kind: sleep, name: blink, ms: 0, count: 10}
YAML
EP=tcp://127.0.0.1:$(port)
start_coordinator "$WORK/plan.yaml" "$EP"
start_worker only "$EP" --slots 2 --prefetch 2
wait_exit "$CPID" 60
[ "$RC" = 1 ] || fail "coordinator exit $RC, expected 1 (some tasks failed)"
crashed=$(sql "SELECT count(*) FROM attempts a JOIN tasks t ON t.id = a.task WHERE t.grp = 0 AND a.outcome = 2 AND a.signal = 11 AND a.reason LIKE '%signal 11%'")
[ "$crashed" = 3 ] || fail "expected 3 crashed attempts with signal 11, got $crashed: $(sql "SELECT outcome, signal, reason FROM attempts WHERE task = 1")"
[ "$(sql "SELECT state FROM tasks WHERE grp = 0")" = 3 ] || fail "crash task not failed"
sql "SELECT stderr FROM attempts a JOIN tasks t ON t.id = a.task WHERE t.grp = 0 LIMIT 1" | grep -q "raising SIGSEGV" ||
    fail "the crashed attempt does not keep the child's stderr tail"
failed=$(sql "SELECT count(*) FROM attempts a JOIN tasks t ON t.id = a.task WHERE t.grp = 1 AND a.outcome = 1 AND a.exit_code = 1")
[ "$failed" = 3 ] || fail "expected 3 failed attempts (exit 1) of the fail task, got $failed"
timeouts=$(sql "SELECT count(*) FROM attempts a JOIN tasks t ON t.id = a.task WHERE t.grp = 2 AND a.outcome = 3 AND a.reason LIKE 'deadline of 1500 ms%'")
[ "$timeouts" = 3 ] || fail "expected 3 timed-out attempts of the hang task, got $timeouts"
[ "$(sql "SELECT count(*) FROM tasks WHERE grp IN (3, 4) AND state = 2")" = 110 ] || fail "the worker did not keep serving"
[ "$(sql "SELECT count(DISTINCT worker) FROM attempts")" = 1 ] || fail "expected one worker throughout"
"$FERRY" status --state "$WORK/state" >"$WORK/status.out"; src=$?
[ "$src" = 1 ] || fail "ferry status exit $src with failed tasks, expected 1"
grep -q "crash-0: crashed: child killed by signal 11" "$WORK/status.out" || fail "status does not show the crash: $(cat "$WORK/status.out")"
check_exactly_once
echo "summary: crash x3 (signal 11), fail x3 (exit 1), timeout x3, 110 other tasks done by the same worker"
