/**
 * Per-signal decoding plans: byte range, shifts and masks, and the scaling mode, all computed once at
 * compile time. The generic readers here are the reference implementation; the generated fast path
 * (codegen.ts) must agree with them (property-tested).
 */

import { sawtoothToNetwork } from './layout.js';
import type { DbcSignal } from './model.js';

const TWO32 = 4294967296;
const MAX_SAFE_BIG = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE_BIG = -MAX_SAFE_BIG;

/** How raw bits are read. */
export type ReadKind = 'int32' | 'int53' | 'big' | 'float16' | 'float32' | 'float64';

/** How a raw value becomes a physical value (the reference decoder's conversion classes). */
export type ScaleMode = 'identity' | 'integer' | 'linear';

/** A compiled signal. */
export interface SignalPlan {
  readonly name: string;
  readonly source: DbcSignal;
  readonly bigEndian: boolean;
  readonly length: number;
  readonly signed: boolean;
  /** First byte holding bits of the signal. */
  readonly b0: number;
  /** Number of bytes spanned. */
  readonly nb: number;
  /** Right shift applied after composing the spanned bytes into one integer. */
  readonly sh: number;
  /** Bytes a frame needs for this signal (`b0 + nb`). */
  readonly minBytes: number;
  /** Position used for ordering (reference decoder: sequential start bit). */
  readonly order: number;
  readonly read: ReadKind;
  readonly mode: ScaleMode;
  readonly factor: number;
  readonly offset: number;
  /** Integer mode: raw × factor + offset cannot leave the exact double range. */
  readonly exactInDouble: boolean;
  readonly factorBig: bigint;
  readonly offsetBig: bigint;
  /** Linear mode with an integer-literal factor whose product may exceed 2^53 (computed exactly first). */
  readonly exactProduct: boolean;
  /** Value table keyed by raw value (numbers for safe integers, BigInt beyond). */
  readonly choices: Map<number | bigint, string> | undefined;
  /** Value name → raw value (last wins, like the reference) for multiplexer selection by name. */
  readonly choiceNumbers: Map<string, number | bigint> | undefined;
  /** Float signals: the same layout read as unsigned integer bits. */
  readonly bitsPlan?: SignalPlan;
}

/** BigInt → number when exactly representable as a safe integer, else the BigInt. */
export function normalizeInt(v: bigint): number | bigint {
  return v >= MIN_SAFE_BIG && v <= MAX_SAFE_BIG ? Number(v) : v;
}

/** Build the plan of one signal. */
export function planSignal(sig: DbcSignal): SignalPlan {
  const be = sig.byteOrder === 'big_endian';
  const seq = be ? sawtoothToNetwork(sig.startBit) : sig.startBit;
  const len = sig.length;
  const b0 = Math.floor(seq / 8);
  const last = Math.floor((seq + len - 1) / 8);
  const nb = last - b0 + 1;
  const sh = be ? 8 * (b0 + nb) - (seq + len) : seq - 8 * b0;
  let read: ReadKind;
  if (sig.valueType === 'float32') read = 'float32';
  else if (sig.valueType === 'float64') read = 'float64';
  else if (sig.valueType === 'float16') read = 'float16';
  else if (nb <= 4) read = 'int32';
  else if (len <= 53 && nb <= 8) read = 'int53';
  else read = 'big';
  const isFloat = read === 'float16' || read === 'float32' || read === 'float64';
  const f = sig.factor;
  const o = sig.offset;
  let mode: ScaleMode;
  // The reference: scale == 1 and offset == 0 → identity; integral scale and offset on an integer
  // signal → exact integer arithmetic; otherwise double arithmetic raw * scale + offset.
  if (f === 1 && o === 0) mode = 'identity';
  else if (!isFloat && Number.isInteger(f) && Number.isInteger(o)) mode = 'integer';
  else mode = 'linear';
  const maxRaw = 2 ** len;
  const exactInDouble = mode === 'integer' && maxRaw * Math.abs(f) + Math.abs(o) <= Number.MAX_SAFE_INTEGER;
  const factorBig = sig.factorExact ?? (Number.isInteger(f) ? BigInt(f) : 0n);
  const offsetBig = sig.offsetExact ?? (Number.isInteger(o) ? BigInt(o) : 0n);
  const exactProduct =
    mode === 'linear' &&
    !isFloat &&
    sig.factorExact !== undefined &&
    maxRaw * Math.abs(f) > Number.MAX_SAFE_INTEGER;
  let choices: Map<number | bigint, string> | undefined;
  let choiceNumbers: Map<string, number | bigint> | undefined;
  if (sig.choices && sig.choices.size > 0) {
    choices = new Map();
    choiceNumbers = new Map();
    for (const [k, v] of sig.choices) {
      const key = normalizeInt(k);
      choices.set(key, v);
    }
    for (const [k, v] of choices) choiceNumbers.set(v, k);
  }
  const plan: SignalPlan = {
    name: sig.name,
    source: sig,
    bigEndian: be,
    length: len,
    signed: sig.signed,
    b0,
    nb,
    sh,
    minBytes: b0 + nb,
    order: seq,
    read,
    mode,
    factor: f,
    offset: o,
    exactInDouble,
    factorBig,
    offsetBig,
    exactProduct,
    choices,
    choiceNumbers,
  };
  if (!isFloat) return plan;
  const bitsPlan: SignalPlan = {
    ...plan,
    signed: false,
    read: nb <= 4 ? 'int32' : len <= 53 ? 'int53' : 'big',
  };
  return { ...plan, bitsPlan };
}

/** Compose `count` bytes from `start` as an unsigned 32-bit integer (count ≤ 4). */
function compose32(d: Uint8Array, start: number, count: number, be: boolean): number {
  let v = 0;
  if (be) {
    for (let k = 0; k < count; k++) v = v * 256 + d[start + k]!;
  } else {
    for (let k = count - 1; k >= 0; k--) v = v * 256 + d[start + k]!;
  }
  return v;
}

/** Read the raw bits of an integer signal (the frame has at least `minBytes` bytes). */
export function readRawInt(p: SignalPlan, d: Uint8Array): number | bigint {
  const { b0, nb, sh, length: len } = p;
  if (p.read === 'int32') {
    const v = compose32(d, b0, nb, p.bigEndian);
    // v < 2^32 and sh + len ≤ 32: shift and mask with 32-bit operations.
    if (p.signed) return (v << (32 - sh - len)) >> (32 - len);
    return len === 32 ? v : (v >>> sh) & (2 ** len - 1);
  }
  if (p.read === 'int53') {
    let hi: number;
    let lo: number;
    if (p.bigEndian) {
      hi = compose32(d, b0, nb - 4, true);
      lo = compose32(d, b0 + nb - 4, 4, true);
    } else {
      lo = compose32(d, b0, 4, false);
      hi = compose32(d, b0 + 4, nb - 4, false);
    }
    const hiBits = sh + len - 32;
    let raw = (hi % 2 ** hiBits) * 2 ** (32 - sh) + Math.floor(lo / 2 ** sh);
    if (p.signed && raw >= 2 ** (len - 1)) raw -= 2 ** len;
    return raw;
  }
  let v = 0n;
  if (p.bigEndian) {
    for (let k = 0; k < nb; k++) v = (v << 8n) | BigInt(d[b0 + k]!);
  } else {
    for (let k = nb - 1; k >= 0; k--) v = (v << 8n) | BigInt(d[b0 + k]!);
  }
  const L = BigInt(len);
  let raw = (v >> BigInt(sh)) & ((1n << L) - 1n);
  if (p.signed && raw >= 1n << (L - 1n)) raw -= 1n << L;
  return normalizeInt(raw);
}

const scratch = new DataView(new ArrayBuffer(8));

/** IEEE half precision → double. */
export function halfToNumber(bits: number): number {
  const s = bits & 0x8000 ? -1 : 1;
  const e = (bits >> 10) & 0x1f;
  const m = bits & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m === 0 ? s * Number.POSITIVE_INFINITY : Number.NaN;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Read the raw value of a float signal. */
export function readRawFloat(p: SignalPlan, d: Uint8Array): number {
  // Read the bits as an unsigned integer with the same layout rules, then reinterpret.
  const unsigned: SignalPlan = {
    ...p,
    signed: false,
    read: p.nb <= 4 ? 'int32' : p.length <= 53 ? 'int53' : 'big',
  };
  const bits = readRawInt(unsigned, d);
  if (p.read === 'float16') return halfToNumber(Number(bits));
  if (p.read === 'float32') {
    scratch.setUint32(0, Number(bits));
    return scratch.getFloat32(0);
  }
  const b = BigInt(bits);
  scratch.setUint32(0, Number(b >> 32n));
  scratch.setUint32(4, Number(b & 0xffffffffn));
  return scratch.getFloat64(0);
}

/** Read a signal's raw value (integer or float). */
export function readRaw(p: SignalPlan, d: Uint8Array): number | bigint {
  return p.read === 'float16' || p.read === 'float32' || p.read === 'float64'
    ? readRawFloat(p, d)
    : readRawInt(p, d);
}

/** Raw → physical value, exactly as the reference conversion classes compute it. */
export function scaleRaw(p: SignalPlan, raw: number | bigint): number | bigint {
  switch (p.mode) {
    case 'identity':
      return raw;
    case 'integer':
      if (typeof raw === 'number' && p.exactInDouble) return raw * p.factor + p.offset;
      return normalizeInt(BigInt(raw) * p.factorBig + p.offsetBig);
    default:
      if (p.exactProduct) return Number(BigInt(raw) * p.factorBig) + p.offset;
      return Number(raw) * p.factor + p.offset;
  }
}

/** Value-table name of a raw value, if any. */
export function choiceOf(p: SignalPlan, raw: number | bigint): string | undefined {
  if (!p.choices) return undefined;
  if (typeof raw === 'number' && !Number.isInteger(raw)) return undefined;
  if (typeof raw === 'number' && !Number.isSafeInteger(raw)) return p.choices.get(BigInt(raw));
  return p.choices.get(raw);
}

export { TWO32 };
