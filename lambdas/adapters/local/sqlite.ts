/**
 * The local stack's embedded database: one SQLite file (better-sqlite3, WAL mode) holding telemetry,
 * the device registry, certificates, commands, files, API keys, system events and dead letters.
 * Every statement is prepared with bound parameters; no SQL is ever built from values.
 *
 * The schema is versioned with `PRAGMA user_version`; {@link openDatabase} applies missing migrations
 * in order inside a transaction, so a newer build opens an older file and keeps its data.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

/** A better-sqlite3 database handle. */
export type Db = Database.Database;

/** Schema migrations; index + 1 is the `user_version` each one produces. Append only. */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;

  -- One row per (point, field). vtype: n = number, s = string, b = boolean (stored in num as 0/1).
  CREATE TABLE telemetry (
    tenant TEXT NOT NULL,
    device TEXT NOT NULL,
    time   INTEGER NOT NULL,
    field  TEXT NOT NULL,
    vtype  TEXT NOT NULL CHECK (vtype IN ('n', 's', 'b')),
    num    REAL,
    str    TEXT,
    tags   TEXT,
    PRIMARY KEY (tenant, device, time, field)
  ) WITHOUT ROWID;

  -- Newest value of each field by event time, maintained on write so "latest" never scans history.
  CREATE TABLE telemetry_latest (
    tenant TEXT NOT NULL,
    device TEXT NOT NULL,
    field  TEXT NOT NULL,
    time   INTEGER NOT NULL,
    vtype  TEXT NOT NULL,
    num    REAL,
    str    TEXT,
    PRIMARY KEY (tenant, device, field)
  ) WITHOUT ROWID;

  CREATE TABLE devices (
    device_id  TEXT PRIMARY KEY,
    tenant     TEXT NOT NULL,
    status     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    record     TEXT NOT NULL
  );
  CREATE INDEX devices_by_tenant ON devices (tenant, device_id);

  CREATE TABLE certificates (
    fingerprint TEXT PRIMARY KEY,
    device_id   TEXT NOT NULL,
    tenant      TEXT,
    serial      TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
    issued_at   INTEGER NOT NULL,
    revoked_at  INTEGER,
    not_after   INTEGER NOT NULL,
    pem         TEXT NOT NULL
  );
  CREATE INDEX certificates_by_device ON certificates (device_id);

  CREATE TABLE commands (
    tenant     TEXT NOT NULL,
    command_id TEXT NOT NULL,
    device_id  TEXT NOT NULL,
    status     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    record     TEXT NOT NULL,
    PRIMARY KEY (tenant, command_id)
  );
  CREATE INDEX commands_by_time ON commands (tenant, created_at, command_id);
  CREATE INDEX commands_by_device ON commands (tenant, device_id, created_at, command_id);

  CREATE TABLE files (
    tenant     TEXT NOT NULL,
    file_id    TEXT NOT NULL,
    kind       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    record     TEXT NOT NULL,
    PRIMARY KEY (tenant, file_id)
  );
  CREATE INDEX files_by_time ON files (tenant, created_at, file_id);

  CREATE TABLE api_keys (
    key_id     TEXT PRIMARY KEY,
    tenant     TEXT NOT NULL,
    key_hash   TEXT NOT NULL,
    role       TEXT NOT NULL,
    name       TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    revoked_at INTEGER
  );
  CREATE INDEX api_keys_by_tenant ON api_keys (tenant, key_id);

  CREATE TABLE events (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    tenant   TEXT,
    device   TEXT,
    type     TEXT NOT NULL,
    code     TEXT NOT NULL,
    number   INTEGER,
    time     INTEGER NOT NULL,
    detail   TEXT NOT NULL
  );
  CREATE INDEX events_by_tenant ON events (tenant, seq);
  CREATE INDEX events_by_device ON events (tenant, device, seq);

  CREATE TABLE dead_letters (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at INTEGER NOT NULL,
    code        TEXT NOT NULL,
    reason      TEXT NOT NULL,
    topic       TEXT,
    client_id   TEXT,
    tenant      TEXT,
    payload     BLOB NOT NULL,
    rejected    TEXT,
    status      TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'replayed', 'discarded')),
    replays     INTEGER NOT NULL DEFAULT 0,
    replayed_at INTEGER
  );
  CREATE INDEX dead_letters_by_status ON dead_letters (status, id);
  `,
  // 2: command deadlines as a column, so the timeout sweep finds open commands past their deadline with
  // an index range scan (a partial index: finished commands, the vast majority, are not in it).
  `
  ALTER TABLE commands ADD COLUMN expires_at INTEGER;
  UPDATE commands SET expires_at = json_extract(record, '$.expiresAt');
  CREATE INDEX commands_open_by_expiry ON commands (expires_at, tenant, command_id)
    WHERE status IN ('QUEUED', 'SENT', 'ACKNOWLEDGED');
  `,
];

/** Options of {@link openDatabase}. */
export interface OpenDatabaseOptions {
  /** Open read-only (inspection tools). @default false */
  readonly?: boolean;
}

/**
 * Open (creating if needed) the database at `path` — `:memory:` for a throwaway one — in WAL mode with
 * a busy timeout, and bring its schema up to date.
 */
export function openDatabase(path: string, opts: OpenDatabaseOptions = {}): Db {
  if (path !== ':memory:' && !opts.readonly) mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path, { readonly: opts.readonly ?? false });
  // WAL: readers never block the writer, and a crash loses at most the last transaction.
  if (!opts.readonly) db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  // Telemetry of many devices lands on many B-tree pages at once: keep up to 64 MiB of them in memory
  // (the default 2 MiB made every batch re-read pages it had just written).
  db.pragma('cache_size = -65536');
  if (!opts.readonly) {
    // Checkpoint every ~40 MiB of WAL instead of every 4 MiB: a checkpoint syncs the database file and
    // stalls the (single-threaded) stack, and under ingest load the default ran one every few commits.
    // The WAL file is cut back to 64 MiB after each checkpoint, so it cannot grow without bound.
    db.pragma('wal_autocheckpoint = 10000');
    db.pragma('journal_size_limit = 67108864');
  }
  db.pragma('foreign_keys = ON');
  if (!opts.readonly) migrate(db);
  return db;
}

/** Apply the migrations the file has not seen yet. */
function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(
      `database schema version ${current} is newer than this build supports (${MIGRATIONS.length}); upgrade Fleetwire`,
    );
  }
  const apply = db.transaction(() => {
    for (let v = current; v < MIGRATIONS.length; v++) {
      db.exec(MIGRATIONS[v] as string);
      db.pragma(`user_version = ${v + 1}`);
    }
  });
  apply();
}

/** Read a value of the `meta` table. */
export function getMeta(db: Db, key: string): string | undefined {
  const row = db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
  return row?.value;
}

/** Write a value of the `meta` table. */
export function setMeta(db: Db, key: string, value: string): void {
  db.prepare(
    'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
  ).run(key, value);
}

const statementCache = new WeakMap<Db, Map<string, Database.Statement>>();
/** Most distinct statements kept prepared per database (dynamic `IN (…)` lists vary in length). */
const MAX_CACHED_STATEMENTS = 500;

/**
 * A prepared statement for `sql`, prepared once per database and reused: preparing costs more than
 * running a small statement, and the stores run the same few statements for every message.
 */
export function stmt(db: Db, sql: string): Database.Statement {
  let cache = statementCache.get(db);
  if (!cache) {
    cache = new Map();
    statementCache.set(db, cache);
  }
  let s = cache.get(sql);
  if (!s) {
    if (cache.size >= MAX_CACHED_STATEMENTS) cache.clear();
    s = db.prepare(sql);
    cache.set(sql, s);
  }
  return s;
}
