// npy.js -- NumPy .npy reading and writing for the ONNX Runtime Node.js runner
//
// Mirrors model/npy.c: format versions 1.0/2.0/3.0, a strict header parser (no
// evaluation), bounded sizes, big-endian and Fortran-order input converted to C order
// little-endian, object arrays and structured dtypes refused. Arrays come back as
// { dtype, shape, data } where dtype is ONNX Runtime's tensor type name and data the
// typed array (or string[]) ONNX Runtime's Tensor constructor takes.
'use strict';

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY
const MAX_HEADER = 1 << 20;
const MAX_DIMS = 32;
const MAX_STRING_WIDTH = 1 << 20;
const ALIGN = 64;

// numpy kind+size -> ONNX Runtime type name and typed array
const TYPES = {
  b1: ['bool', Uint8Array], i1: ['int8', Int8Array], u1: ['uint8', Uint8Array],
  i2: ['int16', Int16Array], u2: ['uint16', Uint16Array], i4: ['int32', Int32Array],
  u4: ['uint32', Uint32Array], i8: ['int64', BigInt64Array], u8: ['uint64', BigUint64Array],
  f2: ['float16', Uint16Array], f4: ['float32', Float32Array], f8: ['float64', Float64Array],
};
const DESCR_OF = Object.fromEntries(Object.entries(TYPES).map(([k, [name]]) => [name, k]));

class NpyError extends Error {}

function fail(name, what) {
  throw new NpyError(`${name}: ${what}`);
}

// Parse numpy's header dict literal: {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
function parseHeader(name, text) {
  let p = 0;
  const ws = () => { while (p < text.length && ' \t\r\n'.includes(text[p])) p++; };
  const accept = (c) => { ws(); if (text[p] === c) { p++; return true; } return false; };
  const bad = (what) => fail(name, `malformed .npy header: ${what}`);
  const str = () => {
    ws();
    const q = text[p];
    if (q !== "'" && q !== '"') bad('expected a quoted string');
    const end = text.indexOf(q, p + 1);
    if (end < 0) bad('unterminated string');
    const s = text.slice(p + 1, end);
    if (/[\\\x00-\x1f]/.test(s) || s.length > 64) bad('unexpected text in a string');
    p = end + 1;
    return s;
  };
  const h = {};
  if (!accept('{')) bad("expected '{'");
  while (!accept('}')) {
    const key = str();
    if (!accept(':')) bad("expected ':' after a key");
    if (key in h) bad(`duplicate key '${key}'`);
    ws();
    if (key === 'descr') {
      if (text[p] === '[') fail(name, 'structured dtypes (records) are not supported');
      h.descr = str();
    } else if (key === 'fortran_order') {
      if (text.startsWith('True', p)) { h.fortran_order = true; p += 4; }
      else if (text.startsWith('False', p)) { h.fortran_order = false; p += 5; }
      else bad('fortran_order: expected True or False');
    } else if (key === 'shape') {
      if (!accept('(')) bad('shape: expected a tuple such as (3, 4)');
      const shape = [];
      let closed = accept(')');
      while (!closed) {
        ws();
        const m = /^[0-9]+/.exec(text.slice(p, p + 32));
        if (!m) bad('shape: expected a non-negative integer');
        if (m[0].length > 19) bad('shape: dimension too large');
        shape.push(Number(m[0]));
        if (!Number.isSafeInteger(shape[shape.length - 1])) bad('shape: dimension too large');
        p += m[0].length;
        if (text[p] === 'L') p++;
        if (shape.length > MAX_DIMS) bad('shape: more than 32 dimensions');
        const comma = accept(',');
        if (accept(')')) {
          if (shape.length === 1 && !comma) bad('shape: a one-element tuple needs a trailing comma');
          closed = true;
        } else if (!comma) bad("shape: expected ',' or ')'");
      }
      h.shape = shape;
    } else {
      bad(`unknown key '${key}'`);
    }
    if (accept(',')) continue;
    if (accept('}')) break;
    bad("expected ',' or '}'");
  }
  ws();
  if (p !== text.length) bad("text after the closing '}'");
  if (!('descr' in h && 'fortran_order' in h && 'shape' in h)) bad("needs the keys 'descr', 'fortran_order' and 'shape'");
  return h;
}

// Copy a Fortran-order byte image to C order; size = bytes per element.
function fortranToC(src, shape, count, size) {
  const dst = new Uint8Array(count * size);
  const fStride = [];
  shape.forEach((d, k) => fStride.push(k ? fStride[k - 1] * shape[k - 1] : 1));
  const index = new Array(shape.length).fill(0);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    dst.set(src.subarray(offset * size, offset * size + size), i * size);
    for (let k = shape.length - 1; k >= 0; k--) {
      if (++index[k] < shape[k]) { offset += fStride[k]; break; }
      offset -= fStride[k] * (shape[k] - 1);
      index[k] = 0;
    }
  }
  return dst;
}

function swapBytes(bytes, unit) {
  for (let i = 0; i + unit <= bytes.length; i += unit)
    for (let a = i, b = i + unit - 1; a < b; a++, b--) {
      const t = bytes[a]; bytes[a] = bytes[b]; bytes[b] = t;
    }
}

// Parse a .npy image (Buffer). Returns { dtype, shape, data }.
function parse(name, buf) {
  if (buf.length < 10 || !buf.subarray(0, 6).equals(MAGIC)) fail(name, 'not a .npy file (no \\x93NUMPY magic)');
  const major = buf[6];
  let headerLen, start;
  if (major === 1) { headerLen = buf.readUInt16LE(8); start = 10; }
  else if (major === 2 || major === 3) {
    if (buf.length < 12) fail(name, 'truncated .npy preamble');
    headerLen = buf.readUInt32LE(8); start = 12;
  } else fail(name, `.npy format version ${major}.${buf[7]} is not supported (1.0, 2.0, 3.0 are)`);
  if (headerLen > MAX_HEADER) fail(name, `.npy header too large (${headerLen} bytes)`);
  if (buf.length - start < headerLen) fail(name, 'truncated .npy header');
  const header = buf.subarray(start, start + headerLen).toString(major === 3 ? 'utf8' : 'latin1');
  const h = parseHeader(name, header);
  const m = /^([<>|=])([biufUS])([0-9]{1,8})$/.exec(h.descr);
  if (!m) fail(name, `dtype '${h.descr}' is not supported (bool, int8-64, uint8-64, float16/32/64 and '<U'/'|S' strings; object arrays are refused)`);
  const [, order, kind, sizeText] = m;
  const size = Number(sizeText);
  let itemsize;
  if (kind === 'U' || kind === 'S') {
    if (size < 1 || size > MAX_STRING_WIDTH) fail(name, `string width ${size} out of range`);
    itemsize = kind === 'U' ? size * 4 : size;
  } else {
    if (!TYPES[kind + size]) fail(name, `dtype '${h.descr}' is not supported`);
    itemsize = size;
  }
  let count = 1;
  for (const d of h.shape) count *= d;
  if (!Number.isSafeInteger(count * itemsize) || count * itemsize > 2 ** 34) fail(name, 'array too large');
  const dataLen = count * itemsize;
  const have = buf.length - start - headerLen;
  if (have !== dataLen)
    fail(name, `data is ${have} bytes; shape and dtype '${h.descr}' need ${dataLen} (${have < dataLen ? 'truncated file' : 'trailing bytes'})`);
  const raw = buf.subarray(start + headerLen);
  // a fresh, aligned copy in C order
  let bytes = h.fortran_order && h.shape.length > 1 ? fortranToC(raw, h.shape, count, itemsize) : new Uint8Array(raw);
  if (order === '>' && kind !== 'S' && itemsize > 1) swapBytes(bytes, kind === 'U' ? 4 : itemsize);
  if (kind === 'U' || kind === 'S') {
    const strings = [];
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < count; i++) {
      const base = i * itemsize;
      if (kind === 'U') {
        let n = size;
        while (n > 0 && view.getUint32(base + (n - 1) * 4, true) === 0) n--;
        const cps = [];
        for (let c = 0; c < n; c++) {
          const cp = view.getUint32(base + c * 4, true);
          if (cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            fail(name, `string element ${i} holds an invalid character (U+${cp.toString(16).toUpperCase()})`);
          cps.push(cp);
        }
        let text = '';
        for (let c = 0; c < cps.length; c += 4096) text += String.fromCodePoint(...cps.slice(c, c + 4096));
        strings.push(text);
      } else {
        let n = size;
        while (n > 0 && bytes[base + n - 1] === 0) n--;
        const chunk = Buffer.from(bytes.buffer, bytes.byteOffset + base, n);
        if (chunk.includes(0)) fail(name, `bytes element ${i} holds a NUL byte`);
        const s = new TextDecoder('utf-8', { fatal: true });
        try { strings.push(s.decode(chunk)); } catch (e) { fail(name, `bytes element ${i} is not UTF-8 text`); }
      }
    }
    return { dtype: 'string', shape: h.shape, data: strings };
  }
  const [type, Ctor] = TYPES[kind + size];
  if (type === 'bool') {
    const bad = bytes.findIndex((v) => v > 1);
    if (bad >= 0) fail(name, `bool element ${bad} is ${bytes[bad]} (expected 0 or 1)`);
  }
  return { dtype: type, shape: h.shape, data: new Ctor(bytes.buffer, bytes.byteOffset, count) };
}

// Encode { dtype, shape, data } as a .npy image (Buffer), numpy's layout (v1.0, 64-byte aligned).
function encode(array) {
  const { dtype, shape } = array;
  let descr, body;
  if (dtype === 'string') {
    const cps = array.data.map((s) => Array.from(String(s), (ch) => ch.codePointAt(0)));
    let width = 1;
    for (const c of cps) if (c.length > width) width = c.length;
    descr = `<U${width}`;
    body = Buffer.alloc(cps.length * width * 4);
    cps.forEach((c, i) => c.forEach((cp, k) => body.writeUInt32LE(cp, (i * width + k) * 4)));
  } else {
    const kind = DESCR_OF[dtype];
    if (!kind) throw new NpyError(`cannot write tensors of type ${dtype}`);
    descr = (kind.endsWith('1') ? '|' : '<') + kind;
    const d = array.data;
    body = Buffer.from(d.buffer, d.byteOffset, d.byteLength);
  }
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  let preamble = 10;
  if (Math.ceil((10 + header.length + 1) / ALIGN) * ALIGN - 10 > 65535) preamble = 12;
  while ((preamble + header.length + 1) % ALIGN) header += ' ';
  header += '\n';
  const pre = Buffer.alloc(preamble);
  MAGIC.copy(pre, 0);
  pre[6] = preamble === 10 ? 1 : 2;
  pre[7] = 0;
  if (preamble === 10) pre.writeUInt16LE(header.length, 8);
  else pre.writeUInt32LE(header.length, 8);
  return Buffer.concat([pre, Buffer.from(header, 'latin1'), body]);
}

module.exports = { parse, encode, NpyError };
