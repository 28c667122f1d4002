/**
 * The normalized point model every codec produces.
 *
 * One shape for all dialects (FlexConnect, EMS, ExoSense, DialTone, protobuf, CAN via DBC) so that
 * storage, alerts and the API never care which format a device speaks.
 */

/** A field value as stored: numbers are finite doubles, strings are bounded, booleans as-is. */
export type FieldValue = number | string | boolean;

/** One normalized measurement: a device, an event time and named field values. */
export interface Point {
  /** Device identity (thing name / device id). */
  device: string;
  /** Event time, epoch milliseconds (integer). */
  time: number;
  /** String tags; a null-prototype object (see {@link emptyRecord}). */
  tags: Record<string, string>;
  /** Field values keyed by field name (e.g. `battery.voltage`, `VehicleSpeed.Speed`). */
  fields: Record<string, FieldValue>;
}

/** A raw CAN / CAN FD frame as carried by the FlexConnect binary format. */
export interface CanFrame {
  /** Frame time, epoch milliseconds. */
  time: number;
  /** Bus number 0–7 (upper 3 bits of the bus|dlc byte). */
  bus: number;
  /** Arbitration id without the extended flag (11 or 29 bits). */
  id: number;
  /** True for 29-bit (extended) ids: bit 31 set in the wire id (SocketCAN convention). */
  extended: boolean;
  /** The DLC code as sent (0–15). */
  dlc: number;
  /** Frame payload; its length follows from the DLC. */
  data: Uint8Array;
}

/** A non-fatal problem found while decoding; the rest of the message is still produced. */
export interface DecodeWarning {
  /** Stable machine-readable code (see docs/errors.md). */
  code: string;
  /** Human-readable text; never contains the payload token. */
  message: string;
  /** Index of the point (or frame) the warning concerns, when it concerns one. */
  index?: number;
}

/** Every payload format Fleetwire decodes. */
export const PAYLOAD_FORMATS = [
  'flexconnect-json',
  'flexconnect-binary',
  'exosense',
  'ems',
  'dialtone',
  'protobuf',
] as const;

/** A concrete payload format. */
export type PayloadFormat = (typeof PAYLOAD_FORMATS)[number];

/** A format selector: a concrete format or `auto` (detect from the first bytes). */
export type FormatSelector = PayloadFormat | 'auto';

/** The single result type of every codec. */
export interface DecodeResult {
  /** The format that was decoded (after `auto` detection). */
  format: PayloadFormat;
  /** Normalized points. */
  points: Point[];
  /** Raw CAN frames, for formats that carry them (empty otherwise). */
  frames: CanFrame[];
  /** Per-point / per-frame warnings. */
  warnings: DecodeWarning[];
  /**
   * The authentication token the payload carried, for the caller to verify against the registry.
   * It is never copied into points, warnings, errors or logs.
   */
  token?: string;
  /** The device id the payload itself claims (FlexConnect / EMS `device_id`), if any. */
  claimedDevice?: string;
}

/** Context a codec needs from outside the payload. */
export interface DecodeContext {
  /** Identity from the authenticated connection; the point device for formats that carry none. */
  device?: string;
  /** Receive time (epoch ms) for formats without timestamps. The edge supplies it; the core never reads the clock. */
  receivedAt?: number;
}

/** Create an empty record with no prototype, so keys like `__proto__` are plain keys. */
export function emptyRecord<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}
