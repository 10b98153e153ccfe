# core_lib.sh -- helpers for the core integration tests (sourced, not run directly).
# Real processes on loopback; journal assertions go through the sqlite3 CLI.
set -u
FERRY=${FERRY_BIN:-$PWD/build/ferry}
WORK=$(mktemp -d /tmp/ferry-core-it.XXXXXX)
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -CONT "$p" 2>/dev/null; kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    if [ "${KEEP_WORK:-0}" = 1 ]; then echo "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; for f in "$WORK"/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -n 25 "$f"; }; done; exit 1; }
ok() { echo "ok: $*"; }

# A port unlikely to clash with parallel test runs.
# Below the kernel's ephemeral range (32768-60999 by default: a port there may be the local
# end of some connection, and the bind would fail), and one nobody listens on.
port() {
    local p tries
    for tries in $(seq 1 50); do
        p=$(( 20000 + (RANDOM * 32768 + RANDOM + $$) % 12000 ))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
    done
    echo "$p"
}

sql() { sqlite3 -cmd ".timeout 5000" "$WORK/state/state.db" "$1"; }

# wait_for SECONDS 'shell condition'
wait_for() {
    local limit=$1 cond=$2 i=0
    while ! eval "$cond" >/dev/null 2>&1; do
        sleep 0.1
        i=$((i + 1))
        [ $i -ge $((limit * 10)) ] && return 1
    done
    return 0
}

# start_coordinator PLAN ENDPOINT [args...] -> sets CPID
start_coordinator() {
    local plan=$1 ep=$2; shift 2
    "$FERRY" coordinator "$plan" --state "$WORK/state" --bind "$ep" "$@" >>"$WORK/coordinator.log" 2>&1 &
    CPID=$!
    PIDS+=("$CPID")
}

# start_worker NAME ENDPOINT [args...] -> sets WPID (runtime detection off: tests that
# need it start the worker themselves)
start_worker() {
    local name=$1 ep=$2; shift 2
    "$FERRY" worker --connect "$ep" --name "$name" --no-runtimes "$@" >>"$WORK/$name.log" 2>&1 &
    WPID=$!
    PIDS+=("$WPID")
}

# wait_exit PID SECONDS -> sets RC (124 on timeout)
wait_exit() {
    local pid=$1 limit=$2
    if wait_for "$limit" "! kill -0 $pid"; then
        wait "$pid"; RC=$?
    else
        RC=124
    fi
}

# Journal invariants every run must keep: each done task has exactly one successful
# attempt, no task has two, and no failed/pending task has one.
check_exactly_once() {
    local dup bad total done results
    dup=$(sql "SELECT count(*) FROM (SELECT task FROM results GROUP BY task HAVING count(*) > 1)")
    [ "$dup" = 0 ] || fail "$dup task(s) have more than one recorded result"
    bad=$(sql "SELECT count(*) FROM tasks t WHERE (t.state = 2) != EXISTS (SELECT 1 FROM results r WHERE r.task = t.id)")
    [ "$bad" = 0 ] || fail "$bad task(s) whose state disagrees with their results"
    total=$(sql "SELECT count(*) FROM tasks"); done=$(sql "SELECT count(*) FROM tasks WHERE state = 2")
    results=$(sql "SELECT count(*) FROM results")
    [ "$results" = "$done" ] || fail "$results results for $done done tasks"
    echo "journal: $total tasks, $done done, $results results, none twice"
}
