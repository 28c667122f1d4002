/**
 * Builds the API router on the local stack's real adapters — SQLite (a file in a temporary directory) for
 * the registry, commands, files catalog, API keys, events and telemetry, the disk file store with signed
 * URLs, and the local CA as identity provider — with two tenants and three credentials (acme operator,
 * acme viewer, globex operator), a controllable clock and a `call()` helper. Only the device publisher
 * is a recorder (no broker), so tests can read what devices would receive.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteApiKeyStore } from '../../lambdas/adapters/local/api-key-store.js';
import { SqliteCommandStore } from '../../lambdas/adapters/local/command-store.js';
import { SqliteDeviceRegistry } from '../../lambdas/adapters/local/device-registry.js';
import { SqliteEventLog } from '../../lambdas/adapters/local/event-log.js';
import { SqliteFileCatalog } from '../../lambdas/adapters/local/file-catalog.js';
import { LocalFileStore } from '../../lambdas/adapters/local/file-store.js';
import { LocalIdentityProvider } from '../../lambdas/adapters/local/identity-provider.js';
import { type Db, openDatabase } from '../../lambdas/adapters/local/sqlite.js';
import { SqliteTelemetryStore } from '../../lambdas/adapters/local/telemetry-store.js';
import { apiKeyAuthenticator, issueApiKey } from '../../lambdas/api/auth.js';
import type { ApiDeps, DbcCheck } from '../../lambdas/api/deps.js';
import { type Api, createApi } from '../../lambdas/api/router.js';
import { LocalCa } from '../../lambdas/local/pki/local-ca.js';
import { FakePublisher } from './api-fakes.js';

/** A response with its body parsed. */
export interface CallResult {
  status: number;
  headers: Record<string, string>;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary response fields.
  body: any;
}

/** The adapters of a harness. */
export interface HarnessDeps extends ApiDeps {
  registry: SqliteDeviceRegistry;
  commands: SqliteCommandStore;
  publisher: FakePublisher;
  events: SqliteEventLog;
  eventSink: SqliteEventLog;
  catalog: SqliteFileCatalog;
  files: LocalFileStore;
  identity: LocalIdentityProvider;
  apiKeys: SqliteApiKeyStore;
  telemetry: SqliteTelemetryStore;
}

/** A test API. */
export interface Harness {
  api: Api;
  deps: HarnessDeps;
  db: Db;
  dir: string;
  keys: { acmeOperator: string; acmeViewer: string; globexOperator: string };
  clock: { now: number };
  call(
    key: string | undefined,
    method: string,
    path: string,
    opts?: { body?: unknown; query?: Record<string, string>; raw?: string; contentType?: string },
  ): Promise<CallResult>;
  /** Every row of every table (state-unchanged checks). */
  snapshot(): string;
  /** Object files under the file store's root (no sidecars). */
  storedObjects(): string[];
  /** Remove the temporary directory. */
  close(): void;
}

/** A simple DBC check for tests: a file is valid when it starts with `VERSION`. */
export const testDbcCheck = (bytes: Uint8Array): DbcCheck => {
  const text = Buffer.from(bytes).toString('utf8');
  const ok = text.startsWith('VERSION');
  const messages = (text.match(/^BO_ /gm) ?? []).length;
  const signals = (text.match(/^ SG_ /gm) ?? []).length;
  return {
    ok,
    messages,
    signals,
    findings: ok
      ? []
      : [{ severity: 'error', code: 'DBC_PARSE_ERROR', message: 'expected VERSION', line: 1 }],
  };
};

/** Base URL of the harness file store's signed URLs. */
export const FILES_BASE_URL = 'http://files.test';

/** Build a harness. */
export async function createHarness(): Promise<Harness> {
  const clock = { now: Date.parse('2026-03-01T12:00:00Z') };
  const now = () => clock.now;
  const dir = mkdtempSync(join(tmpdir(), 'fleetwire-api-'));
  const db = openDatabase(join(dir, 'fleetwire.db'));
  const events = new SqliteEventLog(db);
  const apiKeys = new SqliteApiKeyStore(db);
  const deps: HarnessDeps = {
    authenticator: apiKeyAuthenticator(apiKeys, now),
    registry: new SqliteDeviceRegistry(db),
    identity: new LocalIdentityProvider(db, LocalCa.open(join(dir, 'ca')), {
      endpoint: () => ({ host: 'localhost', port: 8883 }),
      now,
    }),
    telemetry: new SqliteTelemetryStore(db),
    commands: new SqliteCommandStore(db),
    publisher: new FakePublisher(),
    files: new LocalFileStore({
      root: join(dir, 'files'),
      secret: randomBytes(32),
      baseUrl: () => FILES_BASE_URL,
      now,
    }),
    catalog: new SqliteFileCatalog(db),
    events,
    eventSink: events,
    apiKeys,
    checkDbc: testDbcCheck,
    clock: now,
    validateResponses: true,
    logger: { error: () => undefined, warn: () => undefined },
  };
  const keys = {
    acmeOperator: (await issueApiKey(apiKeys, 'acme', 'operator', clock.now)).key,
    acmeViewer: (await issueApiKey(apiKeys, 'acme', 'viewer', clock.now)).key,
    globexOperator: (await issueApiKey(apiKeys, 'globex', 'operator', clock.now)).key,
  };
  const api = createApi(deps);
  const filesRoot = join(dir, 'files');
  return {
    api,
    deps,
    db,
    dir,
    keys,
    clock,
    async call(key, method, path, opts = {}) {
      const headers: Record<string, string> = {};
      if (key !== undefined) headers.Authorization = `Bearer ${key}`;
      let body: string | undefined;
      if (opts.raw !== undefined) body = opts.raw;
      else if (opts.body !== undefined) body = JSON.stringify(opts.body);
      if (body !== undefined) headers['Content-Type'] = opts.contentType ?? 'application/json';
      const res = await api({
        method,
        path,
        query: opts.query ?? {},
        headers,
        ...(body !== undefined ? { body } : {}),
      });
      return {
        status: res.statusCode,
        headers: res.headers,
        body: res.body === '' ? undefined : JSON.parse(res.body),
      };
    },
    snapshot() {
      const tables = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .pluck()
        .all() as string[];
      return JSON.stringify(
        tables.map((t) => [t, db.prepare(`SELECT * FROM "${t.replaceAll('"', '""')}"`).all()]),
      );
    },
    storedObjects() {
      const out: string[] = [];
      const walk = (d: string) => {
        let entries: import('node:fs').Dirent[];
        try {
          entries = readdirSync(d, { withFileTypes: true });
        } catch {
          return;
        }
        for (const e of entries) {
          const p = join(d, e.name);
          if (e.isDirectory()) walk(p);
          else if (!e.name.endsWith('.json') && !e.name.startsWith('.'))
            out.push(p.slice(join(filesRoot, 'objects').length + 1));
        }
      };
      walk(join(filesRoot, 'objects'));
      return out;
    },
    close() {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
