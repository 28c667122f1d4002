/** File routes: inline and presigned uploads, checksum and DBC verification, listing, download, assignment. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../support/api-harness.js';
import { DBC_TEXT, sha256 } from './fixtures.js';

let h: Harness;
let op: string;
beforeEach(async () => {
  h = await createHarness();
  op = h.keys.acmeOperator;
});
afterEach(() => h.close());

const dbcBody = (text: string, extra: Record<string, unknown> = {}) => ({
  kind: 'dbc',
  name: 'vehicle.dbc',
  version: '1.0',
  sha256: sha256(text),
  size: Buffer.byteLength(text),
  ...extra,
});

describe('uploads', () => {
  it('accepts a small DBC inline, lints it and keeps the report', async () => {
    const res = await h.call(op, 'POST', '/v1/files', {
      body: dbcBody(DBC_TEXT, { contentBase64: Buffer.from(DBC_TEXT).toString('base64') }),
    });
    expect(res.status).toBe(201);
    expect(res.body.upload).toBeUndefined();
    expect(res.body.file).toMatchObject({
      kind: 'dbc',
      status: 'ready',
      lint: { messages: 1, signals: 1, findings: [] },
    });
    expect(await h.deps.files.head(`dbc/acme/${res.body.file.fileId}`)).toBeDefined();
  });

  it('refuses inline content whose checksum, size or DBC syntax is wrong, storing nothing', async () => {
    const b64 = Buffer.from(DBC_TEXT).toString('base64');
    const wrongSha = await h.call(op, 'POST', '/v1/files', {
      body: dbcBody(DBC_TEXT, { sha256: 'f'.repeat(64), contentBase64: b64 }),
    });
    expect(wrongSha.status).toBe(422);
    expect(wrongSha.body.error.code).toBe('CHECKSUM_MISMATCH');
    const wrongSize = await h.call(op, 'POST', '/v1/files', {
      body: dbcBody(DBC_TEXT, { size: 3, contentBase64: b64 }),
    });
    expect(wrongSize.body.error.code).toBe('SIZE_MISMATCH');
    const junk = 'not a dbc';
    const bad = await h.call(op, 'POST', '/v1/files', {
      body: dbcBody(junk, { contentBase64: Buffer.from(junk).toString('base64') }),
    });
    expect(bad.status).toBe(422);
    expect(bad.body.error.code).toBe('DBC_INVALID');
    expect(h.storedObjects()).toEqual([]);
    const listed = await h.call(op, 'GET', '/v1/files', { query: { kind: 'dbc' } });
    const invalid = listed.body.items.find(
      (f: { problem?: { code: string } }) => f.problem?.code === 'DBC_INVALID',
    );
    expect(invalid.status).toBe('invalid');
    expect(invalid.lint.findings[0]).toMatchObject({ severity: 'error', line: 1 });
    const notB64 = await h.call(op, 'POST', '/v1/files', {
      body: dbcBody(DBC_TEXT, { contentBase64: '@@@@' }),
    });
    expect(notB64.status).toBe(400);
  });

  it('enforces size limits per kind', async () => {
    const res = await h.call(op, 'POST', '/v1/files', {
      body: { kind: 'dbc', name: 'big.dbc', version: '1', sha256: 'a'.repeat(64), size: 9 * 1024 * 1024 },
    });
    expect(res.status).toBe(413);
    for (const name of ['../x', 'a/b', '']) {
      expect(
        (await h.call(op, 'POST', '/v1/files', { body: dbcBody(DBC_TEXT, { name }) })).status,
        name,
      ).toBe(400);
    }
  });

  it('presigned flow: pending → upload → complete → ready → download and assign', async () => {
    const fw = Buffer.alloc(300_000, 7);
    const created = await h.call(op, 'POST', '/v1/files', {
      body: { kind: 'firmware', name: 'fw.bin', version: '3.1.0', sha256: sha256(fw), size: fw.byteLength },
    });
    expect(created.status).toBe(201);
    expect(created.body.file.status).toBe('pending');
    expect(created.body.upload).toMatchObject({
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream' },
    });
    const id = created.body.file.fileId;
    expect(created.body.upload.url).toContain(`firmware/acme/${id}`);

    const early = await h.call(op, 'POST', `/v1/files/${id}/complete`);
    expect(early.status).toBe(422);
    expect(early.body.error.code).toBe('FILE_MISSING');
    expect((await h.call(op, 'GET', `/v1/files/${id}/download`)).status).toBe(409);

    // A corrupted upload is refused and removed; a correct re-upload then completes.
    await h.deps.files.put(`firmware/acme/${id}`, Buffer.alloc(300_000, 8));
    const corrupt = await h.call(op, 'POST', `/v1/files/${id}/complete`);
    expect(corrupt.body.error.code).toBe('CHECKSUM_MISMATCH');
    expect(await h.deps.files.head(`firmware/acme/${id}`)).toBeUndefined();
    await h.deps.files.put(`firmware/acme/${id}`, fw);
    const done = await h.call(op, 'POST', `/v1/files/${id}/complete`);
    expect(done.status).toBe(200);
    expect(done.body.status).toBe('ready');
    expect(done.body.problem).toBeUndefined();
    expect((await h.call(op, 'POST', `/v1/files/${id}/complete`)).status).toBe(200);

    const dl = await h.call(h.keys.acmeViewer, 'GET', `/v1/files/${id}/download`);
    expect(dl.status).toBe(200);
    expect(dl.body).toMatchObject({ sha256: sha256(fw), size: 300_000 });
    expect(dl.body.url.startsWith(`http://files.test/files/firmware/acme/${id}?expires=`)).toBe(true);
    expect(dl.body.url).toContain('&sig=');
  });

  it('assigns a ready DBC to a device and removes the assignment', async () => {
    const file = (
      await h.call(op, 'POST', '/v1/files', {
        body: dbcBody(DBC_TEXT, { contentBase64: Buffer.from(DBC_TEXT).toString('base64') }),
      })
    ).body.file;
    const dev = (await h.call(op, 'POST', '/v1/devices', { body: {} })).body.deviceId;
    const res = await h.call(op, 'PUT', `/v1/devices/${dev}/dbc`, { body: { fileId: file.fileId } });
    expect(res.status).toBe(200);
    expect(res.body.dbcFileId).toBe(file.fileId);
    expect((await h.deps.registry.getByThing(dev))?.dbcKey).toBe(`dbc/acme/${file.fileId}`);
    const fw = Buffer.from('fw');
    const firmware = (
      await h.call(op, 'POST', '/v1/files', {
        body: {
          kind: 'firmware',
          name: 'f',
          version: '1',
          sha256: sha256(fw),
          size: 2,
          contentBase64: fw.toString('base64'),
        },
      })
    ).body.file;
    expect(
      (await h.call(op, 'PUT', `/v1/devices/${dev}/dbc`, { body: { fileId: firmware.fileId } })).status,
    ).toBe(422);
    const un = await h.call(op, 'DELETE', `/v1/devices/${dev}/dbc`);
    expect(un.body.dbcFileId).toBeUndefined();
  });
});

describe('listing', () => {
  it('lists newest first, filters by kind and paginates', async () => {
    for (let i = 0; i < 5; i++) {
      const t = `${DBC_TEXT}\n// ${i}`;
      h.clock.now += 1000;
      await h.call(op, 'POST', '/v1/files', {
        body: dbcBody(t, { version: String(i), contentBase64: Buffer.from(t).toString('base64') }),
      });
    }
    const first = await h.call(op, 'GET', '/v1/files', { query: { limit: '2', kind: 'dbc' } });
    expect(first.body.items.map((f: { version: string }) => f.version)).toEqual(['4', '3']);
    const second = await h.call(op, 'GET', '/v1/files', {
      query: { limit: '2', kind: 'dbc', cursor: first.body.next },
    });
    expect(second.body.items.map((f: { version: string }) => f.version)).toEqual(['2', '1']);
    // A cursor belongs to its filter.
    const mixed = await h.call(op, 'GET', '/v1/files', {
      query: { limit: '2', kind: 'firmware', cursor: first.body.next },
    });
    expect(mixed.status).toBe(400);
    expect((await h.call(op, 'GET', '/v1/files', { query: { kind: 'firmware' } })).body.items).toEqual([]);
  });
});
