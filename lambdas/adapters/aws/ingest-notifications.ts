/**
 * The ingest path's notification sinks (SQS dead letters, EventBridge system events), in a module of
 * their own so the ingest wiring can load them on first use: a healthy message never needs them, so
 * their clients stay out of the cold start. esbuild bundles this module but evaluates it lazily.
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { DeadLetterSink } from '../../ports/dead-letters.js';
import type { EventSink } from '../../ports/event-sink.js';
import { EventBridgeEventSink } from './eventbridge-event-sink.js';
import { SqsDeadLetterSink } from './sqs-dead-letter-sink.js';

/** The dead-letter and system-event sinks of the ingest path (endpoint overrides: native SDK). */
export function createNotificationSinks(
  deadLetterQueueUrl: string,
  eventBusName: string,
): { deadLetters: DeadLetterSink; events: EventSink } {
  return {
    deadLetters: new SqsDeadLetterSink(new SQSClient({}), deadLetterQueueUrl),
    events: new EventBridgeEventSink(new EventBridgeClient({}), { busName: eventBusName }),
  };
}
