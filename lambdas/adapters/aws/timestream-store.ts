/**
 * TelemetryStore on Amazon Timestream for LiveAnalytics. Writes are built here; queries (`query`,
 * `latest`) are delegated to the structured query builder and reader in timestream-query.ts, so the
 * store is the one Timestream implementation of the port. Each side needs its own client: the ingest
 * function builds the store with a Timestream Write client only, the API with a Timestream Query client
 * only (`query` option), and a side built without its client answers {@link StoreNotConfiguredError}.
 *
 * Writes are batches of ≤ 100 multi-measure records sharing `CommonAttributes` (tenant dimension, MULTI,
 * milliseconds, version). The adapter owns its retries — the client is built with `maxAttempts: 1` —
 * because Timestream's partial failures (`RejectedRecordsException`) must be retried record by record:
 * - throttling, 5xx, timeouts: the whole batch again, exponential backoff with full jitter;
 * - rejected records: classified by {@link classifyRejection}; permanent ones are reported at once,
 *   retryable ones are resent alone with backoff. Records of the batch that were not rejected are
 *   already stored (Timestream writes them), so they are never resent.
 * What is still failing after the last attempt is returned as `retryable: true` for the caller to
 * escalate (the ingest service throws so Lambda's async retries and on-failure destination keep it).
 */
import type { TimestreamQueryClient } from '@aws-sdk/client-timestream-query';
import {
  RejectedRecordsException,
  type TimestreamWriteClient,
  WriteRecordsCommand,
} from '@aws-sdk/client-timestream-write';
import type { Point } from '../../core/model/point.js';
import type {
  LatestValue,
  RejectedPoint,
  TelemetryPage,
  TelemetryQuery,
  TelemetryStore,
  WriteOutcome,
} from '../../ports/telemetry-store.js';
import {
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  isRetryableAwsError,
  type RetryPolicy,
  realSleep,
  type Sleep,
} from './retry.js';
import { type TimestreamReaderOptions, TimestreamTelemetryReader } from './timestream-query.js';
import {
  commonAttributes,
  DEFAULT_RECORD_OPTIONS,
  type PlannedRecord,
  planRecords,
  type RecordOptions,
  TIMESTREAM_LIMITS,
} from './timestream-records.js';

/** Thrown when the store is asked for a side (writes or queries) it was built without a client for. */
export class StoreNotConfiguredError extends Error {
  /** Stable code. */
  readonly code = 'STORE_NOT_CONFIGURED';
  constructor(what: string) {
    super(`this Timestream store was built without a client for ${what}`);
    this.name = 'StoreNotConfiguredError';
  }
}

/** The query side of {@link TimestreamTelemetryStore}: its client and the reader's options. */
export interface TimestreamStoreQueryOptions extends Omit<TimestreamReaderOptions, 'database' | 'table'> {
  /** Timestream Query client (`createTimestreamQueryClient`). */
  readonly client: Pick<TimestreamQueryClient, 'send'>;
}

/** Options of {@link TimestreamTelemetryStore}. */
export interface TimestreamStoreOptions {
  /** Timestream database name. */
  readonly database: string;
  /** Timestream table name. */
  readonly table: string;
  /**
   * Whether the table has magnetic store writes enabled (the CDK stack enables them). With them on, a
   * record "outside the memory store retention" can only be a transient state (the table's settings are
   * being updated) and is retried; with them off it is permanent. @default true
   */
  readonly magneticWritesEnabled?: boolean;
  /** Record building. @default DEFAULT_RECORD_OPTIONS */
  readonly records?: Partial<RecordOptions>;
  /** Retry policy for throttling, server errors and retryable rejections. @default DEFAULT_RETRY_POLICY */
  readonly retry?: RetryPolicy;
  /** Batches written in parallel. @default 4 */
  readonly concurrency?: number;
  /** Injectable sleep (tests). */
  readonly sleep?: Sleep;
  /** Injectable jitter source (tests). */
  readonly random?: () => number;
  /** The query side (`query`, `latest`) on the same database and table. @default none (writes only) */
  readonly query?: TimestreamStoreQueryOptions;
}

/** How a rejected record is handled. */
export interface RejectionClass {
  /** Short stable category: VERSION_CONFLICT, SUPERSEDED, OUTSIDE_RETENTION, TOO_FAR_IN_FUTURE, LIMIT, TYPE_CONFLICT, UNKNOWN. */
  readonly category: string;
  readonly retryable: boolean;
  /** True when the existing record is a newer version: our write is stale, not a failure. */
  readonly superseded: boolean;
}

/**
 * Classify a Timestream rejection. The reason texts are documented prose (API_RejectedRecord), so the
 * match is on their stable key phrases; an unknown reason is treated as retryable, so it ends up in
 * Lambda's on-failure destination rather than being judged permanent on a guess.
 */
export function classifyRejection(
  reason: string,
  existingVersion: number | undefined,
  ourVersion: number,
  magneticWritesEnabled: boolean,
): RejectionClass {
  const r = reason.toLowerCase();
  if (existingVersion !== undefined) {
    return existingVersion > ourVersion
      ? { category: 'SUPERSEDED', retryable: false, superseded: true }
      : { category: 'VERSION_CONFLICT', retryable: false, superseded: false };
  }
  if (r.includes('same dimensions') || r.includes('version')) {
    return { category: 'VERSION_CONFLICT', retryable: false, superseded: false };
  }
  if (r.includes('memory store') && (r.includes('retention') || r.includes('outside'))) {
    // With magnetic writes on, this only happens while a retention change propagates.
    return { category: 'OUTSIDE_RETENTION', retryable: magneticWritesEnabled, superseded: false };
  }
  if (r.includes('magnetic store') || r.includes('retention')) {
    return { category: 'OUTSIDE_RETENTION', retryable: false, superseded: false };
  }
  if (r.includes('future')) return { category: 'TOO_FAR_IN_FUTURE', retryable: false, superseded: false };
  if (r.includes('type') || r.includes('schema')) {
    return { category: 'TYPE_CONFLICT', retryable: false, superseded: false };
  }
  if (/exceed|limit|too (long|large|many)|maximum/.test(r)) {
    return { category: 'LIMIT', retryable: false, superseded: false };
  }
  return { category: 'UNKNOWN', retryable: true, superseded: false };
}

interface RecordFailure {
  reason: string;
  retryable: boolean;
}

/** The Timestream telemetry store. */
export class TimestreamTelemetryStore implements TelemetryStore {
  private readonly client: Pick<TimestreamWriteClient, 'send'> | undefined;
  private readonly reader: TimestreamTelemetryReader | undefined;
  private readonly database: string;
  private readonly table: string;
  private readonly magnetic: boolean;
  private readonly recordOpts: RecordOptions;
  private readonly retry: RetryPolicy;
  private readonly concurrency: number;
  private readonly sleep: Sleep;
  private readonly random: () => number;

  /**
   * `client` is the Timestream Write client (`undefined` for a query-only store, such as the API's);
   * `opts.query` adds the query side.
   */
  constructor(client: Pick<TimestreamWriteClient, 'send'> | undefined, opts: TimestreamStoreOptions) {
    this.client = client;
    if (opts.query) {
      const { client: queryClient, ...readerOpts } = opts.query;
      this.reader = new TimestreamTelemetryReader(queryClient, {
        ...readerOpts,
        database: opts.database,
        table: opts.table,
      });
    }
    this.database = opts.database;
    this.table = opts.table;
    this.magnetic = opts.magneticWritesEnabled ?? true;
    this.recordOpts = { ...DEFAULT_RECORD_OPTIONS, ...(opts.records ?? {}) };
    this.retry = opts.retry ?? DEFAULT_RETRY_POLICY;
    this.concurrency = Math.max(1, opts.concurrency ?? 4);
    this.sleep = opts.sleep ?? realSleep;
    this.random = opts.random ?? Math.random;
  }

  /** Write the points of one tenant; see the module comment for the retry and rejection rules. */
  async write(tenant: string, points: readonly Point[]): Promise<WriteOutcome> {
    if (!this.client) throw new StoreNotConfiguredError('writes');
    const plan = planRecords(tenant, points, this.recordOpts);
    const failures = new Map<number, RecordFailure>();
    const common = commonAttributes(tenant, this.recordOpts);
    const batches: number[][] = [];
    for (let i = 0; i < plan.records.length; i += TIMESTREAM_LIMITS.recordsPerRequest) {
      const batch: number[] = [];
      const end = Math.min(plan.records.length, i + TIMESTREAM_LIMITS.recordsPerRequest);
      for (let k = i; k < end; k++) batch.push(k);
      batches.push(batch);
    }
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < batches.length) {
        const batch = batches[next++] as number[];
        await this.writeBatch(plan.records, batch, common, failures);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, batches.length) }, worker));

    // Roll record failures up to points: a point fails if any of its records failed, and is retryable
    // only if every one of its failures is.
    const byPoint = new Map<number, RecordFailure>();
    for (const [recordIndex, f] of failures) {
      for (const p of (plan.records[recordIndex] as PlannedRecord).points) {
        const prev = byPoint.get(p);
        byPoint.set(p, prev ? { reason: prev.reason, retryable: prev.retryable && f.retryable } : f);
      }
    }
    const rejected: RejectedPoint[] = [...plan.rejected];
    for (const [index, f] of byPoint) rejected.push({ index, reason: f.reason, retryable: f.retryable });
    rejected.sort((a, b) => a.index - b.index);
    return { written: points.length - rejected.length, rejected };
  }

  private async writeBatch(
    records: readonly PlannedRecord[],
    batch: number[],
    common: ReturnType<typeof commonAttributes>,
    failures: Map<number, RecordFailure>,
  ): Promise<void> {
    let pending = batch;
    let lastReason = '';
    for (let attempt = 0; attempt < this.retry.maxAttempts && pending.length > 0; attempt++) {
      if (attempt > 0) await this.sleep(backoffDelay(attempt - 1, this.retry, this.random));
      try {
        await (this.client as Pick<TimestreamWriteClient, 'send'>).send(
          new WriteRecordsCommand({
            DatabaseName: this.database,
            TableName: this.table,
            CommonAttributes: common,
            Records: pending.map((i) => (records[i] as PlannedRecord).record),
          }),
        );
        return;
      } catch (e) {
        if (
          e instanceof RejectedRecordsException ||
          (e as { name?: string }).name === 'RejectedRecordsException'
        ) {
          const retryAgain: number[] = [];
          for (const rr of (e as RejectedRecordsException).RejectedRecords ?? []) {
            const idx = pending[rr.RecordIndex ?? -1];
            if (idx === undefined) continue;
            const reason = rr.Reason ?? 'rejected without a reason';
            const cls = classifyRejection(reason, rr.ExistingVersion, this.recordOpts.version, this.magnetic);
            if (cls.superseded) continue;
            const text = `${cls.category}: ${reason}${rr.ExistingVersion !== undefined ? ` (existing version ${rr.ExistingVersion})` : ''}`;
            if (cls.retryable) {
              retryAgain.push(idx);
              lastReason = text;
            } else {
              failures.set(idx, { reason: text, retryable: false });
            }
          }
          pending = retryAgain;
        } else if (isRetryableAwsError(e)) {
          lastReason = `RETRY_EXHAUSTED: ${(e as Error).name}: ${(e as Error).message}`;
        } else if ((e as { name?: string }).name === 'ValidationException') {
          // The request as a whole is malformed (a record the builder did not catch): permanent for all.
          for (const i of pending) {
            failures.set(i, { reason: `VALIDATION: ${(e as Error).message}`, retryable: false });
          }
          return;
        } else {
          // Configuration faults (missing table, access denied) affect every message: let them surface.
          throw e;
        }
      }
    }
    for (const i of pending) failures.set(i, { reason: lastReason || 'RETRY_EXHAUSTED', retryable: true });
  }

  /** A structured query (timestream-query.ts builds the SQL; caller text never becomes SQL). */
  async query(q: TelemetryQuery): Promise<TelemetryPage> {
    if (!this.reader) throw new StoreNotConfiguredError('queries');
    return this.reader.query(q);
  }

  /** The newest value of every field (or of `fields`) of one device, by event time. */
  async latest(tenant: string, device: string, fields?: string[]): Promise<LatestValue[]> {
    if (!this.reader) throw new StoreNotConfiguredError('queries');
    return this.reader.latest(tenant, device, fields);
  }
}
