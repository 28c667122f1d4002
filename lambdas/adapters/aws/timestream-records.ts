/**
 * Points → Timestream multi-measure records (docs/data-model.md). Pure and synchronous so it can be
 * tested and benchmarked without a client.
 *
 * - One record per (device, time, tag set): points of one write that share that key are merged (later
 *   fields win), because Timestream refuses two records with the same key in one request and would treat
 *   them as conflicting versions across requests.
 * - Dimensions: `tenant` (in `CommonAttributes`), `device`, and one `tag.<key>` dimension per point tag.
 * - Measure values: one per field, named by {@link fieldColumnName}; numbers are DOUBLE (always, so a field
 *   never flips between BIGINT and DOUBLE), strings VARCHAR, booleans BOOLEAN. Empty strings cannot be
 *   stored by Timestream and are treated as absent.
 * - A point with more than 256 fields, or whose record would exceed 2 KB, is split over several records
 *   named `telemetry`, `telemetry.1`, `telemetry.2`… with fields in a fixed (sorted) order, so the split
 *   is deterministic and a duplicate delivery produces byte-identical records.
 * - `Version` is fixed per deployment (default 1): a redelivered message yields identical records, which
 *   Timestream accepts as a no-op; a *different* value for an already-stored key is a version conflict,
 *   reported rather than silently overwritten.
 */
import type { _Record, Dimension, MeasureValue } from '@aws-sdk/client-timestream-write';
import { TELEMETRY_DIMENSIONS } from '../../core/deployment-contract.js';
import type { FieldValue, Point } from '../../core/model/point.js';
import type { RejectedPoint } from '../../ports/telemetry-store.js';
import { fieldColumnName, tagDimensionName } from './timestream-names.js';

/** Timestream limits the builder enforces (aws-facts.md §3). */
export const TIMESTREAM_LIMITS = Object.freeze({
  recordsPerRequest: 100,
  measuresPerRecord: 256,
  recordBytes: 2048,
  dimensionNameBytes: 60,
  measureNameBytes: 256,
  varcharBytes: 2048,
});

/** Record-building options. */
export interface RecordOptions {
  /** Measure name of a point's first record; later splits append `.1`, `.2`… @default 'telemetry' */
  readonly measureName: string;
  /** `Version` of every record. Raise it (e.g. for a backfill that must overwrite) only deliberately. @default 1 */
  readonly version: number;
  /** Most tags a point may carry as dimensions; a point with more is rejected. @default 16 */
  readonly maxTagDimensions: number;
}

/** Default {@link RecordOptions}. */
export const DEFAULT_RECORD_OPTIONS: Readonly<RecordOptions> = Object.freeze({
  measureName: 'telemetry',
  version: 1,
  maxTagDimensions: 16,
});

/** One record to write and the indexes of the points it carries. */
export interface PlannedRecord {
  readonly record: _Record;
  readonly points: readonly number[];
}

/** The records for a write, plus points refused before any request (permanent). */
export interface RecordPlan {
  readonly records: PlannedRecord[];
  readonly rejected: RejectedPoint[];
  /** Points that produced no record because they carry nothing storable (only empty strings). */
  readonly empty: number[];
}

/** `CommonAttributes` of every WriteRecords request of one tenant. */
export function commonAttributes(tenant: string, opts: RecordOptions = DEFAULT_RECORD_OPTIONS): _Record {
  return {
    Dimensions: [{ Name: TELEMETRY_DIMENSIONS.tenant, Value: tenant }],
    MeasureValueType: 'MULTI',
    TimeUnit: 'MILLISECONDS',
    Version: opts.version,
  };
}

interface Group {
  time: number;
  device: string;
  tagKeys: string[];
  tags: Record<string, string>;
  fixed: number;
  /** Column name → measure value; later points of the group overwrite earlier ones. */
  fields: Map<string, MeasureValue>;
  /** Sum of name + value bytes of every value staged (an upper bound once values are overwritten). */
  bytes: number;
  points: number[];
}

/** UTF-8 length, with a fast path for ASCII (most names and every number). */
function utf8(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return Buffer.byteLength(s, 'utf8');
  return s.length;
}

/** Per-call caches: a message repeats the same few field and tag names thousands of times. */
class Names {
  private readonly columns = new Map<string, { column: string; bytes: number }>();
  private readonly tags = new Map<string, { name: string; bytes: number }>();
  column(field: string): { column: string; bytes: number } {
    let c = this.columns.get(field);
    if (!c) {
      const column = fieldColumnName(field);
      c = { column, bytes: utf8(column) };
      this.columns.set(field, c);
    }
    return c;
  }
  tag(key: string): { name: string; bytes: number } {
    let t = this.tags.get(key);
    if (!t) {
      const name = tagDimensionName(key);
      t = { name, bytes: utf8(name) };
      this.tags.set(key, t);
    }
    return t;
  }
}

function measureValue(column: string, v: FieldValue): MeasureValue | undefined {
  switch (typeof v) {
    case 'number':
      // Codecs guarantee finiteness; -0 is normalised so duplicates compare equal.
      return { Name: column, Value: String(v === 0 ? 0 : v), Type: 'DOUBLE' };
    case 'boolean':
      return { Name: column, Value: v ? 'true' : 'false', Type: 'BOOLEAN' };
    default:
      return v.length === 0 ? undefined : { Name: column, Value: v, Type: 'VARCHAR' };
  }
}

const cut = (s: string) => s.slice(0, 40);

/**
 * The group key of a point, its sorted tag keys and the fixed bytes of each of its records (tenant,
 * dimensions, time, measure name with room for a `.999` split suffix), or the reason it cannot be stored.
 * Dimensions themselves are only built once per group.
 */
function pointKey(
  p: Point,
  names: Names,
  baseBytes: number,
  opts: RecordOptions,
): { key: string; tagKeys: string[]; fixed: number } | string {
  let fixed = baseBytes + utf8(p.device);
  let key = `${p.time}\u0000${p.device}`;
  const tagKeys = Object.keys(p.tags);
  if (tagKeys.length > opts.maxTagDimensions) {
    return `point has ${tagKeys.length} tags; at most ${opts.maxTagDimensions} can be stored as dimensions`;
  }
  if (tagKeys.length > 1) tagKeys.sort();
  for (const k of tagKeys) {
    const { bytes } = names.tag(k);
    const value = p.tags[k] as string;
    if (bytes > TIMESTREAM_LIMITS.dimensionNameBytes) {
      return `tag "${cut(k)}" is too long for a dimension name (${TIMESTREAM_LIMITS.dimensionNameBytes} bytes)`;
    }
    if (value.length === 0) return `tag "${cut(k)}" has an empty value`;
    fixed += bytes + utf8(value);
    key += `\u0000${k}\u0000${value}`;
  }
  return { key, tagKeys, fixed };
}

/**
 * Plan the records for `points` of one tenant. Points with an unstorable shape (too many tags, a tag or
 * value over a Timestream limit) are returned in `rejected` with `retryable: false`; they are checked one
 * by one before merging, so a bad point never takes a good neighbour down with it.
 */
export function planRecords(
  tenant: string,
  points: readonly Point[],
  opts: RecordOptions = DEFAULT_RECORD_OPTIONS,
): RecordPlan {
  const rejected: RejectedPoint[] = [];
  const empty: number[] = [];
  const groups = new Map<string, Group>();
  const names = new Names();
  const baseBytes =
    utf8(TELEMETRY_DIMENSIONS.tenant) +
    utf8(tenant) +
    utf8(TELEMETRY_DIMENSIONS.device) +
    8 +
    utf8(opts.measureName) +
    4;
  const staged: MeasureValue[] = [];
  let stagedBytes = 0;
  for (let i = 0; i < points.length; i++) {
    const p = points[i] as Point;
    const k = pointKey(p, names, baseBytes, opts);
    let problem = typeof k === 'string' ? k : undefined;
    staged.length = 0;
    stagedBytes = 0;
    if (typeof k !== 'string') {
      for (const field in p.fields) {
        const { column, bytes: nameBytes } = names.column(field);
        const mv = measureValue(column, p.fields[field] as FieldValue);
        if (!mv) continue;
        const valueBytes = mv.Type === 'VARCHAR' ? utf8(mv.Value as string) : (mv.Value as string).length;
        if (nameBytes > TIMESTREAM_LIMITS.measureNameBytes) {
          problem = `field "${cut(field)}" is too long for a measure name (${TIMESTREAM_LIMITS.measureNameBytes} bytes)`;
        } else if (mv.Type === 'VARCHAR' && valueBytes > TIMESTREAM_LIMITS.varcharBytes) {
          problem = `field "${cut(field)}" is longer than ${TIMESTREAM_LIMITS.varcharBytes} bytes`;
        } else if (k.fixed + nameBytes + valueBytes > TIMESTREAM_LIMITS.recordBytes) {
          problem = `a record for field "${cut(field)}" would exceed ${TIMESTREAM_LIMITS.recordBytes} bytes`;
        }
        if (problem) break;
        staged.push(mv);
        stagedBytes += nameBytes + valueBytes;
      }
    }
    if (problem !== undefined || typeof k === 'string') {
      rejected.push({ index: i, reason: `RECORD_INVALID: ${problem}`, retryable: false });
      continue;
    }
    let g = groups.get(k.key);
    if (!g) {
      g = {
        time: p.time,
        device: p.device,
        tagKeys: k.tagKeys,
        tags: p.tags,
        fixed: k.fixed,
        fields: new Map(),
        bytes: 0,
        points: [],
      };
      groups.set(k.key, g);
    }
    g.points.push(i);
    g.bytes += stagedBytes;
    for (const mv of staged) g.fields.set(mv.Name as string, mv);
  }

  const records: PlannedRecord[] = [];
  for (const g of groups.values()) {
    const out = buildGroupRecords(g, names, opts);
    if (out.length === 0) empty.push(...g.points);
    else for (const record of out) records.push({ record, points: g.points });
  }
  rejected.sort((a, b) => a.index - b.index);
  return { records, rejected, empty };
}

const byName = (a: MeasureValue, b: MeasureValue): number => {
  const x = a.Name as string;
  const y = b.Name as string;
  return x < y ? -1 : x > y ? 1 : 0;
};

/** Split one group's fields into records within the measure-count and byte limits (fields pre-checked). */
function buildGroupRecords(g: Group, names: Names, opts: RecordOptions): _Record[] {
  if (g.fields.size === 0) return [];
  const dimensions: Dimension[] = [{ Name: TELEMETRY_DIMENSIONS.device, Value: g.device }];
  for (const k of g.tagKeys) dimensions.push({ Name: names.tag(k).name, Value: g.tags[k] as string });
  const values = [...g.fields.values()].sort(byName);
  const time = String(g.time);
  // Common case: everything fits one record.
  if (
    values.length <= TIMESTREAM_LIMITS.measuresPerRecord &&
    g.fixed + g.bytes <= TIMESTREAM_LIMITS.recordBytes
  ) {
    return [{ Dimensions: dimensions, MeasureName: opts.measureName, MeasureValues: values, Time: time }];
  }
  const chunks: MeasureValue[][] = [];
  let chunk: MeasureValue[] = [];
  let size = 0;
  for (const mv of values) {
    const bytes = utf8(mv.Name as string) + utf8(mv.Value as string);
    if (
      chunk.length === TIMESTREAM_LIMITS.measuresPerRecord ||
      (chunk.length > 0 && g.fixed + size + bytes > TIMESTREAM_LIMITS.recordBytes)
    ) {
      chunks.push(chunk);
      chunk = [];
      size = 0;
    }
    chunk.push(mv);
    size += bytes;
  }
  chunks.push(chunk);
  return chunks.map((measureValues, i) => ({
    Dimensions: dimensions,
    MeasureName: i === 0 ? opts.measureName : `${opts.measureName}.${i}`,
    MeasureValues: measureValues,
    Time: time,
  }));
}
