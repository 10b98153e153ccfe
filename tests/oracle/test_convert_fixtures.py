#!/usr/bin/python3
"""test_convert_fixtures.py -- the converter over the 62 real-world PMML fixture cases.

For each case of $FERRY_SHARED/fixtures/pmml-conformance (AGPL data, read in place, never
copied into the repository): `ferry convert` it. A model that converts must score the
case's input (`ferry score MODEL.onnx`, ferry's engine, through the manifest) to the
producer's expected outputs under the fixture's PMMLEquivalence rule, exactly as the PMML
evaluator is held to in test_pmml_conformance.py. A model that does not convert must be
refused with a message naming the construct: by the converter (exit 1, "... has no
faithful ONNX form") or by the PMML layer (exit 3, "<Element>: unsupported ...").
Anything else (a crash, a wrong answer, an unnamed refusal) fails the test.
"""
import csv
import os
import subprocess
import sys
import tempfile
from collections import defaultdict

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_pmml_conformance as C  # noqa: E402  (read_csv, equivalent)

FERRY = os.environ.get("FERRY_BIN", "build/ferry")
ROOT = C.ROOT


def check_outputs(case, out):
    ahead, arows = C.read_csv(out)
    ehead, erows = C.read_csv(os.path.join(ROOT, case["expected_csv"]))
    excl = case["excluded_columns"]
    if excl == "*":
        pairs = [tuple(item.split(":")) for item in case["notes"].split("map=")[1].split(" ")[0].split(",")]
    else:
        ex = set() if excl == "-" else set(excl.split(","))
        ecols = [c for c in ehead if c not in ex]
        acols = [c for c in ahead if c not in ex]
        if sorted(ecols) != sorted(acols):
            return "columns differ: expected %s, got %s" % (ecols, acols)
        pairs = [(c, c) for c in ecols]
    if len(erows) != len(arows):
        return "expected %d rows, got %d" % (len(erows), len(arows))
    precision, zero = float(case["precision"]), float(case["zero_threshold"])
    bad, first = 0, None
    for i, (er, ar) in enumerate(zip(erows, arows)):
        ar = ar + [""] * (len(ahead) - len(ar))
        for e, a in pairs:
            if a not in ahead:
                return "missing output column %s" % a
            ev, av = er[ehead.index(e)], ar[ahead.index(a)]
            if not C.equivalent(ev, av, precision, zero):
                bad += 1
                if first is None:
                    first = "row %d column %s: expected %s, got %r" % (i + 2, e, ev, av)
    return "%d mismatches; first: %s" % (bad, first) if bad else None


def run_case(case, tmp):
    pmml = os.path.join(ROOT, case["pmml"])
    onnx = os.path.join(tmp, "m.onnx")
    r = subprocess.run([FERRY, "convert", pmml, "-o", onnx], capture_output=True, text=True, timeout=120)
    if r.returncode == 1 and "has no faithful ONNX form" in r.stderr:
        return "refused", r.stderr.strip().split(": ", 1)[-1][:160]
    if r.returncode == 3 and "unsupported" in r.stderr:  # refused by the PMML layer, element named
        return "refused", r.stderr.strip().split(": ", 1)[-1][:160]
    if r.returncode != 0:
        return "FAIL", "convert exit %d: %s" % (r.returncode, r.stderr.strip()[:300])
    with open(os.path.join(ROOT, case["input_csv"]), newline="") as f:
        keep = []
        for line in f.read().splitlines(True):
            if not line.strip():
                break
            keep.append(line)
    inp = os.path.join(tmp, "in.csv")
    with open(inp, "w", newline="") as f:
        f.write("".join(keep))
    out = os.path.join(tmp, "out.csv")
    r = subprocess.run([FERRY, "score", onnx, inp, "-o", out], capture_output=True, text=True, timeout=120)
    if r.returncode not in (0, 1):
        return "FAIL", "score exit %d: %s" % (r.returncode, r.stderr.strip()[:300])
    why = check_outputs(case, out)
    return ("FAIL", why) if why else ("converted", "")


def main():
    if not os.path.isdir(ROOT):
        print("skipped: fixtures absent (%s)" % ROOT)
        return 0
    with open(os.path.join(ROOT, "cases.tsv")) as f:
        cases = list(csv.DictReader(f, delimiter="\t"))
    counts = defaultdict(lambda: defaultdict(int))
    failures = []
    for case in cases:
        mtype = case["notes"].split("model=")[1].split("(")[0]
        key = case["module"] + "/" + os.path.basename(case["pmml"])
        with tempfile.TemporaryDirectory() as tmp:
            status, why = run_case(case, tmp)
        counts[mtype][status] += 1
        print("%-55s %-28s %-9s %s" % (key, mtype, status, why))
        if status == "FAIL":
            failures.append(key)
    conv = sum(c["converted"] for c in counts.values())
    ref = sum(c["refused"] for c in counts.values())
    print("summary: convert fixtures: %d cases, %d converted and agree with the expected outputs, %d refused with "
          "the construct named, %d failed" % (len(cases), conv, ref, len(failures)))
    print("summary: " + ", ".join("%s %d/%d" % (t, c["converted"], sum(c.values())) for t, c in sorted(counts.items())))
    if failures:
        print("FAILED: " + ", ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
