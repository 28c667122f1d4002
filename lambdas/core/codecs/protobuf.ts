/**
 * Protobuf points (seed 000: "field-value pairs in JSON or protobuf format"): the FlexConnect JSON point
 * model as a protobuf `Batch` (schema in ./points.proto and docs/formats.md), optionally gzip-compressed.
 *
 * Semantics mirror FlexConnect JSON: `device_id` → `claimedDevice`, `token` → `DecodeResult.token` (never
 * in points), batch tags merged under each point's tags (point tags win), `timestamp_ms` → time (0 = not
 * set → receive time with a RECEIVE_TIME_USED warning), one field per `Field` with exactly one value, a
 * repeated field name keeps the last value (DUPLICATE_FIELD warning), a point without fields is dropped
 * (EMPTY_POINT warning).
 *
 * The decoder is protobufjs reflection built once at module load from a JSON descriptor (no .proto file
 * read at runtime, so the Lambda bundle is self-contained), fed through a reader whose `string()` is
 * bounds-checked and strict UTF-8 (protobufjs' own silently truncates and replaces invalid bytes).
 */
import protobuf from 'protobufjs/light.js';
import { DecodeError, FleetwireError, LimitError } from '../errors.js';
import type { DecodeLimits } from '../limits.js';
import type { DecodeContext, DecodeResult, FieldValue, Point } from '../model/point.js';
import { emptyRecord } from '../model/point.js';
import { checkPayloadSize, gunzipBounded, isGzip } from './envelope.js';
import { checkJsonToken } from './token.js';
import { checkName, checkString, checkTimestamp } from './values.js';
import { WarningList } from './warnings.js';

/** JSON descriptor of ./points.proto (protobufjs `Root.fromJSON` form). Keep the two in sync. */
export const POINTS_PROTO_DESCRIPTOR = {
  nested: {
    fleetwire: {
      nested: {
        points: {
          nested: {
            v1: {
              nested: {
                Tag: {
                  fields: {
                    key: { type: 'string', id: 1 },
                    value: { type: 'string', id: 2 },
                  },
                },
                Field: {
                  oneofs: { value: { oneof: ['number_value', 'string_value', 'bool_value', 'int_value'] } },
                  fields: {
                    name: { type: 'string', id: 1 },
                    number_value: { type: 'double', id: 2 },
                    string_value: { type: 'string', id: 3 },
                    bool_value: { type: 'bool', id: 4 },
                    int_value: { type: 'sint64', id: 5 },
                  },
                },
                Point: {
                  fields: {
                    timestamp_ms: { type: 'uint64', id: 1 },
                    tags: { rule: 'repeated', type: 'Tag', id: 2 },
                    fields: { rule: 'repeated', type: 'Field', id: 3 },
                  },
                },
                Batch: {
                  fields: {
                    device_id: { type: 'string', id: 1 },
                    token: { type: 'string', id: 2 },
                    tags: { rule: 'repeated', type: 'Tag', id: 3 },
                    points: { rule: 'repeated', type: 'Point', id: 4 },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
} as const;

/** The `fleetwire.points.v1.Batch` type (exported for tests and tools that build raw messages). */
export const BatchType: protobuf.Type = protobuf.Root.fromJSON(
  POINTS_PROTO_DESCRIPTOR as unknown as protobuf.INamespace,
).lookupType('fleetwire.points.v1.Batch');

/** A 64-bit integer as protobufjs yields it: a Long when long.js is loaded, else a (possibly rounded) number. */
type Int64 = number | { toNumber(): number };

interface PbTag {
  key: string;
  value: string;
}
interface PbField {
  name: string;
  value?: 'number_value' | 'string_value' | 'bool_value' | 'int_value';
  number_value?: number;
  string_value?: string;
  bool_value?: boolean;
  int_value?: Int64;
}
interface PbPoint {
  timestamp_ms: Int64;
  tags: PbTag[];
  fields: PbField[];
}
interface PbBatch {
  device_id: string;
  token: string;
  tags: PbTag[];
  points: PbPoint[];
}

/** Node's Buffer has `latin1Slice(start, end)`; @types/node does not declare it. */
interface Latin1Buffer {
  latin1Slice(start: number, end: number): string;
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * A protobufjs reader with a strict `string()`: the declared length must fit the buffer (protobufjs'
 * Buffer reader clamps it, accepting truncated messages) and the bytes must be valid UTF-8 (proto3
 * requires it; protobufjs would substitute U+FFFD).
 */
class StrictReader extends protobuf.Reader {
  override string(): string {
    const len = this.uint32();
    const start = this.pos;
    const end = start + len;
    if (end > this.len)
      throw new DecodeError('INVALID_PROTOBUF', 'Protobuf string runs past the end of the message');
    this.pos = end;
    const buf = this.buf as Buffer;
    for (let i = start; i < end; i++) {
      if (buf[i]! > 0x7f) {
        try {
          return utf8Strict.decode(buf.subarray(start, end));
        } catch (e) {
          throw new DecodeError('INVALID_UTF8', 'A protobuf string is not valid UTF-8', {}, { cause: e });
        }
      }
    }
    // All ASCII: latin1 is an exact and much cheaper decode (latin1Slice skips toString's argument
    // handling; protobufjs itself calls the sibling utf8Slice the same way).
    return (buf as unknown as Latin1Buffer).latin1Slice(start, end);
  }
}

/** Decode a protobuf `Batch` (optionally gzip-compressed). Throws only FleetwireError subclasses. */
export function decodeProtobuf(bytes: Uint8Array, ctx: DecodeContext, limits: DecodeLimits): DecodeResult {
  checkPayloadSize(bytes, limits);
  const raw = isGzip(bytes) ? gunzipBounded(bytes, limits) : bytes;
  const buf = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  let batch: PbBatch;
  try {
    batch = BatchType.decode(new StrictReader(buf)) as unknown as PbBatch;
  } catch (e) {
    if (e instanceof FleetwireError) throw e;
    throw new DecodeError('INVALID_PROTOBUF', 'Protobuf message cannot be decoded', {}, { cause: e });
  }
  return batchToResult(batch, ctx, limits);
}

function batchToResult(batch: PbBatch, ctx: DecodeContext, limits: DecodeLimits): DecodeResult {
  const claimed = batch.device_id === '' ? undefined : checkName(batch.device_id, limits, 'device_id');
  let device: string | undefined;
  if (ctx.device !== undefined && ctx.device !== '') device = checkName(ctx.device, limits, 'device');
  else device = claimed;
  const pts = batch.points;
  if (pts.length > limits.maxPoints) {
    throw new LimitError('LIMIT_EXCEEDED', `More than ${limits.maxPoints} points in a message`, {
      limit: limits.maxPoints,
    });
  }
  if (device === undefined && pts.length > 0) {
    throw new DecodeError(
      'MISSING_CONTEXT',
      'Protobuf batch names no device and no device identity was supplied',
    );
  }
  const warnings = new WarningList();
  const points: Point[] = [];
  const batchTags = batch.tags;
  for (let i = 0; i < pts.length; i++) {
    const p = pts[i]!;
    const tags = emptyRecord<string>();
    addTags(tags, addTags(tags, 0, batchTags, limits), p.tags, limits);
    const time = pointTime(p.timestamp_ms, i, ctx, limits, warnings);
    if (p.fields.length === 0) {
      warnings.add('EMPTY_POINT', `Point ${i} has no fields; it is dropped`, i);
      continue;
    }
    points.push({
      device: device as string,
      time,
      tags,
      fields: decodeFields(p.fields, i, limits, warnings),
    });
  }
  const result: DecodeResult = { format: 'protobuf', points, frames: [], warnings: warnings.finish() };
  if (claimed !== undefined) result.claimedDevice = claimed;
  if (batch.token !== '') result.token = checkJsonToken(batch.token);
  return result;
}

function addTags(tags: Record<string, string>, count: number, list: PbTag[], limits: DecodeLimits): number {
  for (let j = 0; j < list.length; j++) {
    const t = list[j]!;
    const key = checkName(t.key, limits, 'tag key');
    if (tags[key] === undefined && ++count > limits.maxTags) {
      throw new LimitError('LIMIT_EXCEEDED', `More than ${limits.maxTags} tags on a point`, {
        limit: limits.maxTags,
      });
    }
    tags[key] = checkString(t.value, limits, `Tag "${key}"`);
  }
  return count;
}

function pointTime(
  ts: Int64,
  i: number,
  ctx: DecodeContext,
  limits: DecodeLimits,
  warnings: WarningList,
): number {
  const ms = typeof ts === 'number' ? ts : ts.toNumber();
  if (ms === 0) {
    if (ctx.receivedAt === undefined) {
      throw new DecodeError('MISSING_CONTEXT', `Point ${i} has no timestamp_ms; a receive time is required`);
    }
    warnings.add('RECEIVE_TIME_USED', 'timestamp_ms is 0; the receive time was used', i);
    return checkTimestamp(ctx.receivedAt, limits, 'receive time');
  }
  // Values beyond 2^53 are far outside any accepted range; checkTimestamp reports them as such.
  return checkTimestamp(ms, limits, `points[${i}].timestamp_ms`);
}

function decodeFields(
  list: PbField[],
  i: number,
  limits: DecodeLimits,
  warnings: WarningList,
): Record<string, FieldValue> {
  if (list.length > limits.maxFieldsPerPoint) {
    throw new LimitError('LIMIT_EXCEEDED', `More than ${limits.maxFieldsPerPoint} fields in a point`, {
      limit: limits.maxFieldsPerPoint,
    });
  }
  const fields = emptyRecord<FieldValue>();
  for (let j = 0; j < list.length; j++) {
    const f = list[j]!;
    const name = checkName(f.name, limits, 'field name');
    if (fields[name] !== undefined) {
      warnings.add('DUPLICATE_FIELD', `Field "${name}" occurs more than once; the last value wins`, i);
    }
    let v: FieldValue;
    switch (f.value) {
      case 'number_value':
        v = f.number_value!;
        if (!Number.isFinite(v))
          throw new DecodeError('NON_FINITE_NUMBER', `Field "${name}" is not a finite number`);
        break;
      case 'string_value':
        v = checkString(f.string_value!, limits, `Field "${name}"`);
        break;
      case 'bool_value':
        v = f.bool_value!;
        break;
      case 'int_value': {
        const iv = f.int_value!;
        v = typeof iv === 'number' ? iv : iv.toNumber();
        // Rounding happened iff the true value is beyond ±(2^53 − 1); such a value is rejected, not stored rounded.
        if (!Number.isSafeInteger(v)) {
          throw new DecodeError('INTEGER_OUT_OF_RANGE', `Field "${name}" is an integer beyond ±(2^53 − 1)`);
        }
        break;
      }
      default:
        throw new DecodeError('SCHEMA_VIOLATION', `Field "${name}" has no value`);
    }
    fields[name] = v;
  }
  return fields;
}

/** One point of a typed protobuf message for {@link encodeProtobuf}. */
export interface ProtobufPointMessage {
  /** Epoch ms (0 = not set). */
  timestamp: number;
  /** Point tags (override batch tags). */
  tags?: Record<string, string>;
  /** Fields; safe integers are sent as `int_value`, other numbers as `number_value`. */
  fields: Record<string, FieldValue>;
}

/** A typed protobuf batch for {@link encodeProtobuf}. */
export interface ProtobufBatchMessage {
  /** `device_id` (omitted when undefined). */
  deviceId?: string;
  /** `token` (omitted when undefined). */
  token?: string;
  /** Batch tags. */
  tags?: Record<string, string>;
  /** Points. */
  points: ProtobufPointMessage[];
}

/** Options of {@link encodeProtobuf}. */
export interface ProtobufEncodeOptions {
  /** Send every number as `number_value` (double), never as `int_value`. @default false */
  doublesOnly?: boolean;
}

/** Encode a typed batch as a serialized `fleetwire.points.v1.Batch`. */
export function encodeProtobuf(msg: ProtobufBatchMessage, opts: ProtobufEncodeOptions = {}): Uint8Array {
  const tagList = (tags: Record<string, string> | undefined): PbTag[] =>
    tags === undefined ? [] : Object.keys(tags).map((key) => ({ key, value: tags[key]! }));
  const body = {
    device_id: msg.deviceId ?? '',
    token: msg.token ?? '',
    tags: tagList(msg.tags),
    points: msg.points.map((p) => ({
      timestamp_ms: p.timestamp,
      tags: tagList(p.tags),
      fields: Object.keys(p.fields).map((name): Record<string, unknown> => {
        const v = p.fields[name]!;
        if (typeof v === 'string') return { name, string_value: v };
        if (typeof v === 'boolean') return { name, bool_value: v };
        if (!opts.doublesOnly && Number.isSafeInteger(v) && !Object.is(v, -0)) return { name, int_value: v };
        return { name, number_value: v };
      }),
    })),
  };
  return BatchType.encode(body).finish();
}
