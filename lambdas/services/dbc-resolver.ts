/**
 * Resolves the DBC assigned to a device into its compiled form, with a bounded cache keyed by object key
 * and validated by ETag: within `ttlMs` a cached entry is used as is; after that one HEAD checks whether
 * the object changed, and only a changed ETag costs a GET and a compile. Failures (missing object, parse
 * error) are cached the same way, so a broken DBC costs one HEAD per TTL instead of a GET per message.
 *
 * Port-only (FileStore) and engine-agnostic: the engine is injected, so the local stack and tests reuse it.
 */
import { isFleetwireError } from '../core/errors.js';
import type { CanFrame, DecodeWarning, Point } from '../core/model/point.js';
import type { FileStore } from '../ports/file-store.js';

/** The DBC engine operations the ingest path needs. */
export interface DbcEngine<C> {
  /** Parse and compile DBC bytes; throws a FleetwireError (DBC_PARSE_ERROR, DBC_TOO_LARGE…) on bad input. */
  load(bytes: Uint8Array): C;
  /** Decode frames into points of `device`. */
  framesToPoints(
    frames: CanFrame[],
    compiled: C,
    device: string,
  ): { points: Point[]; warnings: DecodeWarning[] };
}

/** Options of {@link DbcResolver}. */
export interface DbcResolverOptions {
  /** How long a cached entry is trusted without a HEAD. @default 60000 */
  readonly ttlMs?: number;
  /** Most DBCs kept compiled. @default 32 */
  readonly maxEntries?: number;
  /** Largest DBC object fetched, bytes. @default 8 MiB (DEFAULT_LIMITS.maxDbcBytes) */
  readonly maxBytes?: number;
  /** Clock for the TTL (epoch ms). @default Date.now */
  readonly now?: () => number;
}

/** A resolved DBC or why there is none. */
export type DbcResolution<C> =
  | { ok: true; compiled: C; etag: string }
  | { ok: false; code: string; reason: string };

interface Entry<C> {
  etag: string;
  checkedAt: number;
  result: DbcResolution<C>;
}

/** Cache statistics (tests and metrics). */
export interface DbcResolverStats {
  hits: number;
  heads: number;
  gets: number;
  compiles: number;
}

/** The DBC resolver. One per warm Lambda (module scope) so the cache outlives invocations. */
export class DbcResolver<C> {
  private readonly cache = new Map<string, Entry<C>>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private readonly now: () => number;
  /** Counters since construction. */
  readonly stats: DbcResolverStats = { hits: 0, heads: 0, gets: 0, compiles: 0 };

  constructor(
    private readonly files: FileStore,
    readonly engine: DbcEngine<C>,
    opts: DbcResolverOptions = {},
  ) {
    this.ttlMs = opts.ttlMs ?? 60_000;
    this.maxEntries = Math.max(1, opts.maxEntries ?? 32);
    this.maxBytes = opts.maxBytes ?? 8 * 1024 * 1024;
    this.now = opts.now ?? Date.now;
  }

  /** Resolve `key`. Store errors (S3 unavailable, access denied) propagate so the message is retried. */
  async resolve(key: string): Promise<DbcResolution<C>> {
    const now = this.now();
    const cached = this.cache.get(key);
    if (cached && now - cached.checkedAt < this.ttlMs) {
      this.stats.hits++;
      this.touch(key, cached);
      return cached.result;
    }
    this.stats.heads++;
    const head = await this.files.head(key);
    if (!head) {
      this.cache.delete(key);
      return {
        ok: false,
        code: 'DBC_NOT_FOUND',
        reason: `DBC object "${key}" does not exist (or is not readable)`,
      };
    }
    if (cached && cached.etag === head.etag) {
      cached.checkedAt = now;
      this.touch(key, cached);
      return cached.result;
    }
    const result = await this.fetch(key, head.size);
    this.store(key, { etag: result.ok ? result.etag : head.etag, checkedAt: now, result });
    return result;
  }

  private async fetch(key: string, size: number): Promise<DbcResolution<C>> {
    if (size > this.maxBytes) {
      return {
        ok: false,
        code: 'DBC_TOO_LARGE',
        reason: `DBC object is ${size} bytes; the limit is ${this.maxBytes}`,
      };
    }
    this.stats.gets++;
    const file = await this.files.get(key);
    if (!file)
      return {
        ok: false,
        code: 'DBC_NOT_FOUND',
        reason: `DBC object "${key}" does not exist (or is not readable)`,
      };
    if (file.bytes.byteLength > this.maxBytes) {
      return {
        ok: false,
        code: 'DBC_TOO_LARGE',
        reason: `DBC object is ${file.bytes.byteLength} bytes; the limit is ${this.maxBytes}`,
      };
    }
    try {
      this.stats.compiles++;
      return { ok: true, compiled: this.engine.load(file.bytes), etag: file.etag };
    } catch (e) {
      if (isFleetwireError(e)) return { ok: false, code: e.code, reason: e.message };
      return {
        ok: false,
        code: 'DBC_PARSE_ERROR',
        reason: `DBC could not be compiled: ${(e as Error).message}`,
      };
    }
  }

  private touch(key: string, entry: Entry<C>): void {
    this.cache.delete(key);
    this.cache.set(key, entry);
  }

  private store(key: string, entry: Entry<C>): void {
    this.cache.delete(key);
    this.cache.set(key, entry);
    while (this.cache.size > this.maxEntries) {
      const oldest = this.cache.keys().next().value as string;
      this.cache.delete(oldest);
    }
  }
}
