/**
 * {@link FileStore} on local disk (under `<state>/files/`), with presigned-style URLs: the local HTTP
 * server serves `GET`/`PUT /files/<key>?expires=<epoch s>&sig=<HMAC>` and checks the HMAC-SHA256
 * signature (over method, key, expiry and, for uploads, the content type, as S3 signs its headers) in
 * constant time. The signing secret lives only in this process's state directory.
 *
 * Objects are written to a temporary file and renamed into place, so a reader never sees half a file;
 * each object has a small JSON sidecar with its version tag (SHA-256 of the content), size and type.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import type { FileStore, StoredFile } from '../../ports/file-store.js';

/** Longest validity of a signed URL (S3's limit for SigV4 presigned URLs). */
export const MAX_URL_EXPIRY_SECONDS = 7 * 24 * 3600;
/** Longest object key. */
export const MAX_KEY_LENGTH = 1024;
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._=-]*$/;

/** An object key that would escape the store or is not portable. */
export class InvalidKeyError extends Error {
  /** Stable code. */
  readonly code = 'INVALID_KEY';
  constructor(key: string) {
    super(`Object key "${key.slice(0, 80)}" is not valid`);
    this.name = 'InvalidKeyError';
  }
}

/** Check a key: `/`-separated segments of `[A-Za-z0-9._=-]` not starting with a dot, no `..`. */
export function isValidKey(key: string): boolean {
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) return false;
  return key.split('/').every((s) => SEGMENT.test(s));
}

/** What a signed URL authorises. */
export interface SignedRequest {
  method: 'GET' | 'PUT';
  key: string;
  /** Expiry, epoch seconds. */
  expires: number;
  /** Content type the upload must declare (PUT only). */
  contentType?: string;
}

/** Options of {@link LocalFileStore}. */
export interface LocalFileStoreOptions {
  /** Directory holding the objects. */
  root: string;
  /** HMAC secret for URL signatures (≥ 32 bytes). */
  secret: Uint8Array;
  /** Base URL of the local HTTP server, e.g. `http://localhost:8080` (a function: known after listen). */
  baseUrl: () => string;
  /** Clock, epoch ms. @default Date.now */
  now?: () => number;
}

interface Sidecar {
  etag: string;
  size: number;
  contentType?: string;
}

/** Files on local disk. */
export class LocalFileStore implements FileStore {
  private readonly root: string;
  private readonly now: () => number;

  constructor(private readonly opts: LocalFileStoreOptions) {
    if (opts.secret.length < 32) throw new Error('file URL signing secret must be at least 32 bytes');
    this.root = resolve(opts.root);
    this.now = opts.now ?? Date.now;
  }

  private paths(key: string): { data: string; meta: string } {
    if (!isValidKey(key)) throw new InvalidKeyError(key);
    const data = resolve(this.root, 'objects', ...key.split('/'));
    const meta = resolve(this.root, 'meta', `${key.split('/').join(sep)}.json`);
    // Belt and braces: the key check already excludes every way out of the root.
    if (!data.startsWith(this.root + sep) || !meta.startsWith(this.root + sep))
      throw new InvalidKeyError(key);
    return { data, meta };
  }

  /** Read an object. */
  async get(key: string): Promise<StoredFile | undefined> {
    const p = this.paths(key);
    const meta = await readSidecar(p.meta);
    if (!meta) return undefined;
    try {
      return { bytes: new Uint8Array(await readFile(p.data)), etag: meta.etag };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  /** Version tag and size of an object, without reading it. */
  async head(key: string): Promise<{ etag: string; size: number } | undefined> {
    const meta = await readSidecar(this.paths(key).meta);
    return meta ? { etag: meta.etag, size: meta.size } : undefined;
  }

  /** Content type recorded for an object (served back on GET). */
  async contentType(key: string): Promise<string | undefined> {
    return (await readSidecar(this.paths(key).meta))?.contentType;
  }

  /** Write an object atomically; returns its version tag (SHA-256 hex of the content). */
  async put(key: string, bytes: Uint8Array, contentType?: string): Promise<{ etag: string }> {
    const p = this.paths(key);
    const etag = createHash('sha256').update(bytes).digest('hex');
    const sidecar: Sidecar = { etag, size: bytes.length, ...(contentType ? { contentType } : {}) };
    await mkdir(dirname(p.data), { recursive: true });
    await mkdir(dirname(p.meta), { recursive: true });
    const tmp = `${p.data}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(tmp, bytes);
    await rename(tmp, p.data);
    const tmpMeta = `${p.meta}.${process.pid}.${Date.now()}.tmp`;
    await writeFile(tmpMeta, JSON.stringify(sidecar));
    await rename(tmpMeta, p.meta);
    return { etag };
  }

  /** Delete an object (no error when it does not exist). */
  async delete(key: string): Promise<void> {
    const p = this.paths(key);
    await rm(p.meta, { force: true });
    await rm(p.data, { force: true });
  }

  /** A signed GET URL. */
  async presignGet(key: string, expiresInSeconds: number): Promise<string> {
    return this.signedUrl({ method: 'GET', key, expires: this.expiry(expiresInSeconds) });
  }

  /** A signed PUT URL; the upload must send `Content-Type: <contentType>` when one is given. */
  async presignPut(key: string, expiresInSeconds: number, contentType?: string): Promise<string> {
    const req: SignedRequest = { method: 'PUT', key, expires: this.expiry(expiresInSeconds) };
    if (contentType !== undefined) req.contentType = contentType;
    return this.signedUrl(req);
  }

  private expiry(seconds: number): number {
    if (!Number.isFinite(seconds) || seconds <= 0) throw new RangeError('URL expiry must be positive');
    return Math.floor(this.now() / 1000) + Math.min(Math.floor(seconds), MAX_URL_EXPIRY_SECONDS);
  }

  private signedUrl(req: SignedRequest): string {
    this.paths(req.key); // validates the key
    const path = req.key.split('/').map(encodeURIComponent).join('/');
    return `${this.opts.baseUrl()}/files/${path}?expires=${req.expires}&sig=${this.sign(req)}`;
  }

  private sign(req: SignedRequest): string {
    const text = [req.method, req.key, String(req.expires), req.contentType ?? ''].join('\n');
    return createHmac('sha256', this.opts.secret).update(text, 'utf8').digest('base64url');
  }

  /**
   * Check a signed request as the HTTP server received it. Returns `ok`, or why not: `expired` (410-ish,
   * reported as 403 like S3) or `forbidden`. The comparison is constant time.
   */
  verify(req: SignedRequest, sig: string): 'ok' | 'expired' | 'forbidden' {
    if (!isValidKey(req.key) || !Number.isSafeInteger(req.expires)) return 'forbidden';
    const expected = Buffer.from(this.sign(req), 'utf8');
    const actual = Buffer.from(sig, 'utf8');
    if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return 'forbidden';
    if (Math.floor(this.now() / 1000) > req.expires) return 'expired';
    return 'ok';
  }
}

async function readSidecar(path: string): Promise<Sidecar | undefined> {
  try {
    const meta = JSON.parse(await readFile(path, 'utf8')) as Sidecar;
    return typeof meta.etag === 'string' && typeof meta.size === 'number' ? meta : undefined;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}
