import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { classifyJson, decodeAuto, detectFormat } from '../../lambdas/core/codecs/auto.js';
import { encodeFlexconnectBinary } from '../../lambdas/core/codecs/flexconnect-binary.js';
import { encodeFlexconnectJson } from '../../lambdas/core/codecs/flexconnect-json.js';
import { DECODERS, decodePayload } from '../../lambdas/core/codecs/index.js';
import { FleetwireError } from '../../lambdas/core/errors.js';
import { DEFAULT_LIMITS } from '../../lambdas/core/limits.js';
import { PAYLOAD_FORMATS } from '../../lambdas/core/model/point.js';
import { loadCases, resultToJson } from './golden.js';
import { expectPointsOrTypedError, mutatedBytesArb, RUNS } from './props.js';
import { codeOf, utf8 } from './support.js';

const L = DEFAULT_LIMITS;

const binary = encodeFlexconnectBinary({
  token: 'provided_token',
  points: [{ timestamp: 1622547800000, readings: [{ id: 0x123, bus: 1, data: Uint8Array.of(1, 2) }] }],
});
const flexJson = encodeFlexconnectJson({
  device_id: 'd1',
  points: [{ timestamp: 1622547800000, fields: [{ name: 'a', value: 1 }] }],
});
const ems = utf8(
  JSON.stringify({ device_id: 'ems_001', timestamp: '2026-01-31T12:00:01Z', battery: { voltage: 53.2 } }),
);
const dialtone = utf8(
  JSON.stringify({ api_maj: 0, api_min: 11, dts: 1536783776, dev: { dev_id: 'ab', dev_data: { bat: 100 } } }),
);
const exosense = utf8(JSON.stringify({ '001': 78.2, '003': { lat: 1, lng: 2 } }));
const ctx = { device: 'dev-1', receivedAt: 1769860801000 };

describe('auto detection rules', () => {
  it.each([
    ['0xFC + gzip', Buffer.concat([Buffer.of(0xfc), gzipSync(binary)]), 'flexconnect-binary'],
    ['a token length prefix', binary, 'flexconnect-binary'],
    ['a zero token length', Buffer.of(0, 0, 0, 0), 'flexconnect-binary'],
    [
      'the largest token length prefix (1024)',
      Buffer.concat([Buffer.of(0, 0, 4, 0), Buffer.alloc(1024, 0x6b)]),
      'flexconnect-binary',
    ],
    ['gzip of a binary message', gzipSync(binary), 'flexconnect-binary'],
    ['FlexConnect JSON', flexJson, 'flexconnect-json'],
    [
      'the b64 envelope',
      encodeFlexconnectJson({ device_id: 'd', points: [] }, { compress: true }),
      'flexconnect-json',
    ],
    [
      'JSON after a BOM and whitespace',
      Buffer.concat([Buffer.of(0xef, 0xbb, 0xbf), utf8(' \r\n\t'), flexJson]),
      'flexconnect-json',
    ],
    ['gzip of FlexConnect JSON', gzipSync(flexJson), 'flexconnect-json'],
    ['EMS telemetry', ems, 'ems'],
    ['gzip of EMS telemetry', gzipSync(ems), 'ems'],
    ['DialTone', dialtone, 'dialtone'],
    ['ExoSense data_in', exosense, 'exosense'],
    ['ExoSense data_in as a JSON string', utf8(JSON.stringify(exosense.toString())), 'exosense'],
  ] as const)('%s → %s', (_what, bytes, format) => {
    expect(detectFormat(bytes, L)).toBe(format);
    const r = decodeAuto(bytes, ctx, L);
    expect(r.format).toBe(format);
    expect(resultToJson(r)).toEqual(resultToJson(DECODERS[format](bytes, ctx, L)));
  });

  it.each([
    ['XML', utf8('<points/>')],
    ['a JSON array', utf8('[1,2]')],
    ['a JSON number', utf8('42')],
    ['a token length over 1024', Buffer.concat([Buffer.of(0, 0, 4, 1), Buffer.alloc(1025)])],
    ['fewer than 4 bytes', Buffer.of(0, 0, 0)],
    ['whitespace only', utf8(' \n ')],
    ['gzip inside gzip', gzipSync(gzipSync(flexJson))],
    ['0xFC inside gzip', gzipSync(Buffer.concat([Buffer.of(0xfc), gzipSync(binary)]))],
    ['a protobuf Batch (never auto-detected)', Buffer.of(0x12, 0x05, 0x0a, 0x03, 0x61, 0x62, 0x63)],
  ])('%s → UNKNOWN_FORMAT', (_what, bytes) => {
    expect(codeOf(() => decodeAuto(bytes, ctx, L))).toBe('UNKNOWN_FORMAT');
    expect(codeOf(() => detectFormat(bytes, L))).toBe('UNKNOWN_FORMAT');
  });

  it('reports empty and oversized payloads before looking at them', () => {
    expect(codeOf(() => decodeAuto(new Uint8Array(), ctx, L))).toBe('PAYLOAD_EMPTY');
    expect(codeOf(() => decodeAuto(gzipSync(Buffer.alloc(0)), ctx, L))).toBe('PAYLOAD_EMPTY');
    expect(codeOf(() => decodeAuto(Buffer.alloc(L.maxPayloadBytes + 1, 0x20), ctx, L))).toBe(
      'PAYLOAD_TOO_LARGE',
    );
    expect(codeOf(() => decodeAuto(gzipSync(Buffer.alloc(2 * 1024 * 1024, 0x20)), ctx, L))).toBe(
      'DECOMPRESSED_TOO_LARGE',
    );
  });

  it('reports a JSON-looking payload that does not parse as INVALID_JSON', () => {
    expect(codeOf(() => decodeAuto(utf8('{"points": ['), ctx, L))).toBe('INVALID_JSON');
  });

  it('classifies parsed JSON by its keys', () => {
    expect(classifyJson({ b64: 'x' })).toBe('flexconnect-json');
    expect(classifyJson({ b64: 'x', device_id: 'd' })).toBe('flexconnect-json'); // rejected by the codec
    expect(classifyJson({ points: [] })).toBe('flexconnect-json');
    expect(classifyJson({ dev: { chans: [] } })).toBe('dialtone');
    expect(classifyJson({ system_status: {} })).toBe('ems');
    expect(classifyJson({ grid: { power: 1 } })).toBe('ems');
    expect(classifyJson({ device_id: 'x', timestamp: '2026-01-31T12:00:01Z' })).toBe('ems');
    expect(classifyJson({ points: 3 })).toBe('exosense');
    expect(classifyJson({ '001': 1 })).toBe('exosense');
    expect(classifyJson('{"001": 1}')).toBe('exosense');
    expect(() => classifyJson(null)).toThrow(FleetwireError);
  });
});

describe('auto parses JSON once', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });
  it.each([
    ['flexconnect-json', flexJson],
    ['ems', ems],
    ['dialtone', dialtone],
    ['exosense', exosense],
  ] as const)('%s', (_format, bytes) => {
    const spy = vi.spyOn(JSON, 'parse');
    decodePayload(bytes, 'auto', ctx);
    expect(spy).toHaveBeenCalledTimes(1);
  });
});

describe('auto on every golden fixture', () => {
  for (const format of PAYLOAD_FORMATS) {
    it(`${format}: decodes like the explicit format, or rejects with a typed error`, () => {
      for (const c of loadCases(format)) {
        let explicit: unknown;
        try {
          explicit = resultToJson(DECODERS[format](c.input, c.ctx, L));
        } catch {
          explicit = undefined;
        }
        let auto: unknown;
        try {
          auto = resultToJson(decodePayload(c.input, 'auto', c.ctx));
        } catch (e) {
          expect(e, c.file).toBeInstanceOf(FleetwireError);
          // Only protobuf, which is never auto-detected, may lose an accepted payload to `auto`.
          if (explicit !== undefined) expect(format, c.file).toBe('protobuf');
          continue;
        }
        expect(auto, c.file).toEqual(explicit);
      }
    });
  }
});

describe('auto properties', () => {
  it('random and mutated bytes give points or a typed error, nothing else', () => {
    const seeds = fc.constantFrom(
      binary,
      flexJson,
      ems,
      dialtone,
      exosense,
      gzipSync(flexJson),
      gzipSync(binary),
    );
    fc.assert(
      fc.property(fc.oneof(seeds.chain(mutatedBytesArb), fc.uint8Array({ maxLength: 120 })), (bytes) => {
        expectPointsOrTypedError(() => decodePayload(bytes, 'auto', ctx), L);
      }),
      { numRuns: RUNS },
    );
  });
});
