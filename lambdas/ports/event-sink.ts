/**
 * System event port: decode/auth failures, device lifecycle and alert transitions, published with a
 * stable code (and an Avimesa-style event number). EventBridge on AWS, the local event log locally.
 */

/** A system event. */
export interface SystemEvent {
  /** Event family, e.g. `ingest.rejected`, `device.created`, `alert.transition`. */
  type: string;
  /** Stable code, e.g. an ERROR_CODES key. */
  code: string;
  /** Numbered event id (Avimesa-style system log numbering; see docs/events.md). */
  number?: number;
  tenant?: string;
  device?: string;
  /** Event time, epoch ms. */
  time: number;
  /** Secret-free structured detail. */
  detail: Record<string, unknown>;
}

/** The event sink port. */
export interface EventSink {
  publish(events: readonly SystemEvent[]): Promise<void>;
}
