/**
 * Composition root of the ingest path on AWS: clients → adapters → {@link IngestService}. Used by the
 * ingest Lambda (once per cold start) and by `fleetwire replay` (which swaps the dead-letter sink).
 */
import { framesToPoints, loadCompiledDbc } from '../../core/dbc/index.js';
import type { CompiledDbc } from '../../core/dbc/types.js';
import type { Point } from '../../core/model/point.js';
import type { IngestConfig } from '../../handlers/ingest-config.js';
import type { DeadLetterSink } from '../../ports/dead-letters.js';
import type { EventSink } from '../../ports/event-sink.js';
import type { TelemetryStore } from '../../ports/telemetry-store.js';
import { type DbcEngine, DbcResolver } from '../../services/dbc-resolver.js';
import { type IngestLogger, IngestService } from '../../services/ingest-service.js';
import { createDynamoDbClient, createTimestreamWriteClient } from './clients.js';
import { DynamoDbDeviceRegistry } from './dynamodb-device-registry.js';
import type { EndpointEnv } from './endpoints.js';
import { lazyLoad } from './lazy.js';
import { LazyS3FileStore } from './lazy-s3-file-store.js';
import { TimestreamTelemetryStore } from './timestream-store.js';

/** The core DBC engine in the shape the resolver wants. */
export const DBC_ENGINE: DbcEngine<CompiledDbc> = {
  load: (bytes) => loadCompiledDbc(bytes),
  framesToPoints: (frames, compiled, device) => framesToPoints(frames, compiled, device),
};

/** Replacements for single dependencies (replay, tests). */
export interface AwsIngestOverrides {
  readonly deadLetters?: DeadLetterSink;
  readonly events?: EventSink;
  readonly store?: TelemetryStore;
  readonly log?: IngestLogger;
  readonly onPoints?: (tenant: string, points: readonly Point[]) => Promise<void>;
}

/** Build the ingest service on the AWS adapters described by `config`. */
export function createAwsIngestService(
  config: IngestConfig,
  env: EndpointEnv,
  overrides: AwsIngestOverrides = {},
): IngestService {
  const store =
    overrides.store ??
    new TimestreamTelemetryStore(createTimestreamWriteClient(env), {
      database: config.telemetryDatabase,
      table: config.telemetryTable,
      magneticWritesEnabled: config.magneticWritesEnabled,
    });
  // S3 is only needed for DBC files, SQS and EventBridge only for refused or remarkable messages: all three
  // are loaded on first use, outside the cold start.
  const sinks = lazyLoad(async () =>
    (await import('./ingest-notifications.js')).createNotificationSinks(
      config.deadLetterQueueUrl,
      config.eventBusName,
    ),
  );
  const files = new LazyS3FileStore(config.filesBucket, env, { forbiddenIsMissing: true });
  return new IngestService({
    registry: new DynamoDbDeviceRegistry(createDynamoDbClient(), {
      table: config.registryTable,
      deviceIndex: config.registryDeviceIndex,
    }),
    store,
    deadLetters: overrides.deadLetters ?? {
      send: async (letter) => (await sinks()).deadLetters.send(letter),
    },
    events: overrides.events ?? { publish: async (events) => (await sinks()).events.publish(events) },
    dbc: new DbcResolver(files, DBC_ENGINE),
    dbcPrefix: config.dbcPrefix,
    ...(config.topicApp !== undefined ? { app: config.topicApp } : {}),
    ...(overrides.log ? { log: overrides.log } : {}),
    ...(overrides.onPoints ? { onPoints: overrides.onPoints } : {}),
  });
}
