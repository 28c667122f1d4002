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

/** A column (measure value name) of this call, with its byte length and a dense id for sorting. */
interface Column {
  readonly column: string;
  readonly bytes: number;
  readonly id: number;
}

/** The dimension name of a tag key and its byte length. */
interface TagName {
  readonly name: string;
  readonly bytes: number;
}

/** The records of one (time, device, tag set) key, built once the points are merged. */
interface Group {
  time: number;
  /** Dimensions (device and tags), shared by every group of the same device and tag set. */
  dimensions: Dimension[];
  fixed: number;
  /** Column ids of the staged values, parallel to `values`; a later value of a column wins. */
  cols: number[];
  values: MeasureValue[];
  /** Sum of name + value bytes of every value staged (an upper bound once values are overwritten). */
  bytes: number;
  points: number[];
}

/** What a device and tag set contribute to a record, or why they cannot be stored. */
interface SeriesKey {
  /** Key within one time: device and sorted tags. */
  readonly key: string;
  /** Bytes of the tenant, dimensions, time and measure name (with room for a `.999` split suffix). */
  readonly fixed: number;
  readonly dimensions: Dimension[];
}

/** UTF-8 length, with a fast path for ASCII (most names and every number). */
function utf8(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return Buffer.byteLength(s, 'utf8');
  return s.length;
}

/** Per-call caches: a message repeats the same few field and tag names thousands of times. */
class Names {
  private readonly byField = new Map<string, Column>();
  private readonly tags = new Map<string, TagName>();
  /** Columns by id. */
  readonly columns: Column[] = [];
  column(field: string): Column {
    let c = this.byField.get(field);
    if (!c) {
      const column = fieldColumnName(field);
      c = { column, bytes: utf8(column), id: this.columns.length };
      this.columns.push(c);
      this.byField.set(field, c);
    }
    return c;
  }
  tag(key: string): TagName {
    let t = this.tags.get(key);
    if (!t) {
      const name = tagDimensionName(key);
      t = { name, bytes: utf8(name) };
      this.tags.set(key, t);
    }
    return t;
  }
  /** The position of every column id in name order (the order measure values are written in). */
  ranks(): Uint32Array {
    const sorted = this.columns.slice().sort((a, b) => compareNames(a.column, b.column));
    const rank = new Uint32Array(sorted.length);
    for (let i = 0; i < sorted.length; i++) rank[(sorted[i] as Column).id] = i;
    return rank;
  }
}

const compareNames = (x: string, y: string): number => (x < y ? -1 : x > y ? 1 : 0);

const cut = (s: string) => s.slice(0, 40);

/**
 * Series keys by device and tag set, so the points of one series (thousands per CAN message, differing
 * only in time and fields) share one key string, one dimensions array and one check of their tags.
 */
class SeriesKeys {
  private prevDevice: string | undefined;
  private prevTags: Record<string, string> | undefined;
  private prevKeys: string[] = [];
  private prev: SeriesKey | string = '';
  private readonly byKey = new Map<string, SeriesKey>();

  constructor(
    private readonly names: Names,
    private readonly baseBytes: number,
    private readonly opts: RecordOptions,
  ) {}

  /** The series of `p`, or the reason its tags cannot be stored. */
  of(p: Point): SeriesKey | string {
    const tags = p.tags;
    if (p.device === this.prevDevice && this.sameTags(tags)) return this.prev;
    const keys = Object.keys(tags);
    this.prevDevice = p.device;
    this.prevTags = tags;
    this.prevKeys = keys;
    this.prev = this.build(p.device, tags, keys.slice());
    return this.prev;
  }

  /** Whether `tags` equal the previous point's tags, key by key in their order (no array built). */
  private sameTags(tags: Record<string, string>): boolean {
    const prevKeys = this.prevKeys;
    const prevTags = this.prevTags as Record<string, string>;
    let i = 0;
    for (const k in tags) {
      if (k !== prevKeys[i] || tags[k] !== prevTags[k]) return false;
      i++;
    }
    return i === prevKeys.length;
  }

  private build(device: string, tags: Record<string, string>, tagKeys: string[]): SeriesKey | string {
    const opts = this.opts;
    if (tagKeys.length > opts.maxTagDimensions) {
      return `point has ${tagKeys.length} tags; at most ${opts.maxTagDimensions} can be stored as dimensions`;
    }
    if (tagKeys.length > 1) tagKeys.sort();
    let fixed = this.baseBytes + utf8(device);
    let key = device;
    for (const k of tagKeys) {
      const { bytes } = this.names.tag(k);
      const value = tags[k] as string;
      if (bytes > TIMESTREAM_LIMITS.dimensionNameBytes) {
        return `tag "${cut(k)}" is too long for a dimension name (${TIMESTREAM_LIMITS.dimensionNameBytes} bytes)`;
      }
      if (value.length === 0) return `tag "${cut(k)}" has an empty value`;
      fixed += bytes + utf8(value);
      key += `\u0000${k}\u0000${value}`;
    }
    let series = this.byKey.get(key);
    if (!series) {
      const dimensions: Dimension[] = [{ Name: TELEMETRY_DIMENSIONS.device, Value: device }];
      for (const k of tagKeys) dimensions.push({ Name: this.names.tag(k).name, Value: tags[k] as string });
      series = { key, fixed, dimensions };
      this.byKey.set(key, series);
    }
    return series;
  }
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
  // Groups in order of creation (the order records are written in), found by time, then series key.
  const groups: Group[] = [];
  const byTime = new Map<number, Map<string, Group>>();
  let lastTime = Number.NaN;
  let atTime: Map<string, Group> | undefined;
  const names = new Names();
  const baseBytes =
    utf8(TELEMETRY_DIMENSIONS.tenant) +
    utf8(tenant) +
    utf8(TELEMETRY_DIMENSIONS.device) +
    8 +
    utf8(opts.measureName) +
    4;
  const series = new SeriesKeys(names, baseBytes, opts);
  // Values of the current point (the first `n`), checked before any of them joins its group; the arrays
  // are reused from point to point and never truncated.
  const stagedCols: number[] = [];
  const staged: MeasureValue[] = [];
  let n = 0;
  for (let i = 0; i < points.length; i++) {
    const p = points[i] as Point;
    const k = series.of(p);
    if (typeof k === 'string') {
      rejected.push({ index: i, reason: `RECORD_INVALID: ${k}`, retryable: false });
      continue;
    }
    let problem: string | undefined;
    n = 0;
    let stagedBytes = 0;
    const fields = p.fields;
    for (const field in fields) {
      const v = fields[field] as FieldValue;
      let value: string;
      let type: MeasureValue['Type'];
      let valueBytes: number;
      if (typeof v === 'number') {
        // Codecs guarantee finiteness; -0 is normalised so duplicates compare equal.
        value = v === 0 ? '0' : String(v);
        type = 'DOUBLE';
        valueBytes = value.length;
      } else if (typeof v === 'boolean') {
        value = v ? 'true' : 'false';
        type = 'BOOLEAN';
        valueBytes = value.length;
      } else {
        // Timestream cannot store empty strings: treated as absent.
        if (v.length === 0) continue;
        value = v;
        type = 'VARCHAR';
        valueBytes = utf8(v);
      }
      const c = names.column(field);
      if (c.bytes > TIMESTREAM_LIMITS.measureNameBytes) {
        problem = `field "${cut(field)}" is too long for a measure name (${TIMESTREAM_LIMITS.measureNameBytes} bytes)`;
      } else if (type === 'VARCHAR' && valueBytes > TIMESTREAM_LIMITS.varcharBytes) {
        problem = `field "${cut(field)}" is longer than ${TIMESTREAM_LIMITS.varcharBytes} bytes`;
      } else if (k.fixed + c.bytes + valueBytes > TIMESTREAM_LIMITS.recordBytes) {
        problem = `a record for field "${cut(field)}" would exceed ${TIMESTREAM_LIMITS.recordBytes} bytes`;
      }
      if (problem) break;
      staged[n] = { Name: c.column, Value: value, Type: type };
      stagedCols[n++] = c.id;
      stagedBytes += c.bytes + valueBytes;
    }
    if (problem !== undefined) {
      rejected.push({ index: i, reason: `RECORD_INVALID: ${problem}`, retryable: false });
      continue;
    }
    if (p.time !== lastTime || atTime === undefined) {
      lastTime = p.time;
      atTime = byTime.get(p.time);
      if (atTime === undefined) {
        atTime = new Map();
        byTime.set(p.time, atTime);
      }
    }
    let g = atTime.get(k.key);
    if (!g) {
      g = {
        time: p.time,
        dimensions: k.dimensions,
        fixed: k.fixed,
        cols: [],
        values: [],
        bytes: 0,
        points: [],
      };
      atTime.set(k.key, g);
      groups.push(g);
    }
    g.points.push(i);
    g.bytes += stagedBytes;
    for (let s = 0; s < n; s++) {
      g.values.push(staged[s] as MeasureValue);
      g.cols.push(stagedCols[s] as number);
    }
  }

  const records: PlannedRecord[] = [];
  const rank = names.ranks();
  for (const g of groups) {
    const out = buildGroupRecords(g, rank, opts);
    if (out.length === 0) empty.push(...g.points);
    else for (const record of out) records.push({ record, points: g.points });
  }
  rejected.sort((a, b) => a.index - b.index);
  return { records, rejected, empty };
}

/** Staged values per group above which sorting falls back from packed numeric keys to a comparator. */
const PACKED_SORT_MAX = 2 ** 26;

/**
 * A group's values in column-name order, one per column (the last staged value of a column wins). The
 * sort is on packed numbers `rank · 2^26 + position` in a typed array: numeric, no comparator calls,
 * and stable by construction.
 */
function sortedValues(g: Group, rank: Uint32Array): MeasureValue[] {
  const n = g.values.length;
  const out: MeasureValue[] = [];
  if (n < PACKED_SORT_MAX) {
    const keys = new Float64Array(n);
    for (let i = 0; i < n; i++) keys[i] = (rank[g.cols[i] as number] as number) * PACKED_SORT_MAX + i;
    keys.sort();
    for (let i = 0; i < n; i++) {
      const key = keys[i] as number;
      const next = keys[i + 1];
      // The next entry of the same column is a later value: skip this one.
      if (next !== undefined && Math.floor(next / PACKED_SORT_MAX) === Math.floor(key / PACKED_SORT_MAX)) {
        continue;
      }
      out.push(g.values[key % PACKED_SORT_MAX] as MeasureValue);
    }
    return out;
  }
  const order = Array.from({ length: n }, (_, i) => i);
  const r = (i: number) => rank[g.cols[i] as number] as number;
  order.sort((a, b) => r(a) - r(b) || a - b);
  for (let i = 0; i < n; i++) {
    const at = order[i] as number;
    const next = order[i + 1];
    if (next !== undefined && r(next) === r(at)) continue;
    out.push(g.values[at] as MeasureValue);
  }
  return out;
}

/** Split one group's fields into records within the measure-count and byte limits (fields pre-checked). */
function buildGroupRecords(g: Group, rank: Uint32Array, opts: RecordOptions): _Record[] {
  if (g.values.length === 0) return [];
  const dimensions = g.dimensions;
  const values = sortedValues(g, rank);
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
