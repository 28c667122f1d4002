/**
 * {@link CommandStore} on the embedded SQLite database. Transitions are conditional — the read and the
 * write happen in one immediate transaction and the UPDATE re-checks the status — so a duplicate or late
 * acknowledgement never moves a command backwards. Deadlines are also kept in a column, indexed for open
 * commands only, for the timeout sweep ({@link SqliteCommandStore.listExpired}).
 */
import type { CommandRecord, CommandStatus, CommandStore } from '../../ports/commands.js';
import { clampLimit, decodeCursor, encodeCursor } from './cursor.js';
import { AlreadyExistsError, isUniqueViolation } from './errors.js';
import { type Db, stmt } from './sqlite.js';

interface Row {
  record: string;
  created_at: number;
  command_id: string;
}

/** Most expired commands one {@link SqliteCommandStore.listExpired} call returns. */
const MAX_EXPIRED_PAGE = 10_000;

/** Commands on SQLite. */
export class SqliteCommandStore implements CommandStore {
  constructor(private readonly db: Db) {}

  /** Create a command; {@link AlreadyExistsError} (`COMMAND_EXISTS`) when the id is taken in the tenant. */
  async create(cmd: CommandRecord): Promise<void> {
    try {
      stmt(
        this.db,
        `INSERT INTO commands (tenant, command_id, device_id, status, created_at, expires_at, record)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        cmd.tenant,
        cmd.commandId,
        cmd.deviceId,
        cmd.status,
        cmd.createdAt,
        cmd.expiresAt,
        JSON.stringify(cmd),
      );
    } catch (e) {
      if (isUniqueViolation(e))
        throw new AlreadyExistsError('COMMAND_EXISTS', `Command "${cmd.commandId}" exists`);
      throw e;
    }
  }

  /** One command of a tenant. */
  async get(tenant: string, commandId: string): Promise<CommandRecord | undefined> {
    const row = stmt(this.db, 'SELECT record FROM commands WHERE tenant = ? AND command_id = ?').get(
      tenant,
      commandId,
    ) as Row | undefined;
    return row ? (JSON.parse(row.record) as CommandRecord) : undefined;
  }

  /** A tenant's commands, newest first. */
  async list(
    tenant: string,
    opts: { deviceId?: string; status?: CommandStatus; limit: number; cursor?: string },
  ): Promise<{ items: CommandRecord[]; next?: string }> {
    const limit = clampLimit(opts.limit);
    const pos = decodeCursor(opts.cursor, { c: 'n', i: 's' });
    const where = ['tenant = @tenant'];
    const params: Record<string, string | number> = { tenant, lim: limit + 1 };
    if (opts.deviceId !== undefined) {
      where.push('device_id = @device');
      params.device = opts.deviceId;
    }
    if (opts.status !== undefined) {
      where.push('status = @status');
      params.status = opts.status;
    }
    if (pos) {
      where.push('(created_at < @c OR (created_at = @c AND command_id < @i))');
      params.c = pos.c;
      params.i = pos.i;
    }
    const rows = stmt(
      this.db,
      `SELECT record, created_at, command_id FROM commands WHERE ${where.join(' AND ')}
         ORDER BY created_at DESC, command_id DESC LIMIT @lim`,
    ).all(params) as Row[];
    const items = rows.slice(0, limit).map((r) => JSON.parse(r.record) as CommandRecord);
    const last = rows[limit - 1];
    return rows.length > limit && last
      ? { items, next: encodeCursor({ c: last.created_at, i: last.command_id }) }
      : { items };
  }

  /**
   * Open commands (QUEUED, SENT, ACKNOWLEDGED) of every tenant whose deadline is before `before`, oldest
   * deadline first, at most `limit` (the timeout sweep). A range scan of the partial index
   * `commands_open_by_expiry`, which holds open commands only.
   */
  async listExpired(before: number, limit: number): Promise<CommandRecord[]> {
    const n = Math.max(0, Math.min(Math.floor(limit), MAX_EXPIRED_PAGE));
    if (n === 0 || !Number.isFinite(before)) return [];
    const rows = stmt(
      this.db,
      `SELECT record FROM commands INDEXED BY commands_open_by_expiry
         WHERE status IN ('QUEUED', 'SENT', 'ACKNOWLEDGED') AND expires_at < ?
         ORDER BY expires_at, tenant, command_id LIMIT ?`,
    ).all(before, n) as Row[];
    return rows.map((r) => JSON.parse(r.record) as CommandRecord);
  }

  /** Move a command to `status` only from one of `from`. */
  async transition(
    tenant: string,
    commandId: string,
    from: readonly CommandStatus[],
    status: CommandStatus,
    at: number,
    result?: Record<string, unknown>,
  ): Promise<CommandRecord | undefined> {
    const run = this.db.transaction((): CommandRecord | undefined => {
      const row = stmt(this.db, 'SELECT record FROM commands WHERE tenant = ? AND command_id = ?').get(
        tenant,
        commandId,
      ) as Row | undefined;
      if (!row) return undefined;
      const cmd = JSON.parse(row.record) as CommandRecord;
      if (!from.includes(cmd.status)) return undefined;
      const previous = cmd.status;
      cmd.status = status;
      cmd.updatedAt = at;
      if (result !== undefined) cmd.result = result;
      cmd.history = [...cmd.history, { status, at }];
      const res = stmt(
        this.db,
        'UPDATE commands SET status = ?, record = ? WHERE tenant = ? AND command_id = ? AND status = ?',
      ).run(status, JSON.stringify(cmd), tenant, commandId, previous);
      return res.changes === 1 ? cmd : undefined;
    });
    return run.immediate();
  }
}
