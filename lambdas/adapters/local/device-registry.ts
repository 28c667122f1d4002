/**
 * {@link DeviceRegistry} on the embedded SQLite database. Device ids (thing names) are globally unique —
 * the primary key — exactly as thing names are unique per AWS account and region; every tenant-scoped
 * call filters by tenant, so another tenant's device does not exist for the caller.
 *
 * Lookups by thing name run for every ingested message, so the stored record text of recently seen
 * devices is kept in memory (each call still returns a fresh object). Every write of this class — create,
 * put, delete, touch, connection state — drops the device's entry, and the stack's database has no other
 * writer, so a disabled or deleted device is refused from its next message on.
 */
import type { DevicePage, DeviceRecord, DeviceRegistry } from '../../ports/device-registry.js';
import { clampLimit, decodeCursor, encodeCursor } from './cursor.js';
import { AlreadyExistsError, isUniqueViolation, NotFoundError } from './errors.js';
import { type Db, stmt } from './sqlite.js';

interface Row {
  record: string;
}

function toRecord(row: Row): DeviceRecord {
  const rec = JSON.parse(row.record) as DeviceRecord;
  // Tags were stored from a null-prototype object; restore that so a `__proto__` tag stays a plain key.
  rec.tags = Object.assign(Object.create(null) as Record<string, string>, rec.tags);
  return rec;
}

/** Most devices whose records are cached. */
const MAX_CACHED = 10_000;

/** Device registry on SQLite. */
export class SqliteDeviceRegistry implements DeviceRegistry {
  /** Stored row of each recently read device (`null`: known not to exist). */
  private readonly cache = new Map<string, Row | null>();

  constructor(private readonly db: Db) {}

  /** Look a device up by thing name, any tenant. */
  async getByThing(deviceId: string): Promise<DeviceRecord | undefined> {
    const row = this.row(deviceId);
    return row ? toRecord(row) : undefined;
  }

  /** Look a device up within a tenant. */
  async get(tenant: string, deviceId: string): Promise<DeviceRecord | undefined> {
    const row = this.row(deviceId);
    if (!row) return undefined;
    const rec = toRecord(row);
    return rec.tenant === tenant ? rec : undefined;
  }

  /** The stored row of a device, through the cache. */
  private row(deviceId: string): Row | undefined {
    const cached = this.cache.get(deviceId);
    if (cached !== undefined) return cached ?? undefined;
    const row = stmt(this.db, 'SELECT record FROM devices WHERE device_id = ?').get(deviceId) as
      | Row
      | undefined;
    if (this.cache.size >= MAX_CACHED) this.cache.clear();
    this.cache.set(deviceId, row ?? null);
    return row;
  }

  /** Forget the cached row of a device (every write calls it). */
  private forget(deviceId: string): void {
    this.cache.delete(deviceId);
  }

  /** A page of a tenant's devices, by device id. */
  async list(tenant: string, opts: { limit: number; cursor?: string }): Promise<DevicePage> {
    const limit = clampLimit(opts.limit);
    const after = decodeCursor(opts.cursor, { d: 's' })?.d ?? '';
    const rows = stmt(
      this.db,
      'SELECT device_id, record FROM devices WHERE tenant = ? AND device_id > ? ORDER BY device_id LIMIT ?',
    ).all(tenant, after, limit + 1) as (Row & { device_id: string })[];
    const items = rows.slice(0, limit).map(toRecord);
    const page: DevicePage = { items };
    if (rows.length > limit) page.next = encodeCursor({ d: rows[limit - 1]?.device_id ?? '' });
    return page;
  }

  /** Create a device; {@link AlreadyExistsError} (`DEVICE_EXISTS`) when the thing name is taken anywhere. */
  async create(record: DeviceRecord): Promise<void> {
    this.forget(record.deviceId);
    try {
      stmt(
        this.db,
        'INSERT INTO devices (device_id, tenant, status, created_at, record) VALUES (?, ?, ?, ?, ?)',
      ).run(record.deviceId, record.tenant, record.status, record.createdAt, JSON.stringify(record));
    } catch (e) {
      if (isUniqueViolation(e)) {
        throw new AlreadyExistsError('DEVICE_EXISTS', `Device "${record.deviceId}" is already registered`);
      }
      throw e;
    }
  }

  /** Replace a device record of the same tenant; {@link NotFoundError} (`DEVICE_NOT_FOUND`) otherwise. */
  async put(record: DeviceRecord): Promise<void> {
    this.forget(record.deviceId);
    const res = stmt(
      this.db,
      'UPDATE devices SET status = ?, record = ? WHERE tenant = ? AND device_id = ?',
    ).run(record.status, JSON.stringify(record), record.tenant, record.deviceId);
    if (res.changes === 0)
      throw new NotFoundError('DEVICE_NOT_FOUND', `Device "${record.deviceId}" not found`);
  }

  /** Remove a device of a tenant. */
  async delete(tenant: string, deviceId: string): Promise<boolean> {
    this.forget(deviceId);
    return (
      stmt(this.db, 'DELETE FROM devices WHERE tenant = ? AND device_id = ?').run(tenant, deviceId).changes >
      0
    );
  }

  /** Move `lastSeen` forward only. */
  async touch(deviceId: string, seenAt: number): Promise<void> {
    this.forget(deviceId);
    stmt(
      this.db,
      `UPDATE devices SET record = json_set(record, '$.lastSeen', ?)
         WHERE device_id = ? AND coalesce(json_extract(record, '$.lastSeen'), -1) < ?`,
    ).run(seenAt, deviceId, seenAt);
  }

  /**
   * Record the MQTT connection state from the local broker's connect/disconnect events (what IoT Core's
   * lifecycle events feed on AWS). Not part of the port: only the broker calls it.
   */
  setConnected(deviceId: string, connected: boolean): void {
    this.forget(deviceId);
    stmt(
      this.db,
      `UPDATE devices SET record = json_set(record, '$.connected', json(?)) WHERE device_id = ?`,
    ).run(connected ? 'true' : 'false', deviceId);
  }
}
