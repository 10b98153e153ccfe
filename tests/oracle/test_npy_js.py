#!/usr/bin/python3
"""test_npy_js.py -- runners/ort-node/npy.js against numpy (the oracle): numpy writes every
dtype, byte order, memory order and format version; npy.js parses and re-encodes each
file in one node process; numpy must load the same values, and C-order little-endian
arrays must come back byte for byte as np.save wrote them. Malformed files must raise
NpyError, never anything else."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NPY_JS = os.path.join(ROOT, "runners", "ort-node", "npy.js")
SCRIPT = r"""
const fs = require('fs');
const npy = require(process.argv[1]);
const jobs = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const report = [];
for (const [src, dst] of jobs) {
  try {
    const a = npy.parse(src, fs.readFileSync(src));
    fs.writeFileSync(dst, npy.encode(a));
    report.push({ src, ok: true, dtype: a.dtype });
  } catch (e) {
    report.push({ src, ok: false, npyError: e instanceof npy.NpyError, message: e.message });
  }
}
process.stdout.write(JSON.stringify(report));
"""


def main():
    if shutil.which("node") is None:
        print("skipped: node not on PATH")
        return 0
    rng = np.random.default_rng(7)
    tmp = tempfile.mkdtemp(prefix="ferry-npyjs-")
    jobs, expect = [], {}
    n = 0
    for dt in ["?", "i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8", "f2", "f4", "f8", "U", "S"]:
        for shape in [(), (0,), (5,), (2, 3), (2, 3, 4)]:
            size = int(np.prod(shape)) if shape else 1
            if dt == "U":
                a = np.array(["", "héllo", "日本語", "\U0001F600x", "abc"] * 5)[:size].reshape(shape)
            elif dt == "S":
                a = np.array([b"", b"ab", b"xyz"] * 10)[:size].reshape(shape)
            elif dt == "?":
                a = rng.integers(0, 2, size).astype(bool).reshape(shape)
            elif dt[0] in "iu":
                info = np.iinfo(dt)
                a = rng.integers(info.min, info.max, size, dtype=dt, endpoint=True).reshape(shape)
            else:
                a = (rng.standard_normal(size) * 100).astype(dt).reshape(shape)
                if size >= 3:
                    a.flat[:3] = [np.nan, -np.inf, -0.0]
            for order in "<>":
                b = a.astype(a.dtype.newbyteorder(order)) if a.dtype.itemsize > 1 and dt != "S" else a
                for memory in "CF":
                    for version in [(1, 0), (2, 0), (3, 0)]:
                        if version != (1, 0) and (order == ">" or memory == "F"):
                            continue
                        c = np.asfortranarray(b) if memory == "F" else b
                        src, dst = os.path.join(tmp, f"in{n}.npy"), os.path.join(tmp, f"out{n}.npy")
                        with open(src, "wb") as f:
                            np.lib.format.write_array(f, c, version=version)
                        jobs.append([src, dst])
                        # byte identity holds where numpy's dtype is what a writer derives from
                        # the data (a '<U' array's width is its longest string)
                        natural = dt != "S" and (dt != "U" or c.dtype.itemsize // 4 == max([1] + [len(x) for x in c.ravel().tolist()]))
                        expect[src] = (c, dst, version == (1, 0) and memory == "C" and (order == "<" or c.dtype.itemsize == 1) and natural)
                        n += 1
    good = np.arange(6, dtype=np.float32)
    blob = open(os.path.join(tmp, "in0.npy"), "rb").read()
    np.save(os.path.join(tmp, "g.npy"), good)
    gblob = open(os.path.join(tmp, "g.npy"), "rb").read()
    bad = {
        "object": None, "truncated": gblob[:-1], "trailing": gblob + b"\0", "magic": b"\x93NUMPX" + gblob[6:],
        "version": gblob[:6] + b"\x05" + gblob[7:], "header": gblob[:10] + b"{'descr': '<f4', 'bogus': 1}".ljust(len(gblob) - 10),
        "empty": b"", "complex": None,
    }
    for name, data in bad.items():
        path = os.path.join(tmp, f"bad-{name}.npy")
        if name == "object":
            np.save(path, np.array([1, "x"], dtype=object), allow_pickle=True)
        elif name == "complex":
            np.save(path, np.zeros(2, np.complex64))
        else:
            open(path, "wb").write(data)
        jobs.append([path, path + ".out"])
    job_file = os.path.join(tmp, "jobs.json")
    json.dump(jobs, open(job_file, "w"))
    p = subprocess.run(["node", "-e", SCRIPT, NPY_JS, job_file], capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        print("FAIL: node:", p.stderr)
        return 1
    failures, identical = [], 0
    for r in json.loads(p.stdout):
        src = r["src"]
        if "bad-" in src:
            if r["ok"] or not r["npyError"]:
                failures.append(f"{src}: {r}")
            continue
        a, dst, bytewise = expect[src]
        if not r["ok"]:
            failures.append(f"{src} ({a.dtype.str}, {a.shape}): {r['message']}")
            continue
        b = np.load(dst)
        want = np.char.decode(a, "utf-8") if a.dtype.kind == "S" else a
        if a.dtype.kind in "US":
            ok = b.dtype.kind == "U" and b.shape == a.shape and b.tolist() == want.astype(str).tolist()
        else:
            ok = (b.dtype == a.dtype.newbyteorder("=") and b.shape == a.shape
                  and np.array_equal(b, a, equal_nan=a.dtype.kind == "f") and b.flags["C_CONTIGUOUS"])
        if not ok:
            failures.append(f"{src} ({a.dtype.str}, {a.shape}, fortran={a.flags['F_CONTIGUOUS'] and a.ndim > 1}): differs")
        if bytewise:
            same = open(src, "rb").read() == open(dst, "rb").read()
            identical += same
            if not same:
                failures.append(f"{src}: bytes differ from np.save's")
    for f in failures:
        print("FAIL:", f)
    print(f"summary: npy.js oracle: {n} numpy files, {identical} byte-identical rewrites, "
          f"{len(bad)} malformed files refused, {len(failures)} failures")
    shutil.rmtree(tmp)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
