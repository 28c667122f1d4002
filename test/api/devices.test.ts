/** Device routes: provisioning, listing with pagination, updates, deletion, rotation, configuration. */
import { execFileSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyToken } from '../../lambdas/core/token.js';
import { createHarness, type Harness } from '../support/api-harness.js';
import { CONFIG_IO } from './fixtures.js';

let h: Harness;
let op: string;
beforeEach(async () => {
  h = await createHarness();
  op = h.keys.acmeOperator;
});
afterEach(() => h.close());

describe('POST /v1/devices', () => {
  it('provisions a device: certificate, key and token shown once, token stored hashed, topics listed', async () => {
    const res = await h.call(op, 'POST', '/v1/devices', {
      body: { name: 'EMS 1', tags: { label: 'roof', note: 'north side' } },
    });
    expect(res.status).toBe(201);
    const b = res.body;
    expect(b.deviceId).toMatch(/^[0-9a-f]{32}$/);
    expect(b.certificatePem).toContain('BEGIN CERTIFICATE');
    expect(b.privateKey).toContain('PRIVATE KEY');
    expect(b.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(b.mqtt).toEqual({ host: 'localhost', port: 8883 });
    expect(b.topics.commands).toBe(`cmd/fleetwire/${b.deviceId}/req`);
    expect(b.topics.responses).toBe(`cmd/fleetwire/${b.deviceId}/res`);
    expect(b.topics.telemetry.ems).toBe(`dt/fleetwire/${b.deviceId}/ems`);
    expect(b.topics.telemetry['flexconnect-binary']).toBe(`dt/fleetwire/${b.deviceId}/flexconnect-binary`);

    const stored = await h.deps.registry.getByThing(b.deviceId);
    expect(stored?.tenant).toBe('acme');
    expect(JSON.stringify(stored)).not.toContain(b.token);
    expect(JSON.stringify(stored)).not.toContain('PRIVATE KEY');
    expect(verifyToken(b.token, stored?.tokenHash ?? '')).toBe(true);

    const got = await h.call(op, 'GET', `/v1/devices/${b.deviceId}`);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({
      deviceId: b.deviceId,
      name: 'EMS 1',
      tags: { label: 'roof', note: 'north side' },
      status: 'active',
    });
    expect(JSON.stringify(got.body)).not.toContain(b.token);
    expect((await h.deps.events.list('acme', { limit: 10 })).items.map((e) => e.type)).toContain(
      'device.created',
    );
  });

  it('accepts a CSR and then returns no private key', async () => {
    // A real CSR (P-256), made the way a device would; its key never leaves the "device".
    const csr = execFileSync(
      'openssl',
      [
        'req',
        '-new',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-subj',
        '/CN=ems_001',
        '-keyout',
        '/dev/null',
      ],
      { encoding: 'utf8' },
    );
    const res = await h.call(op, 'POST', '/v1/devices', { body: { deviceId: 'ems_001', csr } });
    expect(res.status).toBe(201);
    expect(res.body.deviceId).toBe('ems_001');
    expect(res.body.privateKey).toBeUndefined();
    const bad = await h.call(op, 'POST', '/v1/devices', {
      body: { csr: '-----BEGIN CERTIFICATE REQUEST-----\nBROKEN' },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.error.code).toBe('CSR_INVALID');
  });

  it('validates the body', async () => {
    const cases: [unknown, string][] = [
      [{ deviceId: 'bad/id' }, 'body.deviceId'],
      [{ deviceId: 'x'.repeat(129) }, 'body.deviceId'],
      [{ tags: { __proto__x: 'ok', 'bad\u0000': 'x' } }, 'body.tags'],
      [{ unexpected: true }, 'body'],
      [{ name: 7 }, 'body.name'],
    ];
    for (const [body, path] of cases) {
      const res = await h.call(op, 'POST', '/v1/devices', { body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
      expect(res.body.error.details.issues.some((i: { path: string }) => i.path.startsWith(path))).toBe(true);
    }
    expect((await h.call(op, 'POST', '/v1/devices', { raw: '{"name":' })).body.error.code).toBe(
      'INVALID_JSON',
    );
    const wrongType = await h.call(op, 'POST', '/v1/devices', {
      raw: 'name=x',
      contentType: 'application/x-www-form-urlencoded',
    });
    expect(wrongType.status).toBe(415);
    const huge = await h.call(op, 'POST', '/v1/devices', { raw: `{"name":"${'x'.repeat(1_100_000)}"}` });
    expect(huge.status).toBe(413);
    expect((await h.deps.registry.list('acme', { limit: 10 })).items).toEqual([]);
  });

  it('answers 409 for a taken id and 404/405 for unknown routes and methods', async () => {
    await h.call(op, 'POST', '/v1/devices', { body: { deviceId: 'dev-1' } });
    expect((await h.call(op, 'POST', '/v1/devices', { body: { deviceId: 'dev-1' } })).status).toBe(409);
    expect((await h.call(op, 'GET', '/v1/nothing')).status).toBe(404);
    const m = await h.call(op, 'PUT', '/v1/devices');
    expect(m.status).toBe(405);
    expect(m.headers.allow).toBe('POST, GET');
    expect((await h.call(op, 'GET', '/v1/devices', { query: { bogus: '1' } })).status).toBe(400);
  });
});

describe('listing and pagination', () => {
  it('pages through every device exactly once', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 7; i++)
      ids.add((await h.call(op, 'POST', '/v1/devices', { body: {} })).body.deviceId);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const res = await h.call(op, 'GET', '/v1/devices', {
        query: { limit: '3', ...(cursor ? { cursor } : {}) },
      });
      expect(res.status).toBe(200);
      expect(res.body.items.length).toBeLessThanOrEqual(3);
      seen.push(...res.body.items.map((d: { deviceId: string }) => d.deviceId));
      cursor = res.body.next;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(new Set(seen)).toEqual(ids);
    expect(seen.length).toBe(7);
  });

  it('refuses bad limits and forged cursors', async () => {
    for (const limit of ['0', '201', 'x', '-1']) {
      expect((await h.call(op, 'GET', '/v1/devices', { query: { limit } })).status, limit).toBe(400);
    }
    for (const cursor of [
      '%%%',
      Buffer.from('{"t":"acme","s":"files","c":"0"}').toString('base64url'),
      'a'.repeat(9000),
    ]) {
      const res = await h.call(op, 'GET', '/v1/devices', { query: { cursor } });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('INVALID_CURSOR');
    }
  });
});

describe('PATCH, DELETE, rotate', () => {
  it('merges tags, clears the name and disables a device', async () => {
    const id = (
      await h.call(op, 'POST', '/v1/devices', { body: { name: 'a', tags: { label: 'x', note: 'y' } } })
    ).body.deviceId;
    const res = await h.call(op, 'PATCH', `/v1/devices/${id}`, {
      body: { name: null, tags: { note: null, site: 'b' }, status: 'disabled' },
    });
    expect(res.status).toBe(200);
    expect(res.body.name).toBeUndefined();
    expect(res.body.tags).toEqual({ label: 'x', site: 'b' });
    expect(res.body.status).toBe('disabled');
    expect((await h.call(op, 'PATCH', `/v1/devices/${id}`, { body: {} })).status).toBe(400);
    const cmd = await h.call(op, 'POST', `/v1/devices/${id}/commands`, { body: { action: 'SOFT_RESET' } });
    expect(cmd.status).toBe(409);
    expect(cmd.body.error.code).toBe('DEVICE_NOT_ACTIVE');
  });

  it('deletes: certificate revoked, thing removed, telemetry kept', async () => {
    const created = (await h.call(op, 'POST', '/v1/devices', { body: {} })).body;
    await h.deps.telemetry.write('acme', [
      { device: created.deviceId, time: h.clock.now - 1000, tags: {}, fields: { v: 1 } },
    ]);
    expect((await h.call(op, 'DELETE', `/v1/devices/${created.deviceId}`)).status).toBe(204);
    expect(h.deps.identity.certificate(created.certificateId)?.status).toBe('revoked');
    expect((await h.call(op, 'GET', `/v1/devices/${created.deviceId}`)).status).toBe(404);
    expect((await h.call(op, 'DELETE', `/v1/devices/${created.deviceId}`)).status).toBe(404);
    expect((await h.deps.telemetry.latest('acme', created.deviceId)).map((v) => v.value)).toEqual([1]);
  });

  it('rotates: new certificate and token, old certificate revoked', async () => {
    const created = (await h.call(op, 'POST', '/v1/devices', { body: {} })).body;
    const rot = await h.call(op, 'POST', `/v1/devices/${created.deviceId}/credentials:rotate`, { body: {} });
    expect(rot.status).toBe(200);
    expect(rot.body.certificateId).not.toBe(created.certificateId);
    expect(rot.body.token).not.toBe(created.token);
    expect(h.deps.identity.certificate(created.certificateId)?.status).toBe('revoked');
    expect(h.deps.identity.certificate(rot.body.certificateId)?.status).toBe('active');
    const rec = await h.deps.registry.getByThing(created.deviceId);
    expect(verifyToken(rot.body.token, rec?.tokenHash ?? '')).toBe(true);
    expect(verifyToken(created.token, rec?.tokenHash ?? '')).toBe(false);

    const keep = await h.call(op, 'POST', `/v1/devices/${created.deviceId}/credentials:rotate`, {
      body: { rotateToken: false },
    });
    expect(keep.body.token).toBeUndefined();
    expect(
      verifyToken(rot.body.token, (await h.deps.registry.getByThing(created.deviceId))?.tokenHash ?? ''),
    ).toBe(true);
  });
});

describe('configuration', () => {
  it('stores config_io and config_applications and tells the device with SET_CONFIG', async () => {
    const id = (await h.call(op, 'POST', '/v1/devices', { body: {} })).body.deviceId;
    const empty = await h.call(op, 'GET', `/v1/devices/${id}/config`);
    expect(empty.body).toEqual({ config_io: null, config_applications: null });
    const apps = {
      last_edited: '2018-03-28T13:27:39+00:00',
      applications: {
        Modbus_RTU: {
          application_display_name: 'Modbus RTU',
          interfaces: [{ interface: '/dev/tty0', baud_rate: 115200 }],
        },
      },
    };
    const put = await h.call(op, 'PUT', `/v1/devices/${id}/config`, {
      body: { config_io: CONFIG_IO, config_applications: apps },
    });
    expect(put.status).toBe(200);
    expect(put.body.config_io).toEqual(CONFIG_IO);
    expect(put.body.commandId).toMatch(/^cmd_/);
    const msg = h.deps.publisher.sent.at(-1);
    expect(msg?.topic).toBe(`cmd/fleetwire/${id}/req`);
    const parsed = JSON.parse(msg?.payload ?? '{}');
    expect(parsed).toMatchObject({
      command_id: put.body.commandId,
      action: 'SET_CONFIG',
      payload: { config_io: CONFIG_IO, config_applications: apps },
    });
    const got = await h.call(op, 'GET', `/v1/devices/${id}/config`);
    expect(got.body.config_io).toEqual(CONFIG_IO);
    expect(got.body.config_applications).toEqual(apps);
  });

  it('refuses contracts that break the ExoSense schema', async () => {
    const id = (await h.call(op, 'POST', '/v1/devices', { body: {} })).body.deviceId;
    const bad = [
      { channels: {} },
      { last_edited: 'x', channels: { '001': { properties: { data_type: 'TEMPERATURE' } } } },
      { last_edited: 'x', channels: { '001': { display_name: 'a', properties: { data_type: 'lower' } } } },
      { last_edited: 'x', channels: { 'bad!id': { display_name: 'a', properties: { data_type: 'A' } } } },
      {
        last_edited: 'x',
        channels: {
          '001': {
            display_name: 'a',
            properties: { data_type: 'A' },
            protocol_config: { down_sample: 'MEDIAN' },
          },
        },
      },
      {
        last_edited: 'x',
        channels: {
          '001': { display_name: 'a', properties: { data_type: 'A' }, control_properties: { enum: [1] } },
        },
      },
    ];
    for (const config_io of bad) {
      const res = await h.call(op, 'PUT', `/v1/devices/${id}/config`, { body: { config_io } });
      expect(res.status, JSON.stringify(config_io)).toBe(400);
    }
    expect((await h.call(op, 'PUT', `/v1/devices/${id}/config`, { body: {} })).status).toBe(400);
    expect((await h.deps.registry.getByThing(id))?.channelContract).toBeUndefined();
  });

  it('respects locks set by the device', async () => {
    const id = (await h.call(op, 'POST', '/v1/devices', { body: {} })).body.deviceId;
    const rec = await h.deps.registry.getByThing(id);
    if (!rec) throw new Error('missing');
    // The device set (and locked) its configuration itself.
    await h.deps.registry.put({
      ...rec,
      channelContract: {
        ...CONFIG_IO,
        channels: {
          ...CONFIG_IO.channels,
          '001': {
            ...CONFIG_IO.channels['001'],
            properties: { ...CONFIG_IO.channels['001'].properties, locked: true },
          },
        },
      },
    });
    const changed = {
      ...CONFIG_IO,
      channels: { ...CONFIG_IO.channels, '001': { ...CONFIG_IO.channels['001'], display_name: 'Renamed' } },
    };
    const res = await h.call(op, 'PUT', `/v1/devices/${id}/config`, { body: { config_io: changed } });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('CONFIG_INVALID');
    await h.deps.registry.put({ ...rec, channelContract: { ...CONFIG_IO, locked: true } });
    expect(
      (await h.call(op, 'PUT', `/v1/devices/${id}/config`, { body: { config_io: CONFIG_IO } })).status,
    ).toBe(422);
  });
});
