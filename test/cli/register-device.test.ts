/**
 * `fleetwire register-device` against moto_server: real AWS SDK clients (IoT, DynamoDB), the fleet's
 * real device policy documents, the registry adapter the ingest path reads.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AttributeDefinition,
  CreateTableCommand,
  DynamoDBClient,
  type KeySchemaElement,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import {
  CreatePolicyCommand,
  CreateThingTypeCommand,
  DescribeCertificateCommand,
  DescribeThingCommand,
  IoTClient,
  ListAttachedPoliciesCommand,
  ListCertificatesCommand,
  ListThingPrincipalsCommand,
  ListThingsCommand,
} from '@aws-sdk/client-iot';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { DynamoDbDeviceRegistry } from '../../lambdas/adapters/aws/dynamodb-device-registry.js';
import { certificateFingerprint } from '../../lambdas/adapters/aws/iot-identity-provider.js';
import { run } from '../../lambdas/cli/commands/register-device.js';
import { UsageError } from '../../lambdas/cli/io.js';
import { deploymentNames, REGISTRY_KEYS } from '../../lambdas/core/deployment-contract.js';
import { verifyToken } from '../../lambdas/core/token.js';
import { devicePolicyDocuments } from '../../lib/constructs/device-fleet.js';
import { type MotoServer, motoEnv, startMoto, useMotoEnv } from '../support/moto.js';

const ENV = 'clitest';
const names = deploymentNames(ENV);
const root = join(import.meta.dirname, '..', '..');

let moto: MotoServer;
let iot: IoTClient;
let ddb: DynamoDBClient;
let registry: DynamoDbDeviceRegistry;

async function createFleet(): Promise<void> {
  const keys: KeySchemaElement[] = [
    { AttributeName: REGISTRY_KEYS.partitionKey, KeyType: 'HASH' },
    { AttributeName: REGISTRY_KEYS.sortKey, KeyType: 'RANGE' },
  ];
  const attrs: AttributeDefinition[] = [
    { AttributeName: REGISTRY_KEYS.partitionKey, AttributeType: 'S' },
    { AttributeName: REGISTRY_KEYS.sortKey, AttributeType: 'S' },
  ];
  await ddb.send(
    new CreateTableCommand({
      TableName: names.registryTable,
      KeySchema: keys,
      AttributeDefinitions: attrs,
      BillingMode: 'PAY_PER_REQUEST',
      GlobalSecondaryIndexes: [
        {
          IndexName: REGISTRY_KEYS.deviceIndex,
          KeySchema: [{ AttributeName: REGISTRY_KEYS.sortKey, KeyType: 'HASH' }],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    }),
  );
  await iot.send(
    new CreateThingTypeCommand({
      thingTypeName: names.thingType,
      thingTypeProperties: { searchableAttributes: ['tenant'] },
    }),
  );
  // The policy documents the CDK app deploys, with literal ARNs.
  const docs = devicePolicyDocuments(
    { app: names.app, rulePrefix: names.rulePrefix },
    (kind, name) => `arn:aws:iot:us-east-1:123456789012:${kind}/${name}`,
  );
  for (const [i, doc] of docs.entries()) {
    await iot.send(
      new CreatePolicyCommand({ policyName: names.devicePolicies[i], policyDocument: JSON.stringify(doc) }),
    );
  }
}

/** Run the command in-process, capturing stdout and stderr. */
async function register(...args: string[]): Promise<{ status: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    err += String(chunk);
    return true;
  });
  try {
    const status = await run(['--env', ENV, ...args]);
    return { status, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

async function thingNames(): Promise<string[]> {
  return ((await iot.send(new ListThingsCommand({}))).things ?? []).map((t) => t.thingName ?? '');
}

async function certificateCount(): Promise<number> {
  return ((await iot.send(new ListCertificatesCommand({}))).certificates ?? []).length;
}

beforeAll(async () => {
  moto = await startMoto();
  useMotoEnv(moto);
  iot = new IoTClient({});
  ddb = new DynamoDBClient({});
  registry = new DynamoDbDeviceRegistry(ddb, { table: names.registryTable });
});

afterAll(async () => {
  await moto?.stop();
});

beforeEach(async () => {
  await moto.reset();
  await createFleet();
});

describe('fleetwire register-device', () => {
  it('creates thing, certificate, policy and thing attachments, registry entry and a hashed token', async () => {
    const r = await register(
      '--tenant',
      'acme',
      '--device',
      'truck-1',
      '--name',
      'Truck 1',
      '--dbc',
      'dbc/acme/t.dbc',
    );
    expect(r.err).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.out) as Record<string, unknown> & {
      token: string;
      certificateId: string;
      certificatePem: string;
      privateKey: string;
      fingerprint: string;
      mqtt: { host: string; port: number; clientId: string };
      topics: { telemetry: Record<string, string>; basicIngest: Record<string, string> };
    };
    expect(out.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(out.privateKey).toContain('PRIVATE KEY');
    expect(out.fingerprint).toBe(certificateFingerprint(out.certificatePem));
    expect(out.mqtt).toMatchObject({ port: 8883, clientId: 'truck-1' });
    expect(out.mqtt.host).toBeTruthy();
    expect(out.topics.telemetry.ems).toBe('dt/fleetwire-clitest/truck-1/ems');
    expect(out.topics.basicIngest.ems).toBe(
      '$aws/rules/fleetwire_clitest_dt_ems/dt/fleetwire-clitest/truck-1/ems',
    );

    const thing = await iot.send(new DescribeThingCommand({ thingName: 'truck-1' }));
    expect(thing.thingTypeName).toBe(names.thingType);
    expect(thing.attributes).toEqual({ tenant: 'acme' });

    const cert = await iot.send(new DescribeCertificateCommand({ certificateId: out.certificateId }));
    expect(cert.certificateDescription?.status).toBe('ACTIVE');
    const arn = cert.certificateDescription?.certificateArn as string;
    const principals = await iot.send(new ListThingPrincipalsCommand({ thingName: 'truck-1' }));
    expect(principals.principals).toEqual([arn]);
    const attached = await iot.send(new ListAttachedPoliciesCommand({ target: arn }));
    expect((attached.policies ?? []).map((p) => p.policyName).sort()).toEqual(
      [...names.devicePolicies].sort(),
    );

    const rec = await registry.getByThing('truck-1');
    expect(rec).toMatchObject({
      tenant: 'acme',
      deviceId: 'truck-1',
      name: 'Truck 1',
      status: 'active',
      certificateId: out.certificateId,
      certificateFingerprint: out.fingerprint,
      dbcKey: 'dbc/acme/t.dbc',
    });
    expect(verifyToken(out.token, rec?.tokenHash ?? '')).toBe(true);
    // The token itself is stored nowhere.
    const items = await ddb.send(new ScanCommand({ TableName: names.registryTable }));
    expect(JSON.stringify(items.Items)).not.toContain(out.token);
  });

  it('issues the certificate from a CSR without ever seeing the private key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fw-csr-'));
    try {
      const key = join(dir, 'device.key');
      const csr = join(dir, 'device.csr');
      const gen = spawnSync(
        'openssl',
        [
          'req',
          '-new',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:P-256',
          '-nodes',
          '-keyout',
          key,
          '-out',
          csr,
          '-subj',
          '/CN=sensor-9',
        ],
        { encoding: 'utf8' },
      );
      expect(gen.status, gen.stderr).toBe(0);
      const r = await register('--tenant', 'acme', '--device', 'sensor-9', '--csr', csr);
      expect(r.status).toBe(0);
      const out = JSON.parse(r.out) as { privateKey?: string; certificatePem: string; certificateId: string };
      expect(out.privateKey).toBeUndefined();
      expect(out.certificatePem).toContain('BEGIN CERTIFICATE');
      expect((await registry.getByThing('sensor-9'))?.certificateId).toBe(out.certificateId);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes secrets to 0600 files with --out and keeps them off stdout; imports an existing token', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fw-out-'));
    try {
      const tokenFile = join(dir, 'legacy.token');
      const legacy = 'flexconnect-legacy-token-0123456789';
      writeFileSync(tokenFile, `${legacy}\n`);
      const r = await register(
        '--tenant',
        'acme',
        '--device',
        'fc-1',
        '--out',
        join(dir, 'creds'),
        '--token-file',
        tokenFile,
      );
      expect(r.status).toBe(0);
      const out = JSON.parse(r.out) as { files: Record<string, string>; token?: string; privateKey?: string };
      expect(out.token).toBeUndefined();
      expect(out.privateKey).toBeUndefined();
      expect(r.out).not.toContain(legacy);
      expect(readFileSync(out.files.token as string, 'utf8').trim()).toBe(legacy);
      expect(statSync(out.files.token as string).mode & 0o777).toBe(0o600);
      expect(statSync(out.files.privateKey as string).mode & 0o777).toBe(0o600);
      expect(readFileSync(out.files.certificate as string, 'utf8')).toContain('BEGIN CERTIFICATE');
      expect(verifyToken(legacy, (await registry.getByThing('fc-1'))?.tokenHash ?? '')).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a device id that is already registered, leaving nothing behind', async () => {
    expect((await register('--tenant', 'acme', '--device', 'dup-1')).status).toBe(0);
    const certs = await certificateCount();
    const r = await register('--tenant', 'other', '--device', 'dup-1');
    expect(r.status).toBe(2);
    expect(JSON.parse(r.err)).toMatchObject({ error: 'DEVICE_ID_TAKEN' });
    expect(await certificateCount()).toBe(certs);
    expect((await registry.getByThing('dup-1'))?.tenant).toBe('acme');
  });

  it('refuses a thing that exists in IoT but not in the registry', async () => {
    expect((await register('--tenant', 'acme', '--device', 'orphan-1')).status).toBe(0);
    await registry.delete('acme', 'orphan-1');
    const r = await register('--tenant', 'acme', '--device', 'orphan-1');
    expect(r.status).toBe(2);
    expect(JSON.parse(r.err)).toMatchObject({ error: 'THING_EXISTS' });
  });

  it('rolls back thing and certificate when a later step fails', async () => {
    await expect(
      register('--tenant', 'acme', '--device', 'broken-1', '--policy', 'no-such-policy'),
    ).rejects.toThrow(/provisioning "broken-1" failed/);
    expect(await thingNames()).toEqual([]);
    const certs = (await iot.send(new ListCertificatesCommand({}))).certificates ?? [];
    expect(certs.filter((c) => c.status === 'ACTIVE')).toEqual([]);
    expect(await registry.getByThing('broken-1')).toBeUndefined();
  });

  it('rejects invalid tenants and device ids before touching AWS', async () => {
    const badTenant = await register('--tenant', '#thing', '--device', 'ok-1');
    expect(badTenant.status).toBe(2);
    expect(JSON.parse(badTenant.err)).toMatchObject({ error: 'INVALID_TENANT' });
    const badDevice = await register('--tenant', 'acme', '--device', 'no/slashes');
    expect(badDevice.status).toBe(2);
    expect(JSON.parse(badDevice.err)).toMatchObject({ error: 'INVALID_DEVICE_ID' });
    expect(await thingNames()).toEqual([]);
    await expect(register('--device', 'x')).rejects.toBeInstanceOf(UsageError);
    await expect(run(['--tenant', 'a', '--device', 'b', '--env', 'Bad Env'])).rejects.toBeInstanceOf(
      UsageError,
    );
  });

  it('runs as `fleetwire register-device` with AWS_ENDPOINT_URL from the environment', () => {
    const r = spawnSync(
      process.execPath,
      [
        join(root, 'node_modules/tsx/dist/cli.mjs'),
        join(root, 'lambdas/cli/main.ts'),
        'register-device',
        '--env',
        ENV,
        '--tenant',
        'acme',
        '--device',
        'proc-1',
      ],
      { encoding: 'utf8', env: { ...process.env, ...motoEnv(moto), AWS_PROFILE: '' }, cwd: root },
    );
    expect(r.stderr).not.toContain('"error"');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ tenant: 'acme', deviceId: 'proc-1' });
  });
});
