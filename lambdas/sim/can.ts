/**
 * CAN traffic from a DBC file: frames whose signal values are random within each signal's declared
 * `[min|max]` (or its bit range when the DBC declares none) and its length, or taken from a script, encoded
 * with the DBC engine's own encoder. Multiplexed messages get a selector value that one of their branches
 * uses, so every generated frame decodes completely.
 */
import { dlcToLength } from '../core/codecs/flexconnect-binary.js';
import type { CompiledDbc, CompiledMessage, DbcSignal } from '../core/dbc/index.js';
import { encodeMessage } from '../core/dbc/index.js';
import { EncodeError } from '../core/errors.js';
import type { CanFrame } from '../core/model/point.js';
import type { Rng } from './rng.js';

/** Physical signal values of one message. */
export type SignalValues = Record<string, number | bigint>;

/** Largest raw magnitude produced on the floating-point path (beyond it float rounding could move the raw value). */
const SAFE_RAW = 2 ** 48;

/** Frame payload lengths FlexConnect binary can carry (CAN and CAN FD DLC codes). */
function paddedLength(length: number): number {
  for (let dlc = 0; dlc <= 15; dlc++) {
    const n = dlcToLength(dlc);
    if (n >= length) return n;
  }
  return 64;
}

/** The raw integer range a signal's bits can hold. */
function bitRange(s: DbcSignal): { min: bigint; max: bigint } {
  const len = BigInt(s.length);
  return s.signed
    ? { min: -(1n << (len - 1n)), max: (1n << (len - 1n)) - 1n }
    : { min: 0n, max: (1n << len) - 1n };
}

/** Math.max/min for BigInt (Math's versions take numbers only). */
function bigMax(a: bigint, b: bigint): bigint {
  return a >= b ? a : b;
}
function bigMin(a: bigint, b: bigint): bigint {
  return a <= b ? a : b;
}

function ceilBig(x: number): bigint {
  return BigInt(Math.ceil(x));
}
function floorBig(x: number): bigint {
  return BigInt(Math.floor(x));
}

/** The raw range to draw from: the declared physical range mapped to raw, inside the bit range. */
export function rawRange(s: DbcSignal): { min: bigint; max: bigint } {
  const bits = bitRange(s);
  let { min, max } = bits;
  if (s.minimum < s.maximum && s.factor !== 0 && Number.isFinite(s.factor)) {
    const a = (s.minimum - s.offset) / s.factor;
    const b = (s.maximum - s.offset) / s.factor;
    const lo = Math.min(a, b);
    const hi = Math.max(a, b);
    if (Number.isFinite(lo) && Number.isFinite(hi)) {
      // A tiny tolerance so a declared bound that is exactly a raw step survives float division.
      const cl = ceilBig(lo - 1e-9);
      const fl = floorBig(hi + 1e-9);
      const nmin = bigMax(cl, min);
      const nmax = bigMin(fl, max);
      if (nmin <= nmax) {
        min = nmin;
        max = nmax;
      }
    }
  }
  return { min, max };
}

function isIdentity(s: DbcSignal): boolean {
  return s.factor === 1 && s.offset === 0;
}

/** The physical value of raw `raw`, as the encoder wants it (BigInt when a number would lose digits). */
export function physicalOf(s: DbcSignal, raw: bigint): number | bigint {
  if (s.integerScaling && (raw > BigInt(Number.MAX_SAFE_INTEGER) || raw < -BigInt(Number.MAX_SAFE_INTEGER))) {
    const f = s.factorExact ?? BigInt(s.factor);
    return raw * f + BigInt(s.offset);
  }
  if (isIdentity(s)) return Number(raw);
  return Number(raw) * s.factor + s.offset;
}

/** A random physical value for one signal. */
export function randomSignalValue(s: DbcSignal, rng: Rng): number | bigint {
  if (s.valueType !== 'integer') {
    const lo = s.minimum < s.maximum ? s.minimum : -1000;
    const hi = s.minimum < s.maximum ? s.maximum : 1000;
    // float16 holds ±65504; keep generated values well inside it.
    const cap = s.valueType === 'float16' ? 60_000 : Number.MAX_VALUE;
    return Math.round(rng.float(Math.max(lo, -cap), Math.min(hi, cap)) * 1000) / 1000;
  }
  let { min, max } = rawRange(s);
  if (!s.integerScaling) {
    // Scaled by a fraction: stay where raw × factor round-trips exactly through doubles.
    const cap = BigInt(SAFE_RAW);
    if (min < -cap) min = -cap;
    if (max > cap) max = cap;
    if (min > max) max = min;
  }
  const span = max - min;
  const raw =
    span <= BigInt(Number.MAX_SAFE_INTEGER) ? min + BigInt(rng.int(0, Number(span))) : rng.bigint(min, max);
  return physicalOf(s, raw);
}

/** The value closest to 0 that a signal can hold (the start value of scripted signals). */
export function restValue(s: DbcSignal): number | bigint {
  if (s.valueType !== 'integer')
    return s.minimum < s.maximum ? Math.min(Math.max(0, s.minimum), s.maximum) : 0;
  const { min, max } = rawRange(s);
  const zero = s.factor !== 0 ? BigInt(Math.round(-s.offset / s.factor)) : 0n;
  const raw = zero < min ? min : zero > max ? max : zero;
  return physicalOf(s, raw);
}

function selectorValue(v: number | bigint | undefined): number {
  return typeof v === 'bigint' ? Number(v) : Math.trunc(v ?? 0);
}

/** True when `s` is encoded given the selector values in `values` (nested multiplexers included). */
function isActive(s: DbcSignal, byName: Map<string, DbcSignal>, values: SignalValues, depth = 0): boolean {
  if (s.multiplexerSignal === undefined) return true;
  const sw = byName.get(s.multiplexerSignal);
  if (!sw || depth > 16) return false;
  if (!isActive(sw, byName, values, depth + 1)) return false;
  const sel = selectorValue(values[sw.name]);
  return (s.multiplexerRanges ?? []).some(([lo, hi]) => sel >= lo && sel <= hi);
}

/** A generator of frames for the messages of one compiled DBC. */
export class CanTraffic {
  private readonly messages: readonly CompiledMessage[];
  private readonly state = new Map<string, SignalValues>();

  /**
   * @param dbc the compiled DBC
   * @param only message names to send (default: every message that has decodable signals)
   * @param bus the bus number written in every reading (0–7)
   */
  constructor(
    readonly dbc: CompiledDbc,
    only: readonly string[] | undefined,
    readonly bus = 0,
  ) {
    if (only && only.length > 0) {
      const picked: CompiledMessage[] = [];
      for (const name of only) {
        const m = dbc.getMessage(name);
        if (!m) throw new EncodeError('DBC_ENCODE_ERROR', `no message "${name}" in the DBC`);
        picked.push(m);
      }
      this.messages = picked;
    } else {
      this.messages = dbc.messages.filter((m) => m.signals.length > 0);
    }
    if (this.messages.length === 0)
      throw new EncodeError('DBC_ENCODE_ERROR', 'the DBC has no message with signals');
  }

  /** Names of the messages this generator sends. */
  get messageNames(): string[] {
    return this.messages.map((m) => m.name);
  }

  /** Random values for every signal of `m`, with multiplexer selectors that pick an existing branch. */
  randomValues(m: CompiledMessage, rng: Rng): SignalValues {
    const values: SignalValues = Object.create(null) as SignalValues;
    const signals = m.source.signals;
    for (const s of signals) {
      if (!s.isMultiplexer) continue;
      // Selector values some dependent signal uses; a free random value when none refers to it.
      const ranges = signals
        .filter((d) => d.multiplexerSignal === s.name)
        .flatMap((d) => d.multiplexerRanges ?? []);
      const bits = bitRange(s);
      const usable = ranges
        .map(([lo, hi]) => [Math.max(lo, Number(bits.min)), Math.min(hi, Number(bits.max))] as const)
        .filter(([lo, hi]) => lo <= hi);
      if (usable.length > 0) {
        const [lo, hi] = rng.pick(usable);
        values[s.name] = physicalOf(s, BigInt(rng.int(lo, hi)));
      } else values[s.name] = randomSignalValue(s, rng);
    }
    for (const s of signals) if (!s.isMultiplexer) values[s.name] = randomSignalValue(s, rng);
    return values;
  }

  /** Encode one frame of `m` from physical values (signals the selectors leave out are ignored). */
  encode(m: CompiledMessage, values: SignalValues, time: number): CanFrame {
    const byName = new Map(m.source.signals.map((s) => [s.name, s]));
    const active: SignalValues = Object.create(null) as SignalValues;
    for (const s of m.source.signals) {
      if (m.skipped.includes(s.name)) continue;
      const v = values[s.name];
      if (v !== undefined && isActive(s, byName, values)) active[s.name] = v;
    }
    const bytes = encodeMessage(this.dbc, m.name, active, { strict: false });
    const data = new Uint8Array(paddedLength(bytes.length));
    data.set(bytes);
    return { time, bus: this.bus, id: m.id, extended: m.extended, dlc: dlcLengthCode(data.length), data };
  }

  /** One frame of every message, with random values. */
  randomFrames(time: number, rng: Rng): CanFrame[] {
    return this.messages.map((m) => this.encode(m, this.randomValues(m, rng), time));
  }

  /**
   * Frames of the messages a script step names. A step gives physical values by message and signal; a
   * signal the step leaves out keeps its previous scripted value (at first, the value closest to 0).
   */
  scriptedFrames(step: Record<string, Record<string, number>>, time: number): CanFrame[] {
    const frames: CanFrame[] = [];
    for (const name of Object.keys(step)) {
      const m = this.dbc.getMessage(name);
      if (!m)
        throw new EncodeError('DBC_ENCODE_ERROR', `script names message "${name}", which the DBC lacks`);
      let values = this.state.get(m.name);
      if (!values) {
        values = Object.create(null) as SignalValues;
        for (const s of m.source.signals) values[s.name] = restValue(s);
        this.state.set(m.name, values);
      }
      const given = step[name] ?? {};
      for (const sig of Object.keys(given)) {
        if (!m.source.signals.some((s) => s.name === sig)) {
          throw new EncodeError('DBC_ENCODE_ERROR', `script names signal "${sig}", which ${m.name} lacks`);
        }
        values[sig] = given[sig] as number;
      }
      frames.push(this.encode(m, values, time));
    }
    return frames;
  }
}

function dlcLengthCode(length: number): number {
  for (let dlc = 0; dlc <= 15; dlc++) if (dlcToLength(dlc) === length) return dlc;
  return 15;
}
