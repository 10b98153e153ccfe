"""convert_bench_models.py -- writes the converter benchmark's PMML models and inputs (run by
bench/bench_convert.c): logistic regression, random forest (100 trees), gradient boosting
(300 trees), MLP 20-64-64-1, fitted with sklearn on 20 features and written as PMML by
tests/oracle/pmml_writer.py. Usage: /usr/bin/python3 bench/convert_bench_models.py OUTDIR
Writes OUTDIR/<name>.pmml and OUTDIR/x_b<batch>.bin (raw float64, row-major [batch, 20])."""
import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "oracle"))
import pmml_writer as W  # noqa: E402

from sklearn.ensemble import GradientBoostingRegressor, RandomForestClassifier  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.neural_network import MLPRegressor  # noqa: E402

warnings.filterwarnings("ignore")
NF = 20
FIELDS = ["x%d" % i for i in range(NF)]


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.RandomState(3)
    X = rng.normal(size=(2000, NF))
    s = X[:, 0] - X[:, 1] + 0.5 * X[:, 2] * X[:, 3]
    yc = np.where(s + rng.normal(size=len(s)) > 0, "yes", "no")
    yr = s + 0.1 * rng.normal(size=len(s))
    models = [
        ("logreg", W.write_linear(LogisticRegression(max_iter=300).fit(X, yc), FIELDS, "y", ["no", "yes"])),
        ("rf100", W.write_forest(RandomForestClassifier(n_estimators=100, max_depth=8, random_state=0).fit(X, yc),
                                 FIELDS, "y", ["no", "yes"])),
        ("gbr300", W.write_gb(GradientBoostingRegressor(n_estimators=300, max_depth=3, random_state=0).fit(X, yr),
                              FIELDS, "y")),
        ("mlp", W.write_mlp(MLPRegressor(hidden_layer_sizes=(64, 64), max_iter=50, random_state=0).fit(X, yr),
                            FIELDS, "y")),
    ]
    for name, text in models:
        with open(os.path.join(out, name + ".pmml"), "w") as f:
            f.write(text)
    for b in (1, 1000):
        rng.normal(size=(b, NF)).astype("<f8").tofile(os.path.join(out, "x_b%d.bin" % b))


if __name__ == "__main__":
    main()
