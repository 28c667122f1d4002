/**
 * Numbered ingest system events (Avimesa-style: a 32-bit id whose upper half names the family, see
 * docs/events.md). Every message the ingest path refuses, partly stores or stores with warnings produces
 * one event with a stable code and one of these numbers. Numbers are a contract: never renumber, only add.
 *
 * Codes are the core's ERROR_CODES keys (decode and topic failures) plus the ingest-only codes below.
 */

/** Ingest-only codes (not raised by the core): identity, registry, DBC resolution and storage outcomes. */
export const INGEST_CODES = {
  INVALID_EVENT: 'The Lambda event is not an ingest rule event',
  IDENTITY_MISSING: 'The message has no MQTT client id (not sent over MQTT)',
  DEVICE_UNKNOWN: 'No registered device has this thing name',
  DEVICE_DISABLED: 'The device is disabled or deleted',
  TOKEN_MISMATCH: 'The payload token does not match the device token',
  DEVICE_ID_MISMATCH: 'The payload device id differs from the authenticated thing name',
  DECODE_INTERNAL: 'The decoder failed unexpectedly',
  DBC_NOT_ASSIGNED: 'The message carries CAN frames but the device has no DBC assigned',
  DBC_NOT_FOUND: 'The DBC assigned to the device does not exist or is outside its tenant',
  STORE_REJECTED: 'The telemetry store permanently rejected some points',
  STORE_RETRY: 'The telemetry store kept failing transiently; the event is retried by Lambda',
  DECODE_WARNINGS: 'The message was stored, but some of its points or frames were skipped',
  HOOK_FAILED: 'Points were stored but alert evaluation failed',
} as const;

/** An ingest-only code. */
export type IngestCode = keyof typeof INGEST_CODES;

/** Event families (the upper 16 bits of an event number). */
export const EVENT_FAMILIES = Object.freeze({
  /** 0x0003xxxx: ingest. */
  ingest: 0x00030000,
});

/** Stable event numbers by code. */
export const EVENT_NUMBERS: Readonly<Record<string, number>> = Object.freeze({
  // 0x00031xxx identity and registry
  INVALID_EVENT: 0x00031000,
  IDENTITY_MISSING: 0x00031001,
  INVALID_TOPIC: 0x00031002,
  TOPIC_IDENTITY_MISMATCH: 0x00031003,
  DEVICE_UNKNOWN: 0x00031004,
  DEVICE_DISABLED: 0x00031005,
  TOKEN_MISMATCH: 0x00031006,
  DEVICE_ID_MISMATCH: 0x00031007,
  // 0x000320xx payload envelope
  DECODE_ERROR: 0x00032000,
  PAYLOAD_EMPTY: 0x00032001,
  PAYLOAD_TOO_LARGE: 0x00032002,
  DECOMPRESSED_TOO_LARGE: 0x00032003,
  INVALID_GZIP: 0x00032004,
  INVALID_BASE64: 0x00032005,
  INVALID_UTF8: 0x00032006,
  INVALID_JSON: 0x00032007,
  UNKNOWN_FORMAT: 0x00032008,
  UNSUPPORTED_FORMAT: 0x00032009,
  DECODE_INTERNAL: 0x0003200f,
  // 0x000321xx structure and values
  SCHEMA_VIOLATION: 0x00032101,
  FORBIDDEN_KEY: 0x00032102,
  NON_FINITE_NUMBER: 0x00032103,
  TIMESTAMP_OUT_OF_RANGE: 0x00032104,
  INVALID_TIMESTAMP: 0x00032105,
  LIMIT_EXCEEDED: 0x00032106,
  NESTING_TOO_DEEP: 0x00032107,
  STRING_TOO_LONG: 0x00032108,
  MISSING_CONTEXT: 0x00032109,
  INTEGER_OUT_OF_RANGE: 0x0003210a,
  // 0x000322xx binary framing
  TRUNCATED: 0x00032201,
  LENGTH_MISMATCH: 0x00032202,
  INVALID_DLC: 0x00032203,
  INVALID_TOKEN: 0x00032204,
  INVALID_PROTOBUF: 0x00032205,
  INVALID_CAN_ID: 0x00032206,
  // 0x00033xxx DBC
  DBC_ERROR: 0x00033000,
  DBC_NOT_ASSIGNED: 0x00033001,
  DBC_NOT_FOUND: 0x00033002,
  DBC_PARSE_ERROR: 0x00033003,
  DBC_TOO_LARGE: 0x00033004,
  // 0x00034xxx storage
  STORE_REJECTED: 0x00034001,
  STORE_RETRY: 0x00034002,
  // 0x00035xxx stored with remarks
  DECODE_WARNINGS: 0x00035001,
  HOOK_FAILED: 0x00035002,
});

/**
 * The event number of a code. Codes added to the core after this table fall back to their family's
 * general number (DBC_… → DBC_ERROR, anything else → DECODE_ERROR) until they get their own.
 */
export function eventNumber(code: string): number {
  if (Object.hasOwn(EVENT_NUMBERS, code)) return EVENT_NUMBERS[code] as number;
  return code.startsWith('DBC_')
    ? (EVENT_NUMBERS.DBC_ERROR as number)
    : (EVENT_NUMBERS.DECODE_ERROR as number);
}
