/**
 * System events on the embedded SQLite database: the {@link EventSink} writers publish to and the
 * {@link EventLog} the API reads, in one append-only table. Each published event is also handed to an
 * optional listener (the local stack prints it on the console).
 */
import { randomBytes } from 'node:crypto';
import type { EventLog, LoggedEvent } from '../../ports/event-log.js';
import type { EventSink, SystemEvent } from '../../ports/event-sink.js';
import { clampLimit, decodeCursor, encodeCursor } from './cursor.js';
import { type Db, stmt } from './sqlite.js';

interface Row {
  seq: number;
  event_id: string;
  tenant: string | null;
  device: string | null;
  type: string;
  code: string;
  number: number | null;
  time: number;
  detail: string;
}

function toEvent(r: Row): LoggedEvent {
  const e: LoggedEvent = {
    eventId: r.event_id,
    tenant: r.tenant ?? '',
    type: r.type,
    code: r.code,
    time: r.time,
    detail: JSON.parse(r.detail) as Record<string, unknown>,
  };
  if (r.device !== null) e.device = r.device;
  if (r.number !== null) e.number = r.number;
  return e;
}

/** Append-only event log on SQLite, readable per tenant. */
export class SqliteEventLog implements EventSink, EventLog {
  private readonly insert;

  /** `onEvent` sees every event after it is stored (console output); its errors are ignored. */
  constructor(
    private readonly db: Db,
    private readonly onEvent?: (e: SystemEvent & { eventId: string }) => void,
  ) {
    this.insert = db.prepare(
      `INSERT INTO events (event_id, tenant, device, type, code, number, time, detail)
       VALUES (@eventId, @tenant, @device, @type, @code, @number, @time, @detail)`,
    );
  }

  /** Append events. Events without a tenant are kept (and printed) but no tenant can list them. */
  async publish(events: readonly SystemEvent[]): Promise<void> {
    const stored: (SystemEvent & { eventId: string })[] = [];
    this.db.transaction(() => {
      for (const e of events) {
        const eventId = `evt_${Math.max(0, Math.floor(e.time)).toString(36).padStart(11, '0')}${randomBytes(8).toString('hex')}`;
        this.insert.run({
          eventId,
          tenant: e.tenant ?? null,
          device: e.device ?? null,
          type: e.type,
          code: e.code,
          number: e.number ?? null,
          time: e.time,
          detail: JSON.stringify(e.detail ?? {}),
        });
        stored.push({ ...e, eventId });
      }
    })();
    if (this.onEvent) {
      for (const e of stored) {
        try {
          this.onEvent(e);
        } catch {
          // printing must never fail a write
        }
      }
    }
  }

  /** A tenant's events, newest first. */
  async list(
    tenant: string,
    opts: { deviceId?: string; since?: number; limit: number; cursor?: string },
  ): Promise<{ items: LoggedEvent[]; next?: string }> {
    const limit = clampLimit(opts.limit);
    const pos = decodeCursor(opts.cursor, { s: 'n' });
    const where = ['tenant = @tenant'];
    const params: Record<string, string | number> = { tenant, lim: limit + 1 };
    if (opts.deviceId !== undefined) {
      where.push('device = @device');
      params.device = opts.deviceId;
    }
    if (opts.since !== undefined) {
      where.push('time >= @since');
      params.since = opts.since;
    }
    if (pos) {
      where.push('seq < @seq');
      params.seq = pos.s;
    }
    const rows = stmt(
      this.db,
      `SELECT * FROM events WHERE ${where.join(' AND ')} ORDER BY seq DESC LIMIT @lim`,
    ).all(params) as Row[];
    const items = rows.slice(0, limit).map(toEvent);
    const last = rows[limit - 1];
    return rows.length > limit && last ? { items, next: encodeCursor({ s: last.seq }) } : { items };
  }
}
