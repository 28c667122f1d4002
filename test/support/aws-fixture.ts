/**
 * The AWS resources of the ingest path, created in moto_server through the real SDK clients, with the
 * environment the ingest Lambda reads (lambdas/handlers/ingest-config.ts). Plus readers for what moto
 * holds: Timestream records (`/moto-api/data.json`), dead letters and system events (SQS).
 */
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import {
  CreateDatabaseCommand,
  CreateTableCommand as CreateTsTableCommand,
} from '@aws-sdk/client-timestream-write';
import { createS3Client, createTimestreamWriteClient } from '../../lambdas/adapters/aws/clients.js';
import { DynamoDbDeviceRegistry } from '../../lambdas/adapters/aws/dynamodb-device-registry.js';
import { S3FileStore } from '../../lambdas/adapters/aws/s3-file-store.js';
import { INGEST_ENV, REGISTRY_KEYS, SYSTEM_EVENT_SOURCE } from '../../lambdas/core/deployment-contract.js';
import type { DeadLetter } from '../../lambdas/ports/dead-letters.js';
import type { SystemEvent } from '../../lambdas/ports/event-sink.js';
import type { MotoServer } from './moto.js';

/** Resource names of the fixture. */
export const NAMES = Object.freeze({
  database: 'fleetwire',
  table: 'telemetry',
  registry: 'fleetwire-registry',
  bucket: 'fleetwire-files',
  dlq: 'fleetwire-ingest-dlq',
  failures: 'fleetwire-ingest-failures',
  events: 'fleetwire-events-tap',
  bus: 'fleetwire-events',
});

/** What {@link createIngestResources} made. */
export interface IngestResources {
  dlqUrl: string;
  failuresUrl: string;
  eventsUrl: string;
  registry: DynamoDbDeviceRegistry;
  files: S3FileStore;
  sqs: SQSClient;
  /** The ingest function's environment for these resources. */
  env: Record<string, string>;
}

/**
 * Create tables, bucket, queues, bus and the Timestream database in moto. With `tapEvents` a rule
 * forwards every system event to an SQS queue for {@link systemEvents} (moto delivers it slowly, ~0.5 s
 * per PutEvents, so suites that do not read events leave it off).
 */
export async function createIngestResources(opts: { tapEvents?: boolean } = {}): Promise<IngestResources> {
  const ddb = new DynamoDBClient({});
  await ddb.send(
    new CreateTableCommand({
      TableName: NAMES.registry,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: REGISTRY_KEYS.partitionKey, AttributeType: 'S' },
        { AttributeName: REGISTRY_KEYS.sortKey, AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: REGISTRY_KEYS.partitionKey, KeyType: 'HASH' },
        { AttributeName: REGISTRY_KEYS.sortKey, KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: REGISTRY_KEYS.deviceIndex,
          KeySchema: [{ AttributeName: REGISTRY_KEYS.sortKey, KeyType: 'HASH' }],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    }),
  );
  const s3 = createS3Client(process.env);
  await s3.send(new CreateBucketCommand({ Bucket: NAMES.bucket }));
  const sqs = new SQSClient({});
  const queue = async (name: string) =>
    (await sqs.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl as string;
  const [dlqUrl, failuresUrl, eventsUrl] = await Promise.all([
    queue(NAMES.dlq),
    queue(NAMES.failures),
    queue(NAMES.events),
  ]);
  const eb = new EventBridgeClient({});
  await eb.send(new CreateEventBusCommand({ Name: NAMES.bus }));
  if (opts.tapEvents ?? true) {
    await eb.send(
      new PutRuleCommand({
        Name: 'tap',
        EventBusName: NAMES.bus,
        EventPattern: JSON.stringify({ source: [SYSTEM_EVENT_SOURCE] }),
      }),
    );
    const eventsArn = (
      await sqs.send(new GetQueueAttributesCommand({ QueueUrl: eventsUrl, AttributeNames: ['QueueArn'] }))
    ).Attributes?.QueueArn;
    await eb.send(
      new PutTargetsCommand({
        Rule: 'tap',
        EventBusName: NAMES.bus,
        Targets: [{ Id: 'sqs', Arn: eventsArn }],
      }),
    );
  }
  const ts = createTimestreamWriteClient(process.env);
  await ts.send(new CreateDatabaseCommand({ DatabaseName: NAMES.database }));
  await ts.send(
    new CreateTsTableCommand({
      DatabaseName: NAMES.database,
      TableName: NAMES.table,
      MagneticStoreWriteProperties: { EnableMagneticStoreWrites: true },
    }),
  );
  return {
    dlqUrl,
    failuresUrl,
    eventsUrl,
    sqs,
    registry: new DynamoDbDeviceRegistry(ddb, { table: NAMES.registry }),
    files: new S3FileStore(s3, NAMES.bucket),
    env: {
      [INGEST_ENV.STORAGE]: 'timestream',
      [INGEST_ENV.TELEMETRY_DATABASE]: NAMES.database,
      [INGEST_ENV.TELEMETRY_TABLE]: NAMES.table,
      [INGEST_ENV.REGISTRY_TABLE]: NAMES.registry,
      [INGEST_ENV.REGISTRY_DEVICE_INDEX]: REGISTRY_KEYS.deviceIndex,
      [INGEST_ENV.FILES_BUCKET]: NAMES.bucket,
      [INGEST_ENV.DBC_PREFIX]: 'dbc/',
      [INGEST_ENV.DEAD_LETTER_QUEUE_URL]: dlqUrl,
      [INGEST_ENV.EVENT_BUS_NAME]: NAMES.bus,
      [INGEST_ENV.TOPIC_APP]: 'fleetwire',
    },
  };
}

/** A Timestream record as moto stores it. */
export interface StoredRecord {
  Dimensions: { Name: string; Value: string }[];
  MeasureName: string;
  Time: string;
  MeasureValues: { Name: string; Value: string; Type: string }[];
}

/** Records of the telemetry table, as moto holds them. */
export async function timestreamRecords(moto: MotoServer): Promise<StoredRecord[]> {
  const data = await moto.data();
  const tables = (data.timestreamwrite?.TimestreamTable ?? []) as { name: string; records: StoredRecord[] }[];
  return tables.findLast((t) => t.name === NAMES.table)?.records ?? [];
}

/**
 * Apply Timestream's upsert rule to what moto appended: records with the same dimensions, time and
 * measure name are one record when their values are identical (a duplicate write is a no-op). A key
 * written twice with different values would be a version conflict in Timestream: reported as `conflicts`.
 */
export function timestreamView(records: StoredRecord[]): { records: StoredRecord[]; conflicts: string[] } {
  const byKey = new Map<string, StoredRecord>();
  const conflicts: string[] = [];
  for (const r of records) {
    const dims = [...r.Dimensions].sort((a, b) => (a.Name < b.Name ? -1 : 1));
    const key = JSON.stringify([dims, r.Time, r.MeasureName]);
    const prev = byKey.get(key);
    if (prev === undefined) byKey.set(key, r);
    else if (JSON.stringify(prev.MeasureValues) !== JSON.stringify(r.MeasureValues)) conflicts.push(key);
  }
  return { records: [...byKey.values()], conflicts };
}

/** Receive (and delete) everything in a queue. */
export async function drain(sqs: SQSClient, queueUrl: string): Promise<string[]> {
  const bodies: string[] = [];
  for (;;) {
    const out = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    const msgs = out.Messages ?? [];
    if (msgs.length === 0) return bodies;
    for (const m of msgs) {
      bodies.push(m.Body ?? '');
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }));
    }
  }
}

/** Dead letters in the DLQ (drained). */
export async function deadLetters(res: IngestResources): Promise<DeadLetter[]> {
  return (await drain(res.sqs, res.dlqUrl)).map((b) => JSON.parse(b) as DeadLetter);
}

/** System events delivered to the tap queue (drained): the `detail` of each EventBridge event. */
export async function systemEvents(res: IngestResources): Promise<(SystemEvent & { detailType: string })[]> {
  return (await drain(res.sqs, res.eventsUrl)).map((b) => {
    const e = JSON.parse(b) as { 'detail-type': string; detail: SystemEvent; source: string };
    return { ...e.detail, detailType: e['detail-type'] };
  });
}
