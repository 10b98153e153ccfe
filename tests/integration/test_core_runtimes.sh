#!/usr/bin/env bash
# Routing by capability: tasks requiring a runtime go only to a worker that advertises it
# (detected at start, as `ferry probe` shows), never to one without it.
cd "$(dirname "$0")/../.." && source tests/integration/core_lib.sh
if ! "$FERRY" probe | grep -q "^runtimes:.*ort-node"; then
    echo "skipped: ort-node is not installed here (make deps installs it)"
    exit 0
fi
cat >"$WORK/plan.yaml" <<'YAML'
name: runtimes
settings: {heartbeat_ms: 500}
diagnostics:
  - {kind: echo, name: ort, count: 50, requires: {runtimes: [ort-node]}}
  - {kind: echo, name: plain, count: 50}
YAML
EP=tcp://127.0.0.1:$(port)
start_coordinator "$WORK/plan.yaml" "$EP"
start_worker bare "$EP" --prefetch 4
wait_for 20 '[ "$(sql "SELECT count(*) FROM results r JOIN tasks t ON t.id = r.task WHERE t.grp = 1")" = 50 ]' ||
    fail "the bare worker did not run the unconstrained tasks"
sleep 1
[ "$(sql "SELECT count(*) FROM attempts a JOIN tasks t ON t.id = a.task WHERE t.grp = 0")" = 0 ] ||
    fail "a worker without ort-node got ort-node tasks"
"$FERRY" worker --connect "$EP" --name detected >>"$WORK/detected.log" 2>&1 &
PIDS+=("$!")
wait_exit "$CPID" 60
[ "$RC" = 0 ] || fail "coordinator exit $RC, expected 0"
[ "$(sql "SELECT count(*) FROM results r JOIN tasks t ON t.id = r.task JOIN workers w ON w.id = r.worker WHERE t.grp = 0 AND w.name = 'detected'")" = 50 ] ||
    fail "the ort-node tasks did not all run on the detecting worker"
sql "SELECT caps FROM workers WHERE name = 'detected'" | grep -q '"runtimes":\["ort-node"' || fail "caps: $(sql "SELECT caps FROM workers")"
check_exactly_once
echo "summary: 50 ort-node tasks waited for a worker advertising ort-node; 50 others ran anywhere"
