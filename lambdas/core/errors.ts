/**
 * Typed errors with stable codes. Every rejection in the core is one of these classes; the code is the
 * contract (documented in docs/errors.md), the message is for humans and never contains secrets.
 */

/** Stable error codes. Add new codes at the end of a group; never rename one. */
export const ERROR_CODES = {
  // --- payload envelope ---
  PAYLOAD_EMPTY: 'Payload is empty',
  PAYLOAD_TOO_LARGE: 'Payload exceeds the size limit',
  DECOMPRESSED_TOO_LARGE: 'Decompressed payload exceeds the size limit',
  INVALID_GZIP: 'Compressed data is not valid gzip',
  INVALID_BASE64: 'Data is not valid base64',
  INVALID_UTF8: 'Text is not valid UTF-8',
  INVALID_JSON: 'Payload is not valid JSON',
  UNKNOWN_FORMAT: 'Payload format cannot be determined',
  UNSUPPORTED_FORMAT: 'Payload format is not supported',
  // --- structure and values ---
  SCHEMA_VIOLATION: 'Payload does not match the format schema',
  FORBIDDEN_KEY: 'Payload uses a forbidden key',
  NON_FINITE_NUMBER: 'Number is NaN or infinite',
  TIMESTAMP_OUT_OF_RANGE: 'Timestamp is outside the accepted range',
  INVALID_TIMESTAMP: 'Timestamp cannot be parsed',
  LIMIT_EXCEEDED: 'A structural limit was exceeded',
  NESTING_TOO_DEEP: 'Nesting depth exceeds the limit',
  STRING_TOO_LONG: 'A string exceeds the length limit',
  MISSING_CONTEXT: 'The format needs a device identity or receive time that was not supplied',
  INTEGER_OUT_OF_RANGE: 'Integer is outside the exactly representable range (±2^53)',
  // --- binary framing ---
  TRUNCATED: 'Binary structure is truncated',
  LENGTH_MISMATCH: 'Declared length does not match the content',
  INVALID_DLC: 'CAN DLC code is invalid',
  INVALID_TOKEN: 'Token is malformed',
  INVALID_PROTOBUF: 'Protobuf message cannot be decoded',
  INVALID_CAN_ID: 'CAN id uses reserved flag bits (RTR/error frame)',
  // --- DBC ---
  DBC_PARSE_ERROR: 'DBC file cannot be parsed',
  DBC_TOO_LARGE: 'DBC file exceeds the size limit',
  DBC_UNKNOWN_ID: 'No message in the DBC has this id',
  DBC_FRAME_TOO_SHORT: 'Frame is shorter than the message needs',
  DBC_BAD_MULTIPLEXER: 'Multiplexer value has no branch',
  DBC_ENCODE_ERROR: 'Signal values cannot be encoded',
  // --- topics and routing ---
  INVALID_TOPIC: 'Topic is not a recognised Fleetwire topic',
  TOPIC_IDENTITY_MISMATCH: 'Topic names a different device than the authenticated client',
  // --- identity ---
  INVALID_CSR: 'Certificate signing request is malformed, unsigned or uses an unsupported key',
  // --- queries ---
  INVALID_CURSOR: 'Pagination cursor is malformed or belongs to another query',
  // --- alerts ---
  ALERT_RULE_INVALID: 'Alert rule is invalid',
  ALERT_STATE_CONFLICT: 'Alert state was changed concurrently',
} as const;

/** A stable error code. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Base of every Fleetwire error: a stable `code`, a safe `message`, optional structured `details`. */
export class FleetwireError extends Error {
  /** Stable machine-readable code. */
  readonly code: ErrorCode;
  /** Structured, secret-free context (offsets, limits, line/column). */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(
    code: ErrorCode,
    message?: string,
    details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message ?? ERROR_CODES[code], options);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }

  /** JSON form used by the CLI and the API: `{error, message}` plus details. */
  toJSON(): { error: ErrorCode; message: string } & Record<string, unknown> {
    return { error: this.code, message: this.message, ...this.details };
  }
}

/** A payload was rejected by a codec (malformed, hostile or over a limit). */
export class DecodeError extends FleetwireError {}

/** A limit (size, count, depth, length) was exceeded. */
export class LimitError extends DecodeError {}

/** A DBC file could not be parsed; carries `line` and `column` (1-based) in `details`. */
export class DbcParseError extends FleetwireError {
  readonly line: number;
  readonly column: number;
  constructor(message: string, line: number, column: number, options?: { cause?: unknown }) {
    super('DBC_PARSE_ERROR', `${message} (line ${line}, column ${column})`, { line, column }, options);
    this.line = line;
    this.column = column;
  }
}

/** A CAN frame could not be decoded with a DBC. */
export class FrameDecodeError extends FleetwireError {}

/** Signal values could not be encoded into a frame. */
export class EncodeError extends FleetwireError {}

/** True when `e` is a Fleetwire error (any subclass). */
export function isFleetwireError(e: unknown): e is FleetwireError {
  return e instanceof FleetwireError;
}
