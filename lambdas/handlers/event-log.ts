/**
 * The event-log Lambda: an EventBridge rule on the system-event bus (source `fleetwire`) sends every event
 * here, and it is stored per tenant in the API table, where `GET /v1/events` reads it (DynamoDB TTL ends
 * its retention). Events without a tenant are not part of any tenant's system log and are skipped.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { EventBridgeEvent } from 'aws-lambda';
import { createDynamoDbClient } from '../adapters/aws/clients.js';
import { DynamoDbApiStores } from '../adapters/aws/dynamodb-api-stores.js';
import type { SystemEvent } from '../ports/event-sink.js';
import { loadEventLogConfig } from './api-config.js';

const config = loadEventLogConfig(process.env);
const logger = new Logger({ serviceName: 'fleetwire-event-log' });
const log = new DynamoDbApiStores(createDynamoDbClient(), { tableName: config.apiTable }).events;

/** The system event carried by an EventBridge event, or undefined when it is not one. */
export function systemEventOf(e: EventBridgeEvent<string, unknown>): SystemEvent | undefined {
  const d = e.detail as Partial<SystemEvent> | null;
  if (typeof d !== 'object' || d === null) return undefined;
  if (typeof d.type !== 'string' || typeof d.code !== 'string' || typeof d.time !== 'number')
    return undefined;
  if (d.tenant !== undefined && typeof d.tenant !== 'string') return undefined;
  return {
    type: d.type,
    code: d.code,
    time: d.time,
    ...(typeof d.number === 'number' ? { number: d.number } : {}),
    ...(typeof d.tenant === 'string' ? { tenant: d.tenant } : {}),
    ...(typeof d.device === 'string' ? { device: d.device } : {}),
    detail: typeof d.detail === 'object' && d.detail !== null ? d.detail : {},
  };
}

async function handle(event: EventBridgeEvent<string, unknown>): Promise<void> {
  const e = systemEventOf(event);
  if (!e?.tenant) return;
  await log.publish([e]);
  logger.debug('event stored', { type: e.type, code: e.code });
}

/** Lambda entry point. */
export const handler = middy(handle).use(injectLambdaContext(logger, { logEvent: false }));
