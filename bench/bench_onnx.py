#!/usr/bin/python3
"""bench_onnx.py -- `ferry inspect --json --check` (summary + structural check, one load) on a large-initializer model (1 GiB) and
a 200,000-node model, side by side in the same run with:
  - sha256sum of the same file (coreutils): the floor, every byte read once;
  - Debian's python3-onnx: onnx.load + onnx.checker.check_model (in process, import excluded).
Prints medians and ratios, and ferry's peak RSS against the file size. ferry runs with its
default thread count (the online CPUs but the sha256 thread's; one thread when fewer than 3
are free) and, side by side, with FERRY_ONNX_THREADS=1 (the single-threaded parse and check).
The models are generated in /tmp and deleted afterwards. FERRY_BENCH_SMALL=1: 64 MiB and
20,000 nodes, for a quick run. FERRY_BIN: the ferry binary.
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
from onnx import TensorProto, helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FERRY = os.environ.get('FERRY_BIN', os.path.join(ROOT, 'build', 'ferry'))
SMALL = os.environ.get('FERRY_BENCH_SMALL') == '1'
BIG_BYTES = (64 if SMALL else 1024) << 20
N_NODES = 20000 if SMALL else 200000
N_WEIGHTS = 16
RUNS = 3
CHUNK = 1 << 20


def varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7f) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def write_big_model(path):
    """N_WEIGHTS float initializers of BIG_BYTES / N_WEIGHTS each, written field by field so
    the generator never holds the whole model in memory."""
    per = BIG_BYTES // N_WEIGHTS
    n = per // 4
    x = helper.make_tensor_value_info('x', TensorProto.FLOAT, [n])
    y = helper.make_tensor_value_info('y', TensorProto.FLOAT, [n])
    nodes = [helper.make_node('Add', ['x' if i == 0 else 't%d' % (i - 1), 'w%d' % i],
                              ['y' if i == N_WEIGHTS - 1 else 't%d' % i], name='add%d' % i) for i in range(N_WEIGHTS)]
    graph_small = helper.make_graph(nodes, 'big', [x], [y]).SerializeToString()
    model = helper.make_model(helper.make_graph([], 'g', [], []), opset_imports=[helper.make_opsetid('', 17)])
    model.ClearField('graph')
    model_small = model.SerializeToString()
    rng = np.random.default_rng(1)
    block = rng.standard_normal(CHUNK // 4).astype('<f4').tobytes()
    inits = []
    for i in range(N_WEIGHTS):
        head = TensorProto(name='w%d' % i, dims=[n], data_type=TensorProto.FLOAT).SerializeToString()
        raw_hdr = b'\x4a' + varint(per)
        tensor_len = len(head) + len(raw_hdr) + per
        inits.append((b'\x2a' + varint(tensor_len) + head + raw_hdr))
    graph_len = len(graph_small) + sum(len(h) + per for h in inits)
    with open(path, 'wb') as f:
        f.write(model_small)
        f.write(b'\x3a' + varint(graph_len))
        f.write(graph_small)
        for h in inits:
            f.write(h)
            left = per
            while left:
                k = min(left, len(block))
                f.write(block[:k])
                left -= k


def write_node_model(path):
    c = helper.make_tensor('c', TensorProto.FLOAT, [4], [0.5, -0.25, 1.0, 2.0])
    x = helper.make_tensor_value_info('x', TensorProto.FLOAT, ['batch', 4])
    y = helper.make_tensor_value_info('y', TensorProto.FLOAT, ['batch', 4])
    nodes = []
    prev = 'x'
    for i in range(N_NODES):
        out = 'y' if i == N_NODES - 1 else 'v%d' % i
        if i % 2:
            nodes.append(helper.make_node('Relu', [prev], [out], name='relu%d' % i))
        else:
            nodes.append(helper.make_node('Add', [prev, 'c'], [out], name='add%d' % i))
        prev = out
    g = helper.make_graph(nodes, 'deep', [x], [y], initializer=[c])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 17)])
    with open(path, 'wb') as f:
        f.write(m.SerializeToString())


def run_timed(argv, env=None):
    """Wall time, CPU time (user + sys) and peak RSS (KiB) of one child process, from GNU
    time, a small parent: wait4() on a child forked from this (large) Python process would
    count the Python image it started as."""
    t = time.perf_counter()
    p = subprocess.run(['/usr/bin/time', '-f', 'ferry-bench %U %S %M'] + argv, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True, env=env)
    dt = time.perf_counter() - t
    if p.returncode != 0:
        raise RuntimeError('%s failed (%d): %s' % (' '.join(argv), p.returncode, p.stderr[-500:]))
    user, sys_, rss = p.stderr.strip().rsplit('ferry-bench ', 1)[1].split()
    return dt, float(user) + float(sys_), int(rss)


def bench(label, path):
    """Wall-clock medians, and CPU-time medians (robust when the machine is shared)."""
    size = os.path.getsize(path)
    sha, ferry, py, sha_cpu, ferry_cpu, py_cpu, rss = [], [], [], [], [], [], []
    one, one_cpu = [], []
    one_env = dict(os.environ, FERRY_ONNX_THREADS='1')
    for _ in range(RUNS):
        t, c, _ = run_timed(['sha256sum', path])
        sha.append(t)
        sha_cpu.append(c)
        t1, c1, r1 = run_timed([FERRY, 'inspect', '--json', '--check', path])
        ferry.append(t1)
        ferry_cpu.append(c1)
        rss.append(r1)
        t1, c1, r1 = run_timed([FERRY, 'inspect', '--json', '--check', path], env=one_env)
        one.append(t1)
        one_cpu.append(c1)
        rss.append(r1)
        t, c = time.perf_counter(), time.process_time()
        m = onnx.load(path)
        onnx.checker.check_model(m)
        py.append(time.perf_counter() - t)
        py_cpu.append(time.process_time() - c)
        del m
    med = statistics.median

    def ratio(a, b):  # GNU time counts CPU in 10 ms steps
        return '%.2fx' % (a / b) if b >= 0.01 else 'n/a'
    print('%s (%.1f MiB), medians of %d runs, wall / CPU seconds:' % (label, size / 1048576, RUNS))
    print('  sha256sum (floor)          %8.3f / %7.3f' % (med(sha), med(sha_cpu)))
    print('  ferry inspect --check      %8.3f / %7.3f   %s / %s the sha256 floor (target <= 2x)'
          % (med(ferry), med(ferry_cpu), ratio(med(ferry), med(sha)), ratio(med(ferry_cpu), med(sha_cpu))))
    print('    the same, 1 thread       %8.3f / %7.3f   %s / %s the sha256 floor (%d CPUs online)'
          % (med(one), med(one_cpu), ratio(med(one), med(sha)), ratio(med(one_cpu), med(sha_cpu)),
             os.cpu_count() or 0))
    print('  python3-onnx load + check  %8.3f / %7.3f   ferry is %s / %s faster (target >= 5x)'
          % (med(py), med(py_cpu), ratio(med(py), med(ferry)), ratio(med(py_cpu), med(ferry_cpu))))
    print('  ferry peak RSS             %8.1f MiB  %.2fx the file size (target <= 1.2x)'
          % (max(rss) / 1024, max(rss) * 1024 / size))
    sys.stdout.flush()


def main():
    work = tempfile.mkdtemp(prefix='ferry-bench-onnx-')
    try:
        big = os.path.join(work, 'big.onnx')
        write_big_model(big)
        bench('large initializers', big)
        os.unlink(big)
        deep = os.path.join(work, 'nodes.onnx')
        write_node_model(deep)
        bench('%d nodes' % N_NODES, deep)
        os.unlink(deep)
    finally:
        subprocess.run(['rm', '-rf', work])
    if SMALL:
        print('FERRY_BENCH_SMALL=1: reduced sizes')
    return 0


if __name__ == '__main__':
    sys.exit(main())
