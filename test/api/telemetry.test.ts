/** Telemetry routes: raw and aggregated queries, pagination, parameter validation, latest values. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../support/api-harness.js';

let h: Harness;
let op: string;
let dev: string;
const T0 = Date.parse('2026-03-01T11:00:00Z');

beforeEach(async () => {
  h = await createHarness();
  op = h.keys.acmeOperator;
  dev = (await h.call(op, 'POST', '/v1/devices', { body: { deviceId: 'ems_001' } })).body.deviceId;
  const points = [];
  for (let i = 0; i < 120; i++) {
    points.push({
      device: dev,
      time: T0 + i * 30_000,
      tags: {},
      fields: {
        'battery.voltage': 50 + (i % 4),
        'system_status.state': i < 60 ? 'CHARGING' : 'IDLE',
        'grid.on': i % 2 === 0,
      },
    });
  }
  await h.deps.telemetry.write('acme', points);
  await h.deps.telemetry.write('globex', [{ device: dev, time: T0, tags: {}, fields: { leak: 1 } }]);
});
afterEach(() => h.close());

describe('GET /v1/devices/{id}/telemetry', () => {
  it('returns raw points in the range with ISO times, paginated', async () => {
    const q = {
      from: '2026-03-01T11:00:00Z',
      to: String(T0 + 10 * 30_000),
      fields: 'battery.voltage',
      limit: '4',
    };
    const first = await h.call(h.keys.acmeViewer, 'GET', `/v1/devices/${dev}/telemetry`, { query: q });
    expect(first.status).toBe(200);
    expect(first.body.points[0]).toEqual({
      time: '2026-03-01T11:00:00.000Z',
      fields: { 'battery.voltage': 50 },
    });
    const all = [...first.body.points];
    let next = first.body.next;
    while (next) {
      const page = await h.call(op, 'GET', `/v1/devices/${dev}/telemetry`, { query: { ...q, cursor: next } });
      all.push(...page.body.points);
      next = page.body.next;
    }
    expect(all.length).toBe(10);
    expect(new Set(all.map((p) => p.time)).size).toBe(10);
    // The cursor is bound to its query.
    const other = await h.call(op, 'GET', `/v1/devices/${dev}/telemetry`, {
      query: { ...q, fields: 'grid.on', cursor: first.body.next },
    });
    expect(other.body.error.code).toBe('INVALID_CURSOR');
  });

  it('aggregates per interval', async () => {
    const res = await h.call(op, 'GET', `/v1/devices/${dev}/telemetry`, {
      query: {
        from: String(T0),
        to: String(T0 + 3_600_000),
        fields: 'battery.voltage',
        interval: '2m',
        agg: 'max',
      },
    });
    expect(res.status).toBe(200);
    expect(res.body.points.length).toBe(30);
    expect(
      res.body.points.every((p: { fields: Record<string, number> }) => p.fields['battery.voltage'] === 53),
    ).toBe(true);
    const count = await h.call(op, 'GET', `/v1/devices/${dev}/telemetry`, {
      query: { from: String(T0), to: String(T0 + 3_600_000), interval: '1h', agg: 'count' },
    });
    expect(count.body.points[0].fields).toEqual({
      'battery.voltage': 120,
      'system_status.state': 120,
      'grid.on': 120,
    });
    const def = await h.call(op, 'GET', `/v1/devices/${dev}/telemetry`, {
      query: { from: String(T0), to: String(T0 + 120_000), fields: 'battery.voltage', interval: '2m' },
    });
    expect(def.body.points[0].fields['battery.voltage']).toBe(51.5);
  });

  it('refuses invalid parameters with VALIDATION_FAILED', async () => {
    const bad: Record<string, string>[] = [
      { from: 'yesterday' },
      { from: String(T0 + 10), to: String(T0) },
      { from: '0', to: String(T0) },
      { interval: '5 minutes' },
      { interval: '10ms' },
      { agg: 'median', interval: '1m' },
      { agg: 'avg' },
      { fields: 'a,__proto__' },
      { fields: Array.from({ length: 101 }, (_, i) => `f${i}`).join(',') },
      { limit: '1001' },
      { sql: 'SELECT 1' },
    ];
    for (const query of bad) {
      const res = await h.call(op, 'GET', `/v1/devices/${dev}/telemetry`, { query });
      expect(res.status, JSON.stringify(query)).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
    }
  });

  it('defaults to the last hour', async () => {
    const res = await h.call(op, 'GET', `/v1/devices/${dev}/telemetry`, {
      query: { fields: 'grid.on', limit: '1000' },
    });
    expect(res.body.points.length).toBe(120);
  });
});

describe('GET /v1/devices/{id}/latest', () => {
  it('returns the newest value of every field by event time, of this tenant only', async () => {
    // A late-arriving older point must not replace the newest one.
    await h.deps.telemetry.write('acme', [
      { device: dev, time: T0 - 5000, tags: {}, fields: { 'battery.voltage': 1 } },
    ]);
    const res = await h.call(op, 'GET', `/v1/devices/${dev}/latest`);
    expect(res.status).toBe(200);
    expect(res.body.fields['battery.voltage']).toEqual({
      time: new Date(T0 + 119 * 30_000).toISOString(),
      value: 53,
    });
    expect(res.body.fields['system_status.state'].value).toBe('IDLE');
    expect(res.body.fields.leak).toBeUndefined();
    const one = await h.call(op, 'GET', `/v1/devices/${dev}/latest`, { query: { fields: 'grid.on' } });
    expect(Object.keys(one.body.fields)).toEqual(['grid.on']);
  });
});
