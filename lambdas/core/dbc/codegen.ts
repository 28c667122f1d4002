/**
 * Generated fast path: one JavaScript function per message, specialised to its layout (constant byte
 * indexes, shifts, masks, factors and a `switch` per multiplexer), so a full-length frame decodes with
 * no loops, no lookups and one object allocation. Only the common case is generated: a frame at least as
 * long as the message, numeric values, every selector known. Anything else (short frames, value-table
 * names, unknown selectors, very wide signals or huge selector ranges) returns `undefined` and the
 * interpreter in decode.ts handles it, so both paths always give the same answer.
 *
 * Safety: the source is built only from numbers this module computes and from signal names passed
 * through JSON.stringify; no file text reaches the generated code unquoted.
 */
import { choiceOf, readRaw, type SignalPlan, scaleRaw } from './signal-plan.js';
import type { MuxNode, MuxSwitch } from './tree.js';

/** A generated decoder: signals of a full-length frame, or undefined to fall back to the interpreter. */
export type FastDecoder = (d: Uint8Array) => Record<string, number | bigint | string> | undefined;

/** Generated code budget (signal reads) per message; larger messages use the interpreter. */
const MAX_READS = 4096;
/** Switch cases per multiplexer in generated code. */
const MAX_CASES = 1024;

function num(x: number): string {
  if (Object.is(x, -0)) return '(-0)';
  if (Number.isNaN(x)) return 'NaN';
  if (x === Number.POSITIVE_INFINITY) return 'Infinity';
  if (x === Number.NEGATIVE_INFINITY) return '(-Infinity)';
  const s = String(x);
  return x < 0 ? `(${s})` : s;
}

class Gen {
  constructor(readonly choices: boolean) {}
  reads = 0;
  bytes = new Set<number>();
  helpers: SignalPlan[] = [];
  tmp = 0;

  byte(i: number): string {
    this.bytes.add(i);
    return `x${i}`;
  }

  /** Unsigned composition of `count` bytes from `start` (≤ 4 bytes) as a signed/unsigned 32-bit expr. */
  compose(start: number, count: number, be: boolean): string {
    const parts: string[] = [];
    for (let k = 0; k < count; k++) {
      const shift = be ? 8 * (count - 1 - k) : 8 * k;
      const b = this.byte(start + k);
      parts.push(shift === 0 ? b : `(${b} << ${shift})`);
    }
    return parts.length === 1 ? parts[0]! : `(${parts.join(' | ')})`;
  }

  /** Expression for the raw value, or undefined when this signal needs the generic reader. */
  raw(p: SignalPlan): string | undefined {
    const { b0, nb, sh, length: len } = p;
    if (p.read === 'int32') {
      const v = this.compose(b0, nb, p.bigEndian);
      if (p.signed) return `((${v} << ${32 - sh - len}) >> ${32 - len})`;
      if (len === 32) return `(${v} >>> 0)`;
      const shifted = sh === 0 ? v : `(${v} >>> ${sh})`;
      return 8 * nb === len && nb < 4 ? v : `(${shifted} & ${2 ** len - 1})`;
    }
    if (p.read === 'int53') {
      const hi = p.bigEndian ? this.compose(b0, nb - 4, true) : this.compose(b0 + 4, nb - 4, false);
      const lo = p.bigEndian ? this.compose(b0 + nb - 4, 4, true) : this.compose(b0, 4, false);
      const hiBits = sh + len - 32;
      const expr = `((${hi} & ${2 ** hiBits - 1}) * ${2 ** (32 - sh)} + (${lo} >>> ${sh}))`;
      if (!p.signed) return expr;
      const t = `t${this.tmp++}`;
      return `((${t} = ${expr}) >= ${2 ** (len - 1)} ? ${t} - ${2 ** len} : ${t})`;
    }
    return undefined;
  }

  /** Expression for the physical value. */
  value(p: SignalPlan): { expr: string; bigint: boolean } {
    this.reads++;
    if (this.choices && p.choices) {
      const inline = this.raw(p);
      const idx = this.helpers.push(p) - 1;
      if (inline === undefined || p.mode !== 'identity') {
        // Value-table lookup through a helper (raw → name, else the scaled value).
        return { expr: `VC(${idx}, d)`, bigint: true };
      }
      // Integer identity signal: look the raw value up inline.
      const t = `t${this.tmp++}`;
      const c = `t${this.tmp++}`;
      return {
        expr: `((${c} = K[${idx}].get(${t} = ${inline})) !== undefined ? ${c} : ${t})`,
        bigint: false,
      };
    }
    const raw = this.raw(p);
    if (raw === undefined) {
      // Wide or float signal: generic reader + exact scaling (still no lookups, just a call).
      const idx = this.helpers.push(p) - 1;
      const isFloat = p.read === 'float16' || p.read === 'float32' || p.read === 'float64';
      return { expr: `V(${idx}, d)`, bigint: !isFloat && (p.length > 53 || !p.exactInDouble) };
    }
    switch (p.mode) {
      case 'identity':
        return { expr: raw, bigint: false };
      case 'integer':
        if (!p.exactInDouble) {
          const idx = this.helpers.push(p) - 1;
          return { expr: `V(${idx}, d)`, bigint: true };
        }
        return { expr: `(${raw} * ${num(p.factor)} + ${num(p.offset)})`, bigint: false };
      default:
        if (p.exactProduct) {
          const idx = this.helpers.push(p) - 1;
          return { expr: `V(${idx}, d)`, bigint: false };
        }
        return { expr: `(${raw} * ${num(p.factor)} + ${num(p.offset)})`, bigint: false };
    }
  }
}

/** Generate the fast decoder of a message tree, or undefined when it is not worth generating. */
export function generateFastDecoder(root: MuxNode, choices = false): FastDecoder | undefined {
  const g = new Gen(choices);
  const lines: string[] = [];
  // Root signals as one object literal (a stable shape), then multiplexed signals as assignments.
  const entries: string[] = [];
  const names = new Set<string>();
  for (const s of root.signals) {
    if (s.name === '__proto__') return undefined;
    names.add(s.name);
  }
  const values = new Map<SignalPlan, { expr: string; bigint: boolean }>();
  for (const s of root.signals) {
    const v = g.value(s);
    values.set(s, v);
    entries.push(`${JSON.stringify(s.name)}: ${v.expr}`);
  }
  lines.push(`const o = {${entries.join(', ')}};`);
  const ok = emitMuxes(g, root, lines, 'o', 1);
  if (!ok || g.reads > MAX_READS) return undefined;
  lines.push('return o;');
  const decls: string[] = [];
  for (const b of [...g.bytes].sort((a, b) => a - b)) decls.push(`x${b} = d[${b}]`);
  for (let k = 0; k < g.tmp; k++) decls.push(`t${k}`);
  const head = decls.length > 0 ? `let ${decls.join(', ')};` : '';
  const body = `"use strict";\n${head}\n${lines.join('\n')}`;
  const helpers = g.helpers;
  const V = (idx: number, d: Uint8Array): number | bigint => {
    const p = helpers[idx]!;
    return scaleRaw(p, readRaw(p, d));
  };
  const K = helpers.map((p) => p.choices);
  const VC = (idx: number, d: Uint8Array): number | bigint | string => {
    const p = helpers[idx]!;
    const raw = readRaw(p, d);
    return choiceOf(p, raw) ?? scaleRaw(p, raw);
  };
  const N = (idx: number, name: string): number | bigint | undefined =>
    helpers[idx]!.choiceNumbers?.get(name);
  try {
    const factory = new Function('V', 'VC', 'N', 'K', `return function fastDecode(d) {\n${body}\n};`) as (
      v: typeof V,
      vc: typeof VC,
      n: typeof N,
      k: typeof K,
    ) => FastDecoder;
    return factory(V, VC, N, K);
  } catch {
    return undefined;
  }
}

/** Emit the switch statements of a node's multiplexers. Returns false when generation must give up. */
function emitMuxes(g: Gen, node: MuxNode, lines: string[], obj: string, depth: number): boolean {
  for (const sw of node.muxes) {
    if (!emitSwitch(g, sw, lines, obj, depth)) return false;
  }
  return true;
}

function emitSwitch(g: Gen, sw: MuxSwitch, lines: string[], obj: string, depth: number): boolean {
  if (sw.valueCount > MAX_CASES || depth > 16) return false;
  const p = sw.signal;
  const isFloat = p.read === 'float16' || p.read === 'float32' || p.read === 'float64';
  if (!isFloat && (p.read === 'big' || (p.mode === 'integer' && !p.exactInDouble))) return false;
  // The selector is the decoded (scaled) value, truncated to an integer, as in the reference.
  const key = JSON.stringify(p.name);
  const m = `m${depth}`;
  const isIntIdentity = p.mode === 'identity' && (p.read === 'int32' || p.read === 'int53');
  if (g.choices && p.choices) {
    // The value may be a name: the selector is then the raw value the name stands for.
    const idx = g.helpers.push(p) - 1;
    const v = `${obj}[${key}]`;
    lines.push(`{ const ${m} = typeof ${v} === 'string' ? N(${idx}, ${v}) : Math.trunc(${v});`);
  } else {
    lines.push(`{ const ${m} = ${isIntIdentity ? `${obj}[${key}]` : `Math.trunc(${obj}[${key}])`};`);
  }
  lines.push(`switch (${m}) {`);
  for (const [lo, hi, child] of sw.ranges) {
    for (let v = lo; v <= hi; v++) lines.push(`case ${num(v)}:`);
    lines.push('{');
    for (const s of child.signals) {
      if (s.name === '__proto__') return false;
      const v = g.value(s);
      lines.push(`${obj}[${JSON.stringify(s.name)}] = ${v.expr};`);
    }
    if (!emitMuxes(g, child, lines, obj, depth + 1)) return false;
    lines.push('break; }');
  }
  lines.push('default: return undefined;');
  lines.push('} }');
  return true;
}
