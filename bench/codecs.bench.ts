/**
 * Decode throughput of every codec on realistic 10 KB and 100 KB messages, each next to a floor
 * measured in the same run:
 * - JSON dialects: the unavoidable work, i.e. (gunzip +) JSON.parse of the same bytes (plus base64 for
 *   the `{"b64"}` envelope). Target: decode within 1.5× of the floor.
 * - FlexConnect binary: a plain DataView walk over the same message (headers, ids, DLCs, no objects).
 *   Target: a 100 KB message framed in under 1 ms.
 * - Protobuf: protobufjs' own `Batch.decode` of the same bytes (no validation, no points).
 *
 * Sizes are of the decoded message (JSON text / binary body); compressed variants are that message
 * compressed. The single-point dialects (EMS, ExoSense, DialTone) cannot reach 100 KB under the
 * default 1000-fields-per-point cap, so their 100 KB runs raise `maxFieldsPerPoint` (noted per line).
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { encodeDialtone } from '../lambdas/core/codecs/dialtone.js';
import { encodeEms } from '../lambdas/core/codecs/ems.js';
import { encodeExosense } from '../lambdas/core/codecs/exosense.js';
import {
  encodeFlexconnectBinary,
  type FlexconnectBinaryPoint,
} from '../lambdas/core/codecs/flexconnect-binary.js';
import { encodeFlexconnectJson, type FlexconnectJsonPoint } from '../lambdas/core/codecs/flexconnect-json.js';
import { decodePayload } from '../lambdas/core/codecs/index.js';
import { BatchType, encodeProtobuf, type ProtobufPointMessage } from '../lambdas/core/codecs/protobuf.js';
import type { DecodeLimits } from '../lambdas/core/limits.js';
import type { DecodeContext, FieldValue, FormatSelector } from '../lambdas/core/model/point.js';
import { type BenchResult, bench, report } from './harness.js';

const T0 = 1769860801000;
const KB = 1024;
const CTX: DecodeContext = { device: 'bench-device', receivedAt: T0 };
const SIZES = [10 * KB, 100 * KB] as const;

interface Case {
  name: string;
  format: FormatSelector;
  bytes: Uint8Array;
  limits?: Partial<DecodeLimits>;
  floor: { name: string; fn: () => unknown };
  /** 'ratio': decode/floor ≤ 1.5; 'binary': 100 KB framed < 1 ms; undefined: informational. */
  target?: 'ratio' | 'binary';
  note?: string;
}

// ------------------------------------------------------------------------------------------------
// Realistic messages
// ------------------------------------------------------------------------------------------------

/** Repeat `make(i)` until the encoded message reaches `size` bytes (the last step may overshoot a little). */
function grow<T>(size: number, make: (i: number) => T, encode: (items: T[]) => Uint8Array): Uint8Array {
  const items: T[] = [];
  let bytes = encode(items);
  // Estimate per-item size once, then top up one item at a time.
  while (bytes.length < size) {
    const per = items.length === 0 ? 0 : (bytes.length - encode([]).length) / items.length;
    const missing = per > 0 ? Math.max(1, Math.floor((size - bytes.length) / per)) : 1;
    for (let k = 0; k < missing; k++) items.push(make(items.length));
    bytes = encode(items);
  }
  while (bytes.length > size && items.length > 1) {
    items.pop();
    bytes = encode(items);
  }
  return bytes;
}

const vehicleFields = (i: number): FlexconnectJsonPoint['fields'] => [
  { name: 'temperature', value: 21.5 + (i % 17) * 0.13 },
  { name: 'humidity', value: 45 + (i % 11) },
  { name: 'battery.voltage', value: 53.2 - (i % 7) * 0.01 },
  { name: 'battery.current', value: -10.5 + (i % 5) },
  { name: 'speed_kmh', value: (i * 7) % 130 },
  { name: 'odometer_km', value: 183_422 + i },
  { name: 'state', value: i % 3 === 0 ? 'DRIVING' : 'IDLE' },
  { name: 'door_open', value: i % 13 === 0 },
];

function flexJson(size: number): Uint8Array {
  return grow(
    size,
    (i): FlexconnectJsonPoint => ({
      timestamp: T0 + i * 1000,
      tags: [{ line: `L${i % 4}` }],
      fields: vehicleFields(i),
    }),
    (points) =>
      encodeFlexconnectJson({
        device_id: 'truck-0042',
        token: 'provided_token_0123456789abcdef0123456789abcdef0123456789abcdef',
        tags: [{ fleet: 'north' }, { model: 'FH16' }],
        points,
      }),
  );
}

function flexBinary(size: number): Uint8Array {
  // A CAN logger point: 18 classic 8-byte frames and 2 CAN FD 64-byte frames per 10 ms tick.
  return grow(
    size,
    (i): FlexconnectBinaryPoint => ({
      timestamp: T0 + i * 10,
      readings: Array.from({ length: 20 }, (_, k) => ({
        id: k < 18 ? 0x100 + k * 16 : 0x18fef100 + k,
        extended: k >= 18,
        bus: k % 2,
        data: new Uint8Array(k < 18 ? 8 : 64).fill((i + k) & 0xff),
      })),
    }),
    (points) => encodeFlexconnectBinary({ token: 'provided_token_0123456789abcdef', points }),
  );
}

function ems(size: number): Uint8Array {
  return grow(
    size,
    (i) =>
      [
        `module_${String(i).padStart(3, '0')}`,
        {
          voltage: 3.31 + (i % 9) * 0.001,
          temperature: 24.5 + (i % 5),
          soc: 80 + (i % 20),
          balancing: i % 7 === 0,
        },
      ] as const,
    (modules) =>
      encodeEms({
        deviceId: 'ems_001',
        timestamp: T0,
        data: {
          system_status: { state: 'CHARGING', mode: 'AUTO', error_flags: [], wifi_strength: -45 },
          battery: {
            voltage: 53.2,
            current: 10.5,
            power: 558.6,
            soc: 85,
            modules: Object.fromEntries(modules),
          },
          grid: { voltage: 230.1, power: -200, frequency: 50.0 },
        },
      }),
  );
}

function exosense(size: number): Uint8Array {
  return grow(
    size,
    (i) => {
      const id = String(i + 1).padStart(3, '0');
      const v: FieldValue | { lat: number; lng: number } =
        i % 10 === 3
          ? { lat: 44.97 + i * 1e-4, lng: -93.26 - i * 1e-4 }
          : i % 10 === 7
            ? 'OK'
            : 78.2 + (i % 100) / 10;
      return [id, v] as const;
    },
    (channels) => encodeExosense({ channels: Object.fromEntries(channels) }),
  );
}

function dialtone(size: number): Uint8Array {
  return grow(
    size,
    (i) => ({
      chIdx: i,
      data: [
        { dataIdx: 0, units: 1, val: 0.003 + i * 1e-4 },
        { dataIdx: 1, units: 10, val: 5.0 },
      ],
    }),
    (chans) =>
      encodeDialtone({
        devId: '000102030405060708090a0b0c0d0e0f',
        dts: 1536783776,
        devData: { dev_type: 1, fw: 1, hw_rev: 48, bat: 100, rssi: 0, temp: 25, dev_sts: 1 },
        chans,
      }),
  );
}

function protobufBatch(size: number): Uint8Array {
  return grow(
    size,
    (i): ProtobufPointMessage => ({
      timestamp: T0 + i * 1000,
      tags: { line: `L${i % 4}` },
      fields: Object.fromEntries(vehicleFields(i).map((f) => [f.name, f.value])),
    }),
    (points) =>
      encodeProtobuf({
        deviceId: 'truck-0042',
        token: 'provided_token_0123456789abcdef',
        tags: { fleet: 'north' },
        points,
      }),
  );
}

// ------------------------------------------------------------------------------------------------
// Floors
// ------------------------------------------------------------------------------------------------

const DLC_LEN = [0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64];

/** The least work any framer must do: walk every header and reading, allocate nothing. */
function dataViewWalk(b: Uint8Array): number {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let off = 4 + dv.getUint32(0, false);
  let sum = 0;
  while (off < b.length) {
    sum += dv.getUint32(off, true);
    const count = dv.getUint16(off + 8, true);
    const end = off + dv.getUint16(off + 10, true);
    let r = off + 12;
    for (let k = 0; k < count; k++) {
      sum += dv.getUint32(r, true);
      r += 5 + (DLC_LEN[(b[r + 4] as number) & 0x1f] as number);
    }
    off = end;
  }
  return sum;
}

const parseText = (b: Uint8Array) =>
  JSON.parse(Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8'));

// ------------------------------------------------------------------------------------------------
// Cases
// ------------------------------------------------------------------------------------------------

function label(bytes: Uint8Array, decoded: number): string {
  return bytes.length === decoded
    ? `${Math.round(decoded / KB)} KB`
    : `${Math.round(decoded / KB)} KB → ${(bytes.length / KB).toFixed(1)} KB`;
}

function cases(): Case[] {
  const out: Case[] = [];
  for (const size of SIZES) {
    const big = size > 10 * KB;
    // FlexConnect JSON: plain, {"b64"} envelope, raw gzip.
    const fj = flexJson(size);
    out.push({
      name: `flexconnect-json ${label(fj, fj.length)}`,
      format: 'flexconnect-json',
      bytes: fj,
      floor: { name: 'JSON.parse', fn: () => parseText(fj) },
      target: 'ratio',
    });
    const fjB64 = encodeFlexconnectJson(JSON.parse(Buffer.from(fj).toString()) as never, { compress: true });
    out.push({
      name: `flexconnect-json b64 ${label(fjB64, fj.length)}`,
      format: 'flexconnect-json',
      bytes: fjB64,
      floor: {
        name: 'parse+base64+gunzip+parse',
        fn: () => parseText(gunzipSync(Buffer.from((parseText(fjB64) as { b64: string }).b64, 'base64'))),
      },
      target: 'ratio',
    });
    // Through auto: same bytes, one parse.
    out.push({
      name: `auto → flexconnect-json ${label(fj, fj.length)}`,
      format: 'auto',
      bytes: fj,
      floor: { name: 'JSON.parse', fn: () => parseText(fj) },
      target: 'ratio',
    });

    // FlexConnect binary: plain and 0xFC-compressed.
    const fb = flexBinary(size);
    out.push({
      name: `flexconnect-binary ${label(fb, fb.length)}`,
      format: 'flexconnect-binary',
      bytes: fb,
      floor: { name: 'DataView walk', fn: () => dataViewWalk(fb) },
      target: big ? 'binary' : undefined,
    });
    const fbz = Buffer.concat([Buffer.of(0xfc), gzipSync(fb)]);
    out.push({
      name: `flexconnect-binary 0xFC ${label(fbz, fb.length)}`,
      format: 'flexconnect-binary',
      bytes: fbz,
      floor: { name: 'gunzip+DataView walk', fn: () => dataViewWalk(gunzipSync(fbz.subarray(1))) },
    });

    // The JSON dialects of the other seeds.
    const raise = big ? { maxFieldsPerPoint: 20_000 } : undefined;
    const note = big ? 'maxFieldsPerPoint raised' : undefined;
    const e = ems(size);
    out.push({
      name: `ems ${label(e, e.length)}`,
      format: 'ems',
      bytes: e,
      limits: raise,
      note,
      floor: { name: 'JSON.parse', fn: () => parseText(e) },
      target: 'ratio',
    });
    const ez = gzipSync(e);
    out.push({
      name: `ems gzip ${label(ez, e.length)}`,
      format: 'ems',
      bytes: ez,
      limits: raise,
      note,
      floor: { name: 'gunzip+JSON.parse', fn: () => parseText(gunzipSync(ez)) },
      target: 'ratio',
    });
    const x = exosense(size);
    out.push({
      name: `exosense ${label(x, x.length)}`,
      format: 'exosense',
      bytes: x,
      limits: raise,
      note,
      floor: { name: 'JSON.parse', fn: () => parseText(x) },
      target: 'ratio',
    });
    const d = dialtone(size);
    out.push({
      name: `dialtone ${label(d, d.length)}`,
      format: 'dialtone',
      bytes: d,
      limits: raise,
      note,
      floor: { name: 'JSON.parse', fn: () => parseText(d) },
      target: 'ratio',
    });

    // Protobuf: against the library's own decode.
    const p = protobufBatch(size);
    out.push({
      name: `protobuf ${label(p, p.length)}`,
      format: 'protobuf',
      bytes: p,
      floor: { name: 'protobufjs Batch.decode', fn: () => BatchType.decode(p) },
    });
  }
  return out;
}

const ROUNDS = 9;
const ROUND_MS = 80;

/**
 * Measure floor and decode in alternating short rounds and keep each side's best round: on a shared
 * 2-core machine other processes only ever add time, so the fastest round is the least disturbed
 * estimate of each, and alternating keeps both exposed to the same conditions.
 */
function paired(c: Case): { floor: BenchResult; decode: BenchResult; ratio: number } {
  let floorNs = Number.POSITIVE_INFINITY;
  let decodeNs = Number.POSITIVE_INFINITY;
  const decodeFn = () => decodePayload(c.bytes, c.format, CTX, c.limits);
  for (let i = 0; i < ROUNDS; i++) {
    floorNs = Math.min(floorNs, bench('floor', c.floor.fn, ROUND_MS).nsPerOp);
    decodeNs = Math.min(decodeNs, bench('decode', decodeFn, ROUND_MS).nsPerOp);
  }
  const result = (name: string, ns: number): BenchResult => ({ name, nsPerOp: ns, opsPerSec: 1e9 / ns });
  return {
    floor: result(`${c.name}  [floor: ${c.floor.name}]`, floorNs),
    decode: result(`${c.name}  decode${c.note ? ` (${c.note})` : ''}`, decodeNs),
    ratio: decodeNs / floorNs,
  };
}

/** Run every case; print each decode next to its floor, then a summary against the targets. */
export async function run(): Promise<void> {
  const rows: Array<{ c: Case; decode: BenchResult; ratio: number }> = [];
  for (const c of cases()) {
    // Fail fast if a bench message is not actually accepted.
    const r = decodePayload(c.bytes, c.format, CTX, c.limits);
    if (r.points.length + r.frames.length === 0) throw new Error(`${c.name}: decoded nothing`);
    const { floor, decode, ratio } = paired(c);
    report(floor);
    report(decode, floor);
    rows.push({ c, decode, ratio });
  }

  console.log(`\nsummary (best of ${ROUNDS} alternating rounds each)`);
  let missed = 0;
  for (const { c, decode, ratio } of rows) {
    const ms = decode.nsPerOp / 1e6;
    let verdict = '';
    if (c.target === 'ratio') verdict = ratio <= 1.5 ? 'ok (≤ 1.5×)' : 'MISSED (> 1.5×)';
    if (c.target === 'binary') verdict = ms < 1 ? 'ok (< 1 ms)' : 'MISSED (≥ 1 ms)';
    if (verdict.startsWith('MISSED')) missed++;
    console.log(
      `  ${c.name.padEnd(44)} ${ratio.toFixed(2).padStart(6)}× floor  ${ms.toFixed(3).padStart(8)} ms  ${verdict}`,
    );
  }
  console.log(missed === 0 ? '  all targets met' : `  ${missed} target(s) missed`);
}
