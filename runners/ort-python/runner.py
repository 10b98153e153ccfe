#!/usr/bin/env python3
"""runner.py -- ferry's ONNX Runtime runner for Python (onnxruntime / onnxruntime-gpu).

Runs one model on .npy inputs, writes DIR/output_<k>.npy and DIR/result.json with
timings; the interface is specified in runners/README.md. Exit codes: 0 ok, 2 usage,
3 invalid input, 4 runtime failure, 5 unsupported (onnxruntime not importable, provider
unavailable, dtype). A requested provider that ONNX Runtime silently replaces by the CPU
(it does so when CUDA libraries fail to load) is reported as exit 5, not run."""
import json
import os
import sys
import time

RUNNER = "ort-python"
EXIT_OK, EXIT_USAGE, EXIT_INPUT, EXIT_RUNTIME, EXIT_UNSUPPORTED = 0, 2, 3, 4, 5
MAX_ITERATIONS = 1000000
PROVIDERS = {"cpu": "CPUExecutionProvider", "cpuexecutionprovider": "CPUExecutionProvider",
             "cuda": "CUDAExecutionProvider", "cudaexecutionprovider": "CUDAExecutionProvider"}
# numpy dtype -> ONNX Runtime type string (as onnxruntime reports "tensor(float)")
ORT_TYPES = {"bool": "tensor(bool)", "int8": "tensor(int8)", "uint8": "tensor(uint8)", "int16": "tensor(int16)",
             "uint16": "tensor(uint16)", "int32": "tensor(int32)", "uint32": "tensor(uint32)",
             "int64": "tensor(int64)", "uint64": "tensor(uint64)", "float16": "tensor(float16)",
             "float32": "tensor(float)", "float64": "tensor(double)", "string": "tensor(string)"}
USAGE = """usage: runner.py MODEL.onnx --input NAME=FILE.npy ... --out DIR
                 [--iterations N] [--warmup N] [--provider CPUExecutionProvider|CUDAExecutionProvider] [--threads N]
       runner.py MODEL.onnx --describe
Runs MODEL with ONNX Runtime (Python) on the given inputs; writes DIR/output_<k>.npy and
DIR/result.json (outputs, timings). See runners/README.md."""


class RunnerError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def parse_args(argv):
    args = {"inputs": [], "iterations": 1, "warmup": 0, "provider": "cpu", "threads": 0, "model": None,
            "out": None, "describe": False, "help": False}

    def value(i, flag):
        if i + 1 >= len(argv):
            raise RunnerError(EXIT_USAGE, f"{flag} needs a value")
        return argv[i + 1]

    def count(v, flag, low):
        if not v.isdigit() or len(v) > 7 or not low <= int(v) <= MAX_ITERATIONS:
            raise RunnerError(EXIT_USAGE, f"{flag}: expected an integer from {low} to {MAX_ITERATIONS}, got '{v}'")
        return int(v)

    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-h", "--help"):
            args["help"] = True
        elif a == "--describe":
            args["describe"] = True
        elif a == "--input":
            v = value(i, a)
            i += 1
            name, sep, path = v.partition("=")
            if not sep or not name:
                raise RunnerError(EXIT_USAGE, f"--input: expected NAME=FILE.npy, got '{v}'")
            args["inputs"].append((name, path))
        elif a == "--out":
            args["out"] = value(i, a)
            i += 1
        elif a in ("--iterations", "--warmup", "--threads"):
            args[a[2:]] = count(value(i, a), a, 1 if a == "--iterations" else 0)
            i += 1
        elif a == "--provider":
            args["provider"] = value(i, a)
            i += 1
        elif a.startswith("-"):
            raise RunnerError(EXIT_USAGE, f"unknown option '{a}'")
        elif args["model"] is None:
            args["model"] = a
        else:
            raise RunnerError(EXIT_USAGE, f"unexpected argument '{a}'")
        i += 1
    if args["help"]:
        return args
    if not args["model"]:
        raise RunnerError(EXIT_USAGE, "no MODEL given")
    if not args["describe"] and not args["out"]:
        raise RunnerError(EXIT_USAGE, "no --out DIR given")
    return args


def load_array(np, path):
    try:
        a = np.load(path, allow_pickle=False)  # never unpickle: object arrays are refused
    except FileNotFoundError:
        raise RunnerError(EXIT_INPUT, f"{path}: cannot read: ENOENT")
    except (ValueError, OSError, EOFError) as e:
        raise RunnerError(EXIT_INPUT, f"{path}: not a supported .npy file: {str(e).splitlines()[0]}")
    if not isinstance(a, np.ndarray):
        raise RunnerError(EXIT_INPUT, f"{path}: an .npz archive, not a .npy file")
    if a.dtype.kind in "US":
        return a.astype(str).astype(object), "string"
    name = a.dtype.name
    if name not in ORT_TYPES:
        raise RunnerError(EXIT_UNSUPPORTED, f"{path}: dtype {a.dtype} is not supported")
    return np.ascontiguousarray(a.astype(a.dtype.newbyteorder("="))), name


def session_for(ort, args):
    wanted = PROVIDERS.get(args["provider"].lower())
    if not wanted:
        raise RunnerError(EXIT_UNSUPPORTED,
                          f"provider '{args['provider']}' is not supported by {RUNNER} (CPUExecutionProvider, CUDAExecutionProvider)")
    if wanted not in ort.get_available_providers():
        raise RunnerError(EXIT_UNSUPPORTED, f"provider {wanted} is not available in this onnxruntime "
                                            f"(available: {', '.join(ort.get_available_providers())})")
    try:
        open(args["model"], "rb").close()
    except OSError as e:
        raise RunnerError(EXIT_INPUT, f"{args['model']}: cannot read the model: {e.strerror}")
    options = ort.SessionOptions()
    options.log_severity_level = 4
    if args["threads"]:
        options.intra_op_num_threads = args["threads"]
    try:
        # a path, not the bytes, so external data next to the model is found
        session = ort.InferenceSession(args["model"], options, providers=[wanted])
    except Exception as e:  # onnxruntime raises its own exception classes
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        if "NOT_IMPLEMENTED" in msg or "not implemented" in msg.lower():
            raise RunnerError(EXIT_UNSUPPORTED, f"{args['model']}: {msg}")
        if "locale" in msg.lower():
            raise RunnerError(EXIT_RUNTIME, f"{args['model']}: this machine lacks a locale the model needs: {msg}")
        raise RunnerError(EXIT_INPUT, f"{args['model']}: cannot load the model: {msg}")
    if wanted not in session.get_providers():
        raise RunnerError(EXIT_UNSUPPORTED, f"{wanted} could not be initialised (ONNX Runtime fell back to "
                                            f"{', '.join(session.get_providers())}); check the CUDA/cuDNN libraries")
    return session, wanted


def describe(session):
    names = {v: k for k, v in ORT_TYPES.items()}

    def meta(values):
        return [{"name": v.name, "type": names.get(v.type, v.type),
                 "shape": [d if isinstance(d, int) else (d or None) for d in (v.shape or [])]} for v in values]
    return {"inputs": meta(session.get_inputs()), "outputs": meta(session.get_outputs())}


def run(argv):
    args = parse_args(argv)
    if args["help"]:
        print(USAGE)
        return EXIT_OK
    try:
        import numpy as np
        import onnxruntime as ort
    except ImportError as e:
        raise RunnerError(EXIT_UNSUPPORTED, f"onnxruntime is not importable by {sys.executable}: {e}")
    t0 = time.perf_counter_ns()
    session, provider = session_for(ort, args)
    load_ms = (time.perf_counter_ns() - t0) / 1e6
    if args["describe"]:
        print(json.dumps(describe(session), indent=2))
        return EXIT_OK
    model_inputs = {i.name: i for i in session.get_inputs()}
    feeds, records = {}, []
    for name, path in args["inputs"]:
        if name not in model_inputs:
            raise RunnerError(EXIT_INPUT, f"--input {name}: the model has no input '{name}' "
                                          f"(inputs: {', '.join(model_inputs)})")
        if name in feeds:
            raise RunnerError(EXIT_USAGE, f"--input {name} given twice")
        array, dtype = load_array(np, path)
        if model_inputs[name].type != ORT_TYPES[dtype]:
            expected = {v: k for k, v in ORT_TYPES.items()}.get(model_inputs[name].type, model_inputs[name].type)
            raise RunnerError(EXIT_INPUT, f"{path}: input '{name}' of the model is {expected}; "
                                          f"the file holds {dtype}")
        feeds[name] = array
        records.append({"name": name, "dtype": dtype, "shape": list(array.shape), "file": path})
    missing = [n for n in model_inputs if n not in feeds]
    if missing:
        raise RunnerError(EXIT_INPUT, f"missing inputs: {', '.join(missing)} (give each with --input NAME=FILE.npy)")
    try:
        os.makedirs(args["out"], exist_ok=True)
    except OSError as e:
        raise RunnerError(EXIT_RUNTIME, f"{args['out']}: cannot create the output directory: {e.strerror}")

    def run_once():
        try:
            return session.run(None, feeds)
        except Exception as e:
            msg = str(e).splitlines()[0] if str(e) else type(e).__name__
            if "NOT_IMPLEMENTED" in msg:
                raise RunnerError(EXIT_UNSUPPORTED, f"inference: {msg}")
            if "INVALID_ARGUMENT" in msg or "Invalid rank" in msg or "invalid dimensions" in msg:
                raise RunnerError(EXIT_INPUT, f"inference: {msg}")
            raise RunnerError(EXIT_RUNTIME, f"inference failed: {msg}")

    for _ in range(args["warmup"]):
        run_once()
    run_ms, results = [], None
    for _ in range(args["iterations"]):
        start = time.perf_counter_ns()
        r = run_once()
        run_ms.append((time.perf_counter_ns() - start) / 1e6)
        if results is None:
            results = r
    outputs = []
    for k, (meta, value) in enumerate(zip(session.get_outputs(), results)):
        value = np.asarray(value)
        if value.dtype.kind in "OUS":
            value = np.array([x.decode() if isinstance(x, bytes) else str(x) for x in value.ravel()],
                             dtype=str).reshape(value.shape)
            dtype = "string"
        else:
            dtype = value.dtype.name
        file = f"output_{k}.npy"
        try:
            np.save(os.path.join(args["out"], file), np.ascontiguousarray(value), allow_pickle=False)
        except OSError as e:
            raise RunnerError(EXIT_RUNTIME, f"{os.path.join(args['out'], file)}: cannot write: {e.strerror}")
        outputs.append({"name": meta.name, "dtype": dtype, "shape": list(value.shape), "file": file})
    ordered = sorted(run_ms)
    n = len(ordered)
    result = {
        "runner": RUNNER, "runtime": "onnxruntime", "runtime_version": ort.__version__,
        "provider": provider, "model": args["model"], "inputs": records, "outputs": outputs,
        "timings": {
            "load_ms": load_ms, "warmup": args["warmup"], "iterations": args["iterations"], "run_ms": run_ms,
            "median_ms": ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2,
            "min_ms": ordered[0], "p90_ms": ordered[min(n - 1, -(-9 * n // 10) - 1)], "mean_ms": sum(run_ms) / n,
        },
    }
    path = os.path.join(args["out"], "result.json")
    try:
        with open(path + ".tmp", "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")
        os.replace(path + ".tmp", path)  # result.json appears only when complete
    except OSError as e:
        raise RunnerError(EXIT_RUNTIME, f"{path}: cannot write: {e.strerror}")
    return EXIT_OK


def main():
    try:
        return run(sys.argv[1:])
    except RunnerError as e:
        hint = " (see --help)" if e.code == EXIT_USAGE else ""
        sys.stderr.write(f"{RUNNER}: error: {e}{hint}\n")
        return e.code
    except Exception as e:  # a bug in the runner: say so on the last line
        import traceback
        traceback.print_exc()
        sys.stderr.write(f"{RUNNER}: error: internal error: {type(e).__name__}: {e}\n")
        return EXIT_RUNTIME


if __name__ == "__main__":
    sys.exit(main())
