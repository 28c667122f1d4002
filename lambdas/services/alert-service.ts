/**
 * Alerting as a function of the ports: evaluation of stored points on the ingest path, the scheduled
 * sweep (stale data, re-notification, outbox redelivery), rule management and alert history for the
 * API. No AWS imports; the same code runs in the Lambdas and in the local stack.
 *
 * Ingest path (`onPoints`), per device of a message:
 * 1. the tenant's enabled rules (cached briefly) narrowed to those in the device's scope whose field the
 *    points carry (plus the device-error rule);
 * 2. one read of every state of the device; each rule evaluates the message's points in event-time
 *    order from its state (core/alerts/evaluator.ts);
 * 3. a changed state is written conditionally on the version read; on a conflict (a concurrent
 *    evaluator got there first) the state is re-read and the points re-evaluated, so a transition is
 *    applied exactly once;
 * 4. the transition's events and alert records travel in the state's outbox: written with the state,
 *    then delivered (history, event bus, notifier), then removed. If delivery fails the sweep retries.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  BUILTIN_DEVICE_ERROR_ID,
  BUILTIN_EDITABLE,
  builtinRules,
  withBuiltins,
} from '../core/alerts/builtin.js';
import { type ContractRuleOptions, ruleFromContract } from '../core/alerts/contract.js';
import { hasErrorInfo } from '../core/alerts/device-errors.js';
import {
  type AlertStateRecord,
  applyTransitions,
  dueAtOf,
  type OutboxEntry,
  renotifyEvent,
} from '../core/alerts/episode.js';
import {
  concerns,
  type EvalState,
  INITIAL_STATE,
  resetState,
  stepPoint,
  sweepStale,
  type Transition,
} from '../core/alerts/evaluator.js';
import { type AlertEvent, type AlertRecord, iso } from '../core/alerts/records.js';
import {
  type AlertRule,
  ANY_FIELD,
  applyRulePatch,
  RuleInput,
  type RuleInputIn,
  RulePatch,
  ruleInputOf,
} from '../core/alerts/rule.js';
import {
  type DeviceInfo,
  inScope,
  type RuleEntry,
  RuleSet,
  staleDurationFor,
} from '../core/alerts/rule-set.js';
import { FleetwireError } from '../core/errors.js';
import type { Point } from '../core/model/point.js';
import type {
  AlertHistory,
  AlertNotifier,
  AlertQuery,
  AlertRuleStore,
  AlertStateStore,
} from '../ports/alerts.js';
import type { DeviceRecord, DeviceRegistry } from '../ports/device-registry.js';
import type { EventSink, SystemEvent } from '../ports/event-sink.js';

/** The minimal logger the service needs (Powertools Logger fits). */
export interface AlertLogger {
  warn(message: string, extra: Record<string, unknown>): void;
}

/** Tunables, each with a default that suits production. */
export interface AlertServiceOptions {
  /** How long a tenant's rules are cached per process (other processes see changes after this). @default 30000 */
  ruleCacheTtlMs?: number;
  /** How long a device's tags and channel contract are cached per process. @default 60000 */
  deviceCacheTtlMs?: number;
  /** Attempts of a conditional state write before giving up with ALERT_STATE_CONFLICT. @default 8 */
  maxWriteAttempts?: number;
  /**
   * Whole-device (`*`) stale rules use the registry's `lastSeen`, which the ingest path writes at most
   * once per this interval; the deadline is pushed back by it so a device is never called silent early.
   * @default 60000 (the ingest service's default touch interval)
   */
  lastSeenSlackMs?: number;
  /** Most rules a tenant may have (built-ins included). @default 500 */
  maxRulesPerTenant?: number;
  /** Most due states one sweep handles (the rest wait for the next sweep). @default 1000 */
  sweepDueLimit?: number;
  /**
   * How long a device seen with no open alert skips the state read for messages only the device-error
   * and `*` stale rules could concern (no error information in them). 0 disables the shortcut.
   * @default 15000
   */
  quietCacheTtlMs?: number;
}

/** Everything the alert service depends on. */
export interface AlertServiceDeps {
  readonly rules: AlertRuleStore;
  readonly states: AlertStateStore;
  readonly history: AlertHistory;
  /** The system event bus (EventBridge on AWS, the local log locally). */
  readonly events: EventSink;
  /** People-facing notifications (SNS per tenant, local webhook). */
  readonly notifier?: AlertNotifier;
  /** Device tags (scopes), channel contracts (stale defaults) and last-seen times. */
  readonly registry: Pick<DeviceRegistry, 'get' | 'list'>;
  /** Wall clock, epoch ms. @default Date.now */
  readonly clock?: () => number;
  readonly log?: AlertLogger;
  readonly options?: AlertServiceOptions;
}

/** What one sweep did. */
export interface SweepReport {
  /** Stale (rule, device) pairs checked. */
  staleChecked: number;
  /** Stale alerts raised. */
  staleFired: number;
  /** Due states handled (outbox redelivery or re-notification). */
  dueHandled: number;
  /** Re-notifications sent. */
  renotified: number;
  /** Failures (logged; the work is retried by the next sweep). */
  errors: number;
}

/** Options of {@link AlertService.createRuleFromContract}. */
export interface ContractRuleRequest {
  /** The device whose channel contract supplies min/max or timeout. */
  deviceId: string;
  channel: string;
  kind: ContractRuleOptions['kind'];
  /** @default the device itself */
  scope?: ContractRuleOptions['scope'];
  severity?: ContractRuleOptions['severity'];
  hysteresis?: number;
  name?: string;
}

interface CachedRules {
  at: number;
  all: AlertRule[];
  set: RuleSet;
}

interface CachedDevice {
  at: number;
  info: DeviceInfo;
}

const DEVICE_CACHE_MAX = 10_000;

/** The alert service. */
export class AlertService {
  private readonly now: () => number;
  private readonly opts: Required<AlertServiceOptions>;
  private readonly ruleCache = new Map<string, CachedRules>();
  private readonly deviceCache = new Map<string, CachedDevice>();
  /** Devices whose states were all OK at the last read, until when (see evaluateDevice). */
  private readonly quiet = new Map<string, number>();

  constructor(private readonly deps: AlertServiceDeps) {
    this.now = deps.clock ?? Date.now;
    this.opts = {
      ruleCacheTtlMs: 30_000,
      deviceCacheTtlMs: 60_000,
      maxWriteAttempts: 8,
      lastSeenSlackMs: 60_000,
      maxRulesPerTenant: 500,
      sweepDueLimit: 1000,
      quietCacheTtlMs: 15_000,
      ...(deps.options ?? {}),
    };
  }

  // ---------------------------------------------------------------- ingest path

  /**
   * Evaluate stored points of one tenant. Points are grouped per device and applied in event-time
   * order. Throws only when a state write keeps conflicting or a store fails; the ingest service
   * logs that (the points themselves are already stored).
   */
  readonly onPoints = async (tenant: string, points: readonly Point[]): Promise<void> => {
    if (points.length === 0) return;
    const rules = await this.ruleSetFor(tenant);
    if (rules.set.size === 0) return;
    const byDevice = new Map<string, Point[]>();
    for (const p of points) {
      const list = byDevice.get(p.device);
      if (list) list.push(p);
      else byDevice.set(p.device, [p]);
    }
    const failures: unknown[] = [];
    for (const [deviceId, devicePoints] of byDevice) {
      try {
        await this.evaluateDevice(tenant, rules.set, deviceId, devicePoints);
      } catch (e) {
        failures.push(e);
      }
    }
    if (failures.length > 0) throw failures[0];
  };

  private async evaluateDevice(
    tenant: string,
    set: RuleSet,
    deviceId: string,
    points: Point[],
  ): Promise<void> {
    const device = await this.deviceInfo(tenant, deviceId);
    const candidates = set.candidates(
      device,
      points.map((p) => p.fields),
    );
    if (candidates.length === 0) return;
    const now = this.now();
    const quietKey = `${tenant}\u0000${deviceId}`;
    // Rules evaluated whatever the fields (device errors, `*` stale) matter for a point without error
    // information only while their alert is open. A device whose states were all OK at a recent read
    // skips the read for such messages: this saves one read per message for devices that never report
    // errors, at the price of ending an alert another process opened up to `quietCacheTtlMs` late.
    const onlyIdle = candidates.every(
      (e) =>
        (e.compiled.kind === 'device_error' || e.rule.field === ANY_FIELD) &&
        !points.some((p) => hasErrorInfo(p.fields)),
    );
    if (onlyIdle && (this.quiet.get(quietKey) ?? 0) > now) return;
    // Stable sort: equal times keep arrival order (the reference model does the same).
    const sorted = points.length > 1 ? [...points].sort((a, b) => a.time - b.time) : points;
    const stored = await this.deps.states.listForDevice(tenant, deviceId);
    const byRule = new Map(stored.map((s) => [s.ruleId, s]));
    const status = new Map(stored.map((s) => [s.ruleId, s.status]));
    for (const entry of candidates) {
      const wholeDevice = entry.rule.field === ANY_FIELD;
      const evolve = (base: EvalState, out: Transition[]): EvalState => {
        const ctx = { now, staleAfterMs: staleDurationFor(entry, device) };
        // Whole-device stale rules are about messages arriving, so they go by receive time, and keep no
        // per-point watermark (the registry's lastSeen is one): a message only ends a firing alert.
        if (wholeDevice)
          return base.status === 'FIRING' ? stepPoint(entry.compiled, base, now, {}, ctx, out) : base;
        let s = base;
        for (const p of sorted) {
          if (concerns(entry.compiled, s, p.fields))
            s = stepPoint(entry.compiled, s, p.time, p.fields, ctx, out);
        }
        return s;
      };
      const after = await this.commit(tenant, entry.rule, deviceId, byRule.get(entry.rule.id), evolve, now);
      if (after) status.set(entry.rule.id, after.status);
    }
    if ([...status.values()].every((st) => st === 'OK')) {
      if (this.quiet.size >= DEVICE_CACHE_MAX) this.quiet.clear();
      this.quiet.set(quietKey, now + this.opts.quietCacheTtlMs);
    } else this.quiet.delete(quietKey);
  }

  /**
   * Apply `evolve` to the state of (rule, device) and write the result conditionally; on a version
   * conflict re-read and re-apply. Delivers the outbox after a successful write.
   */
  private async commit(
    tenant: string,
    rule: AlertRule,
    deviceId: string,
    current: AlertStateRecord | undefined,
    evolve: (base: EvalState, out: Transition[]) => EvalState,
    now: number,
  ): Promise<AlertStateRecord | undefined> {
    let cur = current;
    for (let attempt = 0; attempt < this.opts.maxWriteAttempts; attempt++) {
      const base: EvalState = cur ?? INITIAL_STATE;
      const out: Transition[] = [];
      const evaluated = evolve(base, out);
      if (evaluated === base) return cur;
      const { state, added } = applyTransitions(cur, evaluated, out, {
        rule,
        tenant,
        deviceId,
        now,
        alertIdFor: alertIdFor(tenant, rule.id, deviceId),
      });
      if (await this.deps.states.put(state, cur?.version ?? 0)) {
        if (state.status !== 'OK') this.quiet.delete(`${tenant}\u0000${deviceId}`);
        // Deliver only what this write added: entries another writer left are theirs (or the sweep's)
        // to deliver, so the normal path delivers every event exactly once.
        return added.length > 0 ? this.flush(state, rule, added) : state;
      }
      cur = await this.deps.states.get(tenant, rule.id, deviceId);
    }
    throw new FleetwireError('ALERT_STATE_CONFLICT', 'alert state kept changing concurrently', {
      rule: rule.id,
      device: deviceId,
    });
  }

  /**
   * Deliver a state's outbox (or only the given entries of it), then remove what was delivered
   * (conditionally; entries added meanwhile by another writer stay). A failed delivery leaves the
   * outbox for the sweep.
   */
  private async flush(
    state: AlertStateRecord,
    rule: AlertRule | undefined,
    only?: readonly OutboxEntry[],
  ): Promise<AlertStateRecord> {
    const entries = only ?? state.outbox ?? [];
    try {
      await this.deliver(state.tenant, entries);
    } catch (e) {
      this.deps.log?.warn('alert delivery failed; the sweep will retry', {
        tenant: state.tenant,
        rule: state.ruleId,
        device: state.deviceId,
        error: (e as Error).message,
      });
      return state;
    }
    const delivered = new Set(entries.map((o) => o.event.eventId));
    let cur: AlertStateRecord | undefined = state;
    for (let attempt = 0; attempt < this.opts.maxWriteAttempts && cur; attempt++) {
      const remaining = (cur.outbox ?? []).filter((o) => !delivered.has(o.event.eventId));
      if (remaining.length === (cur.outbox ?? []).length) return cur;
      const next: AlertStateRecord = { ...cur, version: cur.version + 1 };
      if (remaining.length > 0) next.outbox = remaining;
      else delete next.outbox;
      const due = dueAtOf(next, rule, this.now());
      if (due === undefined) delete next.dueAt;
      else next.dueAt = due;
      if (await this.deps.states.put(next, cur.version)) return next;
      cur = await this.deps.states.get(state.tenant, state.ruleId, state.deviceId);
    }
    // Still listed: the sweep will deliver again with the same event ids, which consumers de-duplicate.
    return cur ?? state;
  }

  /** Save records, publish events, notify people. Throws on the first failure. */
  private async deliver(tenant: string, entries: readonly OutboxEntry[]): Promise<void> {
    for (const e of entries) if (e.record) await this.deps.history.save(e.record);
    await this.deps.events.publish(entries.map((e) => toSystemEvent(e.event)));
    const people = entries.filter((e) => e.notify).map((e) => e.event);
    if (people.length > 0 && this.deps.notifier) await this.deps.notifier.notify(tenant, people);
  }

  // ---------------------------------------------------------------- sweep

  /**
   * The scheduled sweep (every minute): raise stale alerts whose deadline passed, redeliver outboxes,
   * send due re-notifications. Failures are counted and logged, never thrown: the next sweep retries.
   */
  async sweep(): Promise<SweepReport> {
    const report: SweepReport = { staleChecked: 0, staleFired: 0, dueHandled: 0, renotified: 0, errors: 0 };
    await this.sweepStale(report);
    await this.sweepDue(report);
    return report;
  }

  private async sweepStale(report: SweepReport): Promise<void> {
    let staleRules: AlertRule[];
    try {
      staleRules = await this.deps.rules.listEnabledByOp(['stale']);
    } catch (e) {
      report.errors++;
      this.deps.log?.warn('sweep: listing stale rules failed', { error: (e as Error).message });
      return;
    }
    const byTenant = new Map<string, AlertRule[]>();
    for (const r of staleRules) {
      const list = byTenant.get(r.tenant);
      if (list) list.push(r);
      else byTenant.set(r.tenant, [r]);
    }
    for (const [tenant, rules] of byTenant) {
      try {
        const devices = await this.devicesOf(tenant, rules);
        for (const rule of new RuleSet(rules).staleRules())
          await this.sweepStaleRule(tenant, rule, devices, report);
      } catch (e) {
        report.errors++;
        this.deps.log?.warn('sweep: stale evaluation failed', { tenant, error: (e as Error).message });
      }
    }
  }

  /** The devices the tenant's stale rules need: one lookup for device scopes, a listing otherwise. */
  private async devicesOf(tenant: string, rules: readonly AlertRule[]): Promise<DeviceRecord[]> {
    if (rules.every((r) => r.scope.kind === 'device')) {
      const ids = [...new Set(rules.map((r) => (r.scope.kind === 'device' ? r.scope.deviceId : '')))];
      const found = await Promise.all(ids.map((id) => this.deps.registry.get(tenant, id)));
      return found.filter((d): d is DeviceRecord => d !== undefined);
    }
    const out: DeviceRecord[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.deps.registry.list(tenant, { limit: 100, ...(cursor ? { cursor } : {}) });
      out.push(...page.items);
      cursor = page.next;
    } while (cursor);
    return out;
  }

  private async sweepStaleRule(
    tenant: string,
    entry: RuleEntry,
    devices: readonly DeviceRecord[],
    report: SweepReport,
  ): Promise<void> {
    const rule = entry.rule;
    const states = new Map<string, AlertStateRecord>();
    let cursor: string | undefined;
    do {
      const page = await this.deps.states.listForRule(tenant, rule.id, {
        limit: 500,
        ...(cursor ? { cursor } : {}),
      });
      for (const s of page.items) states.set(s.deviceId, s);
      cursor = page.next;
    } while (cursor);
    const now = this.now();
    for (const d of devices) {
      if (d.status !== 'active') continue;
      const info: DeviceInfo = {
        deviceId: d.deviceId,
        tags: d.tags ?? {},
        channelContract: d.channelContract,
      };
      if (!inScope(rule.scope, info)) continue;
      const afterMs = staleDurationFor(entry, info);
      if (afterMs === undefined) continue;
      report.staleChecked++;
      const current = states.get(d.deviceId);
      const evolve = (base: EvalState, out: Transition[]): EvalState => {
        let s = base;
        if (rule.field === ANY_FIELD && d.lastSeen !== undefined) {
          // Registry lastSeen is receive time written at most once per slack interval: push it back so
          // the device is never called silent before it really is.
          const seen = d.lastSeen + this.opts.lastSeenSlackMs;
          if (s.lastEventTime === undefined || seen > s.lastEventTime) s = { ...s, lastEventTime: seen };
        }
        const next = sweepStale(s, now, afterMs, out);
        return next === s ? base : next;
      };
      try {
        const before = current?.status;
        const after = await this.commit(tenant, rule, d.deviceId, current, evolve, now);
        if (before !== 'FIRING' && after?.status === 'FIRING') report.staleFired++;
      } catch (e) {
        report.errors++;
        this.deps.log?.warn('sweep: stale commit failed', {
          tenant,
          rule: rule.id,
          device: d.deviceId,
          error: (e as Error).message,
        });
      }
    }
  }

  private async sweepDue(report: SweepReport): Promise<void> {
    let due: AlertStateRecord[];
    try {
      due = await this.deps.states.listDue(this.now(), this.opts.sweepDueLimit);
    } catch (e) {
      report.errors++;
      this.deps.log?.warn('sweep: listing due states failed', { error: (e as Error).message });
      return;
    }
    for (const st of due) {
      report.dueHandled++;
      try {
        await this.handleDue(st, report);
      } catch (e) {
        report.errors++;
        this.deps.log?.warn('sweep: due state failed', {
          tenant: st.tenant,
          rule: st.ruleId,
          device: st.deviceId,
          error: (e as Error).message,
        });
      }
    }
  }

  private async handleDue(st: AlertStateRecord, report: SweepReport): Promise<void> {
    const rule = (await this.ruleSetFor(st.tenant)).all.find((r) => r.id === st.ruleId);
    const enabled = rule?.enabled === true;
    if (st.outbox && st.outbox.length > 0) {
      const after = await this.flush(st, enabled ? rule : undefined);
      if (after.outbox && after.outbox.length > 0) throw new Error('outbox delivery failed again');
      st = after;
    }
    const now = this.now();
    if (!rule || !enabled) {
      // The rule went away while this alert was open: close it (and stop scheduling work).
      await this.commit(
        st.tenant,
        rule ?? orphanRule(st),
        st.deviceId,
        st,
        (b, out) => resetState(b, now, out),
        now,
      );
      const latest = await this.deps.states.get(st.tenant, st.ruleId, st.deviceId);
      if (latest?.dueAt !== undefined && !(latest.outbox && latest.outbox.length > 0)) {
        const next = { ...latest, version: latest.version + 1 };
        delete next.dueAt;
        await this.deps.states.put(next, latest.version);
      }
      return;
    }
    const dueAt = st.notifiedAt !== undefined ? st.notifiedAt + rule.renotifyMs : undefined;
    if (
      st.status === 'FIRING' &&
      !st.acknowledged &&
      rule.renotifyMs > 0 &&
      dueAt !== undefined &&
      dueAt <= now
    ) {
      const entry = renotifyEvent(st, rule, now);
      const next: AlertStateRecord = { ...st, version: st.version + 1, notifiedAt: now, outbox: [entry] };
      next.dueAt = now;
      if (await this.deps.states.put(next, st.version)) {
        report.renotified++;
        await this.flush(next, rule);
      }
      return;
    }
    // Nothing due any more (acknowledged, resolved, rule changed): reschedule or clear.
    const want = dueAtOf(st, rule, now);
    if (want !== st.dueAt) {
      const next: AlertStateRecord = { ...st, version: st.version + 1 };
      if (want === undefined) delete next.dueAt;
      else next.dueAt = want;
      await this.deps.states.put(next, st.version);
    }
  }

  // ---------------------------------------------------------------- rules

  /** A tenant's rules: stored ones plus the built-in defaults not overridden. */
  async listRules(tenant: string): Promise<AlertRule[]> {
    return withBuiltins(tenant, await this.deps.rules.list(tenant));
  }

  /** One rule (built-ins included); `undefined` when it does not exist in the tenant. */
  async getRule(tenant: string, id: string): Promise<AlertRule | undefined> {
    const stored = await this.deps.rules.get(tenant, id);
    if (stored) return stored;
    return builtinRules(tenant).find((r) => r.id === id);
  }

  /** Create a rule. Throws ALERT_RULE_INVALID (with zod issues in details) when the input is invalid. */
  async createRule(tenant: string, input: RuleInputIn | unknown): Promise<AlertRule> {
    const parsed = parseOrThrow(RuleInput, input);
    const existing = await this.listRules(tenant);
    if (existing.length >= this.opts.maxRulesPerTenant) {
      throw new FleetwireError(
        'ALERT_RULE_INVALID',
        `a tenant may have at most ${this.opts.maxRulesPerTenant} rules`,
        {
          limit: this.opts.maxRulesPerTenant,
        },
      );
    }
    const now = this.now();
    const rule: AlertRule = {
      ...parsed,
      id: newRuleId(),
      tenant,
      createdAt: now,
      updatedAt: now,
      version: 1,
    };
    if (!(await this.deps.rules.put(rule, 0))) {
      throw new FleetwireError('ALERT_STATE_CONFLICT', 'rule id collision; retry');
    }
    this.ruleCache.delete(tenant);
    return rule;
  }

  /** Replace a rule's definition (PUT). `undefined` when the rule does not exist in the tenant. */
  async replaceRule(
    tenant: string,
    id: string,
    input: RuleInputIn | unknown,
  ): Promise<AlertRule | undefined> {
    const parsed = parseOrThrow(RuleInput, input);
    return this.updateRule(tenant, id, () => parsed);
  }

  /** Change some fields of a rule (PATCH). `undefined` when the rule does not exist in the tenant. */
  async patchRule(tenant: string, id: string, patch: unknown): Promise<AlertRule | undefined> {
    const p = parseOrThrow(RulePatch, patch);
    return this.updateRule(tenant, id, (current) => {
      try {
        return applyRulePatch(ruleInputOf(current), p);
      } catch (e) {
        throw invalid(e);
      }
    });
  }

  private async updateRule(
    tenant: string,
    id: string,
    change: (current: AlertRule) => RuleInput,
  ): Promise<AlertRule | undefined> {
    for (let attempt = 0; attempt < this.opts.maxWriteAttempts; attempt++) {
      const current = await this.getRule(tenant, id);
      if (!current) return undefined;
      const input = change(current);
      if (current.builtin) checkBuiltinChange(current, input);
      const next: AlertRule = {
        ...input,
        id,
        tenant,
        createdAt: current.createdAt,
        updatedAt: this.now(),
        version: current.version + 1,
      };
      if (current.builtin) next.builtin = current.builtin;
      if (await this.deps.rules.put(next, current.version)) {
        this.ruleCache.delete(tenant);
        if (redefines(current, next)) await this.resetRuleStates(tenant, current, true);
        return next;
      }
    }
    throw new FleetwireError('ALERT_STATE_CONFLICT', 'rule kept changing concurrently; retry');
  }

  /**
   * Delete a rule: open alerts resolve (reason `rule-changed`) and its states go. Built-in rules cannot
   * be deleted (ALERT_RULE_INVALID): disable them instead. Returns false when the rule does not exist.
   */
  async deleteRule(tenant: string, id: string): Promise<boolean> {
    const current = await this.getRule(tenant, id);
    if (!current) return false;
    if (current.builtin) {
      throw new FleetwireError(
        'ALERT_RULE_INVALID',
        'built-in rules cannot be deleted; disable them instead',
        {
          rule: id,
        },
      );
    }
    const deleted = await this.deps.rules.delete(tenant, id);
    this.ruleCache.delete(tenant);
    if (deleted) await this.resetRuleStates(tenant, current, true);
    return deleted;
  }

  /**
   * One-click rules from a device's channel contract: `range` (alert outside min/max, with hysteresis)
   * or `stale` (alert when silent for the channel's timeout). `undefined` when the device does not exist.
   */
  async createRuleFromContract(tenant: string, req: ContractRuleRequest): Promise<AlertRule | undefined> {
    const device = await this.deps.registry.get(tenant, req.deviceId);
    if (!device) return undefined;
    const input = ruleFromContract(device.channelContract, {
      kind: req.kind,
      channel: req.channel,
      scope: req.scope ?? { kind: 'device', deviceId: req.deviceId },
      ...(req.severity ? { severity: req.severity } : {}),
      ...(req.hysteresis !== undefined ? { hysteresis: req.hysteresis } : {}),
      ...(req.name ? { name: req.name } : {}),
    });
    return this.createRule(tenant, input);
  }

  /** Resolve the open alerts of a rule and (when `drop`) forget its states. */
  private async resetRuleStates(tenant: string, rule: AlertRule, drop: boolean): Promise<void> {
    const now = this.now();
    let cursor: string | undefined;
    const all: AlertStateRecord[] = [];
    do {
      const page = await this.deps.states.listForRule(tenant, rule.id, {
        limit: 500,
        ...(cursor ? { cursor } : {}),
      });
      all.push(...page.items);
      cursor = page.next;
    } while (cursor);
    for (const st of all) {
      const after = await this.commit(
        tenant,
        rule,
        st.deviceId,
        st,
        (b, out) => resetState(b, now, out),
        now,
      );
      // Keep a state whose outbox is still undelivered: the sweep delivers it, then finds the rule gone.
      if (drop && !(after?.outbox && after.outbox.length > 0)) {
        await this.deps.states.delete(tenant, rule.id, st.deviceId);
      }
    }
  }

  // ---------------------------------------------------------------- alerts

  /** A tenant's alerts, newest first. */
  async listAlerts(tenant: string, q: AlertQuery): Promise<{ items: AlertRecord[]; next?: string }> {
    return this.deps.history.list(tenant, q);
  }

  /** One alert; `undefined` when it does not exist in the tenant. */
  async getAlert(tenant: string, id: string): Promise<AlertRecord | undefined> {
    return this.deps.history.get(tenant, id);
  }

  /**
   * Acknowledge an alert: recorded once (the first acknowledgement wins), stops re-notification of the
   * episode, and publishes an ALERT_ACKNOWLEDGED event. `undefined` when the alert does not exist.
   */
  async acknowledge(tenant: string, id: string, by: string): Promise<AlertRecord | undefined> {
    const before = await this.deps.history.get(tenant, id);
    if (!before) return undefined;
    if (before.acknowledged) return before;
    const now = this.now();
    const after = await this.deps.history.acknowledge(tenant, id, by, iso(now));
    if (!after || after.acknowledged?.by !== by || after.acknowledged.at !== iso(now)) return after;
    // Stop re-notifying the episode if it is still the current one.
    for (let attempt = 0; attempt < this.opts.maxWriteAttempts; attempt++) {
      const st = await this.deps.states.get(tenant, before.ruleId, before.device);
      if (!st || st.alertId !== id || st.acknowledged) break;
      const next: AlertStateRecord = { ...st, version: st.version + 1, acknowledged: true, ackBy: by };
      const rule = await this.getRule(tenant, before.ruleId);
      const due = dueAtOf(next, rule, now);
      if (due === undefined) delete next.dueAt;
      else next.dueAt = due;
      if (await this.deps.states.put(next, st.version)) break;
    }
    const rule = (await this.getRule(tenant, before.ruleId)) ?? orphanRule({ tenant, ruleId: before.ruleId });
    const event = ackEvent(after, rule, now);
    try {
      await this.deps.events.publish([toSystemEvent(event)]);
      if (this.deps.notifier) await this.deps.notifier.notify(tenant, [event]);
    } catch (e) {
      this.deps.log?.warn('acknowledgement event not delivered', {
        tenant,
        alert: id,
        error: (e as Error).message,
      });
    }
    return after;
  }

  // ---------------------------------------------------------------- caches

  private async ruleSetFor(tenant: string): Promise<CachedRules> {
    const now = this.now();
    const hit = this.ruleCache.get(tenant);
    if (hit && now - hit.at < this.opts.ruleCacheTtlMs) return hit;
    const all = withBuiltins(tenant, await this.deps.rules.list(tenant));
    const entry = { at: now, all, set: new RuleSet(all) };
    this.ruleCache.set(tenant, entry);
    return entry;
  }

  private async deviceInfo(tenant: string, deviceId: string): Promise<DeviceInfo> {
    const key = `${tenant}\u0000${deviceId}`;
    const now = this.now();
    const hit = this.deviceCache.get(key);
    if (hit && now - hit.at < this.opts.deviceCacheTtlMs) return hit.info;
    const rec = await this.deps.registry.get(tenant, deviceId);
    const info: DeviceInfo = { deviceId, tags: rec?.tags ?? {}, channelContract: rec?.channelContract };
    if (this.deviceCache.size >= DEVICE_CACHE_MAX) this.deviceCache.clear();
    this.deviceCache.set(key, { at: now, info });
    return info;
  }

  /** Forget cached rules and devices (tests, or after bulk changes). */
  clearCaches(): void {
    this.ruleCache.clear();
    this.deviceCache.clear();
    this.quiet.clear();
  }
}

// ------------------------------------------------------------------ helpers

/** The SystemEvent form of an alert event (EventBridge detail-type `alert.<kind>`). */
export function toSystemEvent(e: AlertEvent): SystemEvent {
  return {
    type: `alert.${e.kind}`,
    code: e.code,
    tenant: e.tenant,
    device: e.device,
    time: Date.parse(e.time),
    detail: e as unknown as Record<string, unknown>,
  };
}

/**
 * Deterministic alert ids: `al` + the episode start in base 36 (so ids sort by time) + a hash of tenant,
 * rule, device and start. Two evaluators that open the same episode compute the same id.
 */
export function alertIdFor(
  tenant: string,
  ruleId: string,
  deviceId: string,
): (episodeStart: number) => string {
  return (start) => {
    const h = createHash('sha256')
      .update(`${tenant}\u0000${ruleId}\u0000${deviceId}\u0000${start}`)
      .digest('hex');
    return `al${Math.max(0, Math.floor(start)).toString(36).padStart(9, '0')}${h.slice(0, 12)}`;
  };
}

/** A new random rule id. */
function newRuleId(): string {
  return `rul_${randomBytes(10).toString('hex')}`;
}

/** Validate with zod; failures become ALERT_RULE_INVALID with the issues in details. */
function parseOrThrow<T>(
  schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: unknown } },
  v: unknown,
): T {
  const r = schema.safeParse(v);
  if (r.success) return r.data;
  throw invalid(r.error);
}

function invalid(e: unknown): FleetwireError {
  if (e instanceof FleetwireError) return e;
  const issues = (e as { issues?: { path: PropertyKey[]; message: string }[] }).issues;
  const list = (issues ?? [])
    .slice(0, 20)
    .map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
  const first = list[0];
  return new FleetwireError(
    'ALERT_RULE_INVALID',
    first ? `${first.path || 'rule'}: ${first.message}` : 'invalid rule',
    {
      issues: list,
    },
  );
}

/** A built-in rule may change only its editable fields. */
function checkBuiltinChange(current: AlertRule, next: RuleInput): void {
  const base = ruleInputOf(current) as Record<string, unknown>;
  const want = next as Record<string, unknown>;
  for (const k of ['field', 'condition', 'forMs', 'clear'] as const) {
    if (JSON.stringify(base[k]) !== JSON.stringify(want[k])) {
      throw new FleetwireError(
        'ALERT_RULE_INVALID',
        `"${k}" of a built-in rule cannot be changed (editable: ${BUILTIN_EDITABLE.join(', ')})`,
        { rule: current.id, field: k },
      );
    }
  }
}

/** True when a change alters what the rule detects (its states no longer mean the same). */
function redefines(a: AlertRule, b: AlertRule): boolean {
  if (a.enabled !== b.enabled) return true;
  for (const k of ['scope', 'field', 'condition', 'forMs', 'clear'] as const) {
    if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) return true;
  }
  return false;
}

/** A stand-in for a rule that no longer exists, so its last events still have a rule summary. */
function orphanRule(st: { tenant: string; ruleId: string }): AlertRule {
  const builtin = builtinRules(st.tenant).find((r) => r.id === st.ruleId);
  if (builtin) return builtin;
  return {
    id: st.ruleId,
    tenant: st.tenant,
    name: `(deleted rule ${st.ruleId})`,
    scope: { kind: 'all' },
    field: '?',
    condition: { op: 'changed' },
    forMs: 0,
    severity: 'info',
    renotifyMs: 0,
    enabled: false,
    createdAt: 0,
    updatedAt: 0,
    version: 0,
  };
}

/** The ALERT_ACKNOWLEDGED event of an alert. */
function ackEvent(rec: AlertRecord, rule: AlertRule, now: number): AlertEvent {
  const status = rec.status === 'FIRING' ? 'FIRING' : 'OK';
  return {
    schemaVersion: 1,
    eventId: `${rec.id}.ack`,
    kind: 'acknowledged',
    code: 'ALERT_ACKNOWLEDGED',
    tenant: rec.tenant,
    device: rec.device,
    alertId: rec.id,
    rule: {
      id: rule.id,
      name: rule.name,
      severity: rule.severity,
      field: rule.field,
      condition: rec.condition,
      ...(rule.builtin ? { builtin: rule.builtin } : {}),
    },
    from: status,
    to: status,
    time: rec.firedAt,
    detectedAt: iso(now),
    ...(rec.acknowledged ? { acknowledged: rec.acknowledged } : {}),
    message: `ACKNOWLEDGED ${rule.severity}: ${rec.condition} on ${rec.device} by ${rec.acknowledged?.by ?? '?'}`,
  };
}

/** Re-exported for adapters and handlers. */
export { BUILTIN_DEVICE_ERROR_ID };
