/**
 * The FlexConnect device token as carried by payloads. The codecs only bound and extract it; the
 * ingest path verifies it (hashed, constant time). No function here ever puts the token's text into
 * an error message or details.
 */
import { DecodeError } from '../errors.js';

/**
 * Longest accepted token, in UTF-8 bytes (FlexConnect tokens are 64 bytes in the seed's example).
 * The binary auto-detection rule (a 4-byte big-endian length prefix ≤ this value) depends on it too.
 */
export const MAX_TOKEN_BYTES = 1024;

/** Validate a JSON `token` value: a string of at most {@link MAX_TOKEN_BYTES} UTF-8 bytes. */
export function checkJsonToken(token: unknown): string {
  if (typeof token !== 'string') throw new DecodeError('INVALID_TOKEN', 'token must be a string');
  // Cheap bound first (a UTF-16 unit is at least one UTF-8 byte), exact byte count only when near the limit.
  if (token.length > MAX_TOKEN_BYTES || Buffer.byteLength(token, 'utf8') > MAX_TOKEN_BYTES) {
    throw new DecodeError('INVALID_TOKEN', `token is longer than ${MAX_TOKEN_BYTES} bytes`, {
      limit: MAX_TOKEN_BYTES,
    });
  }
  return token;
}
