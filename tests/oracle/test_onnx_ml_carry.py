#!/usr/bin/python3
"""test_onnx_ml_carry.py -- `ferry convert --opset` carries ai.onnx.ml operators across.

A model mixing the default domain and ai.onnx.ml (Scaler -> Clip with constant min/max
inputs -> Softmax(axis=0) -> Binarizer) at opset 11 / ml 1 is converted by ferry to
default opsets 7, 9, 13 and 17. Each result must keep the ai.onnx.ml import and nodes,
pass onnx.checker, and give, under ONNX Runtime, the outputs numpy computes for it.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FERRY = os.environ.get('FERRY_BIN', os.path.join(ROOT, 'build', 'ferry'))
NODE_MODULES = os.path.join(ROOT, 'runners', 'ort-node', 'node_modules')
TARGETS = [7, 9, 13, 17]
OFFSET = [0.5, -1.0, 0.0, 2.0]
SCALE = [2.0, 0.5, 1.0, -1.0]
LO, HI, THRESHOLD = -1.5, 1.5, 0.2


def build(path):
    x = helper.make_tensor_value_info('x', TensorProto.FLOAT, [3, 4])
    y = helper.make_tensor_value_info('y', TensorProto.FLOAT, [3, 4])
    nodes = [
        helper.make_node('Scaler', ['x'], ['scaled'], domain='ai.onnx.ml', name='scaler', offset=OFFSET, scale=SCALE),
        helper.make_node('Clip', ['scaled', 'lo', 'hi'], ['clipped'], name='clip'),
        helper.make_node('Softmax', ['clipped'], ['soft'], name='softmax', axis=0),
        helper.make_node('Binarizer', ['soft'], ['y'], domain='ai.onnx.ml', name='binarizer', threshold=THRESHOLD),
    ]
    inits = [numpy_helper.from_array(np.array(LO, np.float32), 'lo'),
             numpy_helper.from_array(np.array(HI, np.float32), 'hi')]
    g = helper.make_graph(nodes, 'mixed', [x], [y], initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 11), helper.make_opsetid('ai.onnx.ml', 1)])
    m.ir_version = 6
    onnx.checker.check_model(m)
    onnx.save(m, path)


def expected(x):
    s = np.clip((x - np.array(OFFSET, np.float32)) * np.array(SCALE, np.float32), LO, HI)
    flat = s.reshape(1, -1)  # Softmax-11 axis=0 normalises over everything
    e = np.exp(flat - flat.max())
    soft = (e / e.sum()).reshape(s.shape)
    return np.where(soft > THRESHOLD, 1.0, 0.0).astype(np.float32)


def main():
    work = tempfile.mkdtemp(prefix='ferry-ml-')
    try:
        return run(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(work):
    original = os.path.join(work, 'mixed.onnx')
    build(original)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 4)).astype(np.float32) * 0.3
    # thresholds chosen so that the expected output has both zeros and ones
    want = expected(x)
    x_file, y_file = os.path.join(work, 'x.bin'), os.path.join(work, 'y.bin')
    x.astype('<f4').tofile(x_file)
    want.astype('<f4').tofile(y_file)
    variants = [{'tag': 'original', 'model': original}]
    failures = []
    for t in TARGETS:
        out = os.path.join(work, 'opset%d.onnx' % t)
        p = subprocess.run([FERRY, 'convert', original, '-o', out, '--opset', str(t)], capture_output=True, text=True,
                           timeout=60)
        if p.returncode != 0:
            failures.append('opset %d: ferry exit %d: %s' % (t, p.returncode, p.stderr.strip()))
            continue
        m = onnx.load(out)
        try:
            onnx.checker.check_model(m)
        except onnx.checker.ValidationError as e:
            failures.append('opset %d: onnx.checker: %s' % (t, str(e).splitlines()[0]))
        imports = {o.domain: o.version for o in m.opset_import}
        if imports.get('ai.onnx.ml') != 1 or imports.get('') != t:
            failures.append('opset %d: opset imports %r' % (t, imports))
        ml_nodes = [n.op_type for n in m.graph.node if n.domain == 'ai.onnx.ml']
        if ml_nodes != ['Scaler', 'Binarizer']:
            failures.append('opset %d: ai.onnx.ml nodes %r' % (t, ml_nodes))
        variants.append({'tag': str(t), 'model': out})
    manifest = os.path.join(work, 'manifest.json')
    with open(manifest, 'w') as f:
        json.dump({'cases': [{'id': 'mixed', 'variants': variants,
                              'inputs': [{'dtype': 'float32', 'dims': [3, 4], 'file': x_file}],
                              'outputs': [{'dtype': 'float32', 'dims': [3, 4], 'file': y_file}]}]}, f)
    p = subprocess.run(['node', os.path.join(HERE, 'ort_run.js'), manifest], capture_output=True, text=True,
                       env=dict(os.environ, NODE_PATH=NODE_MODULES), timeout=300)
    if p.returncode != 0:
        failures.append('ort_run.js failed: ' + p.stderr[-1000:])
    results = [json.loads(line) for line in p.stdout.splitlines()]
    for r in results:
        if r['status'] != 'pass':
            failures.append('%s: ONNX Runtime %s: %s' % (r['tag'], r['status'], r['detail']))
    passed = sum(r['status'] == 'pass' for r in results)
    print('summary: ai.onnx.ml carried across: %d of %d variants match numpy under ONNX Runtime (ones in output: %d/12)'
          % (passed, len(variants), int(want.sum())))
    for f in failures:
        print('FAIL:', f)
    return 1 if failures or len(results) != len(variants) or not (0 < want.sum() < 12) else 0


if __name__ == '__main__':
    sys.exit(main())
