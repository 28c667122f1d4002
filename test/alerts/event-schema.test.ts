/**
 * The alert event and alert record are published contracts (docs/alerts.md). Their JSON Schemas are
 * golden files: a change to the zod schemas that changes the contract fails here until the golden file
 * (and, for an incompatible change, `schemaVersion`) is updated on purpose.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { applyTransitions } from '../../lambdas/core/alerts/episode.js';
import {
  ALERT_EVENT_SCHEMA_VERSION,
  AlertEventSchema,
  AlertRecordSchema,
  buildEvent,
  codeOf,
} from '../../lambdas/core/alerts/records.js';
import { type AlertRule, RuleInput } from '../../lambdas/core/alerts/rule.js';

const golden = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../fixtures/alerts/${name}`, import.meta.url), 'utf8'));

const rule: AlertRule = {
  ...RuleInput.parse({
    name: 'Battery hot',
    field: 'battery.temperature',
    condition: { op: 'above', threshold: 80 },
  }),
  id: 'rul_1',
  tenant: 'acme',
  createdAt: 0,
  updatedAt: 0,
  version: 1,
};

describe('published schemas', () => {
  it('the alert event schema equals its golden file', () => {
    expect(z.toJSONSchema(AlertEventSchema)).toEqual(golden('alert-event.schema.json'));
    expect(ALERT_EVENT_SCHEMA_VERSION).toBe(1);
  });
  it('the alert record schema equals its golden file', () => {
    expect(z.toJSONSchema(AlertRecordSchema)).toEqual(golden('alert-record.schema.json'));
  });
  it('events carry every required field of the golden schema', () => {
    const schema = golden('alert-event.schema.json') as { required: string[] };
    const { state, added } = applyTransitions(
      undefined,
      { status: 'FIRING', since: 1000, lastEventTime: 1000, lastValue: 81.5 },
      [{ from: 'OK', to: 'FIRING', time: 1000, reason: 'condition-met', value: 81.5 }],
      { rule, tenant: 'acme', deviceId: 'ems_001', now: 2000, alertIdFor: () => 'al00000000ra0000000000001' },
    );
    const e = added[0]?.event as unknown as Record<string, unknown>;
    for (const k of schema.required) expect(e, k).toHaveProperty(k);
    expect(e).toMatchObject({
      schemaVersion: 1,
      eventId: 'al00000000ra0000000000001.1.1',
      kind: 'transition',
      code: 'ALERT_FIRING',
      time: '1970-01-01T00:00:01.000Z',
      detectedAt: '1970-01-01T00:00:02.000Z',
      message: 'FIRING warning: battery.temperature above 80 on ems_001 (value 81.5)',
    });
    expect(added[0]?.record).toMatchObject({
      id: 'al00000000ra0000000000001',
      status: 'FIRING',
      value: 81.5,
    });
    expect(state).toMatchObject({
      version: 1,
      alertId: 'al00000000ra0000000000001',
      firedAt: 1000,
      notifiedAt: 2000,
    });
  });
  it('maps transitions to codes', () => {
    expect(codeOf({ from: 'OK', to: 'PENDING' })).toBe('ALERT_PENDING');
    expect(codeOf({ from: 'PENDING', to: 'FIRING' })).toBe('ALERT_FIRING');
    expect(codeOf({ from: 'OK', to: 'FIRING' })).toBe('ALERT_FIRING');
    expect(codeOf({ from: 'FIRING', to: 'FIRING' })).toBe('ALERT_UPDATED');
    expect(codeOf({ from: 'PENDING', to: 'OK' })).toBe('ALERT_CANCELLED');
    expect(codeOf({ from: 'FIRING', to: 'OK' })).toBe('ALERT_RESOLVED');
  });
  it('messages quote strings, cut long ones and list device errors', () => {
    const base = {
      kind: 'transition' as const,
      code: 'ALERT_FIRING' as const,
      eventId: 'e',
      alertId: 'a',
      tenant: 't',
      device: 'd',
      rule,
      from: 'OK' as const,
      to: 'FIRING' as const,
      time: 0,
      detectedAt: 0,
    };
    expect(buildEvent({ ...base, value: 'x'.repeat(100) }).message).toContain(`"${'x'.repeat(80)}…"`);
    expect(buildEvent({ ...base, errors: ['A', 'B'] }).message).toMatch(/\(A; B\)$/);
    expect(AlertEventSchema.safeParse(buildEvent({ ...base, value: true })).success).toBe(true);
  });
});
