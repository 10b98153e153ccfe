#!/usr/bin/env bash
# run-tests.sh -- runs every test of the project and prints one closing line:
#   "N passed, N failed"
# Unit tests: $BUILD/tests/test_* (cmocka binaries, one per module).
# Integration tests: tests/integration/test_*.sh (real processes on loopback).
# Oracle tests: tests/oracle/test_*.py, run with Debian's /usr/bin/python3
#   (sklearn, numpy, onnx from Debian packages).
# Each test runs under its own timeout. FERRY_TEST_FILTER=substring selects tests.
set -u
BUILD=${BUILD:-build}
export FERRY_BIN=${FERRY_BIN:-$PWD/$BUILD/ferry}
export FERRY_BUILD=$PWD/$BUILD
export FERRY_SHARED=${FERRY_SHARED:-$(cd .. && pwd)/shared}
PY=/usr/bin/python3
filter=${FERRY_TEST_FILTER:-}
pass=0 fail=0 failed_names=()
logdir=$BUILD/test-logs
mkdir -p "$logdir"

run_one() { # name timeout cmd...
    local name=$1 limit=$2; shift 2
    [ -n "$filter" ] && [[ "$name" != *"$filter"* ]] && return 0
    local log=$logdir/$(basename "$name").log start=$(date +%s.%N)
    printf '%-52s ' "$name"
    timeout --kill-after=10 "$limit" "$@" >"$log" 2>&1
    local rc=$? secs
    secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e-s}')
    if [ $rc -eq 0 ]; then
        pass=$((pass + 1)); echo "ok (${secs}s)"
        # Tests may print a summary line starting with "summary:" worth showing.
        grep -E '^(summary|skipped):' "$log" | sed 's/^/    /'
    else
        fail=$((fail + 1)); failed_names+=("$name")
        [ $rc -eq 124 ] && echo "TIMEOUT after ${limit}s" || echo "FAILED (exit $rc, ${secs}s)"
        tail -n 40 "$log" | sed 's/^/    | /'
    fi
}

for t in "$BUILD"/tests/test_*; do
    [ -x "$t" ] || continue
    case "$t" in *.d) continue ;; esac
    run_one "unit/$(basename "$t")" 300 "$t"
done
for t in tests/integration/test_*.sh; do
    [ -f "$t" ] || continue
    run_one "integration/$(basename "$t")" 300 bash "$t"
done
for t in tests/oracle/test_*.py; do
    [ -f "$t" ] || continue
    run_one "oracle/$(basename "$t")" 600 "$PY" "$t"
done

echo
if [ $fail -gt 0 ]; then
    echo "failed tests:"; printf '  %s\n' "${failed_names[@]}"
    echo "logs in $logdir"
fi
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
