import { DecodeError } from '../errors.js';
import type { DecodeLimits } from '../limits.js';
import type { PayloadFormat } from '../model/point.js';

/** Placeholder until detection lands (issue 2). */
export function detectFormat(_bytes: Uint8Array, _limits: DecodeLimits): PayloadFormat {
  throw new DecodeError('UNKNOWN_FORMAT');
}
