/**
 * Alert ports: rules, per-(rule, device) evaluation state, alert history and notifications. DynamoDB +
 * SNS on AWS, the embedded database + the local log / webhook in the local stack.
 *
 * The state store is the concurrency guard: every write is conditional on the version read, so two
 * evaluators that saw the same state cannot both apply a transition (one write fails with a conflict,
 * re-reads, and finds the transition already done).
 */
import type { AlertStateRecord } from '../core/alerts/episode.js';
import type { AlertEvent, AlertRecord } from '../core/alerts/records.js';
import type { AlertRule, ConditionOp, Severity } from '../core/alerts/rule.js';

/** Alert rule persistence (stored rules only; built-in defaults live in the core). */
export interface AlertRuleStore {
  /** A tenant's stored rules (including stored overrides of built-in rules). */
  list(tenant: string): Promise<AlertRule[]>;
  /** One rule; another tenant's rule is `undefined`. */
  get(tenant: string, id: string): Promise<AlertRule | undefined>;
  /**
   * Write a rule if the stored version equals `expectedVersion` (absent counts as version 0; the
   * built-in defaults have version 0, so their first override is a create). `rule.version` must be
   * `expectedVersion + 1`. Returns false on a version conflict.
   */
  put(rule: AlertRule, expectedVersion: number): Promise<boolean>;
  /** Delete a rule; false when it did not exist in that tenant. */
  delete(tenant: string, id: string): Promise<boolean>;
  /** Enabled rules of every tenant whose condition is one of `ops` (the sweep's work list). */
  listEnabledByOp(ops: readonly ConditionOp[]): Promise<AlertRule[]>;
}

/** The stored state of one (rule, device): evaluation state, episode bookkeeping and outbox. */
export type StoredAlertState = AlertStateRecord;

/** A page of states. */
export interface AlertStatePage {
  items: StoredAlertState[];
  next?: string;
}

/** Per-(rule, device) state persistence with conditional writes. */
export interface AlertStateStore {
  /** Every state of one device (all rules): one read per message on the ingest path. */
  listForDevice(tenant: string, deviceId: string): Promise<StoredAlertState[]>;
  /** The states of one rule (all devices), paged. */
  listForRule(
    tenant: string,
    ruleId: string,
    opts: { limit: number; cursor?: string },
  ): Promise<AlertStatePage>;
  /** One state. */
  get(tenant: string, ruleId: string, deviceId: string): Promise<StoredAlertState | undefined>;
  /**
   * Write `state` only if the stored version equals `expectedVersion` (0 = must not exist).
   * `state.version` must be `expectedVersion + 1`. Returns false on a conflict (nothing written).
   */
  put(state: StoredAlertState, expectedVersion: number): Promise<boolean>;
  /** Delete a state (rule deleted). */
  delete(tenant: string, ruleId: string, deviceId: string): Promise<void>;
  /** States of any tenant with `dueAt <= now`, oldest first, at most `limit`. */
  listDue(now: number, limit: number): Promise<StoredAlertState[]>;
}

/** Filters of {@link AlertHistory.list}. */
export interface AlertQuery {
  /** `active` = FIRING, `resolved`, or both. @default 'all' */
  status?: 'active' | 'resolved' | 'all';
  deviceId?: string;
  ruleId?: string;
  severity?: Severity;
  /** Episodes that started at or after this event time, epoch ms. */
  from?: number;
  /** Episodes that started before this event time, epoch ms. */
  to?: number;
  limit: number;
  cursor?: string;
}

/** Alert history: one record per episode that fired. */
export interface AlertHistory {
  /**
   * Create or update an alert. Never changes `acknowledged` (only {@link AlertHistory.acknowledge}
   * does), so an evaluator's update cannot undo a concurrent acknowledgement.
   */
  save(record: AlertRecord): Promise<void>;
  /** One alert; another tenant's alert is `undefined`. */
  get(tenant: string, id: string): Promise<AlertRecord | undefined>;
  /** A tenant's alerts, newest episode first. */
  list(tenant: string, q: AlertQuery): Promise<{ items: AlertRecord[]; next?: string }>;
  /**
   * Mark an alert acknowledged (first acknowledgement wins; later ones change nothing). Returns the
   * record after the call, or `undefined` when the alert does not exist in that tenant.
   */
  acknowledge(tenant: string, id: string, by: string, at: string): Promise<AlertRecord | undefined>;
}

/** Delivers alert notifications to people (SNS topic per tenant on AWS, a webhook / the log locally). */
export interface AlertNotifier {
  /** Deliver the events of one tenant (already filtered to notifiable ones). */
  notify(tenant: string, events: readonly AlertEvent[]): Promise<void>;
}

/** Subscription protocols users may choose. */
export const SUBSCRIPTION_PROTOCOLS = ['email', 'https'] as const;
/** A subscription protocol. */
export type SubscriptionProtocol = (typeof SUBSCRIPTION_PROTOCOLS)[number];

/** A subscription to a tenant's alert notifications. */
export interface AlertSubscription {
  id: string;
  protocol: SubscriptionProtocol;
  endpoint: string;
  /** Only alerts of these severities (all when absent). */
  severities?: Severity[];
  /** False until the endpoint confirmed (SNS e-mail / HTTPS confirmation). */
  confirmed: boolean;
}

/** Management of a tenant's notification subscriptions (SNS subscriptions on AWS). */
export interface AlertSubscriptions {
  list(tenant: string): Promise<AlertSubscription[]>;
  subscribe(
    tenant: string,
    sub: { protocol: SubscriptionProtocol; endpoint: string; severities?: Severity[] },
  ): Promise<AlertSubscription>;
  /** False when the subscription does not exist in that tenant. */
  unsubscribe(tenant: string, id: string): Promise<boolean>;
}
