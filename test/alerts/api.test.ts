/**
 * The alert routes through the real router: roles, tenancy (another tenant's objects answer 404),
 * validation, built-in rules, contract rules, alert listing, acknowledgement, subscriptions, OpenAPI.
 * The alert service runs on the SQLite adapters; the rest of the API on the shared test fakes.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import {
  SqliteAlertHistory,
  SqliteAlertRuleStore,
  SqliteAlertStateStore,
} from '../../lambdas/adapters/local/alerts-sqlite.js';
import { openDatabase } from '../../lambdas/adapters/local/sqlite.js';
import { createApi } from '../../lambdas/api/router.js';
import { alertRoutes } from '../../lambdas/api/routes/alerts.js';
import type { Severity } from '../../lambdas/core/alerts/rule.js';
import type {
  AlertSubscription,
  AlertSubscriptions,
  SubscriptionProtocol,
} from '../../lambdas/ports/alerts.js';
import { AlertService } from '../../lambdas/services/alert-service.js';
import { type CallResult, createHarness, type Harness } from '../support/api-harness.js';
import { pt, RecordingNotifier, RecordingSink } from './support.js';

class FakeSubscriptions implements AlertSubscriptions {
  readonly byTenant = new Map<string, AlertSubscription[]>();
  async list(tenant: string) {
    return this.byTenant.get(tenant) ?? [];
  }
  async subscribe(
    tenant: string,
    sub: { protocol: SubscriptionProtocol; endpoint: string; severities?: Severity[] },
  ) {
    const s: AlertSubscription = { id: `sub-${this.byTenant.size + 1}`, ...sub, confirmed: true };
    this.byTenant.set(tenant, [...(this.byTenant.get(tenant) ?? []), s]);
    return s;
  }
  async unsubscribe(tenant: string, id: string) {
    const list = this.byTenant.get(tenant) ?? [];
    const next = list.filter((s) => s.id !== id);
    this.byTenant.set(tenant, next);
    return next.length !== list.length;
  }
}

let h: Harness;
let alerts: AlertService;
let sink: RecordingSink;
let call: (
  key: string | undefined,
  method: string,
  path: string,
  opts?: { body?: unknown; query?: Record<string, string> },
) => Promise<CallResult>;

const hot = {
  name: 'Battery hot',
  field: 'battery.temperature',
  condition: { op: 'above', threshold: 80, clearThreshold: 75 },
  severity: 'critical',
};

beforeEach(async () => {
  h = await createHarness();
  const db = openDatabase(':memory:');
  sink = new RecordingSink();
  alerts = new AlertService({
    rules: new SqliteAlertRuleStore(db),
    states: new SqliteAlertStateStore(db),
    history: new SqliteAlertHistory(db),
    events: sink,
    notifier: new RecordingNotifier(),
    registry: h.deps.registry,
    clock: () => h.clock.now,
  });
  const api = createApi(h.deps, alertRoutes({ alerts, subscriptions: new FakeSubscriptions() }));
  call = async (key, method, path, opts = {}) => {
    const headers: Record<string, string> = {};
    if (key !== undefined) headers.Authorization = `Bearer ${key}`;
    if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await api({
      method,
      path,
      query: opts.query ?? {},
      headers,
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
    });
    return {
      status: res.statusCode,
      headers: res.headers,
      body: res.body === '' ? undefined : JSON.parse(res.body),
    };
  };
  await h.deps.registry.create({
    tenant: 'acme',
    deviceId: 'exo-1',
    tags: {},
    tokenHash: 'x',
    status: 'active',
    createdAt: h.clock.now - 1000,
    channelContract: {
      last_edited: '2026-01-01T00:00:00Z',
      channels: {
        '002': {
          display_name: 'Temperature',
          properties: { data_type: 'TEMPERATURE', min: 16, max: 35 },
          protocol_config: { timeout: 300000 },
        },
        '004': { display_name: 'Valve', properties: { data_type: 'BOOLEAN', control: true } },
      },
    },
  });
});

describe('alert rule routes', () => {
  it('operators create, read, patch, replace and delete rules; viewers only read', async () => {
    const { acmeOperator: op, acmeViewer: viewer } = h.keys;
    expect((await call(viewer, 'POST', '/v1/alert-rules', { body: hot })).status).toBe(403);
    const created = await call(op, 'POST', '/v1/alert-rules', { body: hot });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      ...hot,
      tenant: 'acme',
      scope: { kind: 'all' },
      enabled: true,
      version: 1,
    });
    const id = created.body.id as string;
    const list = await call(viewer, 'GET', '/v1/alert-rules');
    expect(list.status).toBe(200);
    expect(list.body.items.map((r: { id: string }) => r.id).sort()).toEqual(
      ['builtin-device-error', id].sort(),
    );
    expect((await call(viewer, 'GET', `/v1/alert-rules/${id}`)).body.name).toBe('Battery hot');
    expect((await call(viewer, 'PATCH', `/v1/alert-rules/${id}`, { body: { enabled: false } })).status).toBe(
      403,
    );
    const patched = await call(op, 'PATCH', `/v1/alert-rules/${id}`, {
      body: { severity: 'info', forMs: 60000 },
    });
    expect(patched.body).toMatchObject({ severity: 'info', forMs: 60000, version: 2 });
    const replaced = await call(op, 'PUT', `/v1/alert-rules/${id}`, {
      body: {
        name: 'state error',
        field: 'system_status.state',
        condition: { op: 'equals', value: 'ERROR' },
      },
    });
    expect(replaced.body).toMatchObject({ field: 'system_status.state', severity: 'warning', version: 3 });
    expect((await call(viewer, 'DELETE', `/v1/alert-rules/${id}`)).status).toBe(403);
    expect((await call(op, 'DELETE', `/v1/alert-rules/${id}`)).status).toBe(204);
    expect((await call(op, 'GET', `/v1/alert-rules/${id}`)).status).toBe(404);
    expect((await call(op, 'DELETE', `/v1/alert-rules/${id}`)).status).toBe(404);
  });

  it('another tenant’s rule answers 404 on every route', async () => {
    const id = (await call(h.keys.acmeOperator, 'POST', '/v1/alert-rules', { body: hot })).body.id as string;
    const g = h.keys.globexOperator;
    expect((await call(g, 'GET', `/v1/alert-rules/${id}`)).status).toBe(404);
    expect((await call(g, 'PATCH', `/v1/alert-rules/${id}`, { body: { enabled: false } })).status).toBe(404);
    expect((await call(g, 'PUT', `/v1/alert-rules/${id}`, { body: hot })).status).toBe(404);
    expect((await call(g, 'DELETE', `/v1/alert-rules/${id}`)).status).toBe(404);
    expect((await call(g, 'GET', '/v1/alert-rules')).body.items.map((r: { id: string }) => r.id)).toEqual([
      'builtin-device-error',
    ]);
    expect((await call(h.keys.acmeViewer, 'GET', `/v1/alert-rules/${id}`)).status).toBe(200);
    expect((await call(g, 'GET', '/v1/alert-rules/NOT%20AN%20ID')).status).toBe(404);
  });

  it('validates rules with field-level issues', async () => {
    const bad = await call(h.keys.acmeOperator, 'POST', '/v1/alert-rules', {
      body: { ...hot, condition: { op: 'above', threshold: 80, clearThreshold: 90 } },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('VALIDATION_FAILED');
    expect(bad.body.error.details.issues[0].path).toBe('body.condition.clearThreshold');
    const unknown = await call(h.keys.acmeOperator, 'POST', '/v1/alert-rules', { body: { ...hot, evil: 1 } });
    expect(unknown.status).toBe(400);
    const empty = await call(h.keys.acmeOperator, 'PATCH', '/v1/alert-rules/builtin-device-error', {
      body: {},
    });
    expect(empty.status).toBe(400);
  });

  it('built-in rule: can be disabled and tuned, not deleted or re-targeted', async () => {
    const op = h.keys.acmeOperator;
    expect((await call(op, 'DELETE', '/v1/alert-rules/builtin-device-error')).status).toBe(409);
    const retarget = await call(op, 'PATCH', '/v1/alert-rules/builtin-device-error', {
      body: { field: 'x' },
    });
    expect(retarget.status).toBe(400);
    expect(retarget.body.error.details.code).toBe('ALERT_RULE_INVALID');
    const off = await call(op, 'PATCH', '/v1/alert-rules/builtin-device-error', {
      body: { enabled: false, severity: 'critical' },
    });
    expect(off.status).toBe(200);
    expect(off.body).toMatchObject({ builtin: 'device-error', enabled: false, severity: 'critical' });
    // Other tenants keep the default.
    const g = await call(h.keys.globexOperator, 'GET', '/v1/alert-rules/builtin-device-error');
    expect(g.body).toMatchObject({ enabled: true, tenant: 'globex' });
  });

  it('one-click rules from the channel contract', async () => {
    const op = h.keys.acmeOperator;
    const range = await call(op, 'POST', '/v1/alert-rules/from-contract', {
      body: { deviceId: 'exo-1', channel: '002', kind: 'range', severity: 'major' },
    });
    expect(range.status).toBe(201);
    expect(range.body).toMatchObject({
      name: 'Temperature out of range',
      field: '002',
      scope: { kind: 'device', deviceId: 'exo-1' },
      condition: { op: 'outside', min: 16, max: 35 },
      severity: 'major',
    });
    const stale = await call(op, 'POST', '/v1/alert-rules/from-contract', {
      body: { deviceId: 'exo-1', channel: '002', kind: 'stale', scope: { kind: 'all' } },
    });
    expect(stale.body).toMatchObject({ condition: { op: 'stale' }, scope: { kind: 'all' } });
    const noRange = await call(op, 'POST', '/v1/alert-rules/from-contract', {
      body: { deviceId: 'exo-1', channel: '004', kind: 'range' },
    });
    expect(noRange.status).toBe(422);
    expect(noRange.body.error.code).toBe('CONFIG_INVALID');
    const foreign = await call(h.keys.globexOperator, 'POST', '/v1/alert-rules/from-contract', {
      body: { deviceId: 'exo-1', channel: '002', kind: 'range' },
    });
    expect(foreign.status).toBe(404);
  });
});

describe('alert routes', () => {
  async function fireOne(): Promise<string> {
    await call(h.keys.acmeOperator, 'POST', '/v1/alert-rules', { body: hot });
    await alerts.onPoints('acme', [pt('exo-1', h.clock.now - 5000, { 'battery.temperature': 90 })]);
    await alerts.onPoints('acme', [pt('exo-1', h.clock.now - 4000, { 'battery.temperature': 70 })]);
    await alerts.onPoints('acme', [pt('exo-1', h.clock.now - 3000, { 'battery.temperature': 95 })]);
    const active = await call(h.keys.acmeViewer, 'GET', '/v1/alerts', { query: { status: 'active' } });
    expect(active.status).toBe(200);
    expect(active.body.items).toHaveLength(1);
    return active.body.items[0].id as string;
  }

  it('lists active and past alerts with filters and pages', async () => {
    const id = await fireOne();
    const v = h.keys.acmeViewer;
    const all = await call(v, 'GET', '/v1/alerts');
    expect(all.body.items.map((a: { status: string }) => a.status)).toEqual(['FIRING', 'RESOLVED']);
    expect(all.body.items[0].id).toBe(id);
    expect((await call(v, 'GET', '/v1/alerts', { query: { status: 'resolved' } })).body.items).toHaveLength(
      1,
    );
    expect((await call(v, 'GET', '/v1/alerts', { query: { severity: 'info' } })).body.items).toHaveLength(0);
    expect((await call(v, 'GET', '/v1/alerts', { query: { deviceId: 'exo-1' } })).body.items).toHaveLength(2);
    const since = new Date(h.clock.now - 3500).toISOString();
    expect((await call(v, 'GET', '/v1/alerts', { query: { from: since } })).body.items).toHaveLength(1);
    const p1 = await call(v, 'GET', '/v1/alerts', { query: { limit: '1' } });
    expect(p1.body.items).toHaveLength(1);
    const p2 = await call(v, 'GET', '/v1/alerts', { query: { limit: '1', cursor: p1.body.next } });
    expect(p2.body.items[0].status).toBe('RESOLVED');
    expect(
      (await call(v, 'GET', '/v1/alerts', { query: { limit: '1', status: 'active', cursor: p1.body.next } }))
        .status,
    ).toBe(400);
    const stolen = await call(h.keys.globexOperator, 'GET', '/v1/alerts', {
      query: { limit: '1', cursor: p1.body.next },
    });
    expect(stolen.status).toBe(400);
    expect(stolen.body.error.code).toBe('INVALID_CURSOR');
    expect((await call(v, 'GET', '/v1/alerts', { query: { from: 'yesterday' } })).status).toBe(400);
    expect((await call(v, 'GET', '/v1/alerts', { query: { colour: 'red' } })).status).toBe(400);
    expect((await call(h.keys.globexOperator, 'GET', '/v1/alerts')).body.items).toEqual([]);
  });

  it('acknowledges (operators only, once, tenant-scoped)', async () => {
    const id = await fireOne();
    expect((await call(h.keys.acmeViewer, 'POST', `/v1/alerts/${id}/ack`)).status).toBe(403);
    expect((await call(h.keys.globexOperator, 'POST', `/v1/alerts/${id}/ack`)).status).toBe(404);
    expect((await call(h.keys.globexOperator, 'GET', `/v1/alerts/${id}`)).status).toBe(404);
    const ack = await call(h.keys.acmeOperator, 'POST', `/v1/alerts/${id}/ack`);
    expect(ack.status).toBe(200);
    expect(ack.body.acknowledged.by).toMatch(/^key:/);
    const again = await call(h.keys.acmeOperator, 'POST', `/v1/alerts/${id}/ack`);
    expect(again.body.acknowledged).toEqual(ack.body.acknowledged);
    expect((await call(h.keys.acmeViewer, 'GET', `/v1/alerts/${id}`)).body.acknowledged).toEqual(
      ack.body.acknowledged,
    );
    expect(sink.codes().filter((c) => c === 'ALERT_ACKNOWLEDGED')).toHaveLength(1);
    expect((await call(h.keys.acmeOperator, 'POST', '/v1/alerts/al000000000000000000000/ack')).status).toBe(
      404,
    );
    expect((await call(h.keys.acmeOperator, 'POST', '/v1/alerts/nope/ack')).status).toBe(404);
  });

  it('subscriptions: operators add and remove, viewers list, tenants are separate', async () => {
    const op = h.keys.acmeOperator;
    const bad = await call(op, 'POST', '/v1/alert-subscriptions', {
      body: { protocol: 'email', endpoint: 'not-mail' },
    });
    expect(bad.status).toBe(400);
    const http = await call(op, 'POST', '/v1/alert-subscriptions', {
      body: { protocol: 'https', endpoint: 'http://x' },
    });
    expect(http.status).toBe(400);
    const ok = await call(op, 'POST', '/v1/alert-subscriptions', {
      body: { protocol: 'email', endpoint: 'ops@example.com', severities: ['critical'] },
    });
    expect(ok.status).toBe(201);
    expect((await call(h.keys.acmeViewer, 'GET', '/v1/alert-subscriptions')).body.items).toHaveLength(1);
    expect((await call(h.keys.globexOperator, 'GET', '/v1/alert-subscriptions')).body.items).toHaveLength(0);
    expect(
      (await call(h.keys.globexOperator, 'DELETE', `/v1/alert-subscriptions/${ok.body.id}`)).status,
    ).toBe(404);
    expect((await call(op, 'DELETE', `/v1/alert-subscriptions/${ok.body.id}`)).status).toBe(204);
  });

  it('appears in the OpenAPI document with schemas and roles', async () => {
    const doc = (await call(h.keys.acmeViewer, 'GET', '/v1/openapi.json')).body;
    for (const p of [
      '/v1/alert-rules',
      '/v1/alert-rules/{ruleId}',
      '/v1/alert-rules/from-contract',
      '/v1/alerts',
      '/v1/alerts/{alertId}',
      '/v1/alerts/{alertId}/ack',
      '/v1/alert-subscriptions',
    ]) {
      expect(doc.paths[p], p).toBeDefined();
    }
    expect(doc.paths['/v1/alerts/{alertId}/ack'].post['x-fleetwire-role']).toBe('operator');
    expect(doc.paths['/v1/alerts'].get['x-fleetwire-role']).toBe('viewer');
    const body = doc.paths['/v1/alert-rules'].post.requestBody.content['application/json'].schema;
    expect(JSON.stringify(body)).toContain('clearThreshold');
    const params = doc.paths['/v1/alerts'].get.parameters.map((p: { name: string }) => p.name);
    expect(params).toEqual(['status', 'deviceId', 'ruleId', 'severity', 'from', 'to', 'limit', 'cursor']);
  });
});
