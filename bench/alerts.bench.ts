/**
 * Alert evaluation cost per point, state I/O excluded: a tenant with 100 rules (thresholds with
 * hysteresis and `for`, ranges, string equality, error-flag lists, changed, stale, the built-in
 * device-error rule), EMS-style points with 15 fields whose values wander across the thresholds.
 * Per point: find the candidate rules (index by field + scope check), then run each one's state machine
 * on its in-memory state.
 *
 * Target (issue 6): under 5 µs per point per matching rule. The floor, measured in the same run, is the
 * least any evaluator must do: look each matching rule's field up and compare it with a threshold.
 */
import { builtinRules } from '../lambdas/core/alerts/builtin.js';
import {
  concerns,
  type EvalState,
  INITIAL_STATE,
  stepPoint,
  type Transition,
} from '../lambdas/core/alerts/evaluator.js';
import { type AlertRule, RuleInput, type RuleInputIn } from '../lambdas/core/alerts/rule.js';
import { type DeviceInfo, RuleSet } from '../lambdas/core/alerts/rule-set.js';
import type { FieldValue } from '../lambdas/core/model/point.js';
import { bench, report } from './harness.js';

const NUMERIC = [
  'battery.voltage',
  'battery.current',
  'battery.power',
  'battery.soc',
  'battery.temperature',
  'grid.voltage',
  'grid.power',
  'grid.frequency',
  'system_status.wifi_strength',
  'pv.power',
];

/** 100 rules: 99 configured + the built-in device-error rule. */
function tenantRules(): AlertRule[] {
  const inputs: RuleInputIn[] = [];
  for (let i = 0; i < 70; i++) {
    const field = NUMERIC[i % NUMERIC.length] as string;
    const t = 40 + (i % 20);
    const kind = i % 3;
    inputs.push({
      name: `r${i}`,
      field,
      scope: i % 10 === 0 ? { kind: 'tag', key: 'site', value: 'north' } : { kind: 'all' },
      condition:
        kind === 0
          ? { op: 'above', threshold: t, clearThreshold: t - 5 }
          : kind === 1
            ? { op: 'below', threshold: t - 20, clearThreshold: t - 15 }
            : { op: 'outside', min: t - 30, max: t + 10, clearMin: t - 28, clearMax: t + 8 },
      forMs: i % 4 === 0 ? 5000 : 0,
    });
  }
  for (let i = 0; i < 10; i++) {
    inputs.push({
      name: `s${i}`,
      field: 'system_status.state',
      condition: { op: 'equals', value: i % 2 ? 'ERROR' : 'FULL' },
    });
  }
  for (let i = 0; i < 8; i++) {
    inputs.push({
      name: `f${i}`,
      field: 'system_status.error_flags',
      condition: { op: 'contains', value: `FLAG_${i}` },
    });
  }
  for (let i = 0; i < 6; i++)
    inputs.push({ name: `c${i}`, field: 'system_status.mode', condition: { op: 'changed' } });
  for (let i = 0; i < 5; i++) {
    inputs.push({ name: `t${i}`, field: NUMERIC[i] as string, condition: { op: 'stale', afterMs: 60_000 } });
  }
  return [
    ...builtinRules('bench'),
    ...inputs.map((input, i) => ({
      ...RuleInput.parse(input),
      id: `rule_${String(i).padStart(3, '0')}`,
      tenant: 'bench',
      createdAt: 0,
      updatedAt: 0,
      version: 1,
    })),
  ];
}

/** 256 EMS-style points of one device, values wandering across the thresholds. */
function points(): { time: number; fields: Record<string, FieldValue> }[] {
  const out: { time: number; fields: Record<string, FieldValue> }[] = [];
  let seed = 12345;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  for (let i = 0; i < 256; i++) {
    const fields: Record<string, FieldValue> = {};
    for (const f of NUMERIC) fields[f] = Math.round(rnd() * 1000) / 10;
    fields['system_status.state'] = ['CHARGING', 'FULL', 'ERROR', 'IDLE'][i % 4] as string;
    fields['system_status.mode'] = i % 16 < 8 ? 'AUTO' : 'MANUAL';
    fields['system_status.error_flags'] = i % 32 < 4 ? '["FLAG_1","FLAG_3"]' : '[]';
    fields['device.id'] = 'ems_001';
    out.push({ time: 1_780_000_000_000 + i * 1000, fields });
  }
  return out;
}

/** Run the benchmark. */
export async function run(): Promise<void> {
  const rules = tenantRules();
  const set = new RuleSet(rules);
  const device: DeviceInfo = { deviceId: 'ems_001', tags: { site: 'north' } };
  const pts = points();
  const states = new Map<string, EvalState>();
  const out: Transition[] = [];
  let matched = 0;
  let transitions = 0;
  let base = 0;

  // One pass to count matching rules per point (what "per matching rule" divides by).
  for (const p of pts) {
    for (const e of set.candidates(device, [p.fields]))
      if (concerns(e.compiled, INITIAL_STATE, p.fields)) matched++;
  }
  const matchingPerPoint = matched / pts.length;

  const evaluate = bench(
    `evaluate 1 point, ${set.size} rules`,
    (i) => {
      const k = i & 255;
      const p = pts[k] as (typeof pts)[number];
      // Times keep increasing across passes, so no point is ever late.
      const time = p.time + Math.floor(i / 256) * 256_000;
      const ctx = { now: time + 1000, staleAfterMs: undefined };
      out.length = 0;
      for (const e of set.candidates(device, [p.fields])) {
        const s = states.get(e.rule.id) ?? INITIAL_STATE;
        if (!concerns(e.compiled, s, p.fields)) continue;
        const next = stepPoint(e.compiled, s, time, p.fields, ctx, out);
        if (next !== s) states.set(e.rule.id, next);
      }
      transitions += out.length;
      return out.length;
    },
    800,
  );

  // The floor: for each matching rule, look the field up and compare it with a number.
  const fieldsByRule = set.entries.filter((e) => e.compiled.kind === 'value').map((e) => e.rule.field);
  const floor = bench(
    `floor: ${Math.round(matchingPerPoint)} lookups + compares`,
    (i) => {
      const p = pts[i & 255] as (typeof pts)[number];
      let n = 0;
      for (let r = 0; r < matchingPerPoint; r++) {
        const v = p.fields[fieldsByRule[r % fieldsByRule.length] as string];
        if (typeof v === 'number' && v > 50) n++;
      }
      base += n;
      return n;
    },
    400,
  );

  report(floor);
  report(evaluate, floor);
  const perRule = evaluate.nsPerOp / matchingPerPoint;
  console.log(
    `  ${matchingPerPoint.toFixed(1)} matching rules per point → ${(perRule / 1000).toFixed(3)} µs per point per matching rule ` +
      `(target < 5 µs: ${perRule < 5000 ? 'met' : 'NOT met'}); ${transitions} transitions during the run`,
  );
  if (base < 0) console.log(base);
}
