/**
 * The API's dependencies on AWS: DynamoDB registry and API data table, IoT identity and data-plane
 * publisher, S3 files, Timestream queries, EventBridge events, the DBC engine; authentication is the
 * context API Gateway's Lambda authorizer produced. Shared by the API and command-events handlers.
 */

import { IoTClient } from '@aws-sdk/client-iot';
import { authorizerContextAuthenticator } from '../../api/auth.js';
import { checkDbcWithEngine } from '../../api/dbc-check.js';
import type { ApiDeps, ApiLogger } from '../../api/deps.js';
import type { ApiConfig } from '../../handlers/api-config.js';
import type { TelemetryStore } from '../../ports/telemetry-store.js';
import { createDynamoDbClient, createEventBridgeClient, createS3Client } from './clients.js';
import { DynamoDbApiStores } from './dynamodb-api-stores.js';
import { DynamoDbDeviceRegistry } from './dynamodb-device-registry.js';
import type { EndpointEnv } from './endpoints.js';
import { EventBridgeEventSink } from './eventbridge-event-sink.js';
import { createIotDataClient, IotDataPublisher } from './iot-data-publisher.js';
import { IotIdentityProvider } from './iot-identity-provider.js';
import { S3FileStore } from './s3-file-store.js';
import { createTimestreamQueryClient } from './timestream-query.js';
import { TimestreamTelemetryStore } from './timestream-store.js';

/** Build the API dependencies for `config`. */
export function createAwsApiDeps(config: ApiConfig, env: EndpointEnv, logger: ApiLogger): ApiDeps {
  const ddb = createDynamoDbClient();
  const stores = new DynamoDbApiStores(ddb, { tableName: config.apiTable });
  // Query side only: the API never writes telemetry (the ingest function owns writes), so the store has
  // no Timestream Write client and its `write` answers StoreNotConfiguredError.
  const telemetry: TelemetryStore = new TimestreamTelemetryStore(undefined, {
    database: config.telemetryDatabase,
    table: config.telemetryTable,
    query: { client: createTimestreamQueryClient(env) },
  });
  return {
    authenticator: authorizerContextAuthenticator(),
    registry: new DynamoDbDeviceRegistry(ddb, {
      table: config.registryTable,
      deviceIndex: config.registryDeviceIndex,
    }),
    identity: new IotIdentityProvider(new IoTClient({}), {
      thingTypeName: config.thingTypeName,
      policyNames: config.devicePolicyNames,
    }),
    telemetry,
    commands: stores.commands,
    publisher: new IotDataPublisher(createIotDataClient(env, config.iotDataEndpoint)),
    files: new S3FileStore(createS3Client(env), config.filesBucket),
    catalog: stores.files,
    events: stores.events,
    eventSink: new EventBridgeEventSink(createEventBridgeClient(), { busName: config.eventBusName }),
    apiKeys: stores.apiKeys,
    topicConfig: { app: config.app },
    checkDbc: checkDbcWithEngine,
    logger,
    ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}),
  };
}
