import { describe, expect, it } from 'vitest';
import {
  clearDbcCache,
  dbcCacheSize,
  dbcContentHash,
  lintDbc,
  loadCompiledDbc,
  parseDbc,
} from '../../lambdas/core/dbc/index.js';
import { formatValue, parseFrameLine } from '../../lambdas/core/dbc/jsonl.js';
import { LimitError } from '../../lambdas/core/errors.js';
import { fixture } from './helpers.js';

describe('loadCompiledDbc', () => {
  it('compiles once per content hash and options', () => {
    clearDbcCache();
    const bytes = fixture('features.dbc');
    const a = loadCompiledDbc(bytes);
    const b = loadCompiledDbc(Uint8Array.from(bytes));
    expect(b).toBe(a);
    expect(a.hash).toBe(dbcContentHash(bytes));
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
    const j = loadCompiledDbc(bytes, { j1939: true });
    expect(j).not.toBe(a);
    expect(j.j1939).toBe(true);
    expect(dbcCacheSize()).toBe(2);
  });

  it('evicts the least recently used entry', () => {
    clearDbcCache();
    const files = ['features.dbc', 'loose.dbc', 'cp1252.dbc'].map(fixture);
    const first = loadCompiledDbc(files[0]!, { maxEntries: 2 });
    loadCompiledDbc(files[1]!, { maxEntries: 2 });
    loadCompiledDbc(files[0]!, { maxEntries: 2 }); // refresh features
    loadCompiledDbc(files[2]!, { maxEntries: 2 }); // evicts loose
    expect(dbcCacheSize()).toBe(2);
    expect(loadCompiledDbc(files[0]!, { maxEntries: 2 })).toBe(first);
  });

  it('rejects files over the DBC size limit before hashing', () => {
    expect(() => loadCompiledDbc(new Uint8Array(2048), { maxBytes: 1024 })).toThrow(LimitError);
    try {
      loadCompiledDbc(new Uint8Array(2048), { maxBytes: 1024 });
    } catch (e) {
      expect((e as LimitError).code).toBe('DBC_TOO_LARGE');
    }
  });
});

describe('lintDbc', () => {
  it('finds overlapping signals, signals beyond the message, duplicate ids and bad multiplexing', () => {
    const db = parseDbc(`BO_ 1 A: 2 N
 SG_ X : 0|8@1+ (1,0) [0|0] "" N
 SG_ Y : 4|8@1+ (1,0) [0|0] "" N
 SG_ Z : 16|8@1+ (1,0) [0|0] "" N
 SG_ S M : 8|4@1+ (1,0) [0|0] "" N
 SG_ P m0 : 12|4@1+ (1,0) [0|0] "" N
 SG_ Q m1 : 12|4@1+ (1,0) [0|0] "" N
BO_ 1 B: 12 N
 SG_ W : 0|8@0+ (1,0) [0|0] "" N
`);
    const r = lintDbc(db);
    expect(r).toMatchObject({ messages: 2, signals: 7, multiplexedMessages: 1 });
    const codes = r.problems.map((p) => p.code);
    expect(codes).toContain('OVERLAPPING_SIGNALS');
    expect(codes).toContain('SIGNAL_OUTSIDE_MESSAGE');
    expect(codes).toContain('DUPLICATE_ID');
    expect(codes).toContain('LONG_CLASSIC_MESSAGE');
    // Mutually exclusive multiplexed signals on the same bits are not an overlap.
    expect(r.problems.filter((p) => p.code === 'OVERLAPPING_SIGNALS').map((p) => p.message)).toEqual([
      'message A (id 0x1): signals X and Y overlap',
      'message A (id 0x1): signals Y and S overlap',
    ]);
  });
});

describe('lintDbc on nested multiplexing', () => {
  it('does not report signals in exclusive branches (also across nested switches) as overlapping', () => {
    const r = lintDbc(parseDbc(fixture('features.dbc')));
    expect(r.problems.map((p) => `${p.severity} ${p.code} ${p.message}`)).toEqual([
      'warning OVERLAPPING_SIGNALS message FdMsg (extended id 0x300): signals X and Y overlap',
      'error SIGNAL_OUTSIDE_MESSAGE message Beyond (id 0x12f): signal Outside (start 16, 8 bits, little_endian) needs 3 bytes; it is never decoded',
    ]);
  });
});

describe('JSON-lines helpers', () => {
  it('prints numbers exactly', () => {
    expect(formatValue(250)).toBe('250');
    expect(formatValue(0.1 + 0.2)).toBe('0.30000000000000004');
    expect(formatValue(18446744073709551615n)).toBe('18446744073709551615');
    expect(formatValue(-(2n ** 63n))).toBe('-9223372036854775808');
    expect(formatValue(Number.NaN)).toBe('"NaN"');
    expect(formatValue(Number.NEGATIVE_INFINITY)).toBe('"-Infinity"');
    expect(formatValue(-0)).toBe('-0.0');
    expect(formatValue('a "b"')).toBe('"a \\"b\\""');
    expect(formatValue(1e21)).toBe('1e+21');
  });

  it('parses frame lines: bit 31 and ids above 0x7FF mean extended', () => {
    expect(parseFrameLine('{"id": 2147483649, "data": "00"}')).toMatchObject({
      rawId: 2147483649,
      id: 1,
      extended: true,
    });
    expect(parseFrameLine('{"id": 2048, "data": "00"}')).toMatchObject({ id: 2048, extended: true });
    expect(parseFrameLine('{"id": 5, "data": "0A", "extended": true}')).toMatchObject({
      id: 5,
      extended: true,
      data: Uint8Array.from([10]),
    });
    expect(parseFrameLine('{"data":"01","id":7}')).toMatchObject({ id: 7, extended: false });
    // Unusual but valid JSON goes through the full parser.
    expect(parseFrameLine('{"id": 7e0, "data": "01"}')).toMatchObject({ id: 7 });
    expect(parseFrameLine('{"id": 1, "data": "0"}')).toMatchObject({ error: expect.stringMatching(/hex/) });
    expect(parseFrameLine('{"id": -1, "data": ""}')).toMatchObject({ error: expect.stringMatching(/id/) });
    expect(parseFrameLine('{"id": 4294967295, "data": ""}')).toMatchObject({
      error: expect.stringMatching(/29 bits/),
    });
    expect(parseFrameLine('[1]')).toMatchObject({ error: 'line is not a JSON object' });
    expect(parseFrameLine('{"id": 1, "data": "", "extended": "yes"}')).toMatchObject({
      error: expect.stringMatching(/boolean/),
    });
  });
});
