/**
 * The API on its AWS adapters against moto_server: IoT things and certificates (provision, rotate,
 * delete), the device registry and the API data table in DynamoDB (commands with conditional transitions,
 * files, API keys, events), S3 presigned uploads and downloads, and command publishes through the IoT
 * data plane read back from moto's request recorder. Tenant isolation is checked on the same stack.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreatePolicyCommand,
  CreateThingTypeCommand,
  DescribeCertificateCommand,
  DescribeThingCommand,
  IoTClient,
  ListThingPrincipalsCommand,
} from '@aws-sdk/client-iot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_TABLE_KEYS, DynamoDbApiStores } from '../../lambdas/adapters/aws/dynamodb-api-stores.js';
import { createIotDataClient, IotDataPublisher } from '../../lambdas/adapters/aws/iot-data-publisher.js';
import { IotIdentityProvider } from '../../lambdas/adapters/aws/iot-identity-provider.js';
import { apiKeyAuthenticator, issueApiKey } from '../../lambdas/api/auth.js';
import { type Api, createApi } from '../../lambdas/api/router.js';
import { createCommandService } from '../../lambdas/services/command-service.js';
import { testDbcCheck } from '../support/api-harness.js';
import { createIngestResources, type IngestResources } from '../support/aws-fixture.js';
import { type MotoServer, startMoto, useMotoEnv } from '../support/moto.js';
import { DBC_TEXT, sha256 } from './fixtures.js';

let moto: MotoServer;
let res: IngestResources;
let stores: DynamoDbApiStores;
let api: Api;
let iot: IoTClient;
const keys: Record<string, string> = {};

async function call(key: string, method: string, path: string, body?: unknown) {
  const out = await api({
    method,
    path,
    query: {},
    headers: {
      authorization: `Bearer ${key}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary fields.
  return { status: out.statusCode, body: (out.body ? JSON.parse(out.body) : undefined) as any };
}

/** Publishes moto received on the IoT data plane since recording started. */
async function published(): Promise<{ topic: string; payload: unknown }[]> {
  const text = await (await fetch(`${moto.url}/moto-api/recorder/download-recording`)).text();
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as { url: string; body?: string; body_encoded?: boolean })
    .filter((r) => new URL(r.url).pathname.startsWith('/topics/'))
    .map((r) => ({
      topic: decodeURIComponent(new URL(r.url).pathname.slice('/topics/'.length)),
      payload: JSON.parse(Buffer.from(r.body ?? '', r.body_encoded ? 'base64' : 'utf8').toString('utf8')),
    }));
}

// moto_server writes its request recording to MOTO_RECORDER_FILEPATH (default: ./moto_recording in its
// working directory, the repository): keep it in a temporary directory instead.
const recordingDir = mkdtempSync(join(tmpdir(), 'fleetwire-moto-'));

beforeAll(async () => {
  process.env.MOTO_RECORDER_FILEPATH = join(recordingDir, 'recording.jsonl');
  moto = await startMoto();
  useMotoEnv(moto);
  res = await createIngestResources();
  const ddb = new DynamoDBClient({});
  const K = API_TABLE_KEYS;
  await ddb.send(
    new CreateTableCommand({
      TableName: 'fleetwire-api',
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        K.partitionKey,
        K.sortKey,
        K.deviceIndexPartitionKey,
        K.deviceIndexSortKey,
        K.tenantIndexPartitionKey,
        K.tenantIndexSortKey,
        K.expiryIndexPartitionKey,
        K.expiryIndexSortKey,
      ].map((AttributeName) => ({ AttributeName, AttributeType: 'S' as const })),
      KeySchema: [
        { AttributeName: K.partitionKey, KeyType: 'HASH' },
        { AttributeName: K.sortKey, KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: K.deviceIndex,
          KeySchema: [
            { AttributeName: K.deviceIndexPartitionKey, KeyType: 'HASH' },
            { AttributeName: K.deviceIndexSortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
        {
          IndexName: K.expiryIndex,
          KeySchema: [
            { AttributeName: K.expiryIndexPartitionKey, KeyType: 'HASH' },
            { AttributeName: K.expiryIndexSortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
        {
          IndexName: K.tenantIndex,
          KeySchema: [
            { AttributeName: K.tenantIndexPartitionKey, KeyType: 'HASH' },
            { AttributeName: K.tenantIndexSortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    }),
  );
  iot = new IoTClient({});
  await iot.send(new CreateThingTypeCommand({ thingTypeName: 'fleetwire-device' }));
  await iot.send(
    new CreatePolicyCommand({
      policyName: 'fleetwire-device',
      policyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Action: 'iot:Connect', Resource: '*' }],
      }),
    }),
  );
  stores = new DynamoDbApiStores(ddb, { tableName: 'fleetwire-api' });
  const now = Date.now();
  keys.acme = (await issueApiKey(stores.apiKeys, 'acme', 'operator', now)).key;
  keys.acmeViewer = (await issueApiKey(stores.apiKeys, 'acme', 'viewer', now)).key;
  keys.globex = (await issueApiKey(stores.apiKeys, 'globex', 'operator', now)).key;
  api = createApi({
    authenticator: apiKeyAuthenticator(stores.apiKeys),
    registry: res.registry,
    identity: new IotIdentityProvider(iot, {
      thingTypeName: 'fleetwire-device',
      policyNames: ['fleetwire-device'],
    }),
    // Timestream queries are covered by timestream-query.test.ts (moto's Timestream Query only replays
    // canned results); nothing here reads telemetry.
    telemetry: {
      write: async () => ({ written: 0, rejected: [] }),
      query: async () => ({ points: [] }),
      latest: async () => [],
    },
    commands: stores.commands,
    publisher: new IotDataPublisher(createIotDataClient(process.env)),
    files: res.files,
    catalog: stores.files,
    events: stores.events,
    eventSink: stores.events,
    apiKeys: stores.apiKeys,
    checkDbc: testDbcCheck,
    validateResponses: true,
    logger: { error: (m, d) => console.error(m, d), warn: () => undefined },
  });
  await fetch(`${moto.url}/moto-api/recorder/start-recording`, { method: 'POST' });
}, 60_000);

afterAll(async () => {
  await fetch(`${moto.url}/moto-api/recorder/stop-recording`, { method: 'POST' }).catch(() => undefined);
  await moto?.stop();
  delete process.env.MOTO_RECORDER_FILEPATH;
  rmSync(recordingDir, { recursive: true, force: true });
});

describe('API on AWS adapters (moto_server)', () => {
  let deviceId: string;
  let certificateId: string;

  it('provisions a device as an IoT thing with an active certificate and a registry entry', async () => {
    const r = await call(keys.acme as string, 'POST', '/v1/devices', {
      deviceId: 'ems_001',
      name: 'EMS',
      tags: { label: 'roof' },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    deviceId = r.body.deviceId;
    certificateId = r.body.certificateId;
    expect(r.body.privateKey).toContain('PRIVATE KEY');
    const thing = await iot.send(new DescribeThingCommand({ thingName: deviceId }));
    expect(thing.attributes?.tenant).toBe('acme');
    const principals = await iot.send(new ListThingPrincipalsCommand({ thingName: deviceId }));
    expect(principals.principals?.length).toBe(1);
    const cert = await iot.send(new DescribeCertificateCommand({ certificateId }));
    expect(cert.certificateDescription?.status).toBe('ACTIVE');
    expect((await call(keys.acme as string, 'GET', `/v1/devices/${deviceId}`)).body.name).toBe('EMS');
    expect((await call(keys.globex as string, 'GET', `/v1/devices/${deviceId}`)).status).toBe(404);
  });

  it('publishes commands on the device’s req topic and tracks acknowledgements with conditional writes', async () => {
    const r = await call(keys.acme as string, 'POST', `/v1/devices/${deviceId}/commands`, {
      action: 'SET_MODE',
      payload: { target_mode: 'AUTO' },
    });
    expect(r.status).toBe(202);
    expect(r.body.status).toBe('SENT');
    const pubs = await published();
    expect(pubs.at(-1)).toMatchObject({
      topic: `cmd/fleetwire/${deviceId}/req`,
      payload: { command_id: r.body.commandId, action: 'SET_MODE', payload: { target_mode: 'AUTO' } },
    });
    const svc = createCommandService({
      commands: stores.commands,
      publisher: new IotDataPublisher(createIotDataClient(process.env)),
      registry: res.registry,
      events: stores.events,
      newId: () => 'unused',
    });
    expect(
      await svc.handleResponse(
        deviceId,
        JSON.stringify({ command_id: r.body.commandId, status: 'SUCCEEDED' }),
      ),
    ).toMatchObject({ applied: true });
    expect(
      await svc.handleResponse(
        deviceId,
        JSON.stringify({ command_id: r.body.commandId, status: 'ACKNOWLEDGED' }),
      ),
    ).toMatchObject({ applied: false });
    const got = await call(
      keys.acmeViewer as string,
      'GET',
      `/v1/devices/${deviceId}/commands/${r.body.commandId}`,
    );
    expect(got.body.status).toBe('SUCCEEDED');
    expect(got.body.history.map((h: { status: string }) => h.status)).toEqual([
      'QUEUED',
      'SENT',
      'SUCCEEDED',
    ]);
    const list = await call(keys.acme as string, 'GET', `/v1/devices/${deviceId}/commands`);
    expect(list.body.items.map((c: { commandId: string }) => c.commandId)).toContain(r.body.commandId);
    expect(
      (await call(keys.globex as string, 'GET', `/v1/devices/${deviceId}/commands/${r.body.commandId}`))
        .status,
    ).toBe(404);
  });

  it('uploads through a presigned S3 URL, verifies the checksum, and serves a presigned download', async () => {
    const created = await call(keys.acme as string, 'POST', '/v1/files', {
      kind: 'dbc',
      name: 'engine.dbc',
      version: '1',
      sha256: sha256(DBC_TEXT),
      size: Buffer.byteLength(DBC_TEXT),
    });
    expect(created.status).toBe(201);
    const put = await fetch(created.body.upload.url, {
      method: 'PUT',
      headers: created.body.upload.headers,
      body: DBC_TEXT,
    });
    expect(put.status).toBe(200);
    const done = await call(keys.acme as string, 'POST', `/v1/files/${created.body.file.fileId}/complete`);
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(done.body.lint).toMatchObject({ messages: 1, signals: 1 });
    const dl = await call(keys.acme as string, 'GET', `/v1/files/${created.body.file.fileId}/download`);
    expect(await (await fetch(dl.body.url)).text()).toBe(DBC_TEXT);
    const assigned = await call(keys.acme as string, 'PUT', `/v1/devices/${deviceId}/dbc`, {
      fileId: created.body.file.fileId,
    });
    expect(assigned.body.dbcFileId).toBe(created.body.file.fileId);
    expect((await res.registry.get('acme', deviceId))?.dbcKey).toBe(`dbc/acme/${created.body.file.fileId}`);
    expect((await call(keys.globex as string, 'GET', `/v1/files/${created.body.file.fileId}`)).status).toBe(
      404,
    );
  });

  it('sweeps open commands past their deadline to TIMED_OUT through the sparse expiry index', async () => {
    const short = await call(keys.acme as string, 'POST', `/v1/devices/${deviceId}/commands`, {
      action: 'REBOOT',
      expiresInSeconds: 1,
    });
    const long = await call(keys.acme as string, 'POST', `/v1/devices/${deviceId}/commands`, {
      action: 'REBOOT',
      expiresInSeconds: 3600,
    });
    let now = Date.now();
    const svc = createCommandService({
      commands: stores.commands,
      publisher: new IotDataPublisher(createIotDataClient(process.env)),
      registry: res.registry,
      events: stores.events,
      clock: () => now,
      newId: () => 'unused',
    });
    now += 5_000;
    expect(await svc.sweepExpired()).toBe(1);
    expect((await stores.commands.get('acme', short.body.commandId))?.status).toBe('TIMED_OUT');
    expect((await stores.commands.get('acme', long.body.commandId))?.status).toBe('SENT');
    // Final commands leave the index: a second sweep finds nothing.
    expect(await svc.sweepExpired()).toBe(0);
    expect(await stores.commands.listExpired?.(now + 7_200_000, 10)).toEqual([
      expect.objectContaining({ commandId: long.body.commandId }),
    ]);
    const ev = await stores.events.list('acme', { deviceId, limit: 10 });
    expect(
      ev.items.some((e) => e.code === 'COMMAND_TIMED_OUT' && e.detail.commandId === short.body.commandId),
    ).toBe(true);
  });

  it('rotates: a new active certificate on the same thing, the old one revoked and detached', async () => {
    const r = await call(keys.acme as string, 'POST', `/v1/devices/${deviceId}/credentials:rotate`, {});
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.certificateId).not.toBe(certificateId);
    const old = await iot.send(new DescribeCertificateCommand({ certificateId }));
    expect(old.certificateDescription?.status).toBe('REVOKED');
    const principals = await iot.send(new ListThingPrincipalsCommand({ thingName: deviceId }));
    expect(principals.principals?.length).toBe(1);
    expect(principals.principals?.[0]).toContain(r.body.certificateId);
    certificateId = r.body.certificateId;
  });

  it('lists tenant events and API keys; pagination cursors stay in their tenant', async () => {
    const ev = await call(keys.acme as string, 'GET', '/v1/events');
    expect(ev.body.items.map((e: { type: string }) => e.type)).toEqual(
      expect.arrayContaining(['device.created', 'device.credentials_rotated']),
    );
    expect((await call(keys.globex as string, 'GET', '/v1/events')).body.items).toEqual([]);
    const page = await api({
      method: 'GET',
      path: '/v1/api-keys',
      query: { limit: '1' },
      headers: { authorization: `Bearer ${keys.acme}` },
    });
    const next = JSON.parse(page.body).next;
    expect(next).toBeTypeOf('string');
    const stolen = await api({
      method: 'GET',
      path: '/v1/api-keys',
      query: { cursor: next },
      headers: { authorization: `Bearer ${keys.globex}` },
    });
    expect(stolen.statusCode).toBe(400);
  });

  it('deletes: certificate revoked and detached, thing removed, registry entry gone', async () => {
    expect((await call(keys.acmeViewer as string, 'DELETE', `/v1/devices/${deviceId}`)).status).toBe(403);
    expect((await call(keys.globex as string, 'DELETE', `/v1/devices/${deviceId}`)).status).toBe(404);
    expect((await call(keys.acme as string, 'DELETE', `/v1/devices/${deviceId}`)).status).toBe(204);
    await expect(iot.send(new DescribeThingCommand({ thingName: deviceId }))).rejects.toThrow();
    const cert = await iot.send(new DescribeCertificateCommand({ certificateId }));
    expect(cert.certificateDescription?.status).toBe('REVOKED');
    expect(await res.registry.get('acme', deviceId)).toBeUndefined();
  });
});
