/**
 * End to end through the public surfaces of the local stack: devices provisioned over HTTP, MQTT over
 * TLS with certificates from the local CA (MQTT 3.1.1 and 5), the real ingest service and the SQLite
 * store behind it.
 */
import { connect as tlsConnect } from 'node:tls';
import { gzipSync } from 'node:zlib';
import type { MqttClient } from 'mqtt';
import { generate } from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCa } from '../../lambdas/local/pki/local-ca.js';
import type { LocalStack } from '../../lambdas/local/stack.js';
import {
  call,
  closed,
  connect,
  connectOk,
  type DeviceCredentials,
  provision,
  startTestStack,
  tempDir,
  waitFor,
} from './helpers.js';

const T = Date.UTC(2026, 0, 31, 12, 0, 1);
const tmp = tempDir();
let stack: LocalStack;
let devA: DeviceCredentials;
let devB: DeviceCredentials;
const clients: MqttClient[] = [];

async function pointsOf(device: string, fields?: string[]) {
  const page = await stack.adapters.telemetry.query({
    tenant: 'local',
    device,
    from: T - 86_400_000,
    to: T + 86_400_000,
    limit: 1000,
    ...(fields ? { fields } : {}),
  });
  return page.points.map((p) => ({ time: p.time, fields: { ...p.fields } }));
}

async function letters(code: string) {
  await stack.router.idle();
  return stack.adapters.deadLetters.list({ limit: 1000 }).items.filter((d) => d.code === code);
}

async function events(code: string) {
  return (await stack.adapters.events.list('local', { limit: 1000 })).items.filter((e) => e.code === code);
}

beforeAll(async () => {
  stack = await startTestStack(tmp.dir);
  devA = await provision(stack, 'dev-a');
  devB = await provision(stack, 'dev-b');
});

afterAll(async () => {
  for (const c of clients) c.end(true);
  await stack?.close();
  tmp.cleanup();
});

describe('local stack: ingest over MQTT/TLS', () => {
  it('stores telemetry published with MQTT 3.1.1 and 5, direct and Basic Ingest, plain and compressed', async () => {
    const v4 = await connectOk(stack, devA, { clientId: 'dev-a', protocolVersion: 4 });
    clients.push(v4);
    await v4.publishAsync(
      'dt/fleetwire/dev-a/ems',
      JSON.stringify({
        timestamp: new Date(T).toISOString(),
        battery: { soc: 85, voltage: 53.2 },
        system_status: { state: 'CHARGING' },
      }),
      { qos: 1 },
    );
    await v4.publishAsync(
      '$aws/rules/fleetwire_dt_ems/dt/fleetwire/dev-a/ems',
      JSON.stringify({ timestamp: T + 1000, battery: { soc: 84 } }),
      { qos: 0 },
    );
    await v4.endAsync();

    const v5 = await connectOk(stack, devA, { clientId: 'dev-a', protocolVersion: 5 });
    clients.push(v5);
    const flex = {
      device_id: 'dev-a',
      token: devA.token,
      points: [{ timestamp: T + 2000, fields: [{ name: 'speed', value: 12.5 }] }],
    };
    await v5.publishAsync('dt/fleetwire/dev-a/flexconnect-json', JSON.stringify(flex), { qos: 1 });
    const compressed = { ...flex, points: [{ timestamp: T + 3000, fields: [{ name: 'speed', value: 13 }] }] };
    await v5.publishAsync(
      'flexconnect/mqtt_topic',
      JSON.stringify({ b64: gzipSync(JSON.stringify(compressed)).toString('base64') }),
      { qos: 1 },
    );
    await v5.endAsync();
    await stack.router.idle();

    expect(await pointsOf('dev-a')).toEqual([
      { time: T, fields: { 'battery.soc': 85, 'battery.voltage': 53.2, 'system_status.state': 'CHARGING' } },
      { time: T + 1000, fields: { 'battery.soc': 84 } },
      { time: T + 2000, fields: { speed: 12.5 } },
      { time: T + 3000, fields: { speed: 13 } },
    ]);
    const latest = await call(stack, 'GET', '/v1/devices/dev-a/latest?fields=battery.soc,speed');
    expect(latest.status).toBe(200);
    expect(latest.body.fields).toEqual({
      'battery.soc': { time: new Date(T + 1000).toISOString(), value: 84 },
      speed: { time: new Date(T + 3000).toISOString(), value: 13 },
    });
    expect(stack.router.counters).toMatchObject({ received: 4, completed: 4, deadLettered: 0 });
  });

  it('stores QoS 1 duplicates once', async () => {
    const c = await connectOk(stack, devB, { clientId: 'dev-b' });
    clients.push(c);
    const body = JSON.stringify({ timestamp: T, grid: { power: -200 } });
    for (let i = 0; i < 3; i++) await c.publishAsync('dt/fleetwire/dev-b/ems', body, { qos: 1 });
    await c.endAsync();
    await stack.router.idle();
    expect(await pointsOf('dev-b')).toEqual([{ time: T, fields: { 'grid.power': -200 } }]);
  });

  it('dead-letters and reports a wrong token, a malformed and an oversized message', async () => {
    const c = await connectOk(stack, devB, { clientId: 'dev-b' });
    clients.push(c);
    const bad = {
      device_id: 'dev-b',
      token: 'x'.repeat(43),
      points: [{ timestamp: T + 9, fields: [{ name: 'a', value: 1 }] }],
    };
    await c.publishAsync('dt/fleetwire/dev-b/flexconnect-json', JSON.stringify(bad), { qos: 1 });
    await c.publishAsync('dt/fleetwire/dev-b/ems', '{"battery": {', { qos: 1 });
    await c.publishAsync('dt/fleetwire/dev-b/ems', JSON.stringify({ note: 'x'.repeat(110 * 1024) }), {
      qos: 1,
    });
    await c.endAsync();

    const [token] = await letters('TOKEN_MISMATCH');
    expect(token).toMatchObject({
      clientId: 'dev-b',
      topic: 'dt/fleetwire/dev-b/flexconnect-json',
      tenant: 'local',
    });
    expect(Buffer.from(token?.payloadBase64 ?? '', 'base64').toString()).toBe(JSON.stringify(bad));
    expect(await letters('INVALID_JSON')).toHaveLength(1);
    expect(await letters('PAYLOAD_TOO_LARGE')).toHaveLength(1);
    for (const code of ['TOKEN_MISMATCH', 'INVALID_JSON', 'PAYLOAD_TOO_LARGE']) {
      expect((await events(code)).length, code).toBeGreaterThanOrEqual(1);
    }
    expect(await pointsOf('dev-b', ['a'])).toEqual([]);
  });

  it('replays a dead letter once the cause is fixed', async () => {
    const [letter] = await letters('INVALID_JSON');
    const replay = await stack.replayDeadLetter(letter?.id ?? -1);
    expect(replay?.outcome.deadLettered).toBe(true); // still malformed: it stays pending
    expect(stack.adapters.deadLetters.get(letter?.id ?? -1)).toMatchObject({ status: 'pending', replays: 1 });
  });
});

describe('local stack: dead-letter administration', () => {
  it('lists, replays and discards dead letters for a local operator only', async () => {
    const list = await call(stack, 'GET', '/local/dead-letters?status=pending&limit=500');
    expect(list.status).toBe(200);
    const token = list.body.items.find((d: { code: string }) => d.code === 'TOKEN_MISMATCH');
    expect(token).toMatchObject({ topic: 'dt/fleetwire/dev-b/flexconnect-json', status: 'pending' });
    const replay = await call(stack, 'POST', `/local/dead-letters/${token.id}/replay`);
    expect(replay.status).toBe(200);
    expect(replay.body.outcome).toMatchObject({ deadLettered: true, code: 'TOKEN_MISMATCH' });
    expect(replay.body.deadLetter).toMatchObject({ status: 'pending', replays: 1 });
    const discard = await call(stack, 'POST', `/local/dead-letters/${token.id}/discard`);
    expect(discard.body).toMatchObject({ status: 'discarded' });
    expect((await call(stack, 'POST', '/local/dead-letters/999999/replay')).status).toBe(404);
    expect((await call(stack, 'GET', '/local/dead-letters?status=nope')).status).toBe(400);
    expect((await call(stack, 'GET', '/local/dead-letters', undefined, null)).status).toBe(401);
    const viewer = await call(stack, 'POST', '/v1/api-keys', { role: 'viewer', name: 'v' });
    expect(viewer.status).toBe(201);
    const asViewer = await call(stack, 'GET', '/local/dead-letters', undefined, viewer.body.key);
    expect(asViewer.status).toBe(403);
    expect((await call(stack, 'GET', '/local/stats')).body).toMatchObject({
      router: { received: expect.any(Number) },
    });
  });
});

describe('local stack: authentication and authorization', () => {
  it('refuses a certificate the registry does not know (MQTT 3.1.1 and 5)', async () => {
    const ghost = stack.ca.issueDevice('ghost');
    const cert = { certificatePem: ghost.pem, privateKey: ghost.privateKeyPem ?? '' };
    const r4 = await connect(stack, cert, { clientId: 'ghost', protocolVersion: 4 });
    expect(r4).toMatchObject({ ok: false, reason: 'refused', code: 5 });
    const r5 = await connect(stack, cert, { clientId: 'ghost', protocolVersion: 5 });
    expect(r5).toMatchObject({ ok: false, reason: 'refused', code: 0x87 });
    expect(
      (await stack.adapters.events.list('local', { limit: 50 })).items.some(
        (e) => e.code === 'CERTIFICATE_UNKNOWN',
      ),
    ).toBe(
      false, // an unknown certificate has no tenant: nobody's event log shows it
    );
  });

  it('refuses a certificate from another CA during the TLS handshake', async () => {
    const other = tempDir('fw-other-ca-');
    try {
      const foreign = LocalCa.open(other.dir).issueDevice('dev-a');
      const before = stack.broker.counters.tlsRefused;
      const r = await connect(
        stack,
        { certificatePem: foreign.pem, privateKey: foreign.privateKeyPem ?? '' },
        { clientId: 'dev-a' },
      );
      expect(r.ok).toBe(false);
      expect(r.ok === false && r.reason).not.toBe('refused'); // never reached MQTT
      await waitFor(() => stack.broker.counters.tlsRefused > before);
    } finally {
      other.cleanup();
    }
  });

  it('refuses a client id that is not the certificate’s thing', async () => {
    const r = await connect(stack, devA, { clientId: 'dev-b' });
    expect(r).toMatchObject({ ok: false, reason: 'refused', code: 5 });
    expect((await events('CLIENT_ID_MISMATCH')).length).toBeGreaterThanOrEqual(1);
  });

  it('closes a connection that publishes on another device’s topic, and stores nothing', async () => {
    for (const protocolVersion of [4, 5] as const) {
      const c = await connectOk(stack, devA, { clientId: 'dev-a', protocolVersion });
      clients.push(c);
      const gone = closed(c);
      c.publish('dt/fleetwire/dev-b/ems', JSON.stringify({ timestamp: T + 77, intruder: 1 }), { qos: 1 });
      expect(await gone).toBe(true);
    }
    await stack.router.idle();
    expect(await pointsOf('dev-b', ['intruder'])).toEqual([]);
    expect((await events('PUBLISH_NOT_ALLOWED')).length).toBeGreaterThanOrEqual(2);
  });

  it('does not leave a device marked connected when it publishes on a forbidden topic right after CONNACK', async () => {
    for (const protocolVersion of [4, 5] as const) {
      const socket = tlsConnect({
        host: 'localhost',
        port: stack.config.mqttPort,
        ca: stack.config.caPem,
        cert: devB.certificatePem,
        key: devB.privateKey,
      });
      await new Promise<void>((resolve, reject) => {
        socket.once('secureConnect', resolve);
        socket.once('error', reject);
      });
      const ended = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      const opts = { protocolVersion };
      // Publish the instant the CONNACK arrives, before the broker has finished its connect bookkeeping.
      socket.once('data', () =>
        socket.write(
          generate(
            {
              cmd: 'publish',
              topic: 'dt/fleetwire/dev-a/ems',
              payload: Buffer.from('{}'),
              qos: 1,
              messageId: 1,
              retain: false,
              dup: false,
            },
            opts,
          ),
        ),
      );
      socket.write(
        generate(
          {
            cmd: 'connect',
            protocolId: 'MQTT',
            protocolVersion,
            clientId: 'dev-b',
            clean: true,
            keepalive: 30,
          },
          opts,
        ),
      );
      await ended;
      await new Promise((r) => setTimeout(r, 100));
      expect(
        (await stack.adapters.registry.get('local', 'dev-b'))?.connected,
        `MQTT ${protocolVersion}`,
      ).not.toBe(true);
      expect(stack.broker.connectedDevices()).not.toContain('dev-b');
    }
  });

  it('closes a connection that publishes more than 128 KiB', async () => {
    const c = await connectOk(stack, devA, { clientId: 'dev-a' });
    clients.push(c);
    const gone = closed(c);
    c.publish('dt/fleetwire/dev-a/ems', Buffer.alloc(130 * 1024, 0x20), { qos: 1 });
    expect(await gone).toBe(true);
  });

  it('refuses subscriptions to another device’s command topic and never delivers them', async () => {
    const a = await connectOk(stack, devA, { clientId: 'dev-a' });
    clients.push(a);
    // MQTT.js rejects a subscribe whose SUBACK carries a failure code (0x80).
    await expect(a.subscribeAsync('cmd/fleetwire/dev-b/req')).rejects.toThrow();
    await expect(a.subscribeAsync('#')).rejects.toThrow();
    const granted = await a.subscribeAsync('cmd/fleetwire/dev-a/req', { qos: 2 });
    expect(granted.map((g) => g.qos)).toEqual([1]); // QoS 2 is granted as 1, as on IoT Core
    expect(a.connected).toBe(true);
    const seen: string[] = [];
    a.on('message', (topic) => seen.push(topic));
    await stack.broker.publish('cmd/fleetwire/dev-b/req', '{}', 1);
    await stack.broker.publish('cmd/fleetwire/dev-a/req', '{}', 1);
    await waitFor(() => seen.length > 0);
    await new Promise((r) => setTimeout(r, 100));
    expect(seen).toEqual(['cmd/fleetwire/dev-a/req']);
    await a.endAsync();
  });

  it('refuses a revoked certificate after credential rotation, and drops its live connection', async () => {
    const dev = await provision(stack, 'dev-rot');
    const c = await connectOk(stack, dev, { clientId: 'dev-rot' });
    clients.push(c);
    const gone = closed(c);
    const rotated = await call(stack, 'POST', '/v1/devices/dev-rot/credentials:rotate', {});
    expect(rotated.status).toBe(200);
    expect(await gone).toBe(true);
    const old = await connect(stack, dev, { clientId: 'dev-rot' });
    expect(old).toMatchObject({ ok: false, reason: 'refused', code: 5 });
    expect((await events('CERTIFICATE_REVOKED')).length).toBeGreaterThanOrEqual(1);
    const fresh = await connectOk(stack, rotated.body, { clientId: 'dev-rot', protocolVersion: 5 });
    await fresh.endAsync();
  });
});

describe('local stack: commands', () => {
  it('delivers a command to the device and tracks its acknowledgement and result', async () => {
    const d = await connectOk(stack, devA, { clientId: 'dev-a', protocolVersion: 5 });
    clients.push(d);
    await d.subscribeAsync('cmd/fleetwire/dev-a/req', { qos: 1 });
    d.on('message', (_topic, payload) => {
      const cmd = JSON.parse(payload.toString()) as { command_id: string; action: string };
      void d
        .publishAsync(
          'cmd/fleetwire/dev-a/ack',
          JSON.stringify({ command_id: cmd.command_id, status: 'ACKNOWLEDGED' }),
          { qos: 1 },
        )
        .then(() =>
          d.publishAsync(
            'cmd/fleetwire/dev-a/res',
            JSON.stringify({ command_id: cmd.command_id, status: 'SUCCEEDED', detail: { mode: 'AUTO' } }),
            { qos: 1 },
          ),
        );
    });
    const created = await call(stack, 'POST', '/v1/devices/dev-a/commands', {
      action: 'SET_MODE',
      payload: { target_mode: 'AUTO' },
    });
    expect(created.status).toBeLessThan(300);
    const id = created.body.commandId as string;
    const done = await waitFor(async () => {
      const r = await call(stack, 'GET', `/v1/devices/dev-a/commands/${id}`);
      return r.body.status === 'SUCCEEDED' ? r.body : undefined;
    });
    expect(done.history.map((h: { status: string }) => h.status)).toEqual([
      'QUEUED',
      'SENT',
      'ACKNOWLEDGED',
      'SUCCEEDED',
    ]);
    await d.endAsync();
  });
});

describe('local stack: held commands', () => {
  it('delivers a command created while the device was offline once it reconnects and subscribes', async () => {
    const created = await call(stack, 'POST', '/v1/devices/dev-a/commands', {
      action: 'RESET_ERROR',
      payload: {},
    });
    expect(created.status).toBeLessThan(300);
    const id = created.body.commandId as string;
    expect(created.body.status).toBe('QUEUED');
    const d = await connectOk(stack, devA, { clientId: 'dev-a' });
    clients.push(d);
    // Connected but not yet subscribed: nothing may be sent into the void.
    await new Promise((r) => setTimeout(r, 200));
    expect((await call(stack, 'GET', `/v1/devices/dev-a/commands/${id}`)).body.status).toBe('QUEUED');
    const received = new Promise<string>((resolve) =>
      d.on('message', (_t, payload) =>
        resolve((JSON.parse(payload.toString()) as { command_id: string }).command_id),
      ),
    );
    await d.subscribeAsync('cmd/fleetwire/dev-a/req', { qos: 1 });
    expect(await received).toBe(id);
    expect((await call(stack, 'GET', `/v1/devices/dev-a/commands/${id}`)).body.status).toBe('SENT');
    await d.endAsync();
  });
});

describe('local stack: HTTP', () => {
  it('answers /healthz without credentials and refuses the API without a token', async () => {
    const health = await call(stack, 'GET', '/healthz', undefined, null);
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'ok', mqtt: { url: stack.config.mqttUrl } });
    expect((await call(stack, 'GET', '/v1/devices', undefined, null)).status).toBe(401);
    expect((await call(stack, 'GET', '/v1/devices', undefined, 'fwk.key_x.bad')).status).toBe(401);
  });

  it('serves signed file URLs and refuses tampered or expired ones', async () => {
    const put = await stack.adapters.files.presignPut('dbc/local/f1', 60, 'text/plain');
    const up = await fetch(put, {
      method: 'PUT',
      headers: { 'content-type': 'text/plain' },
      body: 'VERSION ""\n',
    });
    expect(up.status).toBe(200);
    const wrongType = await fetch(put, {
      method: 'PUT',
      headers: { 'content-type': 'text/html' },
      body: 'x',
    });
    expect(wrongType.status).toBe(403);
    const get = await stack.adapters.files.presignGet('dbc/local/f1', 60);
    const down = await fetch(get);
    expect(down.status).toBe(200);
    expect(await down.text()).toBe('VERSION ""\n');
    expect((await fetch(get.replace('f1?', 'f2?'))).status).toBe(403);
    expect((await fetch(get.replace(/sig=./, 'sig=A'))).status).toBe(403);
    expect((await fetch(get, { method: 'DELETE' })).status).toBe(405);
  });
});
