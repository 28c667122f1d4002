/**
 * Byte-level helpers shared by the codecs: size checks, bounded gunzip, strict base64 and UTF-8.
 * Each turns failure into a typed {@link DecodeError}; none allocates more than its limit allows.
 */
import { gunzipSync } from 'node:zlib';
import { DecodeError, LimitError } from '../errors.js';
import type { DecodeLimits } from '../limits.js';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Reject empty payloads and payloads over `maxPayloadBytes`. */
export function checkPayloadSize(bytes: Uint8Array, limits: DecodeLimits): void {
  if (bytes.length === 0) throw new DecodeError('PAYLOAD_EMPTY');
  if (bytes.length > limits.maxPayloadBytes) {
    throw new LimitError(
      'PAYLOAD_TOO_LARGE',
      `Payload is ${bytes.length} bytes; the limit is ${limits.maxPayloadBytes}`,
      {
        size: bytes.length,
        limit: limits.maxPayloadBytes,
      },
    );
  }
}

/** True when the bytes start with the gzip magic number. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Gunzip with a hard output cap (zlib `maxOutputLength`): a decompression bomb stops at the cap
 * instead of inflating unbounded.
 */
export function gunzipBounded(bytes: Uint8Array, limits: DecodeLimits): Buffer {
  if (!isGzip(bytes))
    throw new DecodeError('INVALID_GZIP', 'Compressed data does not start with the gzip header');
  try {
    return gunzipSync(bytes, { maxOutputLength: limits.maxDecompressedBytes });
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (
      code === 'ERR_BUFFER_TOO_LARGE' ||
      (e instanceof RangeError && /larger than|maxOutputLength/i.test(e.message))
    ) {
      throw new LimitError(
        'DECOMPRESSED_TOO_LARGE',
        `Decompressed data exceeds ${limits.maxDecompressedBytes} bytes`,
        { limit: limits.maxDecompressedBytes },
      );
    }
    throw new DecodeError('INVALID_GZIP', 'Compressed data is not valid gzip', {}, { cause: e });
  }
}

/** Decode standard padded base64 strictly (whitespace not allowed); anything else is INVALID_BASE64. */
export function decodeBase64Strict(text: string, limits: DecodeLimits): Buffer {
  // 4/3 expansion: a base64 string longer than this cannot decode within the payload limit.
  if (text.length > Math.ceil((limits.maxPayloadBytes * 4) / 3) + 4) {
    throw new LimitError('PAYLOAD_TOO_LARGE', 'Base64 data exceeds the payload limit', {
      limit: limits.maxPayloadBytes,
    });
  }
  if (text.length === 0 || text.length % 4 !== 0 || !BASE64_RE.test(text)) {
    throw new DecodeError('INVALID_BASE64');
  }
  return Buffer.from(text, 'base64');
}

/** Decode UTF-8 strictly: invalid sequences are INVALID_UTF8; a leading BOM is dropped. */
export function decodeUtf8Strict(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch (e) {
    throw new DecodeError('INVALID_UTF8', 'Text is not valid UTF-8', {}, { cause: e });
  }
}

/** Parse JSON text; syntax errors (and engine stack exhaustion on deep nesting) become INVALID_JSON. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new DecodeError('INVALID_JSON', 'Payload is not valid JSON', {}, { cause: e });
  }
}

/** UTF-8 bytes → JSON value with the payload size checked first. */
export function parseJsonBytes(bytes: Uint8Array, limits: DecodeLimits): unknown {
  checkPayloadSize(bytes, limits);
  return parseJson(decodeUtf8Strict(bytes));
}
