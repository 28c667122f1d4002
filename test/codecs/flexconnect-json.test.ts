import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeFlexconnectJson,
  encodeFlexconnectJson,
  type FlexconnectJsonMessage,
} from '../../lambdas/core/codecs/flexconnect-json.js';
import { decodePayload } from '../../lambdas/core/codecs/index.js';
import { MAX_WARNINGS } from '../../lambdas/core/codecs/warnings.js';
import { EncodeError, FleetwireError } from '../../lambdas/core/errors.js';
import { DEFAULT_LIMITS, resolveLimits } from '../../lambdas/core/limits.js';
import type { FieldValue } from '../../lambdas/core/model/point.js';
import { goldenTests, loadCases, resultToJson } from './golden.js';
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
import { codeOf, codesOnly, utf8 } from './support.js';

const L = DEFAULT_LIMITS;

describe('FlexConnect JSON golden fixtures', () => {
  goldenTests('flexconnect-json', (bytes, ctx, limits) => {
    return codesOnly(decodeFlexconnectJson(bytes, ctx, limits));
  });

  it('auto-detection decodes every accepted fixture exactly as the explicit format does', () => {
    const accepted = loadCases('flexconnect-json').filter((c) => c.error === undefined);
    expect(accepted.length).toBeGreaterThan(10);
    for (const c of accepted) {
      const auto = decodePayload(c.input, 'auto', c.ctx);
      expect(resultToJson(auto), c.file).toEqual(resultToJson(decodeFlexconnectJson(c.input, c.ctx, L)));
    }
  });

  it('auto-detection rejects every malformed fixture with a typed error', () => {
    for (const c of loadCases('flexconnect-json').filter((x) => x.error !== undefined)) {
      expect(
        codeOf(() => decodePayload(c.input, 'auto', c.ctx)),
        c.file,
      ).toBeDefined();
    }
  });
});

describe('FlexConnect JSON decoding', () => {
  const seed: FlexconnectJsonMessage = {
    device_id: 'provided_device_id',
    token: 'provided_token',
    tags: [{ tag1: 'value1' }, { tag2: 'value2' }],
    points: [
      {
        timestamp: 1622547800000,
        tags: [{ point_tag1: 'point_value1' }],
        fields: [
          { name: 'temperature', value: 22.5 },
          { name: 'humidity', value: 45.0 },
        ],
      },
    ],
  };

  it('returns null-prototype tag and field records', () => {
    const [p] = decodeFlexconnectJson(encodeFlexconnectJson(seed), {}, L).points;
    expect(Object.getPrototypeOf(p?.tags)).toBeNull();
    expect(Object.getPrototypeOf(p?.fields)).toBeNull();
  });

  it('never puts the token in points, warnings or errors', () => {
    const token = 'SECRET-9f86d081884c7d659a2feaa0c55ad015';
    const ok = decodeFlexconnectJson(
      encodeFlexconnectJson({
        ...seed,
        token,
        points: [...seed.points, { timestamp: 1622547800001, fields: [] }],
      }),
      {},
      L,
    );
    expect(ok.token).toBe(token);
    expect(JSON.stringify({ ...ok, token: undefined })).not.toContain('SECRET');
    for (const bad of [
      { ...seed, token, points: [{ timestamp: 1, fields: [] }] },
      { ...seed, token: `${token}${'x'.repeat(1100)}` },
      { token, points: [] },
    ]) {
      try {
        decodeFlexconnectJson(utf8(JSON.stringify(bad)), {}, L);
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(FleetwireError);
        expect(JSON.stringify((e as FleetwireError).toJSON())).not.toContain('SECRET');
        expect((e as Error).message).not.toContain('SECRET');
      }
    }
  });

  it('reports the JSON path of the offending value', () => {
    const msg = {
      device_id: 'd',
      points: [
        seed.points[0],
        {
          timestamp: 1622547800000,
          fields: [
            { name: 'a', value: 1 },
            { name: 'b', value: {} },
          ],
        },
      ],
    };
    try {
      decodeFlexconnectJson(utf8(JSON.stringify(msg)), {}, L);
      expect.unreachable();
    } catch (e) {
      expect((e as FleetwireError).code).toBe('SCHEMA_VIOLATION');
      expect((e as FleetwireError).details.path).toBe('points[1].fields[1]');
      expect((e as Error).message).toMatch(/^points\[1\]\.fields\[1\]: /);
    }
  });

  it('applies configured limits', () => {
    const two = encodeFlexconnectJson({
      ...seed,
      points: [seed.points[0]!, { ...seed.points[0]!, timestamp: 1622547800001 }],
    });
    expect(codeOf(() => decodeFlexconnectJson(two, {}, resolveLimits({ maxPoints: 1 })))).toBe(
      'LIMIT_EXCEEDED',
    );
    expect(codeOf(() => decodeFlexconnectJson(two, {}, resolveLimits({ maxFieldsPerPoint: 1 })))).toBe(
      'LIMIT_EXCEEDED',
    );
    expect(codeOf(() => decodeFlexconnectJson(two, {}, resolveLimits({ maxTags: 2 })))).toBe(
      'LIMIT_EXCEEDED',
    );
    expect(codeOf(() => decodeFlexconnectJson(two, {}, resolveLimits({ maxPayloadBytes: 100 })))).toBe(
      'PAYLOAD_TOO_LARGE',
    );
    expect(codeOf(() => decodeFlexconnectJson(two, {}, resolveLimits({ maxNameLength: 5 })))).toBe(
      'STRING_TOO_LONG',
    );
    const zipped = encodeFlexconnectJson(seed, { compress: true });
    expect(codeOf(() => decodeFlexconnectJson(zipped, {}, resolveLimits({ maxDecompressedBytes: 64 })))).toBe(
      'DECOMPRESSED_TOO_LARGE',
    );
    expect(
      codeOf(() => decodeFlexconnectJson(two, {}, resolveLimits({ minTimestampMs: 1622547800001 }))),
    ).toBe('TIMESTAMP_OUT_OF_RANGE');
  });

  it('caps warnings and says how many were dropped', () => {
    const fields = Array.from({ length: 300 }, (_, i) => ({ name: 'same', value: i }));
    const r = decodeFlexconnectJson(
      encodeFlexconnectJson({ device_id: 'd', points: [{ timestamp: 1622547800000, fields }] }),
      {},
      L,
    );
    expect(r.points[0]?.fields.same).toBe(299);
    expect(r.warnings).toHaveLength(MAX_WARNINGS + 1);
    expect(r.warnings.at(-1)).toMatchObject({ code: 'WARNINGS_TRUNCATED' });
    expect(r.warnings.at(-1)?.message).toContain(`${299 - MAX_WARNINGS}`);
  });

  it('refuses to encode non-finite numbers', () => {
    expect(() =>
      encodeFlexconnectJson({
        device_id: 'd',
        points: [{ timestamp: 1622547800000, fields: [{ name: 'a', value: Number.NaN }] }],
      }),
    ).toThrow(EncodeError);
  });
});

/** A random valid message plus the points a reference model (written apart from the codec) expects. */
const tagsArb = fc.array(fc.dictionary(keyArb, fc.string({ maxLength: 12 }), { minKeys: 1, maxKeys: 2 }), {
  maxLength: 3,
});
const messageArb = fc.record(
  {
    device_id: deviceArb,
    token: fc.string({ unit: 'grapheme', maxLength: 32 }),
    tags: tagsArb,
    points: fc.array(
      fc.record(
        {
          timestamp: timeArb,
          tags: tagsArb,
          fields: fc.array(fc.record({ name: keyArb, value: scalarArb }), { minLength: 1, maxLength: 8 }),
        },
        { requiredKeys: ['timestamp', 'fields'] },
      ),
      { maxLength: 6 },
    ),
  },
  { requiredKeys: ['points'] },
);

function modelPoints(m: FlexconnectJsonMessage, device: string) {
  const mergeTags = (lists: Array<Array<Record<string, string>> | undefined>) => {
    const out: Record<string, string> = {};
    for (const list of lists) for (const entry of list ?? []) Object.assign(out, entry);
    return out;
  };
  let duplicates = 0;
  const points = m.points.map((p) => {
    const fields: Record<string, FieldValue> = {};
    for (const f of p.fields) {
      if (Object.hasOwn(fields, f.name)) duplicates++;
      fields[f.name] = f.value;
    }
    return { device, time: p.timestamp, tags: mergeTags([m.tags, p.tags]), fields };
  });
  return { points, duplicates };
}

describe('FlexConnect JSON properties', () => {
  it('decode(encode(message)) gives the message back, plain and compressed', () => {
    fc.assert(
      fc.property(
        messageArb,
        fc.boolean(),
        fc.option(deviceArb, { nil: undefined }),
        (msg, compress, authenticated) => {
          const ctx = authenticated === undefined ? {} : { device: authenticated };
          const device = authenticated ?? msg.device_id;
          const bytes = encodeFlexconnectJson(msg, { compress });
          if (device === undefined) {
            expect(codeOf(() => decodeFlexconnectJson(bytes, ctx, L))).toBe('MISSING_CONTEXT');
            return;
          }
          const r = decodeFlexconnectJson(bytes, ctx, L);
          const model = modelPoints(msg, device);
          expect(r.points.map((p) => ({ ...p, tags: plain(p.tags), fields: plain(p.fields) }))).toEqual(
            model.points,
          );
          expect(r.warnings.filter((w) => w.code === 'DUPLICATE_FIELD')).toHaveLength(
            Math.min(model.duplicates, MAX_WARNINGS),
          );
          expect(r.token).toBe(msg.token);
          expect(r.claimedDevice).toBe(msg.device_id);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('mutated valid payloads give points or a typed error, nothing else', () => {
    const seeds = fc.oneof(
      messageArb.map((m) => encodeFlexconnectJson({ device_id: 'd', ...m })),
      messageArb.map((m) => encodeFlexconnectJson({ device_id: 'd', ...m }, { compress: true })),
    );
    fc.assert(
      fc.property(seeds.chain(mutatedBytesArb), (bytes) => {
        expectPointsOrTypedError(() => decodeFlexconnectJson(bytes, {}, L), L);
      }),
      { numRuns: RUNS },
    );
  });

  it('random bytes and random JSON give points or a typed error, nothing else', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }),
          fc.json().map(utf8),
          fc.anything().map((v) => utf8(JSON.stringify({ device_id: 'd', points: [v] }) ?? 'null')),
          fc.anything().map((v) =>
            utf8(
              JSON.stringify({
                device_id: 'd',
                points: [{ timestamp: 1622547800000, tags: v, fields: v }],
              }) ?? '',
            ),
          ),
        ),
        (bytes) => {
          expectPointsOrTypedError(() => decodeFlexconnectJson(bytes, {}, L), L);
        },
      ),
      { numRuns: RUNS },
    );
  });
});
