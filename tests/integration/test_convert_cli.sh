#!/bin/bash
# test_convert_cli.sh -- what a user sees of `ferry convert` (PMML), `ferry score` on the
# converted model and `ferry compare`: exit codes, files, refusals naming the construct.
set -u
FERRY=${FERRY_BIN:-build/ferry}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
check() { # check DESCRIPTION COMMAND...
    local what=$1; shift
    if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fail=1; fi
}

cat > "$T/m.pmml" <<'PMML'
<?xml version="1.0"?>
<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4"><Header/>
<DataDictionary>
 <DataField name="a" optype="continuous" dataType="double"/>
 <DataField name="c" optype="categorical" dataType="string"><Value value="x"/><Value value="y"/></DataField>
 <DataField name="k" optype="categorical" dataType="string"><Value value="no"/><Value value="yes"/></DataField>
</DataDictionary>
<RegressionModel functionName="classification" normalizationMethod="logit">
 <MiningSchema><MiningField name="a" missingValueReplacement="0.5"/><MiningField name="c"/>
  <MiningField name="k" usageType="target"/></MiningSchema>
 <Output><OutputField name="p_yes" feature="probability" value="yes" dataType="double" optype="continuous"/></Output>
 <RegressionTable intercept="-0.25" targetCategory="yes"><NumericPredictor name="a" coefficient="1.5"/>
  <CategoricalPredictor name="c" value="x" coefficient="0.75"/></RegressionTable>
 <RegressionTable intercept="0" targetCategory="no"/>
</RegressionModel></PMML>
PMML
printf 'a,c\n1.5,x\n,y\n-2,x\n0.25,w\n3,y\n' > "$T/d.csv"

check "convert exits 0" "$FERRY" convert "$T/m.pmml" -o "$T/m.onnx"
check "the manifest is written beside the model" test -s "$T/m.manifest.json"
check "the manifest names the string input and its categories" grep -q '"categories"' "$T/m.manifest.json"
check "the model carries the manifest in metadata_props" grep -q "ferry.manifest" "$T/m.onnx"
"$FERRY" score "$T/m.pmml" "$T/d.csv" -o "$T/ref.csv" 2>/dev/null; ref_rc=$?
"$FERRY" score "$T/m.onnx" "$T/d.csv" -o "$T/onnx.csv" 2>"$T/score.err"; onnx_rc=$?
check "score on ONNX exits like score on PMML (1: the unseen category 'w' is invalid)" test "$ref_rc" = 1 -a "$onnx_rc" = 1
check "score on ONNX writes the same header as on PMML" test "$(head -1 "$T/ref.csv")" = "$(head -1 "$T/onnx.csv")"
check "score on ONNX names the invalid row" grep -q "d.csv:5: row not scored" "$T/score.err"
"$FERRY" compare "$T/m.pmml" "$T/m.onnx" "$T/d.csv" >"$T/cmp.out"; rc=$?
check "compare agrees (exit 0)" test "$rc" = 0
check "compare reports label agreement" grep -q "agreement 100.00% (5/5)" "$T/cmp.out"
sed 's/coefficient="1.5"/coefficient="1.5000001"/' "$T/m.pmml" > "$T/m2.pmml"
"$FERRY" compare "$T/m2.pmml" "$T/m.onnx" "$T/d.csv" >"$T/cmp2.out"; rc=$?
check "compare exits 1 on a 1e-7 drift" test "$rc" = 1
check "compare lists the violating rows" grep -q "row 1: reference" "$T/cmp2.out"
"$FERRY" compare "$T/m2.pmml" "$T/m.onnx" "$T/d.csv" --atol 1e-5 >/dev/null; rc=$?
check "compare honours --atol" test "$rc" = 0
sed 's/normalizationMethod="logit"/normalizationMethod="simplemax"/' "$T/m.pmml" > "$T/m3.pmml"
"$FERRY" convert "$T/m3.pmml" -o "$T/m3.onnx" 2>"$T/conv.err"; rc=$?
check "an unfaithful construct is refused with exit 1" test "$rc" = 1
check "the refusal names the construct and the line" grep -q "m3.pmml:8: normalizationMethod" "$T/conv.err"
check "nothing is written on refusal" test ! -e "$T/m3.onnx"
/usr/bin/python3 -c "
import numpy as np
np.save('$T/a.npy', np.array([[1.5], [np.nan], [-2.0], [0.25], [3.0]]))
np.save('$T/c.npy', np.array([['x'], ['y'], ['x'], ['w'], ['y']]))"
"$FERRY" score "$T/m.onnx" --input a="$T/a.npy" --input c="$T/c.npy" -o "$T/npy.csv" 2>/dev/null; rc=$?
check "score --input NAME=FILE.npy exits 1 for the invalid row, as from the CSV" test "$rc" = 1
check "score --input writes what the CSV path writes" cmp -s "$T/npy.csv" "$T/onnx.csv"
"$FERRY" score "$T/m.onnx" --input a="$T/a.npy" 2>/dev/null; rc=$?
check "score --input with an input left out exits 3" test "$rc" = 3
printf '<PMML><broken' > "$T/bad.pmml"
"$FERRY" convert "$T/bad.pmml" -o "$T/bad.onnx" 2>/dev/null; rc=$?
check "malformed PMML exits 3" test "$rc" = 3
"$FERRY" convert "$T/m.pmml" -o "$T/x.onnx" --opset 99 2>/dev/null; rc=$?
check "an opset out of range is refused" test "$rc" = 1
"$FERRY" compare "$T/m.pmml" 2>/dev/null; rc=$?
check "compare usage error exits 2" test "$rc" = 2
check "compare --help" "$FERRY" compare --help >/dev/null
exit $fail
