/**
 * Timestream query building: identifiers and values are validated and quoted, numbers are integers,
 * aggregations come from a fixed table, hostile field names never reach SQL unless they are real columns
 * (and then only quoted), and the reader maps results back to points.
 */
import type { QueryCommand, QueryCommandOutput } from '@aws-sdk/client-timestream-query';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fieldColumnName } from '../../lambdas/adapters/aws/timestream-names.js';
import {
  buildLatestQuery,
  buildTelemetryQuery,
  fieldColumnsOf,
  parseTimestamp,
  QueryBuildError,
  quoteIdentifier,
  quoteString,
  TimestreamTelemetryReader,
} from '../../lambdas/adapters/aws/timestream-query.js';
import {
  StoreNotConfiguredError,
  TimestreamTelemetryStore,
} from '../../lambdas/adapters/aws/timestream-store.js';
import type { TelemetryQuery, TelemetryStore } from '../../lambdas/ports/telemetry-store.js';

const target = { database: 'fleetwire', table: 'telemetry' };
const base: TelemetryQuery = {
  tenant: 'acme',
  device: 'ems_001',
  from: 1_700_000_000_000,
  to: 1_700_000_060_000,
  limit: 100,
};

/** Read one quoted token starting at `i`; returns its end index (exclusive) — throws if unterminated. */
function tokenEnd(sql: string, i: number, q: string): number {
  let j = i + 1;
  for (;;) {
    const k = sql.indexOf(q, j);
    if (k < 0) throw new Error('unterminated');
    if (sql[k + 1] === q) j = k + 2;
    else return k + 1;
  }
}

/** Strip every quoted identifier and string literal: what is left is the SQL structure. */
function skeleton(sql: string): string {
  let out = '';
  for (let i = 0; i < sql.length; ) {
    const c = sql[i] as string;
    if (c === '"' || c === "'") {
      const end = tokenEnd(sql, i, c);
      out += c === '"' ? 'ID' : 'STR';
      i = end;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

describe('quoting', () => {
  it('doubles quotes so a quoted token always ends where it should', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 80, unit: 'binary' }), (s) => {
        for (const [quote, q] of [
          [quoteIdentifier, '"'],
          [quoteString, "'"],
        ] as const) {
          let out: string;
          try {
            out = quote(s);
          } catch (e) {
            expect(e).toBeInstanceOf(QueryBuildError);
            continue;
          }
          expect(tokenEnd(out, 0, q)).toBe(out.length);
          expect(out.slice(1, -1).replaceAll(q + q, q)).toBe(s);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('refuses control characters, lone surrogates, empty and oversized text', () => {
    for (const bad of ['', 'a\u0000b', 'x\ny', '\u0085', 'a\uD800', 'x'.repeat(300)]) {
      expect(() => quoteIdentifier(bad), JSON.stringify(bad)).toThrow(QueryBuildError);
    }
    expect(() => quoteString('v'.repeat(3000))).toThrow(QueryBuildError);
    expect(quoteString("O'Brien")).toBe("'O''Brien'");
    expect(quoteIdentifier('a"b')).toBe('"a""b"');
  });
});

describe('buildTelemetryQuery', () => {
  it('builds the raw query', () => {
    const { sql, fields } = buildTelemetryQuery(target, base, [
      fieldColumnName('battery.voltage'),
      fieldColumnName('time'),
    ]);
    expect(sql).toBe(
      'SELECT time, "battery.voltage" AS "f0", "%_time" AS "f1" FROM "fleetwire"."telemetry" ' +
        `WHERE "tenant" = 'acme' AND "device" = 'ems_001' AND time >= from_milliseconds(1700000000000) AND time < from_milliseconds(1700000060000) ` +
        'AND ("battery.voltage" IS NOT NULL OR "%_time" IS NOT NULL) ORDER BY time ASC',
    );
    expect(fields).toEqual([
      { alias: 'f0', field: 'battery.voltage' },
      { alias: 'f1', field: 'time' },
    ]);
  });

  it('builds every aggregation from its fixed template', () => {
    const expected = {
      avg: 'avg(try_cast("v" AS double))',
      sum: 'sum(try_cast("v" AS double))',
      min: 'min("v")',
      max: 'max("v")',
      count: 'count("v")',
      last: 'max_by("v", CASE WHEN "v" IS NOT NULL THEN time END)',
    } as const;
    for (const [agg, expr] of Object.entries(expected)) {
      const { sql } = buildTelemetryQuery(
        target,
        { ...base, intervalMs: 60_000, agg: agg as keyof typeof expected },
        ['v'],
      );
      expect(sql).toContain(`SELECT bin(time, 60000ms) AS t, ${expr} AS "f0"`);
      expect(sql).toContain('GROUP BY bin(time, 60000ms) ORDER BY t ASC');
    }
  });

  it('keeps hostile names and values inside their quotes: the SQL structure never changes', () => {
    const structure = skeleton(buildTelemetryQuery(target, base, ['a']).sql);
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 60 }),
        fc.string({ minLength: 1, maxLength: 60 }),
        fc.string({ minLength: 1, maxLength: 60 }),
        (field, tenant, device) => {
          let sql: string;
          try {
            sql = buildTelemetryQuery(target, { ...base, tenant, device }, [fieldColumnName(field)]).sql;
          } catch (e) {
            expect(e).toBeInstanceOf(QueryBuildError);
            return;
          }
          expect(skeleton(sql)).toBe(structure);
        },
      ),
      { numRuns: 500 },
    );
    const hostile = [
      `x" FROM secrets --`,
      `'; DROP TABLE telemetry; --`,
      `a" IS NOT NULL OR 1=1 OR "b`,
      `") UNION SELECT * FROM "other"."table" --`,
    ];
    for (const h of hostile) {
      const sql = buildTelemetryQuery(target, { ...base, tenant: h, device: h }, [fieldColumnName(h)]).sql;
      expect(skeleton(sql)).toBe(structure);
    }
  });

  it('refuses non-integer or negative times, bad intervals, unknown aggregations and empty selections', () => {
    expect(() => buildTelemetryQuery(target, { ...base, from: 1.5 }, ['a'])).toThrow(QueryBuildError);
    expect(() => buildTelemetryQuery(target, { ...base, from: -1 }, ['a'])).toThrow(QueryBuildError);
    expect(() => buildTelemetryQuery(target, { ...base, to: Number.NaN }, ['a'])).toThrow(QueryBuildError);
    expect(() => buildTelemetryQuery(target, { ...base, intervalMs: 0.5 }, ['a'])).toThrow(QueryBuildError);
    expect(() => buildTelemetryQuery(target, { ...base, intervalMs: 1e15 }, ['a'])).toThrow(QueryBuildError);
    // Callers that bypass the types (and prototype keys) are refused too.
    for (const agg of ['avg(1); DROP', 'constructor', '__proto__']) {
      expect(() =>
        buildTelemetryQuery(target, { ...base, intervalMs: 1000, agg: agg as unknown as 'avg' }, ['a']),
      ).toThrow(QueryBuildError);
    }
    expect(() => buildTelemetryQuery(target, base, [])).toThrow(QueryBuildError);
  });

  it('builds the latest query with one value and one time per column', () => {
    const { sql, fields } = buildLatestQuery(target, 'acme', 'd1', 0, 1000, ['a', 'b"c']);
    expect(sql).toBe(
      'SELECT max_by("a", CASE WHEN "a" IS NOT NULL THEN time END) AS "v0", max(CASE WHEN "a" IS NOT NULL THEN time END) AS "t0", ' +
        'max_by("b""c", CASE WHEN "b""c" IS NOT NULL THEN time END) AS "v1", max(CASE WHEN "b""c" IS NOT NULL THEN time END) AS "t1" ' +
        `FROM "fleetwire"."telemetry" WHERE "tenant" = 'acme' AND "device" = 'd1' AND time >= from_milliseconds(0) AND time < from_milliseconds(1000)`,
    );
    expect(fields.map((f) => f.field)).toEqual(['a', 'b"c']);
  });
});

describe('TimestreamTelemetryReader', () => {
  const describeOut = (names: string[]): QueryCommandOutput =>
    ({
      $metadata: {},
      QueryId: 'q',
      ColumnInfo: [{ Name: 'Column' }, { Name: 'Type' }, { Name: 'Timestream attribute type' }],
      Rows: names.map((n) => ({
        Data: [
          { ScalarValue: n },
          { ScalarValue: 'double' },
          {
            ScalarValue:
              n === 'device' || n === 'tenant' || n.startsWith('tag.')
                ? 'DIMENSION'
                : n === 'time'
                  ? 'TIMESTAMP'
                  : n === 'measure_name'
                    ? 'MEASURE_NAME'
                    : 'MULTI',
          },
        ],
      })),
    }) as QueryCommandOutput;

  function fakeClient(responses: ((sql: string, token?: string) => QueryCommandOutput)[]) {
    const seen: { sql: string; token?: string; maxRows?: number }[] = [];
    return {
      seen,
      client: {
        send: async (cmd: QueryCommand) => {
          const input = cmd.input;
          seen.push({
            sql: input.QueryString ?? '',
            ...(input.NextToken ? { token: input.NextToken } : {}),
            ...(input.MaxRows ? { maxRows: input.MaxRows } : {}),
          });
          const next = responses.shift();
          if (!next) throw new Error('unexpected query');
          return next(input.QueryString ?? '', input.NextToken);
        },
        // biome-ignore lint/suspicious/noExplicitAny: the reader only calls send.
      } as any,
    };
  }

  const cols = [
    'time',
    'measure_name',
    'tenant',
    'device',
    'tag.site',
    'battery.voltage',
    'state',
    'on',
    '%_time',
  ];

  it('resolves fields to existing columns only, so unknown (hostile) names never reach SQL', async () => {
    const { client, seen } = fakeClient([() => describeOut(cols)]);
    const reader = new TimestreamTelemetryReader(client, target);
    expect(await reader.query({ ...base, fields: [`x" OR 1=1 --`, 'nope'] })).toEqual({ points: [] });
    expect(seen.map((s) => s.sql)).toEqual(['DESCRIBE "fleetwire"."telemetry"']);
    expect(fieldColumnsOf(cols.map((name) => ({ name })))).toEqual([
      'battery.voltage',
      'state',
      'on',
      '%_time',
    ]);
  });

  it('maps rows to points: typed values, split records merged by time, nulls skipped, cursor = NextToken', async () => {
    const info = [
      { Name: 'time', Type: { ScalarType: 'TIMESTAMP' } },
      // Columns are selected in sorted order: %_time, battery.voltage, on, state.
      { Name: 'f0', Type: { ScalarType: 'DOUBLE' } },
      { Name: 'f1', Type: { ScalarType: 'DOUBLE' } },
      { Name: 'f2', Type: { ScalarType: 'BOOLEAN' } },
      { Name: 'f3', Type: { ScalarType: 'VARCHAR' } },
    ];
    const { client, seen } = fakeClient([
      () => describeOut(cols),
      () =>
        ({
          $metadata: {},
          QueryId: 'q',
          ColumnInfo: info,
          Rows: [],
          NextToken: 'tok1',
        }) as QueryCommandOutput,
      () =>
        ({
          $metadata: {},
          QueryId: 'q',
          ColumnInfo: info,
          Rows: [
            {
              Data: [
                { ScalarValue: '2023-11-14 22:13:20.000000000' },
                { NullValue: true },
                { ScalarValue: '53.2' },
                { NullValue: true },
                { NullValue: true },
              ],
            },
            {
              Data: [
                { ScalarValue: '2023-11-14 22:13:20.000000000' },
                { ScalarValue: '1' },
                { NullValue: true },
                { ScalarValue: 'true' },
                { ScalarValue: 'CHARGING' },
              ],
            },
            {
              Data: [
                { ScalarValue: '2023-11-14 22:13:21.500000000' },
                { NullValue: true },
                { NullValue: true },
                { NullValue: true },
                { NullValue: true },
              ],
            },
          ],
          NextToken: 'tok2',
        }) as QueryCommandOutput,
    ]);
    const reader = new TimestreamTelemetryReader(client, target);
    const page = await reader.query(base);
    expect(page).toEqual({
      points: [
        {
          time: 1_700_000_000_000,
          fields: { 'battery.voltage': 53.2, on: true, state: 'CHARGING', time: 1 },
        },
      ],
      next: 'tok2',
    });
    expect(seen[1]?.maxRows).toBe(100);
    expect(seen[2]?.token).toBe('tok1');
    expect(seen[1]?.sql).toContain('"%_time" AS "f0"');
  });

  it('returns latest values with their event times', async () => {
    const { client } = fakeClient([
      () => describeOut(['time', 'tenant', 'device', 'battery.voltage', 'state']),
      () =>
        ({
          $metadata: {},
          QueryId: 'q',
          ColumnInfo: [
            { Name: 'v0', Type: { ScalarType: 'DOUBLE' } },
            { Name: 't0', Type: { ScalarType: 'TIMESTAMP' } },
            { Name: 'v1', Type: { ScalarType: 'VARCHAR' } },
            { Name: 't1', Type: { ScalarType: 'TIMESTAMP' } },
          ],
          Rows: [
            {
              Data: [
                { ScalarValue: '51' },
                { ScalarValue: '2023-11-14 22:13:20.123456789' },
                { NullValue: true },
                { NullValue: true },
              ],
            },
          ],
        }) as QueryCommandOutput,
    ]);
    const reader = new TimestreamTelemetryReader(client, { ...target, clock: () => 1_700_000_100_000 });
    expect(await reader.latest('acme', 'ems_001')).toEqual([
      { field: 'battery.voltage', time: 1_700_000_000_123, value: 51 },
    ]);
  });

  it('is the query side of TimestreamTelemetryStore (the API uses the store through the port)', async () => {
    const rows = (sql: string): QueryCommandOutput => {
      // The latest query asks for `max_by` pairs; the raw query for a time column and one field.
      if (sql.includes('max_by')) {
        return {
          $metadata: {},
          QueryId: 'q',
          ColumnInfo: [
            { Name: 'v0', Type: { ScalarType: 'DOUBLE' } },
            { Name: 't0', Type: { ScalarType: 'TIMESTAMP' } },
          ],
          Rows: [{ Data: [{ ScalarValue: '51' }, { ScalarValue: '2023-11-14 22:13:20.123000000' }] }],
        } as QueryCommandOutput;
      }
      return {
        $metadata: {},
        QueryId: 'q',
        ColumnInfo: [
          { Name: 'time', Type: { ScalarType: 'TIMESTAMP' } },
          { Name: 'f0', Type: { ScalarType: 'DOUBLE' } },
        ],
        Rows: [{ Data: [{ ScalarValue: '2023-11-14 22:13:20.000000000' }, { ScalarValue: '53.2' }] }],
      } as QueryCommandOutput;
    };
    const { client, seen } = fakeClient([
      () => describeOut(['time', 'tenant', 'device', 'battery.voltage']),
      rows,
      rows,
    ]);
    const store: TelemetryStore = new TimestreamTelemetryStore(undefined, {
      ...target,
      query: { client, clock: () => 1_700_000_100_000 },
    });
    expect(await store.query({ ...base, fields: ['battery.voltage'] })).toEqual({
      points: [{ time: 1_700_000_000_000, fields: { 'battery.voltage': 53.2 } }],
    });
    expect(await store.latest('acme', 'ems_001', ['battery.voltage'])).toEqual([
      { field: 'battery.voltage', time: 1_700_000_000_123, value: 51 },
    ]);
    // One DESCRIBE (cached), then the two queries the reader built, scoped to the tenant and device.
    expect(seen.map((q) => q.sql.split(' ')[0])).toEqual(['DESCRIBE', 'SELECT', 'SELECT']);
    for (const q of seen.slice(1)) expect(q.sql).toContain(`"tenant" = 'acme'`);
    // Built without a write client, the store refuses writes with a typed error, and vice versa.
    await expect(store.write('acme', [])).rejects.toMatchObject({ code: 'STORE_NOT_CONFIGURED' });
    const writeOnly = new TimestreamTelemetryStore({ send: async () => ({}) }, target);
    await expect(writeOnly.query(base)).rejects.toBeInstanceOf(StoreNotConfiguredError);
    await expect(writeOnly.latest('acme', 'ems_001')).rejects.toMatchObject({
      code: 'STORE_NOT_CONFIGURED',
    });
  });

  it('parses Timestream timestamps', () => {
    expect(parseTimestamp('2026-03-01 12:00:00.000000000')).toBe(Date.parse('2026-03-01T12:00:00Z'));
    expect(parseTimestamp('2026-03-01 12:00:00')).toBe(Date.parse('2026-03-01T12:00:00Z'));
    expect(parseTimestamp('garbage')).toBeNaN();
  });
});
