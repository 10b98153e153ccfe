#!/usr/bin/env bash
# SIGHUP re-reads the CURVE allow-list: a worker refused before is admitted after its key
# is added and the coordinator gets SIGHUP; a malformed list keeps the old one in force.
cd "$(dirname "$0")/../.." && source tests/integration/core_lib.sh
"$FERRY" keygen -o "$WORK/server" >/dev/null || fail "keygen server"
"$FERRY" keygen -o "$WORK/late" >/dev/null || fail "keygen late"
"$FERRY" keygen -o "$WORK/other" >/dev/null || fail "keygen other"
cp "$WORK/other.pub" "$WORK/allow.txt"
cat >"$WORK/plan.yaml" <<'YAML'
name: sighup
settings: {heartbeat_ms: 200}
diagnostics:
  - {kind: echo, count: 200}
YAML
EP=tcp://127.0.0.1:$(port)
start_coordinator "$WORK/plan.yaml" "$EP" --keys "$WORK/server" --allow "$WORK/allow.txt"
start_worker late "$EP" --keys "$WORK/late" --server-key "$WORK/server.pub"
sleep 1.5
[ "$(sql "SELECT count(*) FROM workers")" = 0 ] || fail "an unlisted worker was registered before the reload"
# a malformed list: refused, the old list stays (late still out)
echo "not a key" >"$WORK/allow.txt"
kill -HUP "$CPID"
wait_for 5 'grep -q "allow-list not reloaded" "$WORK/coordinator.log"' || fail "a malformed allow-list was not reported"
sleep 1
kill -0 "$CPID" || fail "the coordinator died on SIGHUP"
[ "$(sql "SELECT count(*) FROM workers")" = 0 ] || fail "a malformed allow-list let the worker in"
cat "$WORK/other.pub" "$WORK/late.pub" >"$WORK/allow.txt"
kill -HUP "$CPID"
wait_exit "$CPID" 30
[ "$RC" = 0 ] || fail "coordinator exit $RC, expected 0 after the reload admitted the worker"
grep -q "allow-list .* reloaded" "$WORK/coordinator.log" || fail "the reload was not logged"
[ "$(sql "SELECT count(*) FROM results r JOIN workers w ON w.id = r.worker WHERE w.name = 'late'")" = 200 ] ||
    fail "the newly listed worker did not run the plan"
check_exactly_once
echo "summary: SIGHUP admitted a newly listed worker (200 tasks); a malformed list kept the old one"
