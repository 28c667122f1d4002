import { DecodeError } from '../errors.js';
import type { DecodeLimits } from '../limits.js';
import type { DecodeContext, DecodeResult } from '../model/point.js';

/** Placeholder until the codec lands (issue 2). */
export function decodeFlexconnectBinary(
  _bytes: Uint8Array,
  _ctx: DecodeContext,
  _limits: DecodeLimits,
): DecodeResult {
  throw new DecodeError('UNSUPPORTED_FORMAT', 'flexconnect-binary is not implemented yet');
}
