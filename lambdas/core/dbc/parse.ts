import { FleetwireError } from '../errors.js';
import type { DbcDatabase, ParseDbcOptions } from './model.js';

/** Parse a DBC file (bytes: UTF-8 or cp1252 detected; string: as-is). Stub. */
export function parseDbc(_input: Uint8Array | string, _opts?: ParseDbcOptions): DbcDatabase {
  throw new FleetwireError('DBC_PARSE_ERROR', 'not implemented yet');
}
