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

const utf8 = (s: string): number => Buffer.byteLength(s, 'utf8');

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
  device: string;
  time: number;
  dimensions: Dimension[];
  fields: Map<string, FieldValue>;
  points: number[];
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

/** Dimensions of a point, or the reason it cannot be stored. */
function pointDimensions(p: Point, opts: RecordOptions): Dimension[] | string {
  const dims: Dimension[] = [{ Name: TELEMETRY_DIMENSIONS.device, Value: p.device }];
  const keys = Object.keys(p.tags).sort();
  if (keys.length > opts.maxTagDimensions) {
    return `point has ${keys.length} tags; at most ${opts.maxTagDimensions} can be stored as dimensions`;
  }
  for (const k of keys) {
    const name = tagDimensionName(k);
    const value = p.tags[k] ?? '';
    if (utf8(name) > TIMESTREAM_LIMITS.dimensionNameBytes) {
      return `tag "${k.slice(0, 40)}" is too long for a dimension name (${TIMESTREAM_LIMITS.dimensionNameBytes} bytes)`;
    }
    if (value.length === 0) return `tag "${k.slice(0, 40)}" has an empty value`;
    dims.push({ Name: name, Value: value });
  }
  return dims;
}

/**
 * Plan the records for `points` of one tenant. Points with an unstorable shape (too many tags, a tag or
 * value over a Timestream limit) are returned in `rejected` with `retryable: false`.
 */
export function planRecords(
  tenant: string,
  points: readonly Point[],
  opts: RecordOptions = DEFAULT_RECORD_OPTIONS,
): RecordPlan {
  const rejected: RejectedPoint[] = [];
  const empty: number[] = [];
  const groups = new Map<string, Group>();
  const tenantBytes = utf8(TELEMETRY_DIMENSIONS.tenant) + utf8(tenant);
  for (let i = 0; i < points.length; i++) {
    const p = points[i] as Point;
    const dims = pointDimensions(p, opts);
    // Checked per point, before merging, so one bad point never takes a good neighbour down with it.
    const problem = typeof dims === 'string' ? dims : checkFields(p, dims, tenantBytes, opts);
    if (typeof dims === 'string' || problem !== undefined) {
      rejected.push({ index: i, reason: `RECORD_INVALID: ${problem}`, retryable: false });
      continue;
    }
    let key = `${p.time}`;
    for (const d of dims) key += `\u0000${d.Name}\u0000${d.Value}`;
    let g = groups.get(key);
    if (!g) {
      g = { device: p.device, time: p.time, dimensions: dims, fields: new Map(), points: [] };
      groups.set(key, g);
    }
    g.points.push(i);
    for (const name of Object.keys(p.fields)) g.fields.set(name, p.fields[name] as FieldValue);
  }

  const records: PlannedRecord[] = [];
  for (const g of groups.values()) {
    const out = buildGroupRecords(g, tenantBytes, opts);
    if (out.length === 0) {
      empty.push(...g.points);
    } else {
      for (const record of out) records.push({ record, points: g.points });
    }
  }
  rejected.sort((a, b) => a.index - b.index);
  return { records, rejected, empty };
}

/** Fixed bytes of every record of a point: dimensions, time, measure name with room for `.999`. */
function fixedBytes(dims: readonly Dimension[], tenantBytes: number, opts: RecordOptions): number {
  let n = tenantBytes + 8 + utf8(opts.measureName) + 4;
  for (const d of dims) n += utf8(d.Name as string) + utf8(d.Value as string);
  return n;
}

/** Why a point's fields cannot be stored, or undefined. */
function checkFields(
  p: Point,
  dims: readonly Dimension[],
  tenantBytes: number,
  opts: RecordOptions,
): string | undefined {
  const fixed = fixedBytes(dims, tenantBytes, opts);
  for (const name of Object.keys(p.fields)) {
    const mv = measureValue(fieldColumnName(name), p.fields[name] as FieldValue);
    if (!mv) continue;
    const nameBytes = utf8(mv.Name as string);
    const valueBytes = utf8(mv.Value as string);
    if (nameBytes > TIMESTREAM_LIMITS.measureNameBytes) {
      return `field "${name.slice(0, 40)}" is too long for a measure name (${TIMESTREAM_LIMITS.measureNameBytes} bytes)`;
    }
    if (mv.Type === 'VARCHAR' && valueBytes > TIMESTREAM_LIMITS.varcharBytes) {
      return `field "${name.slice(0, 40)}" is longer than ${TIMESTREAM_LIMITS.varcharBytes} bytes`;
    }
    if (fixed + nameBytes + valueBytes > TIMESTREAM_LIMITS.recordBytes) {
      return `a record for field "${name.slice(0, 40)}" would exceed ${TIMESTREAM_LIMITS.recordBytes} bytes`;
    }
  }
  return undefined;
}

/** Split one group's fields into records within the measure-count and byte limits (fields pre-checked). */
function buildGroupRecords(g: Group, tenantBytes: number, opts: RecordOptions): _Record[] {
  const values: MeasureValue[] = [];
  for (const [name, v] of g.fields) {
    const mv = measureValue(fieldColumnName(name), v);
    if (mv) values.push(mv);
  }
  if (values.length === 0) return [];
  values.sort((a, b) => ((a.Name as string) < (b.Name as string) ? -1 : 1));

  const fixed = fixedBytes(g.dimensions, tenantBytes, opts);
  const chunks: MeasureValue[][] = [];
  let chunk: MeasureValue[] = [];
  let size = 0;
  for (const mv of values) {
    const bytes = utf8(mv.Name as string) + utf8(mv.Value as string);
    if (
      chunk.length === TIMESTREAM_LIMITS.measuresPerRecord ||
      (chunk.length > 0 && fixed + size + bytes > TIMESTREAM_LIMITS.recordBytes)
    ) {
      chunks.push(chunk);
      chunk = [];
      size = 0;
    }
    chunk.push(mv);
    size += bytes;
  }
  chunks.push(chunk);
  const time = String(g.time);
  return chunks.map((measureValues, i) => ({
    Dimensions: g.dimensions,
    MeasureName: i === 0 ? opts.measureName : `${opts.measureName}.${i}`,
    MeasureValues: measureValues,
    Time: time,
  }));
}
