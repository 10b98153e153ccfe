#!/usr/bin/env bash
# Fault 1: kill -9 a worker mid-task. Its tasks complete on another worker and each
# result is recorded exactly once.
cd "$(dirname "$0")/../.." && source tests/integration/core_lib.sh
cat >"$WORK/plan.yaml" <<'YAML'
name: worker kill
settings: {heartbeat_ms: 500, lease_ms: 5000, retry_backoff_ms: 50}
diagnostics:
  - {kind: sleep, ms: 1500, count: 4}
  - {kind: echo, count: 200}
YAML
EP=tcp://127.0.0.1:$(port)
start_coordinator "$WORK/plan.yaml" "$EP"
start_worker victim "$EP" --slots 4 --prefetch 0
VICTIM=$WPID
wait_for 20 '[ "$(sql "SELECT count(*) FROM leases l JOIN workers w ON w.id = l.worker JOIN tasks t ON t.id = l.task WHERE w.name = '"'victim'"' AND t.grp = 0")" -ge 2 ]' ||
    fail "the victim never held sleep tasks"
sleep 0.3
kill -9 "$VICTIM"
ok "killed the victim worker while it held $(sql "SELECT count(*) FROM leases") lease(s)"
start_worker rescuer "$EP" --slots 4
wait_exit "$CPID" 60
[ "$RC" = 0 ] || fail "coordinator exit $RC, expected 0"
lost=$(sql "SELECT count(*) FROM attempts a JOIN workers w ON w.id = a.worker WHERE w.name = 'victim' AND a.outcome = 6")
[ "$lost" -ge 2 ] || fail "expected the victim's attempts recorded as lost, got $lost"
moved=$(sql "SELECT count(DISTINCT a.task) FROM attempts a JOIN workers w ON w.id = a.worker WHERE w.name = 'rescuer' AND a.outcome = 0 AND a.task IN (SELECT task FROM attempts b WHERE b.outcome = 6)")
[ "$moved" = "$lost" ] || fail "$lost lost tasks but $moved completed by the rescuer"
[ "$(sql "SELECT state FROM workers WHERE name = 'victim'")" = lost ] || fail "victim not marked lost"
check_exactly_once
wait_exit "$WPID" 10
[ "$RC" = 0 ] || fail "rescuer exit $RC after BYE"
echo "summary: $lost task(s) lost with the killed worker, all completed once by the rescuer"
