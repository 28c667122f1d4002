/**
 * Validation of the Lambda event against the {@link IngestRuleEvent} shape the topic rules produce. A
 * hand-written check (no schema library) so the service stays dependency-free for the local stack.
 */
import type { IngestRuleEvent } from '../core/topics.js';

/** Longest base64 payload accepted: IoT Core's 128 KB message limit, base64-encoded, with slack. */
export const MAX_EVENT_PAYLOAD_CHARS = Math.ceil((128 * 1024) / 3) * 4 + 4;
/** Longest topic, client id or principal accepted (topics are ≤ 256 bytes; Basic Ingest adds a prefix). */
const MAX_TEXT = 1024;

/** The event, or why it is not one. */
export type ParsedIngestEvent = { ok: true; event: IngestRuleEvent } | { ok: false; reason: string };

/** Check that `raw` is an ingest rule event. Never throws. */
export function parseIngestEvent(raw: unknown): ParsedIngestEvent {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, reason: 'event is not an object' };
  }
  const r = raw as Record<string, unknown>;
  const text = (k: string, max: number): string | undefined => {
    const v = r[k];
    return typeof v === 'string' && v.length <= max ? v : undefined;
  };
  const payload = text('payload', MAX_EVENT_PAYLOAD_CHARS);
  if (payload === undefined)
    return { ok: false, reason: 'payload must be a base64 string of at most 128 KB' };
  const topic = text('topic', MAX_TEXT);
  if (topic === undefined) return { ok: false, reason: 'topic must be a string' };
  // IoT omits a SELECT alias whose value is undefined; treat missing identity as "n/a" and let the
  // service reject it with a proper code.
  const clientId = r.clientId === undefined ? 'n/a' : text('clientId', MAX_TEXT);
  if (clientId === undefined) return { ok: false, reason: 'clientId must be a string' };
  const principal = r.principal === undefined ? '' : text('principal', MAX_TEXT);
  if (principal === undefined) return { ok: false, reason: 'principal must be a string' };
  const receivedAt = r.receivedAt;
  if (typeof receivedAt !== 'number' || !Number.isSafeInteger(receivedAt) || receivedAt < 0) {
    return { ok: false, reason: 'receivedAt must be epoch milliseconds' };
  }
  return { ok: true, event: { payload, topic, clientId, principal, receivedAt } };
}
