import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { generateToken, hashToken, verifyToken } from '../../lambdas/core/token.js';

describe('device tokens', () => {
  it('verifies a token against its own hash only', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        expect(verifyToken(a, hashToken(a))).toBe(true);
        if (a !== b) expect(verifyToken(b, hashToken(a))).toBe(false);
      }),
    );
  });

  it('generates distinct 43-character base64url tokens', () => {
    const t = new Set(Array.from({ length: 100 }, generateToken));
    expect(t.size).toBe(100);
    for (const x of t) expect(x).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('never stores the token itself and rejects malformed hashes', () => {
    const tok = generateToken();
    expect(hashToken(tok)).not.toContain(tok);
    expect(verifyToken(tok, 'plain')).toBe(false);
    expect(verifyToken(tok, 'sha256:abcd')).toBe(false);
  });
});
