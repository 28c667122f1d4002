import { FleetwireError } from '../errors.js';
import type { DbcDatabase } from './model.js';
import type { CompiledDbc, CompileOptions } from './types.js';

/** Compile a parsed database for decoding. Stub. */
export function compileDbc(_db: DbcDatabase, _opts?: CompileOptions): CompiledDbc {
  throw new FleetwireError('DBC_PARSE_ERROR', 'not implemented yet');
}
