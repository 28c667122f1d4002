/**
 * Encoder: physical signal values → frame bytes, the inverse of the decoder (same plans, same
 * multiplexing tree). Used by property tests and by the device simulator. Never clamps: a value that
 * does not fit its signal is an {@link EncodeError}.
 */
import { EncodeError } from '../errors.js';
import { signalBitPositions } from './layout.js';
import type { SignalPlan } from './signal-plan.js';
import type { MuxNode } from './tree.js';
import type { CompiledDbc, CompiledMessage } from './types.js';

/** Options for {@link encodeMessage}. */
export interface EncodeOptions {
  /**
   * Require exactly the signals the selected multiplexer branches need (missing or unknown names are
   * errors). With `strict: false`, missing signals encode as raw 0 and unknown names are ignored.
   * @default true
   */
  strict?: boolean;
}

interface Internals {
  root: MuxNode;
  skipped: readonly string[];
}

/** Round half to even (the reference decoder's encoder rounds like Python's round()). */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

const scratch = new DataView(new ArrayBuffer(8));

function numberToHalf(v: number): number {
  // Round-to-nearest conversion via float32 bits (adequate for simulator/test use).
  scratch.setFloat32(0, v);
  const x = scratch.getUint32(0);
  const sign = (x >>> 16) & 0x8000;
  const exp = ((x >>> 23) & 0xff) - 127 + 15;
  const mant = x & 0x7fffff;
  if (((x >>> 23) & 0xff) === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  if (exp >= 31) return sign | 0x7c00;
  if (exp <= 0) {
    if (exp < -10) return sign;
    const m = (mant | 0x800000) >> (1 - exp);
    return sign | ((m + 0x1000) >> 13);
  }
  return sign | (exp << 10) | ((mant + 0x1000) >> 13);
}

/** Physical value → raw bits as an unsigned BigInt of `length` bits. */
function toRawBits(p: SignalPlan, value: number | bigint): bigint {
  const len = BigInt(p.length);
  const isFloat = p.read === 'float16' || p.read === 'float32' || p.read === 'float64';
  if (isFloat) {
    const v = Number(value);
    const raw = p.mode === 'identity' ? v : (v - p.offset) / p.factor;
    if (p.read === 'float16') return BigInt(numberToHalf(raw));
    if (p.read === 'float32') {
      scratch.setFloat32(0, raw);
      return BigInt(scratch.getUint32(0));
    }
    scratch.setFloat64(0, raw);
    return scratch.getBigUint64(0);
  }
  let raw: bigint;
  if (typeof value === 'bigint' || (p.mode !== 'linear' && Number.isInteger(value))) {
    const v = BigInt(value);
    if (p.mode === 'identity') raw = v;
    else {
      const f = p.mode === 'integer' ? p.factorBig : 0n;
      const num = v - (p.mode === 'integer' ? p.offsetBig : 0n);
      if (f !== 0n && num % f === 0n) raw = num / f;
      else raw = BigInt(roundHalfEven((Number(v) - p.offset) / p.factor));
    }
  } else {
    if (!Number.isFinite(value))
      throw new EncodeError('DBC_ENCODE_ERROR', `${p.name}: ${value} is not finite`);
    const x = p.mode === 'identity' ? value : (value - p.offset) / p.factor;
    if (!Number.isFinite(x))
      throw new EncodeError('DBC_ENCODE_ERROR', `${p.name}: ${value} cannot be scaled`);
    raw = BigInt(roundHalfEven(x));
  }
  const min = p.signed ? -(1n << (len - 1n)) : 0n;
  const max = p.signed ? (1n << (len - 1n)) - 1n : (1n << len) - 1n;
  if (raw < min || raw > max) {
    throw new EncodeError(
      'DBC_ENCODE_ERROR',
      `${p.name}: ${String(value)} gives raw ${raw}, outside ${min}…${max} for ${p.length} ${p.signed ? 'signed' : 'unsigned'} bits`,
      { signal: p.name },
    );
  }
  return raw & ((1n << len) - 1n);
}

function writeBits(out: Uint8Array, p: SignalPlan, bits: bigint): void {
  const positions = signalBitPositions(p.source);
  const n = positions.length;
  for (let k = 0; k < n; k++) {
    const pos = positions[k]!;
    const bit = (bits >> BigInt(n - 1 - k)) & 1n;
    const byte = Math.floor(pos / 8);
    const mask = 1 << (pos % 8);
    if (bit) out[byte]! |= mask;
    else out[byte]! &= ~mask;
  }
}

/**
 * Encode a frame of the message named `message` (or with that id) from physical signal values.
 * Multiplexer switches select which branch's signals are encoded, exactly as decoding would read them.
 */
export function encodeMessage(
  compiled: CompiledDbc,
  message: string | number,
  signals: Record<string, number | bigint>,
  opts: EncodeOptions = {},
): Uint8Array {
  const m = compiled.getMessage(message) as (CompiledMessage & Internals) | undefined;
  if (!m) throw new EncodeError('DBC_ENCODE_ERROR', `no message ${JSON.stringify(message)} in the DBC`);
  const strict = opts.strict !== false;
  if (m.length > 64)
    throw new EncodeError('DBC_ENCODE_ERROR', `${m.name} is ${m.length} bytes; frames have at most 64`);
  const out = new Uint8Array(m.length);
  const used = new Set<string>();
  const has = (name: string) => Object.hasOwn(signals, name);
  const visit = (node: MuxNode) => {
    for (const p of node.signals) {
      let v: number | bigint | undefined = has(p.name) ? signals[p.name] : undefined;
      if (v === undefined) {
        if (strict) throw new EncodeError('DBC_ENCODE_ERROR', `signal ${p.name} of ${m.name} is required`);
        v = 0;
      }
      used.add(p.name);
      writeBits(out, p, toRawBits(p, v));
    }
    for (const sw of node.muxes) {
      const v = has(sw.signal.name) ? signals[sw.signal.name] : 0;
      const sel = typeof v === 'bigint' ? Number(v) : Math.trunc(v ?? 0);
      const branch = sw.branch(sel);
      if (!branch) {
        throw new EncodeError(
          'DBC_ENCODE_ERROR',
          `multiplexer ${sw.signal.name} of ${m.name} has no branch ${sel}`,
        );
      }
      visit(branch);
    }
  };
  visit(m.root);
  if (strict) {
    for (const k of Object.keys(signals)) {
      if (!used.has(k)) {
        throw new EncodeError(
          'DBC_ENCODE_ERROR',
          `signal ${k} is not encoded in ${m.name} with these selectors`,
        );
      }
    }
  }
  return out;
}
