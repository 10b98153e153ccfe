#!/usr/bin/python3
"""test_engine_exact.py -- converted models on ferry's engine give the PMML evaluator's
results bit for bit, at the benchmark's batch size.

The engine's fast kernels (the register-tiled double GEMM, the lockstep forest walk,
vectorised Where / ReduceSum / Gather) promise to keep every operation of the plain loops
in the same order. This test holds them to it where it matters to users: sklearn fits
the benchmark's four models (logistic regression, random forest 100 trees, gradient
boosting 300 trees, MLP 20-64-64-1) plus MLPs whose layer widths are not multiples of the
GEMM's tiles and use other activations; tests/oracle/pmml_writer.py writes them as PMML;
`ferry convert` turns them into ONNX; `ferry compare PMML ONNX DATA.csv --atol 0
--rtol 0` scores 2,000 rows with the evaluator and with the engine (in 1,024-row batches)
and must find no difference at all. The evaluator computes in plain double loops (PMML's
definition), independent of the engine's kernels; the three-way test against ONNX Runtime
(test_convert_sklearn.py) proves both right within 1e-9, this one that nothing drifted.

Env: FERRY_BIN.
"""
import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import pmml_writer as W  # noqa: E402

from sklearn.ensemble import GradientBoostingRegressor, RandomForestClassifier  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.neural_network import MLPClassifier, MLPRegressor  # noqa: E402

warnings.filterwarnings("ignore")
FERRY = os.environ.get("FERRY_BIN", os.path.join(HERE, "..", "..", "build", "ferry"))
NF = 20
ROWS = 2000
FIELDS = ["x%d" % i for i in range(NF)]


def models(X, yc, yr):
    yield "logreg", W.write_linear(LogisticRegression(max_iter=300).fit(X, yc), FIELDS, "y", ["no", "yes"])
    yield "rf100", W.write_forest(RandomForestClassifier(n_estimators=100, max_depth=8, random_state=0)
                                  .fit(X, yc), FIELDS, "y", ["no", "yes"])
    yield "gbr300", W.write_gb(GradientBoostingRegressor(n_estimators=300, max_depth=3, random_state=0)
                               .fit(X, yr), FIELDS, "y")
    yield "mlp_20_64_64_1", W.write_mlp(MLPRegressor(hidden_layer_sizes=(64, 64), max_iter=50, random_state=0)
                                        .fit(X, yr), FIELDS, "y")
    # widths off the 16-column panels and 4-row tiles; other activations
    yield "mlp_20_37_19_1_tanh", W.write_mlp(MLPRegressor(hidden_layer_sizes=(37, 19), activation="tanh",
                                                          max_iter=40, random_state=1).fit(X, yr), FIELDS, "y")
    yield "mlp_20_50_cls_logistic", W.write_mlp(MLPClassifier(hidden_layer_sizes=(50,), activation="logistic",
                                                              max_iter=40, random_state=2).fit(X, yc),
                                                FIELDS, "y", ["no", "yes"])


def main():
    rng = np.random.RandomState(5)
    X = rng.normal(size=(2000, NF))
    s = X[:, 0] - X[:, 1] + 0.5 * X[:, 2] * X[:, 3]
    yc = np.where(s + rng.normal(size=len(s)) > 0, "yes", "no")
    yr = s + 0.1 * rng.normal(size=len(s))
    data = rng.normal(size=(ROWS, NF)) * rng.choice([0.01, 1.0, 100.0], size=(ROWS, 1))
    data[::97, :] = 0.0  # whole rows of zeros: signed-zero sums
    failures = 0
    cases = 0
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = os.path.join(tmp, "data.csv")
        with open(csv_path, "w") as f:
            f.write(",".join(FIELDS) + "\n")
            for row in data:
                f.write(",".join(repr(float(v)) for v in row) + "\n")
        for name, text in models(X, yc, yr):
            cases += 1
            pmml = os.path.join(tmp, name + ".pmml")
            onnx = os.path.join(tmp, name + ".onnx")
            with open(pmml, "w") as f:
                f.write(text)
            conv = subprocess.run([FERRY, "convert", pmml, "-o", onnx], capture_output=True, text=True)
            if conv.returncode != 0:
                print("FAIL %s: ferry convert exited %d: %s" % (name, conv.returncode, conv.stderr.strip()))
                failures += 1
                continue
            cmp_ = subprocess.run([FERRY, "compare", pmml, onnx, csv_path, "--atol", "0", "--rtol", "0"],
                                  capture_output=True, text=True)
            if cmp_.returncode != 0 or "result: AGREE" not in cmp_.stdout:
                print("FAIL %s: evaluator and engine differ (exit %d):\n%s%s"
                      % (name, cmp_.returncode, cmp_.stdout, cmp_.stderr))
                failures += 1
            else:
                print("ok   %s: %d rows, identical" % (name, ROWS))
    print("summary: engine vs PMML evaluator bit for bit: %d models, %d identical, %d failed, %d rows each"
          % (cases, cases - failures, failures, ROWS))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
