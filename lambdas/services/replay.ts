/**
 * Replay of dead-lettered messages through ingest, once their cause is fixed (a device registered, a DBC
 * assigned, a decoder fixed). Port-only: the source (SQS on AWS, the local store later) and the target
 * (the ingest service) are injected.
 *
 * A message is deleted from its source only when ingest accepts it (stored or empty). When it fails
 * again it stays where it is, untouched, and is counted as `failedAgain` with its new code: the replay
 * target must not write a second dead letter (the CLI gives the service a capturing sink), so a replay
 * never duplicates a dead letter. Messages that arrived after the replay started are left alone, so a
 * replay cannot chase its own tail.
 *
 * Three message shapes are understood:
 * - Fleetwire dead letters (`DeadLetter` JSON, lambdas/ports/dead-letters.ts);
 * - IoT rule error-action messages (`base64OriginalPayload`, `topic`, `clientId`, `failures`);
 * - Lambda on-failure destination records (`requestPayload` = the original rule event).
 */
import type { IngestRuleEvent } from '../core/topics.js';
import { parseIngestEvent } from './ingest-event.js';
import type { IngestOutcome } from './ingest-service.js';

/** One message of a dead-letter source. */
export interface DeadLetterMessage {
  /** Source-unique id. */
  readonly id: string;
  readonly body: string;
  /** When the source received it, epoch ms (SQS `SentTimestamp`). */
  readonly sentAt?: number;
  /** Opaque handle for delete/release. */
  readonly handle: string;
}

/** Where dead letters are read from. */
export interface DeadLetterSource {
  /** Up to `max` messages, hidden from other readers until deleted or released. */
  receive(max: number): Promise<DeadLetterMessage[]>;
  /** Remove a message for good. */
  delete(message: DeadLetterMessage): Promise<void>;
  /** Make a message visible again, unchanged. */
  release(message: DeadLetterMessage): Promise<void>;
}

/** The shape a message was recognised as. */
export type DeadLetterKind = 'dead-letter' | 'rule-error' | 'lambda-failure';

/** A message turned back into the rule event that produced it. */
export type ParsedDeadLetter =
  | { ok: true; kind: DeadLetterKind; event: IngestRuleEvent; code?: string }
  | { ok: false; reason: string };

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Recover the rule event from a dead-letter message body. Never throws. */
export function parseDeadLetter(body: string, sentAt?: number): ParsedDeadLetter {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { ok: false, reason: 'body is not JSON' };
  }
  if (!isObj(json)) return { ok: false, reason: 'body is not a JSON object' };

  // Lambda on-failure destination record.
  if (isObj(json.requestPayload) && isObj(json.requestContext)) {
    const p = parseIngestEvent(json.requestPayload);
    return p.ok ? { ok: true, kind: 'lambda-failure', event: p.event } : { ok: false, reason: p.reason };
  }

  // IoT rule error action.
  if (typeof json.base64OriginalPayload === 'string') {
    const p = parseIngestEvent({
      payload: json.base64OriginalPayload,
      topic: json.topic,
      clientId: typeof json.clientId === 'string' ? json.clientId : undefined,
      principal: '',
      receivedAt: sentAt ?? 0,
    });
    return p.ok ? { ok: true, kind: 'rule-error', event: p.event } : { ok: false, reason: p.reason };
  }

  // Fleetwire dead letter.
  if (typeof json.payloadBase64 === 'string' && typeof json.code === 'string') {
    if (json.code === 'INVALID_EVENT') {
      // The payload is the malformed Lambda event itself: replayable only if it has since become valid.
      let inner: unknown;
      try {
        inner = JSON.parse(Buffer.from(json.payloadBase64, 'base64').toString('utf8'));
      } catch {
        return { ok: false, reason: 'INVALID_EVENT dead letter does not hold a JSON event' };
      }
      const p = parseIngestEvent(inner);
      return p.ok
        ? { ok: true, kind: 'dead-letter', event: p.event, code: json.code }
        : { ok: false, reason: `INVALID_EVENT: ${p.reason}` };
    }
    const p = parseIngestEvent({
      payload: json.payloadBase64,
      topic: json.topic ?? '',
      clientId: json.clientId,
      principal: '',
      receivedAt: typeof json.receivedAt === 'number' ? json.receivedAt : (sentAt ?? 0),
    });
    return p.ok
      ? { ok: true, kind: 'dead-letter', event: p.event, code: json.code }
      : { ok: false, reason: p.reason };
  }
  return { ok: false, reason: 'not a dead letter, rule error or Lambda failure record' };
}

/** Options of {@link replayDeadLetters}. */
export interface ReplayOptions {
  /** Most messages to look at. @default 1000 */
  readonly max?: number;
  /** Only count messages by code; change nothing. @default false */
  readonly dryRun?: boolean;
  /** Messages sent after this time (epoch ms) are left alone. @default no limit */
  readonly startedAt?: number;
  /** Called after each message (progress output). */
  readonly onMessage?: (m: { id: string; result: ReplayResult; code?: string }) => void;
}

/** What happened to one message. */
export type ReplayResult = 'succeeded' | 'failed-again' | 'unreadable' | 'skipped' | 'counted';

/** Counts of a replay run. */
export interface ReplaySummary {
  /** Messages pushed back through ingest. */
  replayed: number;
  /** Accepted by ingest and deleted from the source. */
  succeeded: number;
  /** Refused again (left in the source). */
  failedAgain: number;
  /** Not recognisable as a dead letter (left in the source). */
  unreadable: number;
  /** Arrived after the replay started (left in the source). */
  skipped: number;
  /** Original codes (dry run) or new codes (failures), with counts. */
  codes: Record<string, number>;
}

/**
 * Replay up to `max` messages from `source` through `ingest`. Messages are kept hidden until the run
 * ends, so each is seen once; the ones not deleted are released at the end.
 */
export async function replayDeadLetters(
  source: DeadLetterSource,
  ingest: (event: IngestRuleEvent) => Promise<IngestOutcome>,
  opts: ReplayOptions = {},
): Promise<ReplaySummary> {
  const max = opts.max ?? 1000;
  const summary: ReplaySummary = {
    replayed: 0,
    succeeded: 0,
    failedAgain: 0,
    unreadable: 0,
    skipped: 0,
    codes: Object.create(null) as Record<string, number>,
  };
  const count = (code: string) => {
    summary.codes[code] = (summary.codes[code] ?? 0) + 1;
  };
  const keep: DeadLetterMessage[] = [];
  const seen = new Set<string>();
  let looked = 0;
  try {
    while (looked < max) {
      const batch = await source.receive(Math.min(10, max - looked));
      if (batch.length === 0) break;
      for (const m of batch) {
        if (seen.has(m.id)) {
          keep.push(m);
          continue;
        }
        seen.add(m.id);
        looked++;
        const report = (result: ReplayResult, code?: string) =>
          opts.onMessage?.({ id: m.id, result, ...(code ? { code } : {}) });
        if (opts.startedAt !== undefined && m.sentAt !== undefined && m.sentAt > opts.startedAt) {
          summary.skipped++;
          keep.push(m);
          report('skipped');
          continue;
        }
        const parsed = parseDeadLetter(m.body, m.sentAt);
        if (!parsed.ok) {
          summary.unreadable++;
          count('UNREADABLE');
          keep.push(m);
          report('unreadable', 'UNREADABLE');
          continue;
        }
        if (opts.dryRun) {
          const code = parsed.code ?? parsed.kind.toUpperCase().replace('-', '_');
          count(code);
          keep.push(m);
          report('counted', code);
          continue;
        }
        summary.replayed++;
        let outcome: IngestOutcome | undefined;
        let failure: string | undefined;
        try {
          outcome = await ingest(parsed.event);
        } catch (e) {
          failure =
            (e as { code?: unknown }).code !== undefined
              ? String((e as { code: unknown }).code)
              : (e as Error).name;
        }
        if (outcome && !outcome.deadLettered) {
          await source.delete(m);
          summary.succeeded++;
          report('succeeded');
        } else {
          const code = outcome?.code ?? failure ?? 'UNKNOWN';
          summary.failedAgain++;
          count(code);
          keep.push(m);
          report('failed-again', code);
        }
      }
    }
  } finally {
    for (const m of keep) await source.release(m);
  }
  return summary;
}
