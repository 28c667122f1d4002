/**
 * The query side of the Timestream telemetry store: structured queries (device, fields, range, interval,
 * aggregation) and latest values, turned into Timestream SQL by pure builders that never take caller text
 * as SQL. Every identifier goes through {@link quoteIdentifier} (validated, double-quoted, `"` doubled),
 * every string value through {@link quoteString} (validated, single-quoted, `'` doubled), every number is
 * checked to be a safe integer before it is printed, and aggregation names come from a fixed table.
 * Field names are further mapped to column names with the writer's reversible escaping
 * (`fieldColumnName`, docs/data-model.md) and must exist in the table (its `DESCRIBE`, cached), so a
 * name that is not a column never reaches SQL at all.
 *
 * Data model (timestream-records.ts): multi-measure records, dimensions `tenant`, `device`, `tag.<key>`;
 * one column per field; records of one point may be split over several rows (`telemetry`, `telemetry.1`…)
 * which raw queries merge back by time.
 */
import {
  type ColumnInfo,
  type Datum,
  QueryCommand,
  type QueryCommandOutput,
  TimestreamQueryClient,
} from '@aws-sdk/client-timestream-query';
import { TELEMETRY_DIMENSIONS } from '../../core/deployment-contract.js';
import { FleetwireError } from '../../core/errors.js';
import type { FieldValue } from '../../core/model/point.js';
import type {
  Aggregation,
  LatestValue,
  TelemetryPage,
  TelemetryQuery,
  TelemetryRow,
  TelemetryStore,
} from '../../ports/telemetry-store.js';
import { configuredEndpoint, type EndpointEnv } from './endpoints.js';
import { decodeColumnName, fieldColumnName, TAG_DIMENSION_PREFIX } from './timestream-names.js';

/** A value or name the builder refuses to put into SQL. */
export class QueryBuildError extends FleetwireError {}

const MAX_IDENTIFIER_BYTES = 256;
const MAX_STRING_BYTES = 2048;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Reject characters that have no business in an identifier or value: C0/C1 controls and lone surrogates. */
function checkText(s: string, what: string, maxBytes: number): void {
  if (s.length === 0) throw new QueryBuildError('SCHEMA_VIOLATION', `${what} is empty`);
  if (Buffer.byteLength(s, 'utf8') > maxBytes) {
    throw new QueryBuildError('STRING_TOO_LONG', `${what} is longer than ${maxBytes} bytes`);
  }
  if (/[\u0000-\u001f\u007f-\u009f]/.test(s))
    throw new QueryBuildError('SCHEMA_VIOLATION', `${what} contains control characters`);
  if (LONE_SURROGATE.test(s)) throw new QueryBuildError('INVALID_UTF8', `${what} is not well-formed Unicode`);
}

/** A double-quoted SQL identifier. Throws {@link QueryBuildError} for names that cannot be one. */
export function quoteIdentifier(name: string): string {
  checkText(name, 'identifier', MAX_IDENTIFIER_BYTES);
  return `"${name.replaceAll('"', '""')}"`;
}

/** A single-quoted SQL string literal. Throws {@link QueryBuildError} for values that cannot be one. */
export function quoteString(value: string): string {
  checkText(value, 'value', MAX_STRING_BYTES);
  return `'${value.replaceAll("'", "''")}'`;
}

/** An integer literal; anything but a safe integer is refused. */
export function integerLiteral(
  n: number,
  min = Number.MIN_SAFE_INTEGER,
  max = Number.MAX_SAFE_INTEGER,
): string {
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new QueryBuildError('SCHEMA_VIOLATION', `${n} is not an integer in [${min}, ${max}]`);
  }
  return String(n);
}

/** Aggregations as SQL templates over one column expression; nothing else is ever emitted. */
const AGG_SQL: Readonly<Record<Aggregation, (col: string) => string>> = Object.freeze({
  // try_cast: a column is DOUBLE, BOOLEAN or VARCHAR; avg/sum of non-numbers is null rather than an error.
  avg: (c) => `avg(try_cast(${c} AS double))`,
  sum: (c) => `sum(try_cast(${c} AS double))`,
  min: (c) => `min(${c})`,
  max: (c) => `max(${c})`,
  count: (c) => `count(${c})`,
  last: (c) => `max_by(${c}, CASE WHEN ${c} IS NOT NULL THEN time END)`,
});

/** Table location and the columns a query may read. */
export interface QueryTarget {
  database: string;
  table: string;
}

/** One selected output column and the field it carries. */
export interface SelectedField {
  alias: string;
  field: string;
}

/** A built statement. */
export interface BuiltQuery {
  sql: string;
  fields: SelectedField[];
}

function fromClause(t: QueryTarget): string {
  return `${quoteIdentifier(t.database)}.${quoteIdentifier(t.table)}`;
}

function whereClause(tenant: string, device: string, from: number, to: number): string {
  const d = TELEMETRY_DIMENSIONS;
  return (
    `${quoteIdentifier(d.tenant)} = ${quoteString(tenant)} AND ${quoteIdentifier(d.device)} = ${quoteString(device)} ` +
    `AND time >= from_milliseconds(${integerLiteral(from, 0)}) AND time < from_milliseconds(${integerLiteral(to, 0)})`
  );
}

/**
 * Build the SQL of a telemetry query over `columns` (existing field columns, already resolved from field
 * names). Raw: `time` and the columns, oldest first. Aggregated: one row per `bin(time, interval)`, each
 * column aggregated with the chosen function under a generated alias.
 */
export function buildTelemetryQuery(
  target: QueryTarget,
  q: TelemetryQuery,
  columns: readonly string[],
): BuiltQuery {
  if (columns.length === 0) throw new QueryBuildError('SCHEMA_VIOLATION', 'no columns to select');
  if (q.to <= q.from) throw new QueryBuildError('SCHEMA_VIOLATION', 'empty time range');
  const fields = columns.map((c, i) => ({
    alias: `f${i}`,
    field: decodeColumnName(c),
    column: quoteIdentifier(c),
  }));
  const where = whereClause(q.tenant, q.device, q.from, q.to);
  const anyPresent = fields.map((f) => `${f.column} IS NOT NULL`).join(' OR ');
  if (q.intervalMs === undefined) {
    const select = fields.map((f) => `${f.column} AS ${quoteIdentifier(f.alias)}`).join(', ');
    return {
      sql: `SELECT time, ${select} FROM ${fromClause(target)} WHERE ${where} AND (${anyPresent}) ORDER BY time ASC`,
      fields: fields.map(({ alias, field }) => ({ alias, field })),
    };
  }
  const agg = AGG_SQL[q.agg ?? 'avg'];
  if (!agg || !Object.hasOwn(AGG_SQL, q.agg ?? 'avg'))
    throw new QueryBuildError('SCHEMA_VIOLATION', 'unknown aggregation');
  const bin = `bin(time, ${integerLiteral(q.intervalMs, 1, 400 * 86_400_000)}ms)`;
  const select = fields.map((f) => `${agg(f.column)} AS ${quoteIdentifier(f.alias)}`).join(', ');
  return {
    sql:
      `SELECT ${bin} AS t, ${select} FROM ${fromClause(target)} WHERE ${where} AND (${anyPresent}) ` +
      `GROUP BY ${bin} ORDER BY t ASC`,
    fields: fields.map(({ alias, field }) => ({ alias, field })),
  };
}

/**
 * Build the SQL of a latest-values query: for each column its newest non-null value (`max_by` over the
 * time of non-null rows) and that time, within `[from, to)`.
 */
export function buildLatestQuery(
  target: QueryTarget,
  tenant: string,
  device: string,
  from: number,
  to: number,
  columns: readonly string[],
): BuiltQuery {
  if (columns.length === 0) throw new QueryBuildError('SCHEMA_VIOLATION', 'no columns to select');
  const parts: string[] = [];
  const fields: SelectedField[] = [];
  columns.forEach((c, i) => {
    const col = quoteIdentifier(c);
    const when = `CASE WHEN ${col} IS NOT NULL THEN time END`;
    parts.push(
      `max_by(${col}, ${when}) AS ${quoteIdentifier(`v${i}`)}`,
      `max(${when}) AS ${quoteIdentifier(`t${i}`)}`,
    );
    fields.push({ alias: `v${i}`, field: decodeColumnName(c) });
  });
  return {
    sql: `SELECT ${parts.join(', ')} FROM ${fromClause(target)} WHERE ${whereClause(tenant, device, from, to)}`,
    fields,
  };
}

/** `DESCRIBE` of the table. */
export function buildDescribe(target: QueryTarget): string {
  return `DESCRIBE ${fromClause(target)}`;
}

/** Columns of the table that hold fields (not time, measure name, dimensions or tags). */
export function fieldColumnsOf(describeRows: readonly { name: string; attribute?: string }[]): string[] {
  const fixed = new Set(['time', 'measure_name', TELEMETRY_DIMENSIONS.tenant, TELEMETRY_DIMENSIONS.device]);
  return describeRows
    .filter((r) => !fixed.has(r.name) && !r.name.startsWith(TAG_DIMENSION_PREFIX))
    .filter((r) => r.attribute === undefined || r.attribute.toUpperCase() === 'MULTI')
    .map((r) => r.name);
}

/** Parse a Timestream TIMESTAMP (`2026-03-01 12:00:00.000000000`) to epoch ms. */
export function parseTimestamp(s: string): number {
  const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?$/.exec(s);
  if (!m) return Number.NaN;
  const ms = (m[3] ?? '').padEnd(3, '0').slice(0, 3);
  return Date.parse(`${m[1]}T${m[2]}.${ms}Z`);
}

/** Convert a scalar datum of a column into a field value (undefined for null). */
export function datumValue(d: Datum | undefined, col: ColumnInfo | undefined): FieldValue | undefined {
  if (!d || d.NullValue || d.ScalarValue === undefined) return undefined;
  const t = col?.Type?.ScalarType;
  const s = d.ScalarValue;
  switch (t) {
    case 'DOUBLE':
    case 'BIGINT':
    case 'INTEGER': {
      const n = Number(s);
      return Number.isFinite(n) ? n : undefined;
    }
    case 'BOOLEAN':
      return s === 'true';
    default:
      return s;
  }
}

/** The Timestream Query client, honouring `AWS_ENDPOINT_URL(_TIMESTREAM_QUERY)` like the write client. */
export function createTimestreamQueryClient(env: EndpointEnv): TimestreamQueryClient {
  const endpoint = configuredEndpoint('TIMESTREAM_QUERY', env);
  return new TimestreamQueryClient(endpoint ? { endpoint } : {});
}

/** Options of {@link TimestreamTelemetryReader}. */
export interface TimestreamReaderOptions extends QueryTarget {
  /** How far back `latest` looks (Timestream bills scanned data). @default 90 days */
  latestLookbackMs?: number;
  /** How long the table's column list is cached. @default 60 s */
  schemaTtlMs?: number;
  /** Empty pages followed before giving up on a page (Timestream may answer a running query with none). @default 10 */
  maxEmptyPages?: number;
  clock?: () => number;
}

/** Query side of the telemetry port on Timestream; `write` belongs to the ingest store. */
export class TimestreamTelemetryReader implements Pick<TelemetryStore, 'query' | 'latest'> {
  private schema: { columns: Set<string>; at: number } | undefined;
  private readonly clock: () => number;

  constructor(
    private readonly client: Pick<TimestreamQueryClient, 'send'>,
    private readonly opts: TimestreamReaderOptions,
  ) {
    this.clock = opts.clock ?? Date.now;
  }

  /** Field columns of the table (cached `DESCRIBE`). */
  async columns(): Promise<Set<string>> {
    const ttl = this.opts.schemaTtlMs ?? 60_000;
    if (this.schema && this.clock() - this.schema.at < ttl) return this.schema.columns;
    const rows: { name: string; attribute?: string }[] = [];
    let token: string | undefined;
    do {
      const out: QueryCommandOutput = await this.client.send(
        new QueryCommand({ QueryString: buildDescribe(this.opts), ...(token ? { NextToken: token } : {}) }),
      );
      const info = out.ColumnInfo ?? [];
      const nameIdx = Math.max(
        0,
        info.findIndex((c) => (c.Name ?? '').toLowerCase() === 'column'),
      );
      const attrIdx = info.findIndex((c) => (c.Name ?? '').toLowerCase().includes('attribute'));
      for (const r of out.Rows ?? []) {
        const name = r.Data?.[nameIdx]?.ScalarValue;
        if (name === undefined) continue;
        const attribute = attrIdx >= 0 ? r.Data?.[attrIdx]?.ScalarValue : undefined;
        rows.push({ name, ...(attribute !== undefined ? { attribute } : {}) });
      }
      token = out.NextToken;
    } while (token);
    const columns = new Set(fieldColumnsOf(rows));
    this.schema = { columns, at: this.clock() };
    return columns;
  }

  private async resolve(fields: string[] | undefined): Promise<string[]> {
    const existing = await this.columns();
    if (!fields) return [...existing].sort();
    return fields.map(fieldColumnName).filter((c) => existing.has(c));
  }

  async query(q: TelemetryQuery): Promise<TelemetryPage> {
    const columns = await this.resolve(q.fields);
    if (columns.length === 0) return { points: [] };
    if (q.intervalMs !== undefined && columns.length > 256) {
      throw new QueryBuildError(
        'LIMIT_EXCEEDED',
        'aggregate at most 256 fields per query: name them with fields=',
      );
    }
    const built = buildTelemetryQuery(this.opts, q, columns);
    let token = q.cursor;
    let out: QueryCommandOutput | undefined;
    for (let i = 0; i <= (this.opts.maxEmptyPages ?? 10); i++) {
      out = await this.client.send(
        new QueryCommand({
          QueryString: built.sql,
          MaxRows: q.limit,
          ...(token ? { NextToken: token } : {}),
        }),
      );
      token = out.NextToken;
      if ((out.Rows?.length ?? 0) > 0 || !token) break;
    }
    const info = out?.ColumnInfo ?? [];
    const index = new Map(info.map((c, i) => [c.Name ?? '', i]));
    const timeIdx = index.get(q.intervalMs === undefined ? 'time' : 't') ?? 0;
    const rows = new Map<number, TelemetryRow>();
    for (const r of out?.Rows ?? []) {
      const time = parseTimestamp(r.Data?.[timeIdx]?.ScalarValue ?? '');
      if (!Number.isFinite(time)) continue;
      const row = rows.get(time) ?? { time, fields: Object.create(null) as Record<string, FieldValue> };
      for (const f of built.fields) {
        const i = index.get(f.alias);
        const v = i === undefined ? undefined : datumValue(r.Data?.[i], info[i]);
        if (v !== undefined) row.fields[f.field] = v;
      }
      if (Object.keys(row.fields).length > 0) rows.set(time, row);
    }
    const points = [...rows.values()].sort((a, b) => a.time - b.time);
    return { points, ...(token ? { next: token } : {}) };
  }

  async latest(tenant: string, device: string, fields?: string[]): Promise<LatestValue[]> {
    const columns = await this.resolve(fields);
    if (columns.length === 0) return [];
    const to = this.clock() + 60_000;
    const from = Math.max(0, to - (this.opts.latestLookbackMs ?? 90 * 86_400_000));
    const out: LatestValue[] = [];
    // Chunks keep each statement well under Timestream's limits on selected columns.
    for (let start = 0; start < columns.length; start += 128) {
      const chunk = columns.slice(start, start + 128);
      const built = buildLatestQuery(this.opts, tenant, device, from, to, chunk);
      const res = await this.client.send(new QueryCommand({ QueryString: built.sql }));
      const info = res.ColumnInfo ?? [];
      const index = new Map(info.map((c, i) => [c.Name ?? '', i]));
      const row = res.Rows?.[0];
      if (!row) continue;
      built.fields.forEach((f, k) => {
        const vi = index.get(f.alias);
        const ti = index.get(`t${k}`);
        const value = vi === undefined ? undefined : datumValue(row.Data?.[vi], info[vi]);
        const time = ti === undefined ? Number.NaN : parseTimestamp(row.Data?.[ti]?.ScalarValue ?? '');
        if (value !== undefined && Number.isFinite(time)) out.push({ field: f.field, time, value });
      });
    }
    return out;
  }
}
