import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteApiKeyStore } from '../../lambdas/adapters/local/api-key-store.js';
import { SqliteCommandStore } from '../../lambdas/adapters/local/command-store.js';
import { SqliteDeadLetterStore } from '../../lambdas/adapters/local/dead-letters.js';
import { SqliteDeviceRegistry } from '../../lambdas/adapters/local/device-registry.js';
import { SqliteEventLog } from '../../lambdas/adapters/local/event-log.js';
import { SqliteFileCatalog } from '../../lambdas/adapters/local/file-catalog.js';
import { type Db, openDatabase } from '../../lambdas/adapters/local/sqlite.js';
import type { CommandRecord } from '../../lambdas/ports/commands.js';
import type { DeviceRecord } from '../../lambdas/ports/device-registry.js';
import type { FileRecord } from '../../lambdas/ports/file-catalog.js';

function device(tenant: string, deviceId: string, extra: Partial<DeviceRecord> = {}): DeviceRecord {
  return { tenant, deviceId, tags: {}, tokenHash: 'sha256:00', status: 'active', createdAt: 1, ...extra };
}

function command(
  tenant: string,
  commandId: string,
  createdAt: number,
  extra: Partial<CommandRecord> = {},
): CommandRecord {
  return {
    tenant,
    deviceId: 'd1',
    commandId,
    action: 'SET_MODE',
    payload: { mode: 'AUTO' },
    status: 'QUEUED',
    createdAt,
    updatedAt: createdAt,
    expiresAt: createdAt + 60_000,
    history: [{ status: 'QUEUED', at: createdAt }],
    ...extra,
  };
}

let db: Db;
beforeEach(() => {
  db = openDatabase(':memory:');
});
afterEach(() => db.close());

describe('SqliteDeviceRegistry', () => {
  it('keeps thing names unique across tenants and scopes reads by tenant', async () => {
    const r = new SqliteDeviceRegistry(db);
    await r.create(device('acme', 'd1', { name: 'pump' }));
    await expect(r.create(device('globex', 'd1'))).rejects.toMatchObject({ code: 'DEVICE_EXISTS' });
    expect((await r.getByThing('d1'))?.tenant).toBe('acme');
    expect(await r.get('globex', 'd1')).toBeUndefined();
    expect((await r.get('acme', 'd1'))?.name).toBe('pump');
    await expect(r.put(device('globex', 'd1'))).rejects.toMatchObject({ code: 'DEVICE_NOT_FOUND' });
    expect(await r.delete('globex', 'd1')).toBe(false);
    expect(await r.delete('acme', 'd1')).toBe(true);
    expect(await r.getByThing('d1')).toBeUndefined();
  });

  it('keeps a __proto__ tag as a plain key', async () => {
    const r = new SqliteDeviceRegistry(db);
    const tags = Object.create(null) as Record<string, string>;
    Object.defineProperty(tags, '__proto__', {
      value: 'x',
      enumerable: true,
      writable: true,
      configurable: true,
    });
    await r.create(device('acme', 'd1', { tags }));
    const back = await r.get('acme', 'd1');
    expect(Object.keys(back?.tags ?? {})).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(back?.tags)).toBeNull();
  });

  it('lists one tenant page by page', async () => {
    const r = new SqliteDeviceRegistry(db);
    for (let i = 0; i < 7; i++) await r.create(device('acme', `d${i}`));
    await r.create(device('globex', 'g1'));
    const ids: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await r.list('acme', { limit: 3, ...(cursor ? { cursor } : {}) });
      ids.push(...page.items.map((d) => d.deviceId));
      cursor = page.next;
    } while (cursor);
    expect(ids).toEqual(['d0', 'd1', 'd2', 'd3', 'd4', 'd5', 'd6']);
    await expect(r.list('acme', { limit: 3, cursor: '%%%' })).rejects.toMatchObject({
      code: 'INVALID_CURSOR',
    });
  });

  it('moves lastSeen only forward and records the connection state', async () => {
    const r = new SqliteDeviceRegistry(db);
    await r.create(device('acme', 'd1'));
    await r.touch('d1', 200);
    await r.touch('d1', 100);
    r.setConnected('d1', true);
    expect(await r.get('acme', 'd1')).toMatchObject({ lastSeen: 200, connected: true });
    r.setConnected('d1', false);
    expect((await r.get('acme', 'd1'))?.connected).toBe(false);
  });
});

describe('SqliteCommandStore', () => {
  it('transitions only from the allowed states, once', async () => {
    const s = new SqliteCommandStore(db);
    await s.create(command('acme', 'c1', 1000));
    await expect(s.create(command('acme', 'c1', 1000))).rejects.toMatchObject({ code: 'COMMAND_EXISTS' });
    const sent = await s.transition('acme', 'c1', ['QUEUED'], 'SENT', 1100);
    expect(sent).toMatchObject({ status: 'SENT', updatedAt: 1100 });
    expect(await s.transition('acme', 'c1', ['QUEUED'], 'SENT', 1200)).toBeUndefined();
    const done = await s.transition('acme', 'c1', ['SENT', 'ACKNOWLEDGED'], 'SUCCEEDED', 1300, { ok: true });
    expect(done?.history.map((h) => h.status)).toEqual(['QUEUED', 'SENT', 'SUCCEEDED']);
    expect(done?.result).toEqual({ ok: true });
    expect(await s.transition('globex', 'c1', ['SUCCEEDED'], 'FAILED', 1400)).toBeUndefined();
    expect((await s.get('acme', 'c1'))?.status).toBe('SUCCEEDED');
    expect(await s.get('globex', 'c1')).toBeUndefined();
  });

  it('lists newest first with filters and cursors', async () => {
    const s = new SqliteCommandStore(db);
    for (let i = 0; i < 5; i++)
      await s.create(command('acme', `c${i}`, 1000 + (i % 3), { deviceId: i % 2 ? 'd2' : 'd1' }));
    await s.create(command('globex', 'x', 5000));
    const ids: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await s.list('acme', { limit: 2, ...(cursor ? { cursor } : {}) });
      ids.push(...page.items.map((c) => c.commandId));
      cursor = page.next;
    } while (cursor);
    expect(ids).toEqual(['c2', 'c4', 'c1', 'c3', 'c0']);
    expect((await s.list('acme', { deviceId: 'd2', limit: 10 })).items.map((c) => c.commandId)).toEqual([
      'c1',
      'c3',
    ]);
    await s.transition('acme', 'c0', ['QUEUED'], 'SENT', 2000);
    expect((await s.list('acme', { status: 'SENT', limit: 10 })).items.map((c) => c.commandId)).toEqual([
      'c0',
    ]);
  });
});

describe('SqliteEventLog', () => {
  it('appends, prints and lists a tenant’s events newest first', async () => {
    const printed: string[] = [];
    const log = new SqliteEventLog(db, (e) => printed.push(`${e.type}:${e.code}`));
    await log.publish([
      {
        type: 'ingest.rejected',
        code: 'TOKEN_MISMATCH',
        tenant: 'acme',
        device: 'd1',
        time: 10,
        detail: { a: 1 },
      },
      { type: 'device.connected', code: 'CONNECTED', tenant: 'acme', device: 'd2', time: 20, detail: {} },
      { type: 'device.connect_refused', code: 'CERTIFICATE_UNKNOWN', time: 30, detail: {} },
      { type: 'x', code: 'Y', tenant: 'globex', time: 40, detail: {} },
    ]);
    expect(printed).toHaveLength(4);
    const first = await log.list('acme', { limit: 1 });
    expect(first.items.map((e) => e.code)).toEqual(['CONNECTED']);
    const second = await log.list('acme', { limit: 1, ...(first.next ? { cursor: first.next } : {}) });
    expect(second.items[0]).toMatchObject({ code: 'TOKEN_MISMATCH', device: 'd1', detail: { a: 1 } });
    expect(second.next).toBeUndefined();
    expect((await log.list('acme', { deviceId: 'd1', limit: 5 })).items).toHaveLength(1);
    expect((await log.list('acme', { since: 15, limit: 5 })).items).toHaveLength(1);
  });
});

describe('SqliteDeadLetterStore', () => {
  it('keeps payload bytes and reasons, lists pending letters and records replays', async () => {
    const dl = new SqliteDeadLetterStore(db);
    const payload = Buffer.from([0xfc, 0, 1, 2, 255]);
    await dl.send({
      code: 'TOKEN_MISMATCH',
      reason: 'bad token',
      payloadBase64: payload.toString('base64'),
      topic: 'dt/fleetwire/d1/auto',
      clientId: 'd1',
      tenant: 'acme',
      receivedAt: 5,
      rejected: [{ index: 0, reason: 'x' }],
    });
    await dl.send({ code: 'INVALID_EVENT', reason: 'r', payloadBase64: '', receivedAt: 6 });
    const page = dl.list({ status: 'pending', limit: 1 });
    expect(page.items[0]).toMatchObject({
      code: 'TOKEN_MISMATCH',
      clientId: 'd1',
      rejected: [{ index: 0, reason: 'x' }],
    });
    expect(Buffer.from(page.items[0]?.payloadBase64 ?? '', 'base64')).toEqual(payload);
    expect(page.next).toBeDefined();
    const id = page.items[0]?.id ?? 0;
    dl.markReplayed(id, 100, false);
    expect(dl.get(id)).toMatchObject({ status: 'pending', replays: 1 });
    dl.markReplayed(id, 200, true);
    expect(dl.get(id)).toMatchObject({ status: 'replayed', replays: 2, replayedAt: 200 });
    expect(dl.discard(id + 1)).toBe(true);
    expect(dl.counts()).toEqual({ pending: 0, replayed: 1, discarded: 1 });
    expect(dl.list({ tenant: 'acme', limit: 10 }).items).toHaveLength(1);
  });
});

describe('SqliteApiKeyStore and SqliteFileCatalog', () => {
  it('stores key hashes, revokes within a tenant only', async () => {
    const s = new SqliteApiKeyStore(db);
    await s.create({ tenant: 'acme', keyId: 'key_1', keyHash: 'sha256:ab', role: 'operator', createdAt: 1 });
    await expect(
      s.create({ tenant: 'x', keyId: 'key_1', keyHash: 'h', role: 'viewer', createdAt: 1 }),
    ).rejects.toMatchObject({
      code: 'API_KEY_EXISTS',
    });
    expect(await s.revoke('globex', 'key_1', 5)).toBe(false);
    expect(await s.revoke('acme', 'key_1', 5)).toBe(true);
    expect(await s.revoke('acme', 'key_1', 9)).toBe(true);
    expect(await s.getById('key_1')).toMatchObject({ revokedAt: 5, keyHash: 'sha256:ab' });
    expect((await s.list('acme', { limit: 10 })).items).toHaveLength(1);
  });

  it('catalogs files per tenant, newest first', async () => {
    const c = new SqliteFileCatalog(db);
    const f = (id: string, at: number, kind: 'dbc' | 'firmware' = 'dbc'): FileRecord => ({
      tenant: 'acme',
      fileId: id,
      kind,
      name: `${id}.dbc`,
      version: '1',
      sha256: '0'.repeat(64),
      size: 1,
      contentType: 'text/plain',
      key: `dbc/acme/${id}`,
      status: 'pending',
      createdAt: at,
      updatedAt: at,
    });
    await c.create(f('a', 1));
    await c.create(f('b', 2, 'firmware'));
    await expect(c.create(f('a', 3))).rejects.toMatchObject({ code: 'FILE_EXISTS' });
    expect((await c.list('acme', { limit: 10 })).items.map((x) => x.fileId)).toEqual(['b', 'a']);
    expect((await c.list('acme', { kind: 'dbc', limit: 10 })).items.map((x) => x.fileId)).toEqual(['a']);
    await c.put({ ...f('a', 1), status: 'ready' });
    expect((await c.get('acme', 'a'))?.status).toBe('ready');
    expect(await c.get('globex', 'a')).toBeUndefined();
    await expect(c.put({ ...f('zz', 1) })).rejects.toMatchObject({ code: 'FILE_NOT_FOUND' });
  });
});
