/**
 * {@link FileCatalog} on the embedded SQLite database: file metadata per tenant, newest first.
 */
import type { FileCatalog, FileKind, FileRecord } from '../../ports/file-catalog.js';
import { clampLimit, decodeCursor, encodeCursor } from './cursor.js';
import { AlreadyExistsError, isUniqueViolation, NotFoundError } from './errors.js';
import { type Db, stmt } from './sqlite.js';

interface Row {
  record: string;
  created_at: number;
  file_id: string;
}

/** File catalog on SQLite. */
export class SqliteFileCatalog implements FileCatalog {
  constructor(private readonly db: Db) {}

  /** Create a record; {@link AlreadyExistsError} (`FILE_EXISTS`) when the id is taken in the tenant. */
  async create(record: FileRecord): Promise<void> {
    try {
      stmt(
        this.db,
        'INSERT INTO files (tenant, file_id, kind, created_at, record) VALUES (?, ?, ?, ?, ?)',
      ).run(record.tenant, record.fileId, record.kind, record.createdAt, JSON.stringify(record));
    } catch (e) {
      if (isUniqueViolation(e)) throw new AlreadyExistsError('FILE_EXISTS', `File "${record.fileId}" exists`);
      throw e;
    }
  }

  /** One file of a tenant. */
  async get(tenant: string, fileId: string): Promise<FileRecord | undefined> {
    const row = stmt(this.db, 'SELECT record FROM files WHERE tenant = ? AND file_id = ?').get(
      tenant,
      fileId,
    ) as Row | undefined;
    return row ? (JSON.parse(row.record) as FileRecord) : undefined;
  }

  /** A tenant's files, newest first, optionally of one kind. */
  async list(
    tenant: string,
    opts: { kind?: FileKind; limit: number; cursor?: string },
  ): Promise<{ items: FileRecord[]; next?: string }> {
    const limit = clampLimit(opts.limit);
    const pos = decodeCursor(opts.cursor, { c: 'n', i: 's' });
    const where = ['tenant = @tenant'];
    const params: Record<string, string | number> = { tenant, lim: limit + 1 };
    if (opts.kind !== undefined) {
      where.push('kind = @kind');
      params.kind = opts.kind;
    }
    if (pos) {
      where.push('(created_at < @c OR (created_at = @c AND file_id < @i))');
      params.c = pos.c;
      params.i = pos.i;
    }
    const rows = stmt(
      this.db,
      `SELECT record, created_at, file_id FROM files WHERE ${where.join(' AND ')}
         ORDER BY created_at DESC, file_id DESC LIMIT @lim`,
    ).all(params) as Row[];
    const items = rows.slice(0, limit).map((r) => JSON.parse(r.record) as FileRecord);
    const last = rows[limit - 1];
    return rows.length > limit && last
      ? { items, next: encodeCursor({ c: last.created_at, i: last.file_id }) }
      : { items };
  }

  /** Replace a record of the same tenant; {@link NotFoundError} (`FILE_NOT_FOUND`) otherwise. */
  async put(record: FileRecord): Promise<void> {
    const res = stmt(this.db, 'UPDATE files SET kind = ?, record = ? WHERE tenant = ? AND file_id = ?').run(
      record.kind,
      JSON.stringify(record),
      record.tenant,
      record.fileId,
    );
    if (res.changes === 0) throw new NotFoundError('FILE_NOT_FOUND', `File "${record.fileId}" not found`);
  }
}
