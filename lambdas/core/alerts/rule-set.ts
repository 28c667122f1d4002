/**
 * A tenant's enabled rules, compiled and indexed by field, so that finding the rules a point concerns
 * costs one map lookup per point field rather than a scan of every rule.
 */
import type { FieldValue } from '../model/point.js';
import { contractTimeoutMs } from './contract.js';
import { type CompiledRule, compileRule } from './evaluator.js';
import { type AlertRule, ANY_FIELD, type RuleScope } from './rule.js';

/** What scope matching needs to know about a device. */
export interface DeviceInfo {
  deviceId: string;
  /** Registry tags (label/note tags). */
  tags: Readonly<Record<string, string>>;
  /** ExoSense channel contract, when the device has one. */
  channelContract?: unknown;
}

/** True when a device is in a rule's scope. */
export function inScope(scope: RuleScope, device: DeviceInfo): boolean {
  switch (scope.kind) {
    case 'all':
      return true;
    case 'device':
      return scope.deviceId === device.deviceId;
    case 'tag': {
      if (!Object.hasOwn(device.tags, scope.key)) return false;
      return scope.value === undefined || device.tags[scope.key] === scope.value;
    }
  }
}

/** A rule with its compiled form. */
export interface RuleEntry {
  readonly rule: AlertRule;
  readonly compiled: CompiledRule;
}

/** The enabled rules of one tenant, indexed for evaluation. */
export class RuleSet {
  /** Every enabled rule, ordered by id. */
  readonly entries: readonly RuleEntry[];
  private readonly byField = new Map<string, RuleEntry[]>();
  /** Rules evaluated whatever the fields (device errors, `*` stale rules). */
  private readonly always: RuleEntry[] = [];

  constructor(rules: readonly AlertRule[]) {
    const entries: RuleEntry[] = [];
    for (const rule of rules) {
      if (!rule.enabled) continue;
      const entry: RuleEntry = { rule, compiled: compileRule(rule) };
      entries.push(entry);
      if (entry.compiled.kind === 'device_error' || rule.field === ANY_FIELD) this.always.push(entry);
      else {
        const list = this.byField.get(rule.field);
        if (list) list.push(entry);
        else this.byField.set(rule.field, [entry]);
      }
    }
    this.entries = entries;
  }

  /** Number of enabled rules. */
  get size(): number {
    return this.entries.length;
  }

  /** Enabled stale rules. */
  staleRules(): RuleEntry[] {
    return this.entries.filter((e) => e.compiled.kind === 'stale');
  }

  /**
   * Rules in the device's scope that may concern points with these fields: rules on any of the field
   * names, plus device-error and `*` rules. (Whether a device-error rule concerns a point also depends
   * on its state; the evaluator's `concerns` decides.)
   */
  candidates(device: DeviceInfo, fieldSets: Iterable<Readonly<Record<string, FieldValue>>>): RuleEntry[] {
    const seen = new Set<RuleEntry>();
    for (const fields of fieldSets) {
      for (const name in fields) {
        const list = this.byField.get(name);
        if (list) for (const e of list) seen.add(e);
      }
    }
    for (const e of this.always) seen.add(e);
    const out: RuleEntry[] = [];
    for (const e of seen) if (inScope(e.rule.scope, device)) out.push(e);
    return out;
  }
}

/** The stale duration for a rule on a device: the rule's own, else the contract timeout of its field. */
export function staleDurationFor(entry: RuleEntry, device: DeviceInfo): number | undefined {
  if (entry.compiled.staleAfterMs !== undefined) return entry.compiled.staleAfterMs;
  if (entry.rule.field === ANY_FIELD) return undefined;
  return contractTimeoutMs(device.channelContract, entry.rule.field);
}
