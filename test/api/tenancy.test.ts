/**
 * Authentication, roles and tenant isolation on every route: missing or bad credentials answer 401, a
 * viewer's writes answer 403, and another tenant's objects answer 404 with no data, on every route with an
 * id, without changing anything.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../support/api-harness.js';
import { fillPath, type Seeded, sampleBody, seedTenant } from './fixtures.js';

let h: Harness;
let acme: Seeded;
let globex: Seeded;

beforeEach(async () => {
  h = await createHarness();
  acme = await seedTenant(h, h.keys.acmeOperator);
  globex = await seedTenant(h, h.keys.globexOperator);
});
afterEach(() => h.close());

describe('authentication', () => {
  it('answers 401 without credentials on every route', async () => {
    for (const r of h.api.routes) {
      const res = await h.call(undefined, r.method, fillPath(r.path, acme), {
        body: sampleBody(r.operationId, acme),
      });
      expect(res.status, `${r.method} ${r.path}`).toBe(401);
      expect(res.body.error.code).toBe('UNAUTHENTICATED');
      expect(res.headers['www-authenticate']).toBe('Bearer');
    }
  });

  it('answers 401 for malformed, unknown, tampered, revoked and expired keys', async () => {
    const bad = [
      'nonsense',
      'fwk.key_abc.short',
      h.keys.acmeOperator.slice(0, -1) + (h.keys.acmeOperator.endsWith('A') ? 'B' : 'A'),
      `fwk.key_000000000000000000000000000000.${'A'.repeat(43)}`,
    ];
    for (const key of bad) expect((await h.call(key, 'GET', '/v1/devices')).status).toBe(401);
    expect(
      (
        await h.api({
          method: 'GET',
          path: '/v1/devices',
          query: {},
          headers: { authorization: `Basic ${h.keys.acmeOperator}` },
        })
      ).statusCode,
    ).toBe(401);

    const created = await h.call(h.keys.acmeOperator, 'POST', '/v1/api-keys', {
      body: { role: 'operator', expiresInDays: 1 },
    });
    expect((await h.call(created.body.key, 'GET', '/v1/devices')).status).toBe(200);
    h.clock.now += 86_400_000;
    expect((await h.call(created.body.key, 'GET', '/v1/devices')).status).toBe(401);

    const other = await h.call(h.keys.acmeOperator, 'POST', '/v1/api-keys', { body: { role: 'viewer' } });
    expect((await h.call(h.keys.acmeOperator, 'DELETE', `/v1/api-keys/${other.body.keyId}`)).status).toBe(
      204,
    );
    expect((await h.call(other.body.key, 'GET', '/v1/devices')).status).toBe(401);
  });

  it('never returns key hashes or secrets in key listings', async () => {
    const res = await h.call(h.keys.acmeOperator, 'GET', '/v1/api-keys');
    expect(res.status).toBe(200);
    const text = JSON.stringify(res.body);
    expect(text).not.toContain('sha256:');
    expect(text).not.toContain('fwk.');
  });
});

describe('roles', () => {
  it('forbids every write to a viewer (403) and leaves state unchanged', async () => {
    const writes = h.api.routes.filter((r) => r.write);
    expect(writes.map((r) => r.operationId).sort()).toEqual(
      [
        'assignDbc',
        'completeFile',
        'createApiKey',
        'createCommand',
        'createDevice',
        'createFile',
        'deleteDevice',
        'putDeviceConfig',
        'revokeApiKey',
        'rotateDeviceCredentials',
        'startFirmwareUpdate',
        'unassignDbc',
        'updateDevice',
      ].sort(),
    );
    const before = h.snapshot();
    for (const r of writes) {
      const res = await h.call(h.keys.acmeViewer, r.method, fillPath(r.path, acme), {
        body: sampleBody(r.operationId, acme),
      });
      expect(res.status, `${r.method} ${r.path}`).toBe(403);
      expect(res.body.error.code).toBe('FORBIDDEN');
    }
    expect(h.snapshot()).toBe(before);
  });

  it('lets a viewer read every read route', async () => {
    for (const r of h.api.routes.filter((x) => !x.write)) {
      const res = await h.call(h.keys.acmeViewer, r.method, fillPath(r.path, acme));
      expect(res.status, `${r.method} ${r.path}: ${JSON.stringify(res.body)}`).toBe(200);
    }
  });
});

describe('tenant isolation', () => {
  it('answers 404 with no data for another tenant’s ids on every route with an id', async () => {
    const withId = h.api.routes.filter((r) => r.path.includes('{'));
    expect(withId.length).toBeGreaterThanOrEqual(17);
    const before = h.snapshot();
    const published = h.deps.publisher.sent.length;
    for (const r of withId) {
      // globex's operator with acme's ids, and globex's own valid bodies.
      const res = await h.call(h.keys.globexOperator, r.method, fillPath(r.path, acme), {
        body: sampleBody(r.operationId, globex),
      });
      expect(res.status, `${r.method} ${r.path}`).toBe(404);
      expect(res.body.error.code).toBe('NOT_FOUND');
      const text = JSON.stringify(res.body);
      for (const secret of Object.values(acme)) expect(text).not.toContain(secret);
    }
    expect(h.snapshot()).toBe(before);
    expect(h.deps.publisher.sent.length).toBe(published);
  });

  it('answers 404 when a body names another tenant’s file', async () => {
    const assign = await h.call(h.keys.globexOperator, 'PUT', `/v1/devices/${globex.deviceId}/dbc`, {
      body: { fileId: acme.dbcFileId },
    });
    expect(assign.status).toBe(404);
    const fw = await h.call(
      h.keys.globexOperator,
      'POST',
      `/v1/devices/${globex.deviceId}/firmware-updates`,
      {
        body: { fileId: acme.firmwareFileId },
      },
    );
    expect(fw.status).toBe(404);
  });

  it('answers 404 for a command id of another device of the same tenant', async () => {
    const second = await seedTenant(h, h.keys.acmeOperator);
    const res = await h.call(
      h.keys.acmeOperator,
      'GET',
      `/v1/devices/${acme.deviceId}/commands/${second.commandId}`,
    );
    expect(res.status).toBe(404);
  });

  it('lists only the caller’s objects', async () => {
    for (const path of ['/v1/devices', '/v1/files', '/v1/events', '/v1/api-keys']) {
      const res = await h.call(h.keys.globexOperator, 'GET', path);
      expect(res.status).toBe(200);
      const text = JSON.stringify(res.body);
      for (const id of Object.values(acme)) expect(text, path).not.toContain(id);
    }
  });

  it('refuses a cursor minted for another tenant', async () => {
    for (let i = 0; i < 3; i++) await seedTenant(h, h.keys.acmeOperator);
    const page = await h.call(h.keys.acmeOperator, 'GET', '/v1/devices', { query: { limit: '2' } });
    expect(page.body.next).toBeTypeOf('string');
    const stolen = await h.call(h.keys.globexOperator, 'GET', '/v1/devices', {
      query: { cursor: page.body.next },
    });
    expect(stolen.status).toBe(400);
    expect(stolen.body.error.code).toBe('INVALID_CURSOR');
  });

  it('does not let a device id taken in another tenant be reused, without revealing more', async () => {
    const res = await h.call(h.keys.globexOperator, 'POST', '/v1/devices', {
      body: { deviceId: acme.deviceId },
    });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('DEVICE_ID_TAKEN');
    expect(JSON.stringify(res.body)).not.toContain('pump');
  });
});
