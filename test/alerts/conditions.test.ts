import { describe, expect, it } from 'vitest';
import {
  compileClassifier,
  describeCondition,
  listItems,
  Verdict,
} from '../../lambdas/core/alerts/conditions.js';
import type { ValueCondition } from '../../lambdas/core/alerts/rule.js';

const { Skip, Trigger, Clear, Band } = Verdict;

function verdicts(c: ValueCondition, values: unknown[], clear?: ValueCondition): number[] {
  const classify = compileClassifier(c, clear);
  return values.map((v) => classify(v as number | string | boolean));
}

describe('listItems', () => {
  it('reads JSON-text arrays as the codecs store them', () => {
    expect(listItems('[]')).toEqual([]);
    expect(listItems('["OVERHEAT"]')).toEqual(['OVERHEAT']);
    expect(listItems('["OVERHEAT","LOW_SOC"]')).toEqual(['OVERHEAT', 'LOW_SOC']);
    expect(listItems('[1, true, null, "x"]')).toEqual(['1', 'true', 'x']);
  });
  it('reads comma-separated text, blanks and scalars', () => {
    expect(listItems('')).toEqual([]);
    expect(listItems('   ')).toEqual([]);
    expect(listItems('A, B,,C ')).toEqual(['A', 'B', 'C']);
    expect(listItems('[not json')).toEqual(['[not json']);
    expect(listItems(7)).toEqual(['7']);
    expect(listItems(false)).toEqual(['false']);
  });
});

describe('classifiers', () => {
  it('above: strict trigger, clears at or below the clear threshold, band between', () => {
    const c: ValueCondition = { op: 'above', threshold: 80, clearThreshold: 75 };
    expect(verdicts(c, [81, 80.0001, 80, 76, 75, 10, 'hot', true])).toEqual([
      Trigger,
      Trigger,
      Band,
      Band,
      Clear,
      Clear,
      Skip,
      Skip,
    ]);
  });
  it('above without a clear threshold clears as soon as the condition ends', () => {
    expect(verdicts({ op: 'above', threshold: 80 }, [81, 80, 79])).toEqual([Trigger, Clear, Clear]);
  });
  it('below mirrors above', () => {
    const c: ValueCondition = { op: 'below', threshold: 10, clearThreshold: 15 };
    expect(verdicts(c, [9, 10, 14.9, 15, 20, '5'])).toEqual([Trigger, Band, Band, Clear, Clear, Skip]);
  });
  it('outside: triggers on either side, clears inside the inner band', () => {
    const c: ValueCondition = { op: 'outside', min: 16, max: 35, clearMin: 17, clearMax: 34 };
    expect(verdicts(c, [15.9, 35.1, 16, 16.5, 17, 25, 34, 34.5, 35])).toEqual([
      Trigger,
      Trigger,
      Band,
      Band,
      Clear,
      Clear,
      Clear,
      Band,
      Band,
    ]);
    expect(verdicts({ op: 'outside', min: 0, max: 1 }, [0, 1, -1, 2])).toEqual([
      Clear,
      Clear,
      Trigger,
      Trigger,
    ]);
  });
  it('equals / not_equals compare without coercion; other types do not apply', () => {
    expect(verdicts({ op: 'equals', value: 'ERROR' }, ['ERROR', 'IDLE', 'error', 1, false])).toEqual([
      Trigger,
      Clear,
      Clear,
      Skip,
      Skip,
    ]);
    expect(verdicts({ op: 'equals', value: true }, [true, false, 'true', 1])).toEqual([
      Trigger,
      Clear,
      Skip,
      Skip,
    ]);
    expect(verdicts({ op: 'equals', value: 1 }, [1, 1.5, '1'])).toEqual([Trigger, Clear, Skip]);
    expect(verdicts({ op: 'not_equals', value: 'AUTO' }, ['MANUAL', 'AUTO', 3])).toEqual([
      Trigger,
      Clear,
      Skip,
    ]);
  });
  it('contains: a given entry, or any entry when none is given', () => {
    const c: ValueCondition = { op: 'contains', value: 'OVERHEAT' };
    expect(verdicts(c, ['["OVERHEAT"]', '["LOW_SOC","OVERHEAT"]', '[]', '["OVER"]', 'OVERHEAT'])).toEqual([
      Trigger,
      Trigger,
      Clear,
      Clear,
      Trigger,
    ]);
    expect(verdicts({ op: 'contains' }, ['[]', '', '["X"]', 'X'])).toEqual([Clear, Clear, Trigger, Trigger]);
  });
  it('a separate clear condition defines the band; the trigger wins when both hold', () => {
    const trigger: ValueCondition = { op: 'equals', value: 'ERROR' };
    const clear: ValueCondition = { op: 'equals', value: 'IDLE' };
    expect(verdicts(trigger, ['ERROR', 'CHARGING', 'IDLE'], clear)).toEqual([Trigger, Band, Clear]);
    // Overlapping clear condition: trigger precedence, so no resolve-and-refire on one value.
    expect(verdicts({ op: 'above', threshold: 5 }, [6, 4], { op: 'above', threshold: 0 })).toEqual([
      Trigger,
      Clear,
    ]);
    // A clear condition of another type never clears.
    expect(verdicts({ op: 'above', threshold: 5 }, [3], { op: 'equals', value: 'x' })).toEqual([Band]);
  });
});

describe('describeCondition', () => {
  it('reads like a sentence', () => {
    expect(describeCondition('battery.temperature', { op: 'above', threshold: 80 })).toBe(
      'battery.temperature above 80',
    );
    expect(describeCondition('002', { op: 'outside', min: 16, max: 35 })).toBe('002 outside 16…35');
    expect(describeCondition('system_status.state', { op: 'equals', value: 'ERROR' })).toBe(
      'system_status.state equals "ERROR"',
    );
    expect(describeCondition('f', { op: 'contains' })).toBe('f not empty');
    expect(describeCondition('*', { op: 'stale', afterMs: 60000 })).toBe('device silent');
    expect(describeCondition('x', { op: 'device_error' })).toBe('device reports an error');
  });
});
