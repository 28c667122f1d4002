/**
 * `auto` format detection from the first bytes, where that is unambiguous (docs/formats.md,
 * "Auto-detection"):
 *
 * | first bytes                                   | format                                          |
 * | --------------------------------------------- | ----------------------------------------------- |
 * | `FC`                                          | FlexConnect binary, compressed                  |
 * | `1F 8B` (gzip, no prefix)                     | inflated (bounded), then detected again — once  |
 * | u32 BE ≤ 1024 (so `00 00 0x ..`)              | FlexConnect binary (the token length prefix)    |
 * | optional BOM / whitespace, then `{`           | JSON object, classified by its keys (below)     |
 * | optional BOM / whitespace, then `"`           | ExoSense `data_in` sent as a JSON string        |
 * | anything else                                 | UNKNOWN_FORMAT                                  |
 *
 * JSON objects: only key `b64`, or a `points` array → FlexConnect JSON; a `dev` object → DialTone;
 * a `system_status`/`battery`/`grid` object or a string `timestamp` → EMS; any other object →
 * ExoSense `data_in` (flat channel ids). Protobuf is never auto-detected: no first byte identifies it
 * (`0A` — field 1, length-delimited — is also JSON whitespace), so it needs `--format protobuf` or a
 * topic that names the format.
 *
 * The payload is parsed once: the parsed value goes straight to the codec's `…Value` entry point.
 */
import { DecodeError } from '../errors.js';
import type { DecodeLimits } from '../limits.js';
import type { DecodeContext, DecodeResult, PayloadFormat } from '../model/point.js';
import { decodeDialtoneValue } from './dialtone.js';
import { decodeEmsValue } from './ems.js';
import { checkPayloadSize, decodeUtf8Strict, gunzipBounded, isGzip, parseJson } from './envelope.js';
import { decodeExosenseValue } from './exosense.js';
import {
  COMPRESSED_PREFIX,
  decodeFlexconnectBinary,
  decodeFlexconnectBinaryBody,
} from './flexconnect-binary.js';
import { decodeFlexconnectJsonValue } from './flexconnect-json.js';
import { MAX_TOKEN_BYTES } from './token.js';
import { isObject } from './values.js';

/** What the first bytes say, before any JSON is parsed. */
type Sniffed = 'binary-compressed' | 'gzip' | 'binary' | 'json' | 'unknown';

/** The JSON dialects `auto` tells apart by their keys. */
type JsonFormat = Exclude<PayloadFormat, 'flexconnect-binary' | 'protobuf'>;

/** Classify by the first bytes only (O(1) apart from skipping leading whitespace). */
function sniff(bytes: Uint8Array): Sniffed {
  const b0 = bytes[0];
  if (b0 === COMPRESSED_PREFIX) return 'binary-compressed';
  if (isGzip(bytes)) return 'gzip';
  // A token length ≤ 1024 starts 00 00 0x: no JSON text and no valid protobuf (field 0) starts with 00.
  if (
    bytes.length >= 4 &&
    b0 === 0 &&
    bytes[1] === 0 &&
    ((bytes[2] as number) << 8) + (bytes[3] as number) <= MAX_TOKEN_BYTES
  ) {
    return 'binary';
  }
  let i = 0;
  if (b0 === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) i = 3; // UTF-8 BOM
  while (i < bytes.length) {
    const c = bytes[i];
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
    else return c === 0x7b /* { */ || c === 0x22 /* " */ ? 'json' : 'unknown';
  }
  return 'unknown';
}

/** Pick the JSON dialect of a parsed value by its keys. */
export function classifyJson(value: unknown): JsonFormat {
  if (typeof value === 'string') return 'exosense'; // data_in as a JSON-encoded string
  if (!isObject(value)) {
    throw new DecodeError('UNKNOWN_FORMAT', 'JSON payload is not an object; no format matches it');
  }
  if (Object.hasOwn(value, 'b64') || Array.isArray(value.points)) return 'flexconnect-json';
  if (isObject(value.dev)) return 'dialtone';
  if (
    isObject(value.system_status) ||
    isObject(value.battery) ||
    isObject(value.grid) ||
    typeof value.timestamp === 'string'
  ) {
    return 'ems';
  }
  return 'exosense';
}

function unknown(): DecodeError {
  return new DecodeError(
    'UNKNOWN_FORMAT',
    'Payload format cannot be determined from its first bytes (expected JSON, FlexConnect binary, 0xFC or gzip); protobuf needs an explicit format',
  );
}

function decodeJsonValue(
  value: unknown,
  ctx: DecodeContext,
  limits: DecodeLimits,
  inflated: boolean,
): DecodeResult {
  switch (classifyJson(value)) {
    case 'flexconnect-json':
      return decodeFlexconnectJsonValue(value, ctx, limits, { inflated });
    case 'dialtone':
      return decodeDialtoneValue(value, ctx, limits);
    case 'ems':
      return decodeEmsValue(value, ctx, limits);
    case 'exosense':
      // auto parsed the value itself and uses it for nothing else.
      return decodeExosenseValue(value, ctx, limits, { owned: true });
  }
}

/** Inflate a raw gzip payload; what it holds may be JSON or a plain binary message, not more compression. */
function inflate(bytes: Uint8Array, limits: DecodeLimits): { inner: Uint8Array; kind: 'binary' | 'json' } {
  const inner = gunzipBounded(bytes, limits);
  if (inner.length === 0) throw new DecodeError('PAYLOAD_EMPTY', 'gzip stream inflates to nothing');
  const kind = sniff(inner);
  if (kind === 'binary' || kind === 'json') return { inner, kind };
  if (kind === 'gzip' || kind === 'binary-compressed') {
    throw new DecodeError(
      'UNKNOWN_FORMAT',
      'gzip payload holds another compressed payload; one level is accepted',
    );
  }
  throw unknown();
}

/**
 * Decode a payload whose format is detected from its first bytes (see the module comment). JSON is
 * parsed exactly once. Throws only typed {@link DecodeError}s.
 */
export function decodeAuto(bytes: Uint8Array, ctx: DecodeContext, limits: DecodeLimits): DecodeResult {
  checkPayloadSize(bytes, limits);
  switch (sniff(bytes)) {
    case 'binary-compressed':
    case 'binary':
      return decodeFlexconnectBinary(bytes, ctx, limits);
    case 'json':
      return decodeJsonValue(parseJson(decodeUtf8Strict(bytes)), ctx, limits, false);
    case 'gzip': {
      const { inner, kind } = inflate(bytes, limits);
      if (kind === 'binary') return decodeFlexconnectBinaryBody(inner, limits);
      return decodeJsonValue(parseJson(decodeUtf8Strict(inner)), ctx, limits, true);
    }
    case 'unknown':
      throw unknown();
  }
}

/**
 * The format `auto` would decode `bytes` as. JSON payloads are parsed to read their keys, so this is
 * for tools and diagnostics; the ingest path calls {@link decodeAuto}, which parses once.
 */
export function detectFormat(bytes: Uint8Array, limits: DecodeLimits): PayloadFormat {
  checkPayloadSize(bytes, limits);
  switch (sniff(bytes)) {
    case 'binary-compressed':
    case 'binary':
      return 'flexconnect-binary';
    case 'json':
      return classifyJson(parseJson(decodeUtf8Strict(bytes)));
    case 'gzip': {
      const { inner, kind } = inflate(bytes, limits);
      return kind === 'binary' ? 'flexconnect-binary' : classifyJson(parseJson(decodeUtf8Strict(inner)));
    }
    case 'unknown':
      throw unknown();
  }
}
