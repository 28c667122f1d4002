/**
 * The JSON-lines frame format of `fleetwire decode-frames` and the conformance vectors:
 * input  `{"id": <int>, "data": "<hex>", "extended": <bool, optional>}`,
 * output (compact JSON) `{"id", "message", "signals": {…}}` plus `"error"` / `"missing"` / `"skipped"` when relevant, or
 * `{"id", "error"}` for an unknown id or unusable line. Numbers are printed exactly: integers with all
 * their digits (BigInt beyond 2^53), floats in shortest round-trip form, NaN and ±Infinity as strings.
 */
import type { CompiledDbc, FrameDecodeResult, SignalValue } from './types.js';

/** A parsed input line. */
export interface FrameLine {
  /** The id as written (echoed in the output). */
  rawId: number;
  /** Arbitration id without bit 31. */
  id: number;
  extended: boolean;
  data: Uint8Array;
}

const HEX = /^(?:[0-9a-fA-F]{2})*$/;

/** Hex digit value, or -1. */
function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  return l >= 97 && l <= 102 ? l - 87 : -1;
}

/** Index of the first non-blank character at or after `i`. */
function skipWs(line: string, i: number): number {
  const n = line.length;
  while (i < n) {
    const c = line.charCodeAt(i);
    if (c === 32 || c === 9 || c === 13) i++;
    else break;
  }
  return i;
}

/** Reusable frame buffers by length (decoding never keeps a reference to the data). */
const scratch: Uint8Array[] = Array.from({ length: 65 }, (_, k) => new Uint8Array(k));

/**
 * Fast scan of the usual line shape: a flat object whose `id` is a plain integer, `data` a string
 * without escapes and `extended` a boolean; other keys with simple values are skipped. Returns
 * undefined for anything else, which then goes through JSON.parse and the full checks. With
 * `reuse`, the data goes into a shared buffer that the next call overwrites.
 */
function scanLine(line: string, reuse: boolean): FrameLine | undefined {
  const n = line.length;
  let i = 0;
  let id = -1;
  let hexStart = -1;
  let hexEnd = -1;
  let extended: boolean | undefined;
  i = skipWs(line, i);
  if (line.charCodeAt(i) !== 123) return undefined;
  i++;
  for (;;) {
    i = skipWs(line, i);
    if (line.charCodeAt(i) !== 34) return undefined;
    const keyEnd = line.indexOf('"', i + 1);
    if (keyEnd < 0) return undefined;
    const k0 = i + 1;
    const klen = keyEnd - k0;
    i = keyEnd + 1;
    i = skipWs(line, i);
    if (line.charCodeAt(i) !== 58) return undefined;
    i++;
    i = skipWs(line, i);
    const c = line.charCodeAt(i);
    if (klen === 2 && line.startsWith('id', k0)) {
      let v = 0;
      const start = i;
      while (i < n) {
        const d = line.charCodeAt(i);
        if (d < 48 || d > 57) break;
        v = v * 10 + (d - 48);
        i++;
      }
      if (i === start || i - start > 10 || (i - start > 1 && line.charCodeAt(start) === 48)) return undefined;
      id = v;
    } else if (c === 34) {
      const end = line.indexOf('"', i + 1);
      if (end < 0) return undefined;
      if (klen === 4 && line.startsWith('data', k0)) {
        hexStart = i + 1;
        hexEnd = end;
      } else if (line.lastIndexOf('\\', end) > i) return undefined;
      i = end + 1;
    } else if (line.startsWith('true', i) || line.startsWith('null', i)) {
      if (klen === 8 && line.startsWith('extended', k0)) {
        if (c !== 116) return undefined;
        extended = true;
      }
      i += 4;
    } else if (line.startsWith('false', i)) {
      if (klen === 8 && line.startsWith('extended', k0)) extended = false;
      i += 5;
    } else {
      return undefined;
    }
    if (klen === 8 && line.startsWith('extended', k0) && extended === undefined) return undefined;
    i = skipWs(line, i);
    const d = line.charCodeAt(i);
    i++;
    if (d === 44) continue;
    if (d !== 125) return undefined;
    i = skipWs(line, i);
    if (i !== n) return undefined;
    break;
  }
  if (id < 0 || id > 0xffffffff || hexStart < 0) return undefined;
  const hexLen = hexEnd - hexStart;
  if (hexLen % 2 !== 0 || hexLen > 128) return undefined;
  const len = hexLen >> 1;
  const data = reuse ? scratch[len]! : new Uint8Array(len);
  for (let k = 0; k < len; k++) {
    const hi = hexValue(line.charCodeAt(hexStart + 2 * k));
    const lo = hexValue(line.charCodeAt(hexStart + 2 * k + 1));
    if (hi < 0 || lo < 0) return undefined;
    data[k] = (hi << 4) | lo;
  }
  const bit31 = id >= 0x80000000;
  const canId = bit31 ? id - 0x80000000 : id;
  const ext = extended === true || bit31 || canId > 0x7ff;
  if (ext && canId > 0x1fffffff) return undefined;
  return { rawId: id, id: canId, extended: ext, data };
}

/** Parse one input line; returns an error text for unusable lines. */
export function parseFrameLine(line: string, reuse = false): FrameLine | { rawId: unknown; error: string } {
  const fast = scanLine(line, reuse);
  if (fast !== undefined) return fast;
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch {
    return { rawId: null, error: 'line is not valid JSON' };
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
    return { rawId: null, error: 'line is not a JSON object' };
  }
  const o = obj as Record<string, unknown>;
  const rawId = o.id;
  if (typeof rawId !== 'number' || !Number.isInteger(rawId) || rawId < 0 || rawId > 0xffffffff) {
    return { rawId: rawId ?? null, error: 'id must be an integer between 0 and 2^32-1' };
  }
  const hex = o.data;
  if (typeof hex !== 'string' || !HEX.test(hex)) {
    return { rawId, error: 'data must be a string of hex byte pairs' };
  }
  if (hex.length > 128) return { rawId, error: 'data is longer than 64 bytes' };
  if (o.extended !== undefined && typeof o.extended !== 'boolean') {
    return { rawId, error: 'extended must be a boolean' };
  }
  // Bit 31 marks an extended id (SocketCAN convention); an id above 0x7FF cannot be standard.
  const bit31 = rawId >= 0x80000000;
  const id = bit31 ? rawId - 0x80000000 : rawId;
  const extended = o.extended === true || bit31 || id > 0x7ff;
  if (extended && id > 0x1fffffff) return { rawId, error: 'extended id has more than 29 bits' };
  return { rawId, id, extended, data: hexToBytes(hex) };
}

function hexDigit(c: number): number {
  return c <= 57 ? c - 48 : (c | 0x20) - 87;
}

/** Decode validated hex (even length, hex digits only). */
export function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length >> 1);
  for (let i = 0; i < out.length; i++) {
    out[i] = (hexDigit(hex.charCodeAt(2 * i)) << 4) | hexDigit(hex.charCodeAt(2 * i + 1));
  }
  return out;
}

/** Print a value exactly (see module doc). */
export function formatValue(v: SignalValue): string {
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return '"NaN"';
    if (v === Number.POSITIVE_INFINITY) return '"Infinity"';
    if (v === Number.NEGATIVE_INFINITY) return '"-Infinity"';
    if (Object.is(v, -0)) return '-0.0';
    return String(v);
  }
  if (typeof v === 'bigint') return v.toString();
  return JSON.stringify(v);
}

const quoted = new Map<string, string>();

/** JSON-quote a name, cached (signal names repeat on every frame). */
function q(name: string): string {
  let s = quoted.get(name);
  if (s === undefined) {
    s = JSON.stringify(name);
    if (quoted.size < 100_000) quoted.set(name, s);
  }
  return s;
}

/** The signals object as JSON with exact numbers (see module doc). */
function formatSignals(signals: Record<string, SignalValue>): string {
  // Native JSON.stringify is exact for finite numbers and strings and much faster than building the
  // text here; it throws on BigInt and writes null for NaN/±Infinity, so those take the manual path.
  try {
    const s = JSON.stringify(signals);
    if (!s.includes('null')) return s;
  } catch {
    // BigInt value: manual path.
  }
  let s = '{';
  let first = true;
  for (const k in signals) {
    s += `${first ? '' : ','}${q(k)}:${formatValue(signals[k]!)}`;
    first = false;
  }
  return `${s}}`;
}

/** Format one decode result as an output line (compact JSON, without newline). */
export function formatResult(rawId: number, r: FrameDecodeResult): string {
  if (r.kind === 'unknown') return `{"id":${rawId},"error":"unknown id"}`;
  let s = `{"id":${rawId},"message":${q(r.message)},"signals":${formatSignals(r.signals)}`;
  if (r.error) s += `,"error":${JSON.stringify(r.error.message)}`;
  if (r.missing) s += `,"missing":[${r.missing.map(q).join(',')}]`;
  if (r.skipped) s += `,"skipped":[${r.skipped.map(q).join(',')}]`;
  return `${s}}`;
}

/** Format an unusable input line. */
export function formatLineError(rawId: unknown, error: string): string {
  const id = typeof rawId === 'number' && Number.isFinite(rawId) ? String(rawId) : 'null';
  return `{"id":${id},"error":${JSON.stringify(error)}}`;
}

/**
 * Decode a whole JSON-lines text, calling `emit` with output chunks of roughly `chunkSize` characters.
 * One output line per input line; a final empty line (trailing newline) produces nothing.
 */
export function decodeFrameLines(
  dbc: CompiledDbc,
  text: string,
  opts: { choices?: boolean },
  emit: (chunk: string) => void,
  chunkSize = 1 << 18,
): { lines: number; errors: number } {
  const choices = opts.choices === true;
  // Lines of the current chunk, joined once: a flat string per chunk keeps the garbage collector out
  // of millions of concatenated pieces.
  let parts: string[] = [];
  let size = 0;
  let lines = 0;
  let errors = 0;
  let start = 0;
  const n = text.length;
  while (start < n) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = n;
    let line = text.slice(start, end);
    start = end + 1;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (end === n && line.trim() === '') break;
    lines++;
    let out: string;
    const f = line.length > 0 ? parseFrameLine(line, true) : { rawId: null, error: 'empty line' };
    if ('error' in f) {
      out = formatLineError(f.rawId, line.trim() === '' ? 'empty line' : f.error);
      errors++;
    } else {
      const r = dbc.decode(f.id, f.extended, f.data, { choices });
      if (r.error) errors++;
      out = formatResult(f.rawId, r);
    }
    parts.push(out);
    size += out.length + 1;
    if (size >= chunkSize) {
      parts.push('');
      emit(parts.join('\n'));
      parts = [];
      size = 0;
    }
  }
  if (parts.length > 0) {
    parts.push('');
    emit(parts.join('\n'));
  }
  return { lines, errors };
}
