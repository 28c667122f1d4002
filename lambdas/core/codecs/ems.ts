/**
 * EMS telemetry (seed 002): one nested JSON object per second from an energy-management edge device.
 *
 * ```json
 * {"device_id":"ems_001","timestamp":"2026-01-31T12:00:01Z",
 *  "system_status":{"state":"CHARGING","mode":"AUTO","error_flags":[],"wifi_strength":-45},
 *  "battery":{"voltage":53.2,"current":10.5,"power":558.6,"soc":85}, "grid":{...}}
 * ```
 *
 * Decoding → one point:
 * - `device_id` → `claimedDevice`; the point device is the context identity when given, else `device_id`.
 * - `timestamp` (ISO 8601 with zone, or integer epoch ms) → point time; absent → receive time with a
 *   RECEIVE_TIME_USED warning.
 * - `token` (not in the seed, but never stored if a device sends one) → `DecodeResult.token`.
 * - every other key → fields, nested objects flattened with dots (`battery.voltage`), strings kept as
 *   strings (`system_status.state`), arrays of scalars as one JSON-text string field
 *   (`system_status.error_flags` = `"[]"`), nulls left out with a NULL_VALUE warning.
 * - a message with no fields yields no point (EMPTY_POINT warning).
 */
import { DecodeError } from '../errors.js';
import type { DecodeLimits } from '../limits.js';
import type { DecodeContext, DecodeResult, FieldValue, Point } from '../model/point.js';
import { emptyRecord } from '../model/point.js';
import { rootNames } from './field-names.js';
import { claimedDeviceId, FieldSink, readJsonPayload, receiveTime, resolveDevice } from './json-fields.js';
import { checkJsonToken } from './token.js';
import { checkTimestamp, isObject, parseIsoTimestamp } from './values.js';
import { WarningList } from './warnings.js';

/** Decode an EMS telemetry payload (JSON text, optionally raw gzip). */
export function decodeEms(bytes: Uint8Array, ctx: DecodeContext, limits: DecodeLimits): DecodeResult {
  return decodeEmsValue(readJsonPayload(bytes, limits), ctx, limits);
}

/** Decode an already-parsed EMS JSON value (used by `auto`, which parses once). */
export function decodeEmsValue(value: unknown, ctx: DecodeContext, limits: DecodeLimits): DecodeResult {
  if (!isObject(value)) throw new DecodeError('SCHEMA_VIOLATION', 'EMS payload must be a JSON object');
  const warnings = new WarningList();
  const sink = new FieldSink(limits, warnings, 0);
  const names = rootNames();
  let claimed: string | undefined;
  let token: string | undefined;
  let time: number | undefined;
  // for-in: see FieldSink.putObject.
  for (const key in value) {
    const v = value[key];
    switch (key) {
      case 'device_id':
        claimed = claimedDeviceId(v, limits, 'device_id');
        break;
      case 'timestamp':
        time = emsTimestamp(v, limits);
        break;
      case 'token':
        token = checkJsonToken(v);
        break;
      default:
        sink.putMember(names, key, v, 1);
    }
  }
  const device = resolveDevice(ctx, claimed, limits, 'EMS payload');
  const result: DecodeResult = { format: 'ems', points: [], frames: [], warnings: warnings.items };
  if (claimed !== undefined) result.claimedDevice = claimed;
  if (token !== undefined) result.token = token;
  if (sink.size > 0) {
    if (time === undefined) {
      time = receiveTime(ctx, limits, 'EMS payload has no timestamp');
      warnings.add('RECEIVE_TIME_USED', 'No timestamp; the receive time was used', 0);
    }
    const point: Point = { device, time, tags: emptyRecord<string>(), fields: sink.finish() };
    result.points.push(point);
  } else {
    warnings.add('EMPTY_POINT', 'The message carries no fields; no point', 0);
  }
  result.warnings = warnings.finish();
  return result;
}

function emsTimestamp(v: unknown, limits: DecodeLimits): number {
  if (typeof v === 'number') return checkTimestamp(v, limits, 'timestamp');
  return parseIsoTimestamp(v, limits, 'timestamp');
}

/** A nested EMS value: a scalar, an array of scalars, or an object of values. */
export type EmsValue = FieldValue | null | FieldValue[] | { [key: string]: EmsValue };

/** A typed EMS telemetry message for {@link encodeEms}. */
export interface EmsMessage {
  /** `device_id`; omitted from the JSON when undefined. */
  deviceId?: string;
  /** Event time, epoch ms; written as an ISO 8601 UTC string with milliseconds. Omitted when undefined. */
  timestamp?: number;
  /** The telemetry body: `system_status`, `battery`, `grid`, … */
  data: Record<string, EmsValue>;
}

/** Encode an EMS message as UTF-8 JSON, in the seed's key order (`device_id`, `timestamp`, body). */
export function encodeEms(msg: EmsMessage): Uint8Array {
  const out: Record<string, unknown> = {};
  if (msg.deviceId !== undefined) out.device_id = msg.deviceId;
  if (msg.timestamp !== undefined) out.timestamp = new Date(msg.timestamp).toISOString();
  for (const key of Object.keys(msg.data)) {
    // defineProperty so a key such as "__proto__" is written as data, exactly as a device would send it.
    Object.defineProperty(out, key, {
      value: msg.data[key],
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return Buffer.from(JSON.stringify(out), 'utf8');
}
