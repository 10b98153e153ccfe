"""engine_bench_models.py -- writes the engine benchmark's models and inputs (run by
bench/bench_engine.c): logistic regression, random forest (100 trees), gradient boosting
(300 trees), MLP 20-64-64-1, each with a batch-1 and a batch-1000 input.
Usage: /usr/bin/python3 bench/engine_bench_models.py OUTDIR
Writes OUTDIR/<name>.onnx, OUTDIR/<name>_b<batch>.pb (TensorProto) and .bin (raw float32),
and OUTDIR/cases.json for bench/engine_ort_bench.js."""
import json
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "oracle"))
import engine_models as em  # noqa: E402

BATCHES = (1, 1000)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(7)
    cases = []
    for name, model in em.benchmark_models():
        path = os.path.join(out, f"{name}.onnx")
        onnx.save(model, path)
        for b in BATCHES:
            x = rng.normal(size=(b, 20)).astype(np.float32)
            with open(os.path.join(out, f"{name}_b{b}.pb"), "wb") as f:
                f.write(numpy_helper.from_array(x, name="X").SerializeToString())
            x.tofile(os.path.join(out, f"{name}_b{b}.bin"))
            cases.append({"name": name, "batch": b, "model": path, "input": "X", "shape": [b, 20],
                          "file": os.path.join(out, f"{name}_b{b}.bin"),
                          "fetches": [o.name for o in model.graph.output]})
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump(cases, f)


if __name__ == "__main__":
    main()
