/**
 * Small in-process implementations of the ports, for the API tests until the local SQLite adapters land
 * (lambdas/adapters/local/). They keep the ports' contracts that the API relies on: tenant scoping,
 * conditional command transitions, newest-first lists with cursors, idempotent telemetry writes.
 */
import { createHash } from 'node:crypto';
import type { FieldValue, Point } from '../../lambdas/core/model/point.js';
import type { ApiKeyRecord, ApiKeyStore } from '../../lambdas/ports/api-keys.js';
import type { CommandRecord, CommandStore, DevicePublisher } from '../../lambdas/ports/commands.js';
import type { DeviceRecord, DeviceRegistry } from '../../lambdas/ports/device-registry.js';
import type { EventLog, LoggedEvent } from '../../lambdas/ports/event-log.js';
import type { EventSink, SystemEvent } from '../../lambdas/ports/event-sink.js';
import type { FileCatalog, FileRecord } from '../../lambdas/ports/file-catalog.js';
import type { FileStore } from '../../lambdas/ports/file-store.js';
import type { IdentityProvider, IssuedIdentity } from '../../lambdas/ports/identity-provider.js';
import type {
  LatestValue,
  TelemetryQuery,
  TelemetryRow,
  TelemetryStore,
} from '../../lambdas/ports/telemetry-store.js';

const clone = <T>(v: T): T => structuredClone(v);

/** Page an already-ordered array with an offset cursor. */
function pageOf<T>(items: T[], limit: number, cursor?: string): { items: T[]; next?: string } {
  const start = cursor ? Number(cursor) : 0;
  const slice = items.slice(start, start + limit);
  const next = start + limit < items.length ? String(start + limit) : undefined;
  return { items: slice.map(clone), ...(next ? { next } : {}) };
}

export class FakeRegistry implements DeviceRegistry {
  readonly byId = new Map<string, DeviceRecord>();
  async getByThing(id: string) {
    const d = this.byId.get(id);
    return d ? clone(d) : undefined;
  }
  async get(tenant: string, id: string) {
    const d = this.byId.get(id);
    return d && d.tenant === tenant ? clone(d) : undefined;
  }
  async list(tenant: string, opts: { limit: number; cursor?: string }) {
    const all = [...this.byId.values()]
      .filter((d) => d.tenant === tenant)
      .sort((a, b) => a.deviceId.localeCompare(b.deviceId));
    return pageOf(all, opts.limit, opts.cursor);
  }
  async create(r: DeviceRecord) {
    if (this.byId.has(r.deviceId)) throw new Error('exists');
    this.byId.set(r.deviceId, clone(r));
  }
  async put(r: DeviceRecord) {
    const d = this.byId.get(r.deviceId);
    if (!d || d.tenant !== r.tenant) throw new Error('no such device');
    this.byId.set(r.deviceId, clone(r));
  }
  async delete(tenant: string, id: string) {
    const d = this.byId.get(id);
    if (!d || d.tenant !== tenant) return false;
    this.byId.delete(id);
    return true;
  }
  async touch(id: string, at: number) {
    const d = this.byId.get(id);
    if (d && (d.lastSeen ?? 0) < at) d.lastSeen = at;
  }
}

export class FakeCommands implements CommandStore {
  readonly byId = new Map<string, CommandRecord>();
  async create(c: CommandRecord) {
    if (this.byId.has(c.commandId)) throw new Error('exists');
    this.byId.set(c.commandId, clone(c));
  }
  async get(tenant: string, id: string) {
    const c = this.byId.get(id);
    return c && c.tenant === tenant ? clone(c) : undefined;
  }
  async list(
    tenant: string,
    opts: { deviceId?: string; status?: CommandRecord['status']; limit: number; cursor?: string },
  ) {
    const all = [...this.byId.values()]
      .filter(
        (c) =>
          c.tenant === tenant &&
          (!opts.deviceId || c.deviceId === opts.deviceId) &&
          (!opts.status || c.status === opts.status),
      )
      .sort((a, b) => b.commandId.localeCompare(a.commandId));
    return pageOf(all, opts.limit, opts.cursor);
  }
  async transition(
    tenant: string,
    id: string,
    from: readonly CommandRecord['status'][],
    status: CommandRecord['status'],
    at: number,
    result?: Record<string, unknown>,
  ) {
    const c = this.byId.get(id);
    if (!c || c.tenant !== tenant || !from.includes(c.status)) return undefined;
    c.status = status;
    c.updatedAt = at;
    if (result !== undefined) c.result = clone(result);
    c.history.push({ status, at });
    return clone(c);
  }
}

export class FakePublisher implements DevicePublisher {
  readonly sent: { topic: string; payload: string; qos: number | undefined }[] = [];
  fail = false;
  async publish(topic: string, payload: Uint8Array | string, qos?: 0 | 1) {
    if (this.fail) throw new Error('broker down');
    this.sent.push({
      topic,
      payload: typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8'),
      qos,
    });
  }
}

export class FakeEvents implements EventSink, EventLog {
  readonly events: LoggedEvent[] = [];
  private seq = 0;
  async publish(events: readonly SystemEvent[]) {
    for (const e of events) {
      if (!e.tenant) continue;
      this.events.push({
        ...clone(e),
        tenant: e.tenant,
        eventId: `evt_${String(++this.seq).padStart(8, '0')}`,
      });
    }
  }
  async list(tenant: string, opts: { deviceId?: string; since?: number; limit: number; cursor?: string }) {
    const all = this.events
      .filter(
        (e) =>
          e.tenant === tenant &&
          (!opts.deviceId || e.device === opts.deviceId) &&
          (opts.since === undefined || e.time >= opts.since),
      )
      .sort((a, b) => b.eventId.localeCompare(a.eventId));
    return pageOf(all, opts.limit, opts.cursor);
  }
}

export class FakeCatalog implements FileCatalog {
  readonly byId = new Map<string, FileRecord>();
  async create(r: FileRecord) {
    if (this.byId.has(r.fileId)) throw new Error('exists');
    this.byId.set(r.fileId, clone(r));
  }
  async get(tenant: string, id: string) {
    const f = this.byId.get(id);
    return f && f.tenant === tenant ? clone(f) : undefined;
  }
  async list(tenant: string, opts: { kind?: FileRecord['kind']; limit: number; cursor?: string }) {
    const all = [...this.byId.values()]
      .filter((f) => f.tenant === tenant && (!opts.kind || f.kind === opts.kind))
      .sort((a, b) => b.fileId.localeCompare(a.fileId));
    return pageOf(all, opts.limit, opts.cursor);
  }
  async put(r: FileRecord) {
    this.byId.set(r.fileId, clone(r));
  }
}

export class FakeFiles implements FileStore {
  readonly objects = new Map<string, Uint8Array>();
  async get(key: string) {
    const b = this.objects.get(key);
    return b ? { bytes: b, etag: createHash('md5').update(b).digest('hex') } : undefined;
  }
  async head(key: string) {
    const b = this.objects.get(key);
    return b ? { etag: createHash('md5').update(b).digest('hex'), size: b.byteLength } : undefined;
  }
  async put(key: string, bytes: Uint8Array) {
    this.objects.set(key, bytes);
    return { etag: createHash('md5').update(bytes).digest('hex') };
  }
  async delete(key: string) {
    this.objects.delete(key);
  }
  async presignGet(key: string, s: number) {
    return `https://files.test/${key}?op=get&expires=${s}`;
  }
  async presignPut(key: string, s: number) {
    return `https://files.test/${key}?op=put&expires=${s}`;
  }
}

export class FakeIdentity implements IdentityProvider {
  readonly things = new Set<string>();
  readonly certs = new Map<string, { deviceId: string; active: boolean }>();
  private n = 0;
  async issue(
    deviceId: string,
    opts?: { csrPem?: string; existingThing?: boolean },
  ): Promise<IssuedIdentity> {
    if (opts?.csrPem?.includes('BROKEN')) throw new Error('bad csr');
    // Like AWS IoT: a new device must not exist yet; a rotation needs the thing.
    if (this.things.has(deviceId) !== (opts?.existingThing === true)) throw new Error('thing state');
    this.things.add(deviceId);
    const certificateId = `cert${++this.n}`;
    this.certs.set(certificateId, { deviceId, active: true });
    return {
      certificateId,
      fingerprint: createHash('sha256').update(certificateId).digest('hex'),
      certificatePem: `-----BEGIN CERTIFICATE-----\n${certificateId}\n-----END CERTIFICATE-----\n`,
      ...(opts?.csrPem ? {} : { privateKey: '-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n' }),
      caPem: '-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n',
    };
  }
  async revoke(_deviceId: string, certificateId: string) {
    const c = this.certs.get(certificateId);
    if (c) c.active = false;
  }
  async removeThing(deviceId: string) {
    this.things.delete(deviceId);
  }
  async endpoint() {
    return { host: 'localhost', port: 8883 };
  }
}

export class FakeApiKeys implements ApiKeyStore {
  readonly byId = new Map<string, ApiKeyRecord>();
  async create(r: ApiKeyRecord) {
    this.byId.set(r.keyId, clone(r));
  }
  async getById(id: string) {
    const k = this.byId.get(id);
    return k ? clone(k) : undefined;
  }
  async list(tenant: string, opts: { limit: number; cursor?: string }) {
    const all = [...this.byId.values()]
      .filter((k) => k.tenant === tenant)
      .sort((a, b) => b.keyId.localeCompare(a.keyId));
    return pageOf(all, opts.limit, opts.cursor);
  }
  async revoke(tenant: string, id: string, at: number) {
    const k = this.byId.get(id);
    if (!k || k.tenant !== tenant) return false;
    k.revokedAt ??= at;
    return true;
  }
}

/** Telemetry kept per (tenant, device, time, field): idempotent like the real stores. */
export class FakeTelemetry implements TelemetryStore {
  readonly cells = new Map<
    string,
    { tenant: string; device: string; time: number; field: string; value: FieldValue }
  >();
  async write(tenant: string, points: readonly Point[]) {
    for (const p of points) {
      for (const [field, value] of Object.entries(p.fields)) {
        this.cells.set(JSON.stringify([tenant, p.device, p.time, field]), {
          tenant,
          device: p.device,
          time: p.time,
          field,
          value,
        });
      }
    }
    return { written: points.length, rejected: [] };
  }
  async query(q: TelemetryQuery) {
    const cells = [...this.cells.values()].filter(
      (c) =>
        c.tenant === q.tenant &&
        c.device === q.device &&
        c.time >= q.from &&
        c.time < q.to &&
        (!q.fields || q.fields.includes(c.field)),
    );
    const rows = new Map<number, Record<string, FieldValue[]>>();
    for (const c of cells) {
      const t = q.intervalMs ? Math.floor(c.time / q.intervalMs) * q.intervalMs : c.time;
      const row = rows.get(t) ?? {};
      const list = row[c.field] ?? [];
      list.push(c.value);
      row[c.field] = list;
      rows.set(t, row);
    }
    const out: TelemetryRow[] = [...rows.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([time, fs]) => {
        const fields: Record<string, FieldValue> = {};
        for (const [f, vs] of Object.entries(fs)) {
          const nums = vs.filter((v): v is number => typeof v === 'number');
          switch (q.intervalMs ? q.agg : undefined) {
            case 'avg':
              if (nums.length) fields[f] = nums.reduce((s, v) => s + v, 0) / nums.length;
              break;
            case 'min':
              if (nums.length) fields[f] = Math.min(...nums);
              break;
            case 'max':
              if (nums.length) fields[f] = Math.max(...nums);
              break;
            case 'sum':
              if (nums.length) fields[f] = nums.reduce((s, v) => s + v, 0);
              break;
            case 'count':
              fields[f] = vs.length;
              break;
            default:
              fields[f] = vs[vs.length - 1] as FieldValue;
          }
        }
        return { time, fields };
      });
    const page = pageOf(out, q.limit, q.cursor);
    return { points: page.items, ...(page.next ? { next: page.next } : {}) };
  }
  async latest(tenant: string, device: string, fields?: string[]) {
    const best = new Map<string, LatestValue>();
    for (const c of this.cells.values()) {
      if (c.tenant !== tenant || c.device !== device || (fields && !fields.includes(c.field))) continue;
      const b = best.get(c.field);
      if (!b || b.time < c.time) best.set(c.field, { field: c.field, time: c.time, value: c.value });
    }
    return [...best.values()];
  }
}
