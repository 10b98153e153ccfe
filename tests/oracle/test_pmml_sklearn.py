#!/usr/bin/python3
"""test_pmml_sklearn.py -- `ferry score` against scikit-learn's own predictions.

Every case is scored twice, in columnar batches and with --row-by-row; the two outputs
must be byte-identical (the batch kernels keep the row evaluator's arithmetic order).

Each case fits a small sklearn model, writes it as PMML with tests/oracle/pmml_writer.py,
scores a CSV with `ferry score` and compares every output with sklearn's predict /
predict_proba: labels exactly, doubles to relative 1e-9. Inputs include values exactly
on the split thresholds (features are multiples of 0.5, thresholds multiples of 0.25,
test values multiples of 0.25) and missing cells (imputation pipelines).
"""
import csv
import io
import math
import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pmml_writer as W  # noqa: E402

from sklearn.cluster import KMeans  # noqa: E402
from sklearn.ensemble import (GradientBoostingClassifier, GradientBoostingRegressor,  # noqa: E402
                              RandomForestClassifier, RandomForestRegressor)
from sklearn.impute import SimpleImputer  # noqa: E402
from sklearn.linear_model import LinearRegression, LogisticRegression  # noqa: E402
from sklearn.naive_bayes import GaussianNB  # noqa: E402
from sklearn.multiclass import OneVsRestClassifier  # noqa: E402
from sklearn.neural_network import MLPClassifier, MLPRegressor  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.svm import SVC, SVR  # noqa: E402
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor  # noqa: E402

warnings.filterwarnings("ignore")
FERRY = os.environ.get("FERRY_BIN", "build/ferry")
REL = 1e-9
RNG = np.random.RandomState(7)
NF = 4
FIELDS = ["x%d" % i for i in range(NF)]


def make_data(n, classes=None):
    X = np.round(RNG.normal(size=(n, NF)) * 4) / 2          # multiples of 0.5
    score = X[:, 0] - 0.5 * X[:, 1] + 0.25 * X[:, 2] * X[:, 3]
    if classes is None:
        return X, score + RNG.normal(size=n) * 0.1
    if classes == 2:
        return X, np.where(score + RNG.normal(size=n) > 0, "yes", "no")
    return X, np.array(["a", "b", "c"])[np.digitize(score + RNG.normal(size=n), [-1.0, 1.0])]


def test_rows(n):
    return np.round(RNG.normal(size=(n, NF)) * 8) / 4          # multiples of 0.25: on thresholds


def fmt(v):
    return "" if (isinstance(v, float) and math.isnan(v)) else repr(float(v))


def score(pmml, X, tmp, extra_cols=None, missing_token=""):
    mpath = os.path.join(tmp, "m.pmml")
    with open(mpath, "w") as f:
        f.write(pmml)
    dpath = os.path.join(tmp, "d.csv")
    with open(dpath, "w") as f:
        cols = list(FIELDS) + (list(extra_cols[0]) if extra_cols else [])
        f.write(",".join(cols) + "\n")
        for i, row in enumerate(X):
            cells = [missing_token if math.isnan(v) else repr(float(v)) for v in row]
            if extra_cols:
                cells += [str(extra_cols[1][i])]
            f.write(",".join(cells) + "\n")
    texts = []
    # columnar batches (the default) and the row evaluator must agree to the last bit
    for mode in ([], ["--row-by-row"]):
        out = os.path.join(tmp, "o.csv")
        r = subprocess.run([FERRY, "score", mpath, dpath, "-o", out] + mode, capture_output=True, text=True,
                           timeout=120)
        if r.returncode != 0:
            raise AssertionError("ferry score %s exit %d: %s" % (mode, r.returncode, r.stderr[:500]))
        with open(out, newline="") as f:
            texts.append(f.read())
    if texts[0] != texts[1]:
        raise AssertionError("batch and --row-by-row outputs differ")
    rows = list(csv.reader(io.StringIO(texts[0])))
    return rows[0], rows[1:]


def close(a, e):
    a = float(a)
    return abs(a - e) <= REL * max(abs(e), 1e-6)


class Case:
    def __init__(self, name):
        self.name = name
        self.errors = []

    def check(self, cond, msg):
        if not cond and len(self.errors) < 5:
            self.errors.append(msg)


def check_classifier(case, head, rows, labels, proba, classes):
    pi = head.index("predicted")
    for i, row in enumerate(rows):
        case.check(row[pi] == str(labels[i]), "row %d: label %s, sklearn %s" % (i, row[pi], labels[i]))
        if proba is not None:
            for k, c in enumerate(classes):
                v = row[head.index("probability(%s)" % c)]
                case.check(close(v, proba[i][k]), "row %d: p(%s) %s, sklearn %r" % (i, c, v, proba[i][k]))


def check_regressor(case, head, rows, pred, col="y"):
    ci = head.index(col)
    for i, row in enumerate(rows):
        case.check(close(row[ci], pred[i]), "row %d: %s, sklearn %r" % (i, row[ci], pred[i]))


def run_all(tmp):
    cases = []

    def classifier(name, model, writer, nclass, has_proba=True, **kw):
        case = Case(name)
        X, y = make_data(300, nclass)
        model.fit(X, y)
        classes = [str(c) for c in model.classes_]
        T = test_rows(150)
        head, rows = score(writer(model, FIELDS, "y", classes, **kw), T, tmp)
        proba = model.predict_proba(T) if has_proba else None
        check_classifier(case, head, rows, model.predict(T), proba, classes)
        cases.append(case)

    def regressor(name, model, writer, **kw):
        case = Case(name)
        X, y = make_data(300)
        model.fit(X, y)
        T = test_rows(150)
        head, rows = score(writer(model, FIELDS, "y", **kw), T, tmp)
        check_regressor(case, head, rows, model.predict(T))
        cases.append(case)

    regressor("linear regression", LinearRegression(), W.write_linear)
    classifier("logistic regression (binary)", LogisticRegression(), W.write_linear, 2)
    classifier("logistic regression (multinomial)", LogisticRegression(max_iter=500), W.write_linear, 3)
    classifier("decision tree classifier", DecisionTreeClassifier(max_depth=6, random_state=0), W.write_tree, 3)
    regressor("decision tree regressor", DecisionTreeRegressor(max_depth=6, random_state=0), W.write_tree)
    classifier("random forest classifier", RandomForestClassifier(n_estimators=15, max_depth=5, random_state=0),
               W.write_forest, 3)
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
                   W.write_svm, 3, has_proba=False)
    regressor("SVR rbf", SVR(kernel="rbf", gamma=0.2), W.write_svm)
    classifier("Gaussian naive Bayes", GaussianNB(), W.write_gaussian_nb, 3)

    # k-means: labels and squared distances
    case = Case("k-means")
    X, _ = make_data(300)
    km = KMeans(n_clusters=3, n_init=3, random_state=0).fit(X)
    T = test_rows(100)
    head, rows = score(W.write_kmeans(km, FIELDS), T, tmp)
    labels = km.predict(T)
    dist = km.transform(T) ** 2
    for i, row in enumerate(rows):
        case.check(row[head.index("cluster")] == str(labels[i]), "row %d: cluster %s, sklearn %d" % (i, row[0], labels[i]))
        d = row[head.index("distance")]
        case.check(abs(float(d) - dist[i][labels[i]]) <= 1e-9 * max(1, dist[i][labels[i]]),
                   "row %d: distance %s, sklearn %r" % (i, d, dist[i][labels[i]]))
    cases.append(case)

    # pipeline: mean imputation + scaling + logistic regression; missing cells as "", NA, N/A
    for token in ("", "NA", "N/A"):
        case = Case("pipeline impute+scale+logistic (missing as %r)" % token)
        X, y = make_data(300, 3)
        imp = SimpleImputer(strategy="mean").fit(X)
        sc = StandardScaler().fit(imp.transform(X))
        lr = LogisticRegression(max_iter=500).fit(sc.transform(imp.transform(X)), y)
        T = test_rows(120)
        T[RNG.rand(*T.shape) < 0.15] = np.nan
        Tt = sc.transform(imp.transform(T))
        classes = [str(c) for c in lr.classes_]
        head, rows = score(W.write_linear(lr, FIELDS, "y", classes, scaler=sc, imputer=imp), T, tmp,
                           missing_token=token)
        check_classifier(case, head, rows, lr.predict(Tt), lr.predict_proba(Tt), classes)
        cases.append(case)

    # pipeline: scaling + MLP regressor
    case = Case("pipeline scale+MLP regressor")
    X, y = make_data(300)
    sc = StandardScaler().fit(X)
    mlp = MLPRegressor(hidden_layer_sizes=(10, 5), max_iter=400, random_state=1).fit(sc.transform(X), y)
    T = test_rows(120)
    head, rows = score(W.write_mlp(mlp, FIELDS, "y", scaler=sc), T, tmp)
    check_regressor(case, head, rows, mlp.predict(sc.transform(T)))
    cases.append(case)

    # one-hot encoded string input + numeric inputs into a logistic regression
    case = Case("one-hot categorical + logistic regression")
    cats = ["red", "green", "blue"]
    X, y = make_data(300, 2)
    color = RNG.choice(cats, size=300)
    onehot = np.array([[1.0 if c == k else 0.0 for k in cats] for c in color])
    lr = LogisticRegression(max_iter=500).fit(np.hstack([X, onehot]), y)
    T = test_rows(120)
    tcolor = RNG.choice(cats, size=120)
    toh = np.array([[1.0 if c == k else 0.0 for k in cats] for c in tcolor])
    classes = [str(c) for c in lr.classes_]
    head, rows = score(W.write_linear(lr, FIELDS, "y", classes, onehot=("color", cats, NF)), T, tmp,
                       extra_cols=(["color"], tcolor))
    Tt = np.hstack([T, toh])
    check_classifier(case, head, rows, lr.predict(Tt), lr.predict_proba(Tt), classes)
    cases.append(case)
    # one-vs-rest SVMs last, so the random draws of the cases above stay as they were
    for kernel, max_wins in (("rbf", False), ("poly", True), ("linear", False)):
        classifier("SVC %s one-vs-rest%s" % (kernel, ", maxWins" if max_wins else ""),
                   OneVsRestClassifier(SVC(kernel=kernel, gamma=0.1, coef0=0.5, degree=2, C=1.0)),
                   W.write_svm_ovr, 3, has_proba=False, max_wins=max_wins)
    return cases


def main():
    with tempfile.TemporaryDirectory() as tmp:
        cases = run_all(tmp)
    failed = [c for c in cases if c.errors]
    for c in cases:
        print("%-55s %s" % (c.name, "ok" if not c.errors else "FAIL"))
        for e in c.errors:
            print("    " + e)
    print("summary: %d/%d sklearn oracle cases match (labels exact, doubles rel %g)" % (len(cases) - len(failed), len(cases), REL))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
