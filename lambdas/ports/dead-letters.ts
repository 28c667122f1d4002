/**
 * Dead-letter port: every message that cannot be stored goes here with its reason, so it can be
 * inspected and replayed (`fleetwire replay`). SQS on AWS, the embedded database locally.
 */

/** A dead-lettered message. */
export interface DeadLetter {
  /** Stable error code (see docs/errors.md) or a store rejection code. */
  code: string;
  /** Human-readable reason; never contains the payload token. */
  reason: string;
  /** Original payload, base64. */
  payloadBase64: string;
  /** MQTT topic the message arrived on. */
  topic?: string;
  /** MQTT client id of the sender (authenticated identity). */
  clientId?: string;
  /** Tenant, when the device was resolved. */
  tenant?: string;
  /** Receive time, epoch ms. */
  receivedAt: number;
  /** For store rejections: the rejected point indexes and reasons. */
  rejected?: { index: number; reason: string }[];
}

/** The dead-letter sink port. */
export interface DeadLetterSink {
  send(letter: DeadLetter): Promise<void>;
}
