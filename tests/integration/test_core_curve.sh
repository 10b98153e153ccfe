#!/usr/bin/env bash
# Fault 6: with CURVE on, a worker whose key is not on the allow-list is refused by ZAP
# and gets nothing; a listed worker runs the plan. Also: a non-loopback bind without keys
# is refused unless --insecure.
cd "$(dirname "$0")/../.." && source tests/integration/core_lib.sh
"$FERRY" keygen -o "$WORK/server" >/dev/null || fail "keygen server"
"$FERRY" keygen -o "$WORK/good" >/dev/null || fail "keygen good"
"$FERRY" keygen -o "$WORK/bad" >/dev/null || fail "keygen bad"
cp "$WORK/good.pub" "$WORK/allow.txt"
cat >"$WORK/plan.yaml" <<'YAML'
name: curve
settings: {heartbeat_ms: 500}
diagnostics:
  - {kind: echo, count: 300}
YAML
"$FERRY" coordinator "$WORK/plan.yaml" --state "$WORK/state0" --bind tcp://0.0.0.0:$(port) >"$WORK/nokeys.log" 2>&1
[ $? = 2 ] || fail "a non-loopback bind without keys must be a usage error"
grep -q "CURVE is required" "$WORK/nokeys.log" || fail "no hint about CURVE: $(cat "$WORK/nokeys.log")"
EP=tcp://127.0.0.1:$(port)
start_coordinator "$WORK/plan.yaml" "$EP" --keys "$WORK/server" --allow "$WORK/allow.txt"
start_worker intruder "$EP" --keys "$WORK/bad" --server-key "$WORK/server.pub"
INTRUDER=$WPID
# a worker speaking plain text (no CURVE) to a CURVE coordinator gets nothing either
start_worker plain "$EP"
PLAIN=$WPID
sleep 2.5
[ "$(sql "SELECT count(*) FROM attempts")" = 0 ] || fail "an unlisted worker got tasks"
[ "$(sql "SELECT count(*) FROM workers")" = 0 ] || fail "an unlisted worker was registered: $(sql "SELECT name FROM workers")"
grep -q "zap: .*denied\|denied" "$WORK/coordinator.log" || fail "the refusal was not logged"
kill -0 "$INTRUDER" || fail "the intruder should still be retrying, not crashed"
start_worker member "$EP" --keys "$WORK/good" --server-key "$WORK/server.pub"
wait_exit "$CPID" 30
[ "$RC" = 0 ] || fail "coordinator exit $RC, expected 0"
[ "$(sql "SELECT count(*) FROM results r JOIN workers w ON w.id = r.worker WHERE w.name = 'member'")" = 300 ] ||
    fail "the listed worker did not run the plan"
[ "$(sql "SELECT group_concat(name) FROM workers")" = member ] || fail "only the member may be registered"
check_exactly_once
echo "summary: unlisted and plain-text workers got nothing; the listed worker ran 300 tasks over CURVE"
