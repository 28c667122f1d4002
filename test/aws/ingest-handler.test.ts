/**
 * The ingest Lambda handler against moto_server with the real AWS SDK clients: registry in DynamoDB, DBC
 * in S3, dead letters in SQS, system events through EventBridge (tapped into SQS), points in Timestream
 * (read back through `/moto-api/data.json`). The handler module is imported after the environment is set,
 * exactly as Lambda loads it at cold start.
 */
import { TimestreamWriteClient, type WriteRecordsCommandInput } from '@aws-sdk/client-timestream-write';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeviceExistsError } from '../../lambdas/adapters/aws/dynamodb-device-registry.js';
import { encodeDialtone } from '../../lambdas/core/codecs/dialtone.js';
import { encodeEms } from '../../lambdas/core/codecs/ems.js';
import { encodeExosense } from '../../lambdas/core/codecs/exosense.js';
import { encodeFlexconnectBinary } from '../../lambdas/core/codecs/flexconnect-binary.js';
import { encodeFlexconnectJson } from '../../lambdas/core/codecs/flexconnect-json.js';
import { encodeProtobuf } from '../../lambdas/core/codecs/protobuf.js';
import { EVENT_NUMBERS } from '../../lambdas/services/ingest-codes.js';
import type { IngestOutcome } from '../../lambdas/services/ingest-service.js';
import {
  createIngestResources,
  deadLetters,
  type IngestResources,
  type StoredRecord,
  systemEvents,
  timestreamRecords,
} from '../support/aws-fixture.js';
import { device, ruleEvent, TOKEN } from '../support/ingest-fakes.js';
import { type MotoServer, startMoto, useMotoEnv } from '../support/moto.js';

const T = 1_760_000_000_000;
const RECEIVED = T + 500;

let moto: MotoServer;
let res: IngestResources;
let handler: (event: unknown, context: Context) => Promise<IngestOutcome>;
const writes: WriteRecordsCommandInput[] = [];
const stdout: string[] = [];

const context = {
  functionName: 'fleetwire-ingest',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:fleetwire-ingest',
  memoryLimitInMB: '1024',
  awsRequestId: 'req-1',
  logGroupName: '/aws/lambda/fleetwire-ingest',
  logStreamName: 'stream',
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => 30_000,
  done: () => {},
  fail: () => {},
  succeed: () => {},
} as Context;

/** The effective records Timestream received: each record merged with its request's CommonAttributes. */
function effective(): (StoredRecord & { Version?: number })[] {
  return writes.flatMap((w) =>
    (w.Records ?? []).map((r) => ({
      Dimensions: [
        ...(w.CommonAttributes?.Dimensions ?? []),
        ...(r.Dimensions ?? []),
      ] as StoredRecord['Dimensions'],
      MeasureName: r.MeasureName as string,
      Time: r.Time as string,
      MeasureValues: r.MeasureValues as StoredRecord['MeasureValues'],
      Version: w.CommonAttributes?.Version,
    })),
  );
}

beforeAll(async () => {
  moto = await startMoto();
  useMotoEnv(moto);
  res = await createIngestResources();
  Object.assign(process.env, res.env);
  await res.registry.create(device({ deviceId: 'dev-1', tenant: 't1' }));
  await res.registry.create(device({ deviceId: 'dev-2', tenant: 't2', status: 'disabled' }));
  // Capture what reaches Timestream (moto keeps Records but drops CommonAttributes).
  const send = TimestreamWriteClient.prototype.send;
  vi.spyOn(TimestreamWriteClient.prototype, 'send').mockImplementation(function (
    this: TimestreamWriteClient,
    ...args: Parameters<TimestreamWriteClient['send']>
  ) {
    const cmd = args[0] as { input: unknown; constructor: { name: string } };
    if (cmd.constructor.name === 'WriteRecordsCommand')
      writes.push(structuredClone(cmd.input as WriteRecordsCommandInput));
    return (send as (...a: unknown[]) => Promise<unknown>).apply(this, args) as never;
  });
  // Powertools writes INFO and metrics to stdout, WARN and ERROR to stderr: capture both.
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout.push(String(chunk));
      return true;
    });
  }
  ({ handler } = (await import('../../lambdas/handlers/ingest.js')) as unknown as {
    handler: typeof handler;
  });
});

afterAll(async () => {
  vi.restoreAllMocks();
  await moto?.stop();
});

beforeEach(async () => {
  writes.length = 0;
  stdout.length = 0;
  await deadLetters(res);
  await systemEvents(res);
});

const topic = (format: string, thing = 'dev-1') => `dt/fleetwire/${thing}/${format}`;

describe('ingest handler on moto', () => {
  const formats: [string, Uint8Array, StoredRecord['MeasureValues'], string, Record<string, string>?][] = [
    [
      'flexconnect-json',
      encodeFlexconnectJson({
        device_id: 'dev-1',
        token: TOKEN,
        tags: [{ site: 'plant-1' }],
        points: [
          {
            timestamp: T,
            fields: [
              { name: 'temperature', value: 21.5 },
              { name: 'door_open', value: false },
              { name: 'status', value: 'ok' },
            ],
          },
        ],
      }),
      [
        { Name: 'door_open', Value: 'false', Type: 'BOOLEAN' },
        { Name: 'status', Value: 'ok', Type: 'VARCHAR' },
        { Name: 'temperature', Value: '21.5', Type: 'DOUBLE' },
      ],
      String(T),
      { 'tag.site': 'plant-1' },
    ],
    [
      'ems',
      encodeEms({
        deviceId: 'dev-1',
        timestamp: T,
        data: { system_status: 'RUNNING', battery: { soc: 81.5, voltage: 52.1 }, grid: { power: -1200 } },
      }),
      [
        { Name: 'battery.soc', Value: '81.5', Type: 'DOUBLE' },
        { Name: 'battery.voltage', Value: '52.1', Type: 'DOUBLE' },
        { Name: 'grid.power', Value: '-1200', Type: 'DOUBLE' },
        { Name: 'system_status', Value: 'RUNNING', Type: 'VARCHAR' },
      ],
      String(T),
    ],
    [
      'exosense',
      encodeExosense({ channels: { '001': 78.2, '003': { lat: 1.5, lng: 2.5 } } }),
      [
        { Name: '001', Value: '78.2', Type: 'DOUBLE' },
        { Name: '003.lat', Value: '1.5', Type: 'DOUBLE' },
        { Name: '003.lng', Value: '2.5', Type: 'DOUBLE' },
      ],
      String(RECEIVED),
    ],
    [
      'dialtone',
      encodeDialtone({
        devId: 'dev-1',
        dts: T / 1000,
        devData: { bat: 99.5, temp: 25 },
        chans: [{ chIdx: 0, data: [{ dataIdx: 0, units: 1, val: 0.003 }] }],
      }),
      [
        { Name: 'ch0.0', Value: '0.003', Type: 'DOUBLE' },
        { Name: 'ch0.0.units', Value: '1', Type: 'DOUBLE' },
        { Name: 'dev.bat', Value: '99.5', Type: 'DOUBLE' },
        { Name: 'dev.temp', Value: '25', Type: 'DOUBLE' },
      ],
      String(T),
    ],
    [
      'protobuf',
      encodeProtobuf({
        deviceId: 'dev-1',
        token: TOKEN,
        tags: { site: 'a' },
        points: [{ timestamp: T, fields: { rpm: 1200, ok: true, mode: 'eco' } }],
      }),
      [
        { Name: 'mode', Value: 'eco', Type: 'VARCHAR' },
        { Name: 'ok', Value: 'true', Type: 'BOOLEAN' },
        { Name: 'rpm', Value: '1200', Type: 'DOUBLE' },
      ],
      String(T),
      { 'tag.site': 'a' },
    ],
  ];

  for (const [format, payload, values, time, tags] of formats) {
    it(`stores a ${format} message as the expected Timestream record`, async () => {
      const before = (await timestreamRecords(moto)).length;
      const out = await handler(ruleEvent(payload, topic(format), 'dev-1', RECEIVED), context);
      expect(out).toMatchObject({ status: 'stored', stored: 1, tenant: 't1', device: 'dev-1', format });
      const expected: StoredRecord = {
        Dimensions: [
          { Name: 'device', Value: 'dev-1' },
          ...Object.entries(tags ?? {}).map(([Name, Value]) => ({ Name, Value })),
        ],
        MeasureName: 'telemetry',
        Time: time,
        MeasureValues: values,
      };
      // What moto stored…
      expect((await timestreamRecords(moto)).slice(before)).toEqual([expected]);
      // …and what Timestream would have, with the request's CommonAttributes.
      expect(effective()).toEqual([
        { ...expected, Dimensions: [{ Name: 'tenant', Value: 't1' }, ...expected.Dimensions], Version: 1 },
      ]);
      expect(await deadLetters(res)).toEqual([]);
    });
  }

  it('stores a flexconnect-binary message decoded with the device DBC from S3 (and reports unknown ids)', async () => {
    const dbc = [
      'VERSION ""',
      'NS_ :',
      'BS_:',
      'BU_: ECU',
      'BO_ 256 Engine: 8 ECU',
      ' SG_ Speed : 0|16@1+ (0.1,0) [0|6553.5] "km/h" Vector__XXX',
      ' SG_ Rpm : 16|16@1+ (1,0) [0|65535] "rpm" Vector__XXX',
      '',
    ].join('\n');
    await res.files.put('dbc/t1/engine', Buffer.from(dbc), 'text/plain');
    await res.registry.put({ ...(await res.registry.get('t1', 'dev-1'))!, dbcKey: 'dbc/t1/engine' });
    const payload = encodeFlexconnectBinary({
      token: TOKEN,
      points: [
        {
          timestamp: T,
          readings: [
            { id: 256, data: Uint8Array.of(0x10, 0x27, 0xb8, 0x0b, 0, 0, 0, 0) },
            { id: 0x300, data: Uint8Array.of(1, 2) },
          ],
        },
      ],
    });
    const before = (await timestreamRecords(moto)).length;
    const out = await handler(ruleEvent(payload, topic('flexconnect-binary'), 'dev-1', RECEIVED), context);
    expect(out).toMatchObject({ status: 'stored', stored: 1, warnings: 1, code: 'DECODE_WARNINGS' });
    expect((await timestreamRecords(moto)).slice(before)).toEqual([
      {
        Dimensions: [
          { Name: 'device', Value: 'dev-1' },
          { Name: 'tag.bus', Value: '0' },
        ],
        MeasureName: 'telemetry',
        Time: String(T),
        MeasureValues: [
          { Name: 'Engine.Rpm', Value: '3000', Type: 'DOUBLE' },
          { Name: 'Engine.Speed', Value: '1000', Type: 'DOUBLE' },
        ],
      },
    ]);
    const events = await systemEvents(res);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'ingest.warnings',
      code: 'DECODE_WARNINGS',
      number: EVENT_NUMBERS.DECODE_WARNINGS,
      detail: { warnings: { DBC_UNKNOWN_ID: 1 } },
    });
    expect(await deadLetters(res)).toEqual([]);
  });

  it('dead-letters a wrong token to SQS and publishes a numbered event to EventBridge', async () => {
    const payload = encodeFlexconnectJson({ token: 'not-the-token', points: [{ timestamp: T, fields: [] }] });
    const ev = ruleEvent(payload, topic('flexconnect-json'), 'dev-1', RECEIVED);
    const out = await handler(ev, context);
    expect(out).toMatchObject({ status: 'rejected', code: 'TOKEN_MISMATCH', deadLettered: true });
    const letters = await deadLetters(res);
    expect(letters).toEqual([
      {
        code: 'TOKEN_MISMATCH',
        reason: 'The payload token does not match the device token',
        payloadBase64: ev.payload,
        topic: ev.topic,
        clientId: 'dev-1',
        tenant: 't1',
        receivedAt: RECEIVED,
      },
    ]);
    const events = await systemEvents(res);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      detailType: 'ingest.rejected',
      type: 'ingest.rejected',
      code: 'TOKEN_MISMATCH',
      number: EVENT_NUMBERS.TOKEN_MISMATCH,
      tenant: 't1',
      device: 'dev-1',
      time: RECEIVED,
    });
    expect(writes).toEqual([]);
    // Neither the payload nor any token is logged; the log line and the metrics carry the code.
    const logged = stdout.join('');
    expect(logged).toContain('"message":"message dead-lettered"');
    expect(logged).not.toContain('not-the-token');
    expect(logged).not.toContain(ev.payload);
    expect(logged).toContain('"DeadLetters"');
    expect(logged).toContain('"code":"TOKEN_MISMATCH"');
  });

  it('refuses disabled devices and identities that are not MQTT clients', async () => {
    const disabled = await handler(ruleEvent('{}', topic('ems', 'dev-2'), 'dev-2'), context);
    expect(disabled).toMatchObject({ code: 'DEVICE_DISABLED', tenant: 't2' });
    const http = await handler(ruleEvent('{}', topic('ems'), 'n/a'), context);
    expect(http.code).toBe('IDENTITY_MISSING');
    const notAnEvent = await handler({ Records: [] }, context);
    expect(notAnEvent.code).toBe('INVALID_EVENT');
    expect((await deadLetters(res)).map((l) => l.code)).toEqual([
      'DEVICE_DISABLED',
      'IDENTITY_MISSING',
      'INVALID_EVENT',
    ]);
  });

  it('moves lastSeen forward in the DynamoDB registry', async () => {
    await res.registry.put({ ...(await res.registry.get('t1', 'dev-1'))!, lastSeen: T - 3_600_000 });
    const payload = encodeEms({ deviceId: 'dev-1', timestamp: T, data: { battery: { soc: 1 } } });
    await handler(ruleEvent(payload, topic('ems'), 'dev-1', RECEIVED), context);
    expect((await res.registry.get('t1', 'dev-1'))?.lastSeen).toBe(RECEIVED);
    // Never backwards.
    await res.registry.touch('dev-1', RECEIVED - 1);
    expect((await res.registry.get('t1', 'dev-1'))?.lastSeen).toBe(RECEIVED);
  });
});

describe('DynamoDB registry on moto', () => {
  it('isolates tenants and keeps thing names unique across tenants', async () => {
    expect(await res.registry.get('t2', 'dev-1')).toBeUndefined();
    expect((await res.registry.get('t1', 'dev-1'))?.deviceId).toBe('dev-1');
    expect((await res.registry.getByThing('dev-1'))?.tenant).toBe('t1');
    await expect(res.registry.create(device({ deviceId: 'dev-1', tenant: 't2' }))).rejects.toBeInstanceOf(
      DeviceExistsError,
    );
    expect(await res.registry.delete('t2', 'dev-1')).toBe(false);
    expect((await res.registry.list('t2', { limit: 10 })).items.map((d) => d.deviceId)).toEqual(['dev-2']);
    await expect(res.registry.put(device({ deviceId: 'dev-1', tenant: 't2' }))).rejects.toMatchObject({
      code: 'DEVICE_NOT_FOUND',
    });
  });

  it('pages a tenant and frees a thing name on delete', async () => {
    for (const id of ['p-1', 'p-2', 'p-3']) await res.registry.create(device({ deviceId: id, tenant: 't3' }));
    const first = await res.registry.list('t3', { limit: 2 });
    expect(first.items.map((d) => d.deviceId)).toEqual(['p-1', 'p-2']);
    const second = await res.registry.list('t3', { limit: 2, ...(first.next ? { cursor: first.next } : {}) });
    expect(second.items.map((d) => d.deviceId)).toEqual(['p-3']);
    expect(await res.registry.delete('t3', 'p-3')).toBe(true);
    await res.registry.create(device({ deviceId: 'p-3', tenant: 't4' }));
    expect((await res.registry.getByThing('p-3'))?.tenant).toBe('t4');
  });
});

describe('S3 file store on moto', () => {
  it('reads, heads and presigns objects; missing keys are undefined', async () => {
    const { etag } = await res.files.put('dbc/t1/file-1', Buffer.from('VERSION ""'), 'text/plain');
    expect(etag).toMatch(/^[0-9a-f]{32}$/);
    expect(await res.files.head('dbc/t1/file-1')).toEqual({ etag, size: 10 });
    expect(Buffer.from((await res.files.get('dbc/t1/file-1'))!.bytes).toString()).toBe('VERSION ""');
    expect(await res.files.get('dbc/t1/none')).toBeUndefined();
    expect(await res.files.head('dbc/t1/none')).toBeUndefined();
    const url = await res.files.presignGet('dbc/t1/file-1', 300);
    expect(url).toContain('X-Amz-Expires=300');
    expect(await (await fetch(url)).text()).toBe('VERSION ""');
    const put = await res.files.presignPut('dbc/t1/file-2', 300, 'text/plain');
    const r = await fetch(put, { method: 'PUT', body: 'BU_: X', headers: { 'content-type': 'text/plain' } });
    expect(r.status).toBe(200);
    expect(Buffer.from((await res.files.get('dbc/t1/file-2'))!.bytes).toString()).toBe('BU_: X');
    await expect(res.files.presignGet('k', 8 * 24 * 3600)).rejects.toBeInstanceOf(RangeError);
  });
});
