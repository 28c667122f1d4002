/**
 * Builds the API router on test adapters with two tenants and three credentials (acme operator, acme
 * viewer, globex operator), a controllable clock and a `call()` helper.
 */
import { apiKeyAuthenticator, issueApiKey } from '../../lambdas/api/auth.js';
import type { ApiDeps, DbcCheck } from '../../lambdas/api/deps.js';
import { type Api, createApi } from '../../lambdas/api/router.js';
import {
  FakeApiKeys,
  FakeCatalog,
  FakeCommands,
  FakeEvents,
  FakeFiles,
  FakeIdentity,
  FakePublisher,
  FakeRegistry,
  FakeTelemetry,
} from './api-fakes.js';

/** A response with its body parsed. */
export interface CallResult {
  status: number;
  headers: Record<string, string>;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary response fields.
  body: any;
}

/** A test API. */
export interface Harness {
  api: Api;
  deps: ApiDeps & {
    registry: FakeRegistry;
    commands: FakeCommands;
    publisher: FakePublisher;
    events: FakeEvents;
    catalog: FakeCatalog;
    files: FakeFiles;
    identity: FakeIdentity;
    apiKeys: FakeApiKeys;
    telemetry: FakeTelemetry;
  };
  keys: { acmeOperator: string; acmeViewer: string; globexOperator: string };
  clock: { now: number };
  call(
    key: string | undefined,
    method: string,
    path: string,
    opts?: { body?: unknown; query?: Record<string, string>; raw?: string; contentType?: string },
  ): Promise<CallResult>;
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

/** Build a harness. */
export async function createHarness(): Promise<Harness> {
  const clock = { now: Date.parse('2026-03-01T12:00:00Z') };
  const events = new FakeEvents();
  const deps = {
    authenticator: undefined as unknown as ApiDeps['authenticator'],
    registry: new FakeRegistry(),
    identity: new FakeIdentity(),
    telemetry: new FakeTelemetry(),
    commands: new FakeCommands(),
    publisher: new FakePublisher(),
    files: new FakeFiles(),
    catalog: new FakeCatalog(),
    events,
    eventSink: events,
    apiKeys: new FakeApiKeys(),
    checkDbc: testDbcCheck,
    clock: () => clock.now,
    validateResponses: true,
    logger: { error: () => undefined, warn: () => undefined },
  };
  deps.authenticator = apiKeyAuthenticator(deps.apiKeys, () => clock.now);
  const keys = {
    acmeOperator: (await issueApiKey(deps.apiKeys, 'acme', 'operator', clock.now)).key,
    acmeViewer: (await issueApiKey(deps.apiKeys, 'acme', 'viewer', clock.now)).key,
    globexOperator: (await issueApiKey(deps.apiKeys, 'globex', 'operator', clock.now)).key,
  };
  const api = createApi(deps);
  return {
    api,
    deps,
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
  };
}
