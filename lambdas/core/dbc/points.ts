/**
 * The plug-in between binary CAN frames and the point model: one point per (frame time, bus, message),
 * fields named `<message>.<signal>`, tag `bus`. Numbers are stored as numbers; value-table names only
 * on request (stored fields stay numeric by default so queries and alerts can compare them). Problems
 * become warnings, aggregated per cause so a noisy bus cannot flood the result: unknown ids are
 * reported, never guessed.
 */
import type { CanFrame, DecodeWarning, FieldValue, Point } from '../model/point.js';
import { emptyRecord } from '../model/point.js';
import type { CompiledDbc, SignalValue } from './types.js';

/** Options for {@link framesToPoints}. */
export interface FramesToPointsOptions {
  /** Store value-table names (strings) instead of raw numbers. @default false */
  choices?: boolean;
  /** Maximum fields per point; extra fields are dropped with a warning. @default 1000 */
  maxFieldsPerPoint?: number;
}

/** Convert a decoded value to a stored field value, or undefined (with a reason) when it cannot be stored. */
function toField(v: SignalValue): { value?: FieldValue; problem?: 'precision' | 'non-finite' } {
  if (typeof v === 'number') return Number.isFinite(v) ? { value: v } : { problem: 'non-finite' };
  if (typeof v === 'string') return { value: v };
  // BigInt beyond 2^53: a number only when exactly representable, else its exact decimal digits.
  const n = Number(v);
  if (BigInt(n) === v) return { value: n };
  return { value: v.toString(), problem: 'precision' };
}

/**
 * Decode CAN frames into points for `device`. Frames of the same message at the same time on the same
 * bus (e.g. several multiplexed pages) merge into one point.
 */
export function framesToPoints(
  frames: CanFrame[],
  dbc: CompiledDbc,
  device: string,
  opts: FramesToPointsOptions = {},
): { points: Point[]; warnings: DecodeWarning[] } {
  const choices = opts.choices === true;
  const maxFields = opts.maxFieldsPerPoint ?? 1000;
  const points: Point[] = [];
  const byKey = new Map<string, Point>();
  const issues = new Map<string, { code: string; text: string; index: number; count: number }>();
  const note = (key: string, code: string, text: string, index: number) => {
    const prev = issues.get(key);
    if (prev) prev.count++;
    else issues.set(key, { code, text, index, count: 1 });
  };
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i]!;
    const r = dbc.decode(f.id, f.extended, f.data, { choices });
    const idText = `${f.extended ? 'extended' : 'standard'} id 0x${f.id.toString(16)} on bus ${f.bus}`;
    if (r.kind === 'unknown') {
      note(`u:${f.bus}:${f.extended}:${f.id}`, 'DBC_UNKNOWN_ID', `no message in the DBC for ${idText}`, i);
      continue;
    }
    if (r.error)
      note(`e:${r.message}:${r.error.code}`, r.error.code, `${r.message} (${idText}): ${r.error.message}`, i);
    const key = `${f.time}\u0000${f.bus}\u0000${r.message}`;
    let p = byKey.get(key);
    if (!p) {
      const tags = emptyRecord<string>();
      tags.bus = String(f.bus);
      p = { device, time: f.time, tags, fields: emptyRecord<FieldValue>() };
      byKey.set(key, p);
      points.push(p);
    }
    let count = Object.keys(p.fields).length;
    for (const name in r.signals) {
      const field = `${r.message}.${name}`;
      const { value, problem } = toField(r.signals[name]!);
      if (problem === 'non-finite') {
        note(`n:${field}`, 'NON_FINITE_NUMBER', `${field} is NaN or infinite; not stored`, i);
        continue;
      }
      if (problem === 'precision') {
        note(`p:${field}`, 'DBC_PRECISION', `${field} exceeds 2^53; stored as a decimal string`, i);
      }
      if (!(field in p.fields)) {
        if (count >= maxFields) {
          note(
            `f:${r.message}`,
            'LIMIT_EXCEEDED',
            `${r.message}: more than ${maxFields} fields; extra fields dropped`,
            i,
          );
          continue;
        }
        count++;
      }
      p.fields[field] = value!;
    }
  }
  const warnings: DecodeWarning[] = [];
  for (const w of issues.values()) {
    warnings.push({
      code: w.code,
      message: w.count > 1 ? `${w.text} (${w.count} frames)` : w.text,
      index: w.index,
    });
  }
  return { points, warnings };
}
