/**
 * TimestreamTelemetryStore against moto_server with the real SDK client. moto accepts every write (it
 * has no throttling, rejections or versions), so those faults are injected as client middleware:
 * throttling before the request is sent, and `RejectedRecordsException` after moto has stored the
 * records Timestream would have accepted, exactly like the service's partial-success semantics.
 */
import {
  CreateDatabaseCommand,
  CreateTableCommand,
  RejectedRecordsException,
  ResourceNotFoundException,
  ThrottlingException,
  type TimestreamWriteClient,
  ValidationException,
  type WriteRecordsCommandInput,
} from '@aws-sdk/client-timestream-write';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTimestreamWriteClient } from '../../lambdas/adapters/aws/clients.js';
import { createTimestreamQueryClient } from '../../lambdas/adapters/aws/timestream-query.js';
import { TimestreamTelemetryStore } from '../../lambdas/adapters/aws/timestream-store.js';
import { emptyRecord, type Point } from '../../lambdas/core/model/point.js';
import { type MotoServer, startMoto, useMotoEnv } from '../support/moto.js';

const DB = 'fleetwire';
const TABLE = 'telemetry';
const T = 1_760_000_000_000;

let moto: MotoServer;
let client: TimestreamWriteClient;

/** A fault plan for the next WriteRecords calls: each entry handles one call. */
type Fault =
  | { kind: 'throttle' }
  | { kind: 'server' }
  | { kind: 'validation' }
  | { kind: 'missing-table' }
  | { kind: 'reject'; records: { index: number; reason: string; existingVersion?: number }[] };
let faults: Fault[] = [];
let calls: WriteRecordsCommandInput[] = [];

function pointsOf(n: number, device = 'dev-1'): Point[] {
  return Array.from({ length: n }, (_, i) => {
    const fields = emptyRecord<number | string>();
    fields.value = i;
    fields.label = `p${i}`;
    return { device, time: T + i, tags: emptyRecord<string>(), fields };
  });
}

async function storedRecords(): Promise<
  { Time: string; MeasureValues: { Name: string; Value: string }[] }[]
> {
  const data = await moto.data();
  const tables = (data.timestreamwrite?.TimestreamTable ?? []) as { name: string; records: never[] }[];
  // data.json also lists tables deleted in beforeEach: the live one is the newest.
  return tables.findLast((t) => t.name === TABLE)?.records ?? [];
}

function store(opts: Partial<ConstructorParameters<typeof TimestreamTelemetryStore>[1]> = {}) {
  return new TimestreamTelemetryStore(client, {
    database: DB,
    table: TABLE,
    sleep: async () => {},
    random: () => 0.5,
    ...opts,
  });
}

beforeAll(async () => {
  moto = await startMoto();
  useMotoEnv(moto);
  client = createTimestreamWriteClient(process.env);
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'WriteRecordsCommand') return next(args);
      const input = args.input as WriteRecordsCommandInput;
      calls.push(structuredClone(input));
      const fault = faults.shift();
      const meta = { $metadata: {}, message: 'injected' };
      if (fault?.kind === 'throttle')
        throw new ThrottlingException({ ...meta, message: 'Rate exceeded', Message: 'Rate exceeded' });
      if (fault?.kind === 'server') {
        throw Object.assign(new Error('internal'), {
          name: 'InternalServerException',
          $metadata: { httpStatusCode: 500 },
        });
      }
      if (fault?.kind === 'validation')
        throw new ValidationException({ ...meta, message: 'bad record', Message: 'bad record' });
      if (fault?.kind === 'missing-table')
        throw new ResourceNotFoundException({ ...meta, message: 'no table' });
      if (fault?.kind === 'reject') {
        // Timestream stores the records it did not reject.
        const rejected = new Set(fault.records.map((r) => r.index));
        const accepted = (input.Records ?? []).filter((_, i) => !rejected.has(i));
        if (accepted.length > 0) await next({ ...args, input: { ...input, Records: accepted } });
        throw new RejectedRecordsException({
          ...meta,
          message: 'One or more records have been rejected.',
          RejectedRecords: fault.records.map((r) => ({
            RecordIndex: r.index,
            Reason: r.reason,
            ...(r.existingVersion !== undefined ? { ExistingVersion: r.existingVersion } : {}),
          })),
        });
      }
      return next(args);
    },
    { step: 'initialize', name: 'faultInjection' },
  );
  await client.send(new CreateDatabaseCommand({ DatabaseName: DB }));
  await client.send(
    new CreateTableCommand({
      DatabaseName: DB,
      TableName: TABLE,
      MagneticStoreWriteProperties: { EnableMagneticStoreWrites: true },
    }),
  );
});

afterAll(async () => {
  await moto?.stop();
});

beforeEach(async () => {
  faults = [];
  calls = [];
  // Empty the table between tests (moto has no delete-records): recreate it.
  const { DeleteTableCommand } = await import('@aws-sdk/client-timestream-write');
  await client.send(new DeleteTableCommand({ DatabaseName: DB, TableName: TABLE }));
  await client.send(new CreateTableCommand({ DatabaseName: DB, TableName: TABLE }));
});

describe('TimestreamTelemetryStore on moto', () => {
  it('writes through the AWS_ENDPOINT_URL override without endpoint discovery', async () => {
    const out = await store().write('t1', pointsOf(3));
    expect(out).toEqual({ written: 3, rejected: [] });
    const recs = await storedRecords();
    expect(recs.map((r) => r.Time)).toEqual([String(T), String(T + 1), String(T + 2)]);
    expect(calls[0]?.CommonAttributes).toEqual({
      Dimensions: [{ Name: 'tenant', Value: 't1' }],
      MeasureValueType: 'MULTI',
      TimeUnit: 'MILLISECONDS',
      Version: 1,
    });
  });

  it('writes batches of at most 100 records, each with CommonAttributes', async () => {
    const out = await store({ concurrency: 3 }).write('t1', pointsOf(250));
    expect(out.written).toBe(250);
    expect(calls.map((c) => c.Records?.length).sort()).toEqual([100, 100, 50]);
    expect(calls.every((c) => c.CommonAttributes?.Dimensions?.[0]?.Value === 't1')).toBe(true);
    expect(await storedRecords()).toHaveLength(250);
  });

  it('retries throttling and server errors with growing backoff, then succeeds', async () => {
    const sleeps: number[] = [];
    faults = [{ kind: 'throttle' }, { kind: 'server' }, { kind: 'throttle' }];
    const s = store({ sleep: async (ms) => void sleeps.push(ms), random: () => 0.999 });
    const out = await s.write('t1', pointsOf(2));
    expect(out).toEqual({ written: 2, rejected: [] });
    expect(calls).toHaveLength(4);
    expect(sleeps).toEqual([49, 99, 199]);
    expect(await storedRecords()).toHaveLength(2);
  });

  it('reports points as retryable when throttling outlasts the retries', async () => {
    faults = Array.from({ length: 5 }, () => ({ kind: 'throttle' as const }));
    const out = await store().write('t1', pointsOf(2));
    expect(calls).toHaveLength(5);
    expect(out.written).toBe(0);
    expect(out.rejected.map((r) => [r.index, r.retryable])).toEqual([
      [0, true],
      [1, true],
    ]);
    expect(out.rejected[0]?.reason).toMatch(/^RETRY_EXHAUSTED: ThrottlingException/);
  });

  it('splits RejectedRecords into permanent (reported) and retryable (resent alone)', async () => {
    faults = [
      {
        kind: 'reject',
        records: [
          {
            index: 1,
            reason: 'A record with the same dimensions, timestamp, and measure name exists',
            existingVersion: 1,
          },
          { index: 2, reason: 'The record timestamp is outside the time range of the memory store' },
          { index: 3, reason: 'conflict', existingVersion: 7 },
        ],
      },
    ];
    const out = await store().write('t1', pointsOf(5));
    // Point 1 conflicts (permanent); point 2 is resent alone and stored; point 3 is superseded (not a failure).
    expect(out.written).toBe(4);
    expect(out.rejected).toEqual([
      {
        index: 1,
        reason:
          'VERSION_CONFLICT: A record with the same dimensions, timestamp, and measure name exists (existing version 1)',
        retryable: false,
      },
    ]);
    expect(calls.map((c) => c.Records?.map((r) => r.Time))).toEqual([
      [T, T + 1, T + 2, T + 3, T + 4].map(String),
      [String(T + 2)],
    ]);
    expect((await storedRecords()).map((r) => r.Time).sort()).toEqual([T, T + 2, T + 4].map(String));
  });

  it('treats memory-store rejections as permanent when magnetic writes are off', async () => {
    faults = [{ kind: 'reject', records: [{ index: 0, reason: 'outside the memory store retention' }] }];
    const out = await store({ magneticWritesEnabled: false }).write('t1', pointsOf(1));
    expect(out.rejected).toEqual([
      { index: 0, reason: 'OUTSIDE_RETENTION: outside the memory store retention', retryable: false },
    ]);
    expect(calls).toHaveLength(1);
  });

  it('reports a ValidationException as permanent for its batch only', async () => {
    faults = [{ kind: 'validation' }];
    const out = await store({ concurrency: 1 }).write('t1', pointsOf(150));
    expect(out.written).toBe(50);
    expect(out.rejected).toHaveLength(100);
    expect(out.rejected.every((r) => !r.retryable && r.reason.startsWith('VALIDATION:'))).toBe(true);
  });

  it('lets configuration faults (missing table) surface as errors', async () => {
    faults = [{ kind: 'missing-table' }];
    await expect(store().write('t1', pointsOf(1))).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it('answers query and latest through the Timestream query reader (moto serves queued results)', async () => {
    // moto has no query engine: it answers queued results in order (DESCRIBE, then the two queries).
    const describe = {
      QueryId: 'describe',
      ColumnInfo: [
        { Name: 'Column', Type: { ScalarType: 'VARCHAR' } },
        { Name: 'Type', Type: { ScalarType: 'VARCHAR' } },
        { Name: 'Timestream attribute type', Type: { ScalarType: 'VARCHAR' } },
      ],
      Rows: [
        ['time', 'TIMESTAMP'],
        ['tenant', 'DIMENSION'],
        ['device', 'DIMENSION'],
        ['measure_name', 'MEASURE_NAME'],
        ['value', 'MULTI'],
      ].map(([name, kind]) => ({
        Data: [{ ScalarValue: name }, { ScalarValue: 'double' }, { ScalarValue: kind }],
      })),
    };
    const page = {
      QueryId: 'page',
      ColumnInfo: [
        { Name: 'time', Type: { ScalarType: 'TIMESTAMP' } },
        { Name: 'f0', Type: { ScalarType: 'DOUBLE' } },
      ],
      Rows: [{ Data: [{ ScalarValue: '2025-10-09 08:53:20.000000000' }, { ScalarValue: '7' }] }],
    };
    const latest = {
      QueryId: 'latest',
      ColumnInfo: [
        { Name: 'v0', Type: { ScalarType: 'DOUBLE' } },
        { Name: 't0', Type: { ScalarType: 'TIMESTAMP' } },
      ],
      Rows: [{ Data: [{ ScalarValue: '7' }, { ScalarValue: '2025-10-09 08:53:20.000000000' }] }],
    };
    const queued = await fetch(`${moto.url}/moto-api/static/timestream/query-results`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ region: process.env.AWS_REGION, results: { null: [describe, page, latest] } }),
    });
    expect(queued.status).toBe(201);
    const withQueries = store({ query: { client: createTimestreamQueryClient(process.env) } });
    expect(
      await withQueries.query({ tenant: 't1', device: 'dev-1', from: T, to: T + 60_000, limit: 10 }),
    ).toEqual({ points: [{ time: T, fields: { value: 7 } }] });
    expect(await withQueries.latest('t1', 'dev-1')).toEqual([{ field: 'value', time: T, value: 7 }]);
    // A store built with a write client only refuses queries with a typed error.
    await expect(store().latest('t1', 'dev-1')).rejects.toMatchObject({ code: 'STORE_NOT_CONFIGURED' });
  });
});
