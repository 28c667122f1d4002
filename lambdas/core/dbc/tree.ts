/**
 * The multiplexing tree of a message, built the way the reference decoder builds its codecs: the root
 * holds signals without a switch; each switch signal maps each selector value to the node of signals
 * that value enables (switch values come from `m<n>`, `SG_MUL_VAL_` ranges and the switch's own value
 * table). Selector lookups use a map for small value sets and sorted intervals for huge ranges.
 */
import type { SignalPlan } from './signal-plan.js';

/** A set of signals decoded together, plus the switches among them. */
export interface MuxNode {
  readonly signals: readonly SignalPlan[];
  readonly muxes: readonly MuxSwitch[];
}

/** A switch signal and its branches. */
export interface MuxSwitch {
  readonly signal: SignalPlan;
  /** Branch for a selector value, if any. */
  branch(value: number): MuxNode | undefined;
  /** Every selector value with a branch, as sorted inclusive ranges (for messages and codegen). */
  readonly ranges: ReadonlyArray<readonly [number, number, MuxNode]>;
  /** Number of distinct selector values with a branch. */
  readonly valueCount: number;
}

/** Above this many selector values per switch, lookups use binary search instead of a map. */
const MAP_LIMIT = 4096;

/**
 * Build the tree. `signals` are the decodable signals of the message already sorted in decode order;
 * `switchOf` and `rangesOf` give each signal's switch name and selector ranges.
 */
export function buildTree(signals: readonly SignalPlan[]): MuxNode {
  const bySwitch = new Map<string, SignalPlan[]>();
  for (const s of signals) {
    const sw = s.source.multiplexerSignal;
    if (sw === undefined) continue;
    let list = bySwitch.get(sw);
    if (!list) {
      list = [];
      bySwitch.set(sw, list);
    }
    list.push(s);
  }
  const order = new Map<SignalPlan, number>(signals.map((s, k) => [s, k]));
  const memo = new Map<SignalPlan, MuxSwitch>();
  const building = new Set<SignalPlan>();

  const nodeOf = (members: SignalPlan[]): MuxNode => {
    const muxes: MuxSwitch[] = [];
    for (const s of members) {
      if (s.source.isMultiplexer) {
        // A switch with no selector values at all (no children, no value table) is decoded as a plain
        // signal, as in the reference: only switches with branches can fail.
        const sw = switchFor(s);
        if (sw && sw.ranges.length > 0) muxes.push(sw);
      }
    }
    return { signals: members, muxes };
  };

  const switchFor = (sw: SignalPlan): MuxSwitch | undefined => {
    const cached = memo.get(sw);
    if (cached) return cached;
    // A switch reachable from itself cannot come from a well-formed file; stop rather than loop.
    if (building.has(sw)) return undefined;
    building.add(sw);
    const children = (bySwitch.get(sw.name) ?? []).filter((c) => c.source.multiplexerRanges !== undefined);
    // Sweep the value line: at every range boundary (and around every value-table key of the switch)
    // the set of enabled children changes; each stretch with a constant set shares one node.
    const events = new Map<number, { add: SignalPlan[]; remove: SignalPlan[] }>();
    const at = (v: number) => {
      let e = events.get(v);
      if (!e) {
        e = { add: [], remove: [] };
        events.set(v, e);
      }
      return e;
    };
    for (const c of children) {
      for (const [lo, hi] of c.source.multiplexerRanges!) {
        at(lo).add.push(c);
        at(hi + 1).remove.push(c);
      }
    }
    const choiceSet = new Set<number>();
    if (sw.choices) {
      for (const k of sw.choices.keys()) {
        if (typeof k === 'number') {
          choiceSet.add(k);
          at(k);
          at(k + 1);
        }
      }
    }
    const points = [...events.keys()].sort((a, b) => a - b);
    const nodeCache = new Map<string, MuxNode>();
    const ranges: Array<[number, number, MuxNode]> = [];
    let valueCount = 0;
    const active = new Map<SignalPlan, number>();
    for (let k = 0; k + 1 < points.length; k++) {
      const ev = events.get(points[k]!)!;
      for (const c of ev.remove) {
        const n = (active.get(c) ?? 0) - 1;
        if (n <= 0) active.delete(c);
        else active.set(c, n);
      }
      for (const c of ev.add) active.set(c, (active.get(c) ?? 0) + 1);
      const lo = points[k]!;
      const hi = points[k + 1]! - 1;
      if (active.size === 0 && !(lo === hi && choiceSet.has(lo))) continue;
      const members = [...active.keys()].sort((a, b) => order.get(a)! - order.get(b)!);
      const key = members.map((m) => order.get(m)).join(',');
      let node = nodeCache.get(key);
      if (!node) {
        node = nodeOf(members);
        nodeCache.set(key, node);
      }
      const prev = ranges[ranges.length - 1];
      if (prev && prev[2] === node && prev[1] + 1 === lo) prev[1] = hi;
      else ranges.push([lo, hi, node]);
      valueCount += hi - lo + 1;
    }
    let branch: (v: number) => MuxNode | undefined;
    if (valueCount <= MAP_LIMIT) {
      const map = new Map<number, MuxNode>();
      for (const [lo, hi, node] of ranges) for (let v = lo; v <= hi; v++) map.set(v, node);
      branch = (v) => map.get(v);
    } else {
      branch = (v) => {
        let a = 0;
        let b = ranges.length - 1;
        while (a <= b) {
          const mid = (a + b) >> 1;
          const r = ranges[mid]!;
          if (v < r[0]) b = mid - 1;
          else if (v > r[1]) a = mid + 1;
          else return r[2];
        }
        return undefined;
      };
    }
    const result: MuxSwitch = { signal: sw, branch, ranges, valueCount };
    memo.set(sw, result);
    building.delete(sw);
    return result;
  };

  return nodeOf(signals.filter((s) => s.source.multiplexerSignal === undefined));
}

/** "1, 2 or 5-9": the selector values of a switch, for error messages. */
export function describeValues(sw: MuxSwitch): string {
  const items: string[] = [];
  for (const [lo, hi] of sw.ranges) {
    if (hi - lo < 3) for (let v = lo; v <= hi; v++) items.push(String(v));
    else items.push(`${lo}-${hi}`);
  }
  if (items.length === 0) return 'none';
  if (items.length === 1) return items[0]!;
  return `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}
