/**
 * Compiled-DBC cache keyed by the SHA-256 of the file content (plus compile options), bounded LRU.
 * A device's DBC is fetched and compiled once per warm Lambda, however many messages it sends.
 */
import { createHash } from 'node:crypto';
import { LimitError } from '../errors.js';
import { DEFAULT_LIMITS } from '../limits.js';
import { compileDbc } from './compile.js';
import type { ParseDbcOptions } from './model.js';
import { parseDbc } from './parse.js';
import type { CompiledDbc, CompileOptions } from './types.js';

/** Options for {@link loadCompiledDbc}. */
export interface CacheOptions extends ParseDbcOptions, CompileOptions {
  /** Maximum number of compiled databases kept. @default 32 */
  maxEntries?: number;
}

const cache = new Map<string, CompiledDbc>();

/** SHA-256 (hex) of DBC bytes: the cache key and the id under which a file is known. */
export function dbcContentHash(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Parse and compile DBC bytes, reusing an earlier result for identical content and options.
 * Throws {@link LimitError} (`DBC_TOO_LARGE`) above `maxBytes` (default `DEFAULT_LIMITS.maxDbcBytes`)
 * before hashing, and DbcParseError for files that cannot be parsed (failures are not cached).
 */
export function loadCompiledDbc(bytes: Uint8Array, opts: CacheOptions = {}): CompiledDbc {
  const maxBytes = opts.maxBytes ?? DEFAULT_LIMITS.maxDbcBytes;
  if (bytes.byteLength > maxBytes) {
    throw new LimitError(
      'DBC_TOO_LARGE',
      `DBC file has ${bytes.byteLength} bytes; the limit is ${maxBytes}`,
      {
        size: bytes.byteLength,
        limit: maxBytes,
      },
    );
  }
  const hash = dbcContentHash(bytes);
  const key = `${hash}:${opts.j1939 === true ? 'j1939' : ''}:${opts.encoding ?? ''}`;
  const hit = cache.get(key);
  if (hit) {
    // Refresh recency: Map iteration order is insertion order, so re-insert.
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const compiled = compileDbc(parseDbc(bytes, opts), opts);
  (compiled as { hash?: string }).hash = hash;
  cache.set(key, compiled);
  const max = Math.max(1, opts.maxEntries ?? 32);
  while (cache.size > max) {
    const oldest = cache.keys().next().value as string;
    cache.delete(oldest);
  }
  return compiled;
}

/** Number of cached databases (for tests and metrics). */
export function dbcCacheSize(): number {
  return cache.size;
}

/** Empty the cache. */
export function clearDbcCache(): void {
  cache.clear();
}
