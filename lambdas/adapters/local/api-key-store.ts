/**
 * {@link ApiKeyStore} on the embedded SQLite database. Only the key hash is stored (see
 * lambdas/core/token.ts); the key itself is shown once to whoever created it.
 */
import type { ApiKeyRecord, ApiKeyStore, ApiRole } from '../../ports/api-keys.js';
import { clampLimit, decodeCursor, encodeCursor } from './cursor.js';
import { AlreadyExistsError, isUniqueViolation } from './errors.js';
import { type Db, stmt } from './sqlite.js';

interface Row {
  key_id: string;
  tenant: string;
  key_hash: string;
  role: ApiRole;
  name: string | null;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
}

function toRecord(r: Row): ApiKeyRecord {
  const rec: ApiKeyRecord = {
    tenant: r.tenant,
    keyId: r.key_id,
    keyHash: r.key_hash,
    role: r.role,
    createdAt: r.created_at,
  };
  if (r.name !== null) rec.name = r.name;
  if (r.expires_at !== null) rec.expiresAt = r.expires_at;
  if (r.revoked_at !== null) rec.revokedAt = r.revoked_at;
  return rec;
}

/** API keys on SQLite. */
export class SqliteApiKeyStore implements ApiKeyStore {
  constructor(private readonly db: Db) {}

  /** Store a key record; {@link AlreadyExistsError} (`API_KEY_EXISTS`) on a duplicate id. */
  async create(record: ApiKeyRecord): Promise<void> {
    try {
      stmt(
        this.db,
        `INSERT INTO api_keys (key_id, tenant, key_hash, role, name, created_at, expires_at, revoked_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        record.keyId,
        record.tenant,
        record.keyHash,
        record.role,
        record.name ?? null,
        record.createdAt,
        record.expiresAt ?? null,
        record.revokedAt ?? null,
      );
    } catch (e) {
      if (isUniqueViolation(e)) throw new AlreadyExistsError('API_KEY_EXISTS', 'API key id exists');
      throw e;
    }
  }

  /** A key by id, any tenant. */
  async getById(keyId: string): Promise<ApiKeyRecord | undefined> {
    const row = stmt(this.db, 'SELECT * FROM api_keys WHERE key_id = ?').get(keyId) as Row | undefined;
    return row ? toRecord(row) : undefined;
  }

  /** A tenant's keys by id. */
  async list(
    tenant: string,
    opts: { limit: number; cursor?: string },
  ): Promise<{ items: ApiKeyRecord[]; next?: string }> {
    const limit = clampLimit(opts.limit);
    const after = decodeCursor(opts.cursor, { k: 's' })?.k ?? '';
    const rows = stmt(
      this.db,
      'SELECT * FROM api_keys WHERE tenant = ? AND key_id > ? ORDER BY key_id LIMIT ?',
    ).all(tenant, after, limit + 1) as Row[];
    const items = rows.slice(0, limit).map(toRecord);
    const last = rows[limit - 1];
    return rows.length > limit && last ? { items, next: encodeCursor({ k: last.key_id }) } : { items };
  }

  /** Mark a key revoked (first revocation time wins). */
  async revoke(tenant: string, keyId: string, at: number): Promise<boolean> {
    const res = stmt(
      this.db,
      'UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE tenant = ? AND key_id = ?',
    ).run(at, tenant, keyId);
    return res.changes > 0;
  }
}
