#!/usr/bin/env bash
# test_score_cli.sh -- `ferry score` as a user sees it: outputs, exit codes, diagnostics.
set -u
FERRY=${FERRY_BIN:-build/ferry}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
check() { # description, condition (command)
    if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fails=$((fails + 1)); fi
}

cat >"$tmp/m.pmml" <<'XML'
<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4"><Header/>
<DataDictionary>
 <DataField name="x" optype="continuous" dataType="double"/>
 <DataField name="label" optype="categorical" dataType="string"><Value value="lo"/><Value value="hi"/></DataField>
</DataDictionary>
<TreeModel functionName="classification" missingValueStrategy="nullPrediction">
 <MiningSchema><MiningField name="x"/><MiningField name="label" usageType="target"/></MiningSchema>
 <Output><OutputField name="p(hi)" feature="probability" value="hi"/></Output>
 <Node score="lo"><True/>
  <Node score="lo"><SimplePredicate field="x" operator="lessOrEqual" value="0.5"/>
   <ScoreDistribution value="lo" recordCount="3"/><ScoreDistribution value="hi" recordCount="1"/></Node>
  <Node score="hi"><SimplePredicate field="x" operator="greaterThan" value="0.5"/>
   <ScoreDistribution value="lo" recordCount="1"/><ScoreDistribution value="hi" recordCount="9"/></Node>
 </Node>
</TreeModel></PMML>
XML

printf 'x,other\n0.5,"a,b"\n0.75,z\nNA,q\n' >"$tmp/ok.csv"
"$FERRY" score "$tmp/m.pmml" "$tmp/ok.csv" -o "$tmp/out.csv" 2>"$tmp/err"
check "scores a CSV (exit 0)" '[ $? -eq 0 ]'
check "output rows and probabilities" \
    "[ \"\$(cat $tmp/out.csv)\" = \"\$(printf 'label,p(hi)\nlo,0.25\nhi,0.9\n,\n')\" ]"
"$FERRY" score "$tmp/m.pmml" "$tmp/ok.csv" --row-by-row >"$tmp/out2.csv" 2>/dev/null
check "--row-by-row to stdout gives the same bytes" "cmp -s $tmp/out.csv $tmp/out2.csv"

printf 'x\n1\nabc\n2\n' >"$tmp/nan.csv"
"$FERRY" score "$tmp/m.pmml" "$tmp/nan.csv" >"$tmp/out.csv" 2>"$tmp/err"
check "unparsable number: exit 1" '[ $? -eq 1 ]'
check "unparsable number: diagnostic names line and column" "grep -q 'nan.csv:3: column 1 (x): expected a number' $tmp/err"
check "unparsable number: that row is empty, the others scored" \
    "[ \"\$(sed -n 2,4p $tmp/out.csv | tr '\n' ' ')\" = 'hi,0.9 , hi,0.9 ' ]"

printf 'x,y\n1,2\n3\n' >"$tmp/cols.csv"
"$FERRY" score "$tmp/m.pmml" "$tmp/cols.csv" >/dev/null 2>"$tmp/err"
check "wrong column count: exit 3" '[ $? -eq 3 ]'
check "wrong column count: line and column named" "grep -q 'cols.csv:3: column 2: expected 2 columns, found 1' $tmp/err"

printf 'x\n"1\n' >"$tmp/quote.csv"
"$FERRY" score "$tmp/m.pmml" "$tmp/quote.csv" >/dev/null 2>"$tmp/err"
check "bad quoting: exit 3 with line and column" '[ $? -eq 3 ] && grep -q "quote.csv:2: column 1: unterminated" '"$tmp/err"

printf '\x08\x07\x12\x00' >"$tmp/model.onnx"
"$FERRY" score "$tmp/model.onnx" "$tmp/ok.csv" >/dev/null 2>"$tmp/err"
check "malformed ONNX model: exit 3 with the file named" '[ $? -eq 3 ] && grep -q "model.onnx" '"$tmp/err"

printf '<PMML><Header/>' >"$tmp/broken.pmml"
"$FERRY" score "$tmp/broken.pmml" "$tmp/ok.csv" >/dev/null 2>"$tmp/err"
check "malformed PMML: exit 3 with the file named" '[ $? -eq 3 ] && grep -q "broken.pmml" '"$tmp/err"

"$FERRY" score --help >"$tmp/help"
check "--help" '[ $? -eq 0 ] && grep -q "usage: ferry score" '"$tmp/help"
"$FERRY" score "$tmp/m.pmml" >/dev/null 2>&1
check "missing argument: exit 2" '[ $? -eq 2 ]'

# a large file (> 4 MiB) is split over two threads: same output as one thread
{ echo x; seq 1 450000 | awk '{ printf "0.%09d\n", ($1 * 7919) % 1000000000 }'; } >"$tmp/big.csv"
"$FERRY" score "$tmp/m.pmml" "$tmp/big.csv" -o "$tmp/big2.csv" -j 2
"$FERRY" score "$tmp/m.pmml" "$tmp/big.csv" -o "$tmp/big1.csv" -j 1
check "two threads write the same output as one" "cmp -s $tmp/big1.csv $tmp/big2.csv && [ \$(wc -l <$tmp/big1.csv) -eq 450001 ]"

echo "summary: score CLI checks failed: $fails"
[ $fails -eq 0 ]
