import { EncodeError } from '../errors.js';
import type { CompiledDbc } from './types.js';

/** Encode signal values into a frame of the named (or id-given) message. Stub. */
export function encodeMessage(
  _compiled: CompiledDbc,
  _message: string | number,
  _signals: Record<string, number | bigint>,
): Uint8Array {
  throw new EncodeError('DBC_ENCODE_ERROR', 'not implemented yet');
}
