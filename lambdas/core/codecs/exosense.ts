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
import {
  checkDepth,
  FieldSink,
  plainRootKey,
  readJsonPayload,
  receiveTime,
  resolveDevice,
  scalarArrayText,
} from './json-fields.js';
import { checkName, checkString, isObject } from './values.js';
import { MAX_WARNINGS, type WarningCode, WarningList } from './warnings.js';

/** The protected root key carrying per-channel errors. */
export const EXOSENSE_ERROR_KEY = '__error';
/** Suffix of the string field that holds a channel's error: `<channel>.__error`. */
export const CHANNEL_ERROR_SUFFIX = '.__error';

/** Decode an ExoSense `data_in` payload (JSON object or JSON string of it; optionally raw gzip). */
export function decodeExosense(bytes: Uint8Array, ctx: DecodeContext, limits: DecodeLimits): DecodeResult {
  return decodeExosenseValue(readJsonPayload(bytes, limits), ctx, limits, { owned: true });
}

/** Options of {@link decodeExosenseValue}. */
export interface ExosenseValueOptions {
  /**
   * The value is the caller's own fresh JSON.parse output, used for nothing else: the decoder may turn
   * it into the point's fields record instead of copying it (see `reuseAsFields`). @default false
   */
  owned?: boolean;
}

/** Decode an already-parsed `data_in` value (used by `auto`, which parses once). */
export function decodeExosenseValue(
  value: unknown,
  ctx: DecodeContext,
  limits: DecodeLimits,
  opts: ExosenseValueOptions = {},
): DecodeResult {
  // data_in as a JSON-encoded string: unwrap exactly once (its length is bounded by the payload's).
  const isText = typeof value === 'string';
  const root = isText ? parseJson(value) : value;
  if (!isObject(root)) {
    throw new DecodeError('SCHEMA_VIOLATION', 'ExoSense data_in must be a JSON object of channel values');
  }
  const device = resolveDevice(ctx, undefined, limits, 'ExoSense data_in');
  const time = receiveTime(ctx, limits, 'ExoSense data_in carries no timestamp');
  const warnings = new WarningList();
  if (isText || opts.owned) {
    const fields = reuseAsFields(root, limits, warnings);
    if (fields !== undefined) {
      const points = [{ device, time, tags: emptyRecord<string>(), fields }];
      return { format: 'exosense', points, frames: [], warnings: warnings.finish() };
    }
  }
  const sink = new FieldSink(limits, warnings, 0);
  const names = rootNames();
  let errors: unknown;
  // Object.keys, not for-in: a root of many channels is a dictionary-mode object, which has no enum
  // cache for for-in to use (see FieldSink.putObject).
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
    sink.put(channel + CHANNEL_ERROR_SUFFIX, channelErrorText(channel, errors[channel], limits));
  }
}

/** A channel's error message as stored: strings as sent, numbers and booleans as their text. */
function channelErrorText(channel: string, msg: unknown, limits: DecodeLimits): string {
  checkName(channel, limits, 'channel id');
  switch (typeof msg) {
    case 'string':
      return checkString(msg, limits, `Error of channel "${channel}"`);
    case 'number':
    case 'boolean':
      // Codes sent as numbers keep their text ("42"); JSON.parse cannot yield NaN, only ±Infinity.
      if (typeof msg === 'number' && !Number.isFinite(msg)) {
        throw new DecodeError('NON_FINITE_NUMBER', `Error of channel "${channel}" is not a finite number`);
      }
      return String(msg);
    default:
      throw new DecodeError('SCHEMA_VIOLATION', `Error of channel "${channel}" must be a string`);
  }
}

/**
 * The fast path for a `data_in` object the decoder owns: that object itself becomes the fields record
 * (prototype set to null, arrays replaced by their text, nulls, reserved keys and `__error` removed,
 * object channels replaced by their flattened fields and channel errors added at the end), so a
 * gateway's 1000 channels are validated once and not copied name by name into a new record.
 *
 * It takes only the plain case and otherwise returns undefined having changed nothing — a key that
 * fails a check or contains a dot, an invalid value, a nested name that could meet another, too many
 * fields, no fields at all, or any error — and the general path then decodes or rejects the message
 * exactly as before. The only visible difference from the general path is key order: flattened object
 * channels follow the scalar channels instead of sitting in their place.
 */
function reuseAsFields(
  root: Record<string, unknown>,
  limits: DecodeLimits,
  warnings: WarningList,
): Record<string, FieldValue> | undefined {
  try {
    return reuse(root, limits, warnings);
  } catch {
    return undefined;
  }
}

function reuse(
  root: Record<string, unknown>,
  limits: DecodeLimits,
  warnings: WarningList,
): Record<string, FieldValue> | undefined {
  const maxName = limits.maxNameLength;
  const maxString = limits.maxStringLength;
  // Warnings go to a list of their own until the fast path is sure to succeed.
  const local = new WarningList();
  const nested = new FieldSink(limits, local, 0);
  const names = rootNames();
  // Keys and values in the same (own, enumerable, ordered) order: one pass each, no keyed lookups.
  const keys = Object.keys(root);
  const vals = Object.values(root);
  /** Indexes of keys removed or rewritten (arrays → text), and the texts of the rewritten ones. */
  const changed: number[] = [];
  const texts: (string | undefined)[] = [];
  let count = 0;
  let stored = 0;
  let errors: unknown;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    if (!plainRootKey(key, maxName)) return undefined;
    if (key.charCodeAt(0) === 95 /* _ */ && key.charCodeAt(1) === 95) {
      if (key === EXOSENSE_ERROR_KEY) errors = vals[i];
      else local.add('RESERVED_KEY', `Reserved key "${key}" was skipped`, 0);
      changed.push(i);
      texts.push(undefined);
      continue;
    }
    const v = vals[i];
    switch (typeof v) {
      case 'number':
        if (v - v !== 0) return undefined;
        break;
      case 'string':
        if (v.length > maxString) return undefined;
        break;
      case 'boolean':
        break;
      case 'object':
        changed.push(i);
        if (v === null) {
          local.add('NULL_VALUE', `Field "${key}" is null and was left out`, 0);
          texts.push(undefined);
          count++;
          continue;
        }
        if (Array.isArray(v)) {
          checkDepth(2, limits);
          texts.push(scalarArrayText(v, limits, `Field "${key}"`));
          break;
        }
        texts.push(undefined);
        nested.putMember(names, key, v, 1);
        continue;
      default:
        return undefined;
    }
    count++;
    stored++;
  }
  if (nested.collisionPossible) return undefined;
  const nestedNames = nested.collectedNames();
  let errorNames: string[] | undefined;
  let errorTexts: string[] | undefined;
  if (errors !== undefined) {
    if (!isObject(errors)) return undefined;
    errorNames = [];
    errorTexts = [];
    for (const channel of Object.keys(errors)) {
      const name = channel + CHANNEL_ERROR_SUFFIX;
      if (name.length > maxName) return undefined;
      errorNames.push(name);
      errorTexts.push(channelErrorText(channel, errors[channel], limits));
    }
    // An object channel with an "__error" member would flatten onto a channel error's name.
    for (let j = 0; j < nestedNames.length; j++) {
      if ((nestedNames[j] as string).endsWith(CHANNEL_ERROR_SUFFIX)) return undefined;
    }
  }
  const errorCount = errorNames === undefined ? 0 : errorNames.length;
  if (count + nested.count + errorCount > limits.maxFieldsPerPoint) return undefined;
  if (stored + nested.size + errorCount === 0) return undefined;
  // Past the warning cap the general path reports how many were dropped.
  if (local.items.length >= MAX_WARNINGS) return undefined;

  // Committed: from here on nothing can fail. Root keys have no dot and every added name has one, so
  // no added name meets a key left in place.
  Object.setPrototypeOf(root, null);
  for (let j = 0; j < changed.length; j++) {
    const key = keys[changed[j] as number] as string;
    const text = texts[j];
    if (text === undefined) delete root[key];
    else root[key] = text;
  }
  const nestedValues = nested.collectedValues();
  for (let j = 0; j < nestedNames.length; j++) root[nestedNames[j] as string] = nestedValues[j];
  for (let j = 0; j < errorCount; j++) {
    root[(errorNames as string[])[j] as string] = (errorTexts as string[])[j];
  }
  for (const w of local.items) warnings.add(w.code as WarningCode, w.message, w.index);
  return root as Record<string, FieldValue>;
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
