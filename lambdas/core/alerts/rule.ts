/**
 * The alert rule model: what an operator configures per tenant, validated with zod so the API, the
 * stores and the evaluator share one definition (and the OpenAPI document is generated from it).
 *
 * A rule watches one field of the points of the devices in its scope and moves a per-(rule, device)
 * state OK → PENDING → FIRING → OK (see evaluator.ts). Numeric conditions carry their own clear
 * threshold (hysteresis); other conditions may name a separate clear condition.
 */
// zod/mini: the same validation and JSON Schema as `zod`, but tree-shakable; these schemas are in the
// ingest and sweep Lambdas (alert evaluation), where full zod would add ~450 KB to the bundle.
import * as z from 'zod/mini';
import './zod-locale.js';

/** Alert severities, least to most severe. */
export const SEVERITIES = ['info', 'warning', 'major', 'critical'] as const;
/** An alert severity. */
export type Severity = (typeof SEVERITIES)[number];

/** Keys that must never become object keys downstream. */
const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);

/** Longest duration a rule may use (`for`, stale, re-notify): 30 days. */
export const MAX_DURATION_MS = 30 * 24 * 3600 * 1000;

/** A duration in milliseconds, 0 ≤ d ≤ 30 days. */
const DurationMs = z.number().check(z.int(), z.minimum(0), z.maximum(MAX_DURATION_MS));
/** A finite number (zod rejects NaN; Infinity is refused explicitly). */
const Finite = z.number().check(z.refine(Number.isFinite, 'must be a finite number'));
/** A scalar a field can hold. */
const Scalar = z.union([z.string().check(z.maxLength(2048)), Finite, z.boolean()]);

/** A point field name (`battery.temperature`, `VehicleSpeed.Speed`, ExoSense `002`, `003.lat`). */
export const FieldName = z.string().check(
  z.minLength(1),
  z.maxLength(256),
  z.refine((f) => !FORBIDDEN.has(f), 'field name is a reserved word'),
);

/** Identifier of a device, tag key or tag value in a scope. */
const Ident = z.string().check(
  z.minLength(1),
  z.maxLength(256),
  z.refine((f) => !FORBIDDEN.has(f), 'reserved word'),
);

/** Which devices a rule watches. */
export const RuleScope = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('all') }),
  z.strictObject({ kind: z.literal('device'), deviceId: Ident }),
  z.strictObject({
    kind: z.literal('tag'),
    key: Ident,
    /** When omitted, any device carrying the tag key matches. */
    value: z.optional(z.string().check(z.maxLength(256))),
  }),
]);
/** Which devices a rule watches. */
export type RuleScope = z.infer<typeof RuleScope>;

const Above = z
  .strictObject({
    op: z.literal('above'),
    threshold: Finite,
    /** Clears at or below this value (≤ threshold). @default threshold */
    clearThreshold: z.optional(Finite),
  })
  .check(
    z.refine((c) => c.clearThreshold === undefined || c.clearThreshold <= c.threshold, {
      message: 'clearThreshold must be at or below threshold for an "above" condition',
      path: ['clearThreshold'],
    }),
  );

const Below = z
  .strictObject({
    op: z.literal('below'),
    threshold: Finite,
    /** Clears at or above this value (≥ threshold). @default threshold */
    clearThreshold: z.optional(Finite),
  })
  .check(
    z.refine((c) => c.clearThreshold === undefined || c.clearThreshold >= c.threshold, {
      message: 'clearThreshold must be at or above threshold for a "below" condition',
      path: ['clearThreshold'],
    }),
  );

const Outside = z
  .strictObject({
    op: z.literal('outside'),
    min: Finite,
    max: Finite,
    /** Clears only at or above this value (≥ min). @default min */
    clearMin: z.optional(Finite),
    /** Clears only at or below this value (≤ max). @default max */
    clearMax: z.optional(Finite),
  })
  .check(
    z.refine((c) => c.min <= c.max, { message: 'min must not exceed max', path: ['min'] }),
    z.refine((c) => c.clearMin === undefined || c.clearMin >= c.min, {
      message: 'clearMin must be at or above min',
      path: ['clearMin'],
    }),
    z.refine((c) => c.clearMax === undefined || c.clearMax <= c.max, {
      message: 'clearMax must be at or below max',
      path: ['clearMax'],
    }),
    z.refine((c) => (c.clearMin ?? c.min) <= (c.clearMax ?? c.max), {
      message: 'the clear band is empty (clearMin > clearMax)',
      path: ['clearMin'],
    }),
  );

const Equals = z.strictObject({ op: z.literal('equals'), value: Scalar });
const NotEquals = z.strictObject({ op: z.literal('not_equals'), value: Scalar });
const Contains = z.strictObject({
  op: z.literal('contains'),
  /** Entry to look for in a list field; when omitted, any entry (the list is non-empty). */
  value: z.optional(z.string().check(z.minLength(1), z.maxLength(256))),
});
const Changed = z.strictObject({ op: z.literal('changed') });
const Stale = z.strictObject({
  op: z.literal('stale'),
  /** Silence that raises the alert. @default the channel contract's `timeout` for the field */
  afterMs: z.optional(DurationMs.check(z.minimum(1000))),
});
const DeviceError = z.strictObject({ op: z.literal('device_error') });

/** Conditions on one value; usable both as a rule condition and as a separate clear condition. */
export const ValueCondition = z.union([Above, Below, Outside, Equals, NotEquals, Contains]);
/** A condition on one value. */
export type ValueCondition = z.infer<typeof ValueCondition>;

/** Every rule condition. */
export const Condition = z.union([
  Above,
  Below,
  Outside,
  Equals,
  NotEquals,
  Contains,
  Changed,
  Stale,
  DeviceError,
]);
/** A rule condition. */
export type Condition = z.infer<typeof Condition>;
/** The operator names of {@link Condition}. */
export type ConditionOp = Condition['op'];

/** Field name a stale rule uses to watch the whole device (any message), not one field. */
export const ANY_FIELD = '*';

/** Re-notification period: 0 (never) or at least a minute. */
const RenotifyMs = DurationMs.check(
  z.refine((d) => d === 0 || d >= 60_000, 'renotifyMs must be 0 or at least 60000'),
);

/** The parts of a rule a caller writes (create / replace). */
export const RuleInput = z
  .strictObject({
    name: z.string().check(z.minLength(1), z.maxLength(200)),
    description: z.optional(z.string().check(z.maxLength(2000))),
    scope: z._default(RuleScope, { kind: 'all' }),
    /** Point field the rule watches; `*` (stale only) watches any message of the device. */
    field: FieldName,
    condition: Condition,
    /** How long the condition must hold (by event time) before the alert fires. @default 0 */
    forMs: z._default(DurationMs, 0),
    /** A separate condition that clears a firing alert (hysteresis for non-numeric conditions). */
    clear: z.optional(ValueCondition),
    severity: z._default(z.enum(SEVERITIES), 'warning'),
    /** Re-send the notification while firing and unacknowledged, this often; 0 = never. @default 0 */
    renotifyMs: z._default(RenotifyMs, 0),
    enabled: z._default(z.boolean(), true),
  })
  .check(
    z.superRefine((r, ctx) => {
      const op = r.condition.op;
      if (r.field === ANY_FIELD && op !== 'stale') {
        ctx.addIssue({
          code: 'custom',
          path: ['field'],
          message: 'field "*" is only valid with a stale condition',
        });
      }
      if (r.field === ANY_FIELD && r.condition.op === 'stale' && r.condition.afterMs === undefined) {
        // A channel contract gives timeouts per channel, never for a whole device.
        ctx.addIssue({
          code: 'custom',
          path: ['condition', 'afterMs'],
          message: 'a stale rule on "*" needs afterMs',
        });
      }
      if (op === 'changed' || op === 'stale' || op === 'device_error') {
        if (r.clear !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['clear'],
            message: `a "${op}" condition takes no clear condition`,
          });
        }
        if (r.forMs !== 0) {
          ctx.addIssue({
            code: 'custom',
            path: ['forMs'],
            message: `a "${op}" condition takes no "for" duration`,
          });
        }
      }
      if (r.clear !== undefined) {
        const c = r.condition;
        if (
          ((c.op === 'above' || c.op === 'below') && c.clearThreshold !== undefined) ||
          (c.op === 'outside' && (c.clearMin !== undefined || c.clearMax !== undefined))
        ) {
          ctx.addIssue({
            code: 'custom',
            path: ['clear'],
            message: 'give either a clear threshold or a clear condition, not both',
          });
        }
      }
    }),
  );
/** What a caller writes (before defaults). */
export type RuleInputIn = z.input<typeof RuleInput>;
/** A validated rule input (defaults applied). */
export type RuleInput = z.output<typeof RuleInput>;

/** Fields a caller may change on an existing rule (all optional; `null` removes `clear`/`description`). */
export const RulePatch = z.strictObject({
  name: z.optional(z.string().check(z.minLength(1), z.maxLength(200))),
  description: z.optional(z.nullable(z.string().check(z.maxLength(2000)))),
  scope: z.optional(RuleScope),
  field: z.optional(FieldName),
  condition: z.optional(Condition),
  forMs: z.optional(DurationMs),
  clear: z.optional(z.nullable(ValueCondition)),
  severity: z.optional(z.enum(SEVERITIES)),
  renotifyMs: z.optional(RenotifyMs),
  enabled: z.optional(z.boolean()),
});
/** A rule patch. */
export type RulePatch = z.infer<typeof RulePatch>;

/** Built-in rule kinds; a built-in rule exists in every tenant without configuration. */
export const BUILTIN_KINDS = ['device-error'] as const;
/** A built-in rule kind. */
export type BuiltinKind = (typeof BUILTIN_KINDS)[number];

/** A stored rule: the input plus identity, tenancy and bookkeeping. */
export interface AlertRule extends RuleInput {
  /** Rule id, unique within the tenant. */
  id: string;
  tenant: string;
  /** Set on built-in rules (which can be disabled and tuned, not deleted or re-targeted). */
  builtin?: BuiltinKind;
  /** Creation time, epoch ms. */
  createdAt: number;
  /** Last change, epoch ms. */
  updatedAt: number;
  /** Incremented on every change; stores use it for optimistic concurrency. */
  version: number;
}

/** The response shape of a rule (the stored rule as JSON). */
export const AlertRuleSchema = z.object({
  id: z.string(),
  tenant: z.string(),
  name: z.string(),
  description: z.optional(z.string()),
  scope: RuleScope,
  field: z.string(),
  condition: Condition,
  forMs: z.number().check(z.int()),
  clear: z.optional(ValueCondition),
  severity: z.enum(SEVERITIES),
  renotifyMs: z.number().check(z.int()),
  enabled: z.boolean(),
  builtin: z.optional(z.enum(BUILTIN_KINDS)),
  createdAt: z.number().check(z.int()),
  updatedAt: z.number().check(z.int()),
  version: z.number().check(z.int()),
});

/**
 * Apply a patch to a rule input and re-validate the whole (so cross-field rules hold after the change).
 * Throws the zod error when the result is invalid.
 */
export function applyRulePatch(rule: RuleInput, patch: RulePatch): RuleInput {
  const next: Record<string, unknown> = { ...rule };
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) continue;
    if (v === null) delete next[k];
    else next[k] = v;
  }
  return RuleInput.parse(next);
}

/** The fields of a stored rule that form its input (drops identity and bookkeeping). */
export function ruleInputOf(rule: AlertRule): RuleInput {
  const { id: _i, tenant: _t, builtin: _b, createdAt: _c, updatedAt: _u, version: _v, ...input } = rule;
  return input;
}
