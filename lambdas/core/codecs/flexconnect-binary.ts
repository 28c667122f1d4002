/**
 * FlexConnect binary CAN message (seed 001) and its compressed form (`0xFC` + gzip).
 *
 * ```
 * message  = token_len:u32be  token:utf8[token_len]  point*
 * point    = timestamp_ms:u64le  count:u16le  length:u16le (incl. this 12-byte header)  reading[count]
 * reading  = can_id:u32le  bus_dlc:u8 (bus = upper 3 bits, DLC = lower 5 bits)  data[len(DLC)]
 * ```
 *
 * Decisions (docs/formats.md, "FlexConnect binary"):
 * - DLC 0–8 is the byte length; 9–15 are CAN FD codes (12, 16, 20, 24, 32, 48, 64 bytes); 16–31 are
 *   INVALID_DLC. The seed's example sends byte lengths ≤ 8, which both readings agree on.
 * - CAN id bit 31 is the extended-frame flag (SocketCAN `CAN_EFF_FLAG`). Bits 30 (`CAN_RTR_FLAG`) and 29
 *   (`CAN_ERR_FLAG`) mark remote and error frames, which carry no signal data and whose data length
 *   is ambiguous on this wire: INVALID_CAN_ID. An id above 0x7FF without the flag cannot be an 11-bit
 *   id, so it is taken as a 29-bit id and one CAN_ID_EXTENDED_INFERRED warning counts such frames.
 * - Each point's readings must fill exactly its declared length and number exactly its declared
 *   count (LENGTH_MISMATCH); a structure running past the end of the message is TRUNCATED.
 * - Token: at most {@link MAX_TOKEN_BYTES} bytes of valid UTF-8 (INVALID_TOKEN); a zero length means
 *   no token. The token is returned in `DecodeResult.token` and never appears in errors.
 * - Frame `data` is a view into the payload (or the inflated copy), not a copy: framing allocates one
 *   object and one view per reading and nothing else.
 */
import { gzipSync } from 'node:zlib';
import { DecodeError, EncodeError, LimitError } from '../errors.js';
import type { DecodeLimits } from '../limits.js';
import type { CanFrame, DecodeContext, DecodeResult } from '../model/point.js';
import { checkPayloadSize, gunzipBounded, isGzip } from './envelope.js';
import { MAX_TOKEN_BYTES } from './token.js';
import { checkTimestamp } from './values.js';
import { WarningList } from './warnings.js';

/** First byte of the compressed form: `0xFC` followed by a gzip stream of the plain message. */
export const COMPRESSED_PREFIX = 0xfc;
/** Size of a CAN point header: u64 timestamp + u16 count + u16 length. */
export const POINT_HEADER_BYTES = 12;
/** Size of a reading header: u32 id + u8 bus|dlc. */
export const READING_HEADER_BYTES = 5;
/** SocketCAN extended frame format flag (bit 31). */
export const CAN_EFF_FLAG = 0x80000000;
/** SocketCAN remote transmission request flag (bit 30). */
export const CAN_RTR_FLAG = 0x40000000;
/** SocketCAN error frame flag (bit 29). */
export const CAN_ERR_FLAG = 0x20000000;
/** Largest 11-bit id. */
export const CAN_SFF_MASK = 0x7ff;
/** Largest 29-bit id. */
export const CAN_EFF_MASK = 0x1fffffff;

/** Data length for each 5-bit DLC code; -1 marks the invalid codes 16–31. */
const DLC_LENGTH = new Int8Array(32).fill(-1);
for (const [code, len] of [0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64].entries())
  DLC_LENGTH[code] = len;

/** Byte length of a DLC code (0–15), or -1 for an invalid code. */
export function dlcToLength(dlc: number): number {
  return Number.isInteger(dlc) && dlc >= 0 && dlc < 32 ? (DLC_LENGTH[dlc] as number) : -1;
}

/** The DLC code for a data length, or -1 when no code has exactly that length. */
export function lengthToDlc(length: number): number {
  return DLC_LENGTH.indexOf(length);
}

/**
 * Decode FlexConnect binary bytes (plain, compressed with the `0xFC` prefix, or a raw gzip stream) into
 * raw CAN frames.
 */
export function decodeFlexconnectBinary(
  bytes: Uint8Array,
  _ctx: DecodeContext,
  limits: DecodeLimits,
): DecodeResult {
  checkPayloadSize(bytes, limits);
  // A raw gzip stream (no 0xFC) is unambiguous too: a token length of 0x1f8b…… would exceed the cap.
  const body =
    bytes[0] === COMPRESSED_PREFIX
      ? gunzipBounded(bytes.subarray(1), limits)
      : isGzip(bytes)
        ? gunzipBounded(bytes, limits)
        : bytes;
  return decodeFlexconnectBinaryBody(body, limits);
}

/**
 * Frame an uncompressed binary message (no size check on `body`: the caller has bounded it, either
 * by the payload limit or by the decompression cap). Exposed for `auto` detection of gzip envelopes.
 */
export function decodeFlexconnectBinaryBody(body: Uint8Array, limits: DecodeLimits): DecodeResult {
  const n = body.length;
  if (n < 4)
    throw new DecodeError('TRUNCATED', 'message is shorter than its 4-byte token length', { offset: 0 });
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const tokenLength = dv.getUint32(0, false);
  if (tokenLength > MAX_TOKEN_BYTES) {
    throw new DecodeError('INVALID_TOKEN', `token length ${tokenLength} exceeds ${MAX_TOKEN_BYTES} bytes`, {
      offset: 0,
      limit: MAX_TOKEN_BYTES,
    });
  }
  if (4 + tokenLength > n) {
    throw new DecodeError('TRUNCATED', `token of ${tokenLength} bytes runs past the end of the message`, {
      offset: 4,
    });
  }
  const token = tokenLength === 0 ? undefined : decodeToken(body.subarray(4, 4 + tokenLength));

  const frames: CanFrame[] = [];
  const warnings = new WarningList();
  const buffer = body.buffer;
  const base = body.byteOffset;
  const maxFrames = limits.maxFrames;
  let inferred = 0;
  let pointIndex = 0;
  let off = 4 + tokenLength;

  while (off < n) {
    if (n - off < POINT_HEADER_BYTES) {
      throw new DecodeError('TRUNCATED', `point ${pointIndex}: header runs past the end of the message`, {
        offset: off,
        point: pointIndex,
      });
    }
    if (pointIndex >= limits.maxPoints) {
      throw new LimitError('LIMIT_EXCEEDED', `more than ${limits.maxPoints} CAN points`, {
        offset: off,
        limit: limits.maxPoints,
      });
    }
    const time = readTimestamp(dv, off, limits, pointIndex);
    const count = dv.getUint16(off + 8, true);
    const length = dv.getUint16(off + 10, true);
    if (length < POINT_HEADER_BYTES) {
      throw new DecodeError(
        'LENGTH_MISMATCH',
        `point ${pointIndex}: length ${length} is shorter than the ${POINT_HEADER_BYTES}-byte header`,
        { offset: off + 10, point: pointIndex },
      );
    }
    if (length > n - off) {
      throw new DecodeError(
        'TRUNCATED',
        `point ${pointIndex}: length ${length} runs past the end of the message`,
        { offset: off + 10, point: pointIndex },
      );
    }
    // Every reading takes at least 5 bytes: a count the length cannot hold is rejected before any work.
    if (count * READING_HEADER_BYTES > length - POINT_HEADER_BYTES) {
      throw new DecodeError(
        'LENGTH_MISMATCH',
        `point ${pointIndex}: ${count} reading(s) cannot fit in its declared length ${length}`,
        { offset: off + 8, point: pointIndex },
      );
    }
    if (frames.length + count > maxFrames) {
      throw new LimitError('LIMIT_EXCEEDED', `more than ${maxFrames} CAN frames`, {
        offset: off + 8,
        limit: maxFrames,
      });
    }
    const end = off + length;
    let r = off + POINT_HEADER_BYTES;
    for (let k = 0; k < count; k++) {
      if (end - r < READING_HEADER_BYTES) throw readingOverrun(pointIndex, k, r, count);
      const raw = dv.getUint32(r, true);
      const busDlc = body[r + 4] as number;
      const dlc = busDlc & 0x1f;
      const len = DLC_LENGTH[dlc] as number;
      if (len < 0) {
        throw new DecodeError('INVALID_DLC', `point ${pointIndex} reading ${k}: DLC ${dlc} is not 0–15`, {
          offset: r + 4,
          point: pointIndex,
          reading: k,
        });
      }
      if ((raw & (CAN_RTR_FLAG | CAN_ERR_FLAG)) !== 0) {
        throw new DecodeError(
          'INVALID_CAN_ID',
          `point ${pointIndex} reading ${k}: remote/error frame flags (bits 30/29) are not accepted`,
          { offset: r, point: pointIndex, reading: k },
        );
      }
      let extended = raw >= CAN_EFF_FLAG; // getUint32 is unsigned: bit 31 set ⇔ raw ≥ 2^31
      const id = raw & CAN_EFF_MASK;
      if (!extended && id > CAN_SFF_MASK) {
        extended = true;
        inferred++;
      }
      const dataStart = r + READING_HEADER_BYTES;
      if (dataStart + len > end) throw readingOverrun(pointIndex, k, r, count);
      frames.push({
        time,
        bus: busDlc >>> 5,
        id,
        extended,
        dlc,
        data: new Uint8Array(buffer, base + dataStart, len),
      });
      r = dataStart + len;
    }
    if (r !== end) {
      throw new DecodeError(
        'LENGTH_MISMATCH',
        `point ${pointIndex}: ${count} reading(s) fill ${r - off} bytes but the point declares ${length}`,
        { offset: r, point: pointIndex },
      );
    }
    off = end;
    pointIndex++;
  }

  if (inferred > 0) {
    warnings.add(
      'CAN_ID_EXTENDED_INFERRED',
      `${inferred} frame(s) had an id above 0x7FF without the extended flag (bit 31); they were read as 29-bit ids`,
    );
  }
  const result: DecodeResult = {
    format: 'flexconnect-binary',
    points: [],
    frames,
    warnings: warnings.finish(),
  };
  if (token !== undefined) result.token = token;
  return result;
}

function readingOverrun(point: number, reading: number, offset: number, count: number): DecodeError {
  return new DecodeError(
    'LENGTH_MISMATCH',
    `point ${point} reading ${reading}: reading ${reading + 1} of ${count} runs past the point's declared length`,
    { offset, point, reading },
  );
}

function readTimestamp(dv: DataView, off: number, limits: DecodeLimits, point: number): number {
  const lo = dv.getUint32(off, true);
  const hi = dv.getUint32(off + 4, true);
  // Above 2^53 ms the value is not exact and far outside any accepted range anyway.
  if (hi > 0x1fffff) {
    throw new DecodeError(
      'TIMESTAMP_OUT_OF_RANGE',
      `point ${point}: timestamp is outside the accepted range`,
      {
        offset: off,
        point,
        min: limits.minTimestampMs,
        max: limits.maxTimestampMs,
      },
    );
  }
  const ms = hi * 0x100000000 + lo;
  if (ms >= limits.minTimestampMs && ms <= limits.maxTimestampMs) return ms;
  return checkTimestamp(ms, limits, `point ${point}: timestamp`);
}

const tokenDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function decodeToken(bytes: Uint8Array): string {
  try {
    return tokenDecoder.decode(bytes);
  } catch {
    // The token's bytes are secret: report only that they are not UTF-8.
    throw new DecodeError('INVALID_TOKEN', 'token is not valid UTF-8', { offset: 4 });
  }
}

/** One CAN reading to encode. */
export interface FlexconnectBinaryReading {
  /** 11-bit (standard) or 29-bit (extended) arbitration id, without flags. */
  id: number;
  /** Set bit 31 (extended frame). @default id > 0x7FF */
  extended?: boolean;
  /** Bus 0–7. @default 0 */
  bus?: number;
  /** DLC code 0–15; must match `data.length`. @default the code for `data.length` */
  dlc?: number;
  /** Frame payload: 0–8, 12, 16, 20, 24, 32, 48 or 64 bytes. */
  data: Uint8Array;
}

/** One CAN point to encode. */
export interface FlexconnectBinaryPoint {
  /** Epoch milliseconds. */
  timestamp: number;
  readings: FlexconnectBinaryReading[];
}

/** A FlexConnect binary message to encode. */
export interface FlexconnectBinaryMessage {
  /** Device token (UTF-8, ≤ 1024 bytes); omitted means a zero-length token. */
  token?: string;
  points: FlexconnectBinaryPoint[];
}

/** Encoder options. */
export interface FlexconnectBinaryEncodeOptions {
  /** Compress: `0xFC` followed by gzip of the plain message. @default false */
  compress?: boolean;
}

/**
 * Encode a FlexConnect binary message. Throws {@link EncodeError} for anything the wire format cannot
 * express (ids out of range, bus > 7, data lengths without a DLC code, points over 65 535 bytes).
 */
export function encodeFlexconnectBinary(
  msg: FlexconnectBinaryMessage,
  opts: FlexconnectBinaryEncodeOptions = {},
): Buffer {
  const token = Buffer.from(msg.token ?? '', 'utf8');
  if (token.length > MAX_TOKEN_BYTES) {
    throw new EncodeError('INVALID_TOKEN', `token is longer than ${MAX_TOKEN_BYTES} bytes`);
  }
  let size = 4 + token.length;
  for (const p of msg.points) {
    size += POINT_HEADER_BYTES;
    for (const r of p.readings) size += READING_HEADER_BYTES + r.data.length;
  }
  const out = Buffer.alloc(size);
  out.writeUInt32BE(token.length, 0);
  token.copy(out, 4);
  let off = 4 + token.length;
  msg.points.forEach((p, i) => {
    if (!Number.isSafeInteger(p.timestamp) || p.timestamp < 0) {
      throw new EncodeError('INVALID_TIMESTAMP', `points[${i}].timestamp must be a non-negative integer`);
    }
    if (p.readings.length > 0xffff) {
      throw new EncodeError('LIMIT_EXCEEDED', `points[${i}] has more than 65535 readings`);
    }
    const start = off;
    out.writeBigUInt64LE(BigInt(p.timestamp), off);
    out.writeUInt16LE(p.readings.length, off + 8);
    off += POINT_HEADER_BYTES;
    p.readings.forEach((r, k) => {
      off = writeReading(out, off, r, `points[${i}].readings[${k}]`);
    });
    const length = off - start;
    if (length > 0xffff) throw new EncodeError('LIMIT_EXCEEDED', `points[${i}] is longer than 65535 bytes`);
    out.writeUInt16LE(length, start + 10);
  });
  if (!opts.compress) return out;
  return Buffer.concat([Buffer.of(COMPRESSED_PREFIX), gzipSync(out)]);
}

function writeReading(out: Buffer, off: number, r: FlexconnectBinaryReading, where: string): number {
  const extended = r.extended ?? r.id > CAN_SFF_MASK;
  const max = extended ? CAN_EFF_MASK : CAN_SFF_MASK;
  if (!Number.isInteger(r.id) || r.id < 0 || r.id > max) {
    throw new EncodeError('INVALID_CAN_ID', `${where}.id does not fit a ${extended ? 29 : 11}-bit id`);
  }
  const bus = r.bus ?? 0;
  if (!Number.isInteger(bus) || bus < 0 || bus > 7) {
    throw new EncodeError('SCHEMA_VIOLATION', `${where}.bus must be 0–7`);
  }
  const dlc = r.dlc ?? lengthToDlc(r.data.length);
  if (dlc < 0 || dlcToLength(dlc) !== r.data.length) {
    throw new EncodeError('INVALID_DLC', `${where}: no DLC code 0–15 matches ${r.data.length} data bytes`);
  }
  out.writeUInt32LE(extended ? (r.id | CAN_EFF_FLAG) >>> 0 : r.id, off);
  out[off + 4] = (bus << 5) | dlc;
  out.set(r.data, off + READING_HEADER_BYTES);
  return off + READING_HEADER_BYTES + r.data.length;
}
