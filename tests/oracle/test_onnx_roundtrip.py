#!/usr/bin/python3
"""test_onnx_roundtrip.py -- ferry's ONNX save and inspect, judged by python3-onnx.

1. Every model of libonnx-testdata is re-encoded by `ferry convert IN -o OUT` (no
   --opset: load + save); python3-onnx must load OUT to a message equal to IN's.
2. `ferry inspect --json` of every model must agree with facts computed by python3-onnx:
   IR version, opset imports, node count (with subgraphs), operator histogram, inputs
   (non-initializer) and outputs with element types and shapes, initializer count,
   bytes and parameters.
"""
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import mapping

NODE_DIR = '/usr/include/onnx/backend/test/data/node'
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FERRY = os.environ.get('FERRY_BIN', os.path.join(ROOT, 'build', 'ferry'))
# A sanitizer build starts ~30x slower: there, every STRIDE-th test model is used, so the
# ASan run stays within its time budget (FERRY_ONNX_STRIDE overrides).
STRIDE = int(os.environ.get('FERRY_ONNX_STRIDE', '20' if '/san/' in FERRY else '1'))
TYPE_NAMES = {1: 'float', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string',
              9: 'bool', 10: 'float16', 11: 'double', 12: 'uint32', 13: 'uint64', 14: 'complex64',
              15: 'complex128', 16: 'bfloat16'}


def walk(graph, hist):
    n = 0
    subgraphs = 0
    for node in graph.node:
        n += 1
        hist[(node.domain or 'ai.onnx', node.op_type)] += 1
        for a in node.attribute:
            gs = ([a.g] if a.HasField('g') else []) + list(a.graphs)
            for g in gs:
                k, s = walk(g, hist)
                n += k
                subgraphs += s + 1
    return n, subgraphs


def io_facts(values, skip=()):
    out = []
    for v in values:
        if v.name in skip:
            continue
        shape = None
        elem = None
        if v.type.HasField('tensor_type'):
            elem = TYPE_NAMES.get(v.type.tensor_type.elem_type) if v.type.tensor_type.elem_type else None
            if v.type.tensor_type.HasField('shape'):
                shape = []
                for d in v.type.tensor_type.shape.dim:
                    if d.HasField('dim_value'):
                        shape.append(d.dim_value)
                    elif d.HasField('dim_param'):
                        shape.append(d.dim_param)
                    else:
                        shape.append(None)
        out.append({'name': v.name, 'elem_type': elem, 'shape': shape})
    return out


def expected_summary(m):
    hist = collections.Counter()
    nodes, subgraphs = walk(m.graph, hist)
    for f in m.functions:
        for node in f.node:
            hist[(node.domain or 'ai.onnx', node.op_type)] += 1
    inits = m.graph.initializer
    params = sum(int(np.prod(t.dims, dtype=np.int64)) for t in inits)
    nbytes = 0
    for t in inits:
        n = int(np.prod(t.dims, dtype=np.int64))
        if t.data_type == onnx.TensorProto.STRING:
            nbytes += sum(len(s) for s in t.string_data)
        else:
            nbytes += n * np.dtype(mapping.TENSOR_TYPE_TO_NP_TYPE[t.data_type]).itemsize
    return {
        'ir_version': m.ir_version,
        'opset_import': sorted((o.domain or 'ai.onnx', o.version) for o in m.opset_import),
        'node_count': nodes,
        'subgraphs': subgraphs,
        'operators': sorted((d, op, c) for (d, op), c in hist.items()),
        'inputs': io_facts(m.graph.input, {t.name for t in inits}),
        'outputs': io_facts(m.graph.output),
        'initializers': (len(inits), nbytes, params),
    }


def got_summary(j):
    return {
        'ir_version': j['ir_version'],
        'opset_import': sorted((o['domain'], o['version']) for o in j['opset_import']),
        'node_count': j['node_count'],
        'subgraphs': j['subgraphs'],
        'operators': sorted((o['domain'], o['op_type'], o['count']) for o in j['operators']),
        'inputs': [{'name': i['name'], 'elem_type': i['elem_type'], 'shape': i['shape']} for i in j['inputs']],
        'outputs': [{'name': i['name'], 'elem_type': i['elem_type'], 'shape': i['shape']} for i in j['outputs']],
        'initializers': (j['initializers']['count'], j['initializers']['bytes'], j['initializers']['parameters']),
    }


def main():
    work = tempfile.mkdtemp(prefix='ferry-rt-')
    failures = []
    n = 0
    try:
        for name in sorted(os.listdir(NODE_DIR))[::STRIDE]:
            path = os.path.join(NODE_DIR, name, 'model.onnx')
            if not os.path.isfile(path):
                continue
            n += 1
            out = os.path.join(work, name + '.onnx')
            p = subprocess.run([FERRY, 'convert', path, '-o', out], capture_output=True, text=True, timeout=60)
            if p.returncode != 0:
                failures.append('%s: convert exit %d: %s' % (name, p.returncode, p.stderr.strip()))
                continue
            original = onnx.load(path)
            if onnx.load(out) != original:
                failures.append('%s: re-encoded model differs from the original' % name)
            p = subprocess.run([FERRY, 'inspect', '--json', path], capture_output=True, text=True, timeout=60)
            if p.returncode != 0:
                failures.append('%s: inspect exit %d: %s' % (name, p.returncode, p.stderr.strip()))
                continue
            j = json.loads(p.stdout)
            want, got = expected_summary(original), got_summary(j)
            for key in want:
                if want[key] != got[key]:
                    failures.append('%s: inspect %s: ferry %r, python3-onnx %r' % (name, key, got[key], want[key]))
            with open(path, 'rb') as f:
                import hashlib
                if j['sha256'] != hashlib.sha256(f.read()).hexdigest():
                    failures.append('%s: sha256 differs' % name)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print('summary: %d models re-encoded and inspected, %d disagreements with python3-onnx' % (n, len(failures)))
    for f in failures[:40]:
        print('FAIL:', f)
    return 1 if failures or n < 900 // STRIDE else 0


if __name__ == '__main__':
    sys.exit(main())
