/**
 * The API's stores on one DynamoDB table ("API data", lib/api-construct.ts `ApiDataTable`): tracked
 * commands, the file catalog, API keys and the system-event log. Generic keys `pk`/`sk` with two generic
 * GSIs (`byDevice` on g1pk/g1sk, `byTenant` on g2pk/g2sk) keep it one table with one set of alarms and backups.
 *
 * | item    | pk                         | sk        | g1pk / g1sk                      | g2pk / g2sk          |
 * |---------|----------------------------|-----------|----------------------------------|----------------------|
 * | command | `CMD#<tenant>#<commandId>` | `#`       | `CMDD#<tenant>#<device>` / id    | `CMDT#<tenant>` / id |
 * | file    | `FILE#<tenant>#<fileId>`   | `#`       | —                                | `FILES#<tenant>` / id|
 * | API key | `KEY#<keyId>`              | `#`       | —                                | `KEYS#<tenant>` / id |
 * | event   | `EVT#<tenant>`             | eventId   | `EVTD#<tenant>#<device>` / id    | —                    |
 *
 * Every tenant-scoped read names the tenant in the key, so another tenant's object cannot be addressed.
 * Ids are time-ordered, so `ScanIndexForward: false` lists newest first. Command transitions are
 * conditional updates (`status IN from`), so duplicate or late acknowledgements never move a command back.
 * Cursors are the query's `LastEvaluatedKey`, checked on the way back in to name the same partition.
 */

import { randomBytes } from 'node:crypto';
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { FleetwireError } from '../../core/errors.js';
import type { ApiKeyRecord, ApiKeyStore } from '../../ports/api-keys.js';
import type { CommandRecord, CommandStatus, CommandStore } from '../../ports/commands.js';
import type { EventLog, LoggedEvent } from '../../ports/event-log.js';
import type { EventSink, SystemEvent } from '../../ports/event-sink.js';
import type { FileCatalog, FileKind, FileRecord } from '../../ports/file-catalog.js';

/** Key attribute and index names of the API data table (the CDK construct uses the same). */
export const API_TABLE_KEYS = Object.freeze({
  partitionKey: 'pk',
  sortKey: 'sk',
  deviceIndex: 'byDevice',
  deviceIndexPartitionKey: 'g1pk',
  deviceIndexSortKey: 'g1sk',
  tenantIndex: 'byTenant',
  tenantIndexPartitionKey: 'g2pk',
  tenantIndexSortKey: 'g2sk',
  /** Sparse index of open commands by deadline, for the timeout sweep. */
  expiryIndex: 'byExpiry',
  expiryIndexPartitionKey: 'xpk',
  expiryIndexSortKey: 'xsk',
  ttl: 'ttl',
} as const);

/** Shards of the expiry index, so command writes spread over several index partitions. */
export const EXPIRY_SHARDS = 8;

const K = API_TABLE_KEYS;
const FINAL = new Set<CommandStatus>(['SUCCEEDED', 'FAILED', 'REJECTED', 'TIMED_OUT']);

/** Stable shard of a command id. */
function shardOf(id: string): number {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0;
  return h % EXPIRY_SHARDS;
}

const KEY_ATTRS = new Set<string>([
  K.partitionKey,
  K.sortKey,
  K.deviceIndexPartitionKey,
  K.deviceIndexSortKey,
  K.tenantIndexPartitionKey,
  K.tenantIndexSortKey,
  K.expiryIndexPartitionKey,
  K.expiryIndexSortKey,
  K.ttl,
]);

/** A create found the id taken. */
export class ApiItemExistsError extends Error {
  /** Stable code. */
  readonly code = 'ITEM_EXISTS';
  constructor(what: string) {
    super(`${what} already exists`);
    this.name = 'ApiItemExistsError';
  }
}

/** A cursor that does not belong to the query it was given to. */
export class ApiCursorError extends FleetwireError {
  constructor() {
    super('INVALID_CURSOR', 'Cursor is not valid for this query');
  }
}

type Item = Record<string, unknown>;

function strip<T>(item: Item | undefined): T | undefined {
  if (!item) return undefined;
  const out: Item = {};
  for (const [k, v] of Object.entries(item)) if (!KEY_ATTRS.has(k)) out[k] = v;
  return out as T;
}

function encodeKey(key: Item | undefined): string | undefined {
  return key ? Buffer.from(JSON.stringify(key), 'utf8').toString('base64url') : undefined;
}

/** Decode a cursor; it must hold only string key attributes and name `partitionValue` under `partitionAttr`. */
function decodeKey(
  cursor: string | undefined,
  partitionAttr: string,
  partitionValue: string,
): Item | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  if (cursor.length > 2048 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw new ApiCursorError();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new ApiCursorError();
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new ApiCursorError();
  const entries = Object.entries(parsed);
  if (entries.length > 4 || entries.some(([k, v]) => !KEY_ATTRS.has(k) || typeof v !== 'string'))
    throw new ApiCursorError();
  if ((parsed as Item)[partitionAttr] !== partitionValue) throw new ApiCursorError();
  return parsed as Item;
}

/** Options of the API stores. */
export interface ApiStoreOptions {
  tableName: string;
  /** How long system events are kept (DynamoDB TTL). @default 90 days */
  eventRetentionDays?: number;
  clock?: () => number;
}

/** Commands, files, API keys and events on the API data table. */
export class DynamoDbApiStores {
  private readonly doc: DynamoDBDocumentClient;
  private readonly table: string;
  private readonly clock: () => number;

  constructor(
    client: DynamoDBClient,
    private readonly opts: ApiStoreOptions,
  ) {
    this.doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
    this.table = opts.tableName;
    this.clock = opts.clock ?? Date.now;
  }

  // ------------------------------------------------------------------ generic helpers

  private async putNew(item: Item, what: string): Promise<void> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: item,
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException) throw new ApiItemExistsError(what);
      throw e;
    }
  }

  private async getItem<T>(pk: string, sk = '#'): Promise<T | undefined> {
    const out = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: { pk, sk }, ConsistentRead: true }),
    );
    return strip<T>(out.Item);
  }

  /** Query one partition newest first, applying an optional filter, filling up to `limit` items. */
  private async page<T>(
    index: string | undefined,
    partitionAttr: string,
    partitionValue: string,
    limit: number,
    cursor: string | undefined,
    extra: {
      filter?: string;
      names?: Record<string, string>;
      values?: Item;
      sortFrom?: { attr: string; value: string };
    } = {},
  ): Promise<{ items: T[]; next?: string }> {
    let start = decodeKey(cursor, partitionAttr, partitionValue);
    const items: T[] = [];
    const names: Record<string, string> = { '#p': partitionAttr, ...(extra.names ?? {}) };
    const values: Item = { ':p': partitionValue, ...(extra.values ?? {}) };
    let key = '#p = :p';
    if (extra.sortFrom) {
      names['#s'] = extra.sortFrom.attr;
      values[':s'] = extra.sortFrom.value;
      key += ' AND #s >= :s';
    }
    // A filter may drop items after DynamoDB applied Limit: read a few rounds to fill the page.
    for (let round = 0; round < 5; round++) {
      const input: QueryCommandInput = {
        TableName: this.table,
        ...(index ? { IndexName: index } : {}),
        KeyConditionExpression: key,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ScanIndexForward: false,
        Limit: limit - items.length,
        ...(extra.filter ? { FilterExpression: extra.filter } : {}),
        ...(start ? { ExclusiveStartKey: start } : {}),
      };
      const out = await this.doc.send(new QueryCommand(input));
      for (const it of out.Items ?? []) items.push(strip<T>(it) as T);
      start = out.LastEvaluatedKey;
      if (!start || items.length >= limit) break;
    }
    const next = encodeKey(start);
    return { items, ...(next ? { next } : {}) };
  }

  // ------------------------------------------------------------------ commands

  private async createCommand(cmd: CommandRecord): Promise<void> {
    await this.putNew(
      {
        ...cmd,
        pk: `CMD#${cmd.tenant}#${cmd.commandId}`,
        sk: '#',
        g1pk: `CMDD#${cmd.tenant}#${cmd.deviceId}`,
        g1sk: cmd.commandId,
        g2pk: `CMDT#${cmd.tenant}`,
        g2sk: cmd.commandId,
        // Open until final: the sweep finds it by deadline; a final transition removes these two.
        xpk: `OPEN#${shardOf(cmd.commandId)}`,
        xsk: `${String(Math.max(0, Math.floor(cmd.expiresAt))).padStart(15, '0')}#${cmd.tenant}#${cmd.commandId}`,
      },
      `command ${cmd.commandId}`,
    );
  }

  private async getCommand(tenant: string, commandId: string): Promise<CommandRecord | undefined> {
    return this.getItem<CommandRecord>(`CMD#${tenant}#${commandId}`);
  }

  private async listCommands(
    tenant: string,
    opts: { deviceId?: string; status?: CommandStatus; limit: number; cursor?: string },
  ): Promise<{ items: CommandRecord[]; next?: string }> {
    const filter = opts.status
      ? { filter: '#st = :st', names: { '#st': 'status' }, values: { ':st': opts.status } }
      : {};
    return opts.deviceId
      ? this.page<CommandRecord>(
          K.deviceIndex,
          K.deviceIndexPartitionKey,
          `CMDD#${tenant}#${opts.deviceId}`,
          opts.limit,
          opts.cursor,
          filter,
        )
      : this.page<CommandRecord>(
          K.tenantIndex,
          K.tenantIndexPartitionKey,
          `CMDT#${tenant}`,
          opts.limit,
          opts.cursor,
          filter,
        );
  }

  private async transition(
    tenant: string,
    commandId: string,
    from: readonly CommandStatus[],
    status: CommandStatus,
    at: number,
    result?: Record<string, unknown>,
  ): Promise<CommandRecord | undefined> {
    if (from.length === 0) return undefined;
    const values: Item = { ':to': status, ':at': at, ':h': [{ status, at }] };
    from.forEach((s, i) => {
      values[`:f${i}`] = s;
    });
    try {
      const out = await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: `CMD#${tenant}#${commandId}`, sk: '#' },
          ConditionExpression: `attribute_exists(pk) AND #st IN (${from.map((_, i) => `:f${i}`).join(', ')})`,
          UpdateExpression:
            `SET #st = :to, updatedAt = :at, history = list_append(history, :h)${result !== undefined ? ', #r = :r' : ''}` +
            (FINAL.has(status) ? ' REMOVE xpk, xsk' : ''),
          ExpressionAttributeNames: { '#st': 'status', ...(result !== undefined ? { '#r': 'result' } : {}) },
          ExpressionAttributeValues: { ...values, ...(result !== undefined ? { ':r': result } : {}) },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return strip<CommandRecord>(out.Attributes);
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException) return undefined;
      throw e;
    }
  }

  // ------------------------------------------------------------------ files (FileCatalog: create/get/list/put)

  /** Open commands past their deadline, across tenants (the sparse expiry index, every shard). */
  private async listExpired(before: number, limit: number): Promise<CommandRecord[]> {
    const upper = `${String(Math.max(0, Math.floor(before))).padStart(15, '0')}`;
    const out: CommandRecord[] = [];
    for (let shard = 0; shard < EXPIRY_SHARDS && out.length < limit; shard++) {
      let start: Item | undefined;
      do {
        const res = await this.doc.send(
          new QueryCommand({
            TableName: this.table,
            IndexName: K.expiryIndex,
            KeyConditionExpression: '#x = :x AND #s < :u',
            ExpressionAttributeNames: { '#x': K.expiryIndexPartitionKey, '#s': K.expiryIndexSortKey },
            ExpressionAttributeValues: { ':x': `OPEN#${shard}`, ':u': upper },
            Limit: limit - out.length,
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        for (const it of res.Items ?? []) out.push(strip<CommandRecord>(it) as CommandRecord);
        start = res.LastEvaluatedKey;
      } while (start && out.length < limit);
    }
    return out;
  }

  /** CommandStore view of this store. */
  get commands(): CommandStore {
    return {
      listExpired: (before, limit) => this.listExpired(before, limit),
      create: (c) => this.createCommand(c),
      get: (t, id) => this.getCommand(t, id),
      list: (t, o) => this.listCommands(t, o),
      transition: (t, id, from, to, at, result) => this.transition(t, id, from, to, at, result),
    };
  }

  private async createFile(record: FileRecord): Promise<void> {
    await this.putNew(this.fileItem(record), `file ${record.fileId}`);
  }

  private fileItem(record: FileRecord): Item {
    return {
      ...record,
      pk: `FILE#${record.tenant}#${record.fileId}`,
      sk: '#',
      g2pk: `FILES#${record.tenant}`,
      g2sk: record.fileId,
    };
  }

  /** FileCatalog view of this store (the port's method names overlap with the command store's). */
  get files(): FileCatalog {
    return {
      create: (r) => this.createFile(r),
      get: (tenant, fileId) => this.getItem<FileRecord>(`FILE#${tenant}#${fileId}`),
      list: (tenant, opts: { kind?: FileKind; limit: number; cursor?: string }) =>
        this.page<FileRecord>(
          K.tenantIndex,
          K.tenantIndexPartitionKey,
          `FILES#${tenant}`,
          opts.limit,
          opts.cursor,
          opts.kind ? { filter: '#k = :k', names: { '#k': 'kind' }, values: { ':k': opts.kind } } : {},
        ),
      put: async (r) => {
        await this.doc.send(new PutCommand({ TableName: this.table, Item: this.fileItem(r) }));
      },
    };
  }

  // ------------------------------------------------------------------ API keys

  /** ApiKeyStore view of this store. */
  get apiKeys(): ApiKeyStore {
    return {
      create: (r) =>
        this.putNew(
          { ...r, pk: `KEY#${r.keyId}`, sk: '#', g2pk: `KEYS#${r.tenant}`, g2sk: r.keyId },
          `API key ${r.keyId}`,
        ),
      getById: (keyId) => this.getItem<ApiKeyRecord>(`KEY#${keyId}`),
      list: (tenant, opts) =>
        this.page<ApiKeyRecord>(
          K.tenantIndex,
          K.tenantIndexPartitionKey,
          `KEYS#${tenant}`,
          opts.limit,
          opts.cursor,
        ),
      revoke: async (tenant, keyId, at) => {
        try {
          await this.doc.send(
            new UpdateCommand({
              TableName: this.table,
              Key: { pk: `KEY#${keyId}`, sk: '#' },
              ConditionExpression: 'attribute_exists(pk) AND tenant = :t',
              UpdateExpression: 'SET revokedAt = if_not_exists(revokedAt, :at)',
              ExpressionAttributeValues: { ':t': tenant, ':at': at },
            }),
          );
          return true;
        } catch (e) {
          if (e instanceof ConditionalCheckFailedException) return false;
          throw e;
        }
      },
    };
  }

  // ------------------------------------------------------------------ events

  /** A time-ordered event id: 13-digit epoch ms, then randomness. */
  static eventId(time: number): string {
    return `${String(Math.max(0, Math.floor(time))).padStart(13, '0')}-${randomBytes(6).toString('hex')}`;
  }

  /** EventSink: store tenant events (events without a tenant are not part of any tenant's log). */
  private async publishEvents(events: readonly SystemEvent[]): Promise<void> {
    const ttl = Math.floor(this.clock() / 1000) + (this.opts.eventRetentionDays ?? 90) * 86_400;
    const items = events
      .filter((e) => e.tenant !== undefined)
      .map((e) => {
        const eventId = DynamoDbApiStores.eventId(e.time);
        return {
          ...e,
          eventId,
          pk: `EVT#${e.tenant}`,
          sk: eventId,
          ...(e.device !== undefined ? { g1pk: `EVTD#${e.tenant}#${e.device}`, g1sk: eventId } : {}),
          ttl,
        };
      });
    for (let i = 0; i < items.length; i += 25) {
      let pending = items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } }));
      for (let attempt = 0; pending.length > 0 && attempt < 5; attempt++) {
        const out = await this.doc.send(new BatchWriteCommand({ RequestItems: { [this.table]: pending } }));
        pending = (out.UnprocessedItems?.[this.table] ?? []) as typeof pending;
        if (pending.length > 0) await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
      }
      if (pending.length > 0) throw new Error(`${pending.length} event(s) could not be stored`);
    }
  }

  /** EventLog + EventSink view. */
  get events(): EventLog & EventSink {
    return {
      publish: (events) => this.publishEvents(events),
      list: (tenant, opts) => {
        const sortFrom =
          opts.since !== undefined
            ? String(Math.max(0, Math.floor(opts.since))).padStart(13, '0')
            : undefined;
        return opts.deviceId
          ? this.page<LoggedEvent>(
              K.deviceIndex,
              K.deviceIndexPartitionKey,
              `EVTD#${tenant}#${opts.deviceId}`,
              opts.limit,
              opts.cursor,
              sortFrom ? { sortFrom: { attr: K.deviceIndexSortKey, value: sortFrom } } : {},
            )
          : this.page<LoggedEvent>(
              undefined,
              K.partitionKey,
              `EVT#${tenant}`,
              opts.limit,
              opts.cursor,
              sortFrom ? { sortFrom: { attr: K.sortKey, value: sortFrom } } : {},
            );
      },
    };
  }
}
