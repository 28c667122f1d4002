/**
 * Writes the protobuf golden inputs under test/fixtures/codecs/protobuf/ (inputs, contexts and expected
 * error codes; the `.expected.json` results are checked in after review). Run on demand:
 *   npx tsx test/codecs/gen-protobuf-fixtures.ts
 * The inputs are deterministic, so re-running must leave `git status` clean.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import protobuf from 'protobufjs';
import { BatchType, encodeProtobuf, type ProtobufBatchMessage } from '../../lambdas/core/codecs/protobuf.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/codecs/protobuf');
const T0 = 1769860801000;

function write(name: string, bytes: Uint8Array, opts: { ctx?: object; error?: string } = {}): void {
  writeFileSync(join(dir, `${name}.pb`), bytes);
  if (opts.ctx) writeFileSync(join(dir, `${name}.ctx.json`), `${JSON.stringify(opts.ctx)}\n`);
  if (opts.error)
    writeFileSync(join(dir, `${name}.error.json`), `${JSON.stringify({ error: opts.error })}\n`);
}

/** A 64-bit integer from its decimal text (long.js is protobufjs' own dependency). */
function longFrom(text: string, unsigned = false): protobuf.Long {
  return (protobuf.util.Long as unknown as { fromString(s: string, u: boolean): protobuf.Long }).fromString(
    text,
    unsigned,
  );
}

/** Raw Batch bytes from a plain object (bypasses the typed encoder to reach hostile shapes). */
function raw(body: Record<string, unknown>): Uint8Array {
  return BatchType.encode(body).finish();
}

// --- valid ---
const flexStyle: ProtobufBatchMessage = {
  deviceId: 'flexcase-0007',
  token: 'tok-3f9a1c2e',
  tags: { site: 'plant-2', line: 'A' },
  points: [
    {
      timestamp: T0,
      tags: { line: 'B', source: 'mpu' },
      fields: { 'EngineSpeed.RPM': 1875.5, 'Coolant.Temp': 88, 'Gear.State': 'DRIVE', 'Door.Open': false },
    },
    { timestamp: T0 + 1000, fields: { 'EngineSpeed.RPM': 1890.25, 'Trip.Counter': -42 } },
  ],
};
write('batch', encodeProtobuf(flexStyle));
const batchGz = gzipSync(encodeProtobuf(flexStyle));
batchGz[9] = 3; // gzip OS byte: fixed so the fixture does not depend on the generating platform
writeFileSync(join(dir, 'batch-gzip.pb.gz'), batchGz);
write('doubles-only', encodeProtobuf(flexStyle, { doublesOnly: true }));
write('context-device', encodeProtobuf(flexStyle), { ctx: { device: 'thing-flexcase-0007' } });
write(
  'unicode-and-extremes',
  encodeProtobuf({
    deviceId: 'dev-ü',
    points: [
      {
        timestamp: T0,
        fields: {
          label: 'Füllstand 😀',
          maxSafe: Number.MAX_SAFE_INTEGER,
          minSafe: Number.MIN_SAFE_INTEGER,
          tiny: 5e-324,
          huge: 1.7976931348623157e308,
          negZero: -0,
          empty: '',
        },
      },
    ],
  }),
);
write('zero-timestamp', encodeProtobuf({ deviceId: 'dev-1', points: [{ timestamp: 0, fields: { v: 1 } }] }), {
  ctx: { receivedAt: T0 + 5 },
});
write(
  'empty-point-dropped',
  encodeProtobuf({
    deviceId: 'dev-1',
    points: [
      { timestamp: T0, fields: {} },
      { timestamp: T0, fields: { v: 1 } },
    ],
  }),
);
write('no-points', encodeProtobuf({ deviceId: 'dev-1', token: 'tok', points: [] }));
write(
  'duplicate-field',
  raw({
    device_id: 'dev-1',
    points: [
      {
        timestamp_ms: T0,
        fields: [
          { name: 'v', int_value: 1 },
          { name: 'v', int_value: 2 },
        ],
      },
    ],
  }),
);
// The same bytes a sender produces when it declares `map<string, string> tags` (wire-compatible).
const mapRoot = protobuf.parse(
  `
  syntax = "proto3";
  message Field { string name = 1; oneof value { double number_value = 2; string string_value = 3; bool bool_value = 4; sint64 int_value = 5; } }
  message Point { uint64 timestamp_ms = 1; map<string, string> tags = 2; repeated Field fields = 3; }
  message Batch { string device_id = 1; string token = 2; map<string, string> tags = 3; repeated Point points = 4; }
`,
  { keepCase: true },
).root;
const MapBatch = mapRoot.lookupType('Batch');
write(
  'map-tags',
  MapBatch.encode(
    MapBatch.fromObject({
      device_id: 'dev-map',
      tags: { site: 'plant-2' },
      points: [{ timestamp_ms: T0, tags: { line: 'C' }, fields: [{ name: 'v', number_value: 0.5 }] }],
    }),
  ).finish(),
);
// Unknown fields (a newer sender) are skipped.
{
  const w = protobuf.Writer.create();
  w.uint32((1 << 3) | 2).string('dev-future');
  w.uint32((15 << 3) | 0).uint64(99); // unknown varint field 15
  w.uint32((16 << 3) | 2).string('unknown'); // unknown length-delimited field 16
  const p = BatchType.lookupType('Point')
    .encode({ timestamp_ms: T0, fields: [{ name: 'v', bool_value: true }] })
    .finish();
  w.uint32((4 << 3) | 2).bytes(p);
  write('unknown-fields', w.finish());
}

// --- malformed ---
const good = encodeProtobuf(flexStyle);
write('truncated', good.subarray(0, good.length - 7), { error: 'INVALID_PROTOBUF' });
write('invalid-wire-type', Uint8Array.from([0x0f, 0x01]), { error: 'INVALID_PROTOBUF' });
write('string-past-end', Uint8Array.from([0x0a, 0x10, 0x61, 0x62]), { error: 'INVALID_PROTOBUF' });
write('random-bytes', Uint8Array.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0xff, 0x13, 0x37]), {
  error: 'INVALID_PROTOBUF',
});
write('invalid-utf8', Uint8Array.from([0x0a, 0x03, 0x61, 0xc3, 0x28]), { error: 'INVALID_UTF8' });
write(
  'nan-double',
  raw({ device_id: 'd', points: [{ timestamp_ms: T0, fields: [{ name: 'v', number_value: Number.NaN }] }] }),
  { error: 'NON_FINITE_NUMBER' },
);
write(
  'infinite-double',
  raw({ device_id: 'd', points: [{ timestamp_ms: T0, fields: [{ name: 'v', number_value: -Infinity }] }] }),
  { error: 'NON_FINITE_NUMBER' },
);
write(
  'int-beyond-2-53',
  raw({
    device_id: 'd',
    points: [
      {
        timestamp_ms: T0,
        fields: [{ name: 'v', int_value: longFrom('9007199254740993') }],
      },
    ],
  }),
  { error: 'INTEGER_OUT_OF_RANGE' },
);
write(
  'int-min-int64',
  raw({
    device_id: 'd',
    points: [
      {
        timestamp_ms: T0,
        fields: [{ name: 'v', int_value: longFrom('-9223372036854775808') }],
      },
    ],
  }),
  { error: 'INTEGER_OUT_OF_RANGE' },
);
write(
  'timestamp-uint64-max',
  raw({
    device_id: 'd',
    points: [
      {
        timestamp_ms: longFrom('18446744073709551615', true),
        fields: [{ name: 'v', bool_value: true }],
      },
    ],
  }),
  { error: 'TIMESTAMP_OUT_OF_RANGE' },
);
write(
  'timestamp-seconds',
  raw({ device_id: 'd', points: [{ timestamp_ms: 1769860801, fields: [{ name: 'v', bool_value: true }] }] }),
  { error: 'TIMESTAMP_OUT_OF_RANGE' },
);
write(
  'zero-timestamp-no-receive-time',
  raw({ device_id: 'd', points: [{ timestamp_ms: 0, fields: [{ name: 'v', bool_value: true }] }] }),
  {
    error: 'MISSING_CONTEXT',
  },
);
write(
  'field-without-value',
  raw({ device_id: 'd', points: [{ timestamp_ms: T0, fields: [{ name: 'v' }] }] }),
  {
    error: 'SCHEMA_VIOLATION',
  },
);
write(
  'empty-field-name',
  raw({ device_id: 'd', points: [{ timestamp_ms: T0, fields: [{ name: '', bool_value: true }] }] }),
  {
    error: 'SCHEMA_VIOLATION',
  },
);
write(
  'proto-field-name',
  raw({ device_id: 'd', points: [{ timestamp_ms: T0, fields: [{ name: '__proto__', bool_value: true }] }] }),
  { error: 'FORBIDDEN_KEY' },
);
write(
  'constructor-tag',
  raw({
    device_id: 'd',
    tags: [{ key: 'constructor', value: 'x' }],
    points: [{ timestamp_ms: T0, fields: [{ name: 'v', bool_value: true }] }],
  }),
  { error: 'FORBIDDEN_KEY' },
);
write(
  'too-many-tags',
  raw({
    device_id: 'd',
    tags: Array.from({ length: 40 }, (_, i) => ({ key: `b${i}`, value: 'x' })),
    points: [
      {
        timestamp_ms: T0,
        tags: Array.from({ length: 25 }, (_, i) => ({ key: `p${i}`, value: 'y' })),
        fields: [{ name: 'v', bool_value: true }],
      },
    ],
  }),
  { error: 'LIMIT_EXCEEDED' },
);
write(
  'too-many-fields',
  raw({
    device_id: 'd',
    points: [
      { timestamp_ms: T0, fields: Array.from({ length: 1001 }, (_, i) => ({ name: `f${i}`, int_value: i })) },
    ],
  }),
  { error: 'LIMIT_EXCEEDED' },
);
write(
  'long-string',
  raw({
    device_id: 'd',
    points: [{ timestamp_ms: T0, fields: [{ name: 'v', string_value: 'z'.repeat(2049) }] }],
  }),
  { error: 'STRING_TOO_LONG' },
);
write('no-device', raw({ points: [{ timestamp_ms: T0, fields: [{ name: 'v', bool_value: true }] }] }), {
  error: 'MISSING_CONTEXT',
});
write('empty', new Uint8Array(0), { error: 'PAYLOAD_EMPTY' });
