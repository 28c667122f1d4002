/**
 * `fleetwire simulate` end to end against the local stack (in-process, free ports, temporary state):
 * devices provisioned through the API and cached, telemetry published over MQTT/TLS in two formats
 * (FlexConnect JSON, and compressed FlexConnect binary CAN from the demo DBC) read back through the API
 * point for point, commands acknowledged and completed (or failed) by the simulated devices, and the CLI.
 */
import { spawn } from 'node:child_process';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CompiledDbc, loadCompiledDbc } from '../../lambdas/core/dbc/index.js';
import type { FieldValue, PayloadFormat } from '../../lambdas/core/model/point.js';
import type { LocalStack } from '../../lambdas/local/stack.js';
import { FleetwireApi } from '../../lambdas/sim/api-client.js';
import { CanTraffic } from '../../lambdas/sim/can.js';
import { type CachedDevice, cacheDir, provisionDevice } from '../../lambdas/sim/credentials.js';
import { DEMO_DBC, DEMO_DBC_NAME } from '../../lambdas/sim/demo-dbc.js';
import { expectedPoints } from '../../lambdas/sim/expected.js';
import { runSimulation, type SimDeviceSpec, type SimulationOptions } from '../../lambdas/sim/runner.js';
import { call, startTestStack, tempDir, waitFor } from '../local/helpers.js';

const tmp = tempDir('fw-sim-');
let stack: LocalStack;
let api: FleetwireApi;
let dir: string;
const dbc: CompiledDbc = loadCompiledDbc(Buffer.from(DEMO_DBC));

function spec(d: CachedDevice, format: PayloadFormat): SimDeviceSpec {
  return {
    deviceId: d.deviceId,
    host: stack.config.mqttHost,
    port: stack.config.mqttPort,
    certificatePem: d.certificatePem,
    privateKey: d.privateKey,
    caPem: stack.config.caPem,
    topic: d.topics.telemetry[format] as string,
    commands: {
      req: d.topics.commands,
      ack: d.topics.commands.replace(/req$/, 'ack'),
      res: d.topics.responses,
    },
    ...(d.token !== undefined ? { token: d.token } : {}),
  };
}

async function devices(ids: string[]): Promise<CachedDevice[]> {
  return Promise.all(ids.map(async (id) => (await provisionDevice(api, dir, id)).device));
}

/** Run a simulation and collect, per device, the points each acknowledged message should have become. */
async function simulate(opts: Omit<SimulationOptions, 'onPublished'>) {
  const expected = new Map<string, Map<number, Record<string, FieldValue>>>();
  const summary = await runSimulation({
    ...opts,
    drainMs: 5000,
    onPublished: (device, msg, r) => {
      if (!r.ok) return;
      const byTime = expected.get(device) ?? new Map<number, Record<string, FieldValue>>();
      expected.set(device, byTime);
      for (const p of expectedPoints(opts.format, msg.payload, { device, dbc })) {
        byTime.set(p.time, { ...byTime.get(p.time), ...p.fields });
      }
    },
  });
  await stack.router.idle();
  return { summary, expected };
}

async function stored(device: string, from: number, to: number) {
  const byTime = new Map<number, Record<string, FieldValue>>();
  for (const p of await api.telemetry(device, from, to)) byTime.set(Date.parse(p.time), p.fields);
  return byTime;
}

beforeAll(async () => {
  stack = await startTestStack(tmp.dir);
  api = new FleetwireApi(stack.config.apiUrl, stack.config.apiToken);
  dir = cacheDir(tmp.dir, stack.config.apiUrl);
});

afterAll(async () => {
  await stack?.close();
  tmp.cleanup();
});

describe('simulate: provisioning', () => {
  it('creates devices once, caches credentials owner-only, reuses them, and rotates a lost cache', async () => {
    const first = await Promise.all(['sim-a', 'sim-b'].map((id) => provisionDevice(api, dir, id)));
    expect(first.map((r) => r.action)).toEqual(['created', 'created']);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const f of readdirSync(dir)) expect(statSync(join(dir, f)).mode & 0o777, f).toBe(0o600);
    const again = await provisionDevice(api, dir, 'sim-a');
    expect(again.action).toBe('reused');
    expect(again.device.certificateId).toBe(first[0]?.device.certificateId);

    rmSync(join(dir, 'sim-b.json'));
    const rotated = await provisionDevice(api, dir, 'sim-b');
    expect(rotated.action).toBe('rotated');
    expect(rotated.device.certificateId).not.toBe(first[1]?.device.certificateId);
    expect(rotated.device.token).toBeTypeOf('string');
    const remote = await api.getDevice('sim-b');
    expect(remote?.certificateId).toBe(rotated.device.certificateId);
  });
});

describe('simulate: telemetry arrives exactly', () => {
  it('FlexConnect JSON: every acknowledged point is stored with its exact fields', async () => {
    const devs = await devices(['sim-a', 'sim-b']);
    const from = Date.now() - 5000;
    const { summary, expected } = await simulate({
      devices: devs.map((d) => spec(d, 'flexconnect-json')),
      format: 'flexconnect-json',
      rate: 10,
      count: 12,
      pointsPerMessage: 2,
      seed: 11,
    });
    expect(summary).toMatchObject({
      sent: 24,
      acknowledged: 24,
      errors: 0,
      points: 48,
      devices: { connected: 2 },
    });
    for (const d of devs) {
      const want = expected.get(d.deviceId);
      expect(want?.size).toBe(24);
      expect(await stored(d.deviceId, from, Date.now() + 5000)).toEqual(want);
    }
  });

  it('FlexConnect binary, compressed: CAN frames from the DBC decode into the same signal values', async () => {
    const devs = await devices(['sim-a', 'sim-b']);
    const file = await api.ensureDbc(DEMO_DBC_NAME, Buffer.from(DEMO_DBC));
    expect((await api.ensureDbc(DEMO_DBC_NAME, Buffer.from(DEMO_DBC))).fileId).toBe(file.fileId); // reused
    for (const d of devs) await api.assignDbc(d.deviceId, file.fileId);
    const from = Date.now() - 5000;
    const { summary, expected } = await simulate({
      devices: devs.map((d) => spec(d, 'flexconnect-binary')),
      format: 'flexconnect-binary',
      compress: true,
      can: new CanTraffic(dbc, undefined),
      rate: 10,
      count: 10,
      seed: 12,
      protocolVersion: 5,
    });
    expect(summary).toMatchObject({ sent: 20, acknowledged: 20, errors: 0 });
    for (const d of devs) {
      const want = expected.get(d.deviceId);
      expect(want?.size).toBe(10);
      const got = await stored(d.deviceId, from, Date.now() + 5000);
      for (const [t, fields] of want ?? []) expect(got.get(t), `point at ${t}`).toEqual(fields);
      // Nothing else in the run's span: exactly the published points.
      const times = [...(want ?? new Map()).keys()];
      const span = [...got.keys()].filter((t) => t >= Math.min(...times) && t <= Math.max(...times));
      expect(span.sort((a, b) => a - b)).toEqual(times.sort((a, b) => a - b));
      expect(Object.keys(got.get(times[0] as number) ?? {})).toContain('VehicleDynamics.Speed');
    }
    expect(stack.router.counters.deadLettered).toBe(0);
  });
});

describe('simulate: commands', () => {
  async function commandRun(failRate: number, action: { action: string; payload: Record<string, unknown> }) {
    const [dev] = await devices(['sim-a']);
    let commandId = '';
    const { summary } = await simulate({
      devices: [spec(dev as CachedDevice, 'ems')],
      format: 'ems',
      rate: 5,
      durationSeconds: 1.2,
      ackDelayMs: 50,
      resultDelayMs: 50,
      failRate,
      onReady: async () => {
        const r = await call(stack, 'POST', '/v1/devices/sim-a/commands', action);
        expect(r.status).toBe(202);
        commandId = r.body.commandId;
      },
    });
    const cmd = await waitFor(async () => {
      const r = await call(stack, 'GET', `/v1/devices/sim-a/commands/${commandId}`);
      return ['SUCCEEDED', 'FAILED'].includes(r.body.status) ? r.body : undefined;
    });
    return { summary, cmd };
  }

  it('acknowledges and completes a command; the EMS status then reports the new mode', async () => {
    const { summary, cmd } = await commandRun(0, {
      action: 'SET_MODE',
      payload: { target_mode: 'MANUAL_DISCHARGE', target_power: 500 },
    });
    expect(cmd.status).toBe('SUCCEEDED');
    expect(cmd.history.map((h: { status: string }) => h.status)).toEqual([
      'QUEUED',
      'SENT',
      'ACKNOWLEDGED',
      'SUCCEEDED',
    ]);
    expect(cmd.result).toEqual({ mode: 'MANUAL_DISCHARGE' });
    expect(summary.commands).toMatchObject({ received: 1, acknowledged: 1, succeeded: 1 });
    const latest = await call(stack, 'GET', '/v1/devices/sim-a/latest?fields=system_status.mode');
    expect(latest.body.fields['system_status.mode'].value).toBe('MANUAL_DISCHARGE');
  });

  it('fails a command as scripted by the fail rate', async () => {
    const { summary, cmd } = await commandRun(1, { action: 'RESET_ERROR', payload: {} });
    expect(cmd.status).toBe('FAILED');
    expect(cmd.history.map((h: { status: string }) => h.status)).toContain('ACKNOWLEDGED');
    expect(cmd.result).toEqual({ message: 'simulated failure (--fail-rate)' });
    expect(summary.commands).toMatchObject({ received: 1, failed: 1 });
  });
});

describe('simulate: CLI', () => {
  it('reads local.json, simulates, verifies through the API and prints a JSON summary', async () => {
    const bin = join(import.meta.dirname, '../../bin/fleetwire.cjs');
    const args = ['simulate', '--state-dir', tmp.dir, '--devices', '2', '--prefix', 'cli', '--format', 'ems'];
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const p = spawn(
        process.execPath,
        [bin, ...args, '--rate', '20', '--count', '5', '--verify', '--json'],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (c) => {
        stdout += c;
      });
      p.stderr.on('data', (c) => {
        stderr += c;
      });
      p.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    expect(out.code, out.stderr).toBe(0);
    const summary = JSON.parse(out.stdout);
    expect(summary).toMatchObject({
      ok: true,
      format: 'ems',
      sent: 10,
      acknowledged: 10,
      errors: 0,
      devices: { requested: 2, connected: 2 },
      verify: { expected: 10, found: 10, missing: [] },
    });
    expect((await api.getDevice('cli-0002'))?.status).toBe('active');
  });
});
