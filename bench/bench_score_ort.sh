#!/usr/bin/env bash
# bench_score_ort.sh -- `ferry score MODEL.onnx DATA.csv`: ONNX Runtime through the ort-node
# runner (--runtime ort: CSV -> .npy, one node process, .npy -> CSV) against ferry's engine
# (--runtime engine, the baseline), the same converted models and CSV, alternated over
# three rounds; medians of wall time and the ratio ort / engine. Needs node and
# onnxruntime-node (make deps); Debian's python3 writes the models.
set -u
FERRY=${FERRY_BIN:-build/ferry}
ROWS=${FERRY_BENCH_ROWS:-200000}
ROUNDS=3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
/usr/bin/python3 tests/integration/score_ort_models.py write "$T" >/dev/null || { echo "cannot write models"; exit 1; }
/usr/bin/python3 - "$T" "$ROWS" <<'PY'
import csv, sys
import numpy as np
d, n = sys.argv[1], int(sys.argv[2])
rng = np.random.RandomState(3)
X = np.round(rng.normal(size=(n, 4)) * 8) / 4
X[rng.rand(*X.shape) < 0.05] = np.nan
with open(d + "/big.csv", "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(["x0", "x1", "x2", "x3"])
    for r in X:
        w.writerow(["" if v != v else repr(float(v)) for v in r])
PY
now() { date +%s.%N; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
printf '%-10s %8s %12s %12s %8s\n' model rows engine_s ort_s ratio
for m in forest3 mlp3 svc3 logreg3; do
    "$FERRY" convert "$T/$m.pmml" -o "$T/$m.onnx" 2>/dev/null || { echo "$m: convert failed"; exit 1; }
    eng=() ort=()
    for _ in $(seq $ROUNDS); do
        s=$(now); "$FERRY" score "$T/$m.onnx" "$T/big.csv" -o "$T/e.csv" --runtime engine 2>/dev/null; rc1=$?; e=$(now)
        eng+=("$(awk -v a="$s" -v b="$e" 'BEGIN{print b-a}')")
        s=$(now); "$FERRY" score "$T/$m.onnx" "$T/big.csv" -o "$T/o.csv" --runtime ort 2>/dev/null; rc2=$?; e=$(now)
        ort+=("$(awk -v a="$s" -v b="$e" 'BEGIN{print b-a}')")
        [ "$rc1" -le 1 ] && [ "$rc2" -le 1 ] || { echo "$m: score failed (engine $rc1, ort $rc2)"; exit 1; }
    done
    cmp -s "$T/e.csv" "$T/o.csv" && same="identical" || same="differs (within tolerance: see test_score_ort)"
    me=$(median "${eng[@]}") mo=$(median "${ort[@]}")
    printf '%-10s %8d %12.3f %12.3f %8.2f   output %s\n' "$m" "$ROWS" "$me" "$mo" "$(awk -v a="$mo" -v b="$me" 'BEGIN{print a/b}')" "$same"
done
echo "(medians of $ROUNDS alternated rounds, wall time of the whole command; ratio = ort / engine)"
