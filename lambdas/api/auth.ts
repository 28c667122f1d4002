/**
 * Authenticators (the {@link Authenticator} port) and API key issuing.
 *
 * - {@link apiKeyAuthenticator}: `Authorization: Bearer fwk.<keyId>.<secret>`; the key is looked up by id
 *   and its hash compared in constant time. Used by the local stack and, on AWS, by the Lambda authorizer.
 * - {@link authorizerContextAuthenticator}: trusts what API Gateway's authorizer already verified (a
 *   Lambda authorizer's `{tenant, role, subject}` context, or JWT authorizer claims `custom:tenant` and
 *   `cognito:groups`). Only for functions reachable solely through that authorizer.
 * - {@link firstOf}: tries several in order.
 */
import { randomBytes } from 'node:crypto';
import { generateToken, hashToken, verifyToken } from '../core/token.js';
import type { ApiKeyRecord, ApiKeyStore, ApiRole, Authenticator, Principal } from '../ports/api-keys.js';
import { timeOrderedId } from './ids.js';

/** Prefix of every API key, so secret scanners can recognise leaked keys. */
export const API_KEY_PREFIX = 'fwk';
const KEY_RE = /^fwk\.(key_[a-z0-9]{1,60})\.([A-Za-z0-9_-]{43})$/;
const TENANT_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Tenant ids: lowercase letters, digits and dashes, ≤ 63 (they appear in object keys and topics). */
export function isTenantId(s: unknown): s is string {
  return typeof s === 'string' && TENANT_RE.test(s);
}

/** Lower-case header names (the authenticators read `authorization`). */
export function normalizeAuthHeaders(
  h: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k.toLowerCase()] = v;
  return out;
}

/** The bearer token of a request, if any. */
export function bearerToken(headers: Readonly<Record<string, string | undefined>>): string | undefined {
  const h = headers.authorization;
  if (h === undefined) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m?.[1];
}

/** Create an API key: returns the record to store and the key to show once. */
export function newApiKey(
  tenant: string,
  role: ApiRole,
  now: number,
  opts: { name?: string; expiresAt?: number } = {},
): { record: ApiKeyRecord; key: string } {
  if (!isTenantId(tenant)) throw new Error(`invalid tenant id "${tenant}"`);
  const keyId = timeOrderedId('key', now);
  const key = `${API_KEY_PREFIX}.${keyId}.${generateToken()}`;
  const record: ApiKeyRecord = {
    tenant,
    keyId,
    keyHash: hashToken(key),
    role,
    createdAt: now,
    ...(opts.name !== undefined ? { name: opts.name } : {}),
    ...(opts.expiresAt !== undefined ? { expiresAt: opts.expiresAt } : {}),
  };
  return { record, key };
}

/** Create and store an API key (used by `POST /v1/api-keys` and by the local stack's first run). */
export async function issueApiKey(
  store: ApiKeyStore,
  tenant: string,
  role: ApiRole,
  now: number,
  opts: { name?: string; expiresAt?: number } = {},
): Promise<{ record: ApiKeyRecord; key: string }> {
  const issued = newApiKey(tenant, role, now, opts);
  await store.create(issued.record);
  return issued;
}

/** Bearer API keys checked against an {@link ApiKeyStore}. */
export function apiKeyAuthenticator(store: ApiKeyStore, clock: () => number = Date.now): Authenticator {
  // A fixed dummy hash keeps the work (and timing) of an unknown key id similar to a known one.
  const dummy = hashToken(randomBytes(32).toString('base64url'));
  return {
    async authenticate(req) {
      const token = bearerToken(req.headers);
      if (token === undefined) return undefined;
      const m = KEY_RE.exec(token);
      if (!m?.[1]) return undefined;
      const record = await store.getById(m[1]);
      const ok = verifyToken(token, record?.keyHash ?? dummy);
      if (!record || !ok) return undefined;
      if (record.revokedAt !== undefined) return undefined;
      if (record.expiresAt !== undefined && clock() >= record.expiresAt) return undefined;
      if (!isTenantId(record.tenant)) return undefined;
      return { tenant: record.tenant, role: record.role, subject: `key:${record.keyId}` };
    },
  };
}

/** Map Cognito groups to a role: `operator` wins over `viewer`; anything else gives no role. */
export function roleFromGroups(groups: unknown): ApiRole | undefined {
  let list: string[] = [];
  if (Array.isArray(groups)) list = groups.filter((g): g is string => typeof g === 'string');
  else if (typeof groups === 'string') {
    // API Gateway's JWT authorizer flattens array claims to "[a b]"; a plain string is one group.
    list = groups
      .replace(/^\[|\]$/g, '')
      .split(/[\s,]+/)
      .filter(Boolean);
  }
  if (list.includes('operator')) return 'operator';
  if (list.includes('viewer')) return 'viewer';
  return undefined;
}

/** Claims of a verified Cognito JWT → principal (`custom:tenant`, `cognito:groups`, `sub`). */
export function principalFromClaims(claims: Readonly<Record<string, unknown>>): Principal | undefined {
  const tenant = claims['custom:tenant'];
  const role = roleFromGroups(claims['cognito:groups']);
  const sub = claims.sub;
  if (!isTenantId(tenant) || role === undefined || typeof sub !== 'string') return undefined;
  return { tenant, role, subject: `user:${sub}` };
}

/**
 * Trust the context API Gateway's authorizer produced. Lambda authorizer (simple responses) context:
 * `{lambda: {tenant, role, subject}}`; JWT authorizer: `{jwt: {claims}}`.
 */
export function authorizerContextAuthenticator(): Authenticator {
  return {
    async authenticate(req) {
      const a = req.authorizer;
      if (!a) return undefined;
      const lambda = a.lambda;
      if (typeof lambda === 'object' && lambda !== null) {
        const { tenant, role, subject } = lambda as Record<string, unknown>;
        if (isTenantId(tenant) && (role === 'operator' || role === 'viewer') && typeof subject === 'string') {
          return { tenant, role, subject };
        }
        return undefined;
      }
      const jwt = a.jwt;
      if (typeof jwt === 'object' && jwt !== null) {
        const claims = (jwt as Record<string, unknown>).claims;
        if (typeof claims === 'object' && claims !== null) {
          return principalFromClaims(claims as Record<string, unknown>);
        }
      }
      return undefined;
    },
  };
}

/** Try authenticators in order; the first principal wins. */
export function firstOf(...auths: Authenticator[]): Authenticator {
  return {
    async authenticate(req) {
      for (const a of auths) {
        const p = await a.authenticate(req);
        if (p) return p;
      }
      return undefined;
    },
  };
}
