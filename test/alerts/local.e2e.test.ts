/**
 * Alerts end to end on the local stack, through its public surfaces only: rules created over HTTP,
 * devices publishing over MQTT/TLS, the real ingest → alert evaluation path, the sweep on its timer,
 * alerts read back over HTTP, and notifications arriving at a local webhook (signed).
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertEvent } from '../../lambdas/core/alerts/records.js';
import type { LocalStack } from '../../lambdas/local/stack.js';
import {
  call,
  connectOk,
  type DeviceCredentials,
  provision,
  startTestStack,
  tempDir,
  waitFor,
} from '../local/helpers.js';

const SECRET = 'webhook-secret';
const SWEEP_MS = 250;
const TIMEOUT_MS = 2000;

const tmp = tempDir('fw-alerts-');
let stack: LocalStack;
let hook: Server;
const received: { event: AlertEvent; signatureOk: boolean }[] = [];
const clients: MqttClient[] = [];
let ems: DeviceCredentials & { topics: { telemetry: Record<string, string> } };
let exo: DeviceCredentials & { topics: { telemetry: Record<string, string> } };

beforeAll(async () => {
  hook = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const want = `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
      received.push({
        event: JSON.parse(body) as AlertEvent,
        signatureOk: req.headers['x-fleetwire-signature'] === want,
      });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/alerts`;
  stack = await startTestStack(tmp.dir, {
    alertSweepMs: SWEEP_MS,
    alertWebhookUrl: url,
    alertWebhookSecret: SECRET,
  });
  ems = (await provision(stack, 'ems-1')) as typeof ems;
  exo = (await provision(stack, 'exo-1')) as typeof exo;
}, 60_000);

afterAll(async () => {
  for (const c of clients) c.end(true);
  await stack?.close();
  await new Promise<void>((r) => hook?.close(() => r()));
  tmp.cleanup();
});

async function alertEvents(code?: string): Promise<AlertEvent[]> {
  const page = await stack.adapters.events.list('local', { limit: 1000 });
  return page.items
    .filter((e) => e.type.startsWith('alert.') && (code === undefined || e.code === code))
    .map((e) => e.detail as unknown as AlertEvent)
    .reverse();
}

describe('alerts on the local stack', () => {
  it('a device crossing a threshold fires once and clears once past the clear threshold', async () => {
    const rule = await call(stack, 'POST', '/v1/alert-rules', {
      name: 'Battery hot',
      scope: { kind: 'device', deviceId: 'ems-1' },
      field: 'battery.temperature',
      condition: { op: 'above', threshold: 60, clearThreshold: 50 },
      severity: 'critical',
    });
    expect(rule.status).toBe(201);
    const client = await connectOk(stack, ems, { clientId: 'ems-1' });
    clients.push(client);
    const topic = ems.topics.telemetry.ems as string;
    // Values: below, over (fire), over, band, over, band, clear (resolve), band, below.
    const temps = [40, 65, 70, 55, 66, 52, 45, 58, 30];
    const t0 = Date.now() - temps.length * 1000;
    for (const [i, temperature] of temps.entries()) {
      await client.publishAsync(
        topic,
        JSON.stringify({
          device_id: 'ems-1',
          timestamp: new Date(t0 + i * 1000).toISOString(),
          system_status: { state: 'CHARGING', mode: 'AUTO', error_flags: [] },
          battery: { temperature, soc: 80 },
        }),
        { qos: 1 },
      );
    }
    await stack.router.idle();
    const mine = async () => (await alertEvents()).filter((e) => e.rule.id === rule.body.id);
    await waitFor(async () => (await mine()).length >= 2);
    const events = await mine();
    expect(events.map((e) => [e.code, e.value])).toEqual([
      ['ALERT_FIRING', 65],
      ['ALERT_RESOLVED', 45],
    ]);
    expect(events[0]?.time).toBe(new Date(t0 + 1000).toISOString());
    expect(events[1]?.time).toBe(new Date(t0 + 6000).toISOString());
    const list = await call(stack, 'GET', `/v1/alerts?ruleId=${rule.body.id}`);
    expect(list.status).toBe(200);
    expect(list.body.items).toHaveLength(1);
    expect(list.body.items[0]).toMatchObject({
      status: 'RESOLVED',
      device: 'ems-1',
      value: 65,
      lastValue: 45,
    });
    // The webhook got both, signed.
    await waitFor(() => received.filter((r) => r.event.rule.id === rule.body.id).length >= 2);
    const hooks = received.filter((r) => r.event.rule.id === rule.body.id);
    expect(hooks.map((r) => r.event.code)).toEqual(['ALERT_FIRING', 'ALERT_RESOLVED']);
    expect(hooks.every((r) => r.signatureOk)).toBe(true);
  });

  it('EMS error flags raise the built-in device-error alert with no configuration', async () => {
    const client = clients[0] as MqttClient;
    const topic = ems.topics.telemetry.ems as string;
    const send = (flags: string[], dt: number) =>
      client.publishAsync(
        topic,
        JSON.stringify({
          timestamp: new Date(Date.now() - dt).toISOString(),
          system_status: { error_flags: flags },
        }),
        { qos: 1 },
      );
    // Newer than the previous test's points (the newest of which is one second old).
    await send(['OVERHEAT'], 200);
    await send([], 100);
    await stack.router.idle();
    const events = await waitFor(async () => {
      const e = (await alertEvents()).filter((x) => x.rule.id === 'builtin-device-error');
      return e.length >= 2 ? e : undefined;
    });
    expect(events.map((e) => [e.code, e.errors])).toEqual([
      ['ALERT_FIRING', ['OVERHEAT']],
      ['ALERT_RESOLVED', []],
    ]);
  });

  it('a silent channel raises a stale alert within one sweep of its contract timeout', async () => {
    const config = await call(stack, 'PUT', '/v1/devices/exo-1/config', {
      config_io: {
        last_edited: '2026-01-01T00:00:00Z',
        channels: {
          '002': {
            display_name: 'Temperature',
            properties: { data_type: 'TEMPERATURE', min: 16, max: 35 },
            protocol_config: { report_rate: 500, timeout: TIMEOUT_MS },
          },
        },
      },
    });
    expect(config.status).toBe(200);
    const rule = await call(stack, 'POST', '/v1/alert-rules/from-contract', {
      deviceId: 'exo-1',
      channel: '002',
      kind: 'stale',
    });
    expect(rule.status).toBe(201);
    const client = await connectOk(stack, exo, { clientId: 'exo-1' });
    clients.push(client);
    const topic = exo.topics.telemetry.exosense as string;
    const sentAt = Date.now();
    await client.publishAsync(topic, JSON.stringify({ '002': 21.5 }), { qos: 1 });
    await stack.router.idle();
    const stale = await waitFor(async () => {
      const e = (await alertEvents('ALERT_FIRING')).find((x) => x.rule.id === rule.body.id);
      return e;
    }, TIMEOUT_MS + 5000);
    expect(stale.reason).toBe('stale');
    const deadline = Date.parse(stale.time);
    // The deadline is the last value's receive time + the timeout…
    expect(deadline - sentAt).toBeGreaterThanOrEqual(TIMEOUT_MS);
    expect(deadline - sentAt).toBeLessThan(TIMEOUT_MS + 1000);
    // …and the alert was raised within one sweep period of it (plus scheduling slack).
    expect(Date.parse(stale.detectedAt) - deadline).toBeLessThanOrEqual(SWEEP_MS + 500);
    // Still one alert after more sweeps; fresh data resolves it.
    await new Promise((r) => setTimeout(r, SWEEP_MS * 3));
    expect((await alertEvents('ALERT_FIRING')).filter((x) => x.rule.id === rule.body.id)).toHaveLength(1);
    await client.publishAsync(topic, JSON.stringify({ '002': 22 }), { qos: 1 });
    await stack.router.idle();
    const resolved = await waitFor(async () =>
      (await alertEvents('ALERT_RESOLVED')).find((x) => x.rule.id === rule.body.id),
    );
    expect(resolved.reason).toBe('fresh-data');
    const active = await call(stack, 'GET', '/v1/alerts?status=active');
    expect(active.body.items.filter((a: { ruleId: string }) => a.ruleId === rule.body.id)).toEqual([]);
  });
});
