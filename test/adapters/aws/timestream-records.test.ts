import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeColumnName,
  decodeTagDimensionName,
  fieldColumnName,
  tagDimensionName,
} from '../../../lambdas/adapters/aws/timestream-names.js';
import {
  commonAttributes,
  DEFAULT_RECORD_OPTIONS,
  planRecords,
  TIMESTREAM_LIMITS,
} from '../../../lambdas/adapters/aws/timestream-records.js';
import { classifyRejection } from '../../../lambdas/adapters/aws/timestream-store.js';
import { emptyRecord, type FieldValue, type Point } from '../../../lambdas/core/model/point.js';

const T = 1_760_000_000_000;

function point(
  fields: Record<string, FieldValue>,
  tags: Record<string, string> = {},
  time = T,
  device = 'd1',
): Point {
  const f = emptyRecord<FieldValue>();
  Object.assign(f, fields);
  const t = emptyRecord<string>();
  Object.assign(t, tags);
  return { device, time, tags: t, fields: f };
}

const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');

describe('column names', () => {
  it('escapes names Timestream reserves or that collide with our dimensions, reversibly', () => {
    expect(fieldColumnName('temperature')).toBe('temperature');
    expect(fieldColumnName('battery.soc')).toBe('battery.soc');
    expect(fieldColumnName('time')).toBe('%_time');
    expect(fieldColumnName('measure_value::double')).toBe('%_measure_value%3A%3Adouble');
    expect(fieldColumnName('ts_x')).toBe('%_ts_x');
    expect(fieldColumnName('Device')).toBe('%_Device');
    expect(fieldColumnName('tag.site')).toBe('%_tag.site');
    expect(fieldColumnName('a:b%c')).toBe('a%3Ab%25c');
    expect(tagDimensionName('site')).toBe('tag.site');
    expect(decodeTagDimensionName('tag.a%3Ab')).toBe('a:b');
    expect(decodeTagDimensionName('device')).toBeUndefined();
  });

  it('round-trips every field name and never produces a reserved or colon-bearing column', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.constantFrom('time', 'tenant', 'ts_', 'measure_name', '%_x', '%25')),
        (n) => {
          const col = fieldColumnName(n);
          expect(decodeColumnName(col)).toBe(n);
          expect(col).not.toContain(':');
          expect(['time', 'measure_name', 'measure_value', 'tenant', 'device']).not.toContain(
            col.toLowerCase(),
          );
          expect(col.toLowerCase().startsWith('ts_')).toBe(false);
          expect(col.toLowerCase().startsWith('measure_value')).toBe(false);
        },
      ),
    );
  });
});

describe('planRecords', () => {
  it('builds one typed multi-measure record per point, fields in sorted order', () => {
    const plan = planRecords('t1', [point({ temp: 21.5, on: true, mode: 'auto', zero: -0 }, { site: 'a' })]);
    expect(plan.rejected).toEqual([]);
    expect(plan.records).toEqual([
      {
        points: [0],
        record: {
          Dimensions: [
            { Name: 'device', Value: 'd1' },
            { Name: 'tag.site', Value: 'a' },
          ],
          MeasureName: 'telemetry',
          Time: String(T),
          MeasureValues: [
            { Name: 'mode', Value: 'auto', Type: 'VARCHAR' },
            { Name: 'on', Value: 'true', Type: 'BOOLEAN' },
            { Name: 'temp', Value: '21.5', Type: 'DOUBLE' },
            { Name: 'zero', Value: '0', Type: 'DOUBLE' },
          ],
        },
      },
    ]);
    expect(commonAttributes('t1')).toEqual({
      Dimensions: [{ Name: 'tenant', Value: 't1' }],
      MeasureValueType: 'MULTI',
      TimeUnit: 'MILLISECONDS',
      Version: 1,
    });
  });

  it('merges points with the same device, time and tags (later fields win); other tags are other series', () => {
    const plan = planRecords('t1', [
      point({ a: 1, b: 1 }),
      point({ b: 2, c: 3 }),
      point({ a: 9 }, { bus: '1' }),
      point({ a: 7 }, {}, T + 1),
    ]);
    expect(
      plan.records.map((r) => [r.points, r.record.MeasureValues?.map((m) => `${m.Name}=${m.Value}`)]),
    ).toEqual([
      [
        [0, 1],
        ['a=1', 'b=2', 'c=3'],
      ],
      [[2], ['a=9']],
      [[3], ['a=7']],
    ]);
  });

  it('treats empty strings as absent and a point of only empty strings as storing nothing', () => {
    const plan = planRecords('t1', [point({ note: '', v: 1 }), point({ note: '' }, {}, T + 5)]);
    expect(plan.records).toHaveLength(1);
    expect(plan.records[0]?.record.MeasureValues).toEqual([{ Name: 'v', Value: '1', Type: 'DOUBLE' }]);
    expect(plan.empty).toEqual([1]);
  });

  it('rejects points whose tags cannot be dimensions or whose values exceed Timestream limits', () => {
    const manyTags = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']));
    const plan = planRecords('t1', [
      point({ a: 1 }, manyTags),
      point({ a: 1 }, { ['x'.repeat(60)]: 'v' }),
      point({ a: 1 }, { empty: '' }),
      point({ big: 'é'.repeat(1100) }),
      point({ ok: 1 }),
    ]);
    expect(plan.rejected.map((r) => [r.index, r.retryable])).toEqual([
      [0, false],
      [1, false],
      [2, false],
      [3, false],
    ]);
    expect(plan.rejected[0]?.reason).toMatch(/^RECORD_INVALID: point has 17 tags/);
    expect(plan.rejected[3]?.reason).toMatch(/longer than 2048 bytes/);
    expect(plan.records.map((r) => r.points)).toEqual([[4]]);
  });

  it('splits wide points deterministically into records of ≤ 256 measures and ≤ 2 KB', () => {
    const fields: Record<string, number> = {};
    for (let i = 0; i < 600; i++) fields[`s${String(i).padStart(3, '0')}`] = i;
    const a = planRecords('tenant-1', [point(fields)]);
    const b = planRecords('tenant-1', [point(Object.fromEntries(Object.entries(fields).reverse()))]);
    expect(a).toEqual(b);
    expect(a.records.map((r) => r.record.MeasureName)).toEqual(
      a.records.map((_, i) => (i === 0 ? 'telemetry' : `telemetry.${i}`)),
    );
    const names = a.records.flatMap((r) => r.record.MeasureValues?.map((m) => m.Name));
    expect(names).toHaveLength(600);
    expect(new Set(names).size).toBe(600);
  });

  it('property: every stored field lands in exactly one record, within the measure and size limits', () => {
    const fieldName = fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9_.]{0,30}$/);
    const value = fc.oneof(
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.boolean(),
      fc.string({ minLength: 1, maxLength: 300 }),
    );
    const arbPoint = fc.record({
      time: fc.integer({ min: T, max: T + 3 }),
      tags: fc.dictionary(fc.constantFrom('site', 'bus', 'line'), fc.string({ minLength: 1, maxLength: 20 })),
      fields: fc.dictionary(fieldName, value, { minKeys: 1, maxKeys: 400 }),
    });
    fc.assert(
      fc.property(fc.array(arbPoint, { minLength: 1, maxLength: 6 }), (raw) => {
        const points = raw.map((p) => point(p.fields, p.tags, p.time));
        const plan = planRecords('t1', points, DEFAULT_RECORD_OPTIONS);
        for (const { record } of plan.records) {
          const mvs = record.MeasureValues ?? [];
          expect(mvs.length).toBeGreaterThan(0);
          expect(mvs.length).toBeLessThanOrEqual(TIMESTREAM_LIMITS.measuresPerRecord);
          let size = utf8('tenant') + utf8('t1') + 8 + utf8(record.MeasureName ?? '');
          for (const d of record.Dimensions ?? []) size += utf8(d.Name ?? '') + utf8(d.Value ?? '');
          for (const m of mvs) size += utf8(m.Name ?? '') + utf8(m.Value ?? '');
          expect(size).toBeLessThanOrEqual(TIMESTREAM_LIMITS.recordBytes);
        }
        // Each point's non-empty fields are all present once, with the value of the last point of its group.
        const rejected = new Set(plan.rejected.map((r) => r.index));
        points.forEach((p, i) => {
          if (rejected.has(i)) return;
          const recs = plan.records.filter((r) => r.points.includes(i));
          const cols = recs
            .flatMap((r) => r.record.MeasureValues ?? [])
            .map((m) => decodeColumnName(m.Name ?? ''));
          expect(new Set(cols).size).toBe(cols.length);
          for (const [k, v] of Object.entries(p.fields)) if (v !== '') expect(cols).toContain(k);
        });
      }),
      { numRuns: 60 },
    );
  });
});

describe('classifyRejection', () => {
  const memory = 'The record timestamp is outside the time range [x, y) of the memory store.';
  it.each([
    [
      'A record with the same dimensions, timestamp, and measure name exists',
      1,
      true,
      'VERSION_CONFLICT',
      false,
    ],
    ['conflict', 5, true, 'SUPERSEDED', false],
    [memory, undefined, false, 'OUTSIDE_RETENTION', false],
    [memory, undefined, true, 'OUTSIDE_RETENTION', true],
    [
      'The record timestamp is outside the magnetic store retention period',
      undefined,
      true,
      'OUTSIDE_RETENTION',
      false,
    ],
    ['The record timestamp is too far in the future', undefined, true, 'TOO_FAR_IN_FUTURE', false],
    [
      'Measure value type DOUBLE does not match the existing type VARCHAR',
      undefined,
      true,
      'TYPE_CONFLICT',
      false,
    ],
    ['The number of unique measures exceeds the limit', undefined, true, 'LIMIT', false],
    ['Something new', undefined, true, 'UNKNOWN', true],
  ] as const)('%s (existing %s, magnetic %s) → %s', (reason, existing, magnetic, category, retryable) => {
    const c = classifyRejection(reason, existing, 1, magnetic);
    expect([c.category, c.retryable]).toEqual([category, retryable]);
  });
});
