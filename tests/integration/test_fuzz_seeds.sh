#!/usr/bin/env bash
# Replays every fuzz target's committed seeds and regression inputs (tests/fuzz/seeds/NAME)
# through the target's entry point, built with the ordinary compiler ($FERRY_BUILD/replay):
# an input that once crashed a decoder must not crash it again. Under `make test SAN=1`
# the replay runs with AddressSanitizer + UBSan, so a read past a buffer is a failure too.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${FERRY_BUILD:-$PWD/build}
n_targets=0 n_inputs=0
for src in tests/fuzz/fuzz_*.c; do
    name=$(basename "$src" .c)
    bin=$build/replay/$name
    [ -x "$bin" ] || { echo "missing $bin (make unit builds it)"; exit 1; }
    [ -d tests/fuzz/seeds/$name ] || { echo "fuzz target $name has no seeds in tests/fuzz/seeds/$name"; exit 1; }
    out=$("$bin" tests/fuzz/seeds/"$name" 2>"$build/replay/$name.log") || {
        echo "$name: replay FAILED; its log:"; tail -n 60 "$build/replay/$name.log"; exit 1; }
    count=${out#replayed }; count=${count% inputs}
    want=$(find tests/fuzz/seeds/"$name" -maxdepth 1 -type f ! -name '.*' | wc -l)
    [ "$count" -eq "$want" ] || { echo "$name: replayed $count inputs of $want"; exit 1; }
    n_targets=$((n_targets + 1)); n_inputs=$((n_inputs + count))
done
[ $n_targets -gt 0 ] || { echo "no fuzz targets found"; exit 1; }
echo "summary: $n_inputs seed and regression inputs replayed through $n_targets fuzz targets, none crashed"
