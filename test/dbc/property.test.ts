/**
 * Property tests: random signal layouts (Intel/Motorola, 1–64 bits, signed, float, integer and
 * fractional scaling, multiplexing) written as DBC text, parsed and compiled, then
 * - decoding agrees with an independent bit-by-bit reference decoder written here,
 * - encode → decode gives back the values,
 * - the generated fast path agrees with the interpreter on random frames.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileDbc, encodeMessage, parseDbc } from '../../lambdas/core/dbc/index.js';

const FACTORS = ['1', '2', '-3', '1000', '0.5', '0.1', '0.25', '1.5'];
const OFFSETS = ['0', '-40', '7', '100000', '0.5', '-0.125'];

interface SigSpec {
  len: number;
  be: boolean;
  signed: boolean;
  float: boolean;
  /** Sequential start position (LSB for Intel, MSB network position for Motorola). */
  seq: number;
  factor: string;
  offset: string;
}

/** Sequential network position ↔ sawtooth start bit (the map is its own inverse). */
const sawtooth = (seq: number) => 8 * (seq >> 3) + 7 - (seq & 7);

/** Independent reference: read a signal bit by bit (Motorola walks the sawtooth numbering). */
function refRaw(d: Uint8Array, s: SigSpec): bigint {
  const bit = (b: number) => BigInt((d[b >> 3]! >> (b & 7)) & 1);
  let v = 0n;
  if (s.be) {
    let b = sawtooth(s.seq);
    for (let k = 0; k < s.len; k++) {
      v = (v << 1n) | bit(b);
      b = b % 8 === 0 ? b + 15 : b - 1;
    }
  } else {
    for (let k = 0; k < s.len; k++) v |= bit(s.seq + k) << BigInt(k);
  }
  if (s.signed && !s.float && v >= 1n << BigInt(s.len - 1)) v -= 1n << BigInt(s.len);
  return v;
}

/** Bit indexes (byte*8 + bit) a signal occupies, computed independently of the implementation. */
function refBits(s: SigSpec): number[] {
  const out: number[] = [];
  if (s.be) {
    let b = sawtooth(s.seq);
    for (let k = 0; k < s.len; k++) {
      out.push(b);
      b = b % 8 === 0 ? b + 15 : b - 1;
    }
  } else {
    for (let k = 0; k < s.len; k++) out.push(s.seq + k);
  }
  return out;
}

const norm = (v: bigint): number | bigint =>
  v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;

/** Expected physical value, by the reference decoder's rules. */
function refValue(raw: bigint, s: SigSpec): number | bigint {
  const f = Number(s.factor);
  const o = Number(s.offset);
  if (s.float) {
    const dv = new DataView(new ArrayBuffer(8));
    let x: number;
    if (s.len === 32) {
      dv.setUint32(0, Number(raw));
      x = dv.getFloat32(0);
    } else {
      dv.setBigUint64(0, raw);
      x = dv.getFloat64(0);
    }
    return f === 1 && o === 0 ? x : x * f + o;
  }
  if (f === 1 && o === 0) return norm(raw);
  if (Number.isInteger(f) && Number.isInteger(o)) return norm(raw * BigInt(s.factor) + BigInt(s.offset));
  // Python: an integer-literal scale multiplies the integer raw value exactly before the float offset.
  if (/^-?\d+$/.test(s.factor)) return Number(raw * BigInt(s.factor)) + o;
  return Number(raw) * f + o;
}

const sigArb = (msgLen: number): fc.Arbitrary<SigSpec> =>
  fc
    .record({
      len: fc.integer({ min: 1, max: Math.min(64, msgLen * 8) }),
      be: fc.boolean(),
      signed: fc.boolean(),
      float: fc.integer({ min: 0, max: 5 }),
      pos: fc.nat(),
      factor: fc.constantFrom(...FACTORS),
      offset: fc.constantFrom(...OFFSETS),
    })
    .map((r) => {
      let len = r.len;
      const float = r.float === 0 && len >= 32;
      if (float) len = len >= 64 ? 64 : 32;
      const seq = r.pos % (msgLen * 8 - len + 1);
      return { len, be: r.be, signed: r.signed, float, seq, factor: r.factor, offset: r.offset };
    });

function dbcText(msgLen: number, sigs: SigSpec[], extra = ''): string {
  const lines = ['VERSION ""', 'BU_: N', `BO_ 100 M: ${msgLen} N`];
  sigs.forEach((s, i) => {
    const start = s.be ? sawtooth(s.seq) : s.seq;
    lines.push(
      ` SG_ S${i} : ${start}|${s.len}@${s.be ? 0 : 1}${s.signed ? '-' : '+'} (${s.factor},${s.offset}) [0|0] "" N`,
    );
  });
  sigs.forEach((s, i) => {
    if (s.float) lines.push(`SIG_VALTYPE_ 100 S${i} : ${s.len === 32 ? 1 : 2};`);
  });
  return `${lines.join('\n')}\n${extra}`;
}

const msgLenArb = fc.constantFrom(1, 2, 3, 5, 8, 12, 24, 64);

describe('DBC property tests', () => {
  it('decodes like an independent bit-by-bit reference (overlapping layouts allowed)', () => {
    fc.assert(
      fc.property(
        msgLenArb.chain((L) =>
          fc.tuple(
            fc.constant(L),
            fc.array(sigArb(L), { minLength: 1, maxLength: 8 }),
            fc.uint8Array({ minLength: L, maxLength: L }),
          ),
        ),
        ([L, sigs, data]) => {
          const db = parseDbc(dbcText(L, sigs));
          expect(db.warnings).toEqual([]);
          for (const generate of [true, false]) {
            const r = compileDbc(db, { generate }).decode(100, false, data);
            if (r.kind !== 'message') throw new Error('unknown');
            sigs.forEach((s, i) => {
              const want = refValue(refRaw(data, s), s);
              const got = r.signals[`S${i}`];
              if (typeof want === 'number' && Number.isNaN(want))
                expect(Number.isNaN(got as number)).toBe(true);
              else expect(got).toStrictEqual(want);
            });
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it('encode → decode gives back the values (non-overlapping layouts)', () => {
    fc.assert(
      fc.property(
        msgLenArb.chain((L) =>
          fc.tuple(
            fc.constant(L),
            fc.array(fc.tuple(sigArb(L), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })), {
              minLength: 1,
              maxLength: 10,
            }),
          ),
        ),
        ([L, candidates]) => {
          // Place signals without overlap; keep scaling exact enough to invert (fractional factors on ≤ 32 bits).
          const used = new Set<number>();
          const sigs: SigSpec[] = [];
          const raws: bigint[] = [];
          for (const [s, r] of candidates) {
            if (!s.float && !/^-?\d+$/.test(s.factor) && s.len > 32) continue;
            if (!s.float && !(/^-?\d+$/.test(s.factor) && /^-?\d+$/.test(s.offset)) && s.len > 32) continue;
            const bits = refBits(s);
            if (bits.some((b) => used.has(b))) continue;
            for (const b of bits) used.add(b);
            let raw = r & ((1n << BigInt(s.len)) - 1n);
            if (s.float) {
              // Finite, non-negative-zero floats only (NaN ≠ NaN; -0 encodes as +0 after scaling).
              const dv = new DataView(new ArrayBuffer(8));
              if (s.len === 32) {
                dv.setUint32(0, Number(raw));
                if (!Number.isFinite(dv.getFloat32(0)) || Object.is(dv.getFloat32(0), -0)) raw = 0x3f800000n;
              } else {
                dv.setBigUint64(0, raw);
                if (!Number.isFinite(dv.getFloat64(0)) || Object.is(dv.getFloat64(0), -0))
                  raw = 0x3ff0000000000000n;
              }
              if (!(s.factor === '1' && s.offset === '0')) {
                s.factor = '1';
                s.offset = '0';
              }
            } else if (s.signed && raw >= 1n << BigInt(s.len - 1)) {
              raw -= 1n << BigInt(s.len);
            }
            sigs.push(s);
            raws.push(raw);
          }
          if (sigs.length === 0) return;
          const dbc = compileDbc(parseDbc(dbcText(L, sigs)));
          const values: Record<string, number | bigint> = {};
          sigs.forEach((s, i) => {
            values[`S${i}`] = refValue(raws[i]!, s);
          });
          const frame = encodeMessage(dbc, 'M', values);
          expect(frame.length).toBe(L);
          // The raw bits are where the independent reference reads them…
          sigs.forEach((s, i) => {
            const want = s.float || !s.signed ? raws[i]! & ((1n << BigInt(s.len)) - 1n) : raws[i]!;
            expect(refRaw(frame, s)).toBe(s.float ? want : raws[i]!);
          });
          // …and decoding gives the values back.
          const r = dbc.decode(100, false, frame);
          expect(r.kind === 'message' && r.signals).toStrictEqual(values);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('the generated fast path agrees with the interpreter on multiplexed messages', () => {
    const muxMsg = fc.record({
      switchLen: fc.integer({ min: 1, max: 4 }),
      children: fc.array(
        fc.record({
          sig: sigArb(8),
          ids: fc.array(fc.integer({ min: 0, max: 15 }), { minLength: 1, maxLength: 3 }),
        }),
        { minLength: 1, maxLength: 6 },
      ),
      plain: fc.array(sigArb(8), { maxLength: 3 }),
      nested: fc.boolean(),
    });
    fc.assert(
      fc.property(
        muxMsg,
        fc.array(fc.uint8Array({ minLength: 0, maxLength: 12 }), { minLength: 1, maxLength: 20 }),
        (m, frames) => {
          const sw: SigSpec = {
            len: m.switchLen,
            be: false,
            signed: false,
            float: false,
            seq: 0,
            factor: '1',
            offset: '0',
          };
          const lines = [
            'VERSION ""',
            'BU_: N',
            'BO_ 7 X: 8 N',
            ` SG_ Sw M : 0|${sw.len}@1+ (1,0) [0|0] "" N`,
          ];
          const extra: string[] = [];
          if (m.nested) {
            lines.push(' SG_ Sub m1M : 4|3@1+ (1,0) [0|0] "" N');
            extra.push('SG_MUL_VAL_ 7 Sub Sw 1-1;');
          }
          m.children.forEach((c, i) => {
            const start = c.sig.be ? sawtooth(c.sig.seq) : c.sig.seq;
            lines.push(
              ` SG_ C${i} m${c.ids[0]} : ${start}|${c.sig.len}@${c.sig.be ? 0 : 1}${c.sig.signed ? '-' : '+'} (${c.sig.factor},${c.sig.offset}) [0|0] "" N`,
            );
            const parent = m.nested && i % 2 === 1 ? 'Sub' : 'Sw';
            extra.push(`SG_MUL_VAL_ 7 C${i} ${parent} ${c.ids.map((v) => `${v}-${v}`).join(', ')};`);
          });
          m.plain.forEach((p, i) => {
            const start = p.be ? sawtooth(p.seq) : p.seq;
            lines.push(
              ` SG_ P${i} : ${start}|${p.len}@${p.be ? 0 : 1}${p.signed ? '-' : '+'} (${p.factor},${p.offset}) [0|0] "" N`,
            );
          });
          extra.push('VAL_ 7 Sw 0 "zero" 3 "three";');
          const db = parseDbc(`${lines.join('\n')}\n${extra.join('\n')}\n`);
          const fastDb = compileDbc(db);
          const slowDb = compileDbc(db, { generate: false });
          for (const f of frames) {
            for (const choices of [false, true]) {
              expect(fastDb.decode(7, false, f, { choices })).toStrictEqual(
                slowDb.decode(7, false, f, { choices }),
              );
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
