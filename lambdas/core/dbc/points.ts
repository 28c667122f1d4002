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

/** `v` as a stored field value when it needs no conversion (the common case: a finite number or a name). */
function isPlainField(v: SignalValue): v is number | string {
  return typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));
}

/** A frame's id for warning texts (built only when there is something to report). */
function idText(f: CanFrame): string {
  return `${f.extended ? 'extended' : 'standard'} id 0x${f.id.toString(16)} on bus ${f.bus}`;
}

/** A point under construction and its field count (kept beside it, not recounted per frame). */
interface OpenPoint {
  point: Point;
  count: number;
}

/**
 * `<message>.<signal>` field names of one message, built once per message and signal. The signal names
 * of the message's last frame are kept in order too: consecutive frames of a message almost always
 * decode the same signals, so the name is found by position and one comparison instead of a map lookup.
 */
interface MessageFields {
  readonly byName: Map<string, string>;
  lastSignals: string[];
  lastFields: string[];
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
  const decodeOpts = { choices };
  const maxFields = opts.maxFieldsPerPoint ?? 1000;
  const points: Point[] = [];
  // Open points by time, then `<bus>:<message>`: frames arrive grouped by time, so the inner map of the
  // current time is reused and no per-frame key has to print a 13-digit time.
  const byTime = new Map<number, Map<string, OpenPoint>>();
  let lastTime = Number.NaN;
  let atTime: Map<string, OpenPoint> | undefined;
  const fieldNames = new Map<string, MessageFields>();
  const issues = new Map<string, { code: string; text: string; index: number; count: number }>();
  const note = (key: string, code: string, text: () => string, index: number) => {
    const prev = issues.get(key);
    if (prev) prev.count++;
    else issues.set(key, { code, text: text(), index, count: 1 });
  };
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i]!;
    const codec = dbc.findMessage(f.id, f.extended);
    if (codec === undefined) {
      note(
        `u:${f.bus}:${f.extended}:${f.id}`,
        'DBC_UNKNOWN_ID',
        () => `no message in the DBC for ${idText(f)}`,
        i,
      );
      continue;
    }
    const message = codec.name;
    // The generated fast path answers almost every frame without a result object; the full decode gives
    // the partial signals and the error of the others.
    let signals = codec.fastSignals(f.data, choices);
    if (signals === undefined) {
      const r = dbc.decode(f.id, f.extended, f.data, decodeOpts);
      if (r.kind === 'unknown') continue; // not reached: findMessage matched
      signals = r.signals;
      if (r.error) {
        const error = r.error;
        note(
          `e:${message}:${error.code}`,
          error.code,
          () => `${message} (${idText(f)}): ${error.message}`,
          i,
        );
      }
    }
    if (f.time !== lastTime || atTime === undefined) {
      lastTime = f.time;
      atTime = byTime.get(f.time);
      if (atTime === undefined) {
        atTime = new Map();
        byTime.set(f.time, atTime);
      }
    }
    const key = f.bus === 0 ? message : `${f.bus}:${message}`;
    let open = atTime.get(key);
    // A point opened by this frame has no fields yet, and a frame's signal names are unique: its fields
    // need no "already there?" check.
    let fresh = false;
    if (!open) {
      const tags = emptyRecord<string>();
      tags.bus = String(f.bus);
      open = { point: { device, time: f.time, tags, fields: emptyRecord<FieldValue>() }, count: 0 };
      atTime.set(key, open);
      points.push(open.point);
      fresh = true;
    }
    let names = fieldNames.get(message);
    if (!names) {
      names = { byName: new Map(), lastSignals: [], lastFields: [] };
      fieldNames.set(message, names);
    }
    const fields = open.point.fields;
    const lastSignals = names.lastSignals;
    const lastFields = names.lastFields;
    let position = 0;
    for (const name in signals) {
      let field: string;
      if (lastSignals[position] === name) field = lastFields[position] as string;
      else {
        const known = names.byName.get(name);
        field = known ?? `${message}.${name}`;
        if (known === undefined) names.byName.set(name, field);
        lastSignals[position] = name;
        lastFields[position] = field;
      }
      position++;
      const raw = signals[name]!;
      let value: FieldValue;
      if (isPlainField(raw)) value = raw;
      else if (typeof raw === 'number') {
        const nonFinite = field;
        note(`n:${field}`, 'NON_FINITE_NUMBER', () => `${nonFinite} is NaN or infinite; not stored`, i);
        continue;
      } else {
        // BigInt beyond 2^53: a number only when exactly representable, else its exact decimal digits.
        const n = Number(raw);
        if (BigInt(n) === raw) value = n;
        else {
          const wide = field;
          note(`p:${field}`, 'DBC_PRECISION', () => `${wide} exceeds 2^53; stored as a decimal string`, i);
          value = raw.toString();
        }
      }
      if (fresh || !(field in fields)) {
        if (open.count >= maxFields) {
          note(
            `f:${message}`,
            'LIMIT_EXCEEDED',
            () => `${message}: more than ${maxFields} fields; extra fields dropped`,
            i,
          );
          continue;
        }
        open.count++;
      }
      fields[field] = value;
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
