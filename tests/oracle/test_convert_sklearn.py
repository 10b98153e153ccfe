#!/usr/bin/python3
"""test_convert_sklearn.py -- the three-way proof of the PMML -> ONNX converter.

For every model family of the sklearn-generated PMML suite (tests/oracle/pmml_writer.py)
and hand-written PMML cases (convert_cases.py): `ferry convert` to ONNX, then score the
same CSV with
  1. the PMML evaluator      (`ferry score MODEL.pmml`),
  2. ferry's engine on ONNX  (`ferry score MODEL.onnx`, through the signature manifest),
  3. ONNX Runtime 1.30       (onnxruntime-node, inputs built from the manifest),
and require all three to agree: numbers within |a - b| <= ATOL + RTOL * |a| (both
computed in double; only summation order may differ), labels and empty cells (no
prediction / invalid row) exactly: label agreement 100 %. Inputs include values exactly
on split thresholds, missing cells and unseen categories. sklearn itself is checked
against the PMML evaluator by test_pmml_sklearn.py; here it only produces the models.

Env: FERRY_BIN, FERRY_ORT_NODE_MODULES (default runners/ort-node/node_modules).
"""
import csv
import json
import math
import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import pmml_writer as W  # noqa: E402
import convert_cases as HC  # noqa: E402

from sklearn.ensemble import (GradientBoostingClassifier, GradientBoostingRegressor,  # noqa: E402
                              RandomForestClassifier, RandomForestRegressor)
from sklearn.impute import SimpleImputer  # noqa: E402
from sklearn.linear_model import LinearRegression, LogisticRegression  # noqa: E402
from sklearn.multiclass import OneVsRestClassifier  # noqa: E402
from sklearn.naive_bayes import GaussianNB  # noqa: E402
from sklearn.neural_network import MLPClassifier, MLPRegressor  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.svm import SVC, SVR  # noqa: E402
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor  # noqa: E402

warnings.filterwarnings("ignore")
ROOT = os.path.dirname(os.path.dirname(HERE))
FERRY = os.environ.get("FERRY_BIN", os.path.join(ROOT, "build", "ferry"))
NODE_MODULES = os.environ.get("FERRY_ORT_NODE_MODULES", os.path.join(ROOT, "runners", "ort-node", "node_modules"))
ORT_RUN = os.path.join(HERE, "engine_ort_run.js")
ATOL = 1e-9
RTOL = 1e-9
RNG = np.random.RandomState(11)
NF = 4
FIELDS = ["x%d" % i for i in range(NF)]
CATS = ["red", "green", "blue"]


def make_data(n, classes=None):
    X = np.round(RNG.normal(size=(n, NF)) * 4) / 2          # multiples of 0.5
    score = X[:, 0] - 0.5 * X[:, 1] + 0.25 * X[:, 2] * X[:, 3]
    if classes is None:
        return X, score + RNG.normal(size=n) * 0.1
    if classes == 2:
        return X, np.where(score + RNG.normal(size=n) > 0, "yes", "no")
    return X, np.array(["a", "b", "c"])[np.digitize(score + RNG.normal(size=n), [-1.0, 1.0])]


def test_rows(n, missing=0.08):
    """multiples of 0.25 (sklearn's thresholds are midpoints of multiples of 0.5: exactly hit)"""
    T = np.round(RNG.normal(size=(n, NF)) * 8) / 4
    T[RNG.rand(*T.shape) < missing] = np.nan
    return T


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for r in rows:
            w.writerow(r)


def numeric_rows(T, extra=None):
    rows = []
    for i, row in enumerate(T):
        cells = ["" if math.isnan(v) else repr(float(v)) for v in row]
        if extra is not None:
            cells.append(extra[i])
        rows.append(cells)
    return rows


def ferry_score(model, data, out):
    r = subprocess.run([FERRY, "score", model, data, "-o", out], capture_output=True, text=True, timeout=120)
    if r.returncode not in (0, 1) or not os.path.exists(out):
        raise AssertionError("ferry score %s: exit %d: %s" % (os.path.basename(model), r.returncode, r.stderr[:400]))
    with open(out, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:], r.returncode


class Case:
    def __init__(self, name, pmml, header, rows):
        self.name, self.pmml, self.header, self.rows = name, pmml, header, rows
        self.errors = []
        self.refuse = None

    def check(self, cond, msg):
        if not cond and len(self.errors) < 6:
            self.errors.append(msg)


def same(a, b):
    if a == b:
        return True
    if a == "" or b == "":
        return False
    try:
        x, y = float(a), float(b)
    except ValueError:
        return False
    return abs(x - y) <= ATOL + RTOL * abs(x)


def prepare(case, tmp, idx):
    d = os.path.join(tmp, "c%03d" % idx)
    os.makedirs(d)
    case.dir = d
    case.pmml_path = os.path.join(d, "m.pmml")
    case.onnx_path = os.path.join(d, "m.onnx")
    case.csv_path = os.path.join(d, "d.csv")
    with open(case.pmml_path, "w") as f:
        f.write(case.pmml)
    write_csv(case.csv_path, case.header, case.rows)
    r = subprocess.run([FERRY, "convert", case.pmml_path, "-o", case.onnx_path], capture_output=True, text=True,
                       timeout=120)
    if r.returncode != 0:
        case.check(False, "ferry convert exit %d: %s" % (r.returncode, r.stderr.strip()[:400]))
        return None
    with open(os.path.join(d, "m.manifest.json")) as f:
        man = json.load(f)
    case.manifest = man
    # the manifest names every approximation, and only where the model needs one
    approx = man["precision"].get("approximations", "")
    pmml_low = case.pmml.lower()
    for func, word in (("probit", "normal CDF"), ("cauchit", "arctangent")):
        needs = ('"%s"' % func) in pmml_low
        case.check((word in approx) == needs,
                   "manifest precision.approximations %s the %s (%r)" % ("lacks" if needs else "names", word, approx))
    inputs = []
    for inp in man["inputs"]:
        col = case.header.index(inp["name"]) if inp["name"] in case.header else None
        cells = [row[col] if col is not None else "" for row in case.rows]
        missing = {"", "NA", "N/A"}
        if inp["dtype"] == "string":
            inputs.append({"name": inp["tensor"], "type": "string", "shape": [len(cells), 1],
                           "strings": ["" if c in missing else c for c in cells]})
        else:
            arr = np.array([float("nan") if c in missing else float(c) for c in cells], dtype="<f8")
            fn = os.path.join(d, "in_%d.bin" % len(inputs))
            arr.tofile(fn)
            inputs.append({"name": inp["tensor"], "type": "float64", "shape": [len(cells), 1], "file": fn})
    fetches = sorted({c["tensor"] for c in man["columns"]} |
                     ({"row_valid"} if any(o["tensor"] == "row_valid" for o in man["outputs"]) else set()))
    return {"name": "c%03d" % idx, "model": case.onnx_path, "inputs": inputs, "fetches": fetches}


def ort_columns(case, res):
    man = case.manifest
    out = []
    n = len(case.rows)
    valid = res.get("row_valid")
    for i in range(n):
        row = []
        ok = valid is None or bool(valid["data"][i])
        for c in man["columns"]:
            t = res[c["tensor"]]
            width = t["dims"][1] if len(t["dims"]) > 1 else 1
            v = t["data"][i * width + c["index"]]
            if not ok:
                row.append("")
            elif c["format"] == "string":
                row.append(v)
            else:
                row.append("" if v is None or (isinstance(v, float) and math.isnan(v)) else repr(float(v)))
        out.append(row)
    return [c["name"] for c in man["columns"]], out


def compare(case, what, head_ref, ref, head, got):
    case.check(head_ref == head, "%s: columns %s, PMML %s" % (what, head, head_ref))
    if head_ref != head:
        return
    case.check(len(ref) == len(got), "%s: %d rows, PMML %d" % (what, len(got), len(ref)))
    for i, (a, b) in enumerate(zip(ref, got)):
        a = a + [""] * (len(head) - len(a))  # a one-column row with an empty cell reads as []
        b = b + [""] * (len(head) - len(b))
        for k, name in enumerate(head):
            case.check(same(a[k], b[k]), "%s row %d (line %d) %s: %r, PMML %r" % (what, i, i + 2, name, b[k], a[k]))


def sklearn_cases():
    cases = []

    def classifier(name, model, writer, nclass, **kw):
        X, y = make_data(300, nclass)
        model.fit(X, y)
        classes = [str(c) for c in model.classes_]
        T = test_rows(150)
        cases.append(Case(name, writer(model, FIELDS, "y", classes, **kw), FIELDS, numeric_rows(T)))

    def regressor(name, model, writer, **kw):
        X, y = make_data(300)
        model.fit(X, y)
        T = test_rows(150)
        cases.append(Case(name, writer(model, FIELDS, "y", **kw), FIELDS, numeric_rows(T)))

    regressor("linear regression", LinearRegression(), W.write_linear)
    classifier("logistic regression (binary)", LogisticRegression(), W.write_linear, 2)
    classifier("logistic regression (multinomial)", LogisticRegression(max_iter=500), W.write_linear, 3)
    classifier("decision tree classifier", DecisionTreeClassifier(max_depth=6, random_state=0), W.write_tree, 3)
    regressor("decision tree regressor", DecisionTreeRegressor(max_depth=6, random_state=0), W.write_tree)
    classifier("random forest classifier", RandomForestClassifier(n_estimators=15, max_depth=5, random_state=0),
               W.write_forest, 3)
    classifier("random forest classifier (binary)", RandomForestClassifier(n_estimators=10, max_depth=4,
                                                                           random_state=1), W.write_forest, 2)
    regressor("random forest regressor", RandomForestRegressor(n_estimators=15, max_depth=5, random_state=0),
              W.write_forest)
    regressor("gradient boosting regressor", GradientBoostingRegressor(n_estimators=30, max_depth=3, random_state=0),
              W.write_gb)
    classifier("gradient boosting classifier (modelChain)",
               GradientBoostingClassifier(n_estimators=30, max_depth=3, random_state=0), W.write_gb, 2)
    classifier("MLP classifier relu (multiclass, softmax)",
               MLPClassifier(hidden_layer_sizes=(8, 6), max_iter=300, random_state=0), W.write_mlp, 3)
    classifier("MLP classifier tanh (binary)",
               MLPClassifier(hidden_layer_sizes=(7,), activation="tanh", max_iter=300, random_state=0), W.write_mlp, 2)
    regressor("MLP regressor logistic", MLPRegressor(hidden_layer_sizes=(6,), activation="logistic", max_iter=300,
                                                     random_state=0), W.write_mlp)
    for kernel in ("rbf", "poly", "linear", "sigmoid"):
        classifier("SVC %s (one-vs-one)" % kernel, SVC(kernel=kernel, gamma=0.1, coef0=0.5, degree=2, C=1.0),
                   W.write_svm, 3)
    regressor("SVR rbf", SVR(kernel="rbf", gamma=0.2), W.write_svm)

    # pipeline: mean imputation + scaling + logistic regression, missing cells
    X, y = make_data(300, 3)
    imp = SimpleImputer(strategy="mean").fit(X)
    sc = StandardScaler().fit(imp.transform(X))
    lr = LogisticRegression(max_iter=500).fit(sc.transform(imp.transform(X)), y)
    T = test_rows(120, missing=0.15)
    cases.append(Case("pipeline impute+scale+logistic", W.write_linear(lr, FIELDS, "y", [str(c) for c in lr.classes_],
                                                                        scaler=sc, imputer=imp),
                      FIELDS, numeric_rows(T)))
    # one-hot string input, unseen categories and missing strings
    X, y = make_data(300)
    cat = RNG.choice(CATS, size=300)
    onehot = np.array([[c == v for v in CATS] for c in cat], dtype=float)
    model = LinearRegression().fit(np.hstack([X, onehot]), y + onehot @ np.array([1.0, -2.0, 0.5]))
    T = test_rows(100)
    tcat = RNG.choice(CATS + ["purple", ""], size=100)
    cases.append(Case("linear regression + one-hot string (unseen, missing)",
                      W.write_linear(model, FIELDS, "y", onehot=("color", CATS, NF)),
                      FIELDS + ["color"], numeric_rows(T, list(tcat))))
    # scaling + MLP regressor
    X, y = make_data(300)
    sc = StandardScaler().fit(X)
    mlp = MLPRegressor(hidden_layer_sizes=(10, 5), max_iter=400, random_state=1).fit(sc.transform(X), y)
    cases.append(Case("pipeline scale+MLP regressor", W.write_mlp(mlp, FIELDS, "y", scaler=sc), FIELDS,
                      numeric_rows(test_rows(120))))
    # one-vs-rest SVMs last, so the random draws of the cases above stay as they were
    for kernel, max_wins in (("rbf", False), ("poly", True), ("sigmoid", False)):
        classifier("SVC %s one-vs-rest%s" % (kernel, ", maxWins" if max_wins else ""),
                   OneVsRestClassifier(SVC(kernel=kernel, gamma=0.1, coef0=0.5, degree=2, C=1.0)),
                   W.write_svm_ovr, 3, max_wins=max_wins)
    classifier("Gaussian naive Bayes", GaussianNB(), W.write_gaussian_nb, 3)
    return cases


def main():
    cases = sklearn_cases()
    for name, pmml, header, rows, refuse in HC.cases():
        c = Case(name, pmml, header, rows)
        c.refuse = refuse
        cases.append(c)
    with tempfile.TemporaryDirectory() as tmp:
        specs = []
        for i, case in enumerate(cases):
            if case.refuse:
                case.pmml_path = os.path.join(tmp, "r%03d.pmml" % i)
                with open(case.pmml_path, "w") as f:
                    f.write(case.pmml)
                r = subprocess.run([FERRY, "convert", case.pmml_path, "-o", os.path.join(tmp, "r%03d.onnx" % i)],
                                   capture_output=True, text=True, timeout=60)
                case.check(r.returncode == 1 and case.refuse in r.stderr,
                           "expected refusal naming %r (exit 1), got exit %d: %s" % (case.refuse, r.returncode,
                                                                                     r.stderr.strip()[:300]))
                continue
            spec = prepare(case, tmp, i)
            if spec:
                case.spec = spec
                specs.append(spec)
        cases_json = os.path.join(tmp, "cases.json")
        results_json = os.path.join(tmp, "results.json")
        with open(cases_json, "w") as f:
            json.dump(specs, f)
        env = dict(os.environ, NODE_PATH=NODE_MODULES)
        r = subprocess.run(["node", ORT_RUN, cases_json, results_json], capture_output=True, text=True, timeout=300,
                           env=env)
        if r.returncode != 0:
            print("FAIL: onnxruntime-node runner: %s" % r.stderr[:500])
            return 1
        with open(results_json) as f:
            results = json.load(f)
        rows_checked = labels = 0
        for case in cases:
            if case.refuse or not hasattr(case, "spec"):
                continue
            try:
                head_ref, ref, _ = ferry_score(case.pmml_path, case.csv_path, os.path.join(case.dir, "ref.csv"))
                head_eng, eng, _ = ferry_score(case.onnx_path, case.csv_path, os.path.join(case.dir, "eng.csv"))
            except AssertionError as e:
                case.check(False, str(e))
                continue
            compare(case, "engine", head_ref, ref, head_eng, eng)
            res = results.get(case.spec["name"], {})
            if "error" in res:
                case.check(False, "ONNX Runtime: %s" % res["error"][:300])
            else:
                head_ort, ort = ort_columns(case, res)
                compare(case, "ORT", head_ref, ref, head_ort, ort)
            rows_checked += len(ref)
            labels += sum(1 for c in case.manifest["columns"] if c["format"] == "string") * len(ref)
    failed = 0
    for case in cases:
        status = "ok" if not case.errors else "FAIL"
        print("%s: %s" % (status, case.name))
        for e in case.errors:
            print("    " + e)
        failed += bool(case.errors)
    print("summary: convert three-way (PMML evaluator / ferry engine / ONNX Runtime): %d cases, %d passed, "
          "%d failed, %d rows, %d labels compared (atol %g, rtol %g)"
          % (len(cases), len(cases) - failed, failed, rows_checked, labels, ATOL, RTOL))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
