/**
 * Event log port: the read side of system events (the tenant's system log behind `GET /v1/events`).
 * Writers publish through the {@link EventSink}; on AWS an EventBridge rule (or the sink itself) also
 * stores each event in a table this port reads; locally the embedded database is both.
 */
import type { SystemEvent } from './event-sink.js';

/** A stored system event with its id. */
export interface LoggedEvent extends SystemEvent {
  /** Unique, time-ordered id. */
  eventId: string;
  tenant: string;
}

/** The event log port. */
export interface EventLog {
  /** A tenant's events, newest first, optionally of one device and at or after `since` (epoch ms). */
  list(
    tenant: string,
    opts: { deviceId?: string; since?: number; limit: number; cursor?: string },
  ): Promise<{ items: LoggedEvent[]; next?: string }>;
}
