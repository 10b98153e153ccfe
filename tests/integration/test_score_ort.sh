#!/bin/bash
# test_score_ort.sh -- `ferry score MODEL.onnx DATA.csv --runtime ort` as a user sees it.
#
# 1. Agreement: PMML models (sklearn-written via tests/oracle/pmml_writer.py, and hand-written
#    cases of tests/oracle/convert_cases.py with strings, invalid rows, missing cells) are
#    converted, then scored by the PMML evaluator, by ferry's engine and by ONNX Runtime
#    (the ort-node runner); the three outputs must agree column by column (labels and
#    empty cells exactly, numbers within 1e-9 + 1e-9 |x|), with the same exit codes.
# 2. Faults: a missing runners folder, no node on PATH, and fake runners (FERRY_RUNNERS_DIR)
#    that write a garbage .npy, a wrong shape or dtype, a link to a device, no result.json,
#    exit 3 / 4, flood stderr, or hang past the deadline with a child of their own. Each gives
#    a clear message and exit code, leaves no process behind and no temporary directory.
set -u
FERRY=${FERRY_BIN:-build/ferry}
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0 n=0
check() { # check DESCRIPTION COMMAND...
    local what=$1; shift
    n=$((n + 1))
    if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fail=$((fail + 1)); fi
}
tmp_empty() { [ -z "$(ls -A "$T/tmp")" ]; }
gone() { # gone PID...: no such process, or a zombie waiting for init (killed all the same)
    local p s
    for p in "$@"; do s=$(ps -o stat= -p "$p" 2>/dev/null); [ -z "$s" ] || [ "${s:0:1}" = Z ] || return 1; done
}
mkdir -p "$T/tmp" "$T/m"
export TMPDIR=$T/tmp   # the runner's private directories are made here: each run must remove its own

# ---- 1. agreement: PMML evaluator / engine / ONNX Runtime ----------------------------------
if ! command -v node >/dev/null || [ ! -e "$HERE/../../runners/ort-node/node_modules/onnxruntime-node/package.json" ]; then
    echo "FAIL: node and onnxruntime-node are needed (make deps)"; exit 1
fi
names=$("$PY" "$HERE/score_ort_models.py" write "$T/m") || { echo "FAIL: cannot write the models"; exit 1; }
models=0 rows=0
for m in $names; do
    d=$T/m/$m
    "$FERRY" convert "$d.pmml" -o "$d.onnx" 2>"$d.err" || { check "$m: converts" false; cat "$d.err"; continue; }
    "$FERRY" score "$d.pmml" "$d.csv" -o "$d.ref.csv" 2>/dev/null; ref_rc=$?
    "$FERRY" score "$d.onnx" "$d.csv" -o "$d.eng.csv" --runtime engine 2>/dev/null; eng_rc=$?
    "$FERRY" score "$d.onnx" "$d.csv" -o "$d.ort.csv" --runtime ort 2>"$d.ort.err"; ort_rc=$?
    check "$m: exit codes PMML $ref_rc, engine $eng_rc, ort $ort_rc agree (0 or 1)" \
        test "$ref_rc" = "$eng_rc" -a "$eng_rc" = "$ort_rc" -a "$ort_rc" -le 1
    [ "$ort_rc" -le 1 ] || sed 's/^/    /' "$d.ort.err"
    check "$m: ONNX Runtime = engine, column by column" "$PY" "$HERE/score_ort_models.py" same "$d.eng.csv" "$d.ort.csv"
    check "$m: ONNX Runtime = PMML evaluator, column by column" "$PY" "$HERE/score_ort_models.py" same "$d.ref.csv" "$d.ort.csv"
    check "$m: the same diagnostics for unscored rows as the engine" \
        test "$(grep -c 'row not scored' "$d.ort.err")" = "$("$FERRY" score "$d.onnx" "$d.csv" 2>&1 >/dev/null | grep -c 'row not scored')"
    models=$((models + 1)); rows=$((rows + $(wc -l < "$d.csv") - 1))
done
check "no temporary directory left by the agreement runs" tmp_empty
m=$T/m/logreg3
"$FERRY" compare "$m.pmml" "$m.onnx" "$m.csv" --cand-runtime ort >"$T/cmp.out"; rc=$?
check "compare PMML vs ONNX on ONNX Runtime agrees (exit 0)" test "$rc" = 0
check "compare names the candidate's runtime" grep -q "candidate: .*logreg3.onnx (runtime ort)" "$T/cmp.out"
"$FERRY" compare "$m.onnx" "$m.onnx" "$m.csv" --ref-runtime engine --cand-runtime ort-node >/dev/null; rc=$?
check "compare engine vs ort-node agrees (exit 0)" test "$rc" = 0
"$FERRY" compare "$m.onnx" "$m.onnx" "$m.csv" --cand-runtime onnxruntime >/dev/null 2>&1; rc=$?
check "compare refuses an unknown runtime (exit 2)" test "$rc" = 2
# .npy inputs straight to ONNX Runtime give the engine's bytes
"$PY" -c "
import csv, numpy as np
rows = list(csv.reader(open('$m.csv')))[1:]
for k in range(4):
    np.save('$T/x%d.npy' % k, np.array([[float(r[k]) if r[k] else np.nan] for r in rows]))"
npys=(--input x0="$T/x0.npy" --input x1="$T/x1.npy" --input x2="$T/x2.npy" --input x3="$T/x3.npy")
"$FERRY" score "$m.onnx" "${npys[@]}" -o "$T/npy_eng.csv" 2>/dev/null
"$FERRY" score "$m.onnx" "${npys[@]}" --runtime ort -o "$T/npy_ort.csv" 2>/dev/null; rc=$?
check "--input .npy with --runtime ort: exit 0 and the engine's columns" \
    "$PY" "$HERE/score_ort_models.py" same "$T/npy_eng.csv" "$T/npy_ort.csv"
check "... and scored (exit 0)" test "$rc" = 0
# usage
"$FERRY" score "$m.pmml" "$m.csv" --runtime ort >/dev/null 2>"$T/err"; rc=$?
check "--runtime ort on a PMML document: exit 2, says why" grep -q "runs ONNX models" "$T/err"
check "... exit 2" test "$rc" = 2
"$FERRY" score "$m.onnx" "$m.csv" --runtime tensorrt >/dev/null 2>&1; rc=$?
check "an unknown runtime: exit 2" test "$rc" = 2
"$FERRY" score "$m.onnx" "$m.csv" --provider cuda >/dev/null 2>&1; rc=$?
check "--provider without --runtime ort: exit 2" test "$rc" = 2
"$FERRY" score "$m.onnx" "$m.csv" --runtime ort-node --provider tpu >/dev/null 2>"$T/err"; rc=$?
check "a provider the runner lacks: exit 4, the runner's reason" test "$rc" = 4
check "... quoted from its stderr" grep -q "provider 'tpu' is not supported by ort-node" "$T/err"

# ---- 2. faults ------------------------------------------------------------------------------
m=$T/m/case09   # strings in, a label and probabilities out, a row_valid output
"$FERRY" score "$m.onnx" "$m.csv" -o "$T/good.csv" 2>/dev/null
FERRY_RUNNERS_DIR=$T/nowhere "$FERRY" score "$m.onnx" "$m.csv" --runtime ort -o "$T/o.csv" 2>"$T/err"; rc=$?
check "missing runners folder: exit 4" test "$rc" = 4
check "... naming both runners and why" grep -q "ort-node: runner missing: $T/nowhere/ort-node/runner.js.*ort-python: runner missing" "$T/err"
check "... no output written" test ! -e "$T/o.csv"
FERRY_RUNNERS_DIR=$T/nowhere "$FERRY" score "$m.onnx" "$m.csv" --runtime ort-python 2>"$T/err" >/dev/null; rc=$?
check "missing ort-python runner: exit 4, named" grep -q "runner missing: $T/nowhere/ort-python/runner.py" "$T/err"
PATH=/nonexistent "$FERRY" score "$m.onnx" "$m.csv" --runtime ort-node 2>"$T/err" >/dev/null; rc=$?
check "no node on PATH: exit 4" test "$rc" = 4
check "... says node is missing" grep -q "node missing" "$T/err"

F=$T/fake
mkdir -p "$F/ort-python"
cat > "$F/ort-python/runner.py" <<'PYEOF'
import os, sys, time
import numpy as np
mode = os.environ["FAKE_MODE"]
out = sys.argv[sys.argv.index("--out") + 1]
os.makedirs(out, exist_ok=True)
n = len(np.load(sys.argv[sys.argv.index("--input") + 1].split("=", 1)[1]))
def done():
    open(os.path.join(out, "result.json"), "w").write("{}")
if mode == "garbage":
    for k in range(8):
        open(os.path.join(out, "output_%d.npy" % k), "wb").write(b"\x93NUMPY\x01\x00\xff\xff{'descr': '<f8', 'shape': (")
    done()
elif mode in ("shape", "dtype"):
    for k in range(8):
        np.save(os.path.join(out, "output_%d.npy" % k), np.zeros((n + 1, 3)) if mode == "shape" else np.zeros((n, 3)))
    done()
elif mode == "device":
    for k in range(8):
        os.symlink("/dev/zero", os.path.join(out, "output_%d.npy" % k))
    done()
elif mode == "noresult":
    pass
elif mode == "exit3":
    sys.stderr.write("ort-python: error: m.onnx: cannot load the model: bad proto\n"); sys.exit(3)
elif mode == "exit4":
    sys.stderr.write("some warning\nort-python: error: inference failed: out of cheese\n"); sys.exit(4)
elif mode == "flood":
    for i in range(200000):
        sys.stderr.write("noise line %d\n" % i)
    sys.stderr.write("ort-python: error: the last word\n"); sys.exit(4)
elif mode == "hang":
    import subprocess
    child = subprocess.Popen(["sleep", "300"])
    open(os.environ["FAKE_PIDS"], "w").write("%d %d\n" % (os.getpid(), child.pid))
    time.sleep(300)
PYEOF
fake() { # fake MODE [score args...]: score case09 with the fake python runner
    local mode=$1; shift
    FAKE_MODE=$mode FAKE_PIDS=$T/pids FERRY_RUNNERS_DIR=$F FERRY_ORT_PYTHON=$PY \
        "$FERRY" score "$m.onnx" "$m.csv" --runtime ort-python -o "$T/o.csv" "$@" 2>"$T/err"
}
fake garbage; rc=$?
check "a runner writing a garbage .npy: exit 4" test "$rc" = 4
check "... the output named malformed" grep -q "ort-python: malformed output: .*output_[0-9]*.npy" "$T/err"
check "... nothing written" test ! -e "$T/o.csv"
fake shape; rc=$?
check "a runner writing the wrong row count: exit 4, named" test "$rc" = 4
check "... 'has no column ... for N rows'" grep -q "has no column .* for [0-9]* rows" "$T/err"
fake dtype; rc=$?
check "a runner writing numbers for the label column: exit 4" test "$rc" = 4
check "... the dtype named" grep -q "is double; the manifest's column .* is a string" "$T/err"
fake device; rc=$?
check "a runner linking its output to /dev/zero: exit 4, not read" test "$rc" = 4
check "... 'no such output' (links are not followed)" grep -q "wrote no such output" "$T/err"
fake noresult; rc=$?
check "a runner exiting 0 without result.json: exit 4" test "$rc" = 4
check "... an incomplete run" grep -q "without writing result.json" "$T/err"
fake exit3; rc=$?
check "a runner refusing the model (its exit 3): exit 3" test "$rc" = 3
check "... with its reason" grep -q "the runner failed (exit 3): ort-python: error: m.onnx: cannot load the model: bad proto" "$T/err"
fake exit4; rc=$?
check "a failing runner (its exit 4): exit 4" test "$rc" = 4
check "... the tail of its stderr shown" grep -q "^some warning" "$T/err"
check "... the last line as the reason" grep -q "the runner failed (exit 4): ort-python: error: inference failed: out of cheese" "$T/err"
fake flood; rc=$?
check "a runner flooding stderr (3 MB): exit 4" test "$rc" = 4
check "... only the tail kept" test "$(wc -c < "$T/err")" -lt 6000
check "... and its last line reported" grep -q "exit 4): ort-python: error: the last word" "$T/err"
start=$(date +%s)
fake hang --runner-timeout 2; rc=$?
secs=$(( $(date +%s) - start ))
check "a hanging runner: exit 4" test "$rc" = 4
check "... after its 2 s deadline (took ${secs}s)" test "$secs" -le 8
check "... the deadline named" grep -q "did not finish within 2 s" "$T/err"
read -r rpid cpid < "$T/pids"
sleep 0.2
check "... the runner killed" gone "$rpid"
check "... and the child it started" gone "$cpid"
rm -f "$T/pids"
FAKE_MODE=hang FAKE_PIDS=$T/pids FERRY_RUNNERS_DIR=$F FERRY_ORT_PYTHON=$PY \
    "$FERRY" score "$m.onnx" "$m.csv" --runtime ort-python -o "$T/o.csv" 2>"$T/err" &
fpid=$!
for _ in $(seq 100); do [ -s "$T/pids" ] && break; sleep 0.1; done
kill -TERM $fpid; wait $fpid; rc=$?
read -r rpid cpid < "$T/pids"
check "SIGTERM while the runner runs: exit 130" test "$rc" = 130
check "... the runner and its child killed" gone "$rpid" "$cpid"
check "no temporary directory left on any fault path" tmp_empty
check "nothing written on any fault path" test ! -e "$T/o.csv"

echo "summary: score --runtime ort: $models models ($rows rows) agree three ways (PMML evaluator / engine / ONNX Runtime); $n checks, $fail failed"
[ "$fail" = 0 ]
