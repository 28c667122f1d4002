import { FleetwireError } from '../errors.js';
import type { ParseDbcOptions } from './model.js';
import type { CompiledDbc, CompileOptions } from './types.js';

/** Options for {@link loadCompiledDbc}. */
export interface CacheOptions extends ParseDbcOptions, CompileOptions {}

/** Parse + compile DBC bytes, cached by SHA-256 of the content (bounded LRU). Stub. */
export function loadCompiledDbc(_bytes: Uint8Array, _opts?: CacheOptions): CompiledDbc {
  throw new FleetwireError('DBC_PARSE_ERROR', 'not implemented yet');
}

/** Empty the cache. */
export function clearDbcCache(): void {}
