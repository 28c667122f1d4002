/**
 * In-memory ports and builders for ingest service tests: a registry, a programmable telemetry store, a
 * file store and capturing dead-letter / event sinks, plus a toy DBC engine (one signal per CAN id: the
 * first data byte) so the service's DBC plumbing is testable without the real engine.
 */
import { DbcParseError } from '../../lambdas/core/errors.js';
import { type CanFrame, emptyRecord, type Point } from '../../lambdas/core/model/point.js';
import { hashToken } from '../../lambdas/core/token.js';
import type { IngestRuleEvent } from '../../lambdas/core/topics.js';
import type { DeadLetter, DeadLetterSink } from '../../lambdas/ports/dead-letters.js';
import type { DevicePage, DeviceRecord, DeviceRegistry } from '../../lambdas/ports/device-registry.js';
import type { EventSink, SystemEvent } from '../../lambdas/ports/event-sink.js';
import type { FileStore, StoredFile } from '../../lambdas/ports/file-store.js';
import type {
  LatestValue,
  RejectedPoint,
  TelemetryPage,
  TelemetryStore,
  WriteOutcome,
} from '../../lambdas/ports/telemetry-store.js';
import type { DbcEngine } from '../../lambdas/services/dbc-resolver.js';

export const TOKEN = 'tok-0123456789abcdef0123456789abcdef0123456';
export const APP = 'fleetwire';

/** A registered, active device of tenant `t1` with {@link TOKEN}. */
export function device(overrides: Partial<DeviceRecord> = {}): DeviceRecord {
  return {
    tenant: 't1',
    deviceId: 'dev-1',
    tags: emptyRecord<string>(),
    tokenHash: hashToken(TOKEN),
    status: 'active',
    createdAt: 1_700_000_000_000,
    ...overrides,
  };
}

/** A rule event for `payload` on `topic` from `clientId`. */
export function ruleEvent(
  payload: Uint8Array | string,
  topic: string,
  clientId = 'dev-1',
  receivedAt = 1_760_000_000_000,
): IngestRuleEvent {
  const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.from(payload);
  return { payload: bytes.toString('base64'), topic, clientId, principal: 'cert-thumbprint', receivedAt };
}

export class MemoryRegistry implements DeviceRegistry {
  readonly devices = new Map<string, DeviceRecord>();
  touches: { deviceId: string; at: number }[] = [];
  failTouch = false;
  constructor(...records: DeviceRecord[]) {
    for (const r of records) this.devices.set(r.deviceId, r);
  }
  async getByThing(deviceId: string) {
    return this.devices.get(deviceId);
  }
  async get(tenant: string, deviceId: string) {
    const d = this.devices.get(deviceId);
    return d?.tenant === tenant ? d : undefined;
  }
  async list(tenant: string): Promise<DevicePage> {
    return { items: [...this.devices.values()].filter((d) => d.tenant === tenant) };
  }
  async create(record: DeviceRecord) {
    this.devices.set(record.deviceId, record);
  }
  async put(record: DeviceRecord) {
    this.devices.set(record.deviceId, record);
  }
  async delete(tenant: string, deviceId: string) {
    return (await this.get(tenant, deviceId)) ? this.devices.delete(deviceId) : false;
  }
  async touch(deviceId: string, at: number) {
    if (this.failTouch) throw new Error('registry down');
    this.touches.push({ deviceId, at });
  }
}

/** A store that records writes; `reject` decides per point whether (and how) it is refused. */
export class MemoryStore implements TelemetryStore {
  writes: { tenant: string; points: Point[] }[] = [];
  reject: (p: Point, i: number) => Omit<RejectedPoint, 'index'> | undefined = () => undefined;
  async write(tenant: string, points: readonly Point[]): Promise<WriteOutcome> {
    const rejected: RejectedPoint[] = [];
    points.forEach((p, i) => {
      const r = this.reject(p, i);
      if (r) rejected.push({ index: i, ...r });
    });
    this.writes.push({ tenant, points: points.filter((_, i) => !rejected.some((r) => r.index === i)) });
    return { written: points.length - rejected.length, rejected };
  }
  get points(): Point[] {
    return this.writes.flatMap((w) => w.points);
  }
  async query(): Promise<TelemetryPage> {
    return { points: [] };
  }
  async latest(): Promise<LatestValue[]> {
    return [];
  }
}

export class CapturingDeadLetters implements DeadLetterSink {
  letters: DeadLetter[] = [];
  fail = false;
  async send(letter: DeadLetter) {
    if (this.fail) throw new Error('sqs down');
    this.letters.push(letter);
  }
}

export class CapturingEvents implements EventSink {
  events: SystemEvent[] = [];
  fail = false;
  async publish(events: readonly SystemEvent[]) {
    if (this.fail) throw new Error('eventbridge down');
    this.events.push(...events);
  }
}

export class MemoryFiles implements FileStore {
  readonly objects = new Map<string, StoredFile>();
  calls = { get: 0, head: 0 };
  set(key: string, text: string, etag: string) {
    this.objects.set(key, { bytes: Buffer.from(text, 'utf8'), etag });
  }
  async get(key: string) {
    this.calls.get++;
    return this.objects.get(key);
  }
  async head(key: string) {
    this.calls.head++;
    const o = this.objects.get(key);
    return o ? { etag: o.etag, size: o.bytes.byteLength } : undefined;
  }
  async put(key: string, bytes: Uint8Array) {
    const etag = `e${this.objects.size}`;
    this.objects.set(key, { bytes, etag });
    return { etag };
  }
  async delete(key: string) {
    this.objects.delete(key);
  }
  async presignGet(key: string) {
    return `memory://${key}`;
  }
  async presignPut(key: string) {
    return `memory://${key}`;
  }
}

/**
 * A toy DBC: text `TOY <id> <name>` lines; a frame with a listed id yields `<name>` = first data byte.
 * Unknown ids produce a DBC_UNKNOWN_ID warning; text not starting with `TOY` is a parse error.
 */
export interface ToyDbc {
  names: Map<number, string>;
}
export const TOY_ENGINE: DbcEngine<ToyDbc> = {
  load(bytes) {
    const text = Buffer.from(bytes).toString('utf8');
    if (!text.startsWith('TOY')) throw new DbcParseError('expected TOY', 1, 1);
    const names = new Map<number, string>();
    for (const line of text.split('\n')) {
      const [, id, name] = line.split(' ');
      if (id && name) names.set(Number(id), name);
    }
    return { names };
  },
  framesToPoints(frames: CanFrame[], dbc, device) {
    const points: Point[] = [];
    const warnings: { code: string; message: string; index: number }[] = [];
    frames.forEach((f, i) => {
      const name = dbc.names.get(f.id);
      if (!name) {
        warnings.push({ code: 'DBC_UNKNOWN_ID', message: `no message with id ${f.id}`, index: i });
        return;
      }
      const fields = emptyRecord<number>();
      fields[name] = f.data[0] ?? 0;
      points.push({ device, time: f.time, tags: emptyRecord<string>(), fields });
    });
    return { points, warnings };
  },
};
