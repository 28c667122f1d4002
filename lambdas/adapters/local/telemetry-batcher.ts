/**
 * Group commit for the local telemetry store. Every `write` (one per ingested message) used to be its own
 * SQLite transaction, and at a few thousand messages a second the commits — not the inserts — were the
 * local stack's bottleneck. {@link BatchingTelemetryStore} keeps the {@link TelemetryStore} contract (one
 * promise and one {@link WriteOutcome} per write) but stores every write issued during the same turn of
 * the event loop in one transaction:
 *
 * - a write is queued, and the queue is flushed on `setImmediate` — after the I/O callbacks of this turn
 *   (all the messages the broker read from its sockets) have queued theirs — or as soon as it holds
 *   `maxPoints` points. Nothing waits for a timer, so an idle stack adds no latency, and under load the
 *   batches grow by themselves (the more messages arrive per turn, the fewer commits per message);
 * - accounting stays per write: each gets its own outcome (points stored, or rejected with a reason, by
 *   index into its own points); duplicates stay idempotent (the same point twice in one batch is stored
 *   once);
 * - error isolation: when the batch transaction fails (nothing of it is stored), every write is retried
 *   alone in its own transaction, so one write the database refuses fails only its own promise — and the
 *   ingest service's caller (the rule router) retries or dead-letters that one message.
 *
 * Reads go straight to the store: a write is visible once its promise resolves, as before.
 */
import type { Point } from '../../core/model/point.js';
import type {
  LatestValue,
  TelemetryPage,
  TelemetryQuery,
  TelemetryStore,
  WriteOutcome,
} from '../../ports/telemetry-store.js';
import type { WriteRequest } from './telemetry-store.js';

/** The store underneath: anything that can write a batch of requests in one transaction. */
export interface BatchWriter extends TelemetryStore {
  /** One outcome per request, in order; throws when the whole transaction failed. */
  writeMany(requests: readonly WriteRequest[]): WriteOutcome[];
}

/** Options of {@link BatchingTelemetryStore}. */
export interface TelemetryBatchOptions {
  /** Flush as soon as this many points are queued. @default 5000 */
  maxPoints?: number;
}

/** Counters of the batcher (served on /healthz by the local stack). */
export interface TelemetryBatchCounters {
  /** Transactions committed. */
  batches: number;
  /** Writes (messages) stored through them. */
  writes: number;
  /** Most writes in one transaction. */
  largestBatch: number;
  /** Batches whose transaction failed and whose writes were retried one by one. */
  splitBatches: number;
  /** Writes that failed on their own (their promise rejected). */
  failedWrites: number;
}

interface Pending extends WriteRequest {
  resolve: (o: WriteOutcome) => void;
  reject: (e: unknown) => void;
}

/** A {@link TelemetryStore} that commits concurrent writes together. */
export class BatchingTelemetryStore implements TelemetryStore {
  private queue: Pending[] = [];
  private queuedPoints = 0;
  private scheduled: NodeJS.Immediate | undefined;
  private readonly maxPoints: number;
  private readonly countersValue: TelemetryBatchCounters = {
    batches: 0,
    writes: 0,
    largestBatch: 0,
    splitBatches: 0,
    failedWrites: 0,
  };

  constructor(
    private readonly store: BatchWriter,
    opts: TelemetryBatchOptions = {},
  ) {
    this.maxPoints = opts.maxPoints ?? 5000;
    if (!Number.isSafeInteger(this.maxPoints) || this.maxPoints < 1)
      throw new RangeError('maxPoints must be a positive integer');
  }

  /** Counters (a live view). */
  get counters(): Readonly<TelemetryBatchCounters> {
    return this.countersValue;
  }

  /** Queue a write; resolves with its own outcome once the batch holding it is committed. */
  write(tenant: string, points: readonly Point[]): Promise<WriteOutcome> {
    return new Promise<WriteOutcome>((resolve, reject) => {
      this.queue.push({ tenant, points, resolve, reject });
      this.queuedPoints += points.length;
      if (this.queuedPoints >= this.maxPoints) this.flush();
      else this.scheduled ??= setImmediate(() => this.flush());
    });
  }

  query(q: TelemetryQuery): Promise<TelemetryPage> {
    return this.store.query(q);
  }

  latest(tenant: string, device: string, fields?: string[]): Promise<LatestValue[]> {
    return this.store.latest(tenant, device, fields);
  }

  /** Commit everything queued now (also what shutdown calls before closing the database). */
  flush(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    this.queuedPoints = 0;
    const c = this.countersValue;
    let outcomes: WriteOutcome[] | undefined;
    try {
      outcomes = this.store.writeMany(batch);
    } catch (e) {
      if (batch.length === 1) {
        c.failedWrites++;
        (batch[0] as Pending).reject(e);
        return;
      }
    }
    if (outcomes) {
      c.batches++;
      c.writes += batch.length;
      c.largestBatch = Math.max(c.largestBatch, batch.length);
      for (let i = 0; i < batch.length; i++) (batch[i] as Pending).resolve(outcomes[i] as WriteOutcome);
      return;
    }
    // The batch failed as a whole: isolate the write(s) at fault by retrying each alone.
    c.splitBatches++;
    for (const p of batch) {
      try {
        const [outcome] = this.store.writeMany([p]);
        c.batches++;
        c.writes++;
        p.resolve(outcome as WriteOutcome);
      } catch (e) {
        c.failedWrites++;
        p.reject(e);
      }
    }
  }
}
