/**
 * Cognito JWT verification for the API's Lambda authorizer: RS256 signatures checked with node:crypto
 * against the user pool's JWKS (fetched once and cached; refreshed at most every 5 minutes when an unknown
 * key id appears, which is how Cognito key rotation shows up), plus issuer, expiry, `token_use` and
 * audience/client. The verified claims become a principal (`custom:tenant`, `cognito:groups` → role).
 *
 * Why not API Gateway's JWT authorizer: an HTTP API route takes one authorizer, and machines authenticate
 * with API keys that are not JWTs; one Lambda authorizer accepts both (docs/api.md, "Authentication").
 */
import { createPublicKey, type JsonWebKey, type KeyObject, verify } from 'node:crypto';
import { bearerToken, principalFromClaims } from '../../api/auth.js';
import type { Authenticator } from '../../ports/api-keys.js';

/** Options of {@link cognitoJwtAuthenticator}. */
export interface CognitoJwtOptions {
  region: string;
  userPoolId: string;
  /** App client ids whose tokens are accepted. */
  clientIds: readonly string[];
  /** Token kinds accepted. @default ['id'] (ID tokens carry `custom:tenant`) */
  tokenUses?: readonly ('id' | 'access')[];
  /** JWKS fetcher (tests). @default fetch of `<issuer>/.well-known/jwks.json` */
  fetchJwks?: (url: string) => Promise<{ keys: (JsonWebKey & { kid?: string })[] }>;
  /** Epoch ms. @default Date.now */
  clock?: () => number;
  /** Allowed clock skew in seconds. @default 30 */
  skewSeconds?: number;
}

/** The issuer URL of a user pool. */
export function cognitoIssuer(region: string, userPoolId: string): string {
  return `https://cognito-idp.${region}.amazonaws.com/${userPoolId}`;
}

function b64json(part: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Verify a Cognito JWT; returns its claims or undefined. Never throws on hostile input. */
export function createCognitoVerifier(
  opts: CognitoJwtOptions,
): (token: string) => Promise<Record<string, unknown> | undefined> {
  const issuer = cognitoIssuer(opts.region, opts.userPoolId);
  const clock = opts.clock ?? Date.now;
  const skew = opts.skewSeconds ?? 30;
  const uses = new Set(opts.tokenUses ?? ['id']);
  const fetchJwks =
    opts.fetchJwks ??
    (async (url: string) => {
      const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
      if (!res.ok) throw new Error(`JWKS fetch failed: ${res.status}`);
      return (await res.json()) as { keys: (JsonWebKey & { kid?: string })[] };
    });
  let keys = new Map<string, KeyObject>();
  let fetchedAt = Number.NEGATIVE_INFINITY;

  async function key(kid: string): Promise<KeyObject | undefined> {
    const known = keys.get(kid);
    if (known) return known;
    if (clock() - fetchedAt < 300_000) return undefined;
    fetchedAt = clock();
    const jwks = await fetchJwks(`${issuer}/.well-known/jwks.json`);
    const next = new Map<string, KeyObject>();
    for (const k of jwks.keys ?? []) {
      if (k.kty !== 'RSA' || typeof k.kid !== 'string') continue;
      try {
        next.set(k.kid, createPublicKey({ key: k, format: 'jwk' }));
      } catch {
        // A malformed key in the set is skipped, not fatal.
      }
    }
    keys = next;
    return keys.get(kid);
  }

  return async (token) => {
    if (token.length > 8192) return undefined;
    const parts = token.split('.');
    if (parts.length !== 3) return undefined;
    const [h, p, s] = parts as [string, string, string];
    const header = b64json(h);
    const claims = b64json(p);
    if (!header || !claims || header.alg !== 'RS256' || typeof header.kid !== 'string') return undefined;
    let k: KeyObject | undefined;
    try {
      k = await key(header.kid);
    } catch {
      return undefined;
    }
    if (!k) return undefined;
    const ok = verify('RSA-SHA256', Buffer.from(`${h}.${p}`), k, Buffer.from(s, 'base64url'));
    if (!ok) return undefined;
    const now = clock() / 1000;
    if (claims.iss !== issuer) return undefined;
    if (typeof claims.exp !== 'number' || claims.exp + skew < now) return undefined;
    if (typeof claims.iat === 'number' && claims.iat - skew > now) return undefined;
    const use = claims.token_use;
    if ((use !== 'id' && use !== 'access') || !uses.has(use)) return undefined;
    const audience = use === 'id' ? claims.aud : claims.client_id;
    if (typeof audience !== 'string' || !opts.clientIds.includes(audience)) return undefined;
    return claims;
  };
}

/** Bearer Cognito JWTs → principals. */
export function cognitoJwtAuthenticator(opts: CognitoJwtOptions): Authenticator {
  const verifyToken = createCognitoVerifier(opts);
  return {
    async authenticate(req) {
      const token = bearerToken(req.headers);
      if (token === undefined || token.startsWith('fwk.')) return undefined;
      const claims = await verifyToken(token);
      return claims ? principalFromClaims(claims) : undefined;
    },
  };
}
