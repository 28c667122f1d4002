/**
 * EventSink on EventBridge: `PutEvents` in chunks of 10 (the API maximum), source `fleetwire`, detail-type
 * the event family (`ingest.rejected`…), detail the {@link SystemEvent} itself. Entries EventBridge
 * reports as failed are retried with backoff; if some still fail the call throws.
 */
import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { SYSTEM_EVENT_SOURCE } from '../../core/deployment-contract.js';
import type { EventSink, SystemEvent } from '../../ports/event-sink.js';
import { backoffDelay, DEFAULT_RETRY_POLICY, type RetryPolicy, realSleep, type Sleep } from './retry.js';

/** `Source` of every Fleetwire event (the bus archive filters on it). */
export const EVENT_SOURCE = SYSTEM_EVENT_SOURCE;
/** PutEvents accepts at most 10 entries per call. */
export const PUT_EVENTS_MAX_ENTRIES = 10;

/** Thrown when entries still fail after the retries. */
export class EventPublishError extends Error {
  /** Stable code. */
  readonly code = 'EVENT_PUBLISH_FAILED';
  constructor(
    readonly failed: number,
    readonly firstError: string,
  ) {
    super(`${failed} event(s) could not be published: ${firstError}`);
    this.name = 'EventPublishError';
  }
}

/** Options of {@link EventBridgeEventSink}. */
export interface EventBridgeSinkOptions {
  readonly busName: string;
  readonly retry?: RetryPolicy;
  readonly sleep?: Sleep;
}

/** The EventBridge system-event sink. */
export class EventBridgeEventSink implements EventSink {
  private readonly retry: RetryPolicy;
  private readonly sleep: Sleep;

  constructor(
    private readonly client: EventBridgeClient,
    private readonly opts: EventBridgeSinkOptions,
  ) {
    this.retry = opts.retry ?? DEFAULT_RETRY_POLICY;
    this.sleep = opts.sleep ?? realSleep;
  }

  /** Publish events in chunks of 10. */
  async publish(events: readonly SystemEvent[]): Promise<void> {
    for (let i = 0; i < events.length; i += PUT_EVENTS_MAX_ENTRIES) {
      await this.putChunk(events.slice(i, i + PUT_EVENTS_MAX_ENTRIES).map((e) => this.entry(e)));
    }
  }

  private entry(e: SystemEvent): PutEventsRequestEntry {
    return {
      EventBusName: this.opts.busName,
      Source: EVENT_SOURCE,
      DetailType: e.type,
      Time: new Date(e.time),
      Detail: JSON.stringify(e),
    };
  }

  private async putChunk(entries: PutEventsRequestEntry[]): Promise<void> {
    let pending = entries;
    let firstError = '';
    for (let attempt = 0; attempt < this.retry.maxAttempts; attempt++) {
      if (attempt > 0) await this.sleep(backoffDelay(attempt - 1, this.retry));
      const out = await this.client.send(new PutEventsCommand({ Entries: pending }));
      if (!out.FailedEntryCount) return;
      const failed: PutEventsRequestEntry[] = [];
      (out.Entries ?? []).forEach((r, i) => {
        if (r.ErrorCode && pending[i]) {
          failed.push(pending[i]);
          firstError ||= `${r.ErrorCode}: ${r.ErrorMessage ?? ''}`;
        }
      });
      if (failed.length === 0) return;
      pending = failed;
    }
    throw new EventPublishError(pending.length, firstError);
  }
}
