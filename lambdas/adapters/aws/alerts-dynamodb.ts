/**
 * Alert rules, states and history on DynamoDB (key schemas: lambdas/core/alerts/deployment.ts).
 *
 * - Every write of a rule or a state is conditional on the version the writer read
 *   (`attribute_not_exists(pk)` for a create, `version = :expected` otherwise), so concurrent
 *   evaluators in different Lambdas cannot both apply a transition: the loser gets `false`, re-reads
 *   and re-evaluates.
 * - The ingest path reads all states of a device with one strongly consistent Query.
 * - Records are stored as JSON text next to the key and index attributes: the shapes are the core's,
 *   never reinterpreted by the marshaller.
 * - Alert history keeps acknowledgements in their own attribute, written only by `acknowledge`
 *   (first one wins), so an evaluator's `save` can never undo one.
 * - Cursors are base64url JSON of the last key, checked against the caller's partition before use, so
 *   a cursor can never open another tenant's items.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { ALERT_RULES_KEYS, ALERTS_KEYS, DUE_SHARDS } from '../../core/alerts/deployment.js';
import type { AlertStateRecord } from '../../core/alerts/episode.js';
import type { AlertRecord } from '../../core/alerts/records.js';
import type { AlertRule, ConditionOp } from '../../core/alerts/rule.js';
import { FleetwireError } from '../../core/errors.js';
import type {
  AlertHistory,
  AlertQuery,
  AlertRuleStore,
  AlertStatePage,
  AlertStateStore,
} from '../../ports/alerts.js';

type Item = Record<string, unknown>;

function docClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

function isConditionFailure(e: unknown): boolean {
  return (e as { name?: string } | null)?.name === 'ConditionalCheckFailedException';
}

/**
 * Put `item` only if its stored `version` equals `expectedVersion` (0: only if absent), so concurrent
 * writers cannot both win. Returns false when the condition failed.
 */
async function putVersioned(
  doc: DynamoDBDocumentClient,
  table: string,
  partitionKey: string,
  item: Record<string, unknown>,
  expectedVersion: number,
): Promise<boolean> {
  try {
    await doc.send(
      new PutCommand({
        TableName: table,
        Item: item,
        ...(expectedVersion === 0
          ? {
              ConditionExpression: 'attribute_not_exists(#pk)',
              ExpressionAttributeNames: { '#pk': partitionKey },
            }
          : {
              ConditionExpression: '#v = :v',
              ExpressionAttributeNames: { '#v': 'version' },
              ExpressionAttributeValues: { ':v': expectedVersion },
            }),
      }),
    );
    return true;
  } catch (e) {
    if (isConditionFailure(e)) return false;
    throw e;
  }
}

/** A cursor that does not belong to this query. */
function badCursor(): FleetwireError {
  return new FleetwireError('INVALID_CURSOR', 'Cursor is not valid for this query');
}

/** Encode a last-evaluated key as an opaque cursor. */
function encodeKey(key: Item): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/** Decode a cursor into a start key whose attributes are exactly `names`, strings, with `pk` pinned. */
function decodeKey(cursor: string | undefined, names: readonly string[], pin: Item): Item | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  if (cursor.length > 2048 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw badCursor();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw badCursor();
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw badCursor();
  const obj = parsed as Item;
  const keys = Object.keys(obj);
  if (
    keys.length !== names.length ||
    !names.every((n) => typeof obj[n] === 'string' && (obj[n] as string).length <= 1024)
  ) {
    throw badCursor();
  }
  for (const [k, v] of Object.entries(pin)) if (obj[k] !== v) throw badCursor();
  const out: Item = {};
  for (const n of names) out[n] = obj[n];
  return out;
}

const K = ALERTS_KEYS;
const statePk = (tenant: string, device: string) => `S#${tenant}#${device}`;
const rulePk = (tenant: string, ruleId: string) => `R#${tenant}#${ruleId}`;
const historyPk = (tenant: string) => `H#${tenant}`;

/** Shard of the `due` index for a state (stable per state). */
function dueShard(pk: string, sk: string): string {
  let h = 0;
  const s = `${pk}\u0000${sk}`;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0;
  return `DUE#${Math.abs(h) % DUE_SHARDS}`;
}

// ------------------------------------------------------------------ rules

/** Options of {@link DynamoDbAlertRuleStore}. */
export interface DynamoDbAlertRuleOptions {
  readonly table: string;
}

/** Alert rules on DynamoDB. */
export class DynamoDbAlertRuleStore implements AlertRuleStore {
  private readonly doc: DynamoDBDocumentClient;
  constructor(
    client: DynamoDBClient,
    private readonly opts: DynamoDbAlertRuleOptions,
  ) {
    this.doc = docClient(client);
  }

  async list(tenant: string): Promise<AlertRule[]> {
    const out: AlertRule[] = [];
    let start: Item | undefined;
    do {
      const res = await this.doc.send(
        new QueryCommand({
          TableName: this.opts.table,
          KeyConditionExpression: '#t = :t',
          ExpressionAttributeNames: { '#t': ALERT_RULES_KEYS.partitionKey },
          ExpressionAttributeValues: { ':t': tenant },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const it of res.Items ?? []) out.push(JSON.parse(String(it.record)) as AlertRule);
      start = res.LastEvaluatedKey;
    } while (start);
    return out;
  }

  async get(tenant: string, id: string): Promise<AlertRule | undefined> {
    const res = await this.doc.send(
      new GetCommand({
        TableName: this.opts.table,
        Key: { [ALERT_RULES_KEYS.partitionKey]: tenant, [ALERT_RULES_KEYS.sortKey]: id },
        ConsistentRead: true,
      }),
    );
    return res.Item ? (JSON.parse(String(res.Item.record)) as AlertRule) : undefined;
  }

  async put(rule: AlertRule, expectedVersion: number): Promise<boolean> {
    return putVersioned(
      this.doc,
      this.opts.table,
      ALERT_RULES_KEYS.partitionKey,
      {
        [ALERT_RULES_KEYS.partitionKey]: rule.tenant,
        [ALERT_RULES_KEYS.sortKey]: rule.id,
        op: rule.condition.op,
        enabled: rule.enabled,
        version: rule.version,
        record: JSON.stringify(rule),
      },
      expectedVersion,
    );
  }

  async delete(tenant: string, id: string): Promise<boolean> {
    const res = await this.doc.send(
      new DeleteCommand({
        TableName: this.opts.table,
        Key: { [ALERT_RULES_KEYS.partitionKey]: tenant, [ALERT_RULES_KEYS.sortKey]: id },
        ReturnValues: 'ALL_OLD',
      }),
    );
    return res.Attributes !== undefined;
  }

  async listEnabledByOp(ops: readonly ConditionOp[]): Promise<AlertRule[]> {
    if (ops.length === 0) return [];
    const values: Item = { ':on': true };
    ops.forEach((op, i) => {
      values[`:o${i}`] = op;
    });
    const out: AlertRule[] = [];
    let start: Item | undefined;
    do {
      const res = await this.doc.send(
        new ScanCommand({
          TableName: this.opts.table,
          FilterExpression: `#en = :on AND #op IN (${ops.map((_, i) => `:o${i}`).join(', ')})`,
          ExpressionAttributeNames: { '#en': 'enabled', '#op': 'op' },
          ExpressionAttributeValues: values,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const it of res.Items ?? []) out.push(JSON.parse(String(it.record)) as AlertRule);
      start = res.LastEvaluatedKey;
    } while (start);
    return out;
  }
}

// ------------------------------------------------------------------ states

/** Options of {@link DynamoDbAlertStateStore}. */
export interface DynamoDbAlertTableOptions {
  readonly table: string;
}

function stateOf(item: Item): AlertStateRecord {
  return JSON.parse(String(item.record)) as AlertStateRecord;
}

/** Per-(rule, device) alert states on DynamoDB with conditional writes. */
export class DynamoDbAlertStateStore implements AlertStateStore {
  private readonly doc: DynamoDBDocumentClient;
  constructor(
    client: DynamoDBClient,
    private readonly opts: DynamoDbAlertTableOptions,
  ) {
    this.doc = docClient(client);
  }

  async listForDevice(tenant: string, deviceId: string): Promise<AlertStateRecord[]> {
    const out: AlertStateRecord[] = [];
    let start: Item | undefined;
    do {
      const res = await this.doc.send(
        new QueryCommand({
          TableName: this.opts.table,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': K.partitionKey },
          ExpressionAttributeValues: { ':pk': statePk(tenant, deviceId) },
          ConsistentRead: true,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      for (const it of res.Items ?? []) out.push(stateOf(it));
      start = res.LastEvaluatedKey;
    } while (start);
    return out;
  }

  async listForRule(
    tenant: string,
    ruleId: string,
    opts: { limit: number; cursor?: string },
  ): Promise<AlertStatePage> {
    const gpk = rulePk(tenant, ruleId);
    const start = decodeKey(opts.cursor, [K.partitionKey, K.sortKey, K.byRulePartition, K.byRuleSort], {
      [K.byRulePartition]: gpk,
    });
    const res = await this.doc.send(
      new QueryCommand({
        TableName: this.opts.table,
        IndexName: K.byRuleIndex,
        KeyConditionExpression: '#g = :g',
        ExpressionAttributeNames: { '#g': K.byRulePartition },
        ExpressionAttributeValues: { ':g': gpk },
        Limit: Math.min(1000, Math.max(1, Math.floor(opts.limit))),
        ...(start ? { ExclusiveStartKey: start } : {}),
      }),
    );
    const items = (res.Items ?? []).map(stateOf);
    return res.LastEvaluatedKey ? { items, next: encodeKey(res.LastEvaluatedKey) } : { items };
  }

  async get(tenant: string, ruleId: string, deviceId: string): Promise<AlertStateRecord | undefined> {
    const res = await this.doc.send(
      new GetCommand({
        TableName: this.opts.table,
        Key: { pk: statePk(tenant, deviceId), sk: ruleId },
        ConsistentRead: true,
      }),
    );
    return res.Item ? stateOf(res.Item) : undefined;
  }

  async put(state: AlertStateRecord, expectedVersion: number): Promise<boolean> {
    if (state.version !== expectedVersion + 1) {
      throw new Error(`state version ${state.version} must be expectedVersion + 1 (${expectedVersion + 1})`);
    }
    const pk = statePk(state.tenant, state.deviceId);
    const item: Item = {
      pk,
      sk: state.ruleId,
      [K.byRulePartition]: rulePk(state.tenant, state.ruleId),
      [K.byRuleSort]: state.deviceId,
      version: state.version,
      record: JSON.stringify(state),
    };
    if (state.dueAt !== undefined) {
      item[K.duePartition] = dueShard(pk, state.ruleId);
      item[K.dueSort] = state.dueAt;
    }
    return putVersioned(this.doc, this.opts.table, K.partitionKey, item, expectedVersion);
  }

  async delete(tenant: string, ruleId: string, deviceId: string): Promise<void> {
    await this.doc.send(
      new DeleteCommand({ TableName: this.opts.table, Key: { pk: statePk(tenant, deviceId), sk: ruleId } }),
    );
  }

  async listDue(now: number, limit: number): Promise<AlertStateRecord[]> {
    const per = Math.min(1000, Math.max(1, Math.floor(limit)));
    const shards = await Promise.all(
      Array.from({ length: DUE_SHARDS }, (_, i) =>
        this.doc.send(
          new QueryCommand({
            TableName: this.opts.table,
            IndexName: K.dueIndex,
            KeyConditionExpression: '#p = :p AND #d <= :now',
            ExpressionAttributeNames: { '#p': K.duePartition, '#d': K.dueSort },
            ExpressionAttributeValues: { ':p': `DUE#${i}`, ':now': now },
            Limit: per,
          }),
        ),
      ),
    );
    return shards
      .flatMap((r) => r.Items ?? [])
      .sort((a, b) => Number(a[K.dueSort]) - Number(b[K.dueSort]))
      .slice(0, per)
      .map(stateOf);
  }
}

// ------------------------------------------------------------------ history

/** Options of {@link DynamoDbAlertHistory}. */
export interface DynamoDbAlertHistoryOptions {
  readonly table: string;
  /** Days a resolved alert is kept before TTL removes it. @default 365 */
  readonly retentionDays?: number;
}

/** Sort-key bound of alerts whose episode started at `ms` (ids begin with the start in base 36). */
function idBound(ms: number): string {
  return `al${Math.max(0, Math.floor(ms)).toString(36).padStart(9, '0')}`;
}

function recordOf(item: Item): AlertRecord {
  const rec = JSON.parse(String(item.record)) as AlertRecord;
  if (typeof item.ack === 'string')
    rec.acknowledged = JSON.parse(item.ack) as NonNullable<AlertRecord['acknowledged']>;
  else delete rec.acknowledged;
  return rec;
}

/** At most this many pages are read to fill one filtered page (the rest continues from the cursor). */
const MAX_PAGES_PER_CALL = 20;

/** Alert history on DynamoDB. */
export class DynamoDbAlertHistory implements AlertHistory {
  private readonly doc: DynamoDBDocumentClient;
  private readonly retentionMs: number;
  constructor(
    client: DynamoDBClient,
    private readonly opts: DynamoDbAlertHistoryOptions,
  ) {
    this.doc = docClient(client);
    this.retentionMs = (opts.retentionDays ?? 365) * 86_400_000;
  }

  async save(record: AlertRecord): Promise<void> {
    const { acknowledged: _ack, ...rest } = record;
    const active = record.status === 'FIRING';
    const names: Record<string, string> = {
      '#rec': 'record',
      '#st': 'status',
      '#dev': 'device',
      '#rid': 'ruleId',
      '#sev': 'severity',
      '#sa': 'startedAt',
      '#ap': K.activePartition,
      '#ttl': K.ttl,
    };
    const values: Item = {
      ':r': JSON.stringify(rest),
      ':st': record.status,
      ':d': record.device,
      ':ru': record.ruleId,
      ':sv': record.severity,
      ':sa': Date.parse(record.startedAt),
    };
    let set = 'SET #rec = :r, #st = :st, #dev = :d, #rid = :ru, #sev = :sv, #sa = :sa';
    const remove: string[] = [];
    if (active) {
      set += ', #ap = :ap';
      values[':ap'] = historyPk(record.tenant);
      remove.push('#ttl');
    } else {
      remove.push('#ap');
      const resolved = record.resolvedAt ? Date.parse(record.resolvedAt) : Date.parse(record.updatedAt);
      set += ', #ttl = :ttl';
      values[':ttl'] = Math.floor((resolved + this.retentionMs) / 1000);
    }
    await this.doc.send(
      new UpdateCommand({
        TableName: this.opts.table,
        Key: { pk: historyPk(record.tenant), sk: record.id },
        UpdateExpression: remove.length > 0 ? `${set} REMOVE ${remove.join(', ')}` : set,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
  }

  async get(tenant: string, id: string): Promise<AlertRecord | undefined> {
    const res = await this.doc.send(
      new GetCommand({
        TableName: this.opts.table,
        Key: { pk: historyPk(tenant), sk: id },
        ConsistentRead: true,
      }),
    );
    return res.Item ? recordOf(res.Item) : undefined;
  }

  async list(tenant: string, q: AlertQuery): Promise<{ items: AlertRecord[]; next?: string }> {
    const limit = Math.min(1000, Math.max(1, Math.floor(q.limit)));
    const pk = historyPk(tenant);
    const activeOnly = q.status === 'active';
    const keyNames = activeOnly ? ['pk', 'sk', K.activePartition] : ['pk', 'sk'];
    let start = decodeKey(q.cursor, keyNames, { pk });

    const names: Record<string, string> = { '#p': activeOnly ? K.activePartition : K.partitionKey };
    const values: Item = { ':p': pk };
    let keyCond = '#p = :p';
    if (q.from !== undefined || q.to !== undefined) names['#sk'] = K.sortKey;
    if (q.from !== undefined && q.to !== undefined) {
      keyCond += ' AND #sk BETWEEN :lo AND :hi';
      values[':lo'] = idBound(q.from);
      // BETWEEN is inclusive: the bound itself is shorter than any id, so ids of episodes that
      // started exactly at `to` sort after it and are excluded.
      values[':hi'] = idBound(q.to);
    } else if (q.from !== undefined) {
      keyCond += ' AND #sk >= :lo';
      values[':lo'] = idBound(q.from);
    } else if (q.to !== undefined) {
      keyCond += ' AND #sk < :hi';
      values[':hi'] = idBound(q.to);
    }
    const filters: string[] = [];
    if (q.status === 'resolved') {
      filters.push('#st = :st');
      names['#st'] = 'status';
      values[':st'] = 'RESOLVED';
    }
    if (q.deviceId !== undefined) {
      filters.push('#dev = :d');
      names['#dev'] = 'device';
      values[':d'] = q.deviceId;
    }
    if (q.ruleId !== undefined) {
      filters.push('#rid = :ru');
      names['#rid'] = 'ruleId';
      values[':ru'] = q.ruleId;
    }
    if (q.severity !== undefined) {
      filters.push('#sev = :sv');
      names['#sev'] = 'severity';
      values[':sv'] = q.severity;
    }

    const items: Item[] = [];
    let last: Item | undefined;
    for (let page = 0; page < MAX_PAGES_PER_CALL; page++) {
      const input: QueryCommandInput = {
        TableName: this.opts.table,
        KeyConditionExpression: keyCond,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ScanIndexForward: false,
        Limit: limit + 1,
        ...(activeOnly ? { IndexName: K.activeIndex } : { ConsistentRead: true }),
        ...(filters.length > 0 ? { FilterExpression: filters.join(' AND ') } : {}),
        ...(start ? { ExclusiveStartKey: start } : {}),
      };
      const res = await this.doc.send(new QueryCommand(input));
      items.push(...(res.Items ?? []));
      last = res.LastEvaluatedKey;
      if (items.length > limit || !last) break;
      start = last;
    }
    const kept = items.slice(0, limit);
    const keyOf = (it: Item): Item => {
      const key: Item = { pk: it.pk, sk: it.sk };
      if (activeOnly) key[K.activePartition] = it[K.activePartition];
      return key;
    };
    const tail = kept[kept.length - 1];
    const more = items.length > limit || last !== undefined;
    const out: { items: AlertRecord[]; next?: string } = { items: kept.map(recordOf) };
    if (more) {
      if (tail) out.next = encodeKey(keyOf(tail));
      else if (last) out.next = encodeKey(last);
    }
    return out;
  }

  async acknowledge(tenant: string, id: string, by: string, at: string): Promise<AlertRecord | undefined> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.opts.table,
          Key: { pk: historyPk(tenant), sk: id },
          UpdateExpression: 'SET #ack = :a',
          ConditionExpression: 'attribute_exists(#pk) AND attribute_not_exists(#ack)',
          ExpressionAttributeNames: { '#ack': 'ack', '#pk': K.partitionKey },
          ExpressionAttributeValues: { ':a': JSON.stringify({ by, at }) },
        }),
      );
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
    }
    return this.get(tenant, id);
  }
}
