/**
 * The registry's connection state on DynamoDB (moto_server): lifecycle events write only
 * `connected`/`connectedAt` with a conditional UpdateItem ordered by event time, so they neither race with
 * ingest's `lastSeen` updates nor let a late, older event overwrite a newer one; and the command-events
 * service on this registry sends nothing into a session a newer disconnect already closed.
 */
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbDeviceRegistry } from '../../../lambdas/adapters/aws/dynamodb-device-registry.js';
import { REGISTRY_KEYS } from '../../../lambdas/core/deployment-contract.js';
import type { DeviceRecord } from '../../../lambdas/ports/device-registry.js';
import { handleCommandEvent } from '../../../lambdas/services/command-events.js';
import type { CommandService } from '../../../lambdas/services/command-service.js';
import { type MotoServer, startMoto, useMotoEnv } from '../../support/moto.js';

const TABLE = 'fleetwire-registry-connection';
let moto: MotoServer;
let ddb: DynamoDBClient;
let registry: DynamoDbDeviceRegistry;
let n = 0;
let device: string;

beforeAll(async () => {
  moto = await startMoto();
  useMotoEnv(moto);
  ddb = new DynamoDBClient({});
  await ddb.send(
    new CreateTableCommand({
      TableName: TABLE,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: REGISTRY_KEYS.partitionKey, AttributeType: 'S' },
        { AttributeName: REGISTRY_KEYS.sortKey, AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: REGISTRY_KEYS.partitionKey, KeyType: 'HASH' },
        { AttributeName: REGISTRY_KEYS.sortKey, KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: REGISTRY_KEYS.deviceIndex,
          KeySchema: [{ AttributeName: REGISTRY_KEYS.sortKey, KeyType: 'HASH' }],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    }),
  );
  registry = new DynamoDbDeviceRegistry(ddb, { table: TABLE });
}, 60_000);

afterAll(async () => {
  await moto?.stop();
});

beforeEach(async () => {
  device = `gw-${++n}`;
  const rec: DeviceRecord = {
    tenant: 'acme',
    deviceId: device,
    tags: { site: 'roof' },
    tokenHash: 'h',
    status: 'active',
    createdAt: 1,
  };
  await registry.create(rec);
});

/** The raw item, to see exactly which attributes were written. */
async function item(): Promise<Record<string, unknown>> {
  const doc = DynamoDBDocumentClient.from(ddb);
  const out = await doc.send(
    new GetCommand({ TableName: TABLE, Key: { tenant: 'acme', deviceId: device }, ConsistentRead: true }),
  );
  return out.Item ?? {};
}

describe('DynamoDbDeviceRegistry.recordConnection (moto_server)', () => {
  it('writes only connected/connectedAt, keeping lastSeen and every other attribute', async () => {
    await registry.touch(device, 5_000);
    const before = await item();
    expect(await registry.recordConnection('acme', device, true, 4_000)).toBe(true);
    const after = await item();
    expect(after).toEqual({ ...before, connected: true, connectedAt: 4_000 });
    expect((await registry.get('acme', device))?.connectedAt).toBe(4_000);
  });

  it('never lets an older event overwrite a newer one; on equal times a disconnect wins', async () => {
    expect(await registry.recordConnection('acme', device, true, 2_000)).toBe(true);
    // A late disconnect of the previous session.
    expect(await registry.recordConnection('acme', device, false, 1_000)).toBe(false);
    expect(await item()).toMatchObject({ connected: true, connectedAt: 2_000 });
    // A duplicate connect changes nothing; a disconnect at the same instant wins.
    expect(await registry.recordConnection('acme', device, true, 2_000)).toBe(false);
    expect(await registry.recordConnection('acme', device, false, 2_000)).toBe(true);
    expect(await item()).toMatchObject({ connected: false, connectedAt: 2_000 });
    expect(await registry.recordConnection('acme', device, true, 2_000)).toBe(false);
    expect(await registry.recordConnection('acme', device, true, 3_000)).toBe(true);
    expect(await item()).toMatchObject({ connected: true, connectedAt: 3_000 });
  });

  it('ends with the newest event whatever the order of delivery, racing ingest lastSeen updates', async () => {
    const events = Array.from({ length: 12 }, (_, i) => ({ at: 10_000 + i * 100, connected: i % 2 === 0 }));
    const shuffled = [...events].sort((a, b) => ((a.at * 7919) % 13) - ((b.at * 7919) % 13));
    await Promise.all([
      ...shuffled.map((e) => registry.recordConnection('acme', device, e.connected, e.at)),
      ...[7, 3, 9, 1].map((s) => registry.touch(device, s * 1_000)),
    ]);
    const newest = events.at(-1) as { at: number; connected: boolean };
    expect(await item()).toMatchObject({
      connected: newest.connected,
      connectedAt: newest.at,
      lastSeen: 9_000,
      tags: { site: 'roof' },
      tokenHash: 'h',
    });
  });

  it('creates nothing for an unknown device and refuses a non-finite time', async () => {
    expect(await registry.recordConnection('acme', 'no-such-device', true, 1)).toBe(false);
    expect(await registry.recordConnection('globex', device, true, 1)).toBe(false);
    expect(await registry.get('acme', 'no-such-device')).toBeUndefined();
    await expect(registry.recordConnection('acme', device, true, Number.NaN)).rejects.toThrow(/finite/);
  });
});

describe('command events on the DynamoDB registry (moto_server)', () => {
  /** A command service that only counts deliveries (command delivery itself is tested elsewhere). */
  function countingCommands(): { service: CommandService; deliveries: string[] } {
    const deliveries: string[] = [];
    const service = {
      onDeviceConnected: async (_tenant: string, deviceId: string) => {
        deliveries.push(deviceId);
        return { sent: 1, timedOut: 0 };
      },
    } as unknown as CommandService;
    return { service, deliveries };
  }

  it('applies presence events in event-time order, and delivers on a subscription to the command topic', async () => {
    const { service, deliveries } = countingCommands();
    const deps = { registry, commands: service, app: 'fleetwire' };
    await handleCommandEvent({ clientId: device, eventType: 'connected', timestamp: 2_000 }, deps);
    // The previous session's disconnect, delivered late: ignored.
    expect(
      await handleCommandEvent({ clientId: device, eventType: 'disconnected', timestamp: 1_000 }, deps),
    ).toMatchObject({ kind: 'lifecycle', recorded: false });
    expect(await item()).toMatchObject({ connected: true, connectedAt: 2_000 });
    expect(deliveries).toEqual([]);
    expect(
      await handleCommandEvent(
        {
          clientId: device,
          eventType: 'subscribed',
          timestamp: 2_050,
          topics: [`cmd/fleetwire/${device}/req`],
        },
        deps,
      ),
    ).toMatchObject({ kind: 'lifecycle', event: 'subscribed', connected: true, recorded: true, sent: 1 });
    expect(deliveries).toEqual([device]);
    expect(await item()).toMatchObject({ connected: true, connectedAt: 2_050 });
  });

  it('sends nothing when a newer disconnect was already recorded (a late subscription event)', async () => {
    const { service, deliveries } = countingCommands();
    const deps = { registry, commands: service, app: 'fleetwire' };
    await handleCommandEvent({ clientId: device, eventType: 'disconnected', timestamp: 5_000 }, deps);
    expect(
      await handleCommandEvent(
        {
          clientId: device,
          eventType: 'subscribed',
          timestamp: 4_000,
          topics: [`cmd/fleetwire/${device}/req`],
        },
        deps,
      ),
    ).toMatchObject({ kind: 'lifecycle', connected: false, recorded: false, sent: 0 });
    expect(deliveries).toEqual([]);
    expect(await item()).toMatchObject({ connected: false, connectedAt: 5_000 });
  });
});
