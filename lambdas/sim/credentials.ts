/**
 * Simulated devices' credentials: provisioned through the API once and cached on disk, so the next run
 * reuses the same devices (and their telemetry history) instead of creating new ones.
 *
 * Cache layout: `<stateDir>/sim/<api host_port>/<deviceId>.json`, directories 0700 and files 0600 (they
 * hold private keys and payload tokens). A cached device is reused while the API still has it with the
 * same certificate; a device the API has but the cache lacks (or with another certificate) gets new
 * credentials through rotation; a device the API lacks (a fresh local stack) is created again.
 */
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FleetwireApi, IssuedCredentials } from './api-client.js';

/** What the cache keeps per device. */
export interface CachedDevice {
  deviceId: string;
  apiUrl: string;
  certificateId: string;
  certificatePem: string;
  privateKey: string;
  token?: string;
  mqtt: { host: string; port: number };
  caPem?: string;
  topics: IssuedCredentials['topics'];
  savedAt: string;
}

/** How a device was obtained. */
export type ProvisionAction = 'reused' | 'created' | 'rotated';

/** The cache directory for one API. */
export function cacheDir(stateDir: string, apiUrl: string): string {
  let key: string;
  try {
    const u = new URL(apiUrl);
    key = `${u.hostname}_${u.port || (u.protocol === 'https:' ? '443' : '80')}`;
  } catch {
    key = apiUrl;
  }
  return join(stateDir, 'sim', key.replace(/[^a-zA-Z0-9._-]/g, '_').slice(0, 120));
}

/** Read a cached device, or undefined when missing or unreadable. */
export function readCached(dir: string, deviceId: string): CachedDevice | undefined {
  try {
    const c = JSON.parse(readFileSync(join(dir, `${deviceId}.json`), 'utf8')) as CachedDevice;
    return c.deviceId === deviceId && typeof c.privateKey === 'string' ? c : undefined;
  } catch {
    return undefined;
  }
}

/** Write a cached device atomically, owner-only. */
export function writeCached(dir: string, device: CachedDevice): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const path = join(dir, `${device.deviceId}.json`);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(device, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

function toCached(
  api: FleetwireApi,
  issued: IssuedCredentials,
  previous: CachedDevice | undefined,
  now: number,
): CachedDevice {
  if (issued.privateKey === undefined) throw new Error(`${issued.deviceId}: the API returned no private key`);
  const token = issued.token ?? previous?.token;
  return {
    deviceId: issued.deviceId,
    apiUrl: api.url,
    certificateId: issued.certificateId,
    certificatePem: issued.certificatePem,
    privateKey: issued.privateKey,
    ...(token !== undefined ? { token } : {}),
    mqtt: issued.mqtt,
    ...(issued.caPem !== undefined ? { caPem: issued.caPem } : {}),
    topics: issued.topics,
    savedAt: new Date(now).toISOString(),
  };
}

/** Get usable credentials for `deviceId`: reuse the cached ones, or create/rotate through the API. */
export async function provisionDevice(
  api: FleetwireApi,
  dir: string,
  deviceId: string,
  now: () => number = Date.now,
): Promise<{ device: CachedDevice; action: ProvisionAction }> {
  const cached = readCached(dir, deviceId);
  const remote = await api.getDevice(deviceId);
  if (remote && cached && remote.certificateId === cached.certificateId) {
    if (remote.status !== 'active')
      throw new Error(`device ${deviceId} is ${remote.status}; enable it first`);
    return { device: cached, action: 'reused' };
  }
  let issued: IssuedCredentials;
  let action: ProvisionAction;
  if (remote) {
    if (remote.status !== 'active')
      throw new Error(`device ${deviceId} is ${remote.status}; enable it first`);
    issued = await api.rotate(deviceId);
    action = 'rotated';
  } else {
    issued = await api.createDevice(deviceId, { simulator: 'fleetwire' });
    action = 'created';
  }
  const device = toCached(api, issued, cached, now());
  writeCached(dir, device);
  return { device, action };
}
