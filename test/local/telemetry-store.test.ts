import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Db, openDatabase } from '../../lambdas/adapters/local/sqlite.js';
import { SqliteTelemetryStore } from '../../lambdas/adapters/local/telemetry-store.js';
import type { FieldValue, Point } from '../../lambdas/core/model/point.js';
import type { TelemetryRow } from '../../lambdas/ports/telemetry-store.js';

const T0 = Date.UTC(2026, 0, 31, 12, 0, 0);

function point(
  device: string,
  time: number,
  fields: Record<string, FieldValue>,
  tags: Record<string, string> = {},
): Point {
  return { device, time, tags, fields };
}

/** Every raw row of a device, following cursors. */
async function allRows(store: SqliteTelemetryStore, q: Parameters<SqliteTelemetryStore['query']>[0]) {
  const rows: TelemetryRow[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await store.query({ ...q, ...(cursor ? { cursor } : {}) });
    rows.push(...page.points);
    cursor = page.next;
    pages++;
  } while (cursor && pages < 1000);
  return { rows, pages };
}

describe('SqliteTelemetryStore', () => {
  let db: Db;
  let store: SqliteTelemetryStore;
  beforeEach(() => {
    db = openDatabase(':memory:');
    store = new SqliteTelemetryStore(db);
  });
  afterEach(() => db.close());

  it('stores points and reads them back as rows grouped by time', async () => {
    const out = await store.write('t1', [
      point('d1', T0, { temp: 21.5, state: 'ON', ok: true }),
      point('d1', T0 + 1000, { temp: 22 }),
    ]);
    expect(out).toEqual({ written: 2, rejected: [] });
    const page = await store.query({ tenant: 't1', device: 'd1', from: T0, to: T0 + 2000, limit: 10 });
    expect(page.next).toBeUndefined();
    expect(page.points.map((r) => ({ time: r.time, fields: { ...r.fields } }))).toEqual([
      { time: T0, fields: { ok: true, state: 'ON', temp: 21.5 } },
      { time: T0 + 1000, fields: { temp: 22 } },
    ]);
  });

  it('is scoped by tenant and device, with an inclusive start and exclusive end', async () => {
    await store.write('t1', [
      point('d1', T0, { a: 1 }),
      point('d1', T0 + 10, { a: 2 }),
      point('d2', T0, { a: 3 }),
    ]);
    await store.write('t2', [point('d1', T0, { a: 4 })]);
    const page = await store.query({ tenant: 't1', device: 'd1', from: T0, to: T0 + 10, limit: 10 });
    expect(page.points.map((r) => r.fields.a)).toEqual([1]);
    expect(
      (await store.query({ tenant: 't3', device: 'd1', from: 0, to: T0 * 2, limit: 10 })).points,
    ).toEqual([]);
    expect(await store.latest('t2', 'd1')).toEqual([{ field: 'a', time: T0, value: 4 }]);
  });

  it('is idempotent: the same points written twice are stored once', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            dt: fc.integer({ min: 0, max: 50 }),
            field: fc.constantFrom('a', 'b', 'c', '__proto__'),
            value: fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string(), fc.boolean()),
          }),
          { maxLength: 40 },
        ),
        async (specs) => {
          const local = openDatabase(':memory:');
          const s = new SqliteTelemetryStore(local);
          // One value per (time, field): later specs for the same key are dropped, as a device would.
          const seen = new Map<string, FieldValue>();
          const points: Point[] = [];
          for (const sp of specs) {
            const key = `${sp.dt}/${sp.field}`;
            if (seen.has(key)) continue;
            seen.set(key, sp.value);
            const fields = Object.create(null) as Record<string, FieldValue>;
            fields[sp.field] = sp.value;
            points.push(point('d', T0 + sp.dt, fields));
          }
          const first = await s.write('t', points);
          const before = local.prepare('SELECT count(*) FROM telemetry').pluck().get();
          const second = await s.write('t', points);
          const after = local.prepare('SELECT count(*) FROM telemetry').pluck().get();
          expect(first).toEqual({ written: points.length, rejected: [] });
          expect(second).toEqual({ written: points.length, rejected: [] });
          expect(after).toBe(before);
          expect(after).toBe(seen.size);
          const { rows } = await allRows(s, { tenant: 't', device: 'd', from: T0, to: T0 + 51, limit: 7 });
          const stored = rows.flatMap((r) =>
            Object.entries(r.fields).map(([f, v]) => [`${r.time - T0}/${f}`, v]),
          );
          expect(new Map(stored as [string, FieldValue][])).toEqual(
            new Map([...seen].map(([k, v]) => [k, Object.is(v, -0) ? 0 : v])),
          );
          local.close();
        },
      ),
      { numRuns: 60 },
    );
  });

  it('refuses a different value for an existing record and keeps none of that point', async () => {
    await store.write('t', [point('d', T0, { a: 1 })]);
    const out = await store.write('t', [point('d', T0, { b: 5, a: 2 }), point('d', T0 + 1, { a: 3 })]);
    expect(out.written).toBe(1);
    expect(out.rejected).toEqual([{ index: 0, reason: expect.stringContaining('"a"'), retryable: false }]);
    const page = await store.query({ tenant: 't', device: 'd', from: T0, to: T0 + 2, limit: 10 });
    expect(page.points.map((r) => ({ ...r.fields }))).toEqual([{ a: 1 }, { a: 3 }]);
  });

  it('rejects malformed points without failing the batch', async () => {
    const out = await store.write('t', [
      point('d', T0, {}),
      point('d', 1.5, { a: 1 }),
      point('d', T0, { a: Number.NaN }),
      point('d', T0 + 1, { a: 1 }),
    ]);
    expect(out.written).toBe(1);
    expect(out.rejected.map((r) => r.index)).toEqual([0, 1, 2]);
    expect(out.rejected.every((r) => !r.retryable)).toBe(true);
  });

  it('filters fields and pages without gaps or repeats', async () => {
    const points = Array.from({ length: 25 }, (_, i) => point('d', T0 + i * 1000, { a: i, b: -i, c: 'x' }));
    await store.write('t', points);
    const { rows, pages } = await allRows(store, {
      tenant: 't',
      device: 'd',
      from: T0,
      to: T0 + 25_000,
      fields: ['a', 'b'],
      limit: 10,
    });
    expect(pages).toBe(3);
    expect(rows.map((r) => r.time)).toEqual(points.map((p) => p.time));
    expect(rows.every((r) => Object.keys(r.fields).sort().join() === 'a,b')).toBe(true);
    expect(
      (await store.query({ tenant: 't', device: 'd', from: T0, to: T0 + 1, fields: [], limit: 5 })).points,
    ).toEqual([]);
  });

  it('aggregates per epoch-aligned bucket exactly like a reference computation', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({ dt: fc.integer({ min: 0, max: 9_999 }), v: fc.integer({ min: -1000, max: 1000 }) }),
          {
            minLength: 1,
            maxLength: 60,
          },
        ),
        fc.constantFrom(1000, 2500, 60_000),
        fc.constantFrom('avg', 'min', 'max', 'sum', 'count', 'last') as fc.Arbitrary<
          'avg' | 'min' | 'max' | 'sum' | 'count' | 'last'
        >,
        async (specs, interval, agg) => {
          const local = openDatabase(':memory:');
          const s = new SqliteTelemetryStore(local);
          const byTime = new Map<number, number>();
          for (const sp of specs) if (!byTime.has(T0 + sp.dt)) byTime.set(T0 + sp.dt, sp.v);
          await s.write(
            't',
            [...byTime].map(([time, v]) => point('d', time, { v, label: 'x' })),
          );
          const expected = new Map<number, number[]>();
          for (const [time, v] of [...byTime].sort((a, b) => a[0] - b[0])) {
            const b = time - (time % interval);
            expected.set(b, [...(expected.get(b) ?? []), v]);
          }
          const { rows } = await allRows(s, {
            tenant: 't',
            device: 'd',
            from: T0,
            to: T0 + 10_000,
            fields: ['v'],
            intervalMs: interval,
            agg,
            limit: 3,
          });
          const ref = [...expected].map(([b, vs]) => {
            const value =
              agg === 'avg'
                ? vs.reduce((x, y) => x + y, 0) / vs.length
                : agg === 'min'
                  ? Math.min(...vs)
                  : agg === 'max'
                    ? Math.max(...vs)
                    : agg === 'sum'
                      ? vs.reduce((x, y) => x + y, 0)
                      : agg === 'count'
                        ? vs.length
                        : (vs[vs.length - 1] as number);
            return { time: b, v: value };
          });
          expect(rows.map((r) => r.time)).toEqual(ref.map((r) => r.time));
          rows.forEach((r, i) => {
            expect(r.fields.v as number).toBeCloseTo(ref[i]?.v as number, 9);
          });
          local.close();
        },
      ),
      { numRuns: 60 },
    );
  });

  it('averages numbers only and keeps "last" for strings and booleans', async () => {
    await store.write('t', [
      point('d', T0, { n: 1, s: 'a', b: false }),
      point('d', T0 + 1, { n: 3, s: 'b', b: true }),
    ]);
    const avg = await store.query({
      tenant: 't',
      device: 'd',
      from: T0,
      to: T0 + 10,
      intervalMs: 10,
      agg: 'avg',
      limit: 5,
    });
    expect(avg.points.map((r) => ({ ...r.fields }))).toEqual([{ n: 2 }]);
    const last = await store.query({
      tenant: 't',
      device: 'd',
      from: T0,
      to: T0 + 10,
      intervalMs: 10,
      agg: 'last',
      limit: 5,
    });
    expect(last.points.map((r) => ({ ...r.fields }))).toEqual([{ b: true, n: 3, s: 'b' }]);
    const count = await store.query({
      tenant: 't',
      device: 'd',
      from: T0,
      to: T0 + 10,
      intervalMs: 10,
      agg: 'count',
      limit: 5,
    });
    expect(count.points.map((r) => ({ ...r.fields }))).toEqual([{ b: 2, n: 2, s: 2 }]);
  });

  it('reports the newest value by event time, not by arrival', async () => {
    await store.write('t', [point('d', T0 + 5000, { temp: 30, hum: 40 })]);
    await store.write('t', [point('d', T0, { temp: 10, pressure: 1013 })]); // late arrival of an older point
    expect(await store.latest('t', 'd')).toEqual([
      { field: 'hum', time: T0 + 5000, value: 40 },
      { field: 'pressure', time: T0, value: 1013 },
      { field: 'temp', time: T0 + 5000, value: 30 },
    ]);
    expect(await store.latest('t', 'd', ['temp', 'nope'])).toEqual([
      { field: 'temp', time: T0 + 5000, value: 30 },
    ]);
    expect(await store.latest('t', 'd', [])).toEqual([]);
  });

  it('refuses tampered cursors and cursors of another query', async () => {
    await store.write(
      't',
      Array.from({ length: 5 }, (_, i) => point('d', T0 + i, { a: i })),
    );
    const q = { tenant: 't', device: 'd', from: T0, to: T0 + 5, limit: 2 };
    const page = await store.query(q);
    expect(page.next).toBeDefined();
    await expect(store.query({ ...q, cursor: 'not a cursor!' })).rejects.toMatchObject({
      code: 'INVALID_CURSOR',
    });
    await expect(
      store.query({ ...q, cursor: Buffer.from('{"k":1}').toString('base64url') }),
    ).rejects.toMatchObject({
      code: 'INVALID_CURSOR',
    });
    await expect(store.query({ ...q, from: T0 + 1, cursor: page.next })).rejects.toMatchObject({
      code: 'INVALID_CURSOR',
    });
  });

  it('keeps values across reopening the database file', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'fw-tel-'));
    try {
      const file = join(dir, 'x.db');
      const a = openDatabase(file);
      await new SqliteTelemetryStore(a).write('t', [point('d', T0, { a: 1 })]);
      a.close();
      const b = openDatabase(file);
      expect(b.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(await new SqliteTelemetryStore(b).latest('t', 'd')).toEqual([
        { field: 'a', time: T0, value: 1 },
      ]);
      b.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
