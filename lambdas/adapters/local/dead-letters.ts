/**
 * Dead letters on the embedded SQLite database: the {@link DeadLetterSink} the ingest path writes to (the
 * SQS queue on AWS), plus what an operator needs to look at them and replay them: list, get, mark
 * replayed, discard. The payload is kept as bytes; the token it may contain never leaves this table
 * except through an explicit replay.
 */
import type { DeadLetter, DeadLetterSink } from '../../ports/dead-letters.js';
import { clampLimit, decodeCursor, encodeCursor } from './cursor.js';
import { type Db, stmt } from './sqlite.js';

/** State of a stored dead letter. */
export type DeadLetterStatus = 'pending' | 'replayed' | 'discarded';

/** A stored dead letter with its id and replay state. */
export interface StoredDeadLetter extends DeadLetter {
  id: number;
  status: DeadLetterStatus;
  replays: number;
  replayedAt?: number;
}

interface Row {
  id: number;
  received_at: number;
  code: string;
  reason: string;
  topic: string | null;
  client_id: string | null;
  tenant: string | null;
  payload: Buffer;
  rejected: string | null;
  status: DeadLetterStatus;
  replays: number;
  replayed_at: number | null;
}

function toLetter(r: Row): StoredDeadLetter {
  const d: StoredDeadLetter = {
    id: r.id,
    code: r.code,
    reason: r.reason,
    payloadBase64: r.payload.toString('base64'),
    receivedAt: r.received_at,
    status: r.status,
    replays: r.replays,
  };
  if (r.topic !== null) d.topic = r.topic;
  if (r.client_id !== null) d.clientId = r.client_id;
  if (r.tenant !== null) d.tenant = r.tenant;
  if (r.rejected !== null) d.rejected = JSON.parse(r.rejected) as { index: number; reason: string }[];
  if (r.replayed_at !== null) d.replayedAt = r.replayed_at;
  return d;
}

/** Dead letters on SQLite. */
export class SqliteDeadLetterStore implements DeadLetterSink {
  constructor(
    private readonly db: Db,
    private readonly onLetter?: (d: DeadLetter & { id: number }) => void,
  ) {}

  /** Store a dead letter. */
  async send(letter: DeadLetter): Promise<void> {
    const res = stmt(
      this.db,
      `INSERT INTO dead_letters (received_at, code, reason, topic, client_id, tenant, payload, rejected)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      letter.receivedAt,
      letter.code,
      letter.reason,
      letter.topic ?? null,
      letter.clientId ?? null,
      letter.tenant ?? null,
      Buffer.from(letter.payloadBase64, 'base64'),
      letter.rejected ? JSON.stringify(letter.rejected) : null,
    );
    try {
      this.onLetter?.({ ...letter, id: Number(res.lastInsertRowid) });
    } catch {
      // printing must never fail a write
    }
  }

  /** Dead letters, oldest first, optionally of one status and/or tenant. */
  list(opts: { status?: DeadLetterStatus; tenant?: string; limit: number; cursor?: string }): {
    items: StoredDeadLetter[];
    next?: string;
  } {
    const limit = clampLimit(opts.limit);
    const after = decodeCursor(opts.cursor, { i: 'n' })?.i ?? 0;
    const where = ['id > @after'];
    const params: Record<string, string | number> = { after, lim: limit + 1 };
    if (opts.status !== undefined) {
      where.push('status = @status');
      params.status = opts.status;
    }
    if (opts.tenant !== undefined) {
      where.push('tenant = @tenant');
      params.tenant = opts.tenant;
    }
    const rows = stmt(
      this.db,
      `SELECT * FROM dead_letters WHERE ${where.join(' AND ')} ORDER BY id LIMIT @lim`,
    ).all(params) as Row[];
    const items = rows.slice(0, limit).map(toLetter);
    const last = rows[limit - 1];
    return rows.length > limit && last ? { items, next: encodeCursor({ i: last.id }) } : { items };
  }

  /** One dead letter by id. */
  get(id: number): StoredDeadLetter | undefined {
    const row = stmt(this.db, 'SELECT * FROM dead_letters WHERE id = ?').get(id) as Row | undefined;
    return row ? toLetter(row) : undefined;
  }

  /** Count by status (for the console summary and health checks). */
  counts(): Record<DeadLetterStatus, number> {
    const out: Record<DeadLetterStatus, number> = { pending: 0, replayed: 0, discarded: 0 };
    const rows = stmt(this.db, 'SELECT status, count(*) AS n FROM dead_letters GROUP BY status').all() as {
      status: DeadLetterStatus;
      n: number;
    }[];
    for (const r of rows) out[r.status] = r.n;
    return out;
  }

  /** Record a replay attempt; `succeeded` marks the letter replayed. */
  markReplayed(id: number, at: number, succeeded: boolean): void {
    stmt(
      this.db,
      `UPDATE dead_letters SET replays = replays + 1, replayed_at = ?,
         status = CASE WHEN ? THEN 'replayed' ELSE status END WHERE id = ?`,
    ).run(at, succeeded ? 1 : 0, id);
  }

  /** Mark a letter discarded (kept for audit, no longer pending). */
  discard(id: number): boolean {
    return stmt(this.db, `UPDATE dead_letters SET status = 'discarded' WHERE id = ?`).run(id).changes > 0;
  }
}
