import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeEms, decodeEmsValue, type EmsValue, encodeEms } from '../../lambdas/core/codecs/ems.js';
import type { FleetwireError } from '../../lambdas/core/errors.js';
import { DEFAULT_LIMITS, resolveLimits } from '../../lambdas/core/limits.js';
import type { FieldValue } from '../../lambdas/core/model/point.js';
import { goldenTests } from './golden.js';
import {
  deviceArb,
  expectPointsOrTypedError,
  keyArb,
  mutatedBytesArb,
  plain,
  RUNS,
  scalarArb,
  timeArb,
} from './props.js';
import { codeOf, utf8 } from './support.js';

const L = DEFAULT_LIMITS;
const SEED = {
  device_id: 'ems_001',
  timestamp: '2026-01-31T12:00:01Z',
  system_status: { state: 'CHARGING', mode: 'AUTO', error_flags: [], wifi_strength: -45 },
  battery: { voltage: 53.2, current: 10.5, power: 558.6, soc: 85 },
  grid: { voltage: 230.1, power: -200, frequency: 50.0 },
};
const seedBytes = utf8(JSON.stringify(SEED));

/** Reference flattening, written independently of the codec: dots for objects, JSON text for arrays. */
function flatten(data: Record<string, EmsValue>, prefix = '', out: Record<string, FieldValue> = {}) {
  for (const [k, v] of Object.entries(data)) {
    if (Array.isArray(v)) out[prefix + k] = JSON.stringify(v);
    else if (v !== null && typeof v === 'object') flatten(v, `${prefix + k}.`, out);
    else if (v !== null) out[prefix + k] = v;
  }
  return out;
}

const emsValueArb: fc.Arbitrary<EmsValue> = fc.letrec<{ value: EmsValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 4 },
    scalarArb,
    fc.array(scalarArb, { maxLength: 5 }),
    fc.dictionary(keyArb, tie('value'), { minKeys: 1, maxKeys: 5 }),
  ),
})).value;
const bodyArb = fc.dictionary(
  keyArb.filter((k) => k !== 'device_id' && k !== 'timestamp' && k !== 'token'),
  emsValueArb,
  { minKeys: 1, maxKeys: 8 },
);

describe('EMS telemetry golden fixtures', () => {
  goldenTests('ems', decodeEms);
});

describe('EMS telemetry decoding', () => {
  it('decodes the seed into dotted fields with the ISO time and the claimed device', () => {
    const r = decodeEms(seedBytes, {}, L);
    expect(r.points).toHaveLength(1);
    const p = r.points[0]!;
    expect(p.time).toBe(Date.UTC(2026, 0, 31, 12, 0, 1));
    expect(p.device).toBe('ems_001');
    expect(r.claimedDevice).toBe('ems_001');
    expect(p.fields['system_status.state']).toBe('CHARGING');
    expect(p.fields['battery.voltage']).toBe(53.2);
    // An empty error list is still a field, so an alert can tell "no errors" from "not reported".
    expect(p.fields['system_status.error_flags']).toBe('[]');
    expect(Object.getPrototypeOf(p.fields)).toBeNull();
  });

  it('keeps arrays of scalars as JSON text, commas inside elements included', () => {
    const msg = { ...SEED, system_status: { ...SEED.system_status, error_flags: ['OVERHEAT', 'A,B'] } };
    const p = decodeEms(utf8(JSON.stringify(msg)), {}, L).points[0]!;
    expect(JSON.parse(p.fields['system_status.error_flags'] as string)).toEqual(['OVERHEAT', 'A,B']);
  });

  it('prefers the connection identity and reports the payload device as claimed', () => {
    const r = decodeEms(seedBytes, { device: 'thing-9' }, L);
    expect(r.points[0]!.device).toBe('thing-9');
    expect(r.claimedDevice).toBe('ems_001');
  });

  it('decodeEmsValue gives the same result as decoding the bytes', () => {
    expect(decodeEmsValue(JSON.parse(seedBytes.toString()), {}, L)).toEqual(decodeEms(seedBytes, {}, L));
  });

  it('returns a token as the token and never as a field', () => {
    const r = decodeEms(utf8(JSON.stringify({ ...SEED, token: 's3cr3t' })), {}, L);
    expect(r.token).toBe('s3cr3t');
    expect(JSON.stringify(r.points)).not.toContain('s3cr3t');
  });

  it('leaves nulls out with a warning, and keeps the last value of a name reached twice', () => {
    const r = decodeEms(
      utf8('{"device_id":"e","timestamp":"2026-01-31T12:00:01Z","battery":{"soc":null,"v":1},"battery.v":2}'),
      {},
      L,
    );
    expect(plain(r.points[0]!.fields)).toEqual({ 'battery.v': 2 });
    expect(r.warnings.map((w) => w.code)).toEqual(['NULL_VALUE', 'DUPLICATE_FIELD']);
  });

  it('uses the receive time, with a warning, when the timestamp is absent', () => {
    const { timestamp: _t, ...rest } = SEED;
    const r = decodeEms(utf8(JSON.stringify(rest)), { receivedAt: 1769860805000 }, L);
    expect(r.points[0]!.time).toBe(1769860805000);
    expect(r.warnings[0]!.code).toBe('RECEIVE_TIME_USED');
    expect(codeOf(() => decodeEms(utf8(JSON.stringify(rest)), {}, L))).toBe('MISSING_CONTEXT');
  });

  it('caps warnings per message', () => {
    const nulls = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`n${i}`, null]));
    const r = decodeEms(utf8(JSON.stringify({ ...SEED, nulls })), {}, L);
    expect(r.warnings).toHaveLength(101);
    expect(r.warnings.at(-1)!.code).toBe('WARNINGS_TRUNCATED');
    expect(r.points[0]!.fields['battery.soc']).toBe(85);
  });

  it('rejects a malformed token without echoing it', () => {
    const err = (() => {
      try {
        decodeEms(utf8(JSON.stringify({ ...SEED, token: 'T'.repeat(2000) })), {}, L);
      } catch (e) {
        return e as FleetwireError;
      }
    })();
    expect(err?.code).toBe('INVALID_TOKEN');
    expect(JSON.stringify(err?.toJSON())).not.toContain('TTTT');
    expect(codeOf(() => decodeEms(utf8(JSON.stringify({ ...SEED, token: 5 })), {}, L))).toBe('INVALID_TOKEN');
  });

  it('yields no point for a message without fields', () => {
    const r = decodeEms(utf8('{"device_id":"e","timestamp":"2026-01-31T12:00:01Z"}'), {}, L);
    expect(r.points).toEqual([]);
    expect(r.warnings[0]!.code).toBe('EMPTY_POINT');
  });
});

describe('EMS telemetry limits', () => {
  it('enforces the nesting depth', () => {
    // Root object = 1, system_status = 2, its error_flags array = 3: an array is a level too.
    expect(codeOf(() => decodeEms(seedBytes, {}, resolveLimits({ maxDepth: 2 })))).toBe('NESTING_TOO_DEEP');
    expect(decodeEms(seedBytes, {}, resolveLimits({ maxDepth: 3 })).points).toHaveLength(1);
    const arr = utf8('{"device_id":"e","timestamp":"2026-01-31T12:00:01Z","a":{"b":[1]}}');
    expect(codeOf(() => decodeEms(arr, {}, resolveLimits({ maxDepth: 2 })))).toBe('NESTING_TOO_DEEP');
  });

  it('survives nesting far deeper than the limit without exhausting the stack', () => {
    const depth = 40_000;
    const text = `{"device_id":"e","x":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`;
    const code = codeOf(() => decodeEms(utf8(text), {}, resolveLimits({ maxPayloadBytes: 1 << 20 })));
    expect(['NESTING_TOO_DEEP', 'INVALID_JSON']).toContain(code);
  });

  it('enforces the field count, name length, string length and payload size', () => {
    expect(codeOf(() => decodeEms(seedBytes, {}, resolveLimits({ maxFieldsPerPoint: 10 })))).toBe(
      'LIMIT_EXCEEDED',
    );
    expect(decodeEms(seedBytes, {}, resolveLimits({ maxFieldsPerPoint: 11 })).points).toHaveLength(1);
    expect(codeOf(() => decodeEms(seedBytes, {}, resolveLimits({ maxNameLength: 20 })))).toBe(
      'STRING_TOO_LONG',
    );
    expect(codeOf(() => decodeEms(seedBytes, {}, resolveLimits({ maxStringLength: 4 })))).toBe(
      'STRING_TOO_LONG',
    );
    expect(codeOf(() => decodeEms(seedBytes, {}, resolveLimits({ maxPayloadBytes: 100 })))).toBe(
      'PAYLOAD_TOO_LARGE',
    );
  });

  it('rejects timestamps outside the configured range', () => {
    const lim = resolveLimits({ minTimestampMs: Date.UTC(2026, 1, 1) });
    expect(codeOf(() => decodeEms(seedBytes, {}, lim))).toBe('TIMESTAMP_OUT_OF_RANGE');
    const bad = (ts: unknown) => utf8(JSON.stringify({ ...SEED, timestamp: ts }));
    expect(codeOf(() => decodeEms(bad('2026-02-30T12:00:01Z'), {}, L))).toBe('INVALID_TIMESTAMP');
    expect(codeOf(() => decodeEms(bad(1.5e12 + 0.5), {}, L))).toBe('INVALID_TIMESTAMP');
    expect(codeOf(() => decodeEms(bad(true), {}, L))).toBe('INVALID_TIMESTAMP');
  });

  it('never lets __proto__ or constructor reach a prototype', () => {
    for (const text of [
      '{"device_id":"e","__proto__":{"polluted":1}}',
      '{"device_id":"e","battery":{"__proto__":{"polluted":1}}}',
      '{"device_id":"e","a":{"constructor":{"prototype":{"polluted":1}}}}',
      '{"device_id":"e","prototype":1}',
    ]) {
      expect(codeOf(() => decodeEms(utf8(text), { receivedAt: 1769860801000 }, L))).toBe('FORBIDDEN_KEY');
    }
    expect(Object.hasOwn(Object.prototype, 'polluted')).toBe(false);
  });
});

describe('EMS telemetry properties', () => {
  it('encode → decode gives the message back (flattened)', () => {
    fc.assert(
      fc.property(deviceArb, timeArb, bodyArb, (deviceId, timestamp, data) => {
        const r = decodeEms(encodeEms({ deviceId, timestamp, data }), {}, L);
        expect(r.claimedDevice).toBe(deviceId);
        expect(r.points).toHaveLength(1);
        const p = r.points[0]!;
        expect(p.device).toBe(deviceId);
        expect(p.time).toBe(timestamp);
        expect(plain(p.fields)).toEqual(flatten(data));
        expect(r.warnings).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  });

  it('random bytes give points or a typed error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
        expectPointsOrTypedError(() => decodeEms(bytes, { receivedAt: 1769860801000 }, L), L);
      }),
      { numRuns: RUNS },
    );
  });

  it('mutated seed bytes give points or a typed error', () => {
    fc.assert(
      fc.property(mutatedBytesArb(seedBytes), (bytes) => {
        expectPointsOrTypedError(() => decodeEms(bytes, {}, L), L);
      }),
      { numRuns: RUNS },
    );
  });

  it('any JSON value gives points or a typed error', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => {
        expectPointsOrTypedError(() => decodeEmsValue(v, { device: 'd', receivedAt: 1769860801000 }, L), L);
      }),
      { numRuns: RUNS },
    );
  });
});
