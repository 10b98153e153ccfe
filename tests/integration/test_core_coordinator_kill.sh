#!/usr/bin/env bash
# Fault 2: kill -9 the coordinator at several points of a run and restart it on the same
# state directory. The run completes; no task is lost and none is recorded twice.
cd "$(dirname "$0")/../.." && source tests/integration/core_lib.sh
cat >"$WORK/plan.yaml" <<'YAML'
name: coordinator kill
settings: {heartbeat_ms: 500, lease_ms: 3000, retry_backoff_ms: 50}
diagnostics:
  - {kind: echo, count: 20000}
  - {kind: sleep, name: blink, ms: 0, count: 150}
  - {kind: sleep, name: nap, ms: 300, count: 12}
YAML
EP=tcp://127.0.0.1:$(port)
start_worker w1 "$EP" --slots 2 --stay
W1=$WPID
start_worker w2 "$EP" --slots 2 --stay
W2=$WPID
kills=0
# kill points: right after start (expansion/first leases), then mid-run at growing offsets;
# the journal committed by the loop thread and by the writer thread in turn (whatever the
# machine's CPU count would choose)
inline=1
for delay in 0.15 0.6 1.0 1.5; do
    export FERRY_JOURNAL_INLINE=$inline; inline=$((1 - inline))
    start_coordinator "$WORK/plan.yaml" "$EP"
    sleep "$delay"
    if kill -0 "$CPID" 2>/dev/null; then
        kill -9 "$CPID"; wait "$CPID" 2>/dev/null
        kills=$((kills + 1))
        echo "killed the coordinator after ${delay}s: $(sql "SELECT count(*) FROM results") done, $(sql "SELECT count(*) FROM leases") in flight"
    fi
done
[ "$kills" -ge 3 ] || fail "the run finished before the coordinator could be killed 3 times ($kills)"
export FERRY_JOURNAL_INLINE=0
start_coordinator "$WORK/plan.yaml" "$EP"
wait_exit "$CPID" 200
[ "$RC" = 0 ] || fail "final coordinator exit $RC, expected 0"
total=$(sql "SELECT count(*) FROM tasks")
[ "$total" = 20162 ] || fail "plan expanded to $total tasks, expected 20162 (expanded twice?)"
[ "$(sql "SELECT count(*) FROM tasks WHERE state != 2")" = 0 ] || fail "tasks not done: $(sql "SELECT state, count(*) FROM tasks GROUP BY state")"
check_exactly_once
resumes=$(sql "SELECT count(*) FROM events WHERE kind = 'coordinator-resume'")
[ "$resumes" -ge $((kills - 1)) ] || fail "expected at least $((kills - 1)) resumes in the events, got $resumes"
kill -TERM "$W1" "$W2"
wait_exit "$W1" 10; [ "$RC" = 130 ] || fail "worker 1 exit $RC on SIGTERM, expected 130"
echo "summary: coordinator killed $kills times; $total tasks done, each recorded once"
