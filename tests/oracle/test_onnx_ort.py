#!/usr/bin/python3
"""test_onnx_ort.py -- proof of `ferry convert --opset` with ONNX Runtime.

For every node test of Debian's libonnx-testdata (model.onnx + test_data_set_0), the
original model and its conversions by ferry to each target opset are run with ONNX
Runtime (npm onnxruntime-node, one Node process for the whole list, tests/oracle/ort_run.js)
on the stored inputs, and every output is compared with the stored expected output.

Fails when a model ferry converted does not reproduce the expected outputs although the
original does (a wrong conversion), or when ferry crashes. Refusals (exit 1, with a
reason) are counted per target and reason. Prints `summary:` lines with the counts.
Environment: FERRY_BIN, FERRY_ORT_TARGETS (e.g. "9,13"), FERRY_ORT_LIMIT (first N tests).
"""
import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile

import onnx
from onnx import numpy_helper

NODE_DIR = '/usr/include/onnx/backend/test/data/node'
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FERRY = os.environ.get('FERRY_BIN', os.path.join(ROOT, 'build', 'ferry'))
# A sanitizer build starts ~30x slower: there, every STRIDE-th test model is used, so the
# ASan run stays within its time budget (FERRY_ONNX_STRIDE overrides).
STRIDE = int(os.environ.get('FERRY_ONNX_STRIDE', '20' if '/san/' in FERRY else '1'))
NODE_MODULES = os.path.join(ROOT, 'runners', 'ort-node', 'node_modules')
TARGETS = [int(t) for t in os.environ.get('FERRY_ORT_TARGETS', '7,9,11,13,15,17').split(',')]
# Conversions chained back up: the model converted down to T is converted again to the
# latest opset, which drives the upward adapters over the whole test suite.
CHAIN_FROM = [t for t in (7, 11) if t in TARGETS]
LATEST = 17
DTYPES = {1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64',
          8: 'string', 9: 'bool', 10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64'}


def tensor_spec(path, elem_type, out_dir, tag):
    t = onnx.TensorProto()
    with open(path, 'rb') as f:
        t.ParseFromString(f.read())
    arr = numpy_helper.to_array(t)
    dtype = DTYPES[elem_type]
    dims = [int(d) for d in arr.shape]
    if dtype == 'string':
        return {'dtype': dtype, 'dims': dims,
                'strings': [s.decode('utf-8', 'replace') if isinstance(s, bytes) else str(s) for s in arr.ravel()]}
    if dtype == 'float16':
        arr = arr.view('uint16')
    file = os.path.join(out_dir, tag + '.bin')
    with open(file, 'wb') as f:
        f.write(arr.astype(arr.dtype.newbyteorder('<')).tobytes())
    return {'dtype': dtype, 'dims': dims, 'file': file}


def tensor_types(values):
    out = []
    for v in values:
        if not v.type.HasField('tensor_type') or v.type.tensor_type.elem_type not in DTYPES:
            return None
        out.append(v.type.tensor_type.elem_type)
    return out


def main():
    if not os.path.isdir(os.path.join(NODE_MODULES, 'onnxruntime-node')):
        print('onnxruntime-node is not installed under runners/ort-node (run make deps)')
        return 1
    work = tempfile.mkdtemp(prefix='ferry-ort-')
    try:
        return run(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(work):
    names = sorted(os.listdir(NODE_DIR))[::STRIDE]
    limit = int(os.environ.get('FERRY_ORT_LIMIT', '0'))
    if limit:
        names = names[:limit]
    cases = []
    refused = collections.defaultdict(collections.Counter)
    counts = collections.defaultdict(collections.Counter)
    crashes = []
    skipped = 0
    for name in names:
        d = os.path.join(NODE_DIR, name)
        model_path = os.path.join(d, 'model.onnx')
        ds = os.path.join(d, 'test_data_set_0')
        if not os.path.isfile(model_path) or not os.path.isdir(ds):
            continue
        m = onnx.load(model_path)
        inits = {t.name for t in m.graph.initializer}
        ins = tensor_types([v for v in m.graph.input if v.name not in inits])
        outs = tensor_types(m.graph.output)
        opset = next((o.version for o in m.opset_import if o.domain in ('', 'ai.onnx')), None)
        if ins is None or outs is None or opset is None:
            skipped += 1
            continue
        cd = os.path.join(work, name)
        os.makedirs(cd)
        try:
            inputs = [tensor_spec(os.path.join(ds, 'input_%d.pb' % i), t, cd, 'in%d' % i) for i, t in enumerate(ins)]
            outputs = [tensor_spec(os.path.join(ds, 'output_%d.pb' % i), t, cd, 'out%d' % i) for i, t in enumerate(outs)]
        except (OSError, ValueError, TypeError, KeyError):
            skipped += 1
            continue
        variants = [{'tag': 'original', 'model': model_path}]
        for target in TARGETS:
            if target == opset:
                continue
            out = os.path.join(cd, 'opset%d.onnx' % target)
            p = subprocess.run([FERRY, 'convert', model_path, '-o', out, '--opset', str(target)],
                               capture_output=True, text=True, timeout=60)
            if p.returncode == 0:
                variants.append({'tag': str(target), 'model': out})
                counts[target]['converted'] += 1
                if target in CHAIN_FROM:
                    up = os.path.join(cd, 'opset%d-%d.onnx' % (target, LATEST))
                    tag = '%d>%d' % (target, LATEST)
                    q = subprocess.run([FERRY, 'convert', out, '-o', up, '--opset', str(LATEST)],
                                       capture_output=True, text=True, timeout=60)
                    if q.returncode == 0:
                        variants.append({'tag': tag, 'model': up})
                        counts[tag]['converted'] += 1
                    elif q.returncode == 1:
                        counts[tag]['refused'] += 1
                        refused[tag][q.stderr.strip().split(':')[-1].strip()[:90]] += 1
                    else:
                        crashes.append('%s -> %s: exit %d: %s' % (name, tag, q.returncode, q.stderr.strip()[:300]))
            elif p.returncode == 1:
                why = p.stderr.strip().split('): ')[-1].split(':')[-1].strip()
                refused[target][why[:90]] += 1
                counts[target]['refused'] += 1
            else:
                crashes.append('%s -> %d: exit %d: %s' % (name, target, p.returncode, p.stderr.strip()[:300]))
        cases.append({'id': name, 'inputs': inputs, 'outputs': outputs, 'variants': variants})

    manifest = os.path.join(work, 'manifest.json')
    with open(manifest, 'w') as f:
        json.dump({'cases': cases}, f)
    env = dict(os.environ, NODE_PATH=NODE_MODULES)
    p = subprocess.run(['node', os.path.join(HERE, 'ort_run.js'), manifest], capture_output=True, text=True,
                       env=env, timeout=1500)
    if p.returncode != 0:
        print('ort_run.js failed:', p.stderr[-2000:])
        return 1
    results = collections.defaultdict(dict)
    for line in p.stdout.splitlines():
        r = json.loads(line)
        results[r['id']][r['tag']] = r
    original_ok = {cid for cid, rs in results.items() if rs.get('original', {}).get('status') == 'pass'}
    wrong = []
    for cid, rs in sorted(results.items()):
        for tag, r in rs.items():
            if tag == 'original':
                continue
            t = tag if '>' in tag else int(tag)
            if cid not in original_ok:
                counts[t]['original fails in ORT'] += 1
                continue
            counts[t][r['status']] += 1
            if r['status'] != 'pass':
                wrong.append('%s -> opset %s: %s %s' % (cid, tag, r['status'], r['detail']))
    print('summary: %d test models, %d skipped (non-tensor or unsupported types), original passes in ORT: %d'
          % (len(cases), skipped, len(original_ok)))
    for t in TARGETS + ['%d>%d' % (f, LATEST) for f in CHAIN_FROM]:
        c = counts[t]
        print('summary: opset %5s: converted %d, matched %d, mismatch %d, ORT error %d, refused %d, '
              'original fails in ORT %d' % (t, c['converted'], c['pass'], c['mismatch'], c['error'], c['refused'],
                                            c['original fails in ORT']))
    for t in TARGETS + ['%d>%d' % (f, LATEST) for f in CHAIN_FROM]:
        for why, n in refused[t].most_common(4):
            print('  refused for opset %s (%dx): %s' % (t, n, why))
    for w in wrong:
        print('WRONG:', w)
    for cr in crashes:
        print('CRASH:', cr)
    return 1 if wrong or crashes else 0


if __name__ == '__main__':
    sys.exit(main())
