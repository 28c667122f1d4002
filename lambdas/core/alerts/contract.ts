/**
 * What alert rules take from an ExoSense channel contract (`config_io`, seed 003): a channel's
 * `protocol_config.timeout` is the default stale duration of rules on that channel, and its
 * `properties.min` / `properties.max` make a one-click range rule.
 *
 * The contract arrives as `unknown` (the registry stores it opaque; the API validates it on write), so
 * every read here is defensive and never trusts the shape.
 */
import { FleetwireError } from '../errors.js';
import type { RuleInputIn, RuleScope, Severity } from './rule.js';

/** A plain object (not null, not an array). */
function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The channel entry for a point field: the field itself (`002`), or its channel (`003.lat` → `003`). */
export function contractChannel(contract: unknown, field: string): Record<string, unknown> | undefined {
  if (!isRecord(contract)) return undefined;
  const channels = contract.channels;
  if (!isRecord(channels)) return undefined;
  const direct = Object.hasOwn(channels, field) ? channels[field] : undefined;
  if (isRecord(direct)) return direct;
  const dot = field.indexOf('.');
  if (dot <= 0) return undefined;
  const ch = field.slice(0, dot);
  const parent = Object.hasOwn(channels, ch) ? channels[ch] : undefined;
  return isRecord(parent) ? parent : undefined;
}

/** A positive finite number, else undefined. */
function positive(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined;
}

/** The channel's `protocol_config.timeout` in ms (the default stale duration), when set and positive. */
export function contractTimeoutMs(contract: unknown, field: string): number | undefined {
  const ch = contractChannel(contract, field);
  const pc = ch?.protocol_config;
  return isRecord(pc) ? positive(pc.timeout) : undefined;
}

/** The channel's expected `properties.min` / `properties.max` (numeric channels), each when set. */
export function contractRange(contract: unknown, field: string): { min?: number; max?: number } {
  const ch = contractChannel(contract, field);
  const p = ch?.properties;
  if (!isRecord(p)) return {};
  const out: { min?: number; max?: number } = {};
  if (typeof p.min === 'number' && Number.isFinite(p.min)) out.min = p.min;
  if (typeof p.max === 'number' && Number.isFinite(p.max)) out.max = p.max;
  return out;
}

/** The channel's display name, when set. */
function displayName(contract: unknown, field: string): string | undefined {
  const n = contractChannel(contract, field)?.display_name;
  return typeof n === 'string' && n.length > 0 ? n.slice(0, 150) : undefined;
}

/** Options of {@link ruleFromContract}. */
export interface ContractRuleOptions {
  /** `range`: alert outside the channel's min/max; `stale`: alert when silent for its timeout. */
  kind: 'range' | 'stale';
  /** The channel (field) the rule watches. */
  channel: string;
  /** Devices the rule applies to. @default the device the contract came from */
  scope: RuleScope;
  /** @default 'warning' */
  severity?: Severity;
  /**
   * Range rules: hysteresis as a fraction of the range width — the alert clears only once the value is
   * back inside by this much. @default 0.02 (2 %)
   */
  hysteresis?: number;
  /** Rule name. @default "<display name> out of range" / "<display name> silent" */
  name?: string;
}

/**
 * Build a rule input from a channel contract. Range rules need a numeric `min` and `max`; stale rules
 * need a `timeout` (they keep following the contract: the rule stores no duration of its own, so a
 * changed timeout applies without editing the rule). Throws ALERT_RULE_INVALID when the channel lacks
 * what the rule needs.
 */
export function ruleFromContract(contract: unknown, opts: ContractRuleOptions): RuleInputIn {
  const ch = contractChannel(contract, opts.channel);
  if (ch === undefined) {
    throw new FleetwireError(
      'ALERT_RULE_INVALID',
      `channel "${opts.channel}" is not in the device's channel contract`,
    );
  }
  const label = displayName(contract, opts.channel) ?? opts.channel;
  const base = { scope: opts.scope, field: opts.channel, severity: opts.severity ?? 'warning' } as const;
  if (opts.kind === 'stale') {
    if (contractTimeoutMs(contract, opts.channel) === undefined) {
      throw new FleetwireError(
        'ALERT_RULE_INVALID',
        `channel "${opts.channel}" has no timeout in its contract`,
      );
    }
    return { ...base, name: opts.name ?? `${label} silent`, condition: { op: 'stale' } };
  }
  const { min, max } = contractRange(contract, opts.channel);
  if (min === undefined || max === undefined || min > max) {
    throw new FleetwireError(
      'ALERT_RULE_INVALID',
      `channel "${opts.channel}" has no numeric min/max in its contract`,
    );
  }
  const h = opts.hysteresis ?? 0.02;
  if (!(h >= 0 && h < 0.5)) {
    throw new FleetwireError('ALERT_RULE_INVALID', 'hysteresis must be a fraction in [0, 0.5)');
  }
  const margin = (max - min) * h;
  const condition =
    margin > 0
      ? { op: 'outside' as const, min, max, clearMin: min + margin, clearMax: max - margin }
      : { op: 'outside' as const, min, max };
  return { ...base, name: opts.name ?? `${label} out of range`, condition };
}
