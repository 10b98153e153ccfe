#!/usr/bin/env bash
# Fault 8: the journal's disk fills up mid-run (a file size limit: writes past it fail
# with EFBIG, as on a full disk). The coordinator stops with "state is consistent up to
# the last commit" and exit 4; a restart without the limit finishes the plan with no
# task lost and none recorded twice. Exercises the journal writer thread's failure path.
cd "$(dirname "$0")/../.." && source tests/integration/core_lib.sh
cat >"$WORK/plan.yaml" <<'YAML'
name: full
settings: {heartbeat_ms: 500, lease_ms: 5000}
diagnostics:
  - {kind: echo, count: 20000}
YAML
EP=tcp://127.0.0.1:$(port)
# 2,500 KiB per file: the expanded plan (about 1.5 MB) fits, the run's WAL does not.
# SIGXFSZ ignored (inherited through exec) so the write fails instead of killing.
( trap '' XFSZ; ulimit -f 2500; exec "$FERRY" coordinator "$WORK/plan.yaml" --state "$WORK/state" --bind "$EP" ) \
    >>"$WORK/coordinator.log" 2>&1 &
CPID=$!; PIDS+=("$CPID")
wait_for 20 'grep -q listening "$WORK/coordinator.log"' || fail "coordinator did not start"
start_worker w1 "$EP" --slots 2 --prefetch 63
start_worker w2 "$EP" --slots 2 --prefetch 63
wait_exit "$CPID" 60
[ "$RC" = 4 ] || fail "coordinator exit $RC with a full journal, expected 4"
grep -q "state is consistent up to the last commit" "$WORK/coordinator.log" || fail "no journal failure message"
grep -q "stopped on a journal failure" "$WORK/coordinator.log" || fail "the last line does not say the journal failed"
! grep -q "finished: " "$WORK/coordinator.log" || fail "a failed journal's last line counted results as finished"
done1=$(sql "SELECT count(*) FROM results")
[ "$done1" -lt 20000 ] || fail "the file size limit did not stop the run ($done1 results)"
# ACKed results must all be in the journal: a worker resends only unACKed ones, so after
# the restart each task still has exactly one result (checked below)
kill "${PIDS[@]:1}" 2>/dev/null; wait 2>/dev/null
start_coordinator "$WORK/plan.yaml" "$EP"
start_worker w1 "$EP" --slots 2 --prefetch 63
wait_exit "$CPID" 120
[ "$RC" = 0 ] || fail "restarted coordinator exit $RC, expected 0"
[ "$(sql "SELECT count(*) FROM tasks WHERE state != 2")" = 0 ] || fail "not every task done after the restart"
check_exactly_once
echo "summary: journal write failed after $done1 of 20000 results (exit 4, consistent message); restart finished all, none twice"
