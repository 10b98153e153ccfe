#!/usr/bin/python3
"""test_runner_ort_node.py -- runners/ort-node (onnxruntime-node 1.30.0, CPU) against the
ONNX backend test data; see runner_oracle.py for what is checked."""
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import runner_oracle  # noqa: E402

ORT_NODE = os.path.join(runner_oracle.ROOT, "runners", "ort-node")


def main():
    if shutil.which("node") is None:
        print("skipped: node not on PATH (make deps)")
        return 0
    if not os.path.exists(os.path.join(ORT_NODE, "node_modules", "onnxruntime-node", "package.json")):
        print("skipped: onnxruntime-node not installed in runners/ort-node/node_modules (make deps)")
        return 0
    runner = runner_oracle.make_runner(["node", os.path.join(ORT_NODE, "runner.js")],
                                       {"NODE_PATH": os.path.join(ORT_NODE, "node_modules")})
    failures = runner_oracle.run_suite("ort-node", runner)
    # no CUDA libraries in the npm package: asking for CUDA is "unsupported", not a CPU run
    p = runner(os.path.join(runner_oracle.DATA, "test_add", "model.onnx"), "--out", "/nonexistent-out",
               "--provider", "CUDAExecutionProvider")
    if p.returncode not in (0, 5):
        print(f"FAIL: --provider CUDAExecutionProvider: exit {p.returncode}: {p.stderr.strip()}")
        failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
