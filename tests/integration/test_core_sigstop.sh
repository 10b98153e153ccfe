#!/usr/bin/env bash
# Fault 3: a worker frozen (SIGSTOP) past its lease. Its tasks are re-leased to another
# worker; when it wakes (SIGCONT) its stale results are recognised and dropped.
cd "$(dirname "$0")/../.." && source tests/integration/core_lib.sh
cat >"$WORK/plan.yaml" <<'YAML'
name: sigstop
settings: {heartbeat_ms: 200, lease_ms: 1000, retry_backoff_ms: 50}
diagnostics:
  - {kind: sleep, name: nap, ms: 1200, count: 2}
  # keeps the coordinator running until the frozen worker has woken up
  - {kind: sleep, name: keepalive, ms: 5000, count: 1, requires: {tags: [rescuer]}}
YAML
EP=tcp://127.0.0.1:$(port)
start_coordinator "$WORK/plan.yaml" "$EP"
start_worker sleeper "$EP" --slots 2 --prefetch 0
SLEEPER=$WPID
wait_for 20 '[ "$(sql "SELECT count(*) FROM leases l JOIN workers w ON w.id = l.worker WHERE w.name = '"'sleeper'"'")" = 2 ]' ||
    fail "the sleeper never held both naps"
kill -STOP "$SLEEPER"
ok "froze the sleeper holding 2 leases"
start_worker rescuer "$EP" --slots 3 --prefetch 0 --tag rescuer
wait_for 20 '[ "$(sql "SELECT count(*) FROM attempts a JOIN workers w ON w.id = a.worker WHERE w.name = '"'rescuer'"' AND a.outcome = 0")" = 2 ]' ||
    fail "the naps were not completed by the rescuer"
ok "rescuer completed the re-leased naps"
kill -CONT "$SLEEPER"
wait_exit "$CPID" 30
[ "$RC" = 0 ] || fail "coordinator exit $RC, expected 0"
lost=$(sql "SELECT count(*) FROM attempts a JOIN workers w ON w.id = a.worker WHERE w.name = 'sleeper' AND a.outcome = 6")
[ "$lost" = 2 ] || fail "expected the sleeper's 2 attempts ended as lost, got $lost"
stale=$(sql "SELECT count(*) FROM events WHERE kind = 'stale-result' AND attempt IN (SELECT a.id FROM attempts a JOIN workers w ON w.id = a.worker WHERE w.name = 'sleeper')")
[ "$stale" -ge 2 ] || fail "expected the sleeper's 2 late results dropped as stale, got $stale: $(sql "SELECT * FROM events")"
check_exactly_once
ok_by_sleeper=$(sql "SELECT count(*) FROM results r JOIN workers w ON w.id = r.worker WHERE w.name = 'sleeper'")
[ "$ok_by_sleeper" = 0 ] || fail "a stale result of the sleeper was recorded"
echo "summary: 2 leases re-leased after SIGSTOP; $stale stale result(s) dropped after SIGCONT"
