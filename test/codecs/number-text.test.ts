import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { numberArrayText, numberText } from '../../lambdas/core/codecs/number-text.js';
import { RUNS } from './props.js';

/** A decimal as firmware prints it: up to 9 integer digits and 0–8 fraction digits, either sign. */
const printedArb = fc
  .tuple(fc.integer({ min: -999_999_999, max: 999_999_999 }), fc.integer({ min: 0, max: 8 }))
  .map(([m, d]) => m / 10 ** d);
/** Any finite double, including subnormals, huge values and -0. */
const anyDoubleArb = fc.double({ noNaN: true, noDefaultInfinity: true });
const numberArb = fc.oneof(
  printedArb,
  anyDoubleArb,
  fc.integer(),
  fc.constantFrom(-0, 1e-6, -1e-6, 1e9, 0.1 + 0.2),
);

describe('numberText', () => {
  it('is JSON.stringify for any finite number', () => {
    fc.assert(
      fc.property(numberArb, (x) => {
        expect(numberText(x)).toBe(JSON.stringify(x));
      }),
      { numRuns: RUNS * 30 },
    );
  });

  it('handles the edges of its fast range', () => {
    for (const x of [
      0,
      -0,
      1e-6,
      9.99e-7,
      999_999_999.5,
      1e9 + 0.5,
      0.000001,
      123.456789,
      5e-324,
      2 ** 31 + 0.5,
    ]) {
      expect(numberText(x)).toBe(JSON.stringify(x));
    }
  });
});

describe('numberArrayText', () => {
  it('is JSON.stringify for arrays of numbers, or undefined (never a different text)', () => {
    fc.assert(
      fc.property(fc.array(numberArb, { maxLength: 40 }), (arr) => {
        const text = numberArrayText(arr);
        if (text !== undefined) expect(text).toBe(JSON.stringify(arr));
      }),
      { numRuns: RUNS * 10 },
    );
  });

  it('takes printed readings, and leaves non-numbers, non-finite and long arrays to the general path', () => {
    expect(numberArrayText([3.312, -0.5, 0, -0, 42, -7, 0.000125])).toBe('[3.312,-0.5,0,0,42,-7,0.000125]');
    expect(numberArrayText([])).toBe('[]');
    expect(numberArrayText([1, '2'])).toBeUndefined();
    expect(numberArrayText([1, null])).toBeUndefined();
    expect(numberArrayText([Number.POSITIVE_INFINITY])).toBeUndefined();
    expect(numberArrayText([Number.NaN])).toBeUndefined();
    expect(numberArrayText([2 ** 31])).toBeUndefined();
    expect(numberArrayText([1e-7])).toBeUndefined();
    expect(numberArrayText(new Array(1000).fill(1))).toBeUndefined();
  });
});
