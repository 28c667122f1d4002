/**
 * Device payload tokens: random, high-entropy secrets shown once at provisioning and stored only as a
 * hash. Because a token carries 256 bits of entropy, a single SHA-256 is enough (as for API keys); a slow
 * KDF would add tens of milliseconds to every ingested message for no security gain.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const PREFIX = 'sha256:';

/** Generate a new token: 32 random bytes, base64url (43 characters). */
export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Hash a token for storage: `sha256:<hex>`. */
export function hashToken(token: string): string {
  return PREFIX + createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Compare a presented token with a stored hash in constant time. */
export function verifyToken(token: string, storedHash: string): boolean {
  if (!storedHash.startsWith(PREFIX)) return false;
  const expected = Buffer.from(storedHash.slice(PREFIX.length), 'hex');
  const actual = createHash('sha256').update(token, 'utf8').digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
