/**
 * The authorizer's two credentials: Cognito ID tokens (RS256 signature, issuer, expiry, audience, token
 * use, key rotation) and API keys, and how claims become principals.
 */
import { generateKeyPairSync, type JsonWebKey, type KeyObject, sign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  cognitoIssuer,
  cognitoJwtAuthenticator,
  createCognitoVerifier,
} from '../../lambdas/adapters/aws/cognito-jwt.js';
import { SqliteApiKeyStore } from '../../lambdas/adapters/local/api-key-store.js';
import { openDatabase } from '../../lambdas/adapters/local/sqlite.js';
import {
  apiKeyAuthenticator,
  firstOf,
  issueApiKey,
  principalFromClaims,
  roleFromGroups,
} from '../../lambdas/api/auth.js';
import { authorize } from '../../lambdas/handlers/api-authorizer-core.js';

const region = 'eu-west-1';
const pool = 'eu-west-1_AbC123';
const client = 'client123';
const NOW = 1_800_000_000_000;

function keyPair(): { priv: KeyObject; jwk: JsonWebKey } {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { priv: privateKey, jwk: publicKey.export({ format: 'jwk' }) };
}

function jwt(
  priv: KeyObject,
  kid: string,
  claims: Record<string, unknown>,
  header: Record<string, unknown> = {},
): string {
  const h = Buffer.from(JSON.stringify({ alg: 'RS256', kid, ...header })).toString('base64url');
  const p = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const s = sign('RSA-SHA256', Buffer.from(`${h}.${p}`), priv).toString('base64url');
  return `${h}.${p}.${s}`;
}

const good = {
  sub: 'user-1',
  iss: cognitoIssuer(region, pool),
  aud: client,
  token_use: 'id',
  exp: NOW / 1000 + 600,
  iat: NOW / 1000 - 10,
  'custom:tenant': 'acme',
  'cognito:groups': ['viewer'],
};

let k1: ReturnType<typeof keyPair>;
let jwks: { keys: (JsonWebKey & { kid?: string })[] };
let fetches: number;
let clock: number;
beforeEach(() => {
  k1 = keyPair();
  jwks = { keys: [{ ...k1.jwk, kid: 'k1', alg: 'RS256', use: 'sig' }] };
  fetches = 0;
  clock = NOW;
});

const verifier = () =>
  createCognitoVerifier({
    region,
    userPoolId: pool,
    clientIds: [client],
    clock: () => clock,
    fetchJwks: async (url) => {
      expect(url).toBe(`${cognitoIssuer(region, pool)}/.well-known/jwks.json`);
      fetches++;
      return structuredClone(jwks);
    },
  });

describe('Cognito ID tokens', () => {
  it('accepts a valid token and maps claims to a principal', async () => {
    const auth = cognitoJwtAuthenticator({
      region,
      userPoolId: pool,
      clientIds: [client],
      clock: () => clock,
      fetchJwks: async () => jwks,
    });
    const p = await auth.authenticate({ headers: { authorization: `Bearer ${jwt(k1.priv, 'k1', good)}` } });
    expect(p).toEqual({ tenant: 'acme', role: 'viewer', subject: 'user:user-1' });
  });

  it('refuses tampered, expired, foreign, mis-addressed and wrongly signed tokens', async () => {
    const v = verifier();
    const other = keyPair();
    const token = jwt(k1.priv, 'k1', good);
    const [h, , s] = token.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...good, 'custom:tenant': 'globex' })).toString('base64url')}.${s}`;
    const bad = [
      forged,
      jwt(k1.priv, 'k1', { ...good, exp: NOW / 1000 - 3600 }),
      jwt(k1.priv, 'k1', { ...good, iss: cognitoIssuer(region, 'eu-west-1_Other') }),
      jwt(k1.priv, 'k1', { ...good, aud: 'someone-else' }),
      jwt(k1.priv, 'k1', { ...good, token_use: 'access', client_id: client }),
      jwt(k1.priv, 'k1', { ...good, iat: NOW / 1000 + 3600 }),
      jwt(other.priv, 'k1', good),
      jwt(k1.priv, 'k1', good, { alg: 'HS256' }),
      jwt(k1.priv, 'k1', good, { alg: 'none' }),
      `${h}.${token.split('.')[1]}.`,
      'not.a.jwt',
      'x'.repeat(10_000),
    ];
    for (const t of bad) expect(await v(t), t.slice(0, 40)).toBeUndefined();
    expect(await v(token)).toMatchObject({ sub: 'user-1' });
  });

  it('picks up rotated keys, but refetches the key set at most every five minutes', async () => {
    const v = verifier();
    expect(await v(jwt(k1.priv, 'k1', good))).toBeDefined();
    const k2 = keyPair();
    const rotated = jwt(k2.priv, 'k2', good);
    expect(await v(rotated)).toBeUndefined(); // set fetched < 5 min ago: no refetch yet
    jwks.keys.push({ ...k2.jwk, kid: 'k2' });
    expect(await v(rotated)).toBeUndefined();
    clock += 301_000;
    expect(await v(rotated)).toBeDefined();
    expect(fetches).toBe(2);
    for (let i = 0; i < 20; i++) await v(jwt(k2.priv, `unknown${i}`, good));
    expect(fetches).toBe(2);
  });
});

describe('claims → principal', () => {
  it('maps groups to roles, operator winning; no tenant or role means no principal', () => {
    expect(roleFromGroups(['viewer', 'operator'])).toBe('operator');
    expect(roleFromGroups('[viewer operator]')).toBe('operator');
    expect(roleFromGroups('[viewer]')).toBe('viewer');
    expect(roleFromGroups(['admins'])).toBeUndefined();
    expect(roleFromGroups(undefined)).toBeUndefined();
    expect(principalFromClaims({ sub: 's', 'custom:tenant': 'acme' })).toBeUndefined();
    expect(principalFromClaims({ sub: 's', 'cognito:groups': ['operator'] })).toBeUndefined();
    expect(
      principalFromClaims({ sub: 's', 'custom:tenant': 'Bad Tenant!', 'cognito:groups': ['operator'] }),
    ).toBeUndefined();
  });
});

describe('authorize (the Lambda authorizer decision)', () => {
  it('accepts API keys and ID tokens, refuses anything else, and never echoes the credential', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetwire-auth-'));
    const db = openDatabase(join(dir, 'keys.db'));
    const keys = new SqliteApiKeyStore(db);
    const { key } = await issueApiKey(keys, 'acme', 'operator', NOW);
    const auth = firstOf(
      apiKeyAuthenticator(keys, () => clock),
      cognitoJwtAuthenticator({
        region,
        userPoolId: pool,
        clientIds: [client],
        clock: () => clock,
        fetchJwks: async () => jwks,
      }),
    );
    const byKey = await authorize(auth, { headers: { Authorization: `Bearer ${key}` } });
    expect(byKey.isAuthorized).toBe(true);
    expect(byKey.context?.tenant).toBe('acme');
    expect(JSON.stringify(byKey)).not.toContain(key.split('.')[2]);
    const byJwt = await authorize(auth, {
      headers: { authorization: `Bearer ${jwt(k1.priv, 'k1', { ...good, 'cognito:groups': ['operator'] })}` },
    });
    expect(byJwt).toEqual({
      isAuthorized: true,
      context: { tenant: 'acme', role: 'operator', subject: 'user:user-1' },
    });
    expect(await authorize(auth, { headers: {} })).toEqual({ isAuthorized: false });
    expect(await authorize(auth, { headers: { authorization: 'Bearer nope' } })).toEqual({
      isAuthorized: false,
    });
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });
});
