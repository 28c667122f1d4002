/**
 * The JSON-lines frame format of `fleetwire decode-frames` and the conformance vectors:
 * input  `{"id": <int>, "data": "<hex>", "extended": <bool, optional>}`,
 * output `{"id", "message", "signals": {…}}` plus `"error"` / `"missing"` / `"skipped"` when relevant, or
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

/** Parse one input line; returns an error text for unusable lines. */
export function parseFrameLine(line: string): FrameLine | { rawId: unknown; error: string } {
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

/** Format one decode result as an output line (without newline). */
export function formatResult(rawId: number, r: FrameDecodeResult): string {
  if (r.kind === 'unknown') return `{"id": ${rawId}, "error": "unknown id"}`;
  let s = `{"id": ${rawId}, "message": ${q(r.message)}, "signals": {`;
  let first = true;
  for (const k in r.signals) {
    s += `${first ? '' : ', '}${q(k)}: ${formatValue(r.signals[k]!)}`;
    first = false;
  }
  s += '}';
  if (r.error) s += `, "error": ${JSON.stringify(r.error.message)}`;
  if (r.missing) s += `, "missing": [${r.missing.map(q).join(', ')}]`;
  if (r.skipped) s += `, "skipped": [${r.skipped.map(q).join(', ')}]`;
  return `${s}}`;
}

/** Format an unusable input line. */
export function formatLineError(rawId: unknown, error: string): string {
  const id = typeof rawId === 'number' && Number.isFinite(rawId) ? String(rawId) : 'null';
  return `{"id": ${id}, "error": ${JSON.stringify(error)}}`;
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
  chunkSize = 1 << 20,
): { lines: number; errors: number } {
  const choices = opts.choices === true;
  let buf = '';
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
    if (line.trim() === '') {
      out = formatLineError(null, 'empty line');
      errors++;
    } else {
      const f = parseFrameLine(line);
      if ('error' in f) {
        out = formatLineError(f.rawId, f.error);
        errors++;
      } else {
        const r = dbc.decode(f.id, f.extended, f.data, { choices });
        if (r.error) errors++;
        out = formatResult(f.rawId, r);
      }
    }
    buf += out;
    buf += '\n';
    if (buf.length >= chunkSize) {
      emit(buf);
      buf = '';
    }
  }
  if (buf.length > 0) emit(buf);
  return { lines, errors };
}
