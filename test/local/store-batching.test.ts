/**
 * The local stack's throughput pieces on a real SQLite file: group-committed telemetry writes (per-write
 * outcomes, duplicates, conflicts and failures isolated), the registry's lookup cache and its
 * invalidation, and the command store's expired-command listing (with the migration that added it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteCommandStore } from '../../lambdas/adapters/local/command-store.js';
import { SqliteDeviceRegistry } from '../../lambdas/adapters/local/device-registry.js';
import { type Db, openDatabase } from '../../lambdas/adapters/local/sqlite.js';
import { BatchingTelemetryStore, type BatchWriter } from '../../lambdas/adapters/local/telemetry-batcher.js';
import { SqliteTelemetryStore, type WriteRequest } from '../../lambdas/adapters/local/telemetry-store.js';
import type { FieldValue, Point } from '../../lambdas/core/model/point.js';
import type { CommandRecord, CommandStatus } from '../../lambdas/ports/commands.js';
import type { DeviceRecord } from '../../lambdas/ports/device-registry.js';

const T0 = Date.UTC(2026, 0, 31, 12, 0, 0);
const pt = (device: string, time: number, fields: Record<string, FieldValue>): Point => ({
  device,
  time,
  tags: {},
  fields,
});

// A file database (WAL, as the stack runs it), not :memory:. No helpers.ts: it loads the whole stack.
const tmp = {
  dir: mkdtempSync(join(tmpdir(), 'fw-batch-')),
  cleanup: () => rmSync(tmp.dir, { recursive: true, force: true }),
};
let db: Db;
let n = 0;
beforeEach(() => {
  db = openDatabase(join(tmp.dir, `db-${n++}.sqlite`));
});
afterEach(() => db.close());
afterAll(() => tmp.cleanup());

async function rows(store: SqliteTelemetryStore, tenant: string, device: string) {
  const page = await store.query({ tenant, device, from: 0, to: T0 * 2, limit: 1000 });
  return page.points.map((p) => ({ time: p.time, fields: { ...p.fields } }));
}

describe('BatchingTelemetryStore', () => {
  it('commits the writes of one event-loop turn together, each with its own outcome', async () => {
    const store = new SqliteTelemetryStore(db);
    await store.write('t1', [pt('d1', T0, { a: 1 })]);
    const batcher = new BatchingTelemetryStore(store);
    const outcomes = await Promise.all([
      batcher.write('t1', [pt('d1', T0 + 1, { a: 2 }), pt('d1', T0 + 2, { a: 3, b: 'x' })]),
      // index 1 conflicts with the stored value: only it is refused, by its index in this write
      batcher.write('t1', [pt('d2', T0, { a: 4 }), pt('d1', T0, { a: 99 })]),
      batcher.write('t2', [pt('d1', T0, { a: 5 })]),
      // a point that cannot be stored at all is refused alone too
      batcher.write('t1', [pt('d3', T0, {}), pt('d3', T0 + 1, { c: true })]),
    ]);
    expect(outcomes).toEqual([
      { written: 2, rejected: [] },
      {
        written: 1,
        rejected: [
          {
            index: 1,
            reason: expect.stringContaining('"a" already has a different value'),
            retryable: false,
          },
        ],
      },
      { written: 1, rejected: [] },
      { written: 1, rejected: [{ index: 0, reason: 'point has no fields', retryable: false }] },
    ]);
    expect(batcher.counters).toMatchObject({ batches: 1, writes: 4, largestBatch: 4, splitBatches: 0 });
    expect(await rows(store, 't1', 'd1')).toEqual([
      { time: T0, fields: { a: 1 } },
      { time: T0 + 1, fields: { a: 2 } },
      { time: T0 + 2, fields: { a: 3, b: 'x' } },
    ]);
    expect(await rows(store, 't2', 'd1')).toEqual([{ time: T0, fields: { a: 5 } }]);
    expect(await rows(store, 't1', 'd3')).toEqual([{ time: T0 + 1, fields: { c: true } }]);
  });

  it('stores a duplicate within one batch once and reports both writes stored (QoS 1 redelivery)', async () => {
    const store = new SqliteTelemetryStore(db);
    const batcher = new BatchingTelemetryStore(store);
    const msg = [pt('d1', T0, { a: 1, s: 'on' })];
    const [x, y] = await Promise.all([batcher.write('t1', msg), batcher.write('t1', msg)]);
    expect(x).toEqual({ written: 1, rejected: [] });
    expect(y).toEqual({ written: 1, rejected: [] });
    expect(await rows(store, 't1', 'd1')).toEqual([{ time: T0, fields: { a: 1, s: 'on' } }]);
    expect(batcher.counters.batches).toBe(1);
  });

  it('keeps the newest value per field as latest whatever the order within and across batches', async () => {
    const store = new SqliteTelemetryStore(db);
    const batcher = new BatchingTelemetryStore(store);
    await Promise.all([
      batcher.write('t1', [pt('d1', T0 + 5, { a: 5 })]),
      batcher.write('t1', [pt('d1', T0 + 9, { a: 9, b: 'late' }), pt('d1', T0 + 1, { a: 1, c: 1 })]),
    ]);
    await batcher.write('t1', [pt('d1', T0 + 7, { a: 7, b: 'older' })]);
    // a conflicting point (rolled back) must not leak into latest
    await batcher.write('t1', [pt('d1', T0 + 9, { z: 1, a: 123 })]);
    expect(await store.latest('t1', 'd1')).toEqual([
      { field: 'a', time: T0 + 9, value: 9 },
      { field: 'b', time: T0 + 9, value: 'late' },
      { field: 'c', time: T0 + 1, value: 1 },
    ]);
  });

  it('flushes at once when maxPoints are queued, and on the next turn otherwise', async () => {
    const batcher = new BatchingTelemetryStore(new SqliteTelemetryStore(db), { maxPoints: 3 });
    const first = batcher.write('t1', [pt('d1', T0, { a: 1 }), pt('d1', T0 + 1, { a: 1 })]);
    expect(batcher.counters.batches).toBe(0);
    const second = batcher.write('t1', [pt('d1', T0 + 2, { a: 1 })]);
    expect(batcher.counters).toMatchObject({ batches: 1, writes: 2 }); // synchronously, at the 3rd point
    await Promise.all([first, second]);
    const third = batcher.write('t1', [pt('d1', T0 + 3, { a: 1 })]);
    expect(batcher.counters.batches).toBe(1);
    await third;
    expect(batcher.counters.batches).toBe(2);
  });

  it('isolates a write the database refuses: the rest of its batch is stored', async () => {
    const store = new SqliteTelemetryStore(db);
    // The database fails whenever the tenant "boom" is in the transaction (as a full disk or a
    // too-large value would fail it): the batch rolls back entirely and is retried write by write.
    const failing: BatchWriter = {
      query: (q) => store.query(q),
      latest: (t, d, f) => store.latest(t, d, f),
      write: (t, p) => store.write(t, p),
      writeMany: (reqs: readonly WriteRequest[]) => {
        if (reqs.some((r) => r.tenant === 'boom')) throw new Error('SQLITE_IOERR: disk I/O error');
        return store.writeMany(reqs);
      },
    };
    const batcher = new BatchingTelemetryStore(failing);
    const results = await Promise.allSettled([
      batcher.write('t1', [pt('d1', T0, { a: 1 })]),
      batcher.write('boom', [pt('d1', T0, { a: 2 })]),
      batcher.write('t1', [pt('d1', T0 + 1, { a: 3 })]),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(Error);
    expect(batcher.counters).toMatchObject({ splitBatches: 1, failedWrites: 1 });
    expect(await rows(store, 't1', 'd1')).toEqual([
      { time: T0, fields: { a: 1 } },
      { time: T0 + 1, fields: { a: 3 } },
    ]);
    expect(await rows(store, 'boom', 'd1')).toEqual([]);
  });

  it('rolls the whole batch back when the transaction fails (nothing half-written)', async () => {
    const store = new SqliteTelemetryStore(db);
    db.exec(`CREATE TRIGGER no_x BEFORE INSERT ON telemetry WHEN NEW.field = 'x'
               BEGIN SELECT RAISE(ABORT, 'refused'); END`);
    expect(() =>
      store.writeMany([
        { tenant: 't1', points: [pt('d1', T0, { a: 1 })] },
        { tenant: 't1', points: [pt('d1', T0 + 1, { x: 1 })] },
      ]),
    ).toThrow(/refused/);
    expect(await rows(store, 't1', 'd1')).toEqual([]);
    expect(await store.latest('t1', 'd1')).toEqual([]);
    const batcher = new BatchingTelemetryStore(store);
    const results = await Promise.allSettled([
      batcher.write('t1', [pt('d1', T0, { a: 1 })]),
      batcher.write('t1', [pt('d1', T0 + 1, { x: 1 })]),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
    expect(await rows(store, 't1', 'd1')).toEqual([{ time: T0, fields: { a: 1 } }]);
  });
});

describe('SqliteDeviceRegistry lookup cache', () => {
  const rec = (extra: Partial<DeviceRecord> = {}): DeviceRecord => ({
    tenant: 't1',
    deviceId: 'd1',
    tags: {},
    tokenHash: 'sha256:00',
    status: 'active',
    createdAt: 1,
    ...extra,
  });

  it('sees every change made through the registry at once', async () => {
    const reg = new SqliteDeviceRegistry(db);
    expect(await reg.getByThing('d1')).toBeUndefined(); // a cached miss …
    await reg.create(rec());
    expect((await reg.getByThing('d1'))?.status).toBe('active'); // … is dropped by create
    await reg.put(rec({ status: 'disabled' }));
    expect((await reg.getByThing('d1'))?.status).toBe('disabled');
    expect((await reg.get('t1', 'd1'))?.status).toBe('disabled');
    expect(await reg.get('t2', 'd1')).toBeUndefined(); // another tenant's device does not exist
    await reg.touch('d1', 1234);
    expect((await reg.getByThing('d1'))?.lastSeen).toBe(1234);
    reg.setConnected('d1', true);
    expect((await reg.getByThing('d1'))?.connected).toBe(true);
    expect(await reg.delete('t1', 'd1')).toBe(true);
    expect(await reg.getByThing('d1')).toBeUndefined();
  });

  it('returns a fresh object each time (a caller mutating it cannot change the cache)', async () => {
    const reg = new SqliteDeviceRegistry(db);
    await reg.create(rec({ tags: { a: 'b' } }));
    const first = (await reg.getByThing('d1')) as DeviceRecord;
    first.status = 'deleted';
    first.tags.a = 'changed';
    const again = (await reg.getByThing('d1')) as DeviceRecord;
    expect(again.status).toBe('active');
    expect(again.tags.a).toBe('b');
  });
});

describe('SqliteCommandStore.listExpired', () => {
  const cmd = (tenant: string, id: string, expiresAt: number, status: CommandStatus): CommandRecord => ({
    tenant,
    deviceId: 'd1',
    commandId: id,
    action: 'SET_MODE',
    payload: {},
    status,
    createdAt: 1,
    updatedAt: 1,
    expiresAt,
    history: [{ status, at: 1 }],
  });

  it('lists open commands of every tenant past their deadline, oldest deadline first, up to a limit', async () => {
    const store = new SqliteCommandStore(db);
    await store.create(cmd('t1', 'c-late', 300, 'SENT'));
    await store.create(cmd('t2', 'c-early', 100, 'QUEUED'));
    await store.create(cmd('t1', 'c-acked', 200, 'ACKNOWLEDGED'));
    await store.create(cmd('t1', 'c-done', 50, 'SUCCEEDED'));
    await store.create(cmd('t1', 'c-future', 10_000, 'QUEUED'));
    await store.create(cmd('t1', 'c-finished-later', 60, 'QUEUED'));
    await store.transition('t1', 'c-finished-later', ['QUEUED'], 'FAILED', 70);
    const ids = async (before: number, limit: number) =>
      (await store.listExpired(before, limit)).map((c) => `${c.tenant}/${c.commandId}`);
    expect(await ids(1000, 10)).toEqual(['t2/c-early', 't1/c-acked', 't1/c-late']);
    expect(await ids(1000, 2)).toEqual(['t2/c-early', 't1/c-acked']);
    expect(await ids(200, 10)).toEqual(['t2/c-early']); // strictly before
    expect(await ids(1000, 0)).toEqual([]);
    await store.transition('t2', 'c-early', ['QUEUED'], 'TIMED_OUT', 1000);
    expect(await ids(1000, 10)).toEqual(['t1/c-acked', 't1/c-late']);
    // the query runs on the partial index, not a scan of all commands
    const plan = db
      .prepare(
        `EXPLAIN QUERY PLAN SELECT record FROM commands INDEXED BY commands_open_by_expiry
           WHERE status IN ('QUEUED', 'SENT', 'ACKNOWLEDGED') AND expires_at < 1 ORDER BY expires_at LIMIT 1`,
      )
      .all() as { detail: string }[];
    expect(plan.map((p) => p.detail).join(' ')).toMatch(/USING INDEX commands_open_by_expiry/);
  });

  it('finds commands written before the deadline column existed (schema version 1)', async () => {
    const file = join(tmp.dir, 'v1.sqlite');
    const old = openDatabase(file);
    // Make this file what version 1 wrote: no deadline column, a command stored in the record only.
    old.exec('DROP INDEX commands_open_by_expiry; ALTER TABLE commands DROP COLUMN expires_at');
    old.pragma('user_version = 1');
    const c = cmd('t1', 'c-old', 500, 'SENT');
    old
      .prepare(
        'INSERT INTO commands (tenant, command_id, device_id, status, created_at, record) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(c.tenant, c.commandId, c.deviceId, c.status, c.createdAt, JSON.stringify(c));
    old.close();
    const reopened = openDatabase(file);
    try {
      expect(reopened.pragma('user_version', { simple: true })).toBe(2);
      const found = await new SqliteCommandStore(reopened).listExpired(1000, 10);
      expect(found.map((x) => x.commandId)).toEqual(['c-old']);
    } finally {
      reopened.close();
    }
  });
});
