#!/usr/bin/env node
// runner.js -- ferry's ONNX Runtime runner on Node.js (onnxruntime-node): runs one model
// on .npy inputs, writes .npy outputs and result.json with timings. The interface is
// specified in runners/README.md; exit codes: 0 ok, 2 usage, 3 invalid input,
// 4 runtime failure, 5 unsupported (provider, dtype or operator this runtime lacks).
'use strict';

const fs = require('fs');
const path = require('path');
const npy = require('./npy.js');

const RUNNER = 'ort-node';
const EXIT = { OK: 0, USAGE: 2, INPUT: 3, RUNTIME: 4, UNSUPPORTED: 5 };
const MAX_ITERATIONS = 1000000;

class RunnerError extends Error {
  constructor(code, message) { super(message); this.code = code; }
}

const USAGE = `usage: runner.js MODEL.onnx --input NAME=FILE.npy ... --out DIR
                 [--iterations N] [--warmup N] [--provider cpu] [--threads N]
       runner.js MODEL.onnx --describe
Runs MODEL with ONNX Runtime for Node.js on the given inputs; writes DIR/output_<k>.npy
and DIR/result.json (outputs, timings). See runners/README.md.`;

function parseArgs(argv) {
  const args = { inputs: [], iterations: 1, warmup: 0, provider: 'cpu', threads: 0 };
  const need = (i, flag) => {
    if (i + 1 >= argv.length) throw new RunnerError(EXIT.USAGE, `${flag} needs a value`);
    return argv[i + 1];
  };
  const count = (v, flag, min) => {
    if (!/^[0-9]{1,7}$/.test(v) || Number(v) < min || Number(v) > MAX_ITERATIONS)
      throw new RunnerError(EXIT.USAGE, `${flag}: expected an integer from ${min} to ${MAX_ITERATIONS}, got '${v}'`);
    return Number(v);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') { args.help = true; }
    else if (a === '--describe') { args.describe = true; }
    else if (a === '--input') {
      const v = need(i++, a);
      const eq = v.indexOf('=');
      if (eq <= 0) throw new RunnerError(EXIT.USAGE, `--input: expected NAME=FILE.npy, got '${v}'`);
      args.inputs.push({ name: v.slice(0, eq), file: v.slice(eq + 1) });
    } else if (a === '--out') { args.out = need(i++, a); }
    else if (a === '--iterations') { args.iterations = count(need(i++, a), a, 1); }
    else if (a === '--warmup') { args.warmup = count(need(i++, a), a, 0); }
    else if (a === '--provider') { args.provider = need(i++, a); }
    else if (a === '--threads') { args.threads = count(need(i++, a), a, 0); }
    else if (a.startsWith('-')) { throw new RunnerError(EXIT.USAGE, `unknown option '${a}'`); }
    else if (!args.model) { args.model = a; }
    else { throw new RunnerError(EXIT.USAGE, `unexpected argument '${a}'`); }
  }
  if (args.help) return args;
  if (!args.model) throw new RunnerError(EXIT.USAGE, 'no MODEL given');
  if (!args.describe && !args.out) throw new RunnerError(EXIT.USAGE, 'no --out DIR given');
  return args;
}

function loadOrt() {
  try {
    return require('onnxruntime-node');
  } catch (e) {
    throw new RunnerError(EXIT.UNSUPPORTED, `onnxruntime-node is not installed (run 'make deps'): ${e.message}`);
  }
}

function median(sorted) {
  const n = sorted.length;
  return n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

async function createSession(ort, args) {
  const provider = args.provider.toLowerCase();
  const known = { cpu: 'cpu', cpuexecutionprovider: 'cpu', cuda: 'cuda', cudaexecutionprovider: 'cuda' };
  if (!known[provider]) throw new RunnerError(EXIT.UNSUPPORTED, `provider '${args.provider}' is not supported by ${RUNNER} (cpu, cuda)`);
  // ONNX Runtime's own log goes to stderr in colour; we report its errors ourselves.
  const options = { executionProviders: [known[provider]], graphOptimizationLevel: 'all', logSeverityLevel: 4 };
  try { ort.env.logLevel = 'fatal'; } catch (e) { /* older versions: keep the default */ }
  if (args.threads) options.intraOpNumThreads = args.threads;
  try {
    fs.accessSync(args.model, fs.constants.R_OK);
    if (!fs.statSync(args.model).isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
  } catch (e) {
    throw new RunnerError(EXIT.INPUT, `${args.model}: cannot read the model: ${e.code || e.message}`);
  }
  try {
    // by path, not bytes: external data files next to the model are found relative to it
    return await ort.InferenceSession.create(args.model, options);
  } catch (e) {
    const msg = String(e.message || e).split('\n')[0];
    if (known[provider] !== 'cpu' && /provider|cuda/i.test(msg))
      throw new RunnerError(EXIT.UNSUPPORTED, `${args.model}: provider ${args.provider} unavailable: ${msg}`);
    if (/locale/i.test(msg))
      throw new RunnerError(EXIT.RUNTIME, `${args.model}: this machine lacks a locale the model needs: ${msg}`);
    if (/NOT_IMPLEMENTED|not implemented|Could not find an implementation/i.test(msg))
      throw new RunnerError(EXIT.UNSUPPORTED, `${args.model}: ${msg}`);
    throw new RunnerError(EXIT.INPUT, `${args.model}: cannot load the model: ${msg}`);
  }
}

function describe(session) {
  const meta = (list, names) => names.map((name, i) => {
    const m = list && list[i] ? list[i] : {};
    return { name, type: m.isTensor === false ? 'non-tensor' : m.type || null, shape: m.shape || null };
  });
  return { inputs: meta(session.inputMetadata, session.inputNames), outputs: meta(session.outputMetadata, session.outputNames) };
}

function readInputs(ort, session, args) {
  const feeds = {};
  const records = [];
  const meta = describe(session).inputs;
  for (const { name, file } of args.inputs) {
    const m = meta.find((x) => x.name === name);
    if (!m) throw new RunnerError(EXIT.INPUT, `--input ${name}: the model has no input '${name}' (inputs: ${session.inputNames.join(', ')})`);
    if (name in feeds) throw new RunnerError(EXIT.USAGE, `--input ${name} given twice`);
    let buf;
    try {
      buf = fs.readFileSync(file);
    } catch (e) {
      throw new RunnerError(EXIT.INPUT, `${file}: cannot read: ${e.code || e.message}`);
    }
    let array;
    try {
      array = npy.parse(file, buf);
    } catch (e) {
      if (e instanceof npy.NpyError) throw new RunnerError(EXIT.INPUT, e.message);
      throw e;
    }
    if (m.type && m.type !== 'non-tensor' && m.type !== array.dtype)
      throw new RunnerError(EXIT.INPUT, `${file}: input '${name}' of the model is ${m.type}; the file holds ${array.dtype}`);
    feeds[name] = new ort.Tensor(array.dtype, array.data, array.shape);
    records.push({ name, dtype: array.dtype, shape: array.shape, file });
  }
  const missing = session.inputNames.filter((n) => !(n in feeds));
  if (missing.length) throw new RunnerError(EXIT.INPUT, `missing inputs: ${missing.join(', ')} (give each with --input NAME=FILE.npy)`);
  return { feeds, records };
}

async function run(argv) {
  const args = parseArgs(argv);
  if (args.help) { process.stdout.write(USAGE + '\n'); return EXIT.OK; }
  const ort = loadOrt();
  const t0 = process.hrtime.bigint();
  const session = await createSession(ort, args);
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
  if (args.describe) {
    process.stdout.write(JSON.stringify(describe(session), null, 2) + '\n');
    return EXIT.OK;
  }
  const { feeds, records } = readInputs(ort, session, args);
  try {
    fs.mkdirSync(args.out, { recursive: true });
  } catch (e) {
    throw new RunnerError(EXIT.RUNTIME, `${args.out}: cannot create the output directory: ${e.code || e.message}`);
  }
  const runOnce = async () => {
    try {
      return await session.run(feeds);
    } catch (e) {
      const msg = String(e.message || e).split('\n')[0];
      if (/NOT_IMPLEMENTED|not implemented/i.test(msg)) throw new RunnerError(EXIT.UNSUPPORTED, `inference: ${msg}`);
      if (/INVALID_ARGUMENT|Invalid rank|Got invalid dimensions|input/i.test(msg)) throw new RunnerError(EXIT.INPUT, `inference: ${msg}`);
      throw new RunnerError(EXIT.RUNTIME, `inference failed: ${msg}`);
    }
  };
  for (let i = 0; i < args.warmup; i++) await runOnce();
  const runMs = [];
  let results = null;
  for (let i = 0; i < args.iterations; i++) {
    const start = process.hrtime.bigint();
    const r = await runOnce();
    runMs.push(Number(process.hrtime.bigint() - start) / 1e6);
    if (!results) results = r; // outputs of the first measured run
  }
  const outputs = [];
  session.outputNames.forEach((name, k) => {
    const t = results[name];
    const file = `output_${k}.npy`;
    let data = t.data;
    if (t.type === 'float16' && !(data instanceof Uint16Array)) // Float16Array on newer Node
      data = new Uint16Array(data.buffer, data.byteOffset, data.length);
    let image;
    try {
      image = npy.encode({ dtype: t.type, shape: Array.from(t.dims, Number), data });
    } catch (e) {
      throw new RunnerError(EXIT.UNSUPPORTED, `output '${name}': ${e.message}`);
    }
    try {
      fs.writeFileSync(path.join(args.out, file), image);
    } catch (e) {
      throw new RunnerError(EXIT.RUNTIME, `${path.join(args.out, file)}: cannot write: ${e.code || e.message}`);
    }
    outputs.push({ name, dtype: t.type, shape: Array.from(t.dims, Number), file });
  });
  const sorted = [...runMs].sort((a, b) => a - b);
  const result = {
    runner: RUNNER,
    runtime: 'onnxruntime-node',
    runtime_version: ort.env.versions ? ort.env.versions.node || ort.env.versions.common : null,
    provider: args.provider.toLowerCase().replace('executionprovider', ''),
    model: args.model,
    inputs: records,
    outputs,
    timings: {
      load_ms: loadMs,
      warmup: args.warmup,
      iterations: args.iterations,
      run_ms: runMs,
      median_ms: median(sorted),
      min_ms: sorted[0],
      p90_ms: quantile(sorted, 0.9),
      mean_ms: runMs.reduce((a, b) => a + b, 0) / runMs.length,
    },
  };
  const resultPath = path.join(args.out, 'result.json');
  try {
    fs.writeFileSync(resultPath + '.tmp', JSON.stringify(result, null, 2) + '\n');
    fs.renameSync(resultPath + '.tmp', resultPath); // result.json appears only when complete
  } catch (e) {
    throw new RunnerError(EXIT.RUNTIME, `${resultPath}: cannot write: ${e.code || e.message}`);
  }
  return EXIT.OK;
}

run(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e) => {
    const code = e instanceof RunnerError ? e.code : EXIT.RUNTIME;
    const hint = code === EXIT.USAGE ? ' (see --help)' : '';
    process.stderr.write(`${RUNNER}: error: ${e instanceof RunnerError ? e.message : (e && e.stack) || e}${hint}\n`);
    process.exitCode = code;
  },
);
