/**
 * DeviceRegistry on DynamoDB (key schema: lambdas/core/deployment-contract.ts `REGISTRY_KEYS`).
 *
 * - Base table keyed by (tenant, deviceId): every tenant-scoped call is a key lookup, so another tenant's
 *   device simply does not exist for the caller.
 * - `getByThing` (ingest: the authenticated thing name, tenant unknown) queries the `byDevice` GSI. GSIs are
 *   eventually consistent, so a device registered a moment ago can be missed for well under a second; the
 *   message is then dead-lettered as DEVICE_UNKNOWN and replayable.
 * - Thing names are unique across tenants: `create` writes the device and a guard item
 *   (`tenant = "#thing"`, `deviceId = "#thing#<id>"`) in one transaction, both conditional, so two tenants can
 *   never register the same thing. `#` is not a valid tenant or thing-name character, so guard items never
 *   surface through `get`, `list` or `getByThing`.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { REGISTRY_KEYS } from '../../core/deployment-contract.js';
import { emptyRecord } from '../../core/model/point.js';
import type { DevicePage, DeviceRecord, DeviceRegistry } from '../../ports/device-registry.js';

/** `create` found the device id already registered (in this or another tenant). */
export class DeviceExistsError extends Error {
  /** Stable code. */
  readonly code = 'DEVICE_EXISTS';
  constructor(deviceId: string) {
    super(`Device "${deviceId}" is already registered`);
    this.name = 'DeviceExistsError';
  }
}

/** `put` or a tenant-scoped call named a device that does not exist in the tenant. */
export class DeviceNotFoundError extends Error {
  /** Stable code. */
  readonly code = 'DEVICE_NOT_FOUND';
  constructor(deviceId: string) {
    super(`Device "${deviceId}" not found`);
    this.name = 'DeviceNotFoundError';
  }
}

/** A cursor or argument the registry refuses. */
export class RegistryArgumentError extends Error {
  /** Stable code. */
  readonly code = 'INVALID_ARGUMENT';
  constructor(message: string) {
    super(message);
    this.name = 'RegistryArgumentError';
  }
}

/** Options of {@link DynamoDbDeviceRegistry}. */
export interface DynamoDbRegistryOptions {
  /** Table name. */
  readonly table: string;
  /** Name of the GSI keyed by device id. @default REGISTRY_KEYS.deviceIndex */
  readonly deviceIndex?: string;
}

const GUARD_TENANT = '#thing';
const guardKey = (deviceId: string) => ({ [PK]: GUARD_TENANT, [SK]: `#thing#${deviceId}` });
const PK = REGISTRY_KEYS.partitionKey;
const SK = REGISTRY_KEYS.sortKey;
/** How many thing→tenant mappings `touch` remembers (a warm Lambda sees a bounded set of devices). */
const TENANT_CACHE_MAX = 2048;

function checkTenant(tenant: string): void {
  if (tenant.length === 0 || tenant.startsWith('#')) {
    throw new RegistryArgumentError('tenant ids must be non-empty and must not start with "#"');
  }
}

/** Item → record: copy known attributes only, tags into a prototype-free object. */
function toRecord(item: Record<string, unknown>): DeviceRecord {
  const tags = emptyRecord<string>();
  const rawTags = item.tags;
  if (typeof rawTags === 'object' && rawTags !== null) {
    for (const [k, v] of Object.entries(rawTags)) if (typeof v === 'string') tags[k] = v;
  }
  const rec: DeviceRecord = {
    tenant: String(item[PK]),
    deviceId: String(item[SK]),
    tags,
    tokenHash: String(item.tokenHash ?? ''),
    status: (item.status as DeviceRecord['status']) ?? 'disabled',
    createdAt: Number(item.createdAt ?? 0),
  };
  const optional = [
    'name',
    'certificateId',
    'certificateFingerprint',
    'dbcKey',
    'channelContract',
    'configApplications',
    'configUpdatedAt',
    'connected',
    'connectedAt',
    'firmwareVersion',
    'lastSeen',
  ] as const;
  for (const k of optional) {
    if (item[k] !== undefined) (rec as unknown as Record<string, unknown>)[k] = item[k];
  }
  return rec;
}

function toItem(rec: DeviceRecord): Record<string, unknown> {
  const { tenant, deviceId, ...rest } = rec;
  return { ...rest, tags: { ...rec.tags }, [PK]: tenant, [SK]: deviceId };
}

function isConditionFailure(e: unknown): boolean {
  const name = (e as { name?: string }).name;
  if (name === 'ConditionalCheckFailedException') return true;
  if (name !== 'TransactionCanceledException') return false;
  const reasons = (e as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
  return reasons.some((r) => r.Code === 'ConditionalCheckFailed');
}

/** The DynamoDB device registry. */
export class DynamoDbDeviceRegistry implements DeviceRegistry {
  private readonly doc: DynamoDBDocumentClient;
  private readonly table: string;
  private readonly index: string;
  private readonly tenantOf = new Map<string, string>();

  constructor(client: DynamoDBClient, opts: DynamoDbRegistryOptions) {
    this.doc = DynamoDBDocumentClient.from(client, {
      marshallOptions: { removeUndefinedValues: true },
    });
    this.table = opts.table;
    this.index = opts.deviceIndex ?? REGISTRY_KEYS.deviceIndex;
  }

  /** Resolve the authenticated thing name through the device index. Ambiguity fails closed. */
  async getByThing(deviceId: string): Promise<DeviceRecord | undefined> {
    if (deviceId.length === 0 || deviceId.startsWith('#')) return undefined;
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: this.index,
        KeyConditionExpression: '#d = :d',
        ExpressionAttributeNames: { '#d': SK },
        ExpressionAttributeValues: { ':d': deviceId },
        Limit: 2,
      }),
    );
    const items = out.Items ?? [];
    // Two tenants with one thing name cannot be created through `create`; if it happens anyway, refuse.
    if (items.length !== 1) return undefined;
    const rec = toRecord(items[0] as Record<string, unknown>);
    this.remember(rec.deviceId, rec.tenant);
    return rec;
  }

  /** Key lookup within a tenant: another tenant's device is `undefined`. */
  async get(tenant: string, deviceId: string): Promise<DeviceRecord | undefined> {
    checkTenant(tenant);
    const out = await this.doc.send(
      new GetCommand({ TableName: this.table, Key: { [PK]: tenant, [SK]: deviceId }, ConsistentRead: true }),
    );
    return out.Item ? toRecord(out.Item) : undefined;
  }

  /** A page of one tenant's devices, ordered by device id. */
  async list(tenant: string, opts: { limit: number; cursor?: string }): Promise<DevicePage> {
    checkTenant(tenant);
    let start: Record<string, unknown> | undefined;
    if (opts.cursor !== undefined && opts.cursor !== '') {
      let deviceId: unknown;
      try {
        deviceId = (JSON.parse(Buffer.from(opts.cursor, 'base64url').toString('utf8')) as { d?: unknown }).d;
      } catch {
        deviceId = undefined;
      }
      if (typeof deviceId !== 'string') throw new RegistryArgumentError('cursor is not valid');
      start = { [PK]: tenant, [SK]: deviceId };
    }
    const out = await this.doc.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: '#t = :t',
        ExpressionAttributeNames: { '#t': PK },
        ExpressionAttributeValues: { ':t': tenant },
        Limit: Math.max(1, Math.min(1000, Math.floor(opts.limit))),
        ExclusiveStartKey: start,
      }),
    );
    const items = (out.Items ?? []).map((i) => toRecord(i));
    const last = out.LastEvaluatedKey?.[SK];
    const page: DevicePage = { items };
    if (typeof last === 'string') page.next = Buffer.from(JSON.stringify({ d: last })).toString('base64url');
    return page;
  }

  /** Create a device; throws {@link DeviceExistsError} when the thing name is taken in any tenant. */
  async create(record: DeviceRecord): Promise<void> {
    checkTenant(record.tenant);
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.table,
                Item: toItem(record),
                ConditionExpression: 'attribute_not_exists(#d)',
                ExpressionAttributeNames: { '#d': SK },
              },
            },
            {
              Put: {
                TableName: this.table,
                Item: { ...guardKey(record.deviceId), owner: record.tenant },
                ConditionExpression: 'attribute_not_exists(#d)',
                ExpressionAttributeNames: { '#d': SK },
              },
            },
          ],
        }),
      );
    } catch (e) {
      if (isConditionFailure(e)) throw new DeviceExistsError(record.deviceId);
      throw e;
    }
  }

  /** Replace an existing device record; throws {@link DeviceNotFoundError} when it does not exist. */
  async put(record: DeviceRecord): Promise<void> {
    checkTenant(record.tenant);
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.table,
          Item: toItem(record),
          ConditionExpression: 'attribute_exists(#d)',
          ExpressionAttributeNames: { '#d': SK },
        }),
      );
    } catch (e) {
      if (isConditionFailure(e)) throw new DeviceNotFoundError(record.deviceId);
      throw e;
    }
  }

  /** Delete a device and its thing-name guard; false when the tenant has no such device. */
  async delete(tenant: string, deviceId: string): Promise<boolean> {
    checkTenant(tenant);
    try {
      await this.doc.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Delete: {
                TableName: this.table,
                Key: { [PK]: tenant, [SK]: deviceId },
                ConditionExpression: 'attribute_exists(#d)',
                ExpressionAttributeNames: { '#d': SK },
              },
            },
            { Delete: { TableName: this.table, Key: guardKey(deviceId) } },
          ],
        }),
      );
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw e;
    }
    this.tenantOf.delete(deviceId);
    return true;
  }

  /**
   * Move `lastSeen` forward (never back: conditional update). The tenant comes from the last
   * `getByThing` of this instance, else from the device index.
   */
  async touch(deviceId: string, seenAt: number): Promise<void> {
    let tenant = this.tenantOf.get(deviceId);
    if (tenant === undefined) tenant = (await this.getByThing(deviceId))?.tenant;
    if (tenant === undefined) return;
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { [PK]: tenant, [SK]: deviceId },
          UpdateExpression: 'SET lastSeen = :t',
          ConditionExpression: 'attribute_exists(#d) AND (attribute_not_exists(lastSeen) OR lastSeen < :t)',
          ExpressionAttributeNames: { '#d': SK },
          ExpressionAttributeValues: { ':t': seenAt },
        }),
      );
    } catch (e) {
      if (!isConditionFailure(e)) throw e;
    }
  }

  /**
   * Set `connected`/`connectedAt` from a lifecycle event with one conditional UpdateItem: nothing else in
   * the item is written (ingest's `lastSeen` and API edits are untouched), and the condition orders
   * events by their time, so a late, older disconnect cannot overwrite a newer connect. On equal times a
   * disconnect wins (a command is then held rather than published into a closed session). Returns false
   * when a newer (or equal) event was already recorded or the device does not exist.
   */
  async recordConnection(tenant: string, deviceId: string, connected: boolean, at: number): Promise<boolean> {
    checkTenant(tenant);
    if (!Number.isFinite(at)) throw new RegistryArgumentError('connection event time must be finite');
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { [PK]: tenant, [SK]: deviceId },
          UpdateExpression: 'SET #c = :c, #ca = :t',
          ConditionExpression: `attribute_exists(#d) AND (attribute_not_exists(#ca) OR #ca ${connected ? '<' : '<='} :t)`,
          ExpressionAttributeNames: { '#d': SK, '#c': 'connected', '#ca': 'connectedAt' },
          ExpressionAttributeValues: { ':c': connected, ':t': at },
        }),
      );
      return true;
    } catch (e) {
      if (isConditionFailure(e)) return false;
      throw e;
    }
  }

  private remember(deviceId: string, tenant: string): void {
    if (this.tenantOf.size >= TENANT_CACHE_MAX && !this.tenantOf.has(deviceId)) {
      const oldest = this.tenantOf.keys().next().value;
      if (oldest !== undefined) this.tenantOf.delete(oldest);
    }
    this.tenantOf.set(deviceId, tenant);
  }
}
