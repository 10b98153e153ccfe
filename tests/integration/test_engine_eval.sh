#!/usr/bin/env bash
# test_engine_eval.sh -- `ferry eval` as a user sees it: exit codes, messages, files written.
# Numeric results are checked by tests/oracle/test_engine_ort.py; here only the CLI contract.
set -u
FERRY=${FERRY_BIN:-build/ferry}
DATA=/usr/include/onnx/backend/test/data/node
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
check() { # description, expected exit, actual exit
    if [ "$2" != "$3" ]; then echo "FAIL: $1: exit $3, expected $2"; fails=$((fails + 1)); else echo "ok: $1"; fi
}
contains() { # description, file, text
    if grep -qF -- "$3" "$2"; then echo "ok: $1"; else echo "FAIL: $1: '$3' not in:"; cat "$2"; fails=$((fails + 1)); fi
}

"$FERRY" eval --help >"$tmp/help" 2>&1; check "help" 0 $?
contains "help text" "$tmp/help" "usage: ferry eval MODEL.onnx"
"$FERRY" eval >/dev/null 2>&1; check "no model: usage" 2 $?
"$FERRY" eval --bogus x >/dev/null 2>&1; check "unknown option: usage" 2 $?
"$FERRY" eval "$tmp/missing.onnx" 2>"$tmp/err"; check "missing model file" 3 $?
contains "missing file named" "$tmp/err" "missing.onnx"
head -c 300 /dev/urandom >"$tmp/junk.onnx"
"$FERRY" eval "$tmp/junk.onnx" 2>"$tmp/err"; check "garbage model" 3 $?
# an operator the engine does not implement: refused with its name and domain
"$FERRY" eval "$DATA/test_lstm_defaults/model.onnx" 2>"$tmp/err"; check "unsupported operator" 3 $?
contains "unsupported operator named" "$tmp/err" "operator LSTM of domain 'ai.onnx'"
# a real run, outputs as TensorProto files and JSON
t=$DATA/test_add_bcast
"$FERRY" eval "$t/model.onnx" -i "$t/test_data_set_0/input_0.pb" -i "y=$t/test_data_set_0/input_1.pb" \
    -o "$tmp/out" --json >"$tmp/json"; check "add_bcast run" 0 $?
[ -s "$tmp/out/sum.pb" ] && echo "ok: output file written" || { echo "FAIL: $tmp/out/sum.pb missing"; fails=$((fails + 1)); }
contains "json output" "$tmp/json" '"name":"sum","dtype":"float","shape":[3,4,5]'
/usr/bin/python3 - "$tmp/out/sum.pb" "$t/test_data_set_0/output_0.pb" <<'PY' || fails=$((fails + 1))
import sys, numpy as np, onnx
from onnx import numpy_helper
got = numpy_helper.to_array(onnx.load_tensor(sys.argv[1]))
want = numpy_helper.to_array(onnx.load_tensor(sys.argv[2]))
ok = got.shape == want.shape and np.allclose(got, want, rtol=1e-6, atol=1e-7)
print("ok: written tensor matches the expected output" if ok else "FAIL: written tensor differs")
sys.exit(0 if ok else 1)
PY
# wrong input: a shape the model's declaration rules out -> error naming input and shapes
"$FERRY" eval "$t/model.onnx" -i "$t/test_data_set_0/input_0.pb" -i "$t/test_data_set_0/input_0.pb" \
    2>"$tmp/err" >/dev/null; check "shape mismatch" 3 $?
contains "shape error names the input" "$tmp/err" "input 'y': the model declares rank 1, got shape [3,4,5]"
"$FERRY" eval "$t/model.onnx" -i "$t/test_data_set_0/input_0.pb" 2>"$tmp/err" >/dev/null; check "input missing" 3 $?
contains "missing input named" "$tmp/err" "input 'y' was not given"
"$FERRY" eval --ops >"$tmp/ops"; check "--ops" 0 $?
contains "ops lists TreeEnsemble" "$tmp/ops" "ai.onnx.ml:TreeEnsemble"
echo "summary: eval CLI checks, $fails failed"
[ $fails -eq 0 ]
