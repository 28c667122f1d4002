/**
 * The command-events Lambda: IoT rules deliver device command responses (`cmd/<app>/+/res`, `…/ack`),
 * connection lifecycle events (`$aws/events/presence/+/+`: the registry's `connected` flag) and
 * subscription events (`$aws/events/subscriptions/subscribed/+`: held commands are sent once the device
 * has subscribed to its command topic); all are applied by lambdas/services/command-events.ts with
 * conditional writes.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { createDynamoDbClient, createEventBridgeClient, createS3Client } from '../adapters/aws/clients.js';
import { DynamoDbApiStores } from '../adapters/aws/dynamodb-api-stores.js';
import { DynamoDbDeviceRegistry } from '../adapters/aws/dynamodb-device-registry.js';
import { EventBridgeEventSink } from '../adapters/aws/eventbridge-event-sink.js';
import { createIotDataClient, IotDataPublisher } from '../adapters/aws/iot-data-publisher.js';
import { S3FileStore } from '../adapters/aws/s3-file-store.js';
import { timeOrderedId } from '../api/ids.js';
import { type CommandEventOutcome, handleCommandEvent } from '../services/command-events.js';
import { createCommandService } from '../services/command-service.js';
import { firmwareUrlRefresher } from '../services/firmware-urls.js';
import { loadApiConfig } from './api-config.js';

const config = loadApiConfig(process.env);
const logger = new Logger({ serviceName: 'fleetwire-command-events' });
const ddb = createDynamoDbClient();
const registry = new DynamoDbDeviceRegistry(ddb, {
  table: config.registryTable,
  deviceIndex: config.registryDeviceIndex,
});
const stores = new DynamoDbApiStores(ddb, { tableName: config.apiTable });
const commands = createCommandService({
  commands: stores.commands,
  preparePayload: firmwareUrlRefresher(
    stores.files,
    new S3FileStore(createS3Client(process.env), config.filesBucket),
  ),
  publisher: new IotDataPublisher(createIotDataClient(process.env, config.iotDataEndpoint)),
  registry,
  events: new EventBridgeEventSink(createEventBridgeClient(), { busName: config.eventBusName }),
  topicConfig: { app: config.app },
  newId: (now) => timeOrderedId('cmd', now),
  onPublishError: (err, cmd) =>
    logger.warn('command publish failed; kept QUEUED', { commandId: cmd.commandId, error: String(err) }),
});

async function handle(event: unknown): Promise<CommandEventOutcome> {
  const out = await handleCommandEvent(event, { registry, commands, app: config.app });
  if (out.kind === 'response' && !out.outcome.applied) {
    logger.warn('command response not applied', { code: out.outcome.code, commandId: out.outcome.commandId });
  } else {
    logger.info('command event', {
      kind: out.kind,
      ...(out.kind === 'lifecycle'
        ? {
            event: out.event,
            deviceId: out.deviceId,
            recorded: out.recorded,
            sent: out.sent,
            timedOut: out.timedOut,
          }
        : {}),
      ...(out.kind === 'ignored' ? { reason: out.reason } : {}),
    });
  }
  return out;
}

/** Lambda entry point. */
export const handler = middy(handle).use(injectLambdaContext(logger, { logEvent: false }));
