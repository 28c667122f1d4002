import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isValidKey, LocalFileStore } from '../../lambdas/adapters/local/file-store.js';

const secret = Buffer.alloc(32, 7);
let dir: string;
let clock: number;
let store: LocalFileStore;

function parse(url: string) {
  const u = new URL(url);
  return {
    key: u.pathname.slice('/files/'.length).split('/').map(decodeURIComponent).join('/'),
    expires: Number(u.searchParams.get('expires')),
    sig: u.searchParams.get('sig') ?? '',
  };
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fw-files-'));
  clock = Date.UTC(2026, 0, 1);
  store = new LocalFileStore({ root: dir, secret, baseUrl: () => 'http://localhost:8080', now: () => clock });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('LocalFileStore', () => {
  it('writes, heads, reads and deletes objects with a content-hash version tag', async () => {
    const bytes = new TextEncoder().encode('BO_ 100 M: 8 N\n');
    const { etag } = await store.put('dbc/acme/f1', bytes, 'text/plain');
    expect(etag).toMatch(/^[0-9a-f]{64}$/);
    expect(await store.head('dbc/acme/f1')).toEqual({ etag, size: bytes.length });
    expect(await store.get('dbc/acme/f1')).toEqual({ bytes, etag });
    expect(await store.contentType('dbc/acme/f1')).toBe('text/plain');
    const second = await store.put('dbc/acme/f1', new Uint8Array([1]));
    expect(second.etag).not.toBe(etag);
    await store.delete('dbc/acme/f1');
    expect(await store.get('dbc/acme/f1')).toBeUndefined();
    expect(await store.head('dbc/acme/f1')).toBeUndefined();
    await store.delete('dbc/acme/f1');
  });

  it('refuses keys that could leave the store', async () => {
    for (const key of [
      '../x',
      'a/../../x',
      '/etc/passwd',
      'a//b',
      '.hidden',
      'a/./b',
      '',
      'a\\b',
      'a/b%2f..',
    ]) {
      expect(isValidKey(key)).toBe(false);
      await expect(store.put(key, new Uint8Array([1]))).rejects.toMatchObject({ code: 'INVALID_KEY' });
    }
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (key) => {
        if (!isValidKey(key)) return;
        expect(key.split('/').every((s) => s !== '..' && s !== '.' && s !== '')).toBe(true);
      }),
    );
  });

  it('signs URLs that verify until they expire, for their method and key only', async () => {
    const get = parse(await store.presignGet('firmware/acme/fw.bin', 300));
    expect(get.expires).toBe(clock / 1000 + 300);
    expect(store.verify({ method: 'GET', key: get.key, expires: get.expires }, get.sig)).toBe('ok');
    expect(store.verify({ method: 'PUT', key: get.key, expires: get.expires }, get.sig)).toBe('forbidden');
    expect(store.verify({ method: 'GET', key: 'firmware/acme/other', expires: get.expires }, get.sig)).toBe(
      'forbidden',
    );
    expect(store.verify({ method: 'GET', key: get.key, expires: get.expires + 1 }, get.sig)).toBe(
      'forbidden',
    );
    expect(
      store.verify({ method: 'GET', key: get.key, expires: get.expires }, `${get.sig.slice(0, -1)}A`),
    ).toBe(get.sig.endsWith('A') ? 'ok' : 'forbidden');
    clock += 301_000;
    expect(store.verify({ method: 'GET', key: get.key, expires: get.expires }, get.sig)).toBe('expired');
  });

  it('binds an upload URL to its content type and caps the expiry at 7 days', async () => {
    const put = parse(await store.presignPut('dbc/acme/f', 10 * 24 * 3600, 'text/plain'));
    expect(put.expires).toBe(clock / 1000 + 7 * 24 * 3600);
    expect(
      store.verify({ method: 'PUT', key: put.key, expires: put.expires, contentType: 'text/plain' }, put.sig),
    ).toBe('ok');
    expect(store.verify({ method: 'PUT', key: put.key, expires: put.expires }, put.sig)).toBe('forbidden');
    expect(
      store.verify({ method: 'PUT', key: put.key, expires: put.expires, contentType: 'x/y' }, put.sig),
    ).toBe('forbidden');
  });

  it('refuses a short secret', () => {
    expect(() => new LocalFileStore({ root: dir, secret: Buffer.alloc(8), baseUrl: () => '' })).toThrow();
  });
});
