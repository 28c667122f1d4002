/**
 * Read-back check after a run (`fleetwire simulate --verify`, the load test): every point the broker
 * acknowledged must be queryable through the API. For formats with event times the check is exact (each
 * acknowledged point time is present); for receiver-stamped formats (ExoSense) it compares counts in the
 * run's time window.
 */
import type { FleetwireApi } from './api-client.js';

/** What one device sent and the broker acknowledged. */
export interface SentRecord {
  /** Acknowledged point times (timestamped formats). */
  times: number[];
  /** Acknowledged points. */
  points: number;
}

/** Outcome of the read-back. */
export interface VerifyResult {
  /** Points the broker acknowledged. */
  expected: number;
  /** Of those, found through the API. */
  found: number;
  /** Devices with missing points, with how many are missing. */
  missing: { deviceId: string; missing: number }[];
  /** Milliseconds the read-back waited for the last points to become queryable. */
  waitedMs: number;
}

/** Collects acknowledged points per device during a run. */
export class SentLog {
  readonly byDevice = new Map<string, SentRecord>();

  /** Record an acknowledged message. */
  add(deviceId: string, times: readonly number[], points: number): void {
    let r = this.byDevice.get(deviceId);
    if (!r) {
      r = { times: [], points: 0 };
      this.byDevice.set(deviceId, r);
    }
    for (const t of times) r.times.push(t);
    r.points += points;
  }
}

/**
 * Compare what was acknowledged with what the API returns, retrying until everything is there or
 * `timeoutMs` passes (ingest is asynchronous: a PUBACK means accepted, not yet stored).
 */
export async function verifyStored(
  api: FleetwireApi,
  log: SentLog,
  window: { from: number; to: number },
  timeoutMs = 15_000,
): Promise<VerifyResult> {
  const start = Date.now();
  let pending = [...log.byDevice.keys()];
  const missingBy = new Map<string, number>();
  let expected = 0;
  for (const r of log.byDevice.values()) expected += r.times.length > 0 ? new Set(r.times).size : r.points;
  for (;;) {
    const still: string[] = [];
    for (const id of pending) {
      const r = log.byDevice.get(id) as SentRecord;
      const missing = await missingPoints(api, id, r, window);
      missingBy.set(id, missing);
      if (missing > 0) still.push(id);
    }
    pending = still;
    if (pending.length === 0 || Date.now() - start > timeoutMs) break;
    await new Promise((res) => setTimeout(res, 250));
  }
  const missing = [...missingBy].filter(([, m]) => m > 0).map(([deviceId, m]) => ({ deviceId, missing: m }));
  const lost = missing.reduce((a, m) => a + m.missing, 0);
  return { expected, found: expected - lost, missing, waitedMs: Date.now() - start };
}

async function missingPoints(
  api: FleetwireApi,
  id: string,
  r: SentRecord,
  window: { from: number; to: number },
): Promise<number> {
  if (r.times.length > 0) {
    const want = new Set(r.times);
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (const t of want) {
      if (t < lo) lo = t;
      if (t > hi) hi = t;
    }
    const got = await api.telemetry(id, lo, hi + 1);
    for (const p of got) want.delete(Date.parse(p.time));
    return want.size;
  }
  const got = await api.telemetry(id, window.from, window.to);
  return Math.max(0, r.points - got.length);
}
