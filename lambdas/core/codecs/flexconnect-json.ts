/**
 * FlexConnect JSON (seed 001) and its compressed form `{"b64": base64(gzip(json))}`.
 *
 * ```json
 * {"device_id": "d1", "token": "…", "tags": [{"site": "a"}],
 *  "points": [{"timestamp": 1622547800000, "tags": [{"line": "2"}],
 *              "fields": [{"name": "temperature", "value": 22.5}]}]}
 * ```
 *
 * Decisions (docs/formats.md, "FlexConnect JSON"):
 * - the compressed form is an object whose only key is `b64`; `b64` next to other keys is rejected, and
 *   the inflated message may not be compressed again;
 * - tags are arrays of objects of string values (one key each in the seed; several keys are accepted);
 *   message tags merge under point tags (the point's value wins); the merged count is capped;
 * - a duplicate field name in one point: the last value wins and a DUPLICATE_FIELD warning is reported
 *   (JSON's own rule for duplicate keys, without losing the rest of the message);
 * - a `null` field value is left out with a NULL_VALUE warning; a point left with no fields is
 *   dropped with EMPTY_POINT;
 * - the point device is the authenticated identity (`ctx.device`) when given, else `device_id`;
 *   `device_id` is returned as `claimedDevice` and `token` as `token`, for the caller to verify;
 * - unknown keys are ignored (forward compatibility); every other deviation is a typed error that
 *   rejects the whole message, with the JSON path in the message and `details.path`.
 */
import { gzipSync } from 'node:zlib';
import { DecodeError, EncodeError, FleetwireError, LimitError } from '../errors.js';
import type { DecodeLimits } from '../limits.js';
import {
  type DecodeContext,
  type DecodeResult,
  emptyRecord,
  type FieldValue,
  type Point,
} from '../model/point.js';
import {
  checkPayloadSize,
  decodeBase64Strict,
  decodeUtf8Strict,
  gunzipBounded,
  isGzip,
  parseJson,
} from './envelope.js';
import { checkJsonToken } from './token.js';
import { checkFieldValue, checkName, checkString, checkTimestamp, isObject } from './values.js';
import { WarningList } from './warnings.js';

/** A tag list as sent: an array of objects of string values, normally one key each. */
export type FlexconnectTags = Array<Record<string, string>>;

/** One field of a point. */
export interface FlexconnectField {
  name: string;
  value: FieldValue;
}

/** One point of a FlexConnect JSON message. */
export interface FlexconnectJsonPoint {
  /** Epoch milliseconds. */
  timestamp: number;
  tags?: FlexconnectTags;
  fields: FlexconnectField[];
}

/** A FlexConnect JSON message (the encoder's input and the wire shape). */
export interface FlexconnectJsonMessage {
  device_id?: string;
  token?: string;
  tags?: FlexconnectTags;
  points: FlexconnectJsonPoint[];
}

/**
 * Decode FlexConnect JSON bytes: plain, the `{"b64": …}` envelope, or (like every JSON dialect) the
 * JSON text in a raw gzip stream.
 */
export function decodeFlexconnectJson(
  bytes: Uint8Array,
  ctx: DecodeContext,
  limits: DecodeLimits,
): DecodeResult {
  checkPayloadSize(bytes, limits);
  if (isGzip(bytes)) {
    const value = parseJson(decodeUtf8Strict(gunzipBounded(bytes, limits)));
    return decodeFlexconnectJsonValue(value, ctx, limits, { inflated: true });
  }
  return decodeFlexconnectJsonValue(parseJson(decodeUtf8Strict(bytes)), ctx, limits);
}

/** Options of {@link decodeFlexconnectJsonValue}. */
export interface FlexconnectJsonValueOptions {
  /** The value came out of a gzip stream already: a `b64` envelope inside it is refused. @default false */
  inflated?: boolean;
}

/**
 * Decode an already-parsed FlexConnect JSON value (plain or compressed envelope). Used by `auto`
 * detection so the payload is parsed only once; the caller has already applied the payload size limit.
 */
export function decodeFlexconnectJsonValue(
  value: unknown,
  ctx: DecodeContext,
  limits: DecodeLimits,
  opts: FlexconnectJsonValueOptions = {},
): DecodeResult {
  if (!isObject(value)) throw new DecodeError('SCHEMA_VIOLATION', 'message must be a JSON object');
  if (!isCompressedEnvelope(value)) return decodeMessage(value, ctx, limits);
  if (opts.inflated) throw schemaError('b64', 'the compressed message may not itself be compressed');
  return decodeMessage(inflateEnvelope(value, limits), ctx, limits);
}

/** True when `value` is the compressed envelope `{"b64": …}`; `b64` next to other keys is an error. */
export function isCompressedEnvelope(value: Record<string, unknown>): boolean {
  if (!Object.hasOwn(value, 'b64')) return false;
  for (const k in value) {
    if (k !== 'b64' && Object.hasOwn(value, k)) {
      throw schemaError('b64', 'must be the only key of a compressed message');
    }
  }
  return true;
}

function inflateEnvelope(envelope: Record<string, unknown>, limits: DecodeLimits): Record<string, unknown> {
  const b64 = envelope.b64;
  if (typeof b64 !== 'string') {
    throw schemaError('b64', 'must be a base64 string');
  }
  const json = decodeUtf8Strict(gunzipBounded(decodeBase64Strict(b64, limits), limits));
  const inner = parseJson(json);
  if (!isObject(inner)) throw new DecodeError('SCHEMA_VIOLATION', 'compressed message must be a JSON object');
  // One level of compression only: a nested envelope would multiply the decompression budget.
  if (Object.hasOwn(inner, 'b64')) {
    throw schemaError('b64', 'the compressed message may not itself be compressed');
  }
  return inner;
}

function decodeMessage(msg: Record<string, unknown>, ctx: DecodeContext, limits: DecodeLimits): DecodeResult {
  let claimed: string | undefined;
  try {
    claimed = msg.device_id === undefined ? undefined : checkName(msg.device_id, limits, 'device_id');
  } catch (e) {
    throw withPath(e, 'device_id');
  }
  const token = msg.token === undefined ? undefined : checkJsonToken(msg.token);
  const device = ctx.device ?? claimed;
  if (device === undefined) {
    throw new DecodeError(
      'MISSING_CONTEXT',
      'device_id: required when the connection supplies no device identity',
      { path: 'device_id' },
    );
  }

  const messageTagRecord = emptyRecord<string>();
  if (msg.tags !== undefined) readTags(msg.tags, messageTagRecord, 0, limits, 'tags');
  const messageTags = new MessageTags(messageTagRecord);

  const rawPoints = msg.points;
  if (!Array.isArray(rawPoints)) {
    throw schemaError('points', 'must be an array');
  }
  if (rawPoints.length > limits.maxPoints) {
    throw new LimitError(
      'LIMIT_EXCEEDED',
      `points: ${rawPoints.length} points; the limit is ${limits.maxPoints}`,
      {
        path: 'points',
        limit: limits.maxPoints,
      },
    );
  }

  const warnings = new WarningList();
  const points: Point[] = [];
  for (let i = 0; i < rawPoints.length; i++) {
    let point: Point | undefined;
    try {
      point = decodePoint(rawPoints[i], i, device, messageTags, limits, warnings);
    } catch (e) {
      throw withPath(e, `points[${i}]`);
    }
    if (point) points.push(point);
  }

  const result: DecodeResult = {
    format: 'flexconnect-json',
    points,
    frames: [],
    warnings: warnings.finish(),
  };
  if (token !== undefined) result.token = token;
  if (claimed !== undefined) result.claimedDevice = claimed;
  return result;
}

function decodePoint(
  raw: unknown,
  index: number,
  device: string,
  messageTags: MessageTags,
  limits: DecodeLimits,
  warnings: WarningList,
): Point | undefined {
  if (!isObject(raw)) throw new DecodeError('SCHEMA_VIOLATION', 'must be an object');
  const ts = raw.timestamp;
  // Fast path for the common valid case; checkTimestamp produces the typed error otherwise.
  const time =
    typeof ts === 'number' &&
    Number.isInteger(ts) &&
    ts >= limits.minTimestampMs &&
    ts <= limits.maxTimestampMs
      ? ts
      : checkTimestamp(ts, limits, 'timestamp');

  const tags = messageTags.copy();
  if (raw.tags !== undefined) readTags(raw.tags, tags, messageTags.count, limits, 'tags');

  const rawFields = raw.fields;
  if (!Array.isArray(rawFields)) throw schemaError('fields', 'must be an array');
  if (rawFields.length > limits.maxFieldsPerPoint) {
    throw new LimitError(
      'LIMIT_EXCEEDED',
      `fields: ${rawFields.length} fields; the limit is ${limits.maxFieldsPerPoint}`,
      { path: 'fields', limit: limits.maxFieldsPerPoint },
    );
  }
  // Null-prototype records from the start: measured in the full decode, this beats filling a plain
  // object and calling Object.setPrototypeOf(…, null) afterwards (a costly map change per record).
  const fields = emptyRecord<FieldValue>();
  let count = 0;
  let j = 0;
  // One try per point, not per field: the catch only adds the failing field's path to the error.
  try {
    for (; j < rawFields.length; j++) {
      const f = rawFields[j];
      if (!isObject(f)) throw new DecodeError('SCHEMA_VIOLATION', 'must be an object of {name, value}');
      const name = checkName(f.name, limits, 'field name');
      const v = f.value;
      if (v === null) {
        warnings.add('NULL_VALUE', `points[${index}].fields[${j}] has a null value`, index);
        continue;
      }
      const value =
        typeof v === 'number' && Number.isFinite(v) ? v : checkFieldValue(v, limits, 'field value');
      // Values are never undefined and the record has no prototype: this is an exact own-key test.
      if (fields[name] !== undefined) {
        warnings.add('DUPLICATE_FIELD', `points[${index}].fields[${j}] repeats an earlier field name`, index);
      } else {
        count++;
      }
      fields[name] = value;
    }
  } catch (e) {
    throw withPath(e, `fields[${j}]`);
  }
  if (count === 0) {
    warnings.add('EMPTY_POINT', `points[${index}] has no fields and was dropped`, index);
    return undefined;
  }
  return { device, time, tags, fields };
}

/** The message-level tags, kept as parallel arrays so each point copies them cheaply. */
class MessageTags {
  private readonly keys: string[];
  private readonly values: string[];
  readonly count: number;
  constructor(record: Record<string, string>) {
    this.keys = Object.keys(record);
    this.values = this.keys.map((k) => record[k] as string);
    this.count = this.keys.length;
  }
  /** A fresh null-prototype record holding the message tags. */
  copy(): Record<string, string> {
    const out = emptyRecord<string>();
    for (let i = 0; i < this.keys.length; i++) out[this.keys[i] as string] = this.values[i] as string;
    return out;
  }
}

/**
 * Read a tag list into `into` (later keys overwrite earlier ones) and return the number of distinct
 * keys in `into`, given it already held `count`.
 */
function readTags(
  raw: unknown,
  into: Record<string, string>,
  count: number,
  limits: DecodeLimits,
  path: string,
): number {
  if (!Array.isArray(raw)) throw schemaError(path, 'must be an array of objects');
  let n = count;
  for (let i = 0; i < raw.length; i++) {
    const entry = raw[i];
    if (!isObject(entry)) throw schemaError(`${path}[${i}]`, 'must be an object of string values');
    for (const key of Object.keys(entry)) {
      const value = entry[key];
      try {
        checkName(key, limits, 'tag name');
        if (typeof value !== 'string')
          throw new DecodeError('SCHEMA_VIOLATION', 'tag values must be strings');
        checkString(value, limits, 'tag value');
      } catch (e) {
        throw withPath(e, `${path}[${i}]`);
      }
      if (into[key] === undefined && ++n > limits.maxTags) {
        throw new LimitError('LIMIT_EXCEEDED', `${path}: more than ${limits.maxTags} tags`, {
          path,
          limit: limits.maxTags,
        });
      }
      into[key] = value;
    }
  }
  return n;
}

/** A schema error at `path`: the message reads `path: text`, `details.path` holds the path. */
function schemaError(path: string, text: string): DecodeError {
  return new DecodeError('SCHEMA_VIOLATION', `${path}: ${text}`, { path });
}

/**
 * Re-throw a Fleetwire error located under `prefix` (e.g. `points[3]`): the path in its message and
 * `details.path` becomes absolute. Anything else passes through unchanged.
 */
function withPath(e: unknown, prefix: string): unknown {
  if (!(e instanceof FleetwireError)) return e;
  const old = typeof e.details.path === 'string' ? e.details.path : '';
  const base = old && e.message.startsWith(`${old}: `) ? e.message.slice(old.length + 2) : e.message;
  const path = old === '' ? prefix : `${prefix}${old.startsWith('[') ? '' : '.'}${old}`;
  const Ctor = e.constructor as new (
    code: FleetwireError['code'],
    message: string,
    details: Record<string, unknown>,
    options: { cause: unknown },
  ) => FleetwireError;
  return new Ctor(e.code, `${path}: ${base}`, { ...e.details, path }, { cause: e.cause ?? e });
}

/** Encoder options. */
export interface FlexconnectJsonEncodeOptions {
  /** Wrap as `{"b64": base64(gzip(json))}`. @default false */
  compress?: boolean;
}

/**
 * Encode a FlexConnect JSON message to UTF-8 bytes, optionally compressed. Rejects values the decoder
 * would reject on principle (non-finite numbers) with an {@link EncodeError}; used by the simulator
 * and by property tests.
 */
export function encodeFlexconnectJson(
  msg: FlexconnectJsonMessage,
  opts: FlexconnectJsonEncodeOptions = {},
): Buffer {
  for (const [i, p] of msg.points.entries()) {
    for (const f of p.fields) {
      if (typeof f.value === 'number' && !Number.isFinite(f.value)) {
        throw new EncodeError('NON_FINITE_NUMBER', `points[${i}] field value is not a finite number`);
      }
    }
  }
  const json = JSON.stringify(msg);
  if (!opts.compress) return Buffer.from(json, 'utf8');
  return Buffer.from(JSON.stringify({ b64: gzipSync(json).toString('base64') }), 'utf8');
}
