/**
 * The command sweep Lambda, run every minute by an EventBridge schedule: every open command past its
 * deadline becomes TIMED_OUT (conditional transition, so a device answer racing the sweep wins cleanly or
 * loses cleanly) and a `command.finished` / `COMMAND_TIMED_OUT` system event is published.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import { createDynamoDbClient, createEventBridgeClient } from '../adapters/aws/clients.js';
import { DynamoDbApiStores } from '../adapters/aws/dynamodb-api-stores.js';
import { DynamoDbDeviceRegistry } from '../adapters/aws/dynamodb-device-registry.js';
import { EventBridgeEventSink } from '../adapters/aws/eventbridge-event-sink.js';
import { timeOrderedId } from '../api/ids.js';
import type { DevicePublisher } from '../ports/commands.js';
import { createCommandService } from '../services/command-service.js';
import { loadApiConfig } from './api-config.js';

const config = loadApiConfig(process.env);
const logger = new Logger({ serviceName: 'fleetwire-command-sweep' });
const ddb = createDynamoDbClient();
// The sweep only times commands out; it never sends, so its publisher refuses.
const noPublish: DevicePublisher = {
  publish: async () => {
    throw new Error('the sweep does not publish');
  },
};
const service = createCommandService({
  commands: new DynamoDbApiStores(ddb, { tableName: config.apiTable }).commands,
  publisher: noPublish,
  registry: new DynamoDbDeviceRegistry(ddb, {
    table: config.registryTable,
    deviceIndex: config.registryDeviceIndex,
  }),
  events: new EventBridgeEventSink(createEventBridgeClient(), { busName: config.eventBusName }),
  topicConfig: { app: config.app },
  newId: (now) => timeOrderedId('cmd', now),
});

async function handle(): Promise<{ timedOut: number }> {
  const timedOut = await service.sweepExpired(1000);
  if (timedOut > 0) logger.info('commands timed out', { timedOut });
  return { timedOut };
}

/** Lambda entry point. */
export const handler = middy(handle).use(injectLambdaContext(logger, { logEvent: false }));
