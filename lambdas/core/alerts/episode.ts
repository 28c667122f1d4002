/**
 * Episode bookkeeping: turns the evaluator's transitions for one (rule, device) into the stored state
 * (alert id, fire time, re-notify schedule), the alert events to publish and the alert records to
 * save. Pure: ids come from an injected function and the wall clock is a parameter.
 *
 * Delivery is at-least-once through an outbox kept in the state itself: the events and records of a
 * transition are written together with the state change (one conditional write), delivered, and then
 * removed. A crash or a failed delivery in between leaves them in the outbox with `dueAt` set, and
 * the sweep delivers them again with the same event ids (consumers can de-duplicate on `eventId`).
 */
import type { FieldValue } from '../model/point.js';
import { describeErrors, errorCount } from './device-errors.js';
import type { EvalState, Transition } from './evaluator.js';
import {
  type AlertEvent,
  type AlertRecord,
  buildEvent,
  codeOf,
  describeRuleCondition,
  isNotifiable,
  iso,
} from './records.js';
import type { AlertRule } from './rule.js';

/** Something to deliver: an event, the record change that goes with it, and whether people hear of it. */
export interface OutboxEntry {
  event: AlertEvent;
  /** The alert record to save (create or update), when the event changes one. */
  record?: AlertRecord;
  /** True when the event goes to people (SNS / webhook) as well as to the event bus. */
  notify: boolean;
}

/** Most entries an outbox keeps; beyond it the oldest are dropped (and reported by the caller). */
export const OUTBOX_LIMIT = 50;

/** The stored state of one (rule, device): evaluation state plus episode bookkeeping. */
export interface AlertStateRecord extends EvalState {
  tenant: string;
  ruleId: string;
  deviceId: string;
  /** Optimistic-concurrency version: 1 on first write, +1 on every write. */
  version: number;
  /** The current episode while PENDING or FIRING. */
  alertId?: string;
  /** Event time the current episode began. */
  episodeStart?: number;
  /** Event time the current episode fired. */
  firedAt?: number;
  /** Value that fired the current episode. */
  firedValue?: FieldValue;
  /** Wall-clock time of the last notification of the current episode. */
  notifiedAt?: number;
  /** True once the current episode was acknowledged (stops re-notification). */
  acknowledged?: boolean;
  /** Acknowledgement of the current episode. */
  ackBy?: string;
  /**
   * Wall-clock time of the next scheduled work (undelivered outbox or re-notification), epoch ms;
   * absent when nothing is scheduled. Stores index it so the sweep finds due states without scanning.
   */
  dueAt?: number;
  /** Events (and record changes) written but not yet confirmed delivered. */
  outbox?: OutboxEntry[];
}

/** Context of {@link applyTransitions}. */
export interface EpisodeContext {
  rule: AlertRule;
  tenant: string;
  deviceId: string;
  /** Wall clock, epoch ms. */
  now: number;
  /** Deterministic alert id of the episode that began at `episodeStart` (same inputs → same id). */
  alertIdFor: (episodeStart: number) => string;
}

/** The evaluation fields of a state (what the evaluator owns). */
function evalFields(s: EvalState): EvalState {
  const out: EvalState = { status: s.status, since: s.since };
  if (s.lastEventTime !== undefined) out.lastEventTime = s.lastEventTime;
  if (s.lastValue !== undefined) out.lastValue = s.lastValue;
  if (s.errors !== undefined) out.errors = s.errors;
  return out;
}

/** The alert record of an episode as the state describes it. */
function recordOf(
  st: AlertStateRecord,
  ctx: EpisodeContext,
  resolved?: { at: number; reason: Transition['reason']; value?: FieldValue | undefined },
  errors?: string[],
): AlertRecord {
  const rule = ctx.rule;
  const rec: AlertRecord = {
    id: st.alertId as string,
    tenant: ctx.tenant,
    ruleId: rule.id,
    ruleName: rule.name,
    severity: rule.severity,
    device: ctx.deviceId,
    field: rule.field,
    condition: describeRuleCondition(rule),
    status: resolved ? 'RESOLVED' : 'FIRING',
    startedAt: iso(st.episodeStart ?? st.firedAt ?? 0),
    firedAt: iso(st.firedAt ?? 0),
    updatedAt: iso(ctx.now),
  };
  if (resolved) {
    rec.resolvedAt = iso(resolved.at);
    rec.resolveReason = resolved.reason;
  }
  if (st.firedValue !== undefined) rec.value = st.firedValue;
  const last = resolved?.value ?? st.lastValue;
  if (last !== undefined) rec.lastValue = last;
  if (errors !== undefined) rec.errors = errors;
  if (st.notifiedAt !== undefined) rec.notifiedAt = iso(st.notifiedAt);
  return rec;
}

/** When the next re-notification is due for a firing, unacknowledged episode. */
export function renotifyDue(st: AlertStateRecord, rule: AlertRule): number | undefined {
  if (st.status !== 'FIRING' || st.acknowledged || rule.renotifyMs <= 0 || st.notifiedAt === undefined) {
    return undefined;
  }
  return st.notifiedAt + rule.renotifyMs;
}

/**
 * How long the writer of an outbox entry has to deliver it before the sweep may deliver it too (a
 * grace period, so the normal path does not race the sweep into duplicate deliveries).
 */
export const OUTBOX_GRACE_MS = 30_000;

/** The earliest scheduled work of a state: undelivered outbox after the grace period, else the re-notification. */
export function dueAtOf(st: AlertStateRecord, rule: AlertRule | undefined, now: number): number | undefined {
  if (st.outbox && st.outbox.length > 0) return now + OUTBOX_GRACE_MS;
  return rule ? renotifyDue(st, rule) : undefined;
}

/**
 * Build the next stored state from the previous one, the evaluator's new state and its transitions.
 * New outbox entries are appended after any still undelivered.
 */
export function applyTransitions(
  prev: AlertStateRecord | undefined,
  evaluated: EvalState,
  transitions: readonly Transition[],
  ctx: EpisodeContext,
): { state: AlertStateRecord; added: OutboxEntry[] } {
  const st: AlertStateRecord = {
    ...(prev ?? {
      tenant: ctx.tenant,
      ruleId: ctx.rule.id,
      deviceId: ctx.deviceId,
      version: 0,
      status: 'OK',
      since: 0,
    }),
  };
  // Evaluation fields come only from the evaluator (an absent field there means "cleared").
  delete st.lastEventTime;
  delete st.lastValue;
  delete st.errors;
  Object.assign(st, evalFields(evaluated));
  st.version = (prev?.version ?? 0) + 1;

  const added: OutboxEntry[] = [];
  let seq = 0;
  for (const t of transitions) {
    seq++;
    if (t.from === 'OK') {
      st.episodeStart = t.time;
      st.alertId = ctx.alertIdFor(t.time);
      delete st.firedAt;
      delete st.firedValue;
      delete st.notifiedAt;
      delete st.acknowledged;
      delete st.ackBy;
    }
    if (t.to === 'FIRING' && t.from !== 'FIRING') {
      st.firedAt = t.time;
      if (t.value !== undefined) st.firedValue = t.value;
      st.notifiedAt = ctx.now;
    }
    if (t.from === 'FIRING' && t.to === 'FIRING') st.notifiedAt = ctx.now;
    const code = codeOf(t);
    const alertId = st.alertId ?? ctx.alertIdFor(t.time);
    const event = buildEvent({
      kind: 'transition',
      code,
      eventId: `${alertId}.${st.version}.${seq}`,
      alertId,
      tenant: ctx.tenant,
      device: ctx.deviceId,
      rule: ctx.rule,
      from: t.from,
      to: t.to,
      reason: t.reason,
      time: t.time,
      detectedAt: ctx.now,
      value: t.value,
      errors: t.errors,
    });
    // A `changed` rule fires and resolves at one instant: tell people once (the FIRING), not twice.
    const notify = isNotifiable(code) && !(t.reason === 'changed' && t.to === 'OK');
    const entry: OutboxEntry = { event, notify };
    if (t.to === 'FIRING') {
      entry.record = recordOf({ ...st, status: 'FIRING' }, ctx, undefined, t.errors);
    } else if (t.to === 'OK' && t.from === 'FIRING') {
      entry.record = recordOf(st, ctx, { at: t.time, reason: t.reason, value: t.value }, t.errors);
    }
    added.push(entry);
    if (t.to === 'OK') {
      delete st.alertId;
      delete st.episodeStart;
      delete st.firedAt;
      delete st.firedValue;
      delete st.notifiedAt;
      delete st.acknowledged;
      delete st.ackBy;
    }
  }
  if (added.length > 0) st.outbox = [...(prev?.outbox ?? []), ...added].slice(-OUTBOX_LIMIT);
  const due = dueAtOf(st, ctx.rule, ctx.now);
  if (due === undefined) delete st.dueAt;
  else st.dueAt = due;
  return { state: st, added };
}

/** A re-notification event for a firing episode. */
export function renotifyEvent(st: AlertStateRecord, rule: AlertRule, now: number): OutboxEntry {
  const alertId = st.alertId as string;
  return {
    event: buildEvent({
      kind: 'renotify',
      code: 'ALERT_RENOTIFY',
      eventId: `${alertId}.r${now}`,
      alertId,
      tenant: st.tenant,
      device: st.deviceId,
      rule,
      from: 'FIRING',
      to: 'FIRING',
      time: st.firedAt ?? now,
      detectedAt: now,
      value: st.lastValue ?? st.firedValue,
      ...(errorCount(st.errors) > 0 ? { errors: describeErrors(st.errors) } : {}),
    }),
    notify: true,
  };
}
