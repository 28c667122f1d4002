/**
 * The ingest Lambda (lambdas/handlers/ingest.ts) with exactly the permissions it needs and an on-failure
 * destination for its asynchronous invocations (IoT rules invoke Lambda asynchronously: an event that
 * still fails after Lambda's retries, or waits too long in its queue, goes to the failure queue).
 */
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { FILE_PREFIXES, INGEST_ENV, type StorageKind } from '../../lambdas/core/deployment-contract.js';
import type { DeviceRegistryTable } from './device-registry-table.js';
import { FleetwireFunction } from './fleetwire-function.js';
import type { TimestreamStore } from './timestream-store.js';

/** Properties of {@link IngestFunction}. */
export interface IngestFunctionProps {
  /** Storage backend the function writes to. */
  readonly storage: StorageKind;
  /** The Timestream store (required while `storage` is `timestream`). */
  readonly timestream: TimestreamStore;
  /** The device registry. */
  readonly registry: DeviceRegistryTable;
  /** Bucket holding DBC files (read below {@link FILE_PREFIXES.dbc} only). */
  readonly filesBucket: IBucket;
  /** Dead-letter queue for rejected messages and records. */
  readonly deadLetterQueue: IQueue;
  /** On-failure destination of asynchronous invocations. */
  readonly failureQueue: IQueue;
  /** System event bus. */
  readonly eventBus: IEventBus;
  /** The `<app>` topic segment of this deployment. */
  readonly topicApp: string;
  /** Handler entry, relative to the repository root. @default 'lambdas/handlers/ingest.ts' */
  readonly entry?: string;
  /** Memory in MB. @default 1024 (decoding and gzip are CPU-bound; arm64 CPU scales with memory) */
  readonly memorySize?: number;
  /** Timeout. @default Duration.seconds(60) */
  readonly timeout?: Duration;
  /** Lambda retries of a failed asynchronous invocation (0–2). @default 2 */
  readonly retryAttempts?: number;
  /** How long an event may wait for (re)processing before it goes to the failure queue. @default Duration.hours(6) */
  readonly maxEventAge?: Duration;
  /** Reserved concurrency. @default no reservation */
  readonly reservedConcurrentExecutions?: number;
  /** Log retention. @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** What happens to the log group when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly logRemovalPolicy?: RemovalPolicy;
  /** Log level. @default 'INFO' */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
}

/** The ingest function. */
export class IngestFunction extends Construct {
  /** The shared-construct wrapper (function, role, log group). */
  readonly fleetwireFunction: FleetwireFunction;
  /** The Lambda function. */
  readonly function: IFunction;

  constructor(scope: Construct, id: string, props: IngestFunctionProps) {
    super(scope, id);
    const retryAttempts = props.retryAttempts ?? 2;
    if (!Number.isInteger(retryAttempts) || retryAttempts < 0 || retryAttempts > 2) {
      throw new RangeError('retryAttempts must be 0, 1 or 2');
    }
    const fw = new FleetwireFunction(this, 'Ingest', {
      entry: props.entry ?? 'lambdas/handlers/ingest.ts',
      description: 'Fleetwire ingest: IoT rule event -> decode -> Timestream; rejects to the DLQ',
      serviceName: 'fleetwire-ingest',
      memorySize: props.memorySize ?? 1024,
      timeout: props.timeout ?? Duration.seconds(60),
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      logRetention: props.logRetention,
      logRemovalPolicy: props.logRemovalPolicy,
      logLevel: props.logLevel,
      environment: {
        [INGEST_ENV.STORAGE]: props.storage,
        [INGEST_ENV.TELEMETRY_DATABASE]: props.timestream.databaseName,
        [INGEST_ENV.TELEMETRY_TABLE]: props.timestream.tableName,
        [INGEST_ENV.REGISTRY_TABLE]: props.registry.table.tableName,
        [INGEST_ENV.REGISTRY_DEVICE_INDEX]: props.registry.deviceIndexName,
        [INGEST_ENV.FILES_BUCKET]: props.filesBucket.bucketName,
        [INGEST_ENV.DBC_PREFIX]: FILE_PREFIXES.dbc,
        [INGEST_ENV.DEAD_LETTER_QUEUE_URL]: props.deadLetterQueue.queueUrl,
        [INGEST_ENV.EVENT_BUS_NAME]: props.eventBus.eventBusName,
        [INGEST_ENV.TOPIC_APP]: props.topicApp,
      },
    });
    this.fleetwireFunction = fw;
    this.function = fw.function;

    props.timestream.grantWrite(fw.role);
    props.registry.grantIngest(fw.role);
    // GetObject only (it also covers HeadObject): without s3:ListBucket a missing key answers 403
    // AccessDenied rather than 404 NoSuchKey, which the file-store adapter treats as "no such DBC".
    fw.role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [props.filesBucket.arnForObjects(`${FILE_PREFIXES.dbc}*`)],
      }),
    );
    fw.role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [props.deadLetterQueue.queueArn] }),
    );
    props.eventBus.grantPutEventsTo(fw.role);

    fw.function.configureAsyncInvoke({
      retryAttempts,
      maxEventAge: props.maxEventAge ?? Duration.hours(6),
      onFailure: new SqsDestination(props.failureQueue),
    });
  }
}
