/**
 * The local stack's state directory (default `.fleetwire/`) and its first-run setup:
 *
 * ```
 * .fleetwire/
 *   .gitignore       "*": nothing here is ever committed, wherever the directory is
 *   fleetwire.db     the embedded SQLite database (+ -wal/-shm)
 *   ca/              the local CA (ca.pem, ca.key.pem — owner-only)
 *   files/           DBC and firmware objects of the local file store
 *   local.json       how to reach the stack, with the API token (owner-only, local-only)
 * ```
 *
 * The API token is the one secret shown in clear, in `local.json`, by design: it is how a newcomer's
 * curl or `fleetwire simulate` finds credentials. Only its hash is stored in the database.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Db, getMeta, setMeta } from '../adapters/local/sqlite.js';
import { apiKeyAuthenticator, issueApiKey } from '../api/auth.js';
import type { ApiKeyStore } from '../ports/api-keys.js';

/** The tenant the local stack creates on first run. */
export const LOCAL_TENANT = 'local';

/** Paths inside a state directory. */
export interface StatePaths {
  dir: string;
  database: string;
  ca: string;
  files: string;
  config: string;
}

/** The paths of state directory `dir` (made absolute). */
export function statePaths(dir: string): StatePaths {
  const abs = resolve(dir);
  return {
    dir: abs,
    database: join(abs, 'fleetwire.db'),
    ca: join(abs, 'ca'),
    files: join(abs, 'files'),
    config: join(abs, 'local.json'),
  };
}

/** Create the state directory (owner-only) with a `.gitignore` that ignores everything in it. */
export function ensureStateDir(paths: StatePaths): void {
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  const ignore = join(paths.dir, '.gitignore');
  if (!existsSync(ignore)) {
    writeFileSync(
      ignore,
      '# Fleetwire local stack state: database, CA keys, credentials. Never commit.\n*\n',
    );
  }
}

/** What `local.json` holds. */
export interface LocalConfig {
  /** Base URL of the HTTP API. */
  apiUrl: string;
  /** MQTT endpoint (TLS, client certificates). */
  mqttUrl: string;
  mqttHost: string;
  mqttPort: number;
  /** Tenant of the API token. */
  tenant: string;
  /** Operator API token: `Authorization: Bearer <apiToken>`. Local-only; never commit. */
  apiToken: string;
  /** CA certificate devices and clients trust (path and PEM). */
  caPath: string;
  caPem: string;
  /** The `<app>` segment of topics. */
  app: string;
  /** State directory and database file. */
  stateDir: string;
  database: string;
  /** Process id of the stack that wrote the file. */
  pid: number;
  startedAt: string;
}

/** Read `local.json`, or undefined when it is missing or unreadable. */
export function readLocalConfig(path: string): Partial<LocalConfig> | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Partial<LocalConfig>;
  } catch {
    return undefined;
  }
}

/** Write `local.json` atomically with mode 0600. */
export function writeLocalConfig(path: string, config: LocalConfig): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

/** The HMAC secret of signed file URLs, created on first run and kept in the database. */
export function fileUrlSecret(db: Db): Buffer {
  const existing = getMeta(db, 'local.files_secret');
  if (existing && /^[0-9a-f]{64}$/.test(existing)) return Buffer.from(existing, 'hex');
  const secret = randomBytes(32);
  setMeta(db, 'local.files_secret', secret.toString('hex'));
  return secret;
}

/**
 * The operator API token of the local tenant: the one in `local.json` while it still authenticates,
 * otherwise a new key (first run, or the file was deleted — the old token cannot be recovered from its
 * hash). Returns the token and whether it was just created.
 */
export async function localApiToken(
  keys: ApiKeyStore,
  previous: string | undefined,
  now: number,
): Promise<{ token: string; created: boolean }> {
  if (previous !== undefined) {
    const principal = await apiKeyAuthenticator(keys, () => now).authenticate({
      headers: { authorization: `Bearer ${previous}` },
    });
    if (principal?.tenant === LOCAL_TENANT && principal.role === 'operator')
      return { token: previous, created: false };
  }
  const { key } = await issueApiKey(keys, LOCAL_TENANT, 'operator', now, {
    name: 'local stack (local.json)',
  });
  return { token: key, created: true };
}
