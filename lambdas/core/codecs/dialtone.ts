/**
 * Avimesa DialTone device data (seed 004, §5.2): device-level readings plus per-channel data items.
 *
 * ```json
 * {"api_maj":0,"api_min":11,"dts":1536783776,
 *  "dev":{"dev_id":"000102030405060708090a0b0c0d0e0f",
 *         "dev_data":{"dev_type":1,"fw":1,"hw_rev":48,"bat":100.00,"rssi":0,"temp":25.00,"dev_sts":1},
 *         "chans":[{"ch_idx":0,"ch_data":[{"data_idx":0,"units":1,"val":0.003}]}, …]}}
 * ```
 *
 * Decoding → one point (none, with an EMPTY_POINT warning, when the message carries no readings):
 * - `dev.dev_id` → `claimedDevice`; the point device is the context identity when given, else `dev_id`.
 * - `dts` (uint32 Unix seconds) → time in ms. DialTone allows `dts: 0` (device clock not set): then
 *   the receive time is used, with a RECEIVE_TIME_USED warning.
 * - `dev.dev_data.<name>` → field `dev.<name>` (nested objects flattened with dots).
 * - `dev.chans[i].ch_data[j]` → field `ch<ch_idx>.<data_idx>` = `val`, and its unit code in a companion
 *   field `ch<ch_idx>.<data_idx>.units` (units differ per channel, so a point-level tag cannot carry them;
 *   a companion field keeps each value's unit next to it in storage and survives unit changes).
 * - `api_maj`/`api_min` and unknown keys are ignored. A message with neither `dev_data` nor `chans`, or a
 *   channel without `ch_data` (a configuration or command message on the data path) is a
 *   SCHEMA_VIOLATION.
 */
import { DecodeError } from '../errors.js';
import type { DecodeLimits } from '../limits.js';
import type { DecodeContext, DecodeResult, FieldValue } from '../model/point.js';
import { emptyRecord } from '../model/point.js';
import { type NameNode, rootNames } from './field-names.js';
import {
  checkDepth,
  claimedDeviceId,
  FieldSink,
  readJsonPayload,
  receiveTime,
  resolveDevice,
} from './json-fields.js';
import { checkFieldValue, checkTimestamp, isObject } from './values.js';
import { WarningList } from './warnings.js';

const UINT32_MAX = 0xffff_ffff;

/** Decode a DialTone device-data message (JSON text, optionally raw gzip). */
export function decodeDialtone(bytes: Uint8Array, ctx: DecodeContext, limits: DecodeLimits): DecodeResult {
  return decodeDialtoneValue(readJsonPayload(bytes, limits), ctx, limits);
}

/** Decode an already-parsed DialTone JSON value (used by `auto`, which parses once). */
export function decodeDialtoneValue(value: unknown, ctx: DecodeContext, limits: DecodeLimits): DecodeResult {
  if (!isObject(value)) throw new DecodeError('SCHEMA_VIOLATION', 'DialTone message must be a JSON object');
  const dev = value.dev;
  if (!isObject(dev)) throw new DecodeError('SCHEMA_VIOLATION', 'DialTone message needs a "dev" object');
  checkDepth(2, limits);
  const claimed = claimedDeviceId(dev.dev_id, limits, 'dev.dev_id');
  const devData = dev.dev_data;
  const chans = dev.chans;
  if (devData === undefined && chans === undefined) {
    throw new DecodeError('SCHEMA_VIOLATION', 'DialTone message carries neither dev.dev_data nor dev.chans');
  }
  const device = resolveDevice(ctx, claimed, limits, 'DialTone message');
  const warnings = new WarningList();
  const sink = new FieldSink(limits, warnings, 0);

  if (devData !== undefined) {
    if (!isObject(devData)) throw new DecodeError('SCHEMA_VIOLATION', 'dev.dev_data must be an object');
    sink.putObject(rootNames().child('dev'), devData, 3);
  }
  if (chans !== undefined) {
    if (!Array.isArray(chans)) throw new DecodeError('SCHEMA_VIOLATION', 'dev.chans must be an array');
    checkDepth(3, limits);
    // A repeated (ch_idx, data_idx), or a `val` object with a "units" key, can produce a name twice.
    sink.checkDuplicates();
    const names = rootNames();
    for (let i = 0; i < chans.length; i++) putChannel(sink, names, chans[i], i, limits);
  }

  const result: DecodeResult = { format: 'dialtone', points: [], frames: [], warnings: warnings.items };
  if (claimed !== undefined) result.claimedDevice = claimed;
  if (sink.size > 0) {
    let time: number;
    const dts = value.dts;
    if (dts === 0 || dts === undefined) {
      time = receiveTime(ctx, limits, 'DialTone dts is 0 or absent (device clock not set)');
      warnings.add('RECEIVE_TIME_USED', 'dts is 0 or absent; the receive time was used', 0);
    } else {
      if (typeof dts !== 'number' || !Number.isInteger(dts) || dts < 0 || dts > UINT32_MAX) {
        throw new DecodeError('INVALID_TIMESTAMP', 'dts must be a uint32 number of Unix seconds');
      }
      time = checkTimestamp(dts * 1000, limits, 'dts');
    }
    result.points.push({ device, time, tags: emptyRecord<string>(), fields: sink.finish() });
  } else {
    warnings.add('EMPTY_POINT', 'The message carries no readings; no point', 0);
  }
  result.warnings = warnings.finish();
  return result;
}

function putChannel(sink: FieldSink, names: NameNode, ch: unknown, i: number, limits: DecodeLimits): void {
  if (!isObject(ch)) throw new DecodeError('SCHEMA_VIOLATION', `dev.chans[${i}] must be an object`);
  checkDepth(4, limits);
  const chIdx = ch.ch_idx;
  if (!isUint32(chIdx)) throw notUint32(`dev.chans[${i}].ch_idx`);
  const data = ch.ch_data;
  // ch_data is required: a channel entry without it is configuration (ch_cfg), not data.
  if (!Array.isArray(data)) {
    throw new DecodeError('SCHEMA_VIOLATION', `dev.chans[${i}].ch_data must be an array`);
  }
  checkDepth(5, limits);
  const chNames = names.child(`ch${chIdx}`);
  for (let j = 0; j < data.length; j++) {
    const item = data[j];
    if (!isObject(item)) {
      throw new DecodeError('SCHEMA_VIOLATION', `dev.chans[${i}].ch_data[${j}] must be an object`);
    }
    checkDepth(6, limits);
    const dataIdx = item.data_idx;
    if (!isUint32(dataIdx)) throw notUint32(`dev.chans[${i}].ch_data[${j}].data_idx`);
    // putValue handles null (left out, warned), objects (flattened) and arrays like any other JSON value.
    const val = item.val;
    sink.putValue(chNames.indexName(dataIdx), val, 6);
    const units = item.units;
    // Units travel with their value: a reading left out (null) takes its units with it.
    if (val !== null && units !== undefined && units !== null) {
      if (typeof units === 'object') {
        throw new DecodeError(
          'SCHEMA_VIOLATION',
          `Units of ch${chIdx}.${dataIdx} must be a number or string`,
        );
      }
      const unitsName = chNames.indexChild(dataIdx).name('units');
      sink.put(unitsName, checkFieldValue(units, limits, unitsName));
    }
  }
}

function isUint32(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= UINT32_MAX;
}

function notUint32(what: string): DecodeError {
  return new DecodeError('SCHEMA_VIOLATION', `${what} must be an unsigned 32-bit integer`);
}

/** One data item of a channel. */
export interface DialtoneDataItem {
  /** `data_idx`. */
  dataIdx: number;
  /** Unit code (`units`), omitted when undefined. */
  units?: number | string;
  /** The reading (`val`). */
  val: FieldValue;
}

/** A typed DialTone device-data message for {@link encodeDialtone}. */
export interface DialtoneMessage {
  /** `dev.dev_id` (32 lowercase hex characters on real devices). */
  devId: string;
  /** `dts`, Unix seconds (0 = device clock not set). */
  dts: number;
  /** `dev.dev_data`, omitted when undefined. */
  devData?: Record<string, FieldValue>;
  /** `dev.chans`, omitted when undefined. */
  chans?: { chIdx: number; data: DialtoneDataItem[] }[];
  /** API version. @default {maj: 0, min: 11} */
  api?: { maj: number; min: number };
}

/** Encode a DialTone device-data message as UTF-8 JSON in the seed's layout. */
export function encodeDialtone(msg: DialtoneMessage): Uint8Array {
  const dev: Record<string, unknown> = { dev_id: msg.devId };
  if (msg.devData !== undefined) {
    const data: Record<string, unknown> = {};
    for (const key of Object.keys(msg.devData)) {
      Object.defineProperty(data, key, {
        value: msg.devData[key],
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    dev.dev_data = data;
  }
  if (msg.chans !== undefined) {
    dev.chans = msg.chans.map((ch) => ({
      ch_idx: ch.chIdx,
      ch_data: ch.data.map((d) =>
        d.units === undefined
          ? { data_idx: d.dataIdx, val: d.val }
          : { data_idx: d.dataIdx, units: d.units, val: d.val },
      ),
    }));
  }
  const api = msg.api ?? { maj: 0, min: 11 };
  return Buffer.from(JSON.stringify({ api_maj: api.maj, api_min: api.min, dts: msg.dts, dev }), 'utf8');
}
