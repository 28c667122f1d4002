/**
 * What alerting publishes and keeps: the alert record (one per episode that reached FIRING: what
 * `GET /v1/alerts` lists) and the alert event (one per transition, re-notification or acknowledgement:
 * what goes to EventBridge, SNS and the local log). Both are stable JSON contracts, documented in
 * docs/alerts.md; the zod schemas here are the single definition the OpenAPI document and the tests
 * use. `schemaVersion` changes only with an incompatible change.
 */
// zod/mini, as in rule.ts: these schemas ship in the ingest and sweep Lambdas.
import * as z from 'zod/mini';
import type { FieldValue } from '../model/point.js';
import { describeCondition } from './conditions.js';
import { ALERT_STATUSES, TRANSITION_REASONS, type Transition } from './evaluator.js';
import { type AlertRule, BUILTIN_KINDS, SEVERITIES } from './rule.js';
import './zod-locale.js';

/** Version of the alert event schema. */
export const ALERT_EVENT_SCHEMA_VERSION = 1;

const Value = z.union([z.number(), z.string(), z.boolean()]);
const Acknowledgement = z.object({
  /** Principal that acknowledged (API key or user id). */
  by: z.string(),
  /** Acknowledgement time, ISO 8601. */
  at: z.string(),
});

/** Alert record statuses: an alert is FIRING until it resolves. */
export const ALERT_RECORD_STATUSES = ['FIRING', 'RESOLVED'] as const;

/** An alert (episode) as the API returns it. */
export const AlertRecordSchema = z.object({
  id: z.string(),
  tenant: z.string(),
  ruleId: z.string(),
  ruleName: z.string(),
  severity: z.enum(SEVERITIES),
  device: z.string(),
  field: z.string(),
  /** Human-readable condition, e.g. `battery.temperature above 80`. */
  condition: z.string(),
  status: z.enum(ALERT_RECORD_STATUSES),
  /** Event time the episode began (the first point meeting the condition, or the stale deadline), ISO. */
  startedAt: z.string(),
  /** Event time it fired, ISO. */
  firedAt: z.string(),
  /** Event time it resolved, ISO (resolved alerts only). */
  resolvedAt: z.optional(z.string()),
  /** Why it resolved (resolved alerts only). */
  resolveReason: z.optional(z.enum(TRANSITION_REASONS)),
  /** The value that fired it. */
  value: z.optional(Value),
  /** The newest value seen while it was open. */
  lastValue: z.optional(Value),
  /** Active device errors (device-error alerts). */
  errors: z.optional(z.array(z.string())),
  /** Wall-clock time of the last notification, ISO. */
  notifiedAt: z.optional(z.string()),
  acknowledged: z.optional(Acknowledgement),
  /** Wall-clock time of the last change, ISO. */
  updatedAt: z.string(),
});
/** An alert record. */
export type AlertRecord = z.infer<typeof AlertRecordSchema>;

/** Event kinds. */
export const ALERT_EVENT_KINDS = ['transition', 'renotify', 'acknowledged'] as const;

/** Stable event codes (SystemEvent `code`). */
export const ALERT_EVENT_CODES = [
  'ALERT_PENDING',
  'ALERT_FIRING',
  'ALERT_UPDATED',
  'ALERT_CANCELLED',
  'ALERT_RESOLVED',
  'ALERT_RENOTIFY',
  'ALERT_ACKNOWLEDGED',
] as const;
/** An alert event code. */
export type AlertEventCode = (typeof ALERT_EVENT_CODES)[number];

/** The alert event: EventBridge `detail`, SNS message body, local log entry. */
export const AlertEventSchema = z.object({
  schemaVersion: z.literal(ALERT_EVENT_SCHEMA_VERSION),
  /** Unique and deterministic: a retried publish carries the same id, so consumers can de-duplicate. */
  eventId: z.string(),
  kind: z.enum(ALERT_EVENT_KINDS),
  code: z.enum(ALERT_EVENT_CODES),
  tenant: z.string(),
  device: z.string(),
  alertId: z.string(),
  rule: z.object({
    id: z.string(),
    name: z.string(),
    severity: z.enum(SEVERITIES),
    field: z.string(),
    condition: z.string(),
    builtin: z.optional(z.enum(BUILTIN_KINDS)),
  }),
  from: z.enum(ALERT_STATUSES),
  to: z.enum(ALERT_STATUSES),
  reason: z.optional(z.enum(TRANSITION_REASONS)),
  /** Event time of the transition (for re-notifications and acks: the time the alert fired), ISO. */
  time: z.string(),
  /** Wall-clock time the service noticed it, ISO. */
  detectedAt: z.string(),
  value: z.optional(Value),
  errors: z.optional(z.array(z.string())),
  acknowledged: z.optional(Acknowledgement),
  /** One line for people: `FIRING major: battery.temperature above 80 on ems_001 (value 81.2)`. */
  message: z.string(),
});
/** An alert event. */
export type AlertEvent = z.infer<typeof AlertEventSchema>;

/** The event code of a transition. */
export function codeOf(t: Pick<Transition, 'from' | 'to'>): AlertEventCode {
  if (t.to === 'PENDING') return 'ALERT_PENDING';
  if (t.to === 'FIRING') return t.from === 'FIRING' ? 'ALERT_UPDATED' : 'ALERT_FIRING';
  return t.from === 'PENDING' ? 'ALERT_CANCELLED' : 'ALERT_RESOLVED';
}

/** ISO 8601 text of an epoch-ms time. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function valueText(v: FieldValue): string {
  return typeof v === 'string' ? JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}…` : v) : String(v);
}

/** Human-readable condition of a rule. */
export function describeRuleCondition(rule: Pick<AlertRule, 'field' | 'condition'>): string {
  return describeCondition(rule.field, rule.condition);
}

/** The rule summary carried by every event. */
export function ruleSummary(rule: AlertRule): AlertEvent['rule'] {
  return {
    id: rule.id,
    name: rule.name,
    severity: rule.severity,
    field: rule.field,
    condition: describeRuleCondition(rule),
    ...(rule.builtin ? { builtin: rule.builtin } : {}),
  };
}

/** Inputs of {@link buildEvent}. */
export interface EventInput {
  kind: AlertEvent['kind'];
  code: AlertEventCode;
  eventId: string;
  alertId: string;
  tenant: string;
  device: string;
  rule: AlertRule;
  from: AlertEvent['from'];
  to: AlertEvent['to'];
  reason?: AlertEvent['reason'];
  /** Event time, epoch ms. */
  time: number;
  /** Wall-clock detection time, epoch ms. */
  detectedAt: number;
  value?: FieldValue | undefined;
  errors?: string[] | undefined;
  acknowledged?: AlertEvent['acknowledged'];
}

/** Build an alert event (with its human-readable message). */
export function buildEvent(e: EventInput): AlertEvent {
  const label: Record<AlertEventCode, string> = {
    ALERT_PENDING: 'PENDING',
    ALERT_FIRING: 'FIRING',
    ALERT_UPDATED: 'UPDATED',
    ALERT_CANCELLED: 'CANCELLED',
    ALERT_RESOLVED: 'RESOLVED',
    ALERT_RENOTIFY: 'STILL FIRING',
    ALERT_ACKNOWLEDGED: 'ACKNOWLEDGED',
  };
  const summary = ruleSummary(e.rule);
  let message = `${label[e.code]} ${e.rule.severity}: ${summary.condition} on ${e.device}`;
  if (e.errors && e.errors.length > 0) message += ` (${e.errors.slice(0, 5).join('; ')})`;
  else if (e.value !== undefined) message += ` (value ${valueText(e.value)})`;
  if (e.acknowledged) message += ` by ${e.acknowledged.by}`;
  return {
    schemaVersion: ALERT_EVENT_SCHEMA_VERSION,
    eventId: e.eventId,
    kind: e.kind,
    code: e.code,
    tenant: e.tenant,
    device: e.device,
    alertId: e.alertId,
    rule: summary,
    from: e.from,
    to: e.to,
    ...(e.reason ? { reason: e.reason } : {}),
    time: iso(e.time),
    detectedAt: iso(e.detectedAt),
    ...(e.value !== undefined ? { value: e.value } : {}),
    ...(e.errors ? { errors: e.errors } : {}),
    ...(e.acknowledged ? { acknowledged: e.acknowledged } : {}),
    message,
  };
}

/** Codes worth telling people about (SNS, webhooks). PENDING and CANCELLED are machine-only. */
export function isNotifiable(code: AlertEventCode): boolean {
  return code !== 'ALERT_PENDING' && code !== 'ALERT_CANCELLED';
}
