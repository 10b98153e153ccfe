#!/usr/bin/env bash
# test_onnx_cli.sh -- `ferry inspect`, `ferry check`, `ferry convert` as a user runs them:
# exit codes, messages, output files (read back with Debian's python3-onnx).
set -u
FERRY=${FERRY_BIN:-build/ferry}
NODE=/usr/include/onnx/backend/test/data/node
PY=/usr/bin/python3
tmp=$(mktemp -d /tmp/ferry-onnx-cli-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fails=0
expect() { # description expected_rc actual_rc
    if [ "$2" != "$3" ]; then echo "FAIL: $1: exit $3, expected $2"; fails=$((fails + 1)); else echo "ok: $1"; fi
}
contains() { # description file needle
    if grep -qF -- "$3" "$2"; then echo "ok: $1"; else echo "FAIL: $1: '$3' not in output:"; head -5 "$2"; fails=$((fails + 1)); fi
}

for c in inspect check convert; do "$FERRY" $c --help >"$tmp/help" 2>&1; expect "$c --help" 0 $?; done
contains "convert --help names PMML" "$tmp/help" "PMML input: convert to ONNX"

# inspect
"$FERRY" inspect "$NODE/test_if/model.onnx" >"$tmp/out" 2>&1; expect "inspect text" 0 $?
contains "inspect shows opsets" "$tmp/out" "ai.onnx=11"
"$FERRY" inspect --json "$NODE/test_if/model.onnx" >"$tmp/inspect.json" 2>&1; expect "inspect --json" 0 $?
$PY - "$tmp/inspect.json" "$NODE/test_if/model.onnx" <<'PYEOF'
import hashlib, json, sys
j = json.load(open(sys.argv[1]))
assert j["format"] == "onnx" and j["subgraphs"] == 2 and j["node_count"] == 3, j
assert j["sha256"] == hashlib.sha256(open(sys.argv[2], "rb").read()).hexdigest()
assert j["opset_import"] == [{"domain": "ai.onnx", "version": 11}], j["opset_import"]
PYEOF
expect "inspect --json agrees with python" 0 $?
"$FERRY" inspect --json --check "$NODE/test_if/model.onnx" >"$tmp/ic.json" 2>&1; expect "inspect --check valid" 0 $?
$PY -c "import json; j=json.load(open('$tmp/ic.json')); assert j['check']['valid'] and j['node_count'] == 3, j"
expect "inspect --check JSON" 0 $?
"$FERRY" inspect "$tmp/missing.onnx" >"$tmp/out" 2>&1; expect "inspect missing file" 3 $?
contains "missing file message" "$tmp/out" "No such file"
"$FERRY" inspect >"$tmp/out" 2>&1; expect "inspect without MODEL" 2 $?

# check: valid, truncated, broken variants built with python3-onnx
"$FERRY" check "$NODE/test_conv_with_strides_padding/model.onnx" >"$tmp/out" 2>&1; expect "check valid" 0 $?
contains "check says valid" "$tmp/out" "valid"
head -c 100 "$NODE/test_conv_with_strides_padding/model.onnx" >"$tmp/trunc.onnx"
"$FERRY" check "$tmp/trunc.onnx" >"$tmp/out" 2>&1; expect "check truncated" 3 $?
contains "truncated message names file and byte" "$tmp/out" "trunc.onnx: byte"
$PY - "$tmp" <<'PYEOF'
import sys
import onnx
from onnx import helper, TensorProto
d = sys.argv[1]
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])
def save(name, nodes, opset=13, inits=()):
    g = helper.make_graph(nodes, "g", [x], [y], initializer=list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    onnx.save(m, "%s/%s.onnx" % (d, name))
save("unknown_op", [helper.make_node("Relux", ["x"], ["y"], name="r")])
save("unsorted", [helper.make_node("Relu", ["t"], ["y"], name="second"), helper.make_node("Relu", ["x"], ["t"], name="first")])
save("bad_attr", [helper.make_node("Softmax", ["x"], ["y"], name="s", axis=1.5)])
w = TensorProto(name="w", dims=[2, 3], data_type=TensorProto.FLOAT, raw_data=b"\0" * 20)
save("bad_init", [helper.make_node("Add", ["x", "w"], ["y"], name="a")], inits=[w])
save("valid11", [helper.make_node("Softmax", ["x"], ["y"], name="s", axis=0)], opset=11)
PYEOF
"$FERRY" check "$tmp/unknown_op.onnx" >"$tmp/out" 2>&1; expect "check unknown operator" 1 $?
contains "unknown operator message" "$tmp/out" "node 0 'r' (Relux): unknown operator Relux in domain ai.onnx"
"$FERRY" check "$tmp/unsorted.onnx" >"$tmp/out" 2>&1; expect "check unsorted" 1 $?
contains "unsorted message" "$tmp/out" "node 0 'second' (Relu): input 't' is used before node 1 produces it"
"$FERRY" check "$tmp/bad_attr.onnx" >"$tmp/out" 2>&1; expect "check attribute type" 1 $?
contains "attribute type message" "$tmp/out" "attribute 'axis' has type 1, Softmax-13 declares type 2"
"$FERRY" check "$tmp/bad_init.onnx" >"$tmp/out" 2>&1; expect "check initializer size" 1 $?
contains "initializer message" "$tmp/out" "initializer 'w': raw data holds 20 bytes, but dims give 6 elements of float (24 bytes)"
"$FERRY" inspect --check "$tmp/bad_init.onnx" >"$tmp/out" 2>&1; expect "inspect --check invalid" 1 $?
contains "inspect --check lists the problem" "$tmp/out" "problem:     graph main: initializer 'w'"
"$FERRY" check --json "$tmp/bad_init.onnx" >"$tmp/check.json" 2>&1; expect "check --json exit" 1 $?
$PY -c "import json,sys; j=json.load(open('$tmp/check.json')); assert not j['valid'] and j['problem_count'] == 1, j"
expect "check --json document" 0 $?

# convert
"$FERRY" convert "$tmp/valid11.onnx" -o "$tmp/v13.onnx" --opset 13 >"$tmp/out" 2>&1; expect "convert 11 -> 13" 0 $?
$PY -c "
import onnx
m = onnx.load('$tmp/v13.onnx'); onnx.checker.check_model(m)
assert [o.version for o in m.opset_import if o.domain in ('', 'ai.onnx')] == [13]
assert [n.op_type for n in m.graph.node] == ['Shape', 'Flatten', 'Softmax', 'Reshape'], [n.op_type for n in m.graph.node]
"
expect "converted model passes onnx.checker" 0 $?
"$FERRY" convert "$NODE/test_tril/model.onnx" -o "$tmp/t.onnx" --opset 13 >"$tmp/out" 2>&1; expect "convert refused" 1 $?
contains "refusal names node and reason" "$tmp/out" "(Trilu): cannot convert from opset 14 to 13: Trilu does not exist before opset 14"
[ ! -e "$tmp/t.onnx" ]; expect "refused conversion writes nothing" 0 $?
printf '<?xml version="1.0"?>\n<PMML version="4.4"></PMML>\n' >"$tmp/model.pmml.xml"
"$FERRY" convert "$tmp/model.pmml.xml" -o "$tmp/p.onnx" >"$tmp/out" 2>&1; expect "convert PMML input" 3 $?
contains "PMML message names the file" "$tmp/out" "model.pmml.xml"
"$FERRY" convert "$tmp/valid11.onnx" --opset 13 >"$tmp/out" 2>&1; expect "convert without -o" 2 $?
"$FERRY" convert "$tmp/valid11.onnx" -o "$tmp/x.onnx" --opset abc >"$tmp/out" 2>&1; expect "convert bad --opset" 2 $?
"$FERRY" convert "$tmp/valid11.onnx" -o "$tmp/x.onnx" --opset 30 >"$tmp/out" 2>&1; expect "convert opset out of range" 2 $?
"$FERRY" convert "$tmp/valid11.onnx" -o "$tmp/nodir/x.onnx" >"$tmp/out" 2>&1; expect "convert to missing directory" 4 $?

echo "summary: onnx cli: $fails failures"
[ $fails -eq 0 ]
