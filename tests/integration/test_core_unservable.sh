#!/usr/bin/env bash
# A group no worker can serve: `ferry run` (every worker known up front) fails it at once,
# naming the group and the unmet requirement, with the reason on each task's attempt in
# the journal; a distributed coordinator keeps waiting, warns once per group, and runs the
# tasks when a worker that can serve them joins.
cd "$(dirname "$0")/../.." && source tests/integration/core_lib.sh
HAS_GPU=1
"$FERRY" probe | grep -q "^gpus: *none" && HAS_GPU=0
cat >"$WORK/plan.yaml" <<'YAML'
name: unservable
settings: {heartbeat_ms: 200}
diagnostics:
  - {kind: echo, name: plain, count: 20}
  - {kind: echo, name: tagged, count: 3, requires: {tags: [no-such-tag]}}
  - {kind: echo, name: gpu-echo, count: 5, requires: {gpu: true}}
YAML
timeout 30 "$FERRY" run "$WORK/plan.yaml" --workers 2 --state "$WORK/state" >"$WORK/run.log" 2>&1
RC=$?
[ "$RC" = 1 ] || fail "ferry run exit $RC, expected 1 (124: it hung)"
grep -q "group tagged: no local worker has tag no-such-tag (requires tags: no-such-tag)" "$WORK/run.log" ||
    fail "no message naming the group and its unmet tag: $(cat "$WORK/run.log")"
[ "$(sql "SELECT count(*) FROM tasks WHERE grp = 0 AND state = 2")" = 20 ] || fail "the servable group did not finish"
[ "$(sql "SELECT count(*) FROM tasks WHERE grp = 1 AND state = 3")" = 3 ] || fail "the tagged tasks are not failed"
[ "$(sql "SELECT count(*) FROM attempts a JOIN tasks t ON t.id = a.task WHERE t.grp = 1 AND a.outcome = 5
          AND a.worker IS NULL AND a.reason = 'group tagged: no local worker has tag no-such-tag (requires tags: no-such-tag)'")" = 3 ] ||
    fail "the tagged tasks' attempts do not carry the reason: $(sql "SELECT * FROM attempts WHERE task > 20")"
if [ "$HAS_GPU" = 0 ]; then
    grep -q "group gpu-echo: no local worker has a GPU (requires gpu: true)" "$WORK/run.log" ||
        fail "no message for the gpu group: $(cat "$WORK/run.log")"
    [ "$(sql "SELECT count(*) FROM attempts a JOIN tasks t ON t.id = a.task WHERE t.grp = 2 AND t.state = 3
              AND a.reason LIKE '%has a GPU (requires gpu: true)'")" = 5 ] || fail "the gpu tasks are not failed with the reason"
    GPU_NOTE="5 gpu tasks failed (no GPU here)"
else
    [ "$(sql "SELECT count(*) FROM tasks WHERE grp = 2 AND state = 2")" = 5 ] || fail "the gpu tasks did not run on this GPU machine"
    GPU_NOTE="gpu tasks ran (this machine has a GPU)"
fi
"$FERRY" status --state "$WORK/state" | grep -q "tagged-0: error: group tagged: no local worker has tag" ||
    fail "ferry status does not show the reason: $("$FERRY" status --state "$WORK/state")"
# resuming the finished journal ends at once with the same verdict
timeout 20 "$FERRY" run "$WORK/plan.yaml" --workers 1 --state "$WORK/state" >"$WORK/run2.log" 2>&1
RC=$?
[ "$RC" = 1 ] || fail "resumed ferry run exit $RC, expected 1"
[ "$(sql "SELECT count(*) FROM attempts")" = "$(sql "SELECT count(*) FROM tasks")" ] || fail "the resumed run added attempts"

# distributed: a coordinator waits, warns once per group, and serves the group when a worker can
rm -rf "$WORK/state"
cat >"$WORK/plan2.yaml" <<'YAML'
name: unserved
settings: {heartbeat_ms: 100}
diagnostics:
  - {kind: echo, name: plain, count: 10}
  - {kind: echo, name: tagged, count: 4, requires: {tags: [special]}}
YAML
EP=tcp://127.0.0.1:$(port)
start_coordinator "$WORK/plan2.yaml" "$EP"
start_worker plainw "$EP"
wait_for 20 '[ "$(sql "SELECT count(*) FROM results r JOIN tasks t ON t.id = r.task WHERE t.grp = 0")" = 10 ]' || fail "the plain tasks did not run"
wait_for 10 'grep -q "group tagged: no connected worker has tag special (requires tags: special)" "$WORK/coordinator.log"' ||
    fail "the coordinator did not warn about the unserved group"
sleep 1 # ten heartbeats: still one warning, and the coordinator still waits
[ "$(grep -c "group tagged: no connected worker" "$WORK/coordinator.log")" = 1 ] || fail "the warning is not logged once"
kill -0 "$CPID" 2>/dev/null || fail "the distributed coordinator gave up instead of waiting"
[ "$(sql "SELECT count(*) FROM tasks WHERE grp = 1 AND state = 0")" = 4 ] || fail "the tagged tasks did not stay pending"
# live status: the run's successes are counted from their attempts (task rows settle at the end)
"$FERRY" status --state "$WORK/state" --json >"$WORK/live.json"
/usr/bin/python3 - "$WORK/live.json" <<'PY' || fail "live status --json: $(cat "$WORK/live.json")"
import json, sys
g = {x["name"]: x for x in json.load(open(sys.argv[1]))["groups"]}
assert (g["plain"]["done"], g["plain"]["pending"], g["plain"]["running"]) == (10, 0, 0), g["plain"]
assert (g["tagged"]["done"], g["tagged"]["pending"], g["tagged"]["attempts"]) == (0, 4, 0), g["tagged"]
PY
start_worker specialw "$EP" --tag special
wait_exit "$CPID" 30
[ "$RC" = 0 ] || fail "coordinator exit $RC, expected 0 once a tagged worker joined"
check_exactly_once
echo "summary: ferry run failed 3 tagged tasks at once with the unmet requirement; $GPU_NOTE; a coordinator warned once and waited"
