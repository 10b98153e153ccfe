#!/usr/bin/python3
"""test_pmml_conformance.py -- `ferry score` over the 62 real-world PMML fixture cases.

Reads $FERRY_SHARED/fixtures/pmml-conformance at test time (AGPL data, never copied into
the repository), scores each case's input CSV, and compares with the producer's expected
CSV using the PMMLEquivalence rule of the fixture README (relative band `precision`,
both-zero below `zero_threshold`, NA == missing). Prints pass/fail per model type.

Required (the test fails otherwise): every TreeModel, MiningModel, RegressionModel,
GeneralRegressionModel, NeuralNetwork and SupportVectorMachineModel case, except the
cases listed in KNOWN_UNSUPPORTED with the reason. Other model types are counted and
reported; any case not listed as known must pass.
"""
import csv
import io
import os
import subprocess
import sys
import tempfile
from collections import defaultdict

FERRY = os.environ.get("FERRY_BIN", "build/ferry")
SHARED = os.environ.get("FERRY_SHARED", os.path.join(os.path.dirname(__file__), "../../../shared"))
ROOT = os.path.join(SHARED, "fixtures", "pmml-conformance")

# case (module/pmml name) -> why ferry does not score it yet. Stated plainly in the output.
KNOWN_UNSUPPORTED = {
}


def read_csv(path):
    with open(path, newline="") as f:
        text = f.read()
    # the fixture convention: reading stops at the first blank line
    lines = []
    for line in text.splitlines():
        if not line.strip():
            break
        lines.append(line)
    rows = list(csv.reader(lines))
    return rows[0], rows[1:]


def is_missing(v):
    return v in ("", "NA", "N/A")


def equivalent(expected, actual, precision, zero):
    if is_missing(expected) or is_missing(actual):
        return is_missing(expected) and is_missing(actual)
    try:
        e = float(expected)
        a = float(actual)
    except ValueError:
        return expected == actual
    if abs(e) <= zero and abs(a) <= zero:
        return True
    lo, hi = e * (1 - precision), e * (1 + precision)
    if lo > hi:
        lo, hi = hi, lo
    return lo <= a <= hi


def run_case(case):
    pmml = os.path.join(ROOT, case["pmml"])
    inp = os.path.join(ROOT, case["input_csv"])
    exp = os.path.join(ROOT, case["expected_csv"])
    precision = float(case["precision"])
    zero = float(case["zero_threshold"])
    with tempfile.TemporaryDirectory() as tmp:
        # the fixture convention stops at the first blank line: give ferry the same rows
        with open(inp, newline="") as f:
            text = f.read()
        keep = []
        for line in text.splitlines(True):
            if not line.strip():
                break
            keep.append(line)
        inp2 = os.path.join(tmp, "in.csv")
        with open(inp2, "w", newline="") as f:
            f.write("".join(keep))
        out = os.path.join(tmp, "out.csv")
        r = subprocess.run([FERRY, "score", pmml, inp2, "-o", out], capture_output=True, text=True, timeout=120)
        if r.returncode not in (0, 1):
            return False, "exit %d: %s" % (r.returncode, r.stderr.strip()[:300])
        ahead, arows = read_csv(out)
    ehead, erows = read_csv(exp)
    excl = case["excluded_columns"]
    pairs = []
    if excl == "*":
        for item in case["notes"].split("map=")[1].split(" ")[0].split(","):
            e, a = item.split(":")
            pairs.append((e, a))
    else:
        ex = set() if excl == "-" else set(excl.split(","))
        ecols = [c for c in ehead if c not in ex]
        acols = [c for c in ahead if c not in ex]
        if sorted(ecols) != sorted(acols):
            return False, "columns differ: expected %s, got %s" % (ecols, acols)
        pairs = [(c, c) for c in ecols]
    if len(erows) != len(arows):
        return False, "expected %d rows, got %d" % (len(erows), len(arows))
    bad = 0
    first = None
    for i, (er, ar) in enumerate(zip(erows, arows)):
        for e, a in pairs:
            if a not in ahead:
                return False, "missing output column %s" % a
            ev = er[ehead.index(e)]
            av = ar[ahead.index(a)]
            if not equivalent(ev, av, precision, zero):
                bad += 1
                if first is None:
                    first = "row %d column %s: expected %s, got %r" % (i + 2, e, ev, av)
    if bad:
        return False, "%d mismatches; first: %s" % (bad, first)
    return True, ""


def main():
    if not os.path.isdir(ROOT):
        print("skipped: fixtures absent (%s)" % ROOT)
        return 0
    with open(os.path.join(ROOT, "cases.tsv")) as f:
        cases = list(csv.DictReader(f, delimiter="\t"))
    required = {"TreeModel", "MiningModel", "RegressionModel", "GeneralRegressionModel", "NeuralNetwork",
                "SupportVectorMachineModel"}
    counts = defaultdict(lambda: [0, 0])
    failures = []
    for case in cases:
        mtype = case["notes"].split("model=")[1].split("(")[0]
        key = case["module"] + "/" + os.path.basename(case["pmml"])
        ok, why = run_case(case)
        counts[mtype][0 if ok else 1] += 1
        status = "ok" if ok else ("known-unsupported" if key in KNOWN_UNSUPPORTED else "FAIL")
        print("%-55s %-28s %s %s" % (key, mtype, status, why if not ok else ""))
        if not ok and key not in KNOWN_UNSUPPORTED:
            failures.append(key)
        if ok and key in KNOWN_UNSUPPORTED:
            print("  note: %s now passes; remove it from KNOWN_UNSUPPORTED" % key)
    total_ok = sum(c[0] for c in counts.values())
    print("summary: %d/%d conformance cases pass" % (total_ok, len(cases)))
    print("summary: " + ", ".join("%s %d/%d" % (t, c[0], c[0] + c[1]) for t, c in sorted(counts.items())))
    for key, why in sorted(KNOWN_UNSUPPORTED.items()):
        print("summary: not supported: %s (%s)" % (key, why))
    if failures:
        print("FAILED: " + ", ".join(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
