import { describe, expect, it } from 'vitest';
import { BUILTIN_DEVICE_ERROR_ID } from '../../lambdas/core/alerts/builtin.js';
import { isFleetwireError } from '../../lambdas/core/errors.js';
import type { AlertStateStore, StoredAlertState } from '../../lambdas/ports/alerts.js';
import { alertIdFor } from '../../lambdas/services/alert-service.js';
import { harness, pt } from './support.js';

const T = 'tenant-a';
const OTHER = 'tenant-b';
const hot = (id = 'ems_001') => ({
  name: 'Battery hot',
  scope: { kind: 'device', deviceId: id },
  field: 'battery.temperature',
  condition: { op: 'above', threshold: 80, clearThreshold: 75 },
  severity: 'critical',
});

describe('AlertService — threshold alerts on the ingest path', () => {
  it('fires once, stays firing in the band, resolves once past the clear threshold', async () => {
    const h = harness();
    await h.addDevice(T, 'ems_001');
    const rule = await h.service.createRule(T, hot());
    const t0 = h.clock.t - 3_600_000; // event times are in the past of the receive clock
    for (const [i, v] of [70, 81, 85, 78, 81, 76, 74, 70].entries()) {
      await h.service.onPoints(T, [pt('ems_001', t0 + i * 1000, { 'battery.temperature': v })]);
    }
    expect(h.sink.codes()).toEqual(['ALERT_FIRING', 'ALERT_RESOLVED']);
    expect(h.notifier.codes()).toEqual(['ALERT_FIRING', 'ALERT_RESOLVED']);
    const [fired, resolved] = h.sink.alertEvents();
    expect(fired).toMatchObject({
      tenant: T,
      device: 'ems_001',
      from: 'OK',
      to: 'FIRING',
      reason: 'condition-met',
      value: 81,
      time: new Date(t0 + 1000).toISOString(),
      rule: { id: rule.id, severity: 'critical', condition: 'battery.temperature above 80' },
    });
    expect(fired?.message).toBe('FIRING critical: battery.temperature above 80 on ems_001 (value 81)');
    expect(resolved).toMatchObject({
      from: 'FIRING',
      to: 'OK',
      reason: 'cleared',
      value: 74,
      alertId: fired?.alertId,
    });
    const list = await h.service.listAlerts(T, { limit: 10 });
    expect(list.items).toHaveLength(1);
    expect(list.items[0]).toMatchObject({
      id: fired?.alertId,
      status: 'RESOLVED',
      ruleId: rule.id,
      value: 81,
      lastValue: 74,
      resolveReason: 'cleared',
      firedAt: new Date(t0 + 1000).toISOString(),
      resolvedAt: new Date(t0 + 6000).toISOString(),
    });
    // Nothing left to deliver.
    const st = await h.states.get(T, rule.id, 'ems_001');
    expect(st?.outbox).toBeUndefined();
    expect(st?.dueAt).toBeUndefined();
  });

  it('applies the points of one message in event-time order', async () => {
    const h = harness();
    await h.addDevice(T, 'ems_001');
    await h.service.createRule(T, hot());
    const t0 = h.clock.t - 3_600_000; // event times are in the past of the receive clock
    await h.service.onPoints(T, [
      pt('ems_001', t0 + 3000, { 'battery.temperature': 70 }),
      pt('ems_001', t0 + 1000, { 'battery.temperature': 90 }),
      pt('ems_001', t0 + 2000, { 'battery.temperature': 91 }),
    ]);
    const ev = h.sink.alertEvents();
    expect(ev.map((e) => [e.code, e.time])).toEqual([
      ['ALERT_FIRING', new Date(t0 + 1000).toISOString()],
      ['ALERT_RESOLVED', new Date(t0 + 3000).toISOString()],
    ]);
  });

  it('a late point from the far past does not re-open a closed alert', async () => {
    const h = harness();
    await h.addDevice(T, 'ems_001');
    await h.service.createRule(T, hot());
    const t0 = h.clock.t - 3_600_000; // event times are in the past of the receive clock
    await h.service.onPoints(T, [pt('ems_001', t0, { 'battery.temperature': 90 })]);
    await h.service.onPoints(T, [pt('ems_001', t0 + 1000, { 'battery.temperature': 60 })]);
    await h.service.onPoints(T, [pt('ems_001', t0 - 86_400_000, { 'battery.temperature': 99 })]);
    await h.service.onPoints(T, [pt('ems_001', t0 + 500, { 'battery.temperature': 99 })]);
    expect(h.sink.codes()).toEqual(['ALERT_FIRING', 'ALERT_RESOLVED']);
    expect((await h.service.listAlerts(T, { status: 'active', limit: 10 })).items).toEqual([]);
  });

  it('concurrent evaluators of the same message fire once (conditional writes)', async () => {
    const h = harness();
    await h.addDevice(T, 'ems_001');
    await h.service.createRule(T, hot());
    // Both containers read the state before either writes.
    let arrived = 0;
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const gated: AlertStateStore = Object.assign(Object.create(h.states) as AlertStateStore, {
      listForDevice: async (tenant: string, device: string): Promise<StoredAlertState[]> => {
        const got = await h.states.listForDevice(tenant, device);
        arrived++;
        if (arrived === 2) release();
        await gate;
        return got;
      },
    });
    const a = h.second(gated);
    const b = h.second(gated);
    const p = [pt('ems_001', h.clock.t - 10_000, { 'battery.temperature': 95 })];
    await Promise.all([a.onPoints(T, p), b.onPoints(T, p)]);
    expect(h.sink.codes()).toEqual(['ALERT_FIRING']);
    expect(h.notifier.codes()).toEqual(['ALERT_FIRING']);
    // Concurrent different points: the loser re-reads and re-evaluates, so the outcome is as if ordered.
    arrived = 0;
    const gate2 = new Promise<void>((r) => {
      release = r;
    });
    const gated2: AlertStateStore = Object.assign(Object.create(h.states) as AlertStateStore, {
      listForDevice: async (tenant: string, device: string): Promise<StoredAlertState[]> => {
        const got = await h.states.listForDevice(tenant, device);
        arrived++;
        if (arrived === 2) release();
        await gate2;
        return got;
      },
    });
    const c = h.second(gated2);
    const d = h.second(gated2);
    await Promise.all([
      c.onPoints(T, [pt('ems_001', h.clock.t - 2000, { 'battery.temperature': 60 })]),
      d.onPoints(T, [pt('ems_001', h.clock.t - 1000, { 'battery.temperature': 62 })]),
    ]);
    expect(h.sink.codes()).toEqual(['ALERT_FIRING', 'ALERT_RESOLVED']);
    // Whichever wrote first, the state ends with the newer point applied.
    const st = (await h.states.listForDevice(T, 'ems_001'))[0];
    expect(st).toMatchObject({ status: 'OK', lastEventTime: h.clock.t - 1000, lastValue: 62 });
  });

  it('rules of another tenant never see this tenant’s points', async () => {
    const h = harness();
    await h.addDevice(T, 'ems_001');
    await h.service.createRule(OTHER, hot());
    await h.service.onPoints(T, [pt('ems_001', h.clock.t, { 'battery.temperature': 95 })]);
    expect(h.sink.codes()).toEqual([]);
  });

  it('scopes rules by device tag', async () => {
    const h = harness();
    await h.addDevice(T, 'north-1', { tags: { site: 'north' } });
    await h.addDevice(T, 'south-1', { tags: { site: 'south' } });
    await h.service.createRule(T, { ...hot(), scope: { kind: 'tag', key: 'site', value: 'north' } });
    await h.service.onPoints(T, [
      pt('north-1', h.clock.t, { 'battery.temperature': 95 }),
      pt('south-1', h.clock.t, { 'battery.temperature': 95 }),
    ]);
    expect(h.sink.alertEvents().map((e) => e.device)).toEqual(['north-1']);
  });

  it('`for` raises PENDING (event bus only) before FIRING', async () => {
    const h = harness();
    await h.addDevice(T, 'ems_001');
    await h.service.createRule(T, { ...hot(), forMs: 60_000 });
    const t0 = h.clock.t - 3_600_000; // event times are in the past of the receive clock
    for (const dt of [0, 30_000, 60_000]) {
      await h.service.onPoints(T, [pt('ems_001', t0 + dt, { 'battery.temperature': 90 })]);
    }
    expect(h.sink.codes()).toEqual(['ALERT_PENDING', 'ALERT_FIRING']);
    expect(h.notifier.codes()).toEqual(['ALERT_FIRING']);
    const [pending, firing] = h.sink.alertEvents();
    expect(pending?.alertId).toBe(firing?.alertId);
    const rec = await h.service.getAlert(T, firing?.alertId ?? '');
    expect(rec).toMatchObject({
      startedAt: new Date(t0).toISOString(),
      firedAt: new Date(t0 + 60_000).toISOString(),
    });
  });
});

describe('AlertService — device errors (built-in rule)', () => {
  it('EMS error flags alert with no configuration; changes re-notify; empty flags resolve', async () => {
    const h = harness();
    await h.addDevice(T, 'ems_001');
    const t0 = h.clock.t - 3_600_000; // event times are in the past of the receive clock
    const flags = (dt: number, f: string) =>
      pt('ems_001', t0 + dt, { 'system_status.error_flags': f, 'battery.soc': 80 });
    await h.service.onPoints(T, [flags(0, '[]')]);
    await h.service.onPoints(T, [flags(1000, '["OVERHEAT"]')]);
    await h.service.onPoints(T, [flags(2000, '["OVERHEAT"]')]);
    await h.service.onPoints(T, [flags(3000, '["OVERHEAT","LOW_SOC"]')]);
    await h.service.onPoints(T, [flags(4000, '[]')]);
    expect(h.sink.codes()).toEqual(['ALERT_FIRING', 'ALERT_UPDATED', 'ALERT_RESOLVED']);
    const [fired, updated] = h.sink.alertEvents();
    expect(fired).toMatchObject({
      rule: { id: BUILTIN_DEVICE_ERROR_ID, builtin: 'device-error' },
      errors: ['OVERHEAT'],
    });
    expect(updated?.errors).toEqual(['LOW_SOC', 'OVERHEAT']);
    const rec = await h.service.getAlert(T, fired?.alertId ?? '');
    expect(rec).toMatchObject({ status: 'RESOLVED', severity: 'major', resolveReason: 'errors-cleared' });
  });

  it('ExoSense __error entries alert; users can disable the built-in rule but not delete it', async () => {
    const h = harness();
    await h.addDevice(T, 'exo-1');
    await h.service.onPoints(T, [pt('exo-1', h.clock.t, { '004.__error': 'sensor disconnected' })]);
    expect(h.sink.codes()).toEqual(['ALERT_FIRING']);
    await expect(h.service.deleteRule(T, BUILTIN_DEVICE_ERROR_ID)).rejects.toMatchObject({
      code: 'ALERT_RULE_INVALID',
    });
    await expect(
      h.service.patchRule(T, BUILTIN_DEVICE_ERROR_ID, { condition: { op: 'above', threshold: 1 } }),
    ).rejects.toMatchObject({ code: 'ALERT_RULE_INVALID' });
    const disabled = await h.service.patchRule(T, BUILTIN_DEVICE_ERROR_ID, { enabled: false });
    expect(disabled).toMatchObject({ enabled: false, builtin: 'device-error', version: 1 });
    // Disabling resolved the open alert.
    expect(h.sink.codes()).toEqual(['ALERT_FIRING', 'ALERT_RESOLVED']);
    expect(h.sink.alertEvents()[1]?.reason).toBe('rule-changed');
    await h.service.onPoints(T, [pt('exo-1', h.clock.t + 1000, { '002.__error': 'broken' })]);
    expect(h.sink.codes()).toHaveLength(2);
    // The other tenant still has it enabled.
    const otherRules = await h.service.listRules(OTHER);
    expect(otherRules.find((r) => r.id === BUILTIN_DEVICE_ERROR_ID)?.enabled).toBe(true);
  });
});

describe('AlertService — stale data and the sweep', () => {
  it('a silent channel raises a stale alert within one sweep of its contract timeout, once', async () => {
    const h = harness();
    await h.addDevice(T, 'exo-1', {
      channelContract: {
        channels: {
          '002': { display_name: 'Temperature', properties: {}, protocol_config: { timeout: 300_000 } },
        },
      },
    });
    const rule = await h.service.createRule(T, {
      name: 'temp silent',
      field: '002',
      condition: { op: 'stale' },
    });
    const t0 = h.clock.t;
    await h.service.onPoints(T, [pt('exo-1', t0, { '002': 20 })]);
    h.clock.t = t0 + 299_000;
    expect((await h.service.sweep()).staleFired).toBe(0);
    h.clock.t = t0 + 300_000 + 59_000; // the next sweep after the deadline
    const report = await h.service.sweep();
    expect(report).toMatchObject({ staleChecked: 1, staleFired: 1, errors: 0 });
    expect(h.sink.codes()).toEqual(['ALERT_FIRING']);
    const fired = h.sink.alertEvents()[0];
    expect(fired).toMatchObject({
      reason: 'stale',
      time: new Date(t0 + 300_000).toISOString(),
      rule: { id: rule.id },
    });
    expect(new Date(fired?.detectedAt ?? 0).getTime() - (t0 + 300_000)).toBeLessThanOrEqual(60_000);
    h.clock.advance(60_000);
    await h.service.sweep();
    expect(h.sink.codes()).toEqual(['ALERT_FIRING']);
    // Fresh data resolves it.
    await h.service.onPoints(T, [pt('exo-1', h.clock.t, { '002': 21 })]);
    expect(h.sink.codes()).toEqual(['ALERT_FIRING', 'ALERT_RESOLVED']);
    expect(h.sink.alertEvents()[1]?.reason).toBe('fresh-data');
  });

  it('a whole-device (*) rule uses the registry last-seen time, never early', async () => {
    const h = harness();
    const t0 = h.clock.t;
    await h.addDevice(T, 'dev-1', { lastSeen: t0 });
    await h.addDevice(T, 'never', {});
    await h.service.createRule(T, {
      name: 'silent',
      field: '*',
      condition: { op: 'stale', afterMs: 600_000 },
    });
    h.clock.t = t0 + 600_000 + 59_000; // past lastSeen + afterMs, but not past the last-seen slack
    expect((await h.service.sweep()).staleFired).toBe(0);
    h.clock.t = t0 + 600_000 + 60_000 + 1;
    expect((await h.service.sweep()).staleFired).toBe(1);
    expect(h.sink.alertEvents().map((e) => e.device)).toEqual(['dev-1']);
    await h.service.onPoints(T, [pt('dev-1', t0 - 5_000_000, { anything: 1 })]);
    expect(h.sink.codes()).toEqual(['ALERT_FIRING', 'ALERT_RESOLVED']);
  });

  it('re-notifies a firing alert until acknowledged', async () => {
    const h = harness();
    await h.addDevice(T, 'ems_001');
    await h.service.createRule(T, { ...hot(), renotifyMs: 600_000 });
    await h.service.onPoints(T, [pt('ems_001', h.clock.t, { 'battery.temperature': 95 })]);
    h.clock.advance(599_000);
    expect((await h.service.sweep()).renotified).toBe(0);
    h.clock.advance(1_000);
    expect((await h.service.sweep()).renotified).toBe(1);
    expect(h.notifier.codes()).toEqual(['ALERT_FIRING', 'ALERT_RENOTIFY']);
    const alertId = h.sink.alertEvents()[0]?.alertId ?? '';
    const acked = await h.service.acknowledge(T, alertId, 'key:ops');
    expect(acked?.acknowledged?.by).toBe('key:ops');
    // A second acknowledgement keeps the first.
    expect((await h.service.acknowledge(T, alertId, 'key:other'))?.acknowledged?.by).toBe('key:ops');
    h.clock.advance(3_600_000);
    expect((await h.service.sweep()).renotified).toBe(0);
    expect(h.sink.codes()).toEqual(['ALERT_FIRING', 'ALERT_RENOTIFY', 'ALERT_ACKNOWLEDGED']);
    // Resolution does not drop the acknowledgement.
    await h.service.onPoints(T, [pt('ems_001', h.clock.t, { 'battery.temperature': 10 })]);
    expect(await h.service.getAlert(T, alertId)).toMatchObject({
      status: 'RESOLVED',
      acknowledged: { by: 'key:ops' },
    });
    // Another tenant cannot see or acknowledge it.
    expect(await h.service.getAlert(OTHER, alertId)).toBeUndefined();
    expect(await h.service.acknowledge(OTHER, alertId, 'x')).toBeUndefined();
  });

  it('a failed delivery stays in the outbox and the sweep delivers it with the same event ids', async () => {
    const h = harness();
    await h.addDevice(T, 'ems_001');
    const rule = await h.service.createRule(T, hot());
    h.notifier.fail = true;
    await h.service.onPoints(T, [pt('ems_001', h.clock.t, { 'battery.temperature': 95 })]);
    const st = await h.states.get(T, rule.id, 'ems_001');
    expect(st?.status).toBe('FIRING');
    expect(st?.outbox).toHaveLength(1);
    expect(st?.dueAt).toBe(h.clock.t + 30_000);
    // Within the grace period the sweep leaves it to its writer.
    h.notifier.fail = false;
    h.clock.advance(10_000);
    expect((await h.service.sweep()).dueHandled).toBe(0);
    h.notifier.fail = true;
    const firstId = h.sink.alertEvents()[0]?.eventId;
    h.clock.advance(60_000);
    await h.service.sweep();
    expect(h.notifier.sent).toHaveLength(0);
    h.notifier.fail = false;
    h.clock.advance(60_000);
    const report = await h.service.sweep();
    expect(report.errors).toBe(0);
    expect(h.notifier.codes()).toEqual(['ALERT_FIRING']);
    expect(h.notifier.sent[0]?.event.eventId).toBe(firstId);
    const after = await h.states.get(T, rule.id, 'ems_001');
    expect(after?.outbox).toBeUndefined();
    expect(after?.dueAt).toBeUndefined();
  });
});

describe('AlertService — rules', () => {
  it('CRUD with validation, tenancy and versioning', async () => {
    const h = harness();
    const r = await h.service.createRule(T, hot());
    expect(r).toMatchObject({ tenant: T, version: 1, enabled: true, forMs: 0, renotifyMs: 0 });
    expect(r.id).toMatch(/^rul_[0-9a-f]{20}$/);
    expect(await h.service.getRule(OTHER, r.id)).toBeUndefined();
    expect(await h.service.patchRule(OTHER, r.id, { severity: 'info' })).toBeUndefined();
    expect(await h.service.deleteRule(OTHER, r.id)).toBe(false);
    const patched = await h.service.patchRule(T, r.id, { severity: 'info', name: 'renamed' });
    expect(patched).toMatchObject({ severity: 'info', name: 'renamed', version: 2, createdAt: r.createdAt });
    const replaced = await h.service.replaceRule(T, r.id, {
      name: 'low',
      field: 'battery.soc',
      condition: { op: 'below', threshold: 10 },
    });
    expect(replaced).toMatchObject({ field: 'battery.soc', severity: 'warning', version: 3 });
    try {
      await h.service.createRule(T, {
        name: 'x',
        field: 'f',
        condition: { op: 'above', threshold: 1, clearThreshold: 2 },
      });
      expect.unreachable();
    } catch (e) {
      expect(isFleetwireError(e) && e.code).toBe('ALERT_RULE_INVALID');
      expect(isFleetwireError(e) && e.details.issues).toEqual([
        { path: 'condition.clearThreshold', message: expect.stringContaining('at or below') },
      ]);
    }
    const ids = (await h.service.listRules(T)).map((x) => x.id);
    expect(ids).toContain(r.id);
    expect(ids).toContain(BUILTIN_DEVICE_ERROR_ID);
    expect(await h.service.deleteRule(T, r.id)).toBe(true);
    expect(await h.service.getRule(T, r.id)).toBeUndefined();
  });

  it('deleting a rule resolves its open alerts and forgets its states', async () => {
    const h = harness();
    await h.addDevice(T, 'ems_001');
    const r = await h.service.createRule(T, hot());
    await h.service.onPoints(T, [pt('ems_001', h.clock.t, { 'battery.temperature': 95 })]);
    await h.service.deleteRule(T, r.id);
    expect(h.sink.codes()).toEqual(['ALERT_FIRING', 'ALERT_RESOLVED']);
    expect(h.sink.alertEvents()[1]?.reason).toBe('rule-changed');
    expect(await h.states.get(T, r.id, 'ems_001')).toBeUndefined();
    expect((await h.service.listAlerts(T, { status: 'active', limit: 10 })).items).toEqual([]);
  });

  it('one-click range rule from a device channel contract', async () => {
    const h = harness();
    await h.addDevice(T, 'exo-1', {
      channelContract: {
        channels: { '002': { display_name: 'Temperature', properties: { min: 16, max: 35 } } },
      },
    });
    const r = await h.service.createRuleFromContract(T, { deviceId: 'exo-1', channel: '002', kind: 'range' });
    expect(r).toMatchObject({
      field: '002',
      scope: { kind: 'device', deviceId: 'exo-1' },
      condition: { op: 'outside', min: 16, max: 35 },
    });
    expect(
      await h.service.createRuleFromContract(OTHER, { deviceId: 'exo-1', channel: '002', kind: 'range' }),
    ).toBeUndefined();
    await h.service.onPoints(T, [pt('exo-1', h.clock.t, { '002': 40 })]);
    expect(h.sink.codes()).toEqual(['ALERT_FIRING']);
  });

  it('limits the number of rules per tenant', async () => {
    const h = harness(undefined, { maxRulesPerTenant: 3 });
    await h.service.createRule(T, hot());
    await h.service.createRule(T, hot());
    await expect(h.service.createRule(T, hot())).rejects.toMatchObject({ code: 'ALERT_RULE_INVALID' });
  });
});

describe('AlertService — history queries', () => {
  it('filters by status, device, rule, severity and time, and pages newest first', async () => {
    const h = harness();
    await h.addDevice(T, 'a');
    await h.addDevice(T, 'b');
    const crit = await h.service.createRule(T, { ...hot(), scope: { kind: 'all' } });
    const warn = await h.service.createRule(T, {
      name: 'low soc',
      field: 'battery.soc',
      condition: { op: 'below', threshold: 10 },
    });
    const t0 = h.clock.t - 3_600_000;
    await h.service.onPoints(T, [pt('a', t0, { 'battery.temperature': 95 })]);
    await h.service.onPoints(T, [pt('a', t0 + 1000, { 'battery.temperature': 10 })]);
    await h.service.onPoints(T, [pt('b', t0 + 2000, { 'battery.temperature': 95, 'battery.soc': 5 })]);
    const all = await h.service.listAlerts(T, { limit: 10 });
    // Newest episode first (b's two alerts started together, a's earlier).
    expect(all.items.map((a) => a.device)).toEqual(['b', 'b', 'a']);
    expect(
      all.items
        .slice(0, 2)
        .map((a) => a.ruleId)
        .sort(),
    ).toEqual([crit.id, warn.id].sort());
    expect(all.items[2]).toMatchObject({ ruleId: crit.id, status: 'RESOLVED' });
    expect((await h.service.listAlerts(T, { status: 'active', limit: 10 })).items).toHaveLength(2);
    expect((await h.service.listAlerts(T, { status: 'resolved', limit: 10 })).items).toHaveLength(1);
    expect((await h.service.listAlerts(T, { deviceId: 'a', limit: 10 })).items).toHaveLength(1);
    expect((await h.service.listAlerts(T, { ruleId: warn.id, limit: 10 })).items).toHaveLength(1);
    expect((await h.service.listAlerts(T, { severity: 'critical', limit: 10 })).items).toHaveLength(2);
    expect((await h.service.listAlerts(T, { from: t0 + 1, limit: 10 })).items).toHaveLength(2);
    expect((await h.service.listAlerts(T, { to: t0 + 1, limit: 10 })).items).toHaveLength(1);
    const p1 = await h.service.listAlerts(T, { limit: 2 });
    expect(p1.items).toHaveLength(2);
    const p2 = await h.service.listAlerts(T, { limit: 2, ...(p1.next ? { cursor: p1.next } : {}) });
    expect(p2.items).toHaveLength(1);
    expect(p2.next).toBeUndefined();
    expect((await h.service.listAlerts(OTHER, { limit: 10 })).items).toEqual([]);
  });

  it('alert ids are deterministic and sort by episode start', () => {
    const f = alertIdFor('t', 'r', 'd');
    expect(f(1000)).toBe(f(1000));
    expect(f(1000)).not.toBe(alertIdFor('t', 'r', 'e')(1000));
    expect(f(1000) < f(2000)).toBe(true);
    expect(f(Date.UTC(2099, 0)) > f(Date.UTC(2026, 0))).toBe(true);
  });
});

describe('AlertService — read shortcut for quiet devices', () => {
  it('skips the state read for messages only idle built-in rules could concern, for a short while', async () => {
    const h = harness();
    await h.addDevice(T, 'can-1');
    let reads = 0;
    const counting: AlertStateStore = Object.assign(Object.create(h.states) as AlertStateStore, {
      listForDevice: async (tenant: string, device: string) => {
        reads++;
        return h.states.listForDevice(tenant, device);
      },
    });
    const svc = h.second(counting);
    const t0 = h.clock.t - 60_000;
    for (let i = 0; i < 5; i++) await svc.onPoints(T, [pt('can-1', t0 + i, { 'VehicleSpeed.Speed': 50 })]);
    expect(reads).toBe(1);
    // Error information always reads (and fires).
    await svc.onPoints(T, [pt('can-1', t0 + 10, { 'system_status.error_flags': '["X"]' })]);
    expect(reads).toBe(2);
    expect(h.sink.codes()).toEqual(['ALERT_FIRING']);
    // With an open alert, every message reads (it may end the alert).
    await svc.onPoints(T, [pt('can-1', t0 + 11, { 'VehicleSpeed.Speed': 51 })]);
    await svc.onPoints(T, [pt('can-1', t0 + 12, { 'VehicleSpeed.Speed': 52 })]);
    expect(reads).toBe(4);
    // After the cache time, a quiet device is read again.
    await svc.onPoints(T, [pt('can-1', t0 + 13, { 'system_status.error_flags': '[]' })]);
    const before = reads;
    await svc.onPoints(T, [pt('can-1', t0 + 14, { 'VehicleSpeed.Speed': 53 })]);
    expect(reads).toBe(before);
    h.clock.advance(15_001);
    await svc.onPoints(T, [pt('can-1', t0 + 15, { 'VehicleSpeed.Speed': 54 })]);
    expect(reads).toBe(before + 1);
  });
});
