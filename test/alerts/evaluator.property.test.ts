/**
 * Property tests of the alert state machine against a deliberately simple reference model.
 *
 * The reference is written independently of the evaluator (plain booleans and threshold comparisons,
 * no classifier, no state objects) and only ever sees a time-sorted stream. The evaluator sees the
 * stream in arrival order — shuffled, with duplicates — and must produce exactly the reference's
 * transitions on the points it accepted: those not older than the newest point applied before them
 * (late points never move state backwards in time).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compileRule,
  type EvalState,
  INITIAL_STATE,
  type StepContext,
  stepPoint,
  type Transition,
} from '../../lambdas/core/alerts/evaluator.js';
import type { Condition } from '../../lambdas/core/alerts/rule.js';

type Sample = { t: number; v: number };
type Ref = [from: string, to: string, time: number];

const FIELD = 'x';
const CTX: StepContext = { now: Number.POSITIVE_INFINITY };

/** The reference model: threshold-above with a clear threshold and a `for` duration, on sorted samples. */
function reference(samples: readonly Sample[], threshold: number, clearAt: number, forMs: number): Ref[] {
  const out: Ref[] = [];
  let firing = false;
  let runStart: number | null = null;
  for (const { t, v } of samples) {
    const trig = v > threshold;
    if (firing) {
      if (!trig && v <= clearAt) {
        out.push(['FIRING', 'OK', t]);
        firing = false;
      }
      continue;
    }
    if (!trig) {
      if (runStart !== null) out.push(['PENDING', 'OK', t]);
      runStart = null;
      continue;
    }
    if (runStart === null) {
      if (forMs === 0) {
        out.push(['OK', 'FIRING', t]);
        firing = true;
      } else {
        out.push(['OK', 'PENDING', t]);
        runStart = t;
      }
    } else if (t - runStart >= forMs) {
      out.push(['PENDING', 'FIRING', t]);
      firing = true;
      runStart = null;
    }
  }
  return out;
}

/** Samples a stream accepts in arrival order: each must not be older than the newest accepted so far. */
function accepted(arrival: readonly Sample[]): Sample[] {
  const out: Sample[] = [];
  let max = Number.NEGATIVE_INFINITY;
  for (const s of arrival) {
    if (s.t >= max) {
      out.push(s);
      max = s.t;
    }
  }
  return out;
}

/** Run the evaluator over samples in the given order. */
function run(
  cond: Condition,
  forMs: number,
  arrival: readonly Sample[],
  start: EvalState = INITIAL_STATE,
): { state: EvalState; transitions: Transition[] } {
  const rule = compileRule({ field: FIELD, condition: cond, forMs });
  let s = start;
  const transitions: Transition[] = [];
  for (const { t, v } of arrival) s = stepPoint(rule, s, t, { [FIELD]: v }, CTX, transitions);
  return { state: s, transitions };
}

const asRef = (ts: readonly Transition[]): Ref[] => ts.map((t) => [t.from, t.to, t.time]);

/** Stable sort by time (ties keep arrival order, as the service's per-message sort does). */
const sortByTime = (xs: readonly Sample[]): Sample[] => [...xs].sort((a, b) => a.t - b.t);

/** Small time and value domains so duplicates, ties and threshold crossings are frequent. */
const sample = fc.record({ t: fc.integer({ min: 0, max: 60 }), v: fc.integer({ min: 0, max: 10 }) });
const stream = fc.array(sample, { maxLength: 40 });
/** A threshold and a clear threshold at or below it (the hysteresis band is (clearAt, threshold]). */
const thresholds = fc
  .tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 0, max: 4 }))
  .map(([th, gap]) => ({ threshold: th, clearAt: Math.max(0, th - gap) }));
const forMs = fc.constantFrom(0, 0, 1, 5, 15);

/** A stream with some points delivered again at random positions after the original (QoS 1 redelivery). */
function withDuplicates(xs: readonly Sample[], picks: readonly number[]): Sample[] {
  const out = [...xs];
  for (const p of picks) {
    if (out.length === 0) break;
    const from = p % out.length;
    const at = from + 1 + ((p * 7) % (out.length - from));
    out.splice(at, 0, { ...(out[from] as Sample) });
  }
  return out;
}

describe('alert state machine — properties', () => {
  it('on a time-sorted stream (with duplicates and ties) equals the reference model', () => {
    fc.assert(
      fc.property(stream, thresholds, forMs, (xs, th, f) => {
        const sorted = sortByTime(xs);
        const cond: Condition = { op: 'above', threshold: th.threshold, clearThreshold: th.clearAt };
        expect(asRef(run(cond, f, sorted).transitions)).toEqual(
          reference(sorted, th.threshold, th.clearAt, f),
        );
      }),
      { numRuns: 400 },
    );
  });

  it('on any arrival order equals the reference on the accepted (not late) points, sorted', () => {
    fc.assert(
      fc.property(stream, fc.array(fc.nat(), { maxLength: 10 }), thresholds, forMs, (xs, dupPicks, th, f) => {
        const arrival = withDuplicates(xs, dupPicks);
        const cond: Condition = { op: 'above', threshold: th.threshold, clearThreshold: th.clearAt };
        const got = run(cond, f, arrival).transitions;
        const want = reference(sortByTime(accepted(arrival)), th.threshold, th.clearAt, f);
        expect(asRef(got)).toEqual(want);
        // Transitions never go back in time.
        for (let i = 1; i < got.length; i++)
          expect(got[i]?.time).toBeGreaterThanOrEqual(got[i - 1]?.time ?? 0);
      }),
      { numRuns: 400 },
    );
  });

  it('redelivered points (distinct times) change nothing', () => {
    fc.assert(
      fc.property(stream, fc.array(fc.nat(), { maxLength: 15 }), thresholds, forMs, (xs, picks, th, f) => {
        // Distinct times: a duplicate is then either late (ignored) or the newest point again (a no-op).
        const seen = new Set<number>();
        const unique = xs.filter((s) => {
          if (seen.has(s.t)) return false;
          seen.add(s.t);
          return true;
        });
        const cond: Condition = { op: 'above', threshold: th.threshold, clearThreshold: th.clearAt };
        const once = run(cond, f, unique);
        const twice = run(cond, f, withDuplicates(unique, picks));
        expect(asRef(twice.transitions)).toEqual(asRef(once.transitions));
        expect(twice.state.status).toBe(once.state.status);
      }),
      { numRuns: 300 },
    );
  });

  it('never flaps inside the hysteresis band', () => {
    fc.assert(
      fc.property(
        stream,
        fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 30 }),
        thresholds.filter((th) => th.threshold - th.clearAt >= 1),
        forMs,
        (prefix, bandSeeds, th, f) => {
          const cond: Condition = { op: 'above', threshold: th.threshold, clearThreshold: th.clearAt };
          const first = run(cond, f, sortByTime(prefix));
          const t0 = (first.state.lastEventTime ?? 0) + 1;
          // Band values (clearAt, threshold]: neither trigger nor clear.
          const width = th.threshold - th.clearAt;
          const band = bandSeeds.map((s, i) => ({ t: t0 + i, v: th.clearAt + 1 + (s % width) }));
          const rest = run(cond, f, band, first.state);
          if (first.state.status === 'FIRING') expect(rest.transitions).toEqual([]);
          if (first.state.status === 'OK') expect(rest.transitions).toEqual([]);
          // PENDING is cancelled by the first non-triggering point, and nothing happens after that.
          if (first.state.status === 'PENDING') {
            expect(asRef(rest.transitions)).toEqual([['PENDING', 'OK', t0]]);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('fires at most once per excursion: FIRING count ≤ crossings from the clear side to the trigger side', () => {
    fc.assert(
      fc.property(stream, thresholds, (xs, th) => {
        const sorted = sortByTime(xs);
        const cond: Condition = { op: 'above', threshold: th.threshold, clearThreshold: th.clearAt };
        const fired = run(cond, 0, sorted).transitions.filter((t) => t.to === 'FIRING').length;
        let crossings = 0;
        let armed = true;
        for (const { v } of sorted) {
          if (armed && v > th.threshold) {
            crossings++;
            armed = false;
          } else if (v <= th.clearAt) armed = true;
        }
        expect(fired).toBe(crossings);
      }),
      { numRuns: 300 },
    );
  });

  it('a point from the far past changes nothing once anything was applied', () => {
    fc.assert(
      fc.property(
        fc.array(sample, { minLength: 1, maxLength: 30 }),
        thresholds,
        forMs,
        fc.integer({ min: 0, max: 10 }),
        (xs, th, f, v) => {
          const cond: Condition = { op: 'above', threshold: th.threshold, clearThreshold: th.clearAt };
          const sorted = sortByTime(xs.map((s) => ({ t: s.t + 1000, v: s.v })));
          const before = run(cond, f, sorted);
          const after = run(cond, f, [{ t: 5, v }], before.state);
          expect(after.transitions).toEqual([]);
          expect(after.state).toBe(before.state);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('`changed` fires once per change of value on the accepted stream', () => {
    fc.assert(
      fc.property(stream, (xs) => {
        const got = run({ op: 'changed' }, 0, xs).transitions;
        const acc = accepted(xs);
        const want: Ref[] = [];
        for (let i = 1; i < acc.length; i++) {
          const prev = acc[i - 1] as Sample;
          const cur = acc[i] as Sample;
          if (cur.v !== prev.v) want.push(['OK', 'FIRING', cur.t], ['FIRING', 'OK', cur.t]);
        }
        expect(asRef(got)).toEqual(want);
      }),
      { numRuns: 300 },
    );
  });

  it('below and outside behave as mirrored / two-sided above', () => {
    fc.assert(
      fc.property(stream, thresholds, forMs, (xs, th, f) => {
        const sorted = sortByTime(xs);
        // below(10 - th) on 10 - v is above(th) on v.
        const mirrored = sorted.map((s) => ({ t: s.t, v: 10 - s.v }));
        const below = run(
          { op: 'below', threshold: 10 - th.threshold, clearThreshold: 10 - th.clearAt },
          f,
          mirrored,
        );
        expect(asRef(below.transitions)).toEqual(reference(sorted, th.threshold, th.clearAt, f));
        // outside(-100, th) never triggers low, so it is above(th).
        const outside = run({ op: 'outside', min: -100, max: th.threshold, clearMax: th.clearAt }, f, sorted);
        expect(asRef(outside.transitions)).toEqual(reference(sorted, th.threshold, th.clearAt, f));
      }),
      { numRuns: 200 },
    );
  });
});
