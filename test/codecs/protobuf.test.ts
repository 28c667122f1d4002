import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import {
  BatchType,
  decodeProtobuf,
  encodeProtobuf,
  POINTS_PROTO_DESCRIPTOR,
  type ProtobufBatchMessage,
} from '../../lambdas/core/codecs/protobuf.js';
import type { FleetwireError } from '../../lambdas/core/errors.js';
import { DEFAULT_LIMITS, resolveLimits } from '../../lambdas/core/limits.js';
import { FIXTURES_DIR, goldenTests } from './golden.js';
import {
  deviceArb,
  expectPointsOrTypedError,
  keyArb,
  mutatedBytesArb,
  plain,
  RUNS,
  stringValueArb,
  timeArb,
} from './props.js';
import { codeOf } from './support.js';

const L = DEFAULT_LIMITS;
const T0 = 1769860801000;
const here = dirname(fileURLToPath(import.meta.url));
const batchBytes = readFileSync(join(FIXTURES_DIR, 'protobuf/batch.pb'));

const raw = (body: Record<string, unknown>) => BatchType.encode(body).finish();
const onePoint = (fields: Record<string, unknown>[], extra: Record<string, unknown> = {}) =>
  raw({ device_id: 'd', ...extra, points: [{ timestamp_ms: T0, fields }] });

// Any double except NaN/±Infinity, -0 included (a double field carries it exactly).
const fieldValueArb = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
  stringValueArb,
  fc.boolean(),
);
const tagsArb = fc.dictionary(keyArb, stringValueArb, { maxKeys: 4 });
const batchArb: fc.Arbitrary<ProtobufBatchMessage> = fc.record(
  {
    deviceId: deviceArb,
    token: fc.string({ minLength: 1, maxLength: 64 }),
    tags: tagsArb,
    points: fc.array(
      fc.record(
        {
          timestamp: timeArb,
          tags: tagsArb,
          fields: fc.dictionary(keyArb, fieldValueArb, { minKeys: 1, maxKeys: 10 }),
        },
        { requiredKeys: ['timestamp', 'fields'] },
      ),
      { maxLength: 8 },
    ),
  },
  { requiredKeys: ['deviceId', 'points'] },
);

describe('protobuf golden fixtures', () => {
  goldenTests('protobuf', decodeProtobuf);
});

describe('protobuf schema', () => {
  it('the runtime descriptor matches points.proto exactly', () => {
    const proto = readFileSync(join(here, '../../lambdas/core/codecs/points.proto'), 'utf8');
    const fromFile = protobuf.parse(proto, { keepCase: true }).root.toJSON();
    const fromDescriptor = protobuf.Root.fromJSON(
      POINTS_PROTO_DESCRIPTOR as unknown as protobuf.INamespace,
    ).toJSON();
    expect(fromDescriptor).toEqual(fromFile);
  });
});

describe('protobuf decoding', () => {
  it('decodes a batch: merged tags (point wins), typed values, claimed device and token', () => {
    const r = decodeProtobuf(batchBytes, {}, L);
    expect(r.claimedDevice).toBe('flexcase-0007');
    expect(r.token).toBe('tok-3f9a1c2e');
    expect(r.points).toHaveLength(2);
    const [a, b] = r.points;
    expect(plain(a!.tags)).toEqual({ site: 'plant-2', line: 'B', source: 'mpu' });
    expect(plain(b!.tags)).toEqual({ site: 'plant-2', line: 'A' });
    expect(plain(a!.fields)).toEqual({
      'EngineSpeed.RPM': 1875.5,
      'Coolant.Temp': 88,
      'Gear.State': 'DRIVE',
      'Door.Open': false,
    });
    expect(b!.time).toBe(T0 + 1000);
    expect(JSON.stringify(r.points)).not.toContain('tok-3f9a1c2e');
  });

  it('accepts the gzip-compressed form and the connection identity', () => {
    const r = decodeProtobuf(gzipSync(batchBytes), { device: 'thing-7' }, L);
    expect(r.points[0]!.device).toBe('thing-7');
    expect(r.claimedDevice).toBe('flexcase-0007');
  });

  it('keeps the last value of a repeated field name, with a warning', () => {
    const r = decodeProtobuf(
      onePoint([
        { name: 'v', int_value: 1 },
        { name: 'v', string_value: 'x' },
      ]),
      {},
      L,
    );
    expect(plain(r.points[0]!.fields)).toEqual({ v: 'x' });
    expect(r.warnings.map((w) => w.code)).toEqual(['DUPLICATE_FIELD']);
  });

  it('takes the last member when a sender sets two members of the value oneof', () => {
    // Proto3: the last oneof member on the wire wins.
    const w = protobuf.Writer.create();
    w.uint32(10).string('v').uint32(0x11).double(1.5).uint32(0x1a).string('late');
    const field = w.finish();
    const point = protobuf.Writer.create().uint32(8).uint64(T0).uint32(0x1a).bytes(field).finish();
    const batch = protobuf.Writer.create().uint32(10).string('d').uint32(0x22).bytes(point).finish();
    expect(plain(decodeProtobuf(batch, {}, L).points[0]!.fields)).toEqual({ v: 'late' });
  });

  it('handles integers at and beyond ±(2^53 − 1)', () => {
    const big = (s: string) =>
      (protobuf.util.Long as unknown as { fromString(s: string): protobuf.Long }).fromString(s);
    const ok = decodeProtobuf(onePoint([{ name: 'v', int_value: big('9007199254740991') }]), {}, L);
    expect(ok.points[0]!.fields.v).toBe(Number.MAX_SAFE_INTEGER);
    for (const s of ['9007199254740992', '-9007199254740992', '9223372036854775807']) {
      expect(codeOf(() => decodeProtobuf(onePoint([{ name: 'v', int_value: big(s) }]), {}, L))).toBe(
        'INTEGER_OUT_OF_RANGE',
      );
    }
  });

  it('rejects NaN and infinities in doubles', () => {
    for (const v of [Number.NaN, Infinity, -Infinity]) {
      expect(codeOf(() => decodeProtobuf(onePoint([{ name: 'v', number_value: v }]), {}, L))).toBe(
        'NON_FINITE_NUMBER',
      );
    }
  });

  it('rejects strings that are truncated or not UTF-8 (protobufjs alone would accept both)', () => {
    // device_id declared 16 bytes long, 2 present.
    expect(codeOf(() => decodeProtobuf(Uint8Array.from([0x0a, 0x10, 0x61, 0x62]), {}, L))).toBe(
      'INVALID_PROTOBUF',
    );
    // A lone continuation byte, an overlong encoding, a UTF-16 surrogate.
    for (const bad of [[0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80]]) {
      const bytes = Uint8Array.from([0x0a, bad.length, ...bad]);
      expect(codeOf(() => decodeProtobuf(bytes, {}, L))).toBe('INVALID_UTF8');
    }
  });
});

describe('protobuf limits', () => {
  it('enforces point, field and tag counts and string lengths', () => {
    expect(codeOf(() => decodeProtobuf(batchBytes, {}, resolveLimits({ maxPoints: 1 })))).toBe(
      'LIMIT_EXCEEDED',
    );
    expect(codeOf(() => decodeProtobuf(batchBytes, {}, resolveLimits({ maxFieldsPerPoint: 3 })))).toBe(
      'LIMIT_EXCEEDED',
    );
    // Point 0 has site, line, source after the merge: 3 distinct tags.
    expect(codeOf(() => decodeProtobuf(batchBytes, {}, resolveLimits({ maxTags: 2 })))).toBe(
      'LIMIT_EXCEEDED',
    );
    expect(decodeProtobuf(batchBytes, {}, resolveLimits({ maxTags: 3 })).points).toHaveLength(2);
    expect(codeOf(() => decodeProtobuf(batchBytes, {}, resolveLimits({ maxStringLength: 4 })))).toBe(
      'STRING_TOO_LONG',
    );
    expect(codeOf(() => decodeProtobuf(batchBytes, {}, resolveLimits({ maxNameLength: 8 })))).toBe(
      'STRING_TOO_LONG',
    );
    expect(codeOf(() => decodeProtobuf(batchBytes, {}, resolveLimits({ maxPayloadBytes: 32 })))).toBe(
      'PAYLOAD_TOO_LARGE',
    );
  });

  it('rejects an over-long token without echoing it', () => {
    const bytes = encodeProtobuf({ deviceId: 'd', token: 'T'.repeat(2000), points: [] });
    let err: FleetwireError | undefined;
    try {
      decodeProtobuf(bytes, {}, L);
    } catch (e) {
      err = e as FleetwireError;
    }
    expect(err?.code).toBe('INVALID_TOKEN');
    expect(`${err?.message}${JSON.stringify(err?.details)}`).not.toContain('TTTT');
  });

  it('caps decompression', () => {
    const big = encodeProtobuf({
      deviceId: 'd',
      points: [{ timestamp: T0, fields: { pad: 'x'.repeat(2000) } }],
    });
    const lim = resolveLimits({ maxDecompressedBytes: 1024 });
    expect(codeOf(() => decodeProtobuf(gzipSync(big), {}, lim))).toBe('DECOMPRESSED_TOO_LARGE');
  });

  it('rejects timestamps out of range, including uint64 values beyond 2^53', () => {
    expect(codeOf(() => decodeProtobuf(batchBytes, {}, resolveLimits({ maxTimestampMs: T0 })))).toBe(
      'TIMESTAMP_OUT_OF_RANGE',
    );
    const beyond = protobuf.util.LongBits.fromNumber(2 ** 60).toLong(true);
    const bytes = raw({
      device_id: 'd',
      points: [{ timestamp_ms: beyond, fields: [{ name: 'v', bool_value: true }] }],
    });
    expect(codeOf(() => decodeProtobuf(bytes, {}, L))).toBe('TIMESTAMP_OUT_OF_RANGE');
  });

  it('survives deeply nested unknown groups', () => {
    // 30 000 start-group tags for an unknown field: protobufjs' skip recursion must end in a typed error.
    const bytes = new Uint8Array(30_000).fill((15 << 3) | 3);
    expect(codeOf(() => decodeProtobuf(bytes, {}, L))).toBe('INVALID_PROTOBUF');
  });

  it('never lets __proto__ reach a prototype', () => {
    const tagged = raw({
      device_id: 'd',
      tags: [{ key: '__proto__', value: 'x' }],
      points: [{ timestamp_ms: T0, fields: [{ name: 'v', bool_value: true }] }],
    });
    expect(codeOf(() => decodeProtobuf(tagged, {}, L))).toBe('FORBIDDEN_KEY');
    expect(codeOf(() => decodeProtobuf(onePoint([{ name: 'prototype', bool_value: true }]), {}, L))).toBe(
      'FORBIDDEN_KEY',
    );
    expect(Object.hasOwn(Object.prototype, 'polluted')).toBe(false);
  });
});

describe('protobuf properties', () => {
  it('encode → decode gives the batch back (tags merged, numbers exact)', () => {
    fc.assert(
      fc.property(batchArb, fc.boolean(), fc.boolean(), (msg, doublesOnly, gzip) => {
        const encoded = encodeProtobuf(msg, { doublesOnly });
        const r = decodeProtobuf(gzip ? gzipSync(encoded) : encoded, {}, L);
        expect(r.claimedDevice).toBe(msg.deviceId);
        expect(r.token).toBe(msg.token);
        expect(r.points).toHaveLength(msg.points.length);
        msg.points.forEach((p, i) => {
          const got = r.points[i]!;
          expect(got.device).toBe(msg.deviceId);
          expect(got.time).toBe(p.timestamp);
          expect(plain(got.tags)).toEqual({ ...msg.tags, ...p.tags });
          expect(plain(got.fields)).toEqual(p.fields);
          // toEqual treats 0 and -0 alike; the wire must not.
          for (const [k, v] of Object.entries(p.fields)) expect(Object.is(got.fields[k], v)).toBe(true);
        });
        expect(r.warnings).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  });

  it('random bytes give points or a typed error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expectPointsOrTypedError(() => decodeProtobuf(bytes, { device: 'd', receivedAt: T0 }, L), L);
      }),
      { numRuns: RUNS },
    );
  });

  it('mutated valid batches give points or a typed error', () => {
    fc.assert(
      fc.property(mutatedBytesArb(batchBytes), (bytes) => {
        expectPointsOrTypedError(() => decodeProtobuf(bytes, { receivedAt: T0 }, L), L);
      }),
      { numRuns: RUNS },
    );
  });
});
