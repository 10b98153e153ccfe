// ort_run.js -- runs ONNX models with ONNX Runtime (onnxruntime-node) on stored inputs and
// compares every output with the expected tensor. One process for the whole list.
//   node ort_run.js MANIFEST.json > results.jsonl
// MANIFEST: {"cases": [{"id", "inputs": [T], "outputs": [T], "variants": [{"tag", "model"}]}]}
// T: {"dtype", "dims", "file"} (raw little-endian, C order) or {"dtype": "string", "dims", "strings"}.
// Prints one JSON line per variant: {"id", "tag", "status": "pass"|"mismatch"|"error", "detail"}.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

const RTOL = 1e-3, ATOL = 1e-4;
const CTORS = {
    float32: Float32Array, float64: Float64Array, int8: Int8Array, uint8: Uint8Array, int16: Int16Array,
    uint16: Uint16Array, int32: Int32Array, uint32: Uint32Array, int64: BigInt64Array, uint64: BigUint64Array,
    bool: Uint8Array, float16: Uint16Array,
};

function halfToFloat(h) {
    const s = (h & 0x8000) ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
    if (e === 0) return s * Math.pow(2, -14) * (m / 1024);
    if (e === 31) return m ? NaN : s * Infinity;
    return s * Math.pow(2, e - 15) * (1 + m / 1024);
}

function load(t) {
    if (t.dtype === 'string') return new ort.Tensor('string', t.strings, t.dims);
    const buf = fs.readFileSync(t.file);
    const C = CTORS[t.dtype];
    const copy = new Uint8Array(buf.length);
    copy.set(buf);
    const data = new C(copy.buffer, 0, buf.length / C.BYTES_PER_ELEMENT);
    return new ort.Tensor(t.dtype, data, t.dims);
}

function values(tensor, dtype) {
    const d = tensor.data;
    if (dtype === 'float16') return Array.from(d, halfToFloat);
    if (dtype === 'int64' || dtype === 'uint64') return Array.from(d, (x) => Number(x));
    if (dtype === 'bool') return Array.from(d, (x) => (x ? 1 : 0));
    return Array.from(d);
}

function compare(got, want, dtype) {
    if (dtype === 'string') {
        const g = got.data, w = want.data;
        if (g.length !== w.length) return `length ${g.length} vs ${w.length}`;
        for (let i = 0; i < g.length; i++) if (g[i] !== w[i]) return `string ${i}: '${g[i]}' vs '${w[i]}'`;
        return null;
    }
    const gd = got.dims.join('x'), wd = want.dims.join('x');
    if (gd !== wd && got.data.length !== want.data.length) return `shape ${gd} vs ${wd}`;
    const g = values(got, dtype), w = values(want, dtype);
    if (g.length !== w.length) return `size ${g.length} vs ${w.length}`;
    for (let i = 0; i < g.length; i++) {
        const a = g[i], b = w[i];
        if (Number.isNaN(a) && Number.isNaN(b)) continue;
        if (a === b) continue;
        if (!(Math.abs(a - b) <= ATOL + RTOL * Math.abs(b))) return `element ${i}: ${a} vs ${b}`;
    }
    return null;
}

async function runVariant(c, v, feeds, wants) {
    let session;
    try {
        session = await ort.InferenceSession.create(v.model, { graphOptimizationLevel: 'disabled', intraOpNumThreads: 1 });
    } catch (e) {
        return { status: 'error', detail: 'load: ' + String(e.message || e).split('\n')[0].slice(0, 300) };
    }
    try {
        const names = session.inputNames;
        if (names.length !== feeds.length) return { status: 'error', detail: `model wants ${names.length} inputs, test has ${feeds.length}` };
        const f = {};
        names.forEach((n, i) => { f[n] = feeds[i]; });
        const out = await session.run(f);
        const onames = session.outputNames;
        for (let i = 0; i < wants.length && i < onames.length; i++) {
            const why = compare(out[onames[i]], wants[i], c.outputs[i].dtype);
            if (why) return { status: 'mismatch', detail: `output ${onames[i]}: ${why}` };
        }
        return { status: 'pass', detail: '' };
    } catch (e) {
        return { status: 'error', detail: 'run: ' + String(e.message || e).split('\n')[0].slice(0, 300) };
    } finally {
        if (session.release) await session.release();
    }
}

async function main() {
    ort.env.logLevel = 'fatal';
    const manifest = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
    for (const c of manifest.cases) {
        let feeds, wants;
        try {
            feeds = c.inputs.map(load);
            wants = c.outputs.map(load);
        } catch (e) {
            for (const v of c.variants) process.stdout.write(JSON.stringify({ id: c.id, tag: v.tag, status: 'error', detail: 'data: ' + e.message }) + '\n');
            continue;
        }
        for (const v of c.variants) {
            const r = await runVariant(c, v, feeds, wants);
            process.stdout.write(JSON.stringify({ id: c.id, tag: v.tag, status: r.status, detail: r.detail }) + '\n');
        }
    }
}

main().catch((e) => { console.error(e); process.exit(2); });
