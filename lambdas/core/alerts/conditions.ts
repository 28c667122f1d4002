/**
 * Conditions compiled to classifiers. A classifier looks at one field value and answers whether it
 * triggers the alert, clears it, sits in the hysteresis band between the two, or does not apply (the
 * value has the wrong type, so the point is ignored by that rule).
 *
 * Compiled once per rule so the per-point cost is a type check and one or two comparisons.
 */
import type { FieldValue } from '../model/point.js';
import type { Condition, ValueCondition } from './rule.js';

/** The verdicts of a classifier on one value (small integers: the hot path compares them). */
export const Verdict = {
  /** The value's type does not fit the condition: the rule ignores this point. */
  Skip: 0,
  /** The condition holds. */
  Trigger: 1,
  /** The clear condition holds (a firing alert resolves). */
  Clear: 2,
  /** Neither: inside the hysteresis band; the state does not change. */
  Band: 3,
} as const;
/** A verdict. */
export type Verdict = (typeof Verdict)[keyof typeof Verdict];

/** A compiled classifier. */
export type Classifier = (value: FieldValue) => Verdict;

/** A compiled predicate: `undefined` when the value's type does not fit. */
type Predicate = (value: FieldValue) => boolean | undefined;

/**
 * The items of a list-valued field. Codecs store arrays of scalars as JSON text (EMS
 * `system_status.error_flags` = `'["OVERHEAT"]'`); comma-separated text is accepted too, and the empty
 * string, `"[]"` and whitespace are the empty list. Any other scalar is a one-item list.
 */
export function listItems(value: FieldValue): string[] {
  if (typeof value !== 'string') return [String(value)];
  const text = value.trim();
  if (text === '' || text === '[]') return [];
  if (text.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (Array.isArray(parsed)) {
        const out: string[] = [];
        for (const item of parsed) {
          if (item === null || item === undefined) continue;
          const s = typeof item === 'string' ? item : JSON.stringify(item);
          if (s !== '') out.push(s);
        }
        return out;
      }
    } catch {
      // Not JSON after all: fall through to the comma-separated reading.
    }
  }
  const out: string[] = [];
  for (const part of text.split(',')) {
    const s = part.trim();
    if (s !== '') out.push(s);
  }
  return out;
}

/** The predicate "the condition holds" of a value condition. */
function predicateOf(c: ValueCondition): Predicate {
  switch (c.op) {
    case 'above': {
      const t = c.threshold;
      return (v) => (typeof v === 'number' ? v > t : undefined);
    }
    case 'below': {
      const t = c.threshold;
      return (v) => (typeof v === 'number' ? v < t : undefined);
    }
    case 'outside': {
      const { min, max } = c;
      return (v) => (typeof v === 'number' ? v < min || v > max : undefined);
    }
    case 'equals': {
      const want = c.value;
      const type = typeof want;
      // No coercion: `1` does not equal `"1"`; a value of another type does not apply.
      return (v) => (typeof v === type ? v === want : undefined);
    }
    case 'not_equals': {
      const want = c.value;
      const type = typeof want;
      return (v) => (typeof v === type ? v !== want : undefined);
    }
    case 'contains': {
      const want = c.value;
      return want === undefined ? (v) => listItems(v).length > 0 : (v) => listItems(v).includes(want);
    }
  }
}

/**
 * The built-in clear predicate of a value condition: the clear threshold (or band) when one is given,
 * otherwise simply "the condition does not hold".
 */
function clearPredicateOf(c: ValueCondition): Predicate {
  switch (c.op) {
    case 'above': {
      const t = c.clearThreshold ?? c.threshold;
      return (v) => (typeof v === 'number' ? v <= t : undefined);
    }
    case 'below': {
      const t = c.clearThreshold ?? c.threshold;
      return (v) => (typeof v === 'number' ? v >= t : undefined);
    }
    case 'outside': {
      const lo = c.clearMin ?? c.min;
      const hi = c.clearMax ?? c.max;
      return (v) => (typeof v === 'number' ? v >= lo && v <= hi : undefined);
    }
    default: {
      const p = predicateOf(c);
      return (v) => {
        const r = p(v);
        return r === undefined ? undefined : !r;
      };
    }
  }
}

/**
 * Compile a value condition (and an optional separate clear condition) into a classifier. The
 * trigger wins over the clear condition when both hold, so a badly overlapping clear condition can
 * never make an alert resolve and re-fire on one value.
 */
export function compileClassifier(condition: ValueCondition, clear?: ValueCondition): Classifier {
  const trigger = predicateOf(condition);
  const clears = clear === undefined ? clearPredicateOf(condition) : predicateOf(clear);
  return (v) => {
    const t = trigger(v);
    if (t === undefined) return Verdict.Skip;
    if (t) return Verdict.Trigger;
    return clears(v) === true ? Verdict.Clear : Verdict.Band;
  };
}

/** True for conditions that {@link compileClassifier} handles. */
export function isValueCondition(c: Condition): c is ValueCondition {
  return c.op !== 'changed' && c.op !== 'stale' && c.op !== 'device_error';
}

/** Human-readable text of a condition, for notifications (`battery.temperature above 80`). */
export function describeCondition(field: string, c: Condition): string {
  switch (c.op) {
    case 'above':
      return `${field} above ${c.threshold}`;
    case 'below':
      return `${field} below ${c.threshold}`;
    case 'outside':
      return `${field} outside ${c.min}…${c.max}`;
    case 'equals':
      return `${field} equals ${JSON.stringify(c.value)}`;
    case 'not_equals':
      return `${field} not equal to ${JSON.stringify(c.value)}`;
    case 'contains':
      return c.value === undefined ? `${field} not empty` : `${field} contains ${JSON.stringify(c.value)}`;
    case 'changed':
      return `${field} changed`;
    case 'stale':
      return field === '*' ? 'device silent' : `${field} silent`;
    case 'device_error':
      return 'device reports an error';
  }
}
