#!/usr/bin/env bash
# The core commands as a user meets them: help, usage errors, the bundled example,
# status while and after a run, resume on the same state, a mismatched plan.
cd "$(dirname "$0")/../.." && source tests/integration/core_lib.sh
for cmd in coordinator worker run status; do
    "$FERRY" $cmd --help >"$WORK/help.out" 2>&1 || fail "ferry $cmd --help exit $?"
    grep -q "usage: ferry $cmd" "$WORK/help.out" || fail "ferry $cmd --help prints no usage"
done
"$FERRY" --help | grep -q "^  run " || fail "run missing from ferry --help"
"$FERRY" --help | grep -q "exec" && fail "the internal exec command shows in ferry --help"
expect() { # CODE cmd...
    local want=$1; shift
    "$@" >"$WORK/out.txt" 2>&1; local got=$?
    [ "$got" = "$want" ] || fail "'$*' exit $got, expected $want: $(head -c 400 "$WORK/out.txt")"
}
expect 2 "$FERRY" coordinator
expect 2 "$FERRY" coordinator examples/diagnostic.yaml --state "$WORK/s" --bind
expect 2 "$FERRY" worker
expect 2 "$FERRY" worker --connect tcp://127.0.0.1:1 --slots 0
expect 2 "$FERRY" run
expect 2 "$FERRY" run examples/diagnostic.yaml --workers 0
expect 2 "$FERRY" status
expect 3 "$FERRY" status --state "$WORK/nothing-here"
expect 3 "$FERRY" run "$WORK/missing.yaml"
printf 'diagnostics:\n  - kind: echo\n    count: lots\n' >"$WORK/bad.yaml"
expect 3 "$FERRY" run "$WORK/bad.yaml"
grep -q "bad.yaml:3" "$WORK/out.txt" || fail "plan error does not name file and line: $(cat "$WORK/out.txt")"
expect 2 "$FERRY" exec --kind nonsense --ms 1
expect 1 "$FERRY" exec --kind fail
expect 0 "$FERRY" exec --kind sleep --ms 5 --task t-1
grep -q "^FERRY-RESULT 1 ok slept 5 ms$" "$WORK/out.txt" || fail "exec output: $(cat "$WORK/out.txt")"

# the README's example: every task succeeds, plain progress lines when not on a terminal
start=$(date +%s)
expect 0 "$FERRY" run examples/diagnostic.yaml --workers 2 --state "$WORK/state"
secs=$(( $(date +%s) - start ))
grep -q "^progress: 552/552 done, 0 failed" "$WORK/out.txt" || fail "no final progress line: $(cat "$WORK/out.txt")"
grep -q "journal in $WORK/state" "$WORK/out.txt" || fail "run does not say where the journal is"
expect 0 "$FERRY" status --state "$WORK/state"
grep -q "TOTAL .* 552 .* 0 .* 0 .* 552 .* 0" "$WORK/out.txt" || fail "status table: $(cat "$WORK/out.txt")"
# again on the same state: nothing left to do, resumes and exits 0 at once
expect 0 "$FERRY" run examples/diagnostic.yaml --workers 1 --state "$WORK/state"
[ "$(sql "SELECT count(*) FROM tasks")" = 552 ] || fail "the plan was expanded twice"
# a different plan on that state is refused
expect 3 "$FERRY" run examples/faults.yaml --state "$WORK/state"
grep -q "belongs to plan" "$WORK/out.txt" || fail "mismatch message: $(cat "$WORK/out.txt")"
# the fault drill exits 1 and status names the failures
expect 1 "$FERRY" run examples/faults.yaml --workers 2 --state "$WORK/faults"
expect 1 "$FERRY" status --state "$WORK/faults"
grep -q "fail-0: failed" "$WORK/out.txt" || fail "status does not list the failed task"

# status while a coordinator runs (read-only, concurrent with the writer)
cat >"$WORK/slow.yaml" <<'YAML'
settings: {heartbeat_ms: 500}
diagnostics:
  - {kind: sleep, ms: 300, count: 8}
YAML
EP=tcp://127.0.0.1:$(port)
rm -rf "$WORK/state"
start_coordinator "$WORK/slow.yaml" "$EP"
start_worker w "$EP" --slots 2 --prefetch 0
wait_for 10 '[ "$(sql "SELECT count(*) FROM leases")" -ge 1 ]' || fail "no lease seen"
expect 1 "$FERRY" status --state "$WORK/state"
grep -q "sleep .* 8 " "$WORK/out.txt" || fail "live status: $(cat "$WORK/out.txt")"
# leases are open attempts (not written to the task rows): status counts them as running
"$FERRY" status --state "$WORK/state" --json >"$WORK/live.json"
/usr/bin/python3 - "$WORK/live.json" <<'PY' || fail "live status --json: $(cat "$WORK/live.json")"
import json, sys
t = json.load(open(sys.argv[1]))["totals"]
assert 1 <= t["running"] <= 2, t  # 2 slots, no prefetch
assert t["pending"] + t["running"] + t["done"] + t["failed"] == t["total"] == 8, t
assert t["attempts"] >= t["running"] + t["done"], t
PY
# SIGTERM: stop leasing, wait for in-flight results, exit 130; a restart finishes the plan
kill -TERM "$CPID"
wait_exit "$CPID" 15
[ "$RC" = 130 ] || fail "coordinator exit $RC on SIGTERM, expected 130"
[ "$(sql "SELECT count(*) FROM leases")" = 0 ] || fail "in-flight attempts were not drained before exit"
start_coordinator "$WORK/slow.yaml" "$EP"
wait_exit "$CPID" 30
[ "$RC" = 0 ] || fail "restarted coordinator exit $RC"
check_exactly_once
echo "summary: example ran in ${secs}s; CLI exit codes, resume, plan mismatch, live status and SIGTERM drain ok"
