"""runner_oracle.py -- shared by tests/oracle/test_runner_*.py: a runner (runners/README.md)
end to end against the ONNX backend test data (/usr/include/onnx/backend/test/data/node):
each model's test_data_set_0 inputs (TensorProto .pb) are converted to .npy with
onnx.numpy_helper, the runner runs the model, and its .npy outputs must match the
expected output_*.pb (the oracle). Covers float32/64/16, int8/32/64, uint8, bool and
string tensors, plus the runner's exit codes, result.json and timings."""
import glob
import json
import os
import shutil
import subprocess
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Debian's libonnx-testdata; FERRY_ONNX_NODE_DATA names another copy (pip's onnx ships one
# under onnx/backend/test/data/node) on machines without the Debian package.
DATA = os.environ.get("FERRY_ONNX_NODE_DATA", "/usr/include/onnx/backend/test/data/node")
MODELS = [
    "test_add", "test_add_uint8", "test_matmul_2d", "test_relu", "test_conv_with_strides_padding",
    "test_gemm_default_no_bias", "test_softmax_example", "test_reduce_sum_default_axes_keepdims_example",
    "test_einsum_batch_matmul", "test_lstm_defaults", "test_concat_2d_axis_0", "test_gather_0",
    "test_argmax_default_axis_example", "test_mod_int64_fmod", "test_shape", "test_clip_default_int8_min",
    "test_and2d", "test_not_2d", "test_equal", "test_less", "test_where_example",
    "test_cast_FLOAT_to_DOUBLE", "test_cast_DOUBLE_to_FLOAT", "test_cast_FLOAT_to_FLOAT16",
    "test_cast_FLOAT_to_STRING", "test_cast_STRING_to_FLOAT",
    "test_strnormalizer_export_monday_casesensintive_nochangecase", "test_strnormalizer_nostopwords_nochangecase",
]
# Not listed: StringNormalizer models that change case need the en_US.UTF-8 locale
# installed (ONNX Runtime refuses to load them otherwise; the runner exits 4 saying so).
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def load_pb(path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


def make_runner(command, env=None):
    """A function running the runner command with arguments; returns CompletedProcess."""
    def runner(*args):
        return subprocess.run([*command, *args], capture_output=True, text=True, timeout=120,
                              env=dict(os.environ, **(env or {})))
    return runner


def compare(name, got, want):
    if want.dtype.kind in "OUS":
        want_s = np.array([x.decode() if isinstance(x, bytes) else str(x) for x in want.ravel()]).reshape(want.shape)
        if got.shape != want_s.shape:
            return False, f"{name}: shape {got.shape} != expected {want_s.shape}"
        if (got == want_s).all():
            return True, ""
        # Cast float->string: ONNX's data uses the shortest repr, ONNX Runtime prints %.9g
        # digits; both must name the same float32 value.
        try:
            same = np.array_equal(got.astype(np.float32), want_s.astype(np.float32), equal_nan=True)
        except ValueError:
            same = False
        return same, f"{name}: strings differ: {got.ravel()[:3]} vs {want_s.ravel()[:3]}"
    if got.dtype != want.dtype:
        return False, f"{name}: dtype {got.dtype} != expected {want.dtype}"
    if got.shape != want.shape:
        return False, f"{name}: shape {got.shape} != expected {want.shape}"
    if want.dtype.kind == "f":
        ok = np.allclose(got.astype(np.float64), want.astype(np.float64), rtol=1e-3 if want.dtype == np.float16 else 1e-5,
                         atol=1e-6, equal_nan=True)
        with np.errstate(invalid="ignore"):
            err = float(np.nanmax(np.abs(got.astype(np.float64) - want.astype(np.float64)))) if got.size else 0.0
        return ok, f"{name}: max abs error {err:g}"
    return np.array_equal(got, want), f"{name}: values differ"


def run_suite(label, runner, extra_args=()):
    """Run every model and error case; returns the number of failures (printed)."""
    failures.clear()
    tmp = tempfile.mkdtemp(prefix="ferry-ort-node-")
    passed = 0
    for model_name in MODELS:
        d = os.path.join(DATA, model_name)
        if not os.path.isdir(d):
            print(f"skipped: {model_name} absent")
            continue
        model = onnx.load(os.path.join(d, "model.onnx"))
        init = {i.name for i in model.graph.initializer}
        input_names = [i.name for i in model.graph.input if i.name not in init]
        output_names = [o.name for o in model.graph.output]
        ds = os.path.join(d, "test_data_set_0")
        work = os.path.join(tmp, model_name)
        os.makedirs(work)
        args = [os.path.join(d, "model.onnx"), "--out", os.path.join(work, "out"), "--iterations", "3", "--warmup", "1",
                *extra_args]
        for k, name in enumerate(input_names):
            arr = load_pb(os.path.join(ds, f"input_{k}.pb"))
            if arr.dtype.kind == "O":
                arr = np.array([x.decode() if isinstance(x, bytes) else x for x in arr.ravel()]).reshape(arr.shape)
            path = os.path.join(work, f"in{k}.npy")
            np.save(path, arr)
            args += ["--input", f"{name}={path}"]
        p = runner(*args)
        if p.returncode != 0:
            check(False, f"{model_name}: runner exit {p.returncode}: {p.stderr.strip()}")
            continue
        result = json.load(open(os.path.join(work, "out", "result.json")))
        check([o["name"] for o in result["outputs"]] == output_names, f"{model_name}: output names {result['outputs']}")
        t = result["timings"]
        check(t["iterations"] == 3 and len(t["run_ms"]) == 3 and t["min_ms"] <= t["median_ms"] <= max(t["run_ms"]),
              f"{model_name}: timings {t}")
        ok_all = True
        for k, out in enumerate(result["outputs"]):
            got = np.load(os.path.join(work, "out", out["file"]))
            want = load_pb(os.path.join(ds, f"output_{k}.pb"))
            ok, msg = compare(f"{model_name}/{out['name']}", got, want)
            check(ok, msg)
            ok_all &= bool(ok)
            check(out["dtype"] in ("string",) or np.dtype(out["dtype"].replace("bool", "bool_")) == got.dtype,
                  f"{model_name}: result.json dtype {out['dtype']} vs file {got.dtype}")
        passed += ok_all
    # a model whose weights live in an external data file next to it (how models > 2 GiB
    # are stored): the runner must load it by path so the runtime finds the weights
    ext = os.path.join(tmp, "external")
    os.makedirs(ext)
    w = (np.arange(12, dtype=np.float32).reshape(3, 4) - 5) / 3
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("MatMul", ["x", "w"], ["y"])], "external",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2, 3])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [2, 4])],
        [numpy_helper.from_array(w, "w")])
    model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 13)])
    model.ir_version = 7
    onnx.save_model(model, os.path.join(ext, "model.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="weights.bin", size_threshold=0)
    xin = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
    np.save(os.path.join(ext, "x.npy"), xin)
    p = runner(os.path.join(ext, "model.onnx"), "--input", f"x={os.path.join(ext, 'x.npy')}",
               "--out", os.path.join(ext, "out"), *extra_args)
    ok = p.returncode == 0 and np.allclose(np.load(os.path.join(ext, "out", "output_0.npy")), xin @ w, rtol=1e-6)
    check(ok, f"external-data model: exit {p.returncode} {p.stderr.strip()[-200:]}")
    passed += bool(ok)
    # exit codes and messages
    add = os.path.join(DATA, "test_add", "model.onnx")
    x = os.path.join(tmp, "x.npy")
    np.save(x, np.ones((3, 4, 5), np.float32))
    x64 = os.path.join(tmp, "x64.npy")
    np.save(x64, np.ones((3, 4, 5), np.float64))
    junk = os.path.join(tmp, "junk.npy")
    open(junk, "wb").write(b"\x93NUMPY\x01\x00\x10\x00{'descr': 'x'}\n")
    broken_model = os.path.join(tmp, "broken.onnx")
    open(broken_model, "wb").write(open(add, "rb").read()[:40])
    out = os.path.join(tmp, "errs")
    cases = [
        ([], 2, "no MODEL"),
        ([add], 2, "no --out"),
        ([add, "--out", out, "--iterations", "0"], 2, "--iterations"),
        ([add, "--out", out, "--bogus"], 2, "unknown option"),
        ([add, "--out", out, "--input", "x"], 2, "NAME=FILE"),
        (["/nonexistent.onnx", "--out", out], 3, "cannot read the model"),
        ([broken_model, "--out", out], 3, "cannot load the model"),
        ([add, "--out", out, "--input", f"x={x}"], 3, "missing inputs: y"),
        ([add, "--out", out, "--input", f"x={x}", "--input", f"z={x}"], 3, "no input 'z'"),
        ([add, "--out", out, "--input", f"x={x}", "--input", f"y={x64}"], 3, "is float32; the file holds float64"),
        ([add, "--out", out, "--input", f"x={x}", "--input", f"y={junk}"], 3, "junk.npy"),
        ([add, "--out", out, "--input", f"x={x}", "--input", "y=/nonexistent.npy"], 3, "cannot read"),
        ([add, "--out", out, "--provider", "TensorrtExecutionProvider"], 5, "not supported"),
    ]
    for args, want_rc, want_msg in cases:
        p = runner(*args)
        last = p.stderr.strip().splitlines()[-1] if p.stderr.strip() else ""
        check(p.returncode == want_rc and want_msg in last and last.startswith(f"{label}: error:"),
              f"runner {' '.join(args[1:] or ['(none)'])}: exit {p.returncode} (want {want_rc}), stderr {last!r}")
    p = runner(add, "--describe")
    desc = json.loads(p.stdout) if p.returncode == 0 else {}
    check(desc.get("inputs") == [{"name": "x", "type": "float32", "shape": [3, 4, 5]},
                                 {"name": "y", "type": "float32", "shape": [3, 4, 5]}], f"--describe: {p.stdout[:200]}")
    p = runner("--help")
    check(p.returncode == 0 and "usage:" in p.stdout, "--help")
    print(f"summary: {label} runner: {passed}/{len(MODELS) + 1} models (backend tests + external data) match the expected outputs, "
          f"{len(cases)} error cases, {len(failures)} failures")
    shutil.rmtree(tmp)
    return len(failures)
