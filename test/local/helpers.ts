/**
 * Helpers of the local-stack tests: a stack on free ports in a temporary directory, API calls, MQTT
 * connections over TLS that report how they ended, and polling.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { silentLogger } from '../../lambdas/local/log.js';
import { type LocalStack, type LocalStackOptions, startLocalStack } from '../../lambdas/local/stack.js';

/** A temporary state directory, removed by `cleanup()`. */
export function tempDir(prefix = 'fw-local-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Start a stack on free ports, silently. */
export function startTestStack(dir: string, opts: Partial<LocalStackOptions> = {}): Promise<LocalStack> {
  return startLocalStack({ dir, mqttPort: 0, httpPort: 0, log: silentLogger, ...opts });
}

/** A parsed HTTP response. */
export interface HttpResult {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary response fields.
  body: any;
}

/** Call the stack's HTTP API with its operator token. */
export async function call(
  stack: LocalStack,
  method: string,
  path: string,
  body?: unknown,
  /** The bearer token; `null` sends none. */
  token: string | null = stack.config.apiToken,
): Promise<HttpResult> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${stack.config.apiUrl}${path}`, {
    method,
    headers,
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** Credentials the API returns when provisioning a device. */
export interface DeviceCredentials {
  deviceId: string;
  certificateId: string;
  certificatePem: string;
  privateKey: string;
  token: string;
  caPem: string;
}

/** Provision a device through the API. */
export async function provision(stack: LocalStack, deviceId: string): Promise<DeviceCredentials> {
  const r = await call(stack, 'POST', '/v1/devices', { deviceId });
  if (r.status !== 201)
    throw new Error(`provisioning ${deviceId} failed: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body as DeviceCredentials;
}

/** How a connection attempt ended. */
export type ConnectResult =
  | { ok: true; client: MqttClient }
  | { ok: false; reason: 'refused'; code: number | undefined; message: string }
  | { ok: false; reason: 'error' | 'closed' | 'timeout'; message: string };

/** Connect over TLS with a certificate; never reconnects; resolves with how the attempt ended. */
export function connect(
  stack: LocalStack,
  cert: { certificatePem: string; privateKey: string },
  opts: Partial<IClientOptions> & { clientId: string },
  timeoutMs = 5000,
): Promise<ConnectResult> {
  return new Promise((resolve) => {
    const client = mqtt.connect({
      host: 'localhost',
      port: stack.config.mqttPort,
      protocol: 'mqtts',
      ca: stack.config.caPem,
      cert: cert.certificatePem,
      key: cert.privateKey,
      reconnectPeriod: 0,
      connectTimeout: timeoutMs,
      ...opts,
    });
    let done = false;
    const finish = (r: ConnectResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (!r.ok) client.end(true);
      resolve(r);
    };
    const timer = setTimeout(
      () => finish({ ok: false, reason: 'timeout', message: 'no CONNACK' }),
      timeoutMs,
    );
    client.once('connect', () => finish({ ok: true, client }));
    client.once('error', (e: Error & { code?: number | string }) => {
      if (typeof e.code === 'number')
        finish({ ok: false, reason: 'refused', code: e.code, message: e.message });
      else finish({ ok: false, reason: 'error', message: e.message });
    });
    client.once('close', () => finish({ ok: false, reason: 'closed', message: 'connection closed' }));
  });
}

/** Connect and fail the test when refused. */
export async function connectOk(
  stack: LocalStack,
  cert: { certificatePem: string; privateKey: string },
  opts: Partial<IClientOptions> & { clientId: string },
): Promise<MqttClient> {
  const r = await connect(stack, cert, opts);
  if (!r.ok) throw new Error(`connection of ${opts.clientId} failed: ${r.reason} ${r.message}`);
  return r.client;
}

/** Resolve when the client's connection closes (or after `timeoutMs`, with false). */
export function closed(client: MqttClient, timeoutMs = 5000): Promise<boolean> {
  if (!client.connected) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), timeoutMs);
    client.once('close', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

/** Poll `fn` until it returns a value that is not undefined/false, or fail after `timeoutMs`. */
export async function waitFor<T>(
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}
