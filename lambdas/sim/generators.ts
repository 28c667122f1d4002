/**
 * What a simulated device sends, per payload format, encoded with the codecs' own encoders:
 *
 * - `flexconnect-json` / `protobuf`: vehicle telemetry as field/value pairs (speed, rpm, coolant
 *   temperature, fuel level, ignition, gear, a message counter), optionally several points per message;
 * - `flexconnect-binary`: CAN frames from a DBC (random values within each signal's range, or scripted),
 *   one CAN point per message time;
 * - `ems`: the EMS status of seed 002 (`system_status`, `battery`, `grid`), following the mode and error
 *   state that commands set;
 * - `exosense`: ExoSense `data_in` channels (temperature, humidity, location, a valve control channel, a
 *   status string), stamped by the receiver;
 * - `dialtone`: DialTone device data (`dev_data` and two channels), `dts` in whole seconds.
 *
 * Values follow bounded random walks from a seeded {@link Rng}, so `--seed` reproduces a run. Point
 * times are strictly increasing per device (two messages never carry the same time, which the store would
 * refuse as a conflicting rewrite).
 */
import { gzipSync } from 'node:zlib';
import { encodeDialtone } from '../core/codecs/dialtone.js';
import { type EmsValue, encodeEms } from '../core/codecs/ems.js';
import { type ExosenseValue, encodeExosense } from '../core/codecs/exosense.js';
import { encodeFlexconnectBinary } from '../core/codecs/flexconnect-binary.js';
import { encodeFlexconnectJson, type FlexconnectField } from '../core/codecs/flexconnect-json.js';
import { encodeProtobuf } from '../core/codecs/protobuf.js';
import { EncodeError } from '../core/errors.js';
import type { CanFrame, FieldValue, PayloadFormat } from '../core/model/point.js';
import type { CanTraffic } from './can.js';
import type { Rng } from './rng.js';
import type { SimScript } from './script.js';

/** Formats whose messages can carry more than one point. */
export const MULTI_POINT_FORMATS: readonly PayloadFormat[] = [
  'flexconnect-json',
  'flexconnect-binary',
  'protobuf',
];

/** Formats stamped by the receiver (ExoSense has no timestamp); their point times are not known to the sender. */
export const RECEIVE_TIME_FORMATS: readonly PayloadFormat[] = ['exosense'];

/** Formats with whole-second timestamps: at most one message per second per device. */
export const SECOND_RESOLUTION_FORMATS: readonly PayloadFormat[] = ['dialtone'];

/** Options of a device's message generator. */
export interface GeneratorOptions {
  format: PayloadFormat;
  deviceId: string;
  /** The device's payload token (FlexConnect JSON/binary and protobuf carry it). */
  token?: string;
  /** Compress payloads the way the format does (`{"b64"}` envelope, `0xFC`+gzip, or raw gzip). */
  compress?: boolean;
  /** Points per message (multi-point formats only). @default 1 */
  pointsPerMessage?: number;
  /** Spacing of the points of one message, ms. @default 1 */
  pointSpacingMs?: number;
  rng: Rng;
  /** CAN traffic source (required for `flexconnect-binary`). */
  can?: CanTraffic;
  /** Scripted values instead of random ones. */
  script?: SimScript;
}

/** One message to publish. */
export interface GeneratedMessage {
  payload: Buffer;
  /** Event times of the message's points, ms; empty when the receiver stamps the point. */
  times: number[];
  /** Points the message carries (what the store should hold once it is ingested). */
  points: number;
}

/** A value that moves a little at every message and stays inside [min, max]. */
class Walk {
  constructor(
    private value: number,
    private readonly min: number,
    private readonly max: number,
    private readonly step: number,
    private readonly decimals: number,
  ) {}

  next(rng: Rng): number {
    this.value = Math.min(this.max, Math.max(this.min, this.value + rng.float(-this.step, this.step)));
    const k = 10 ** this.decimals;
    return Math.round(this.value * k) / k;
  }

  set(v: number): void {
    this.value = Math.min(this.max, Math.max(this.min, v));
  }
}

/** Mutable device state that commands change and telemetry reports. */
export interface DeviceState {
  /** EMS `system_status.mode`. */
  mode: string;
  /** EMS `system_status.error_flags`. */
  errorFlags: string[];
  /** EMS target power set by SET_MODE, W. */
  targetPower?: number;
  /** ExoSense control channel values written by SET_CHANNELS (reported in the next `data_in`). */
  channels: Record<string, ExosenseValue>;
  /** Firmware version reported after a successful FIRMWARE_UPDATE. */
  firmware: string;
}

/** A fresh device state. */
export function initialState(): DeviceState {
  return {
    mode: 'AUTO',
    errorFlags: [],
    channels: Object.create(null) as Record<string, ExosenseValue>,
    firmware: '1.0.0',
  };
}

const GEARS = ['P', 'R', 'N', 'D'] as const;

/** Generates the messages of one device. */
export class MessageGenerator {
  /** State commands act on. */
  readonly state: DeviceState = initialState();
  private lastTime = 0;
  private seq = 0;
  private step = 0;
  private readonly points: number;
  private readonly spacing: number;
  private readonly walks = {
    speed: new Walk(40, 0, 130, 3, 2),
    rpm: new Walk(1800, 700, 6000, 150, 0),
    coolant: new Walk(88, 70, 108, 0.4, 1),
    fuel: new Walk(70, 0, 100, 0.05, 2),
    soc: new Walk(60, 5, 100, 0.2, 1),
    current: new Walk(8, -40, 40, 2, 2),
    voltage: new Walk(52, 46, 56, 0.1, 2),
    gridPower: new Walk(-150, -3000, 3000, 60, 0),
    gridVoltage: new Walk(230, 218, 242, 0.6, 1),
    frequency: new Walk(50, 49.8, 50.2, 0.01, 3),
    temperature: new Walk(21, -10, 45, 0.2, 2),
    humidity: new Walk(45, 5, 95, 0.5, 1),
    lat: new Walk(43.650883, 43.6, 43.7, 0.0005, 6),
    lng: new Walk(-96.201642, -96.25, -96.15, 0.0005, 6),
  };

  constructor(private readonly opts: GeneratorOptions) {
    this.points = opts.pointsPerMessage ?? 1;
    this.spacing = Math.max(1, Math.floor(opts.pointSpacingMs ?? 1));
    if (!Number.isInteger(this.points) || this.points < 1 || this.points > 1000) {
      throw new EncodeError('LIMIT_EXCEEDED', 'points per message must be 1–1000');
    }
    if (this.points > 1 && !MULTI_POINT_FORMATS.includes(opts.format)) {
      throw new EncodeError('LIMIT_EXCEEDED', `${opts.format} messages carry one point each`);
    }
    if (opts.format === 'flexconnect-binary' && !opts.can) {
      throw new EncodeError('DBC_ENCODE_ERROR', 'flexconnect-binary needs a DBC to generate CAN frames');
    }
  }

  /** True when a non-looping script has no step left. */
  get exhausted(): boolean {
    const s = this.opts.script;
    return s !== undefined && !s.loop && this.step >= s.steps.length;
  }

  /** The next message at wall-clock time `now` (ms), or undefined once a non-looping script is done. */
  next(now: number): GeneratedMessage | undefined {
    const script = this.opts.script;
    let step: Record<string, unknown> | undefined;
    if (script && script.steps.length > 0) {
      if (this.exhausted) return undefined;
      step = script.steps[this.step % script.steps.length];
      this.step++;
    }
    this.seq++;
    switch (this.opts.format) {
      case 'flexconnect-json':
        return this.flexJson(now, step);
      case 'protobuf':
        return this.protobuf(now, step);
      case 'flexconnect-binary':
        return this.flexBinary(now, step);
      case 'ems':
        return this.ems(now, step);
      case 'exosense':
        return this.exosense(step);
      case 'dialtone':
        return this.dialtone(now, step);
    }
  }

  /** `count` strictly increasing times ending at or after `now` (ms; seconds resolution when asked). */
  private times(now: number, count: number, unitMs = 1): number[] {
    const out: number[] = [];
    const step = unitMs === 1 ? this.spacing : unitMs;
    let t = Math.floor(now / unitMs) * unitMs - (count - 1) * step;
    for (let i = 0; i < count; i++, t += step) {
      const time = Math.max(t, this.lastTime + unitMs);
      out.push(time);
      this.lastTime = time;
      t = time;
    }
    return out;
  }

  private vehicleFields(step: Record<string, unknown> | undefined): Record<string, FieldValue> {
    if (step) return scalarFields(step, 'flexconnect-json/protobuf steps are flat {"field": value} maps');
    const { rng } = this.opts;
    const w = this.walks;
    const speed = w.speed.next(rng);
    return {
      speed,
      rpm: speed < 1 ? 800 : w.rpm.next(rng),
      coolant_temp: w.coolant.next(rng),
      fuel_level: w.fuel.next(rng),
      ignition: true,
      gear: speed < 1 ? 'P' : (GEARS[3] as string),
      seq: this.seq,
      firmware: this.state.firmware,
    };
  }

  private flexJson(now: number, step: Record<string, unknown> | undefined): GeneratedMessage {
    const times = this.times(now, this.points);
    const points = times.map((timestamp) => {
      const fields = this.vehicleFields(step);
      return {
        timestamp,
        fields: Object.keys(fields).map(
          (name): FlexconnectField => ({ name, value: fields[name] as FieldValue }),
        ),
      };
    });
    const payload = encodeFlexconnectJson(
      { device_id: this.opts.deviceId, ...(this.opts.token ? { token: this.opts.token } : {}), points },
      { compress: this.opts.compress === true },
    );
    return { payload, times, points: times.length };
  }

  private protobuf(now: number, step: Record<string, unknown> | undefined): GeneratedMessage {
    const times = this.times(now, this.points);
    const bytes = encodeProtobuf({
      deviceId: this.opts.deviceId,
      ...(this.opts.token ? { token: this.opts.token } : {}),
      points: times.map((timestamp) => ({ timestamp, fields: this.vehicleFields(step) })),
    });
    return { payload: this.gzipIf(bytes), times, points: times.length };
  }

  private flexBinary(now: number, step: Record<string, unknown> | undefined): GeneratedMessage {
    const can = this.opts.can as CanTraffic;
    const times = this.times(now, this.points);
    const points = times.map((timestamp) => {
      const frames: CanFrame[] = step
        ? can.scriptedFrames(canStep(step), timestamp)
        : can.randomFrames(timestamp, this.opts.rng);
      return {
        timestamp,
        readings: frames.map((f) => ({ id: f.id, extended: f.extended, bus: f.bus, data: f.data })),
      };
    });
    const payload = encodeFlexconnectBinary(
      { ...(this.opts.token ? { token: this.opts.token } : {}), points },
      { compress: this.opts.compress === true },
    );
    // An empty scripted step sends a point without readings: nothing to store for it.
    const stored = points.filter((p) => p.readings.length > 0).map((p) => p.timestamp);
    return { payload, times: stored, points: stored.length };
  }

  private ems(now: number, step: Record<string, unknown> | undefined): GeneratedMessage {
    const [time] = this.times(now, 1) as [number];
    let data: Record<string, EmsValue>;
    if (step) data = step as Record<string, EmsValue>;
    else {
      const { rng } = this.opts;
      const w = this.walks;
      const soc = w.soc.next(rng);
      const current =
        this.state.targetPower !== undefined ? -this.state.targetPower / 52 : w.current.next(rng);
      const voltage = w.voltage.next(rng);
      const state =
        this.state.errorFlags.length > 0
          ? 'ERROR'
          : soc >= 99.5
            ? 'FULL'
            : current > 0.5
              ? 'CHARGING'
              : current < -0.5
                ? 'DISCHARGING'
                : 'IDLE';
      data = {
        system_status: {
          state,
          mode: this.state.mode,
          error_flags: [...this.state.errorFlags],
          wifi_strength: rng.int(-80, -35),
        },
        battery: {
          voltage,
          current: Math.round(current * 100) / 100,
          power: Math.round(voltage * current * 10) / 10,
          soc,
        },
        grid: {
          voltage: w.gridVoltage.next(rng),
          power: w.gridPower.next(rng),
          frequency: w.frequency.next(rng),
        },
      };
    }
    const bytes = encodeEms({ deviceId: this.opts.deviceId, timestamp: time, data });
    return { payload: this.gzipIf(bytes), times: [time], points: 1 };
  }

  private exosense(step: Record<string, unknown> | undefined): GeneratedMessage {
    let channels: Record<string, ExosenseValue>;
    if (step) channels = step as Record<string, ExosenseValue>;
    else {
      const { rng } = this.opts;
      const w = this.walks;
      channels = {
        '001': w.temperature.next(rng),
        '002': w.humidity.next(rng),
        '003': { lat: w.lat.next(rng), lng: w.lng.next(rng) },
        '004': false,
        '005': this.state.errorFlags.length > 0 ? 'fault' : 'good',
      };
      for (const id of Object.keys(this.state.channels))
        channels[id] = this.state.channels[id] as ExosenseValue;
    }
    return { payload: this.gzipIf(encodeExosense({ channels })), times: [], points: 1 };
  }

  private dialtone(now: number, step: Record<string, unknown> | undefined): GeneratedMessage {
    const [time] = this.times(now, 1, 1000) as [number];
    let devData: Record<string, FieldValue> | undefined;
    let chans: { chIdx: number; data: { dataIdx: number; units?: number; val: FieldValue }[] }[] | undefined;
    if (step) {
      const d = step.dev_data;
      if (d !== undefined) devData = scalarFields(d, 'dialtone step dev_data must be a flat map');
      const c = step.chans;
      if (c !== undefined) {
        if (typeof c !== 'object' || c === null || Array.isArray(c))
          throw new EncodeError('SCHEMA_VIOLATION', 'dialtone step chans must be {"<ch_idx>": [values]}');
        chans = Object.entries(c).map(([idx, vals]) => {
          if (!/^\d{1,9}$/.test(idx) || !Array.isArray(vals))
            throw new EncodeError('SCHEMA_VIOLATION', 'dialtone step chans must be {"<ch_idx>": [values]}');
          return {
            chIdx: Number(idx),
            data: vals.map((v, i) => ({ dataIdx: i, val: scalar(v, `chans.${idx}[${i}]`) })),
          };
        });
      }
    } else {
      const { rng } = this.opts;
      const w = this.walks;
      devData = {
        bat: Math.round(w.soc.next(rng) * 100) / 100,
        rssi: rng.int(-90, -40),
        temp: w.temperature.next(rng),
        dev_sts: 1,
      };
      chans = [
        { chIdx: 0, data: [{ dataIdx: 0, units: 1, val: Math.round(rng.float(4, 20) * 1000) / 1000 }] },
        {
          chIdx: 1,
          data: [
            { dataIdx: 0, units: 2, val: w.humidity.next(rng) },
            { dataIdx: 1, units: 3, val: rng.int(0, 1) === 1 },
          ],
        },
      ];
    }
    const bytes = encodeDialtone({
      devId: this.opts.deviceId,
      dts: time / 1000,
      ...(devData ? { devData } : {}),
      ...(chans ? { chans } : {}),
    });
    return { payload: this.gzipIf(bytes), times: [time], points: 1 };
  }

  private gzipIf(bytes: Uint8Array): Buffer {
    return this.opts.compress
      ? gzipSync(bytes)
      : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
}

function scalar(v: unknown, what: string): FieldValue {
  if (typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v)))
    return v;
  throw new EncodeError('SCHEMA_VIOLATION', `script value ${what} must be a number, string or boolean`);
}

function scalarFields(v: unknown, what: string): Record<string, FieldValue> {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new EncodeError('SCHEMA_VIOLATION', what);
  const out: Record<string, FieldValue> = Object.create(null) as Record<string, FieldValue>;
  for (const [k, x] of Object.entries(v)) out[k] = scalar(x, k);
  return out;
}

function canStep(step: Record<string, unknown>): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = Object.create(null) as Record<
    string,
    Record<string, number>
  >;
  for (const [msg, sigs] of Object.entries(step)) {
    if (typeof sigs !== 'object' || sigs === null || Array.isArray(sigs)) {
      throw new EncodeError('SCHEMA_VIOLATION', `CAN script step: "${msg}" must map signal names to numbers`);
    }
    const values: Record<string, number> = Object.create(null) as Record<string, number>;
    for (const [sig, v] of Object.entries(sigs)) {
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new EncodeError('SCHEMA_VIOLATION', `CAN script step: ${msg}.${sig} must be a finite number`);
      }
      values[sig] = v;
    }
    out[msg] = values;
  }
  return out;
}

/**
 * The ExoSense channel contract (`config_io`) of the simulated ExoSense device: the channels its
 * `data_in` reports, with `004` (a valve) as a control channel that `SET_CHANNELS` can switch.
 */
export function simExosenseConfigIo(now: number): Record<string, unknown> {
  const numeric = (display: string, dataType: string, unit: string, min: number, max: number) => ({
    display_name: display,
    properties: { data_type: dataType, data_unit: unit, precision: 2, min, max },
    protocol_config: { report_rate: 1000, timeout: 60_000 },
  });
  return {
    last_edited: new Date(now).toISOString(),
    last_editor: 'fleetwire simulate',
    meta: {},
    channels: {
      '001': numeric('Temperature', 'TEMPERATURE', 'DEG_CELSIUS', -10, 45),
      '002': numeric('Humidity', 'HUMIDITY', 'PERCENT', 0, 100),
      '003': { display_name: 'Location', properties: { data_type: 'LOCATION' } },
      '004': {
        display_name: 'Valve',
        properties: { data_type: 'BOOLEAN', control: true },
      },
      '005': { display_name: 'Status', properties: { data_type: 'STRING' } },
    },
  };
}
