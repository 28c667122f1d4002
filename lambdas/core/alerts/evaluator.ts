/**
 * The alert state machine, by event time. One state per (rule, device):
 *
 * ```
 *   OK ──condition──▶ PENDING ──held for `forMs`──▶ FIRING ──clear condition──▶ OK
 *    ▲                   │ condition ended                                       │
 *    └───────────────────┴───────────────────────────────────────────────────────┘
 * ```
 *
 * Rules that keep event time honest:
 * - the state carries a watermark (`lastEventTime`, the newest event time applied); a point older than
 *   the watermark is late and changes nothing, so late or out-of-order data never moves a state
 *   backwards in time and a point from the far past never re-opens a closed alert. Points at the same
 *   time as the watermark are applied (duplicates are harmless: applying a point twice is a no-op);
 * - event times in the future are clamped to `ctx.now` (the receive time), so one device with a fast
 *   clock cannot push its watermark ahead of real time;
 * - PENDING becomes FIRING only on a point at or after `since + forMs` that still meets the condition
 *   (evidence, not assumption); any point that does not meet it cancels the PENDING state;
 * - a FIRING alert resolves only when the clear condition holds; values between the trigger and the
 *   clear threshold (the hysteresis band) change nothing.
 *
 * Pure: no clock, no I/O. Functions return the same state object when nothing changed, so callers can
 * skip the write by identity.
 */
import type { FieldValue } from '../model/point.js';
import { type Classifier, compileClassifier, isValueCondition, Verdict } from './conditions.js';
import {
  applyDeviceErrors,
  type DeviceErrors,
  describeErrors,
  errorCount,
  hasErrorInfo,
} from './device-errors.js';
import { ANY_FIELD, type Condition, type ValueCondition } from './rule.js';

/** Alert states. */
export const ALERT_STATUSES = ['OK', 'PENDING', 'FIRING'] as const;
/** An alert state. */
export type AlertStatus = (typeof ALERT_STATUSES)[number];

/** Why a transition happened (stable strings; part of the event schema). */
export const TRANSITION_REASONS = [
  /** The condition holds (OK → PENDING, or OK → FIRING without a `for` duration). */
  'condition-met',
  /** The condition held for the `for` duration (PENDING → FIRING). */
  'held-for-duration',
  /** The condition stopped holding before the `for` duration (PENDING → OK). */
  'condition-ended',
  /** The clear condition holds (FIRING → OK). */
  'cleared',
  /** A `changed` rule saw a new value: it fires and resolves at the same instant. */
  'changed',
  /** No value within the stale duration (OK → FIRING). */
  'stale',
  /** A fresh value ended a stale alert (FIRING → OK). */
  'fresh-data',
  /** The device reports errors (OK → FIRING). */
  'device-error',
  /** The set of device errors changed while firing (FIRING → FIRING, a notification, not a state change). */
  'errors-changed',
  /** The device reports no more errors (FIRING → OK). */
  'errors-cleared',
  /** The rule was disabled, deleted or re-targeted (any → OK). */
  'rule-changed',
] as const;
/** A transition reason. */
export type TransitionReason = (typeof TRANSITION_REASONS)[number];

/** The per-(rule, device) evaluation state. */
export interface EvalState {
  status: AlertStatus;
  /** Event time the current status began (PENDING: the first point of the run that met the condition). */
  since: number;
  /** Watermark: the newest event time applied; absent before the first point. */
  lastEventTime?: number;
  /** The last value applied (`changed` compares against it; alerts show it). */
  lastValue?: FieldValue;
  /** Active device errors (device-error rules only). */
  errors?: Readonly<DeviceErrors>;
}

/** The state of a (rule, device) that has seen nothing yet. */
export const INITIAL_STATE: Readonly<EvalState> = Object.freeze({ status: 'OK', since: 0 });

/** One state change (or, for `errors-changed`, a notification while FIRING). */
export interface Transition {
  from: AlertStatus;
  to: AlertStatus;
  /** Event time of the transition, epoch ms. */
  time: number;
  reason: TransitionReason;
  /** The value that caused it, when one did. */
  value?: FieldValue;
  /** Active device errors after the transition (device-error rules). */
  errors?: string[];
}

/** The parts of a rule the evaluator needs. */
export interface EvalRule {
  field: string;
  condition: Condition;
  forMs: number;
  clear?: ValueCondition | undefined;
}

/** A rule prepared for evaluation (compile once, evaluate many). */
export interface CompiledRule {
  readonly kind: 'value' | 'changed' | 'stale' | 'device_error';
  readonly field: string;
  readonly forMs: number;
  /** Value rules: the classifier. */
  readonly classify: Classifier | undefined;
  /** Stale rules: the rule's own duration, when it sets one. */
  readonly staleAfterMs: number | undefined;
}

/** Compile a rule for evaluation. */
export function compileRule(rule: EvalRule): CompiledRule {
  const c = rule.condition;
  if (isValueCondition(c)) {
    return {
      kind: 'value',
      field: rule.field,
      forMs: rule.forMs,
      classify: compileClassifier(c, rule.clear),
      staleAfterMs: undefined,
    };
  }
  return {
    kind: c.op,
    field: rule.field,
    forMs: 0,
    classify: undefined,
    staleAfterMs: c.op === 'stale' ? c.afterMs : undefined,
  };
}

/** What the evaluator needs from outside the point. */
export interface StepContext {
  /** Receive time (epoch ms): later event times are clamped to it. Use `Infinity` for no clamping. */
  now: number;
  /** Stale rules without their own duration: the channel contract's timeout for the field, if any. */
  staleAfterMs?: number | undefined;
}

/**
 * True when `fields` concern the rule, i.e. evaluating them could change its state: the watched field
 * is present (any field for `*`), or, for device-error rules, the point carries error information or
 * the rule is active (a channel value without an error ends that channel's error).
 */
export function concerns(
  rule: CompiledRule,
  state: EvalState,
  fields: Readonly<Record<string, FieldValue>>,
): boolean {
  if (rule.kind === 'device_error') return state.status !== 'OK' || hasErrorInfo(fields);
  if (rule.field === ANY_FIELD) return true;
  return fields[rule.field] !== undefined;
}

/**
 * Apply one point (`time`, `fields`) to a state. Transitions are appended to `out`; the new state is
 * returned (the same object when nothing changed, including when the point is late or does not
 * concern the rule).
 */
export function stepPoint(
  rule: CompiledRule,
  s: EvalState,
  time: number,
  fields: Readonly<Record<string, FieldValue>>,
  ctx: StepContext,
  out: Transition[],
): EvalState {
  const t = Math.min(time, ctx.now);
  if (s.lastEventTime !== undefined && t < s.lastEventTime) return s;
  switch (rule.kind) {
    case 'value': {
      const v = fields[rule.field];
      if (v === undefined) return s;
      return stepValue(rule, s, t, v, out);
    }
    case 'changed': {
      const v = fields[rule.field];
      if (v === undefined) return s;
      return stepChanged(s, t, v, out);
    }
    case 'stale': {
      if (rule.field !== ANY_FIELD && fields[rule.field] === undefined) return s;
      return stepFresh(rule, s, t, rule.field === ANY_FIELD ? undefined : fields[rule.field], ctx, out);
    }
    case 'device_error':
      return stepDeviceErrors(s, t, fields, out);
  }
}

function stepValue(rule: CompiledRule, s: EvalState, t: number, v: FieldValue, out: Transition[]): EvalState {
  const verdict = (rule.classify as Classifier)(v);
  if (verdict === Verdict.Skip) return s;
  switch (s.status) {
    case 'OK':
      if (verdict === Verdict.Trigger) {
        const to = rule.forMs > 0 ? 'PENDING' : 'FIRING';
        out.push({ from: 'OK', to, time: t, reason: 'condition-met', value: v });
        return { status: to, since: t, lastEventTime: t, lastValue: v };
      }
      break;
    case 'PENDING':
      if (verdict !== Verdict.Trigger) {
        out.push({ from: 'PENDING', to: 'OK', time: t, reason: 'condition-ended', value: v });
        return { status: 'OK', since: t, lastEventTime: t, lastValue: v };
      }
      if (t - s.since >= rule.forMs) {
        out.push({ from: 'PENDING', to: 'FIRING', time: t, reason: 'held-for-duration', value: v });
        return { status: 'FIRING', since: t, lastEventTime: t, lastValue: v };
      }
      break;
    case 'FIRING':
      if (verdict === Verdict.Clear) {
        out.push({ from: 'FIRING', to: 'OK', time: t, reason: 'cleared', value: v });
        return { status: 'OK', since: t, lastEventTime: t, lastValue: v };
      }
      break;
  }
  return advance(s, t, v);
}

function stepChanged(s: EvalState, t: number, v: FieldValue, out: Transition[]): EvalState {
  // The first value is a baseline, not a change.
  if (s.lastValue !== undefined && s.lastValue !== v) {
    out.push({ from: 'OK', to: 'FIRING', time: t, reason: 'changed', value: v });
    out.push({ from: 'FIRING', to: 'OK', time: t, reason: 'changed', value: v });
    return { status: 'OK', since: t, lastEventTime: t, lastValue: v };
  }
  return advance(s, t, v);
}

function stepFresh(
  rule: CompiledRule,
  s: EvalState,
  t: number,
  v: FieldValue | undefined,
  ctx: StepContext,
  out: Transition[],
): EvalState {
  const after = rule.staleAfterMs ?? ctx.staleAfterMs;
  // A stale alert ends only with data that is itself fresh: a back-filled old value does not end it.
  if (s.status === 'FIRING' && (after === undefined || t + after > ctx.now)) {
    out.push({
      from: 'FIRING',
      to: 'OK',
      time: t,
      reason: 'fresh-data',
      ...(v === undefined ? {} : { value: v }),
    });
    return v === undefined
      ? { status: 'OK', since: t, lastEventTime: t }
      : { status: 'OK', since: t, lastEventTime: t, lastValue: v };
  }
  return advance(s, t, v);
}

function stepDeviceErrors(
  s: EvalState,
  t: number,
  fields: Readonly<Record<string, FieldValue>>,
  out: Transition[],
): EvalState {
  const prev = s.errors;
  const errors = applyDeviceErrors(prev, fields);
  if (errors === prev || (prev === undefined && errorCount(errors) === 0)) {
    return s.lastEventTime === t ? s : { ...s, lastEventTime: t };
  }
  const n = errorCount(errors);
  const next: EvalState = { status: s.status, since: s.since, lastEventTime: t };
  if (n > 0) next.errors = errors;
  if (s.status === 'OK' && n > 0) {
    out.push({ from: 'OK', to: 'FIRING', time: t, reason: 'device-error', errors: describeErrors(errors) });
    next.status = 'FIRING';
    next.since = t;
  } else if (s.status !== 'OK' && n === 0) {
    out.push({ from: s.status, to: 'OK', time: t, reason: 'errors-cleared', errors: [] });
    next.status = 'OK';
    next.since = t;
  } else if (s.status === 'FIRING') {
    out.push({
      from: 'FIRING',
      to: 'FIRING',
      time: t,
      reason: 'errors-changed',
      errors: describeErrors(errors),
    });
  }
  return next;
}

/** Move the watermark (and last value) forward without a transition. */
function advance(s: EvalState, t: number, v: FieldValue | undefined): EvalState {
  if (s.lastEventTime === t && (v === undefined || s.lastValue === v)) return s;
  const next: EvalState = { ...s, lastEventTime: t };
  if (v !== undefined) next.lastValue = v;
  return next;
}

/**
 * The scheduled check of a stale rule: fires when no value arrived within `afterMs` of the watermark.
 * The transition carries the deadline (watermark + afterMs) as its event time, so the alert says when
 * the silence began to count, whatever the sweep's own timing. A state that never saw a value has no
 * deadline and never goes stale (for a whole device, use field `*` with the device's last-seen time as
 * the watermark).
 */
export function sweepStale(s: EvalState, now: number, afterMs: number, out: Transition[]): EvalState {
  if (s.status !== 'OK' || s.lastEventTime === undefined) return s;
  const deadline = s.lastEventTime + afterMs;
  if (deadline > now) return s;
  out.push({
    from: 'OK',
    to: 'FIRING',
    time: deadline,
    reason: 'stale',
    ...(s.lastValue === undefined ? {} : { value: s.lastValue }),
  });
  return { ...s, status: 'FIRING', since: deadline };
}

/** The stale duration that applies to a rule on one device, or undefined when none is known. */
export function staleAfterMs(rule: CompiledRule, contractTimeoutMs: number | undefined): number | undefined {
  return rule.staleAfterMs ?? contractTimeoutMs;
}

/** Force a state back to OK (rule disabled, deleted or re-targeted). */
export function resetState(s: EvalState, time: number, out: Transition[]): EvalState {
  if (s.status === 'OK') return s;
  out.push({ from: s.status, to: 'OK', time, reason: 'rule-changed' });
  const next: EvalState = { status: 'OK', since: time };
  if (s.lastEventTime !== undefined) next.lastEventTime = s.lastEventTime;
  if (s.lastValue !== undefined) next.lastValue = s.lastValue;
  return next;
}
