import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeExosense,
  decodeExosenseValue,
  type ExosenseValue,
  encodeExosense,
} from '../../lambdas/core/codecs/exosense.js';
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
  stringValueArb,
  timeArb,
} from './props.js';
import { codeOf, utf8 } from './support.js';

const L = DEFAULT_LIMITS;
const CTX = { device: 'exo-gw-0042', receivedAt: 1769860801000 };
const SEED = '{"001": true, "002": 78.233, "003": {"lat":43.650883,"lng":-96.201642}, "007": "good"}';

/** Reference flattening for channel values, written independently of the codec. */
function flatten(data: Record<string, ExosenseValue>, prefix = '', out: Record<string, FieldValue> = {}) {
  for (const [k, v] of Object.entries(data)) {
    if (Array.isArray(v)) out[prefix + k] = JSON.stringify(v);
    else if (typeof v === 'object') flatten(v, `${prefix + k}.`, out);
    else out[prefix + k] = v;
  }
  return out;
}

// Channel ids without dots or a leading "__" (ExoSense's reserved prefix).
const channelArb = keyArb.filter((k) => !k.startsWith('__'));
const channelValueArb: fc.Arbitrary<ExosenseValue> = fc.letrec<{ value: ExosenseValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 3 },
    scalarArb,
    fc.array(scalarArb, { maxLength: 4 }),
    fc.dictionary(keyArb, tie('value'), { minKeys: 1, maxKeys: 4 }),
  ),
})).value;

describe('ExoSense data_in golden fixtures', () => {
  goldenTests('exosense', decodeExosense);
});

describe('ExoSense data_in decoding', () => {
  it('decodes the seed example at the receive time for the connection device', () => {
    const r = decodeExosense(utf8(SEED), CTX, L);
    expect(r.points).toHaveLength(1);
    expect(r.points[0]!.device).toBe(CTX.device);
    expect(r.points[0]!.time).toBe(CTX.receivedAt);
    expect(plain(r.points[0]!.fields)).toEqual({
      '001': true,
      '002': 78.233,
      '003.lat': 43.650883,
      '003.lng': -96.201642,
      '007': 'good',
    });
    expect(r.claimedDevice).toBeUndefined();
  });

  it('accepts data_in as a JSON string of the object, exactly once', () => {
    const once = utf8(JSON.stringify(SEED));
    expect(decodeExosense(once, CTX, L)).toEqual(decodeExosense(utf8(SEED), CTX, L));
    expect(codeOf(() => decodeExosense(utf8(JSON.stringify(JSON.stringify(SEED))), CTX, L))).toBe(
      'SCHEMA_VIOLATION',
    );
  });

  it('keeps channel errors as <channel>.__error string fields next to values', () => {
    const r = decodeExosense(
      utf8('{"002": 78.2, "__error": {"002": "drift", "009": 17, "010": false}}'),
      CTX,
      L,
    );
    expect(plain(r.points[0]!.fields)).toEqual({
      '002': 78.2,
      '002.__error': 'drift',
      '009.__error': '17',
      '010.__error': 'false',
    });
  });

  it('reports a name reached twice, whichever path comes first', () => {
    for (const text of ['{"003.lat": 1, "003": {"lat": 2}}', '{"003": {"lat": 2}, "003.lat": 1}']) {
      const r = decodeExosense(utf8(text), CTX, L);
      expect(Object.keys(r.points[0]!.fields)).toEqual(['003.lat']);
      expect(r.warnings.map((w) => w.code)).toEqual(['DUPLICATE_FIELD']);
    }
    const r = decodeExosense(utf8('{"003": {"__error": "a"}, "__error": {"003": "b"}}'), CTX, L);
    expect(plain(r.points[0]!.fields)).toEqual({ '003.__error': 'b' });
    expect(r.warnings.map((w) => w.code)).toEqual(['DUPLICATE_FIELD']);
  });

  it('does not coerce numeric-looking strings', () => {
    const r = decodeExosense(utf8('{"002": "78.233", "001": "true"}'), CTX, L);
    expect(plain(r.points[0]!.fields)).toEqual({ '002': '78.233', '001': 'true' });
  });

  it('skips other reserved __ keys with a warning', () => {
    const r = decodeExosense(utf8('{"002": 1, "__seq": 5}'), CTX, L);
    expect(plain(r.points[0]!.fields)).toEqual({ '002': 1 });
    expect(r.warnings.map((w) => w.code)).toEqual(['RESERVED_KEY']);
  });

  it('yields no point for an empty object', () => {
    const r = decodeExosense(utf8('{}'), CTX, L);
    expect(r.points).toEqual([]);
    expect(r.warnings.map((w) => w.code)).toEqual(['EMPTY_POINT']);
  });

  it('requires the device identity and the receive time', () => {
    expect(codeOf(() => decodeExosense(utf8(SEED), { receivedAt: CTX.receivedAt }, L))).toBe(
      'MISSING_CONTEXT',
    );
    expect(codeOf(() => decodeExosense(utf8(SEED), { device: CTX.device }, L))).toBe('MISSING_CONTEXT');
    expect(codeOf(() => decodeExosense(utf8(SEED), { device: 'd', receivedAt: 1.5 }, L))).toBe(
      'INVALID_TIMESTAMP',
    );
  });

  it('decodeExosenseValue accepts the parsed object and the parsed string form', () => {
    const expected = decodeExosense(utf8(SEED), CTX, L);
    expect(decodeExosenseValue(JSON.parse(SEED), CTX, L)).toEqual(expected);
    expect(decodeExosenseValue(SEED, CTX, L)).toEqual(expected);
  });
});

describe('ExoSense data_in limits', () => {
  it('enforces depth, field count, string and name lengths', () => {
    expect(codeOf(() => decodeExosense(utf8(SEED), CTX, resolveLimits({ maxDepth: 1 })))).toBe(
      'NESTING_TOO_DEEP',
    );
    expect(decodeExosense(utf8(SEED), CTX, resolveLimits({ maxDepth: 2 })).points).toHaveLength(1);
    expect(codeOf(() => decodeExosense(utf8(SEED), CTX, resolveLimits({ maxFieldsPerPoint: 4 })))).toBe(
      'LIMIT_EXCEEDED',
    );
    expect(codeOf(() => decodeExosense(utf8(SEED), CTX, resolveLimits({ maxStringLength: 3 })))).toBe(
      'STRING_TOO_LONG',
    );
    expect(codeOf(() => decodeExosense(utf8(SEED), CTX, resolveLimits({ maxNameLength: 3 })))).toBe(
      'STRING_TOO_LONG',
    );
    const longError = utf8(JSON.stringify({ __error: { '001': 'e'.repeat(3000) } }));
    expect(codeOf(() => decodeExosense(longError, CTX, L))).toBe('STRING_TOO_LONG');
  });

  it('rejects forbidden keys at every level without touching a prototype', () => {
    for (const text of [
      '{"__proto__": {"polluted": 1}}',
      '{"003": {"__proto__": {"polluted": 1}}}',
      '{"constructor": {"prototype": {"polluted": 1}}}',
      '{"__error": {"constructor": "x"}}',
    ]) {
      expect(codeOf(() => decodeExosense(utf8(text), CTX, L))).toBe('FORBIDDEN_KEY');
    }
    expect(Object.hasOwn(Object.prototype, 'polluted')).toBe(false);
  });

  it('rejects numbers JSON.parse turns into Infinity, inside arrays too', () => {
    expect(codeOf(() => decodeExosense(utf8('{"002": 1e400}'), CTX, L))).toBe('NON_FINITE_NUMBER');
    expect(codeOf(() => decodeExosense(utf8('{"002": [1, -1e400]}'), CTX, L))).toBe('NON_FINITE_NUMBER');
    expect(codeOf(() => decodeExosense(utf8('{"__error": {"002": 1e400}}'), CTX, L))).toBe(
      'NON_FINITE_NUMBER',
    );
  });

  it('rejects receive times outside the accepted range', () => {
    const lim = resolveLimits({ maxTimestampMs: CTX.receivedAt - 1 });
    expect(codeOf(() => decodeExosense(utf8(SEED), CTX, lim))).toBe('TIMESTAMP_OUT_OF_RANGE');
  });
});

describe('ExoSense data_in properties', () => {
  it('encode → decode gives the channels and errors back', () => {
    fc.assert(
      fc.property(
        deviceArb,
        timeArb,
        fc.dictionary(channelArb, channelValueArb, { minKeys: 1, maxKeys: 8 }),
        fc.option(fc.dictionary(channelArb, stringValueArb, { maxKeys: 3 }), { nil: undefined }),
        fc.boolean(),
        (device, receivedAt, channels, errors, asString) => {
          const bytes = encodeExosense(errors === undefined ? { channels } : { channels, errors }, {
            asString,
          });
          const r = decodeExosense(bytes, { device, receivedAt }, L);
          const expected = flatten(channels);
          for (const [ch, msg] of Object.entries(errors ?? {})) expected[`${ch}.__error`] = msg;
          expect(r.points).toHaveLength(1);
          expect(r.points[0]!.device).toBe(device);
          expect(r.points[0]!.time).toBe(receivedAt);
          expect(plain(r.points[0]!.fields)).toEqual(expected);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('random bytes give points or a typed error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expectPointsOrTypedError(() => decodeExosense(bytes, CTX, L), L);
      }),
      { numRuns: RUNS },
    );
  });

  it('mutated seed bytes (object and string forms) give points or a typed error', () => {
    fc.assert(
      fc.property(
        fc.oneof(mutatedBytesArb(utf8(SEED)), mutatedBytesArb(utf8(JSON.stringify(SEED)))),
        (bytes) => {
          expectPointsOrTypedError(() => decodeExosense(bytes, CTX, L), L);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('any JSON value gives points or a typed error', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (v) => {
        expectPointsOrTypedError(() => decodeExosenseValue(v, CTX, L), L);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('ExoSense fast path (the parsed object reused as the fields record)', () => {
  // Keys that exercise both paths: plain channels, dotted and reserved keys, "__error" members.
  const anyKeyArb = fc.oneof(
    { weight: 6, arbitrary: keyArb },
    fc.constantFrom('__error', '__reserved', 'a.b', 'x', 'x.y', 'x.__error', '__proto__', 'constructor', ''),
  );
  const valueArb: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
    v: fc.oneof(
      { depthSize: 'small', maxDepth: 3 },
      scalarArb,
      fc.constant(null),
      fc.array(fc.oneof(scalarArb, fc.constant(null)), { maxLength: 4 }),
      fc.dictionary(anyKeyArb, tie('v'), { maxKeys: 4 }),
    ),
  })).v;
  const messageArb = fc.dictionary(anyKeyArb, valueArb, { maxKeys: 12 }).map((o) => JSON.stringify(o));

  /** The result, or the error code, through a path that never reuses the parsed object. */
  function general(text: string): unknown {
    try {
      const r = decodeExosenseValue(JSON.parse(text), CTX, L);
      return { ...r, points: r.points.map((p) => ({ ...p, fields: plain(p.fields) })) };
    } catch (e) {
      return codeOf(() => {
        throw e;
      });
    }
  }

  it('gives the same fields, warnings and errors as the general path', () => {
    fc.assert(
      fc.property(messageArb, (text) => {
        let fast: unknown;
        try {
          const r = decodeExosense(utf8(text), CTX, L);
          expect(r.points.every((p) => Object.getPrototypeOf(p.fields) === null)).toBe(true);
          fast = { ...r, points: r.points.map((p) => ({ ...p, fields: plain(p.fields) })) };
        } catch (e) {
          fast = codeOf(() => {
            throw e;
          });
        }
        expect(fast).toEqual(general(text));
      }),
      { numRuns: RUNS * 3 },
    );
  });

  it('puts object channels after the scalar channels and channel errors last', () => {
    const r = decodeExosense(
      utf8('{"001":1,"003":{"lat":2,"lng":3},"004":[1,2],"__error":{"009":"x"}}'),
      CTX,
      L,
    );
    expect(Object.keys(r.points[0]!.fields)).toEqual(['001', '004', '003.lat', '003.lng', '009.__error']);
    expect(r.points[0]!.fields['004']).toBe('[1,2]');
  });

  it('leaves a caller-supplied object untouched', () => {
    const value = JSON.parse('{"001":1,"003":{"lat":2},"__error":{"009":"x"}}');
    const copy = structuredClone(value);
    decodeExosenseValue(value, CTX, L);
    expect(value).toEqual(copy);
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
  });
});
