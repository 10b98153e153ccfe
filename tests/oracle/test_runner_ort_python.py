#!/usr/bin/python3
"""test_runner_ort_python.py -- runners/ort-python/runner.py. With onnxruntime importable
(by $FERRY_ORT_PYTHON, default /usr/bin/python3) it runs the backend-test suite of
runner_oracle.py on CPU, and on CUDA when the provider is available; without it, only
the runner's own refusals are checked and the model checks are reported as skipped."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import runner_oracle  # noqa: E402

PYTHON = os.environ.get("FERRY_ORT_PYTHON", "/usr/bin/python3")
RUNNER = os.path.join(runner_oracle.ROOT, "runners", "ort-python", "runner.py")


def main():
    runner = runner_oracle.make_runner([PYTHON, RUNNER])
    failures = 0
    # usage errors come before any import
    for args, want in [([], 2), (["m.onnx"], 2), (["m.onnx", "--out", "d", "--iterations", "x"], 2), (["--help"], 0)]:
        p = runner(*args)
        if p.returncode != want:
            print(f"FAIL: {args}: exit {p.returncode}, want {want}: {p.stderr.strip()}")
            failures += 1
    probe = subprocess.run([PYTHON, "-c", "import onnxruntime as o; print(','.join(o.get_available_providers()))"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        p = runner(os.path.join(runner_oracle.DATA, "test_add", "model.onnx"), "--out", "/tmp/unused")
        last = p.stderr.strip().splitlines()[-1] if p.stderr.strip() else ""
        if p.returncode != 5 or "onnxruntime is not importable" not in last:
            print(f"FAIL: without onnxruntime: exit {p.returncode}: {last}")
            failures += 1
        print(f"skipped: onnxruntime is not importable by {PYTHON}: backend-model checks not run "
              "(set FERRY_ORT_PYTHON to a python with onnxruntime)")
        return 1 if failures else 0
    providers = probe.stdout.strip().split(",")
    failures += runner_oracle.run_suite("ort-python", runner)
    if "CUDAExecutionProvider" in providers:
        failures += runner_oracle.run_suite("ort-python", runner, ("--provider", "CUDAExecutionProvider"))
    else:
        print("skipped: CUDAExecutionProvider not available: CUDA checks not run")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
