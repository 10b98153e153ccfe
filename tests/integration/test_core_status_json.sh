#!/usr/bin/env bash
# `ferry status --json`: the documented document (coordinator/STATUS.md) agrees with the
# journal: totals, groups, workers, and every failed task with every attempt's reason.
cd "$(dirname "$0")/../.." && source tests/integration/core_lib.sh
cat >"$WORK/plan.yaml" <<'YAML'
name: status-json
settings: {heartbeat_ms: 200, max_attempts: 2, retry_backoff_ms: 0}
diagnostics:
  - {kind: echo, name: ok, count: 30}
  - {kind: fail, name: bad, count: 2}
  - {kind: echo, name: nowhere, count: 1, requires: {tags: [absent]}}
YAML
timeout 30 "$FERRY" run "$WORK/plan.yaml" --workers 2 --state "$WORK/state" >"$WORK/run.log" 2>&1
[ $? = 1 ] || fail "ferry run exit not 1: $(cat "$WORK/run.log")"
"$FERRY" status --state "$WORK/state" --json >"$WORK/status.json"
[ $? = 1 ] || fail "ferry status --json exit not 1 with failed tasks"
/usr/bin/python3 - "$WORK/status.json" "$WORK/state/state.db" <<'PY' || fail "status JSON disagrees with the journal: $(head -c 2000 "$WORK/status.json")"
import json, sqlite3, sys
doc = json.load(open(sys.argv[1]))
db = sqlite3.connect(sys.argv[2])
assert doc["schema"] == 1, doc["schema"]
assert doc["plan"]["path"].endswith("plan.yaml") and len(doc["plan"]["sha256"]) == 64, doc["plan"]
t = doc["totals"]
assert (t["total"], t["done"], t["failed"], t["pending"], t["running"]) == (33, 30, 3, 0, 0), t
assert t["attempts"] == db.execute("SELECT count(*) FROM attempts").fetchone()[0], t
groups = {g["name"]: g for g in doc["groups"]}
assert list(groups) == ["ok", "bad", "nowhere"], list(groups)
assert groups["ok"]["done"] == 30 and groups["ok"]["kind"] == "echo", groups["ok"]
assert groups["bad"]["failed"] == 2 and groups["bad"]["attempts"] == 4 and groups["bad"]["kind"] == "fail", groups["bad"]
assert groups["nowhere"]["failed"] == 1, groups["nowhere"]
assert len(doc["workers"]) == 2 and sum(w["done"] for w in doc["workers"]) == 30, doc["workers"]
assert all(w["state"] in ("connected", "gone", "lost") for w in doc["workers"]), doc["workers"]
failed = {f["id"]: f for f in doc["failed_tasks"]}
assert sorted(failed) == ["bad-0", "bad-1", "nowhere-0"], sorted(failed)
for tid in ("bad-0", "bad-1"):
    att = failed[tid]["attempts"]
    assert len(att) == 2, att              # every attempt, not only the last
    for a in att:
        assert a["outcome"] == "failed" and a["exit_code"] == 1 and a["worker"], a
        assert a["reason"] == "child exited with status 1", a
now = failed["nowhere-0"]["attempts"]
assert len(now) == 1 and now[0]["outcome"] == "error" and now[0]["worker"] is None, now
assert now[0]["reason"] == "group nowhere: no local worker has tag absent (requires tags: absent)", now
# ids and attempt ids agree with the journal
for f in doc["failed_tasks"]:
    ids = [r[0] for r in db.execute("SELECT id FROM attempts WHERE task = ? ORDER BY id", (f["task"],))]
    assert ids == [a["attempt"] for a in f["attempts"]], (f, ids)
PY
# while a coordinator is running it reads a consistent snapshot, and a non-journal dir is refused
"$FERRY" status --state "$WORK/nothing" --json >/dev/null 2>&1
[ $? = 3 ] || fail "status --json on a missing journal: exit not 3"
echo "summary: status --json matched the journal: 33 tasks, 3 failed with 5 attempts and their reasons, 2 workers"
