#!/usr/bin/env bash
# Fault 5: 10,000 malformed or hostile frames from a rogue client while real workers run a
# plan. The coordinator keeps serving them, finishes the plan, and its memory stays bounded.
cd "$(dirname "$0")/../.." && source tests/integration/core_lib.sh
ROGUE=${FERRY_BUILD:-$PWD/build}/rogue_client
cc -O2 -o "$ROGUE" tests/integration/rogue_client.c $(pkg-config --cflags --libs libzmq) || fail "cannot build the rogue client"
cat >"$WORK/plan.yaml" <<'YAML'
name: rogue
settings: {heartbeat_ms: 500, lease_ms: 5000, retry_backoff_ms: 50}
diagnostics:
  - {kind: echo, count: 3000}
  - {kind: sleep, name: blink, ms: 20, count: 120}
YAML
# RSS limit: 100 MB; an AddressSanitizer build carries shadow memory and a quarantine,
# so it gets a small quarantine and a looser limit (the plain build is the real check).
RSS_LIMIT_MB=100
if ldd "$FERRY" | grep -q libasan; then
    RSS_LIMIT_MB=300
    export ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=16"
fi
EP=tcp://127.0.0.1:$(port)
start_coordinator "$WORK/plan.yaml" "$EP"
wait_for 10 '[ -f "$WORK/state/state.db" ] && grep -q listening "$WORK/coordinator.log"' || fail "coordinator did not start"
"$ROGUE" "$EP" 10000 $$ >"$WORK/rogue.log" 2>&1 &
RPID=$!; PIDS+=("$RPID")
start_worker honest1 "$EP" --slots 2
start_worker honest2 "$EP" --slots 2
peak=0
while kill -0 "$CPID" 2>/dev/null; do
    rss=$(awk '/VmRSS/ {print $2}' /proc/$CPID/status 2>/dev/null)
    [ -n "$rss" ] && [ "$rss" -gt "$peak" ] && peak=$rss
    sleep 0.05
    # a second wave once the first is through
    if ! kill -0 "$RPID" 2>/dev/null && [ -z "${WAVE2:-}" ]; then
        WAVE2=1; "$ROGUE" "$EP" 10000 $((RANDOM + 7)) >>"$WORK/rogue.log" 2>&1 & RPID=$!; PIDS+=("$RPID")
    fi
done
wait_exit "$CPID" 1
[ "$RC" = 0 ] || fail "coordinator exit $RC, expected 0"
grep -q "sent 10000 hostile" "$WORK/rogue.log" || fail "the rogue client did not send its frames: $(cat "$WORK/rogue.log")"
grep -q "refused .* malformed message" "$WORK/coordinator.log" || fail "no malformed messages were reported"
[ "$(sql "SELECT count(*) FROM tasks WHERE state != 2")" = 0 ] || fail "not every task done"
check_exactly_once
honest=$(sql "SELECT count(*) FROM results r JOIN workers w ON w.id = r.worker WHERE w.name LIKE 'honest%'")
[ "$honest" = 3120 ] || fail "expected every result from the honest workers, got $honest"
peak_mb=$((peak / 1024))
[ "$peak_mb" -lt "$RSS_LIMIT_MB" ] || fail "coordinator RSS peaked at $peak_mb MB (limit $RSS_LIMIT_MB)"
echo "summary: rogue frames refused while 3120 tasks completed; coordinator peak RSS ${peak_mb} MB (limit $RSS_LIMIT_MB)"
