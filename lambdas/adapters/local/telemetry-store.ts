/**
 * {@link TelemetryStore} on the embedded SQLite database. One row per (tenant, device, time, field):
 * writes are idempotent — writing the same point twice stores it once — and, like Timestream, a different
 * value for an existing (device, time, field) is refused rather than silently overwritten (the point is
 * reported in `rejected` and none of its fields are kept). Queries are structured and fully parameterized:
 * raw rows or epoch-aligned buckets aggregated with avg|min|max|sum|count|last, paged by time.
 *
 * Write cost is dominated by commits, so {@link SqliteTelemetryStore.writeMany} stores the points of many
 * writes (many messages) in one transaction with one outcome per write; the local stack's
 * {@link BatchingTelemetryStore} (telemetry-batcher.ts) groups concurrent writes into such batches.
 */
import { createHash } from 'node:crypto';
import type { FieldValue, Point } from '../../core/model/point.js';
import type {
  Aggregation,
  LatestValue,
  RejectedPoint,
  TelemetryPage,
  TelemetryQuery,
  TelemetryRow,
  TelemetryStore,
  WriteOutcome,
} from '../../ports/telemetry-store.js';
import { CursorError, clampLimit, decodeCursor, encodeCursor } from './cursor.js';
import { type Db, stmt } from './sqlite.js';

/** Largest page a query returns, whatever the caller asks. */
export const MAX_QUERY_ROWS = 10_000;
/** Most field names one query may name. */
export const MAX_QUERY_FIELDS = 200;

type VType = 'n' | 's' | 'b';
interface StoredValue {
  vtype: VType;
  num: number | null;
  str: string | null;
}

function encodeValue(v: FieldValue): StoredValue | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? { vtype: 'n', num: v, str: null } : undefined;
  if (typeof v === 'boolean') return { vtype: 'b', num: v ? 1 : 0, str: null };
  if (typeof v === 'string') return { vtype: 's', num: null, str: v };
  return undefined;
}

function decodeValue(row: StoredValue): FieldValue {
  if (row.vtype === 's') return row.str ?? '';
  if (row.vtype === 'b') return row.num !== 0;
  return row.num ?? 0;
}

function sameValue(a: StoredValue, b: StoredValue): boolean {
  return a.vtype === b.vtype && a.num === b.num && a.str === b.str;
}

/** Why a point cannot be stored at all, or undefined when it is well-formed. */
function pointProblem(p: Point): string | undefined {
  if (typeof p.device !== 'string' || p.device.length === 0) return 'point has no device';
  if (!Number.isSafeInteger(p.time)) return 'point time is not an integer epoch-ms value';
  const names = Object.keys(p.fields);
  if (names.length === 0) return 'point has no fields';
  for (const name of names) {
    if (encodeValue(p.fields[name] as FieldValue) === undefined)
      return `field "${name}" has an unsupported value`;
  }
  return undefined;
}

/** A stored value, as telemetry_latest keeps it. */
interface LatestRow extends StoredValue {
  tenant: string;
  device: string;
  field: string;
  time: number;
}

/** Thrown inside a per-point savepoint to roll that point back. */
class ConflictSignal extends Error {
  constructor(readonly field: string) {
    super('conflict');
  }
}

/** One write of a batch: the points of one tenant (one message, usually). */
export interface WriteRequest {
  tenant: string;
  points: readonly Point[];
}

/** Telemetry on SQLite. */
export class SqliteTelemetryStore implements TelemetryStore {
  private readonly insert;
  private readonly existing;
  private readonly anyAtTime;
  private readonly upsertLatest;
  private readonly writePoint;
  private readonly writeAll;
  /** Newest new value per tenant/device/field of the open transaction, upserted once at its end. */
  private latestOfTx = new Map<string, LatestRow>();

  constructor(private readonly db: Db) {
    // Positional parameters: binding from an object by name costs about a third of a small insert.
    this.insert = db.prepare(
      `INSERT INTO telemetry (tenant, device, time, field, vtype, num, str, tags)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (tenant, device, time, field) DO NOTHING`,
    );
    this.existing = db.prepare(
      'SELECT vtype, num, str FROM telemetry WHERE tenant = ? AND device = ? AND time = ? AND field = ?',
    );
    // One primary-key seek: does any field of this point exist already? (No: the point cannot conflict.)
    this.anyAtTime = db
      .prepare('SELECT 1 FROM telemetry WHERE tenant = ? AND device = ? AND time = ? LIMIT 1')
      .pluck();
    this.upsertLatest = db.prepare(
      `INSERT INTO telemetry_latest (tenant, device, field, time, vtype, num, str)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (tenant, device, field) DO UPDATE SET
         time = excluded.time, vtype = excluded.vtype, num = excluded.num, str = excluded.str
       WHERE excluded.time > telemetry_latest.time`,
    );
    // A nested better-sqlite3 transaction is a SAVEPOINT: a conflicting point rolls back alone. Returns
    // the rows it inserted (for telemetry_latest, once the savepoint is released).
    this.writePoint = db.transaction((tenant: string, p: Point): LatestRow[] => {
      const tags = Object.keys(p.tags).length > 0 ? JSON.stringify(p.tags) : null;
      const inserted: LatestRow[] = [];
      for (const field of Object.keys(p.fields)) {
        const value = encodeValue(p.fields[field] as FieldValue) as StoredValue;
        if (
          this.insert.run(tenant, p.device, p.time, field, value.vtype, value.num, value.str, tags)
            .changes === 0
        ) {
          const old = this.existing.get(tenant, p.device, p.time, field) as StoredValue | undefined;
          if (old && !sameValue(old, value)) throw new ConflictSignal(field);
          continue; // the same record again (a QoS 1 duplicate or a replay): nothing to do
        }
        inserted.push({ tenant, device: p.device, field, time: p.time, ...value });
      }
      return inserted;
    });
    this.writeAll = db.transaction((requests: readonly WriteRequest[]) => {
      this.latestOfTx = new Map();
      const outcomes = requests.map((r) => this.writeOne(r.tenant, r.points));
      // One upsert per field and device per transaction, not per point: a batch often holds several
      // points of a device, and the upsert costs as much as the insert.
      for (const l of this.latestOfTx.values())
        this.upsertLatest.run(l.tenant, l.device, l.field, l.time, l.vtype, l.num, l.str);
      this.latestOfTx = new Map();
      return outcomes;
    });
  }

  /** Store points; idempotent on tenant + device + time + field. */
  async write(tenant: string, points: readonly Point[]): Promise<WriteOutcome> {
    return this.writeAll([{ tenant, points }])[0] as WriteOutcome;
  }

  /**
   * Store several writes in ONE transaction (one commit), with one outcome per request, in order. Each
   * point is accounted for as in {@link write}: stored, or rejected with its reason; a rejected point never
   * affects another. Throws only when the database itself fails, and then nothing of the batch is stored.
   */
  writeMany(requests: readonly WriteRequest[]): WriteOutcome[] {
    return this.writeAll(requests);
  }

  /** Write the points of one request inside the open transaction. */
  private writeOne(tenant: string, points: readonly Point[]): WriteOutcome {
    const rejected: RejectedPoint[] = [];
    let written = 0;
    points.forEach((p, index) => {
      const problem = pointProblem(p);
      if (problem) {
        rejected.push({ index, reason: problem, retryable: false });
        return;
      }
      if (this.anyAtTime.get(tenant, p.device, p.time) === undefined) {
        this.writeFresh(tenant, p);
        written++;
        return;
      }
      try {
        for (const row of this.writePoint(tenant, p)) this.noteLatest(row);
        written++;
      } catch (e) {
        if (!(e instanceof ConflictSignal)) throw e;
        rejected.push({
          index,
          reason: `field "${e.field}" already has a different value at this time (records are immutable)`,
          retryable: false,
        });
      }
    });
    return { written, rejected };
  }

  /**
   * A point nothing is stored for yet cannot conflict, so it needs no savepoint (a savepoint and its
   * release cost as much as the inserts): the common case of new telemetry takes this path.
   */
  private writeFresh(tenant: string, p: Point): void {
    const tags = Object.keys(p.tags).length > 0 ? JSON.stringify(p.tags) : null;
    for (const field of Object.keys(p.fields)) {
      const value = encodeValue(p.fields[field] as FieldValue) as StoredValue;
      this.insert.run(tenant, p.device, p.time, field, value.vtype, value.num, value.str, tags);
      this.noteLatest({ tenant, device: p.device, field, time: p.time, ...value });
    }
  }

  /** Remember a stored value for telemetry_latest if it is the newest of the transaction. */
  private noteLatest(row: LatestRow): void {
    const key = `${row.tenant}\u0000${row.device}\u0000${row.field}`;
    const seen = this.latestOfTx.get(key);
    if (seen === undefined || row.time > seen.time) this.latestOfTx.set(key, row);
  }

  /** Raw rows or aggregated buckets of one device, oldest first, paged. */
  async query(q: TelemetryQuery): Promise<TelemetryPage> {
    if (!Number.isSafeInteger(q.from) || !Number.isSafeInteger(q.to)) {
      throw new RangeError('query range must be integer epoch ms');
    }
    const fields = q.fields === undefined ? undefined : [...new Set(q.fields)];
    if (fields !== undefined && fields.length > MAX_QUERY_FIELDS) {
      throw new RangeError(`a query names at most ${MAX_QUERY_FIELDS} fields`);
    }
    const limit = clampLimit(q.limit, MAX_QUERY_ROWS);
    const signature = querySignature(q, fields);
    const pos = decodeCursor(q.cursor, { k: 's', t: 'n' });
    if (pos && pos.k !== signature) throw new CursorError();
    if (fields !== undefined && fields.length === 0) return { points: [] };

    const params: Record<string, string | number> = { tenant: q.tenant, device: q.device, to: q.to };
    const fieldSql =
      fields === undefined ? '' : ` AND field IN (${fields.map((_, i) => `@f${i}`).join(', ')})`;
    fields?.forEach((f, i) => {
      params[`f${i}`] = f;
    });

    if (q.intervalMs === undefined) {
      params.from = pos ? Math.max(q.from, (pos.t as number) + 1) : q.from;
      return this.rawPage(params, fieldSql, limit, signature);
    }
    if (!Number.isSafeInteger(q.intervalMs) || q.intervalMs < 1) {
      throw new RangeError('intervalMs must be a positive integer');
    }
    params.iv = q.intervalMs;
    params.from = pos ? Math.max(q.from, (pos.t as number) + q.intervalMs) : q.from;
    return this.aggregatePage(params, fieldSql, q.agg ?? 'avg', limit, signature);
  }

  private rawPage(
    params: Record<string, string | number>,
    fieldSql: string,
    limit: number,
    signature: string,
  ): TelemetryPage {
    const where = `tenant = @tenant AND device = @device AND time >= @from AND time < @to${fieldSql}`;
    const times = stmt(this.db, `SELECT DISTINCT time FROM telemetry WHERE ${where} ORDER BY time LIMIT @lim`)
      .pluck()
      .all({ ...params, lim: limit + 1 }) as number[];
    if (times.length === 0) return { points: [] };
    const more = times.length > limit;
    const last = times[Math.min(times.length, limit) - 1] as number;
    const rows = stmt(
      this.db,
      `SELECT time, field, vtype, num, str FROM telemetry WHERE ${where} AND time <= @last ORDER BY time, field`,
    ).all({ ...params, last }) as (StoredValue & { time: number; field: string })[];
    const page: TelemetryPage = { points: groupRows(rows, (r) => r.time, decodeValue) };
    if (more) page.next = encodeCursor({ k: signature, t: last });
    return page;
  }

  private aggregatePage(
    params: Record<string, string | number>,
    fieldSql: string,
    agg: Aggregation,
    limit: number,
    signature: string,
  ): TelemetryPage {
    // Buckets aligned to the epoch (like Timestream's bin()); the modulo form floors negative times too.
    const bucket = '(time - (((time % @iv) + @iv) % @iv))';
    const numericOnly = agg === 'avg' || agg === 'min' || agg === 'max' || agg === 'sum';
    const where = `tenant = @tenant AND device = @device AND time >= @from AND time < @to${fieldSql}${
      numericOnly ? " AND vtype = 'n'" : ''
    }`;
    const buckets = stmt(
      this.db,
      `SELECT DISTINCT ${bucket} AS b FROM telemetry WHERE ${where} ORDER BY b LIMIT @lim`,
    )
      .pluck()
      .all({ ...params, lim: limit + 1 }) as number[];
    if (buckets.length === 0) return { points: [] };
    const more = buckets.length > limit;
    const last = buckets[Math.min(buckets.length, limit) - 1] as number;
    const range = { ...params, end: Math.min(params.to as number, last + (params.iv as number)) };
    const whereRange = `${where} AND time < @end`;
    let rows: { b: number; field: string; value: FieldValue }[];
    if (agg === 'last') {
      // SQLite takes the bare columns of an aggregate query from the row that produced max().
      const raw = stmt(
        this.db,
        `SELECT ${bucket} AS b, field, max(time) AS t, vtype, num, str FROM telemetry
           WHERE ${whereRange} GROUP BY b, field ORDER BY b, field`,
      ).all(range) as (StoredValue & { b: number; field: string })[];
      rows = raw.map((r) => ({ b: r.b, field: r.field, value: decodeValue(r) }));
    } else {
      const fn = { avg: 'avg(num)', min: 'min(num)', max: 'max(num)', sum: 'sum(num)', count: 'count(*)' }[
        agg
      ];
      rows = stmt(
        this.db,
        `SELECT ${bucket} AS b, field, ${fn} AS value FROM telemetry
           WHERE ${whereRange} GROUP BY b, field ORDER BY b, field`,
      ).all(range) as { b: number; field: string; value: number }[];
    }
    const page: TelemetryPage = {
      points: groupRows(
        rows,
        (r) => r.b,
        (r) => r.value,
      ),
    };
    if (more) page.next = encodeCursor({ k: signature, t: last });
    return page;
  }

  /** Newest value of each field (or of `fields`) by event time. */
  async latest(tenant: string, device: string, fields?: string[]): Promise<LatestValue[]> {
    const names = fields === undefined ? undefined : [...new Set(fields)];
    if (names !== undefined && names.length > MAX_QUERY_FIELDS) {
      throw new RangeError(`a query names at most ${MAX_QUERY_FIELDS} fields`);
    }
    if (names !== undefined && names.length === 0) return [];
    const params: Record<string, string> = { tenant, device };
    names?.forEach((f, i) => {
      params[`f${i}`] = f;
    });
    const fieldSql = names === undefined ? '' : ` AND field IN (${names.map((_, i) => `@f${i}`).join(', ')})`;
    const rows = stmt(
      this.db,
      `SELECT field, time, vtype, num, str FROM telemetry_latest
         WHERE tenant = @tenant AND device = @device${fieldSql} ORDER BY field`,
    ).all(params) as (StoredValue & { field: string; time: number })[];
    return rows.map((r) => ({ field: r.field, time: r.time, value: decodeValue(r) }));
  }
}

/** Ties a cursor to the query that produced it, so it cannot be replayed against another one. */
function querySignature(q: TelemetryQuery, fields: string[] | undefined): string {
  const key = JSON.stringify([
    q.tenant,
    q.device,
    q.from,
    q.to,
    fields ?? null,
    q.intervalMs ?? null,
    q.agg ?? null,
  ]);
  return createHash('sha256').update(key).digest('base64url').slice(0, 16);
}

/** Group rows sorted by time into one {@link TelemetryRow} per time. */
function groupRows<R extends { field: string }>(
  rows: readonly R[],
  timeOf: (r: R) => number,
  valueFor: (r: R) => FieldValue,
): TelemetryRow[] {
  const out: TelemetryRow[] = [];
  let current: TelemetryRow | undefined;
  for (const r of rows) {
    const t = timeOf(r);
    if (!current || current.time !== t) {
      current = { time: t, fields: Object.create(null) as Record<string, FieldValue> };
      out.push(current);
    }
    current.fields[r.field] = valueFor(r);
  }
  return out;
}
