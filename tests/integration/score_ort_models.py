#!/usr/bin/python3
"""score_ort_models.py -- helper of test_score_ort.sh (Debian's python3: sklearn, numpy).

  score_ort_models.py write DIR      write DIR/<name>.pmml and DIR/<name>.csv for a few
                                     sklearn models (tests/oracle/pmml_writer.py) and
                                     hand-written cases (tests/oracle/convert_cases.py);
                                     prints the names, one a line
  score_ort_models.py same A.csv B.csv
                                     exit 0 when the two score CSVs have the same header,
                                     rows and cells: labels and empty cells exactly, numbers
                                     within 1e-9 + 1e-9 * |a|; else prints the first
                                     differences and exits 1
"""
import csv
import math
import os
import sys
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
ORACLE = os.path.join(os.path.dirname(HERE), "oracle")
ATOL = RTOL = 1e-9


def write(d):
    sys.path.insert(0, ORACLE)
    warnings.filterwarnings("ignore")
    import numpy as np
    import pmml_writer as W
    import convert_cases as HC
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.neural_network import MLPClassifier
    from sklearn.svm import SVC
    from sklearn.tree import DecisionTreeRegressor

    rng = np.random.RandomState(5)
    fields = ["x0", "x1", "x2", "x3"]
    X = np.round(rng.normal(size=(200, 4)) * 4) / 2
    s = X[:, 0] - 0.5 * X[:, 1] + 0.25 * X[:, 2] * X[:, 3]
    y3 = np.array(["a", "b", "c"])[np.digitize(s + rng.normal(size=200), [-1.0, 1.0])]
    T = np.round(rng.normal(size=(60, 4)) * 8) / 4
    T[rng.rand(*T.shape) < 0.08] = np.nan
    rows = [["" if math.isnan(v) else repr(float(v)) for v in r] for r in T]
    models = [
        ("linreg", W.write_linear(LinearRegression().fit(X, s), fields, "y")),
        ("logreg3", W.write_linear(LogisticRegression(max_iter=500).fit(X, y3), fields, "y", ["a", "b", "c"])),
        ("tree", W.write_tree(DecisionTreeRegressor(max_depth=5, random_state=0).fit(X, s), fields, "y")),
        ("forest3", W.write_forest(RandomForestClassifier(n_estimators=5, max_depth=4, random_state=0).fit(X, y3),
                                   fields, "y", ["a", "b", "c"])),
        ("mlp3", W.write_mlp(MLPClassifier(hidden_layer_sizes=(6,), max_iter=300, random_state=0).fit(X, y3),
                             fields, "y", ["a", "b", "c"])),
        ("svc3", W.write_svm(SVC(kernel="rbf", gamma=0.1, C=1.0).fit(X, y3), fields, "y", ["a", "b", "c"])),
    ]
    names = []
    for name, pmml in models:
        _write_case(d, name, pmml, fields, rows)
        names.append(name)
    keep = ("tree classification, unseen category", "regression over NormContinuous", "GeneralRegressionModel "
            "multinomialLogistic", "MiningModel majorityVote")
    for i, (cname, pmml, header, crows, refuse) in enumerate(HC.cases()):
        if refuse is None and cname.startswith(keep):
            _write_case(d, "case%02d" % i, pmml, header, crows)
            names.append("case%02d" % i)
    print("\n".join(names))


def _write_case(d, name, pmml, header, rows):
    with open(os.path.join(d, name + ".pmml"), "w") as f:
        f.write(pmml)
    with open(os.path.join(d, name + ".csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def _read(path):
    with open(path, newline="") as f:
        text = f.read()
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    # a one-column row with an empty cell is an empty line: read line by line, not with csv's blank skipping
    return [next(csv.reader([ln])) if ln else [""] for ln in lines]


def same(a_path, b_path):
    a, b = _read(a_path), _read(b_path)
    bad = []
    if not a or not b or a[0] != b[0]:
        bad.append("headers differ: %r vs %r" % (a[:1], b[:1]))
    elif len(a) != len(b):
        bad.append("%d rows vs %d" % (len(a) - 1, len(b) - 1))
    else:
        for i, (ra, rb) in enumerate(zip(a[1:], b[1:])):
            if len(ra) != len(rb):
                bad.append("line %d: %d cells vs %d" % (i + 2, len(ra), len(rb)))
                continue
            for col, x, y in zip(a[0], ra, rb):
                if x == y:
                    continue
                try:
                    ok = x != "" and y != "" and abs(float(x) - float(y)) <= ATOL + RTOL * abs(float(x))
                except ValueError:
                    ok = False
                if not ok:
                    bad.append("line %d column %s: %r vs %r" % (i + 2, col, x, y))
    for line in bad[:5]:
        print("    " + line)
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "write":
        write(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "same":
        sys.exit(same(sys.argv[2], sys.argv[3]))
    else:
        sys.exit("usage: score_ort_models.py write DIR | same A.csv B.csv")
