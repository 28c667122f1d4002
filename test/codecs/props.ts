/**
 * Property-test helpers shared by the codec tests: arbitraries for names and values, a byte mutator,
 * and the "points or a typed error, nothing else" oracle with a structural check of the result.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import { FleetwireError } from '../../lambdas/core/errors.js';
import type { DecodeLimits } from '../../lambdas/core/limits.js';
import type { DecodeResult, FieldValue } from '../../lambdas/core/model/point.js';

/** Test run counts: small in CI, raised with FLEETWIRE_PROP_RUNS for a deeper local run. */
export const RUNS = Number(process.env.FLEETWIRE_PROP_RUNS ?? 300);

const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);

/** A dot-free object key that is a valid field-name segment. */
export const keyArb: fc.Arbitrary<string> = fc
  .stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_-]{0,11}$/)
  .filter((k) => !FORBIDDEN.has(k));

/** A string field value (any Unicode, bounded well under the default limit). */
export const stringValueArb: fc.Arbitrary<string> = fc.string({ unit: 'grapheme', maxLength: 40 });

/** A finite double that survives JSON text exactly (JSON writes -0 as 0). */
export const jsonNumberArb: fc.Arbitrary<number> = fc
  .oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer({ min: -1e9, max: 1e9 }))
  .map((n) => (Object.is(n, -0) ? 0 : n));

/** A scalar field value. */
export const scalarArb: fc.Arbitrary<FieldValue> = fc.oneof(jsonNumberArb, stringValueArb, fc.boolean());

/** An epoch-ms time inside the default accepted range. */
export const timeArb: fc.Arbitrary<number> = fc.integer({
  min: Date.UTC(2000, 0, 1),
  max: Date.UTC(2099, 11, 31),
});

/** A device id. */
export const deviceArb: fc.Arbitrary<string> = fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,31}$/);

/** Apply a sequence of byte edits (set, delete, insert, truncate) to a copy of `bytes`. */
export const mutatedBytesArb = (bytes: Uint8Array): fc.Arbitrary<Uint8Array> =>
  fc
    .array(
      fc.tuple(fc.constantFrom('set', 'del', 'ins', 'trunc'), fc.nat(), fc.integer({ min: 0, max: 255 })),
      { minLength: 1, maxLength: 8 },
    )
    .map((ops) => {
      const out = Array.from(bytes);
      for (const [op, at, byte] of ops) {
        const i = out.length === 0 ? 0 : at % out.length;
        if (op === 'set') out[i] = byte;
        else if (op === 'del') out.splice(i, 1);
        else if (op === 'ins') out.splice(i, 0, byte);
        else out.length = i;
      }
      return Uint8Array.from(out);
    });

/**
 * The oracle for hostile input: `run` either returns a structurally valid DecodeResult or throws a
 * FleetwireError; anything else (TypeError, RangeError, stack overflow, an invalid point) fails.
 */
export function expectPointsOrTypedError(run: () => DecodeResult, limits: DecodeLimits): void {
  let result: DecodeResult;
  try {
    result = run();
  } catch (e) {
    if (!(e instanceof FleetwireError)) throw e;
    expect(typeof e.code).toBe('string');
    return;
  }
  assertValidResult(result, limits);
}

/** Every invariant a decoded result must hold, whatever the input was. */
export function assertValidResult(r: DecodeResult, limits: DecodeLimits): void {
  expect(Array.isArray(r.points)).toBe(true);
  expect(r.points.length).toBeLessThanOrEqual(limits.maxPoints);
  for (const p of r.points) {
    expect(typeof p.device).toBe('string');
    expect(p.device.length).toBeGreaterThan(0);
    expect(Number.isInteger(p.time)).toBe(true);
    expect(p.time).toBeGreaterThanOrEqual(limits.minTimestampMs);
    expect(p.time).toBeLessThanOrEqual(limits.maxTimestampMs);
    expect(Object.getPrototypeOf(p.fields)).toBeNull();
    expect(Object.getPrototypeOf(p.tags)).toBeNull();
    const names = Object.keys(p.fields);
    expect(names.length).toBeGreaterThan(0);
    expect(names.length).toBeLessThanOrEqual(limits.maxFieldsPerPoint);
    for (const name of names) {
      expect(name.length).toBeGreaterThan(0);
      expect(name.length).toBeLessThanOrEqual(limits.maxNameLength);
      expect(FORBIDDEN.has(name)).toBe(false);
      const v = p.fields[name];
      if (typeof v === 'number') expect(Number.isFinite(v)).toBe(true);
      else if (typeof v === 'string') expect(v.length).toBeLessThanOrEqual(limits.maxStringLength);
      else expect(typeof v).toBe('boolean');
    }
    const tagNames = Object.keys(p.tags);
    expect(tagNames.length).toBeLessThanOrEqual(limits.maxTags);
    for (const t of tagNames) expect(typeof p.tags[t]).toBe('string');
  }
  // Nothing ever reached Object.prototype.
  expect(Object.hasOwn(Object.prototype, 'polluted')).toBe(false);
}

/** Turn a record into a plain object for toEqual comparisons (drops the null prototype). */
export function plain<T>(r: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(r));
}
