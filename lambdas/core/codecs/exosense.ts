/**
 * ExoSense `data_in` (seed 003): one JSON object of channel id → current value, recorded at receive time.
 *
 * ```json
 * {"001": true, "002": 78.233, "003": {"lat": 43.650883, "lng": -96.201642}, "007": "good",
 *  "__error": {"004": "sensor disconnected"}}
 * ```
 *
 * Decoding → one point (none, with an EMPTY_POINT warning, when the payload has no values or errors):
 * - device = the context identity (required: the payload names none); time = the context receive time
 *   (required: the payload has no timestamp). Missing either → MISSING_CONTEXT.
 * - a scalar channel value → field `<channel>` (numbers, strings and booleans as sent; numeric-looking
 *   strings are NOT coerced, since the channel's type lives in `config_io`, not in the payload);
 * - an object value (LOCATION, JSON channels) → fields `<channel>.<key>`, flattened recursively
 *   (`003.lat`, `003.lng`); an array of scalars → one JSON-text string field; `null` → left out with
 *   a NULL_VALUE warning;
 * - `__error: {<channel>: message}` → string field `<channel>.__error` holding the message (numbers and
 *   booleans as their text). A channel may carry a value, an error, or both. Alert rules find channel
 *   errors by the `.__error` suffix;
 * - other `__`-prefixed root keys are reserved by ExoSense: skipped with a RESERVED_KEY warning.
 *
 * The payload may be the JSON object itself or a JSON string holding it (Murano resources carry
 * `data_in` as a string value, so gateways often forward `"{\"001\":1}"`).
 */
import { DecodeError } from '../errors.js';
import type { DecodeLimits } from '../limits.js';
import type { DecodeContext, DecodeResult, FieldValue } from '../model/point.js';
import { emptyRecord } from '../model/point.js';
import { parseJson } from './envelope.js';
import { rootNames } from './field-names.js';
import { FieldSink, readJsonPayload, receiveTime, resolveDevice } from './json-fields.js';
import { checkName, checkString, isObject } from './values.js';
import { WarningList } from './warnings.js';

/** The protected root key carrying per-channel errors. */
export const EXOSENSE_ERROR_KEY = '__error';
/** Suffix of the string field that holds a channel's error: `<channel>.__error`. */
export const CHANNEL_ERROR_SUFFIX = '.__error';

/** Decode an ExoSense `data_in` payload (JSON object or JSON string of it; optionally raw gzip). */
export function decodeExosense(bytes: Uint8Array, ctx: DecodeContext, limits: DecodeLimits): DecodeResult {
  return decodeExosenseValue(readJsonPayload(bytes, limits), ctx, limits);
}

/** Decode an already-parsed `data_in` value (used by `auto`, which parses once). */
export function decodeExosenseValue(value: unknown, ctx: DecodeContext, limits: DecodeLimits): DecodeResult {
  // data_in as a JSON-encoded string: unwrap exactly once (its length is bounded by the payload's).
  const root = typeof value === 'string' ? parseJson(value) : value;
  if (!isObject(root)) {
    throw new DecodeError('SCHEMA_VIOLATION', 'ExoSense data_in must be a JSON object of channel values');
  }
  const device = resolveDevice(ctx, undefined, limits, 'ExoSense data_in');
  const time = receiveTime(ctx, limits, 'ExoSense data_in carries no timestamp');
  const warnings = new WarningList();
  const sink = new FieldSink(limits, warnings, 0);
  const names = rootNames();
  let errors: unknown;
  // Object.keys, not for-in: see FieldSink.putObject.
  const keys = Object.keys(root);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    if (key.charCodeAt(0) === 95 /* _ */ && key.charCodeAt(1) === 95) {
      if (key === EXOSENSE_ERROR_KEY) {
        errors = root[key];
        continue;
      }
      // __proto__ and friends are rejected like anywhere else; other __ keys are ExoSense's reserved words.
      checkName(key, limits, 'channel id');
      warnings.add('RESERVED_KEY', `Reserved key "${key}" was skipped`, 0);
      continue;
    }
    sink.putMember(names, key, root[key], 1);
  }
  // Errors after values so a channel's error sits next to its value regardless of key order.
  if (errors !== undefined) putChannelErrors(sink, errors, limits);
  const points = [];
  if (sink.size > 0) points.push({ device, time, tags: emptyRecord<string>(), fields: sink.finish() });
  else warnings.add('EMPTY_POINT', 'data_in carries no values or errors; no point', 0);
  return { format: 'exosense', points, frames: [], warnings: warnings.finish() };
}

function putChannelErrors(sink: FieldSink, errors: unknown, limits: DecodeLimits): void {
  if (!isObject(errors)) {
    throw new DecodeError('SCHEMA_VIOLATION', '__error must be an object of channel id → error message');
  }
  for (const channel of Object.keys(errors)) {
    checkName(channel, limits, 'channel id');
    const msg = errors[channel];
    let text: string;
    switch (typeof msg) {
      case 'string':
        text = checkString(msg, limits, `Error of channel "${channel}"`);
        break;
      case 'number':
      case 'boolean':
        // Codes sent as numbers keep their text ("42"); JSON.parse cannot yield NaN, only ±Infinity.
        if (typeof msg === 'number' && !Number.isFinite(msg)) {
          throw new DecodeError('NON_FINITE_NUMBER', `Error of channel "${channel}" is not a finite number`);
        }
        text = String(msg);
        break;
      default:
        throw new DecodeError('SCHEMA_VIOLATION', `Error of channel "${channel}" must be a string`);
    }
    sink.put(channel + CHANNEL_ERROR_SUFFIX, text);
  }
}

/** A channel value as a device sends it: scalar, array of scalars, or an object (e.g. a location). */
export type ExosenseValue = FieldValue | FieldValue[] | { [key: string]: ExosenseValue };

/** A typed `data_in` message for {@link encodeExosense}. */
export interface ExosenseMessage {
  /** Channel id → value. */
  channels: Record<string, ExosenseValue>;
  /** Channel id → error message, sent as `__error` (omitted when undefined). */
  errors?: Record<string, string>;
}

/** Options of {@link encodeExosense}. */
export interface ExosenseEncodeOptions {
  /** Send `data_in` as a JSON string holding the object (as Murano resource writes do). @default false */
  asString?: boolean;
}

/** Encode a `data_in` message as UTF-8 JSON. */
export function encodeExosense(msg: ExosenseMessage, opts: ExosenseEncodeOptions = {}): Uint8Array {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(msg.channels)) {
    // defineProperty writes a "__proto__" channel as data, exactly as a hostile device could send it.
    Object.defineProperty(out, key, {
      value: msg.channels[key],
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  if (msg.errors !== undefined) out[EXOSENSE_ERROR_KEY] = msg.errors;
  const text = JSON.stringify(out);
  return Buffer.from(opts.asString ? JSON.stringify(text) : text, 'utf8');
}
