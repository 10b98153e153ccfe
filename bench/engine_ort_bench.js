// engine_ort_bench.js -- times ONNX Runtime (onnxruntime-node, one thread) on the engine
// benchmark's models, inside node (process start and session creation excluded).
// Usage: node engine_ort_bench.js CASES.json  -> prints one JSON object:
//   {"<name>/<batch>": {"median_us": per-call median, "samples": n}}
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

const SAMPLES = 15;
const SAMPLE_TARGET_NS = 25e6; // each sample runs ~25 ms of calls

async function timeCase(c) {
  const session = await ort.InferenceSession.create(c.model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const buf = fs.readFileSync(c.file);
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
  const feeds = { [c.input]: new ort.Tensor('float32', data, c.shape) };
  for (let i = 0; i < 20; i++) await session.run(feeds, c.fetches); // warm-up
  let t0 = process.hrtime.bigint();
  let calls = 0;
  while (Number(process.hrtime.bigint() - t0) < 10e6) { await session.run(feeds, c.fetches); calls++; }
  const perSample = Math.max(1, Math.round(calls * SAMPLE_TARGET_NS / 10e6));
  const per = [];
  for (let s = 0; s < SAMPLES; s++) {
    t0 = process.hrtime.bigint();
    for (let i = 0; i < perSample; i++) await session.run(feeds, c.fetches);
    per.push(Number(process.hrtime.bigint() - t0) / perSample / 1000);
  }
  per.sort((a, b) => a - b);
  return { median_us: per[Math.floor(per.length / 2)], samples: SAMPLES };
}

async function main() {
  const cases = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const out = {};
  for (const c of cases) out[`${c.name}/${c.batch}`] = await timeCase(c);
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => { console.error(String(e)); process.exit(1); });
