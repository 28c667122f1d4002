import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type DialtoneMessage,
  decodeDialtone,
  decodeDialtoneValue,
  encodeDialtone,
} from '../../lambdas/core/codecs/dialtone.js';
import { DEFAULT_LIMITS, resolveLimits } from '../../lambdas/core/limits.js';
import type { FieldValue } from '../../lambdas/core/model/point.js';
import { FIXTURES_DIR, goldenTests } from './golden.js';
import { expectPointsOrTypedError, keyArb, mutatedBytesArb, plain, RUNS, scalarArb } from './props.js';
import { codeOf, utf8 } from './support.js';

const L = DEFAULT_LIMITS;
const seedBytes = readFileSync(join(FIXTURES_DIR, 'dialtone/seed-device-data.json'));

/** Reference mapping of a message to fields, written independently of the codec. */
function expectedFields(m: DialtoneMessage): Record<string, FieldValue> {
  const out: Record<string, FieldValue> = {};
  for (const [k, v] of Object.entries(m.devData ?? {})) out[`dev.${k}`] = v;
  for (const ch of m.chans ?? []) {
    for (const d of ch.data) {
      out[`ch${ch.chIdx}.${d.dataIdx}`] = d.val;
      if (d.units !== undefined) out[`ch${ch.chIdx}.${d.dataIdx}.units`] = d.units;
    }
  }
  return out;
}

const idxArb = fc.integer({ min: 0, max: 0xffff_ffff });
// Unique (ch_idx, data_idx) pairs so no two readings share a field name.
const chansArb = fc
  .uniqueArray(
    fc.record({
      chIdx: idxArb,
      data: fc.uniqueArray(
        fc.record(
          {
            dataIdx: idxArb,
            units: fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom('V', 'degC', 'mA')),
            val: scalarArb,
          },
          { requiredKeys: ['dataIdx', 'val'] },
        ),
        { selector: (d) => d.dataIdx, minLength: 1, maxLength: 6 },
      ),
    }),
    { selector: (c) => c.chIdx, minLength: 1, maxLength: 6 },
  )
  .map((chans) => chans as DialtoneMessage['chans']);
const messageArb: fc.Arbitrary<DialtoneMessage> = fc.record({
  devId: fc.stringMatching(/^[0-9a-f]{32}$/),
  dts: fc.integer({ min: 946684800, max: 4102444800 }),
  devData: fc.dictionary(keyArb, scalarArb, { minKeys: 1, maxKeys: 8 }),
  chans: chansArb,
});

describe('DialTone golden fixtures', () => {
  goldenTests('dialtone', decodeDialtone);
});

describe('DialTone decoding', () => {
  it('decodes the seed (§5.2) into dev.* and ch<i>.<j> fields with units, dts in ms', () => {
    const r = decodeDialtone(seedBytes, {}, L);
    expect(r.claimedDevice).toBe('000102030405060708090a0b0c0d0e0f');
    const p = r.points[0]!;
    expect(p.device).toBe('000102030405060708090a0b0c0d0e0f');
    expect(p.time).toBe(1536783776000);
    expect(p.fields['dev.bat']).toBe(100);
    expect(p.fields['ch2.0']).toBe(1112014848);
    expect(p.fields['ch2.0.units']).toBe(11);
  });

  it('prefers the connection identity', () => {
    const r = decodeDialtone(seedBytes, { device: 'thing-1' }, L);
    expect(r.points[0]!.device).toBe('thing-1');
    expect(r.claimedDevice).toBe('000102030405060708090a0b0c0d0e0f');
  });

  it('uses the receive time when dts is 0 (clock not set)', () => {
    const msg = JSON.parse(seedBytes.toString()) as Record<string, unknown>;
    msg.dts = 0;
    const r = decodeDialtoneValue(msg, { receivedAt: 1769860801000 }, L);
    expect(r.points[0]!.time).toBe(1769860801000);
    expect(r.warnings.map((w) => w.code)).toEqual(['RECEIVE_TIME_USED']);
    expect(codeOf(() => decodeDialtoneValue(msg, {}, L))).toBe('MISSING_CONTEXT');
  });

  it('rejects configuration and command messages on the data path', () => {
    const cfg = readFileSync(join(FIXTURES_DIR, 'dialtone/seed-device-configuration.json'));
    expect(codeOf(() => decodeDialtone(cfg, {}, L))).toBe('SCHEMA_VIOLATION');
    const cmd = utf8(
      '{"api_maj":0,"api_min":11,"dts":0,"dev":{"dev_id":"cafebabecafebabecafebabecafebabe","dev_cmd":{"dev_cmd_id":61442,"req_id":1}}}',
    );
    expect(codeOf(() => decodeDialtone(cmd, {}, L))).toBe('SCHEMA_VIOLATION');
  });

  it('keeps the last reading of a repeated channel/data index, with a warning', () => {
    const text =
      '{"dts":1536783776,"dev":{"dev_id":"a","chans":[{"ch_idx":1,"ch_data":[{"data_idx":0,"val":1}]},{"ch_idx":1,"ch_data":[{"data_idx":0,"units":3,"val":2}]}]}}';
    const r = decodeDialtone(utf8(text), {}, L);
    expect(plain(r.points[0]!.fields)).toEqual({ 'ch1.0': 2, 'ch1.0.units': 3 });
    expect(r.warnings.map((w) => w.code)).toEqual(['DUPLICATE_FIELD']);
  });

  it('decodeDialtoneValue gives the same result as decoding the bytes', () => {
    expect(decodeDialtoneValue(JSON.parse(seedBytes.toString()), {}, L)).toEqual(
      decodeDialtone(seedBytes, {}, L),
    );
  });
});

describe('DialTone limits', () => {
  it('enforces depth, field count and name length', () => {
    expect(codeOf(() => decodeDialtone(seedBytes, {}, resolveLimits({ maxDepth: 5 })))).toBe(
      'NESTING_TOO_DEEP',
    );
    expect(decodeDialtone(seedBytes, {}, resolveLimits({ maxDepth: 6 })).points).toHaveLength(1);
    // 7 dev_data fields + 3 channels × (value + units) = 13.
    expect(codeOf(() => decodeDialtone(seedBytes, {}, resolveLimits({ maxFieldsPerPoint: 12 })))).toBe(
      'LIMIT_EXCEEDED',
    );
    expect(decodeDialtone(seedBytes, {}, resolveLimits({ maxFieldsPerPoint: 13 })).points).toHaveLength(1);
    expect(codeOf(() => decodeDialtone(seedBytes, {}, resolveLimits({ maxNameLength: 10 })))).toBe(
      'STRING_TOO_LONG',
    );
  });

  it('rejects dts outside uint32 seconds and outside the accepted range', () => {
    const withDts = (dts: unknown) =>
      utf8(seedBytes.toString().replace('"dts":1536783776', `"dts":${JSON.stringify(dts)}`));
    expect(codeOf(() => decodeDialtone(withDts(1.5), {}, L))).toBe('INVALID_TIMESTAMP');
    expect(codeOf(() => decodeDialtone(withDts(2 ** 32), {}, L))).toBe('INVALID_TIMESTAMP');
    expect(codeOf(() => decodeDialtone(withDts(4102444801), {}, L))).toBe('TIMESTAMP_OUT_OF_RANGE');
    expect(codeOf(() => decodeDialtone(withDts(null), {}, L))).toBe('INVALID_TIMESTAMP');
  });

  it('never lets __proto__ reach a prototype', () => {
    const text =
      '{"dts":1536783776,"dev":{"dev_id":"a","chans":[{"ch_idx":0,"ch_data":[{"data_idx":0,"val":{"__proto__":{"polluted":1}}}]}]}}';
    expect(codeOf(() => decodeDialtone(utf8(text), {}, L))).toBe('FORBIDDEN_KEY');
    expect(Object.hasOwn(Object.prototype, 'polluted')).toBe(false);
  });
});

describe('DialTone properties', () => {
  it('encode → decode gives the readings back', () => {
    fc.assert(
      fc.property(messageArb, (m) => {
        const r = decodeDialtone(encodeDialtone(m), {}, L);
        expect(r.claimedDevice).toBe(m.devId);
        expect(r.points).toHaveLength(1);
        expect(r.points[0]!.time).toBe(m.dts * 1000);
        expect(plain(r.points[0]!.fields)).toEqual(expectedFields(m));
        expect(r.warnings).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  });

  it('random bytes give points or a typed error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expectPointsOrTypedError(() => decodeDialtone(bytes, { receivedAt: 1769860801000 }, L), L);
      }),
      { numRuns: RUNS },
    );
  });

  it('mutated seed bytes give points or a typed error', () => {
    fc.assert(
      fc.property(mutatedBytesArb(seedBytes), (bytes) => {
        expectPointsOrTypedError(() => decodeDialtone(bytes, { receivedAt: 1769860801000 }, L), L);
      }),
      { numRuns: RUNS },
    );
  });

  it('any JSON value (and any JSON under dev) gives points or a typed error', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), fc.jsonValue({ maxDepth: 5 }), (v, chans) => {
        const ctx = { receivedAt: 1769860801000 };
        expectPointsOrTypedError(() => decodeDialtoneValue(v, ctx, L), L);
        const shaped = { dts: 1536783776, dev: { dev_id: 'd', chans: [{ ch_idx: 0, ch_data: chans }] } };
        expectPointsOrTypedError(() => decodeDialtoneValue(shaped, ctx, L), L);
      }),
      { numRuns: RUNS },
    );
  });
});
