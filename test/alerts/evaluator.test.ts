import { describe, expect, it } from 'vitest';
import {
  compileRule,
  concerns,
  type EvalRule,
  type EvalState,
  INITIAL_STATE,
  resetState,
  type StepContext,
  stepPoint,
  sweepStale,
  type Transition,
} from '../../lambdas/core/alerts/evaluator.js';
import type { FieldValue } from '../../lambdas/core/model/point.js';

const ctx: StepContext = { now: 1_000_000 };

function feed(
  rule: EvalRule,
  points: [number, Record<string, FieldValue>][],
  start: EvalState = INITIAL_STATE,
  c: StepContext = ctx,
): { s: EvalState; out: Transition[] } {
  const compiled = compileRule(rule);
  let s = start;
  const out: Transition[] = [];
  for (const [t, fields] of points)
    if (concerns(compiled, s, fields)) s = stepPoint(compiled, s, t, fields, c, out);
  return { s, out };
}

const brief = (out: Transition[]) => out.map((t) => `${t.from}>${t.to}@${t.time}:${t.reason}`);
const temp = (v: number): Record<string, FieldValue> => ({ 'battery.temperature': v });
const above80: EvalRule = {
  field: 'battery.temperature',
  condition: { op: 'above', threshold: 80, clearThreshold: 75 },
  forMs: 0,
};

describe('value conditions', () => {
  it('fires once when crossing, stays in the band, clears below the clear threshold', () => {
    const { s, out } = feed(above80, [
      [1, temp(70)],
      [2, temp(81)],
      [3, temp(85)],
      [4, temp(78)],
      [5, temp(81)],
      [6, temp(75)],
      [7, temp(70)],
    ]);
    expect(brief(out)).toEqual(['OK>FIRING@2:condition-met', 'FIRING>OK@6:cleared']);
    expect(s).toMatchObject({ status: 'OK', since: 6, lastEventTime: 7, lastValue: 70 });
    expect(out[0]?.value).toBe(81);
  });

  it('`for` needs a point at or after since + for that still meets the condition', () => {
    const rule = { ...above80, forMs: 10 };
    expect(
      brief(
        feed(rule, [
          [0, temp(90)],
          [5, temp(90)],
          [10, temp(90)],
        ]).out,
      ),
    ).toEqual(['OK>PENDING@0:condition-met', 'PENDING>FIRING@10:held-for-duration']);
    // A dip (even into the band) cancels PENDING; the run restarts.
    expect(
      brief(
        feed(rule, [
          [0, temp(90)],
          [5, temp(78)],
          [8, temp(90)],
          [15, temp(90)],
          [18, temp(90)],
        ]).out,
      ),
    ).toEqual([
      'OK>PENDING@0:condition-met',
      'PENDING>OK@5:condition-ended',
      'OK>PENDING@8:condition-met',
      'PENDING>FIRING@18:held-for-duration',
    ]);
    // Silence does not fire: no evidence after the deadline.
    expect(feed(rule, [[0, temp(90)]]).s.status).toBe('PENDING');
  });

  it('ignores points without the field or with a value of another type', () => {
    const { s, out } = feed(above80, [
      [1, { other: 100 }],
      [2, { 'battery.temperature': 'hot' }],
    ]);
    expect(out).toEqual([]);
    expect(s).toBe(INITIAL_STATE);
  });

  it('late points change nothing; a point from the far past does not re-open a closed alert', () => {
    const closed = feed(above80, [
      [100, temp(90)],
      [200, temp(60)],
    ]);
    expect(brief(closed.out)).toEqual(['OK>FIRING@100:condition-met', 'FIRING>OK@200:cleared']);
    const late = feed(
      above80,
      [
        [150, temp(99)],
        [1, temp(99)],
      ],
      closed.s,
    );
    expect(late.out).toEqual([]);
    expect(late.s).toBe(closed.s);
  });

  it('points at the watermark time are applied; an exact duplicate is a no-op', () => {
    const a = feed(above80, [[10, temp(90)]]);
    const dup = feed(above80, [[10, temp(90)]], a.s);
    expect(dup.out).toEqual([]);
    expect(dup.s).toBe(a.s);
    const tie = feed(above80, [[10, temp(60)]], a.s);
    expect(brief(tie.out)).toEqual(['FIRING>OK@10:cleared']);
  });

  it('clamps future event times to the receive time', () => {
    const { s, out } = feed(above80, [[ctx.now + 3_600_000, temp(90)]]);
    expect(out[0]?.time).toBe(ctx.now);
    expect(s.lastEventTime).toBe(ctx.now);
  });

  it('equals on strings (state == "ERROR") with a separate clear condition', () => {
    const rule: EvalRule = {
      field: 'system_status.state',
      condition: { op: 'equals', value: 'ERROR' },
      clear: { op: 'equals', value: 'IDLE' },
      forMs: 0,
    };
    const st = (v: string): Record<string, FieldValue> => ({ 'system_status.state': v });
    expect(
      brief(
        feed(rule, [
          [1, st('CHARGING')],
          [2, st('ERROR')],
          [3, st('CHARGING')],
          [4, st('IDLE')],
        ]).out,
      ),
    ).toEqual(['OK>FIRING@2:condition-met', 'FIRING>OK@4:cleared']);
  });

  it('booleans: equals true', () => {
    const rule: EvalRule = { field: '001', condition: { op: 'equals', value: true }, forMs: 0 };
    expect(
      brief(
        feed(rule, [
          [1, { '001': false }],
          [2, { '001': true }],
          [3, { '001': false }],
        ]).out,
      ),
    ).toEqual(['OK>FIRING@2:condition-met', 'FIRING>OK@3:cleared']);
  });

  it('contains on an error flag list', () => {
    const rule: EvalRule = {
      field: 'system_status.error_flags',
      condition: { op: 'contains', value: 'OVERHEAT' },
      forMs: 0,
    };
    const f = (v: string): Record<string, FieldValue> => ({ 'system_status.error_flags': v });
    expect(
      brief(
        feed(rule, [
          [1, f('[]')],
          [2, f('["LOW_SOC"]')],
          [3, f('["LOW_SOC","OVERHEAT"]')],
          [4, f('[]')],
        ]).out,
      ),
    ).toEqual(['OK>FIRING@3:condition-met', 'FIRING>OK@4:cleared']);
  });
});

describe('changed', () => {
  it('the first value is a baseline; each change fires and resolves at once', () => {
    const rule: EvalRule = { field: 'system_status.mode', condition: { op: 'changed' }, forMs: 0 };
    const m = (v: string): Record<string, FieldValue> => ({ 'system_status.mode': v });
    const { s, out } = feed(rule, [
      [1, m('AUTO')],
      [2, m('AUTO')],
      [3, m('MANUAL')],
      [4, m('MANUAL')],
      [5, m('AUTO')],
    ]);
    expect(brief(out)).toEqual([
      'OK>FIRING@3:changed',
      'FIRING>OK@3:changed',
      'OK>FIRING@5:changed',
      'FIRING>OK@5:changed',
    ]);
    expect(s.status).toBe('OK');
    expect(out[0]?.value).toBe('MANUAL');
  });
});

describe('stale', () => {
  const rule: EvalRule = { field: '002', condition: { op: 'stale', afterMs: 300_000 }, forMs: 0 };
  const compiled = compileRule(rule);

  it('the sweep fires at the deadline (watermark + afterMs), not before', () => {
    const { s } = feed(rule, [[1_000, { '002': 20 }]], INITIAL_STATE, { now: 1_000 });
    const before: Transition[] = [];
    expect(sweepStale(s, 300_999, 300_000, before)).toBe(s);
    expect(before).toEqual([]);
    const out: Transition[] = [];
    const fired = sweepStale(s, 301_000, 300_000, out);
    expect(brief(out)).toEqual(['OK>FIRING@301000:stale']);
    expect(fired.status).toBe('FIRING');
    // A second sweep changes nothing.
    const again: Transition[] = [];
    expect(sweepStale(fired, 400_000, 300_000, again)).toBe(fired);
    expect(again).toEqual([]);
  });

  it('never goes stale without a first value', () => {
    const out: Transition[] = [];
    expect(sweepStale(INITIAL_STATE, 10 ** 12, 1000, out)).toBe(INITIAL_STATE);
    expect(out).toEqual([]);
  });

  it('fresh data ends it; back-filled old data does not', () => {
    const base = feed(rule, [[1_000, { '002': 20 }]], INITIAL_STATE, { now: 1_000 }).s;
    const out: Transition[] = [];
    const fired = sweepStale(base, 400_000, 300_000, out);
    // A buffered value from long ago (older than now - afterMs) arrives: still silent as of now.
    const old = feed(rule, [[2_000, { '002': 21 }]], fired, { now: 400_000 });
    expect(old.out).toEqual([]);
    expect(old.s.status).toBe('FIRING');
    expect(old.s.lastEventTime).toBe(2_000);
    const fresh = feed(rule, [[399_000, { '002': 22 }]], old.s, { now: 400_000 });
    expect(brief(fresh.out)).toEqual(['FIRING>OK@399000:fresh-data']);
  });

  it('takes its duration from the channel contract when the rule has none', () => {
    const r2 = compileRule({ field: '002', condition: { op: 'stale' }, forMs: 0 });
    expect(r2.staleAfterMs).toBeUndefined();
    expect(compiled.staleAfterMs).toBe(300_000);
  });
});

describe('device errors', () => {
  const rule: EvalRule = { field: 'device.errors', condition: { op: 'device_error' }, forMs: 0 };

  it('EMS error_flags: fires on non-empty, updates on change, clears on empty', () => {
    const f = (v: string): Record<string, FieldValue> => ({
      'system_status.error_flags': v,
      'battery.soc': 80,
    });
    const { s, out } = feed(rule, [
      [1, f('[]')],
      [2, f('["OVERHEAT"]')],
      [3, f('["OVERHEAT"]')],
      [4, f('["OVERHEAT","LOW_SOC"]')],
      [5, f('[]')],
    ]);
    expect(brief(out)).toEqual([
      'OK>FIRING@2:device-error',
      'FIRING>FIRING@4:errors-changed',
      'FIRING>OK@5:errors-cleared',
    ]);
    expect(out[0]?.errors).toEqual(['OVERHEAT']);
    expect(out[1]?.errors).toEqual(['LOW_SOC', 'OVERHEAT']);
    expect(s.errors).toBeUndefined();
  });

  it('ExoSense __error: a channel error ends when that channel reports without one', () => {
    const { s, out } = feed(rule, [
      [1, { '001': true, '004.__error': 'sensor disconnected' }],
      [2, { '001': false }],
      [3, { '002': 20, '002.__error': 'out of range' }],
      [4, { '004': 1 }],
      [5, { '002': 21 }],
    ]);
    expect(brief(out)).toEqual([
      'OK>FIRING@1:device-error',
      'FIRING>FIRING@3:errors-changed',
      'FIRING>FIRING@4:errors-changed',
      'FIRING>OK@5:errors-cleared',
    ]);
    expect(out[0]?.errors).toEqual(['004: sensor disconnected']);
    expect(out[1]?.errors).toEqual(['002: out of range', '004: sensor disconnected']);
    expect(s.status).toBe('OK');
  });

  it('is not concerned by points without error information while OK', () => {
    const c = compileRule(rule);
    expect(concerns(c, INITIAL_STATE, { 'battery.soc': 1 })).toBe(false);
    expect(concerns(c, INITIAL_STATE, { 'system_status.error_flags': '[]' })).toBe(true);
    expect(concerns(c, { status: 'FIRING', since: 0 }, { '004': 1 })).toBe(true);
  });
});

describe('resetState', () => {
  it('resolves an open alert with reason rule-changed and keeps the watermark', () => {
    const out: Transition[] = [];
    const s = resetState({ status: 'FIRING', since: 5, lastEventTime: 9, lastValue: 3 }, 100, out);
    expect(brief(out)).toEqual(['FIRING>OK@100:rule-changed']);
    expect(s).toEqual({ status: 'OK', since: 100, lastEventTime: 9, lastValue: 3 });
    const ok = { status: 'OK' as const, since: 0 };
    expect(resetState(ok, 1, [])).toBe(ok);
  });
});
