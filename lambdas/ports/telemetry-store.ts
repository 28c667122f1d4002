/**
 * Telemetry store port: where decoded points are written and queried. Implemented by the Timestream
 * adapter (AWS) and the embedded-database adapter (local stack). Queries are structured — callers never
 * pass query text — and each adapter builds its own query safely.
 */
import type { FieldValue, Point } from '../core/model/point.js';

/** One record the store refused, by index into the written points. */
export interface RejectedPoint {
  /** Index into the `points` array given to {@link TelemetryStore.write}. */
  index: number;
  /** Why it was refused (the store's reason text; never contains secrets). */
  reason: string;
  /** True when retrying later may succeed (throttling, transient); false for permanent rejections. */
  retryable: boolean;
}

/** Result of a write: how many points were stored and which were rejected. */
export interface WriteOutcome {
  /** Points stored (or already present: writes are idempotent on device + time + field). */
  written: number;
  /** Points the store rejected after its own retries. */
  rejected: RejectedPoint[];
}

/** Aggregations available to telemetry queries. */
export const AGGREGATIONS = ['avg', 'min', 'max', 'sum', 'count', 'last'] as const;
/** An aggregation function. */
export type Aggregation = (typeof AGGREGATIONS)[number];

/** A structured telemetry query for one device of one tenant. */
export interface TelemetryQuery {
  tenant: string;
  device: string;
  /** Inclusive start, epoch ms. */
  from: number;
  /** Exclusive end, epoch ms. */
  to: number;
  /** Field names to return; all fields when omitted. */
  fields?: string[];
  /** Bucket width in ms for aggregation; raw points when omitted. */
  intervalMs?: number;
  /** Aggregation applied per bucket (requires `intervalMs`). @default 'avg' when intervalMs is set */
  agg?: Aggregation;
  /** Maximum rows per page. */
  limit: number;
  /** Opaque cursor from a previous page. */
  cursor?: string;
}

/** One row of a telemetry query: a time and the fields present at it. */
export interface TelemetryRow {
  time: number;
  fields: Record<string, FieldValue>;
}

/** A page of query results. */
export interface TelemetryPage {
  points: TelemetryRow[];
  /** Cursor for the next page, absent on the last page. */
  next?: string;
}

/** The newest value of one field, by event time. */
export interface LatestValue {
  field: string;
  time: number;
  value: FieldValue;
}

/** The telemetry store port. */
export interface TelemetryStore {
  /** Store points of one tenant. Idempotent: the same device, time and field give the same record. */
  write(tenant: string, points: readonly Point[]): Promise<WriteOutcome>;
  /** Run a structured query. */
  query(q: TelemetryQuery): Promise<TelemetryPage>;
  /** Newest value of every field (or of `fields`) of one device, by event time. */
  latest(tenant: string, device: string, fields?: string[]): Promise<LatestValue[]>;
}
