#!/usr/bin/env bash
# run.sh -- runs every benchmark: compiled ones ($BUILD/bench/bench_*) and scripts
# (bench/bench_*.sh, bench/bench_*.py with Debian's /usr/bin/python3). Each prints its
# figures and the ratio against a baseline it ran side by side. FERRY_BENCH_FILTER=substring selects.
set -u
BUILD=${BUILD:-build}
export FERRY_BIN=${FERRY_BIN:-$PWD/$BUILD/ferry}
export FERRY_BUILD=$PWD/$BUILD
export FERRY_SHARED=${FERRY_SHARED:-$(cd .. && pwd)/shared}
filter=${FERRY_BENCH_FILTER:-}
rc=0
echo "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
for b in "$BUILD"/bench/bench_* bench/bench_*.sh bench/bench_*.py; do
    [ -f "$b" ] || continue
    case "$b" in *.d) continue ;; esac
    [ -n "$filter" ] && [[ "$b" != *"$filter"* ]] && continue
    echo; echo "== $(basename "$b")"
    case "$b" in
        *.sh) bash "$b" ;;
        *.py) /usr/bin/python3 "$b" ;;
        *) "$b" ;;
    esac || { echo "benchmark $b failed"; rc=1; }
done
exit $rc
