/**
 * Alert rules, per-(rule, device) states and alert history on the local stack's SQLite database.
 *
 * The alert tables are created here ({@link ensureAlertSchema}, idempotent, versioned with the
 * `alerts_schema_version` meta key) rather than in the shared migration list, so alerting can evolve
 * its tables on its own. Conditional state writes are single statements (`INSERT … ON CONFLICT DO
 * NOTHING` for a create, `UPDATE … WHERE version = ?` for an update): SQLite applies each atomically,
 * so two evaluators sharing the file cannot both win.
 */
import type { AlertStateRecord } from '../../core/alerts/episode.js';
import type { AlertRecord } from '../../core/alerts/records.js';
import type { AlertRule, ConditionOp } from '../../core/alerts/rule.js';
import type {
  AlertHistory,
  AlertQuery,
  AlertRuleStore,
  AlertStatePage,
  AlertStateStore,
} from '../../ports/alerts.js';
import { clampLimit, decodeCursor, encodeCursor } from './cursor.js';
import { type Db, stmt } from './sqlite.js';

/** Schema steps of the alert tables; index + 1 is the version each produces. Append only. */
const ALERT_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE IF NOT EXISTS alert_rules (
    tenant  TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    op      TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    version INTEGER NOT NULL,
    record  TEXT NOT NULL,
    PRIMARY KEY (tenant, rule_id)
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS alert_rules_by_op ON alert_rules (op, enabled);

  CREATE TABLE IF NOT EXISTS alert_states (
    tenant    TEXT NOT NULL,
    device_id TEXT NOT NULL,
    rule_id   TEXT NOT NULL,
    version   INTEGER NOT NULL,
    due_at    INTEGER,
    record    TEXT NOT NULL,
    PRIMARY KEY (tenant, device_id, rule_id)
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS alert_states_by_rule ON alert_states (tenant, rule_id, device_id);
  CREATE INDEX IF NOT EXISTS alert_states_due ON alert_states (due_at) WHERE due_at IS NOT NULL;

  CREATE TABLE IF NOT EXISTS alert_history (
    tenant     TEXT NOT NULL,
    alert_id   TEXT NOT NULL,
    rule_id    TEXT NOT NULL,
    device_id  TEXT NOT NULL,
    severity   TEXT NOT NULL,
    status     TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    record     TEXT NOT NULL,
    ack        TEXT,
    PRIMARY KEY (tenant, alert_id)
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS alert_history_by_time ON alert_history (tenant, started_at, alert_id);
  CREATE INDEX IF NOT EXISTS alert_history_active ON alert_history (tenant, status, started_at);
  `,
];

const VERSION_KEY = 'alerts_schema_version';

/** Create or upgrade the alert tables (safe to call on every start). */
export function ensureAlertSchema(db: Db): void {
  db.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID');
  const upgrade = db.transaction(() => {
    const row = db.prepare('SELECT value FROM meta WHERE key = ?').get(VERSION_KEY) as
      | { value: string }
      | undefined;
    const current = row ? Number(row.value) : 0;
    if (current > ALERT_MIGRATIONS.length) {
      throw new Error(`alert schema version ${current} is newer than this build supports; upgrade Fleetwire`);
    }
    for (let v = current; v < ALERT_MIGRATIONS.length; v++) db.exec(ALERT_MIGRATIONS[v] as string);
    db.prepare(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
    ).run(VERSION_KEY, String(ALERT_MIGRATIONS.length));
  });
  upgrade.immediate();
}

/** Alert rules on SQLite. */
export class SqliteAlertRuleStore implements AlertRuleStore {
  constructor(private readonly db: Db) {
    ensureAlertSchema(db);
  }

  async list(tenant: string): Promise<AlertRule[]> {
    const rows = stmt(this.db, 'SELECT record FROM alert_rules WHERE tenant = ? ORDER BY rule_id').all(
      tenant,
    ) as {
      record: string;
    }[];
    return rows.map((r) => JSON.parse(r.record) as AlertRule);
  }

  async get(tenant: string, id: string): Promise<AlertRule | undefined> {
    const row = stmt(this.db, 'SELECT record FROM alert_rules WHERE tenant = ? AND rule_id = ?').get(
      tenant,
      id,
    ) as { record: string } | undefined;
    return row ? (JSON.parse(row.record) as AlertRule) : undefined;
  }

  async put(rule: AlertRule, expectedVersion: number): Promise<boolean> {
    const params = {
      tenant: rule.tenant,
      id: rule.id,
      op: rule.condition.op,
      enabled: rule.enabled ? 1 : 0,
      version: rule.version,
      record: JSON.stringify(rule),
      expected: expectedVersion,
    };
    const r =
      expectedVersion === 0
        ? stmt(
            this.db,
            `INSERT INTO alert_rules (tenant, rule_id, op, enabled, version, record)
               VALUES (@tenant, @id, @op, @enabled, @version, @record) ON CONFLICT DO NOTHING`,
          ).run(params)
        : stmt(
            this.db,
            `UPDATE alert_rules SET op = @op, enabled = @enabled, version = @version, record = @record
               WHERE tenant = @tenant AND rule_id = @id AND version = @expected`,
          ).run(params);
    return r.changes === 1;
  }

  async delete(tenant: string, id: string): Promise<boolean> {
    return (
      stmt(this.db, 'DELETE FROM alert_rules WHERE tenant = ? AND rule_id = ?').run(tenant, id).changes === 1
    );
  }

  async listEnabledByOp(ops: readonly ConditionOp[]): Promise<AlertRule[]> {
    if (ops.length === 0) return [];
    const marks = ops.map(() => '?').join(', ');
    const rows = stmt(
      this.db,
      `SELECT record FROM alert_rules WHERE enabled = 1 AND op IN (${marks}) ORDER BY tenant, rule_id`,
    ).all(...ops) as { record: string }[];
    return rows.map((r) => JSON.parse(r.record) as AlertRule);
  }
}

/** Per-(rule, device) alert states on SQLite. */
export class SqliteAlertStateStore implements AlertStateStore {
  constructor(private readonly db: Db) {
    ensureAlertSchema(db);
  }

  async listForDevice(tenant: string, deviceId: string): Promise<AlertStateRecord[]> {
    const rows = stmt(
      this.db,
      'SELECT record FROM alert_states WHERE tenant = ? AND device_id = ? ORDER BY rule_id',
    ).all(tenant, deviceId) as { record: string }[];
    return rows.map((r) => JSON.parse(r.record) as AlertStateRecord);
  }

  async listForRule(
    tenant: string,
    ruleId: string,
    opts: { limit: number; cursor?: string },
  ): Promise<AlertStatePage> {
    const limit = clampLimit(opts.limit);
    const pos = decodeCursor(opts.cursor, { d: 's' });
    const rows = stmt(
      this.db,
      `SELECT device_id, record FROM alert_states WHERE tenant = ? AND rule_id = ? AND device_id > ?
         ORDER BY device_id LIMIT ?`,
    ).all(tenant, ruleId, pos ? pos.d : '', limit + 1) as { device_id: string; record: string }[];
    const items = rows.slice(0, limit).map((r) => JSON.parse(r.record) as AlertStateRecord);
    const last = rows[limit - 1];
    return rows.length > limit && last ? { items, next: encodeCursor({ d: last.device_id }) } : { items };
  }

  async get(tenant: string, ruleId: string, deviceId: string): Promise<AlertStateRecord | undefined> {
    const row = stmt(
      this.db,
      'SELECT record FROM alert_states WHERE tenant = ? AND device_id = ? AND rule_id = ?',
    ).get(tenant, deviceId, ruleId) as { record: string } | undefined;
    return row ? (JSON.parse(row.record) as AlertStateRecord) : undefined;
  }

  async put(state: AlertStateRecord, expectedVersion: number): Promise<boolean> {
    if (state.version !== expectedVersion + 1) {
      throw new Error(`state version ${state.version} must be expectedVersion + 1 (${expectedVersion + 1})`);
    }
    const params = {
      tenant: state.tenant,
      device: state.deviceId,
      rule: state.ruleId,
      version: state.version,
      due: state.dueAt ?? null,
      record: JSON.stringify(state),
      expected: expectedVersion,
    };
    const r =
      expectedVersion === 0
        ? stmt(
            this.db,
            `INSERT INTO alert_states (tenant, device_id, rule_id, version, due_at, record)
               VALUES (@tenant, @device, @rule, @version, @due, @record) ON CONFLICT DO NOTHING`,
          ).run(params)
        : stmt(
            this.db,
            `UPDATE alert_states SET version = @version, due_at = @due, record = @record
               WHERE tenant = @tenant AND device_id = @device AND rule_id = @rule AND version = @expected`,
          ).run(params);
    return r.changes === 1;
  }

  async delete(tenant: string, ruleId: string, deviceId: string): Promise<void> {
    stmt(this.db, 'DELETE FROM alert_states WHERE tenant = ? AND device_id = ? AND rule_id = ?').run(
      tenant,
      deviceId,
      ruleId,
    );
  }

  async listDue(now: number, limit: number): Promise<AlertStateRecord[]> {
    const rows = stmt(
      this.db,
      'SELECT record FROM alert_states WHERE due_at IS NOT NULL AND due_at <= ? ORDER BY due_at LIMIT ?',
    ).all(now, clampLimit(limit, 10_000)) as { record: string }[];
    return rows.map((r) => JSON.parse(r.record) as AlertStateRecord);
  }
}

interface HistoryRow {
  alert_id: string;
  started_at: number;
  record: string;
  ack: string | null;
}

function toRecord(r: HistoryRow): AlertRecord {
  const rec = JSON.parse(r.record) as AlertRecord;
  if (r.ack !== null) rec.acknowledged = JSON.parse(r.ack) as NonNullable<AlertRecord['acknowledged']>;
  else delete rec.acknowledged;
  return rec;
}

/** Alert history on SQLite. */
export class SqliteAlertHistory implements AlertHistory {
  constructor(private readonly db: Db) {
    ensureAlertSchema(db);
  }

  async save(record: AlertRecord): Promise<void> {
    const { acknowledged: _ack, ...rest } = record;
    stmt(
      this.db,
      `INSERT INTO alert_history (tenant, alert_id, rule_id, device_id, severity, status, started_at, record)
         VALUES (@tenant, @id, @rule, @device, @severity, @status, @started, @record)
         ON CONFLICT (tenant, alert_id) DO UPDATE SET
           rule_id = excluded.rule_id, device_id = excluded.device_id, severity = excluded.severity,
           status = excluded.status, started_at = excluded.started_at, record = excluded.record`,
    ).run({
      tenant: record.tenant,
      id: record.id,
      rule: record.ruleId,
      device: record.device,
      severity: record.severity,
      status: record.status,
      started: Date.parse(record.startedAt),
      record: JSON.stringify(rest),
    });
  }

  async get(tenant: string, id: string): Promise<AlertRecord | undefined> {
    const row = stmt(
      this.db,
      'SELECT alert_id, started_at, record, ack FROM alert_history WHERE tenant = ? AND alert_id = ?',
    ).get(tenant, id) as HistoryRow | undefined;
    return row ? toRecord(row) : undefined;
  }

  async list(tenant: string, q: AlertQuery): Promise<{ items: AlertRecord[]; next?: string }> {
    const limit = clampLimit(q.limit);
    const pos = decodeCursor(q.cursor, { s: 'n', i: 's' });
    const where = ['tenant = @tenant'];
    const params: Record<string, string | number> = { tenant, lim: limit + 1 };
    if (q.status === 'active') where.push("status = 'FIRING'");
    else if (q.status === 'resolved') where.push("status = 'RESOLVED'");
    if (q.deviceId !== undefined) {
      where.push('device_id = @device');
      params.device = q.deviceId;
    }
    if (q.ruleId !== undefined) {
      where.push('rule_id = @rule');
      params.rule = q.ruleId;
    }
    if (q.severity !== undefined) {
      where.push('severity = @severity');
      params.severity = q.severity;
    }
    if (q.from !== undefined) {
      where.push('started_at >= @from');
      params.from = q.from;
    }
    if (q.to !== undefined) {
      where.push('started_at < @to');
      params.to = q.to;
    }
    if (pos) {
      where.push('(started_at < @s OR (started_at = @s AND alert_id < @i))');
      params.s = pos.s;
      params.i = pos.i;
    }
    const rows = stmt(
      this.db,
      `SELECT alert_id, started_at, record, ack FROM alert_history WHERE ${where.join(' AND ')}
         ORDER BY started_at DESC, alert_id DESC LIMIT @lim`,
    ).all(params) as HistoryRow[];
    const items = rows.slice(0, limit).map(toRecord);
    const last = rows[limit - 1];
    return rows.length > limit && last
      ? { items, next: encodeCursor({ s: last.started_at, i: last.alert_id }) }
      : { items };
  }

  async acknowledge(tenant: string, id: string, by: string, at: string): Promise<AlertRecord | undefined> {
    stmt(this.db, 'UPDATE alert_history SET ack = ? WHERE tenant = ? AND alert_id = ? AND ack IS NULL').run(
      JSON.stringify({ by, at }),
      tenant,
      id,
    );
    return this.get(tenant, id);
  }
}
