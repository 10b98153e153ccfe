#!/usr/bin/python3
"""test_npy.py -- model/npy against numpy (the oracle): numpy writes every dtype, shape,
byte order, memory order and format version; `ferry npy copy` reads and rewrites them;
numpy must load exactly the same values back, and for C-order little-endian arrays the
bytes must be identical to np.save's. Also `ferry npy show --json` values and refusals."""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

FERRY = os.environ.get("FERRY_BIN", "build/ferry")
rng = np.random.default_rng(20261127)
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def values(dtype, shape):
    n = int(np.prod(shape)) if shape else 1
    kind = np.dtype(dtype).kind
    if kind == "b":
        v = rng.integers(0, 2, n).astype(bool)
    elif kind in "iu":
        info = np.iinfo(dtype)
        v = rng.integers(info.min, info.max, n, dtype=dtype, endpoint=True)
        if n >= 2:
            v[0], v[1] = info.min, info.max
    elif kind == "f":
        v = rng.standard_normal(n).astype(dtype) * 1000
        special = np.array([np.nan, np.inf, -np.inf, -0.0, np.finfo(dtype).tiny / 2, np.finfo(dtype).max], dtype=dtype)
        v[: min(n, len(special))] = special[: min(n, len(special))]
    elif kind == "U":
        pool = ["", "a", "héllo", "日本語", "emoji \U0001F600", "tab\tnew\nline", "x" * 17]
        v = np.array([pool[i % len(pool)] for i in range(n)])
    else:  # S
        pool = [b"", b"ab", b"plain bytes", b"z" * 9]
        v = np.array([pool[i % len(pool)] for i in range(n)])
    return v.reshape(shape)


def run(*args, check_rc=True):
    p = subprocess.run([FERRY, *args], capture_output=True, text=True, timeout=60)
    if check_rc and p.returncode != 0:
        raise RuntimeError(f"ferry {' '.join(args)}: exit {p.returncode}: {p.stderr}")
    return p


def main():
    tmp = tempfile.mkdtemp(prefix="ferry-npy-oracle-")
    dtypes = ["?", "i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8", "f2", "f4", "f8", "U", "S"]
    shapes = [(), (0,), (7,), (2, 3), (2, 3, 4), (1, 0, 3), (3, 1, 2, 2)]
    cases = 0
    identical = 0
    jobs = []  # (src, dst, array, what, bytewise): written first, copied by one ferry process
    for dt in dtypes:
        for shape in shapes:
            base = values(dt, shape)
            for order_char in "<>":
                arr = base.astype(base.dtype.newbyteorder(order_char)) if base.dtype.itemsize > 1 and base.dtype.kind != "S" else base
                for memory_order in "CF":
                    a = np.asfortranarray(arr) if memory_order == "F" else np.ascontiguousarray(arr)
                    for version in [(1, 0), (2, 0), (3, 0)]:
                        if version != (1, 0) and (order_char == ">" or memory_order == "F"):
                            continue  # versions are covered on the plain layout
                        src = os.path.join(tmp, f"in{len(jobs)}.npy")
                        dst = os.path.join(tmp, f"out{len(jobs)}.npy")
                        with open(src, "wb") as f:
                            np.lib.format.write_array(f, a, version=version)
                        what = f"{a.dtype.str} shape={shape} order={memory_order} version={version}"
                        bytewise = (version == (1, 0) and memory_order == "C" and a.dtype.kind != "S"
                                    and (order_char == "<" or a.dtype.itemsize == 1))
                        jobs.append((src, dst, a, what, bytewise))
    run("npy", "copy", *[p for job in jobs for p in job[:2]])
    for src, dst, a, what, bytewise in jobs:
        b = np.load(dst)
        cases += 1
        want_dtype = a.dtype.newbyteorder("=")
        if a.dtype.kind in "US":
            want = np.char.decode(a, "utf-8") if a.dtype.kind == "S" else a
            check(b.dtype.kind == "U", f"{what}: dtype {b.dtype}")
            check(b.shape == a.shape and b.tolist() == want.astype(str).tolist(), f"{what}: strings differ")
        else:
            check(b.dtype == want_dtype, f"{what}: dtype {b.dtype} != {want_dtype}")
            check(b.shape == a.shape, f"{what}: shape {b.shape}")
            check(np.array_equal(b, a, equal_nan=a.dtype.kind == "f"), f"{what}: values differ")
            if a.dtype.kind == "f":  # -0.0 survives bit for bit
                check(np.array_equal(np.signbit(b), np.signbit(a)), f"{what}: sign bits differ")
        check(b.flags["C_CONTIGUOUS"], f"{what}: not C order")
        if bytewise:
            same = open(src, "rb").read() == open(dst, "rb").read()
            identical += same
            check(same, f"{what}: bytes differ from np.save's")
    # show --json values against numpy's own
    files = []
    for i, dt in enumerate(["f8", "f4", "i8", "u8", "?", "U", "f2"]):
        path = os.path.join(tmp, f"show{i}.npy")
        v = values(dt, (3, 2))
        np.save(path, v)
        files.append((path, v))
    out = json.loads(run("npy", "show", "--json", "--max", "all", *[p for p, _ in files]).stdout)
    for (path, v), got in zip(files, out):
        check(got["shape"] == list(v.shape) and got["count"] == v.size, f"{path}: shape")
        want = [None if isinstance(x, float) and (np.isnan(x) or np.isinf(x)) else x for x in v.ravel().tolist()]
        vals = got["values"]
        if v.dtype.kind == "f":
            vals = [None if x is None else float(np.array(x, dtype=v.dtype)) for x in vals]
            want = [None if x is None else float(x) for x in want]
        check(vals == want, f"{path}: show values {vals[:4]} != {want[:4]}")
    # refusals: object arrays (pickles), structured, complex, truncated, trailing bytes
    bad = {
        "object": np.array([1, "a"], dtype=object),
        "structured": np.zeros(2, dtype=[("a", "<f4"), ("b", "<i4")]),
        "complex": np.zeros(2, dtype=np.complex64),
        "datetime": np.array(["2026-11-27"], dtype="datetime64[D]"),
    }
    for name, v in bad.items():
        path = os.path.join(tmp, f"bad-{name}.npy")
        np.save(path, v, allow_pickle=True)
        p = run("npy", "show", path, check_rc=False)
        check(p.returncode == 3 and "ferry npy: " + path in p.stderr, f"{name}: exit {p.returncode} {p.stderr!r}")
    good = os.path.join(tmp, "good.npy")
    np.save(good, np.arange(10, dtype=np.float32))
    blob = open(good, "rb").read()
    for name, data in {"truncated": blob[:-1], "trailing": blob + b"\0", "header-cut": blob[:20]}.items():
        path = os.path.join(tmp, f"bad-{name}.npy")
        open(path, "wb").write(data)
        p = run("npy", "show", path, check_rc=False)
        check(p.returncode == 3 and path in p.stderr and "Traceback" not in p.stderr, f"{name}: exit {p.returncode}")
    print(f"summary: npy oracle: {cases} numpy files read and rewritten, {identical} byte-identical to np.save, "
          f"{len(failures)} failures")
    subprocess.run(["rm", "-rf", tmp])
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
