/** A stopped and restarted stack keeps its CA, credentials, devices and data. */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { call, connectOk, provision, startTestStack, tempDir } from './helpers.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('local stack restart', () => {
  it('keeps data, devices, certificates and the API token', async () => {
    const first = await startTestStack(tmp.dir);
    expect(first.tokenCreated).toBe(true);
    const config = JSON.parse(readFileSync(join(tmp.dir, 'local.json'), 'utf8'));
    expect(config).toMatchObject({
      apiUrl: first.config.apiUrl,
      mqttUrl: first.config.mqttUrl,
      tenant: 'local',
    });
    expect(config.caPem).toContain('BEGIN CERTIFICATE');
    expect(config.apiToken).toMatch(/^fwk\./);
    if (process.platform !== 'win32') expect(statSync(join(tmp.dir, 'local.json')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(tmp.dir, '.gitignore'), 'utf8')).toContain('*');
    // The database holds only the token's hash.
    const keys = first.adapters.db.prepare('SELECT key_hash FROM api_keys').pluck().all() as string[];
    expect(keys.every((k) => k.startsWith('sha256:') && !k.includes(config.apiToken))).toBe(true);

    const dev = await provision(first, 'keeper');
    const c = await connectOk(first, dev, { clientId: 'keeper' });
    await c.publishAsync('dt/fleetwire/keeper/ems', JSON.stringify({ timestamp: 1_769_860_801_000, v: 1 }), {
      qos: 1,
    });
    await c.endAsync();
    await first.close();

    const second = await startTestStack(tmp.dir);
    try {
      expect(second.tokenCreated).toBe(false);
      expect(second.config.apiToken).toBe(config.apiToken);
      expect(second.ca.caPem).toBe(first.ca.caPem);
      const latest = await call(second, 'GET', '/v1/devices/keeper/latest');
      expect(latest.status).toBe(200);
      expect(latest.body.fields.v).toEqual({ time: '2026-01-31T12:00:01.000Z', value: 1 });
      const again = await connectOk(second, dev, { clientId: 'keeper', protocolVersion: 5 });
      await again.endAsync();
    } finally {
      await second.close();
    }
  });
});
