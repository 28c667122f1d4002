/**
 * A deterministic fuzzer for every codec, driven through `decodePayload` (explicit format and `auto`).
 *
 * Each case is rebuilt from (seed, index) alone, so a failure is reproduced with
 * `FUZZ_SEED=<seed> FUZZ_CASE=<index> npm run fuzz -- <format>`. Inputs mix:
 * - valid messages from each codec's encoder (random structure, hostile names and values included);
 * - the golden fixtures of test/fixtures/codecs/<format>/ (accepted and malformed);
 * - byte mutations of both (bit flips, interesting integers, inserts, deletes, splices, truncation,
 *   JSON tokens), applied inside gzip / `0xFC` / `{"b64"}` envelopes too, then re-wrapped, so the
 *   mutation reaches the parser instead of dying on a checksum;
 * - random bytes, bare and behind each format's first bytes.
 *
 * The oracle: a decode returns a result that satisfies every model invariant, or throws a
 * FleetwireError; anything else (TypeError, RangeError from a stack overflow, a prototype write, an
 * invalid point, a case slower than the time limit) is a failure.
 *
 * No vitest import: this module runs under `npm run fuzz` (tsx) and inside a vitest test.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { encodeDialtone } from '../../lambdas/core/codecs/dialtone.js';
import { encodeEms } from '../../lambdas/core/codecs/ems.js';
import { encodeExosense } from '../../lambdas/core/codecs/exosense.js';
import { dlcToLength, encodeFlexconnectBinary } from '../../lambdas/core/codecs/flexconnect-binary.js';
import { encodeFlexconnectJson } from '../../lambdas/core/codecs/flexconnect-json.js';
import { decodePayload } from '../../lambdas/core/codecs/index.js';
import { encodeProtobuf } from '../../lambdas/core/codecs/protobuf.js';
import { isFleetwireError } from '../../lambdas/core/errors.js';
import { DEFAULT_LIMITS, type DecodeLimits } from '../../lambdas/core/limits.js';
import type {
  DecodeContext,
  DecodeResult,
  FieldValue,
  FormatSelector,
  PayloadFormat,
} from '../../lambdas/core/model/point.js';

const FIXTURES = join(import.meta.dirname, '../fixtures/codecs');
const SIDECAR = /\.(ctx|expected|error)\.json$/;
const CTX: DecodeContext = { device: 'fuzz-device', receivedAt: 1769860801000 };
const T0 = 1622547800000;

// ------------------------------------------------------------------------------------------------
// Randomness: one small PRNG per case, seeded from (seed, index).
// ------------------------------------------------------------------------------------------------

/** A seeded PRNG (mulberry32) with helpers. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }
  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
  /** `n` random bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
}

/** Seed of case `index` under run seed `seed` (both 32-bit). */
export function caseSeed(seed: number, index: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ index, 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

// ------------------------------------------------------------------------------------------------
// Valid-ish messages from each encoder. Names and values include hostile ones on purpose.
// ------------------------------------------------------------------------------------------------

const NAMES = [
  'temperature',
  'humidity',
  'voltage',
  'soc',
  'state',
  'a',
  'b',
  'x1',
  '001',
  '003',
  'lat',
  'lng',
];
const HOSTILE_NAMES = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  '',
  'a.b',
  '__error',
  'n'.repeat(300),
  'é😀',
];

function name(r: Rng): string {
  if (r.chance(0.05)) return r.pick(HOSTILE_NAMES);
  if (r.chance(0.7)) return r.pick(NAMES);
  return Math.floor(r.next() * 1e6).toString(36);
}

function number(r: Rng): number {
  switch (r.int(6)) {
    case 0:
      return r.int(1000) - 500;
    case 1:
      return (r.next() - 0.5) * 1e6;
    case 2:
      return r.pick([0, -0, 1e308, -1e308, 5e-324, 2 ** 53 - 1, 2 ** 53 + 2, -(2 ** 63)]);
    default:
      return Math.round(r.next() * 10000) / 100;
  }
}

function scalar(r: Rng): FieldValue {
  const k = r.int(10);
  if (k < 6) return number(r);
  if (k < 9)
    return r.chance(0.05) ? 's'.repeat(2100) : r.pick(['CHARGING', 'AUTO', '', 'ok', 'é😀', '\u0000']);
  return r.chance(0.5);
}

function time(r: Rng): number {
  return r.chance(0.97) ? T0 + r.int(1e9) : r.pick([0, -1, 1622547800, 4102444800001, 2 ** 53]);
}

function tags(r: Rng): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = r.int(3); i > 0; i--) out[r.pick(NAMES)] = r.pick(['north', 'a', '', 'x'.repeat(10)]);
  return out;
}

type Gen = (r: Rng) => Uint8Array;

const GENERATORS: Record<PayloadFormat, Gen> = {
  'flexconnect-json': (r) =>
    encodeFlexconnectJson(
      {
        device_id: r.chance(0.9) ? 'dev-1' : '',
        token: 'tok-SENTINEL',
        tags: r.chance(0.5) ? [tags(r)] : [],
        points: Array.from({ length: r.int(5) }, () => ({
          timestamp: time(r),
          tags: [tags(r)],
          fields: Array.from({ length: 1 + r.int(6) }, () => ({ name: name(r), value: scalar(r) })),
        })),
      },
      { compress: r.chance(0.3) },
    ),
  'flexconnect-binary': (r) =>
    encodeFlexconnectBinary(
      {
        token: r.chance(0.9) ? 'tok-SENTINEL' : '',
        points: Array.from({ length: r.int(5) }, () => ({
          timestamp: time(r) >= 0 ? time(r) : T0,
          readings: Array.from({ length: r.int(6) }, () => {
            const extended = r.chance(0.4);
            const len = dlcToLength(r.int(16));
            return {
              id: extended ? r.int(0x20000000) : r.int(0x800),
              extended,
              bus: r.int(8),
              data: r.bytes(len),
            };
          }),
        })),
      },
      { compress: r.chance(0.3) },
    ),
  ems: (r) =>
    encodeEms({
      deviceId: r.chance(0.9) ? 'ems_001' : undefined,
      timestamp: r.chance(0.9) ? T0 + r.int(1e9) : undefined,
      data: {
        system_status: {
          state: 'CHARGING',
          mode: 'AUTO',
          error_flags: r.chance(0.5) ? [] : ['OVERHEAT'],
          wifi_strength: -45,
        },
        battery: { voltage: number(r), current: number(r), soc: r.int(101) },
        [name(r)]: r.chance(0.5) ? scalar(r) : { [name(r)]: scalar(r), [name(r)]: null },
      },
    }),
  exosense: (r) =>
    encodeExosense(
      {
        channels: Object.fromEntries(
          Array.from({ length: 1 + r.int(6) }, () => [
            name(r),
            r.chance(0.2)
              ? { lat: number(r), lng: number(r) }
              : r.chance(0.1)
                ? [scalar(r), scalar(r)]
                : scalar(r),
          ]),
        ),
        errors: r.chance(0.2) ? { '001': 'sensor fault' } : undefined,
      },
      { asString: r.chance(0.2) },
    ),
  dialtone: (r) =>
    encodeDialtone({
      devId: '000102030405060708090a0b0c0d0e0f',
      dts: r.chance(0.9) ? 1536783776 + r.int(1e6) : r.pick([0, -1, 2 ** 33]),
      devData: r.chance(0.7) ? { bat: number(r), temp: number(r), [name(r)]: scalar(r) } : undefined,
      chans: Array.from({ length: r.int(4) }, (_, ch) => ({
        chIdx: r.chance(0.95) ? ch : r.pick([-1, 1.5, 2 ** 40]),
        data: Array.from({ length: 1 + r.int(3) }, (_, d) => ({
          dataIdx: d,
          units: r.int(20),
          val: scalar(r),
        })),
      })),
    }),
  protobuf: (r) =>
    encodeProtobuf(
      {
        deviceId: r.chance(0.9) ? 'dev-1' : undefined,
        token: 'tok-SENTINEL',
        tags: tags(r),
        points: Array.from({ length: r.int(4) }, () => ({
          timestamp: r.chance(0.95) ? T0 + r.int(1e9) : 0,
          tags: tags(r),
          fields: Object.fromEntries(Array.from({ length: 1 + r.int(5) }, () => [name(r), scalar(r)])),
        })),
      },
      { doublesOnly: r.chance(0.3) },
    ),
};

/** A valid-ish message of `format`, or undefined when the encoder refused what the generator built. */
function generate(format: PayloadFormat, r: Rng): Uint8Array | undefined {
  try {
    return GENERATORS[format](r);
  } catch (e) {
    if (isFleetwireError(e)) return undefined; // an EncodeError for a hostile value is fine
    throw e;
  }
}

// ------------------------------------------------------------------------------------------------
// Mutations
// ------------------------------------------------------------------------------------------------

const JSON_TOKENS = [
  '{',
  '}',
  '[',
  ']',
  '"',
  ',',
  ':',
  'null',
  'true',
  '1e999',
  '-1e999',
  '-0',
  '0.5',
  '9007199254740993',
  '"__proto__"',
  '"constructor"',
  '"prototype"',
  '"b64"',
  '"points"',
  '"fields"',
  '"tags"',
  '"timestamp"',
  '"dev"',
  '"chans"',
  '"__error"',
  '"\\u0000"',
  '"\\ud800"',
  '[[[[[[[[[[[[[[[[[[[[',
  '{"a":{"a":{"a":{"a":',
  '"H4sIAAAAAAAA/w=="',
  '""',
];
const INTERESTING_U32 = [
  0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff, 12, 13, 1024,
  1025,
];

/** Replacement values for structural JSON mutations: wrong types, hostile keys, extremes, depth. */
function hostileValue(r: Rng, depth = 0): unknown {
  switch (r.int(12)) {
    case 0:
      return null;
    case 1:
      return r.pick([0, -1, 1e308, -1e308, 2 ** 53 + 2, 0.5, 1622547800000, 4102444800001, 1622547800]);
    case 2:
      return r.pick(['', 'x'.repeat(3000), '2026-01-31T12:00:01Z', '2026-02-30T00:00:00Z', '\u0000', 'é😀']);
    case 3:
      return r.chance(0.5);
    case 4:
      return [];
    case 5:
      return {};
    case 6: {
      // deep nesting
      let v: unknown = 1;
      for (let i = 20 + r.int(40); i > 0; i--) v = r.chance(0.5) ? [v] : { a: v };
      return v;
    }
    case 7:
      return Array.from({ length: 1 + r.int(300) }, () => (r.chance(0.5) ? 1 : { name: 'a', value: 1 }));
    case 8: {
      const o: Record<string, unknown> = {};
      Object.defineProperty(o, r.pick(HOSTILE_NAMES), {
        value: depth < 3 ? hostileValue(r, depth + 1) : 1,
        enumerable: true,
      });
      return o;
    }
    default:
      return depth < 3 ? { [name(r)]: hostileValue(r, depth + 1) } : 'leaf';
  }
}

/** Parse JSON text, change one random node (replace, delete, add a key), write it back; undefined if not JSON. */
function mutateJsonStructure(input: Uint8Array, r: Rng): Uint8Array | undefined {
  let root: unknown;
  try {
    root = JSON.parse(Buffer.from(input).toString('utf8'));
  } catch {
    return undefined;
  }
  const holder: { v: unknown } = { v: root };
  let parent: Record<string, unknown> | unknown[] = holder as unknown as Record<string, unknown>;
  let key: string | number = 'v';
  // Walk down a random path.
  for (let depth = 0; depth < 12; depth++) {
    const node: unknown = (parent as Record<string | number, unknown>)[key];
    if (node === null || typeof node !== 'object' || r.chance(0.25)) break;
    const keys: Array<string | number> = Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node);
    if (keys.length === 0) break;
    parent = node as Record<string, unknown>;
    key = r.pick(keys);
  }
  const op = r.int(4);
  if (op === 0 && !Array.isArray(parent) && parent !== (holder as unknown))
    delete (parent as Record<string, unknown>)[key];
  else if (op === 1 && !Array.isArray(parent)) {
    Object.defineProperty(parent, r.chance(0.3) ? r.pick(HOSTILE_NAMES) : name(r), {
      value: hostileValue(r),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else (parent as Record<string | number, unknown>)[key] = hostileValue(r);
  return Buffer.from(JSON.stringify(holder.v) ?? 'null', 'utf8');
}

function looksLikeText(b: Uint8Array): boolean {
  const c = b[0];
  return c === 0x7b || c === 0x22 || c === 0x5b || c === 0x20 || c === 0x0a || c === 0xef;
}

function mutateBytes(input: Uint8Array, r: Rng, corpus: readonly Uint8Array[]): Uint8Array {
  if (looksLikeText(input) && r.chance(0.4)) {
    const structural = mutateJsonStructure(input, r);
    if (structural) return structural;
  }
  // Text inputs get mostly printable ASCII so mutations reach the parser instead of the UTF-8 check.
  const text = looksLikeText(input) && r.chance(0.9);
  const byte = () => (text ? 0x20 + r.int(0x5f) : r.int(256));
  let b = Buffer.from(input);
  const rounds = 1 + r.int(4);
  for (let k = 0; k < rounds; k++) {
    const at = b.length === 0 ? 0 : r.int(b.length);
    switch (r.int(10)) {
      case 0: // bit flip
        if (b.length > 0) b[at] = (b[at] as number) ^ (1 << r.int(text ? 7 : 8));
        break;
      case 1: // random byte
        if (b.length > 0) b[at] = byte();
        break;
      case 2: {
        // interesting integer, either endianness, width 1/2/4
        const v = r.pick(INTERESTING_U32);
        const width = r.pick([1, 2, 4]);
        const w = Buffer.alloc(4);
        if (r.chance(0.5)) w.writeUInt32LE(v >>> 0);
        else w.writeUInt32BE(v >>> 0);
        const part = r.chance(0.5) ? w.subarray(0, width) : w.subarray(4 - width);
        b = Buffer.concat([b.subarray(0, at), part, b.subarray(Math.min(b.length, at + width))]);
        break;
      }
      case 3: // insert random bytes
        b = Buffer.concat([
          b.subarray(0, at),
          Uint8Array.from({ length: 1 + r.int(8) }, byte),
          b.subarray(at),
        ]);
        break;
      case 4: // delete a range
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + r.int(16)))]);
        break;
      case 5: // truncate
        b = b.subarray(0, at);
        break;
      case 6: {
        // duplicate a range
        const len = 1 + r.int(32);
        b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + len), b.subarray(at)]);
        break;
      }
      case 7: {
        // splice the tail of another corpus item
        const other = r.pick(corpus);
        b = Buffer.concat([b.subarray(0, at), other.subarray(other.length === 0 ? 0 : r.int(other.length))]);
        break;
      }
      default: {
        // JSON token insert or replace
        const tok = Buffer.from(r.pick(JSON_TOKENS), 'utf8');
        const cut = r.chance(0.5) ? 0 : r.int(8);
        b = Buffer.concat([b.subarray(0, at), tok, b.subarray(Math.min(b.length, at + cut))]);
      }
    }
  }
  return b;
}

type Envelope = { inner: Buffer; wrap: (inner: Uint8Array) => Uint8Array };

/** Open a gzip / 0xFC / {"b64"} envelope so mutations can hit what is inside; undefined if none. */
function openEnvelope(bytes: Uint8Array): Envelope | undefined {
  const gunzip = (b: Uint8Array) => {
    try {
      return gunzipSync(b, { maxOutputLength: 2 * 1024 * 1024 });
    } catch {
      return undefined;
    }
  };
  if (bytes[0] === 0xfc) {
    const inner = gunzip(bytes.subarray(1));
    return inner && { inner, wrap: (m) => Buffer.concat([Buffer.of(0xfc), gzipSync(m)]) };
  }
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) {
    const inner = gunzip(bytes);
    return inner && { inner, wrap: (m) => gzipSync(m) };
  }
  if (bytes.length < 64 * 1024 && bytes[0] === 0x7b && bytes.includes(0x62) /* b */) {
    try {
      const v = JSON.parse(Buffer.from(bytes).toString('utf8')) as { b64?: unknown };
      if (typeof v.b64 === 'string' && Object.keys(v).length === 1) {
        const inner = gunzip(Buffer.from(v.b64, 'base64'));
        return (
          inner && {
            inner,
            wrap: (m) => Buffer.from(JSON.stringify({ b64: gzipSync(m).toString('base64') })),
          }
        );
      }
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function mutate(input: Uint8Array, r: Rng, corpus: readonly Uint8Array[]): Uint8Array {
  const env = r.chance(0.7) ? openEnvelope(input) : undefined;
  if (env) return env.wrap(mutateBytes(env.inner, r, corpus));
  return mutateBytes(input, r, corpus);
}

const PREFIXES: readonly Uint8Array[] = [
  Buffer.of(0xfc),
  Buffer.of(0x1f, 0x8b, 0x08, 0x00),
  Buffer.of(0, 0, 0, 0),
  Buffer.of(0, 0, 0, 4),
  Buffer.from('{', 'utf8'),
  Buffer.from('{"points":[', 'utf8'),
  Buffer.from('{"b64":"', 'utf8'),
  Buffer.from('"', 'utf8'),
  Buffer.of(0x0a),
];

// ------------------------------------------------------------------------------------------------
// Corpus, cases, oracle
// ------------------------------------------------------------------------------------------------

/** Every golden fixture input of `format` (empty when the directory does not exist). */
export function loadCorpus(format: PayloadFormat): Uint8Array[] {
  const dir = join(FIXTURES, format);
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => !SIDECAR.test(f))
    .sort()
    .map((f) => readFileSync(join(dir, f)));
}

/** One fuzz case: its bytes and how it was made (for reports). */
export interface FuzzCase {
  bytes: Uint8Array;
  kind: 'random' | 'prefixed' | 'generated' | 'mutated-generated' | 'mutated-fixture';
}

/** Rebuild case `index` of `format` under `seed`. */
export function makeCase(
  format: PayloadFormat,
  corpus: readonly Uint8Array[],
  seed: number,
  index: number,
): FuzzCase {
  const r = new Rng(caseSeed(seed, index));
  const roll = r.int(100);
  if (roll < 8) return { kind: 'random', bytes: r.bytes(r.int(300)) };
  if (roll < 16) return { kind: 'prefixed', bytes: Buffer.concat([r.pick(PREFIXES), r.bytes(r.int(200))]) };
  const generated = generate(format, r);
  if (roll < 30 && generated) return { kind: 'generated', bytes: generated };
  const pool = generated ? [generated, ...corpus] : corpus;
  if (pool.length === 0) return { kind: 'random', bytes: r.bytes(r.int(300)) };
  if (roll < 60 && generated) return { kind: 'mutated-generated', bytes: mutate(generated, r, pool) };
  return { kind: 'mutated-fixture', bytes: mutate(r.pick(corpus.length > 0 ? corpus : pool), r, pool) };
}

const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);

/** The invariants every decode result holds, whatever the input; returns a problem or undefined. */
export function checkResult(r: DecodeResult, limits: DecodeLimits): string | undefined {
  if (!Array.isArray(r.points) || !Array.isArray(r.frames) || !Array.isArray(r.warnings))
    return 'result arrays missing';
  if (r.points.length > limits.maxPoints) return 'too many points';
  for (const p of r.points) {
    if (typeof p.device !== 'string' || p.device.length === 0) return 'point without device';
    if (!Number.isSafeInteger(p.time) || p.time < limits.minTimestampMs || p.time > limits.maxTimestampMs) {
      return `point time ${p.time} out of range`;
    }
    if (Object.getPrototypeOf(p.fields) !== null || Object.getPrototypeOf(p.tags) !== null)
      return 'record with a prototype';
    const names = Object.keys(p.fields);
    if (names.length === 0) return 'point without fields';
    if (names.length > limits.maxFieldsPerPoint) return 'too many fields';
    for (const n of names) {
      if (n.length === 0 || n.length > limits.maxNameLength || FORBIDDEN.has(n))
        return `bad field name ${JSON.stringify(n.slice(0, 40))}`;
      const v = p.fields[n];
      if (typeof v === 'number') {
        if (!Number.isFinite(v)) return 'non-finite field';
      } else if (typeof v === 'string') {
        if (v.length > limits.maxStringLength) return 'string too long';
      } else if (typeof v !== 'boolean') return `field of type ${typeof v}`;
    }
    const tagNames = Object.keys(p.tags);
    if (tagNames.length > limits.maxTags) return 'too many tags';
    for (const t of tagNames) if (typeof p.tags[t] !== 'string' || FORBIDDEN.has(t)) return 'bad tag';
  }
  if (r.frames.length > limits.maxFrames) return 'too many frames';
  for (const f of r.frames) {
    if (!(f.data instanceof Uint8Array) || f.data.length !== dlcToLength(f.dlc))
      return 'frame data/DLC mismatch';
    if (f.bus < 0 || f.bus > 7 || f.id < 0 || f.id > (f.extended ? 0x1fffffff : 0x7ff))
      return 'frame id/bus out of range';
    if (!Number.isSafeInteger(f.time) || f.time < limits.minTimestampMs || f.time > limits.maxTimestampMs)
      return 'frame time';
  }
  if (Object.hasOwn(Object.prototype, 'polluted') || Object.keys(Object.prototype).length > 0)
    return 'Object.prototype was modified';
  return undefined;
}

/** A fuzz failure with everything needed to reproduce it. */
export interface FuzzFailure {
  format: PayloadFormat;
  selector: FormatSelector;
  seed: number;
  index: number;
  kind: FuzzCase['kind'];
  problem: string;
  inputHex: string;
}

/** Counts from one fuzz run of one format. */
export interface FuzzReport {
  format: PayloadFormat;
  cases: number;
  accepted: number;
  rejected: Record<string, number>;
  slowestMs: number;
  /** Case index of the slowest decode (replay it with FUZZ_CASE). */
  slowestIndex: number;
  failures: FuzzFailure[];
}

/** Options of {@link fuzzFormat}. */
export interface FuzzOptions {
  runs: number;
  seed: number;
  /** Fail a case slower than this. @default 1000 */
  caseMs?: number;
  /** Stop after this many failures. @default 5 */
  maxFailures?: number;
  /** Called every 1000 cases (progress for the watchdog). */
  onProgress?: (done: number) => void;
  /** Run only this case index (reproduction). */
  only?: number;
  /** Slot 0 receives the index of the case being decoded (read by a watchdog on another thread). */
  current?: Int32Array;
}

/** Decode once under the oracle; returns a problem or undefined, and the outcome. */
export function judge(
  bytes: Uint8Array,
  selector: FormatSelector,
  caseMs: number,
): { problem?: string; outcome: string; ms: number } {
  const t0 = performance.now();
  let outcome: string;
  let problem: string | undefined;
  try {
    const r = decodePayload(bytes, selector, CTX);
    outcome = 'accepted';
    problem = checkResult(r, DEFAULT_LIMITS);
  } catch (e) {
    if (isFleetwireError(e)) {
      outcome = e.code;
      if (typeof e.message !== 'string' || e.message.length === 0) problem = 'typed error without a message';
    } else {
      outcome = 'CRASH';
      problem = `untyped ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
    }
  }
  const ms = performance.now() - t0;
  if (problem === undefined && ms > caseMs) problem = `slow: ${ms.toFixed(0)} ms`;
  return { problem, outcome, ms };
}

/** Fuzz one format: every case through its explicit decoder and through `auto`. */
export function fuzzFormat(format: PayloadFormat, opts: FuzzOptions): FuzzReport {
  const corpus = loadCorpus(format);
  const caseMs = opts.caseMs ?? 1000;
  const maxFailures = opts.maxFailures ?? 5;
  const report: FuzzReport = {
    format,
    cases: 0,
    accepted: 0,
    rejected: {},
    slowestMs: 0,
    slowestIndex: -1,
    failures: [],
  };
  const first = opts.only ?? 0;
  const end = opts.only === undefined ? opts.runs : opts.only + 1;
  for (let index = first; index < end; index++) {
    if (opts.current) Atomics.store(opts.current, 0, index);
    const c = makeCase(format, corpus, opts.seed, index);
    for (const selector of [format, 'auto'] as const) {
      let { problem, outcome, ms } = judge(c.bytes, selector, caseMs);
      // A slow case is timed twice more: only an input that is slow every time is a failure, not a
      // GC pause or a descheduled thread on a busy machine.
      for (let retry = 0; retry < 2 && problem?.startsWith('slow'); retry++)
        ({ problem, outcome, ms } = judge(c.bytes, selector, caseMs));
      if (selector === format) {
        report.cases++;
        if (outcome === 'accepted') report.accepted++;
        else report.rejected[outcome] = (report.rejected[outcome] ?? 0) + 1;
      }
      if (ms > report.slowestMs) {
        report.slowestMs = ms;
        report.slowestIndex = index;
      }
      if (problem !== undefined) {
        report.failures.push({
          format,
          selector,
          seed: opts.seed,
          index,
          kind: c.kind,
          problem,
          inputHex: Buffer.from(c.bytes.subarray(0, 512)).toString('hex'),
        });
        if (report.failures.length >= maxFailures) return report;
      }
    }
    if (opts.onProgress && (index + 1) % 1000 === 0) opts.onProgress(index + 1);
  }
  return report;
}
