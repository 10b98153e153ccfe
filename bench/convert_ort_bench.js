// convert_ort_bench.js -- times ONNX Runtime (onnxruntime-node, one thread) on the models
// ferry converted from PMML, inside node (process start and session creation excluded).
// Usage: node convert_ort_bench.js DIR NAME... -> one JSON object {"<name>/<batch>": median us}
// Inputs: DIR/x_b<batch>.bin, raw float64 [batch, 20]; column j feeds input "x<j>" [batch, 1].
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

const SAMPLES = 9;
const SAMPLE_TARGET_NS = 15e6;
const NF = 20;

async function timeCase(dir, name, batch) {
  const session = await ort.InferenceSession.create(`${dir}/${name}.onnx`,
    { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const buf = fs.readFileSync(`${dir}/x_b${batch}.bin`);
  const all = new Float64Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length));
  const feeds = {};
  for (let j = 0; j < NF; j++) {
    const col = new Float64Array(batch);
    for (let i = 0; i < batch; i++) col[i] = all[i * NF + j];
    if (session.inputNames.includes(`x${j}`)) feeds[`x${j}`] = new ort.Tensor('float64', col, [batch, 1]);
  }
  for (let i = 0; i < 10; i++) await session.run(feeds);
  let t0 = process.hrtime.bigint();
  let calls = 0;
  while (Number(process.hrtime.bigint() - t0) < 5e6) { await session.run(feeds); calls++; }
  const perSample = Math.max(1, Math.round(calls * SAMPLE_TARGET_NS / 5e6));
  const per = [];
  for (let s = 0; s < SAMPLES; s++) {
    t0 = process.hrtime.bigint();
    for (let i = 0; i < perSample; i++) await session.run(feeds);
    per.push(Number(process.hrtime.bigint() - t0) / perSample / 1000);
  }
  per.sort((a, b) => a - b);
  return per[Math.floor(per.length / 2)];
}

async function main() {
  const dir = process.argv[2];
  const out = {};
  for (const name of process.argv.slice(3))
    for (const b of [1, 1000]) out[`${name}/${b}`] = await timeCase(dir, name, b);
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => { console.error(String(e)); process.exit(1); });
