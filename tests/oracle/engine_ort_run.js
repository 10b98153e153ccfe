// engine_ort_run.js -- runs ONNX models with ONNX Runtime (onnxruntime-node) for the engine's
// oracle test. Usage: node engine_ort_run.js CASES.json RESULTS.json
// CASES.json: [{"name", "model", "inputs": [{"name", "type", "shape", "file"|"strings"}], "fetches": [...]}]
// Input files hold raw little-endian element bytes. RESULTS.json: {case: {output: {dims, type, data}}
// or {"error": message}}. One process for all cases (session creation is the only per-case cost).
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

const ARRAYS = {
  float32: Float32Array, float64: Float64Array, int32: Int32Array, int64: BigInt64Array,
  uint8: Uint8Array, bool: Uint8Array,
};

function loadInput(spec) {
  if (spec.type === 'string') return new ort.Tensor('string', spec.strings, spec.shape);
  const buf = fs.readFileSync(spec.file);
  const Ctor = ARRAYS[spec.type];
  const copy = new ArrayBuffer(buf.length);
  new Uint8Array(copy).set(buf);
  return new ort.Tensor(spec.type, new Ctor(copy), spec.shape);
}

function toPlain(t) {
  let data = Array.from(t.data);
  if (t.type === 'int64' || t.type === 'uint64') data = data.map((v) => Number(v));
  return { dims: Array.from(t.dims), type: t.type, data };
}

async function main() {
  const cases = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const results = {};
  for (const c of cases) {
    try {
      const opts = { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'disabled' };
      const session = await ort.InferenceSession.create(c.model, opts);
      const feeds = {};
      for (const spec of c.inputs) feeds[spec.name] = loadInput(spec);
      const out = await session.run(feeds, c.fetches);
      const r = {};
      for (const name of c.fetches) r[name] = toPlain(out[name]);
      results[c.name] = r;
    } catch (e) {
      results[c.name] = { error: String(e && e.message ? e.message : e) };
    }
  }
  fs.writeFileSync(process.argv[3], JSON.stringify(results));
}

main().catch((e) => { console.error(e); process.exit(1); });
