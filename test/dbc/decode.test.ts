import { describe, expect, it } from 'vitest';
import type { CompiledDbc, FrameDecodeResult } from '../../lambdas/core/dbc/index.js';
import { compileDbc, parseDbc } from '../../lambdas/core/dbc/index.js';
import { compileFixture, hex } from './helpers.js';

// Expected values come from an independent bit-by-bit decoder (Python), not from this implementation.
const fast = compileFixture('features.dbc');
const slow = compileFixture('features.dbc', { generate: false });

/** Decode with both the generated fast path and the interpreter; they must agree. */
function decode(id: number, ext: boolean, data: string, choices = false): FrameDecodeResult {
  const a = fast.decode(id, ext, hex(data), { choices });
  const b = slow.decode(id, ext, hex(data), { choices });
  expect(a).toEqual(b);
  return a;
}

function signals(r: FrameDecodeResult): Record<string, unknown> {
  if (r.kind !== 'message') throw new Error(`expected a message, got ${JSON.stringify(r)}`);
  return r.signals;
}

describe('decode: layouts and scaling', () => {
  it('decodes Intel and Motorola signals with factor/offset, signed and unsigned', () => {
    const r = decode(100, false, '1027d0076457f9c5');
    expect(r).toMatchObject({ kind: 'message', message: 'Engine', id: 100, extended: false });
    expect(signals(r)).toEqual({ Speed: 100, Rpm: 2000, Temp: 60, Gear: 3, Load: 42, Torque: -10, Flags: 5 });
    expect(signals(decode(100, false, 'ffffffffffffffff'))).toEqual({
      Speed: 655.35,
      Rpm: 65535,
      Temp: -41,
      Gear: 3,
      Load: 126,
      Torque: -0.1,
      Flags: 15,
    });
  });

  it('orders signals by start position, like the reference', () => {
    expect(Object.keys(signals(decode(100, false, '0000000000000000')))).toEqual([
      'Speed',
      'Rpm',
      'Temp',
      'Gear',
      'Load',
      'Torque',
      'Flags',
    ]);
  });

  it('decodes 64-bit signals exactly with BigInt beyond 2^53', () => {
    expect(signals(decode(0x123, true, '0123456789abcdef'))).toEqual({ Counter64: 17279655951921914625n });
    expect(signals(decode(0x124, true, '0123456789abcdef'))).toEqual({ S64: 81985529216486895n });
    expect(signals(decode(0x124, true, 'fedcba9876543210'))).toEqual({ S64: -81985529216486896n });
    // Small values stay numbers.
    expect(signals(decode(0x123, true, '0100000000000000'))).toEqual({ Counter64: 1 });
  });

  it('scales with integer factor/offset exactly beyond 2^53', () => {
    expect(signals(decode(0x125, true, 'fedcba9876543210'))).toEqual({
      Energy: 14166617180790014005n,
      Tail: 1,
    });
  });

  it('decodes IEEE float32/float64 in both byte orders', () => {
    const f = signals(decode(200, false, '0000803f40490fdb'));
    expect(f.F32le).toBe(1);
    expect(f.F32be).toBe(7.2831854820251465);
    expect(signals(decode(201, false, '182d4454fb210940')).D64).toBe(Math.PI);
    expect(signals(decode(202, false, '400921fb54442d18')).D64be).toBe(Math.PI);
    const nan = signals(decode(201, false, '000000000000f87f')).D64;
    expect(Number.isNaN(nan)).toBe(true);
  });

  it('decodes CAN FD 64-byte frames', () => {
    const d = new Uint8Array(64);
    d[0] = 7;
    d.set([0x78, 0x56, 0x12, 0x34], 60);
    const hexData = Buffer.from(d).toString('hex');
    expect(signals(decode(0x300, true, hexData))).toEqual({ First: 7, X: 873617016, Y: 2330 });
  });

  it('uses long names (SystemSignalLongSymbol)', () => {
    expect(signals(decode(304, false, '2a00000000000000'))).toEqual({
      LongSignalNameThatIsTooLongForCANdbPlusPlus: 42,
    });
  });
});

describe('decode: value tables', () => {
  it('prints value-table names only on request', () => {
    expect(signals(decode(100, false, '1027d0076457f9c5')).Gear).toBe(3);
    expect(signals(decode(100, false, '1027d0076457f9c5', true)).Gear).toBe('D');
    expect(signals(decode(0x124, true, 'ffffffffffffffff', true)).S64).toBe('MinusOne');
  });
});

describe('decode: multiplexing', () => {
  it('decodes only the signals whose selectors match (several switches, nested)', () => {
    expect(signals(decode(300, false, '00341200000000ee'))).toEqual({ Mode: 0, A: 0x1234, Crc: 0xee });
    expect(signals(decode(300, false, '0105fe00000000ee'))).toEqual({ Mode: 1, B: 5, C: -2, Crc: 0xee });
    // Mode 2 → nested switch Page (low nibble of byte 1).
    expect(signals(decode(300, false, '02f0aa00000000ee'))).toEqual({
      Mode: 2,
      Page: 0,
      P0: 0xaa,
      Crc: 0xee,
    });
    expect(signals(decode(300, false, '0203bbcc000000ee'))).toEqual({
      Mode: 2,
      Page: 3,
      P1: 0xccbb,
      Crc: 0xee,
    });
    // Ranges: D is selected by 3-5 and 7.
    for (const mode of [3, 4, 5, 7]) {
      expect(signals(decode(300, false, `0${mode}78563412000000`))).toEqual({
        Mode: mode,
        D: 0x12345678,
        Crc: 0,
      });
    }
  });

  it('a selector value with no branch gives the signals decoded so far plus an error', () => {
    const r = decode(300, false, '0800000000000011');
    expect(r).toMatchObject({
      kind: 'message',
      signals: { Mode: 8, Crc: 0x11 },
      error: { code: 'DBC_BAD_MULTIPLEXER' },
    });
    expect(r.kind === 'message' && r.error?.message).toBe(
      'expected multiplexer id 0, 1, 2, 3, 4, 5, 6 or 7, but got 8',
    );
    const nested = decode(300, false, '0209000000000011');
    expect(nested).toMatchObject({
      signals: { Mode: 2, Page: 9, Crc: 0x11 },
      error: { code: 'DBC_BAD_MULTIPLEXER' },
    });
  });

  it('a selector named in the switch value table has a branch even without signals', () => {
    const r = decode(300, false, '0600000000000011');
    expect(r).toEqual(expect.objectContaining({ signals: { Mode: 6, Crc: 0x11 } }));
    expect(r.kind === 'message' && r.error).toBeUndefined();
    expect(signals(decode(300, false, '0600000000000011', true))).toEqual({ Mode: 'Six', Crc: 0x11 });
  });

  it('classic single-switch multiplexing', () => {
    expect(signals(decode(301, false, '0011220000000000'))).toEqual({ Sel: 0, X0: 0x11, Common: 0x22 });
    expect(signals(decode(301, false, '0111220000000000'))).toEqual({ Sel: 1, X1: 0x11, Common: 0x22 });
    expect(decode(301, false, '0311220000000000')).toMatchObject({
      signals: { Sel: 3, Common: 0x22 },
      error: {},
    });
  });
});

describe('decode: frame length and ids', () => {
  it('decodes the signals of a short frame that fit and reports the rest', () => {
    const r = decode(302, false, '2a');
    expect(r).toMatchObject({
      kind: 'message',
      signals: { Head: 42 },
      missing: ['Tail'],
      error: { code: 'DBC_FRAME_TOO_SHORT' },
    });
  });

  it('ignores bytes beyond the message length', () => {
    expect(signals(decode(302, false, '0100000000000002ffff'))).toEqual({ Head: 1, Tail: 2 });
  });

  it('lists signals placed beyond the message length as skipped', () => {
    const r = decode(303, false, '0102');
    expect(r).toMatchObject({ signals: { Inside: 1 }, skipped: ['Outside'] });
    expect(r.kind === 'message' && r.error).toBeUndefined();
  });

  it('reports unknown ids and never guesses, keeping standard and extended apart', () => {
    expect(decode(999, false, '00')).toMatchObject({
      kind: 'unknown',
      id: 999,
      error: { code: 'DBC_UNKNOWN_ID' },
    });
    // 0x123 exists only as an extended id.
    expect(decode(0x123, false, '0000000000000000').kind).toBe('unknown');
    expect(decode(100, true, '0000000000000000').kind).toBe('unknown');
  });
});

describe('decode: J1939', () => {
  const j = compileFixture('features.dbc', { j1939: true });
  const name = (db: CompiledDbc, id: number) => {
    const r = db.decode(id, true, hex('00ff010000000000'));
    return r.kind === 'message' ? r.message : undefined;
  };

  it('matches by PGN ignoring priority and source address when enabled', () => {
    expect(name(j, 0x18fef100)).toBe('CCVS');
    expect(name(j, 0x18fef117)).toBe('CCVS');
    expect(name(j, 0x0cfef1fe)).toBe('CCVS');
    expect(name(j, 0x18ef3300)).toBe('ProprietaryA'); // PDU1: destination address ignored
    expect(name(j, 0x18fef200)).toBeUndefined();
    const r = j.decode(0x0cfef117, true, hex('00ff010000000000'));
    expect(r).toMatchObject({ id: 0x0cfef117, signals: { WheelSpeed: 1.99609375 } });
  });

  it('matches exact ids only when disabled', () => {
    expect(name(fast, 0x18fef100)).toBe('CCVS');
    expect(name(fast, 0x18fef117)).toBeUndefined();
  });
});

describe('decode: reference-decoder edge cases', () => {
  const inline = (text: string) => compileDbc(parseDbc(text));

  it('a switch with no branches decodes as a plain signal (no error)', () => {
    const db = inline('BO_ 1 A: 8 N\n SG_ S M : 0|8@1+ (1,0) [0|0] "" N\n SG_ T : 8|8@1+ (1,0) [0|0] "" N\n');
    expect(db.decode(1, false, hex('0501000000000000'))).toEqual({
      kind: 'message',
      id: 1,
      extended: false,
      message: 'A',
      signals: { S: 5, T: 1 },
    });
  });

  it('keeps integer-literal factors and offsets exact beyond 2^53', () => {
    const db = inline(
      'BO_ 1 A: 8 N\n SG_ T : 0|8@1+ (1,18446744073709551616) [0|0] "" N\n SG_ U : 8|8@1+ (9007199254740993,0) [0|0] "" N\n',
    );
    const r = db.decode(1, false, hex('0103000000000000'));
    expect(r.kind === 'message' && r.signals).toEqual({ T: 18446744073709551617n, U: 27021597764222979n });
  });

  it('selects a branch by the scaled switch value, truncated', () => {
    // factor 0.5: raw 5 → 2.5 → branch 2 (the reference compares the scaled value with the m<n> ids).
    const db = inline(
      'BO_ 1 A: 8 N\n SG_ S M : 0|8@1+ (0.5,0) [0|0] "" N\n SG_ X m2 : 8|8@1+ (1,0) [0|0] "" N\n',
    );
    const r = db.decode(1, false, hex('0509000000000000'));
    expect(r.kind === 'message' && r.signals).toEqual({ S: 2.5, X: 9 });
  });

  it('with several switches, an m<n> signal without SG_MUL_VAL_ is a plain signal', () => {
    const db = inline(
      'BO_ 1 A: 8 N\n SG_ S M : 0|4@1+ (1,0) [0|0] "" N\n SG_ R M : 4|4@1+ (1,0) [0|0] "" N\n SG_ X m3 : 8|8@1+ (1,0) [0|0] "" N\n',
    );
    const r = db.decode(1, false, hex('0009000000000000'));
    expect(r.kind === 'message' && r.signals).toEqual({ S: 0, R: 0, X: 9 });
    expect(r.kind === 'message' && r.error).toBeUndefined();
  });
});
