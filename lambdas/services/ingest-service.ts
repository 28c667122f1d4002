/**
 * The ingest pipeline as a pure function of the ports: the same code runs in the AWS Lambda (Timestream,
 * DynamoDB, S3, SQS, EventBridge adapters) and in the local stack (embedded adapters). No AWS imports, no
 * environment; the only clock is the DBC resolver's TTL, which is injected.
 *
 * For one {@link IngestRuleEvent}:
 * 1. identity — the MQTT client id is the thing name (`n/a` = not MQTT → IDENTITY_MISSING); the topic must
 *    be a telemetry topic and, for `dt/…` topics (direct or Basic Ingest), name that same thing;
 * 2. device — registered (DEVICE_UNKNOWN) and active (DEVICE_DISABLED);
 * 3. decode — the topic's format via `decodePayload`, within the decode limits (typed codes);
 * 4. authentication — a payload token, when the format carries one, is verified against the stored hash
 *    in constant time (TOKEN_MISMATCH); formats without a token rely on the X.509 certificate alone, which
 *    IoT Core has verified before the rule ran. A payload `device_id` must equal the thing
 *    (DEVICE_ID_MISMATCH);
 * 5. CAN frames — decoded with the device's DBC, resolved through the FileStore and cached compiled by ETag
 *    (DBC_NOT_ASSIGNED, DBC_NOT_FOUND, DBC_PARSE_ERROR…);
 * 6. store — points are written for the device's tenant; retryable failures that outlive the store's own
 *    retries throw {@link IngestRetryableError} (Lambda retries the event, then its on-failure
 *    destination keeps it; writes are idempotent, so retries never duplicate points); permanent
 *    rejections are dead-lettered with their reasons;
 * 7. afterwards — `onPoints` (alert evaluation), `lastSeen`, and system events.
 *
 * Accounting: every refusal is a dead letter (original payload + code + reason) AND a numbered system
 * event. Dead letters are sent first and their failure fails the invocation (Lambda retries); system
 * events are notifications, published last and best-effort, so a retry never duplicates a dead letter.
 */
import { decodeBase64Strict } from '../core/codecs/envelope.js';
import { decodePayload } from '../core/codecs/index.js';
import { isFleetwireError } from '../core/errors.js';
import { type DecodeLimits, resolveLimits } from '../core/limits.js';
import { type DecodeResult, emptyRecord, type Point } from '../core/model/point.js';
import { verifyToken } from '../core/token.js';
import {
  type IngestRuleEvent,
  NO_CLIENT_ID,
  parseTelemetryTopic,
  type TelemetryRoute,
} from '../core/topics.js';
import type { DeadLetter, DeadLetterSink } from '../ports/dead-letters.js';
import type { DeviceRecord, DeviceRegistry } from '../ports/device-registry.js';
import type { EventSink, SystemEvent } from '../ports/event-sink.js';
import type { TelemetryStore, WriteOutcome } from '../ports/telemetry-store.js';
import type { DbcResolver } from './dbc-resolver.js';
import { eventNumber, INGEST_CODES } from './ingest-codes.js';
import { parseIngestEvent } from './ingest-event.js';

/** Decodes a payload; the core's `decodePayload` unless a test injects another. */
export type PayloadDecoder = (
  bytes: Uint8Array,
  format: TelemetryRoute['format'],
  ctx: { device: string; receivedAt: number },
  limits?: Partial<DecodeLimits>,
) => DecodeResult;

/** The minimal logger the service needs (Powertools Logger fits). Never given payloads or tokens. */
export interface IngestLogger {
  warn(message: string, extra: Record<string, unknown>): void;
}

/** Everything the ingest service depends on. */
export interface IngestDependencies {
  readonly registry: DeviceRegistry;
  readonly store: TelemetryStore;
  readonly deadLetters: DeadLetterSink;
  readonly events: EventSink;
  /** DBC resolution and frame decoding. */
  readonly dbc: DbcResolver<unknown>;
  /** Payload decoding. @default decodePayload (lambdas/core/codecs) */
  readonly decode?: PayloadDecoder;
  /** Decode limit overrides. */
  readonly limits?: Partial<DecodeLimits>;
  /** Hook for alert evaluation: called with the points that were stored. Failures are logged, not retried. */
  readonly onPoints?: (tenant: string, points: readonly Point[]) => Promise<void>;
  /**
   * Key prefix every DBC object must live under, followed by the tenant: `<prefix><tenant>/…`. A device
   * pointing at another tenant's DBC is refused (DBC_NOT_FOUND). @default 'dbc/'
   */
  readonly dbcPrefix?: string;
  /**
   * The deployment's `<app>` topic segment. When set, `dt/` topics of another app are refused
   * (INVALID_TOPIC): the device policy already forbids them, this is defence in depth for Basic Ingest,
   * which reaches a rule whatever its FROM filter says. @default any app
   */
  readonly app?: string;
  /** `lastSeen` is written at most once per this interval per device. @default 60000 */
  readonly touchIntervalMs?: number;
  readonly log?: IngestLogger;
}

/** What happened to one message. */
export interface IngestOutcome {
  /**
   * `stored`: every point stored; `partial`: some points permanently rejected by the store (dead-lettered);
   * `rejected`: nothing stored, message dead-lettered; `empty`: valid message without points.
   */
  status: 'stored' | 'partial' | 'rejected' | 'empty';
  /** Points stored (or already present: duplicates are idempotent). */
  stored: number;
  /** Points the store rejected permanently. */
  rejected: number;
  /** Whether a dead letter was written for this message. */
  deadLettered: boolean;
  /** Code of the dead letter or, for `stored` with remarks, of the remark. */
  code?: string;
  /** Event number of `code`. */
  number?: number;
  tenant?: string;
  device?: string;
  format?: string;
  /** Decode and DBC warnings (skipped points or frames). */
  warnings: number;
  /** True when the `onPoints` hook failed. */
  hookFailed?: boolean;
}

/** The store kept failing transiently; thrown so Lambda retries the whole event. */
export class IngestRetryableError extends Error {
  /** Stable code. */
  readonly code = 'STORE_RETRY';
  constructor(
    readonly retryablePoints: number,
    readonly firstReason: string,
  ) {
    super(`${retryablePoints} point(s) could not be stored yet: ${firstReason}`);
    this.name = 'IngestRetryableError';
  }
}

/** At most this many rejected points are listed in a dead letter (the count is always complete). */
const MAX_LISTED_REJECTIONS = 100;
/** Reasons are cut to this length in dead letters and events. */
const MAX_REASON = 500;

const cut = (s: string): string => (s.length > MAX_REASON ? `${s.slice(0, MAX_REASON - 1)}…` : s);

interface Ctx {
  event: IngestRuleEvent;
  route?: TelemetryRoute;
  device?: DeviceRecord;
  format?: string;
}

/** The ingest service. */
export class IngestService {
  private readonly touchIntervalMs: number;
  private readonly dbcPrefix: string;
  private readonly limits: DecodeLimits;
  private readonly decode: PayloadDecoder;

  constructor(private readonly deps: IngestDependencies) {
    this.touchIntervalMs = deps.touchIntervalMs ?? 60_000;
    this.dbcPrefix = deps.dbcPrefix ?? 'dbc/';
    this.limits = resolveLimits(deps.limits);
    this.decode = deps.decode ?? decodePayload;
  }

  /**
   * Ingest a raw Lambda event: validate its shape, then {@link ingest}. A malformed event is
   * dead-lettered (INVALID_EVENT) with the event JSON as its payload.
   */
  async ingestRaw(raw: unknown): Promise<IngestOutcome> {
    const parsed = parseIngestEvent(raw);
    if (parsed.ok) return this.ingest(parsed.event);
    let json: string;
    try {
      json = JSON.stringify(raw) ?? String(raw);
    } catch {
      json = String(raw);
    }
    const event: IngestRuleEvent = {
      payload: Buffer.from(json.slice(0, 200_000), 'utf8').toString('base64'),
      topic: '',
      clientId: NO_CLIENT_ID,
      principal: '',
      receivedAt: 0,
    };
    return this.reject({ event }, 'INVALID_EVENT', parsed.reason);
  }

  /** Ingest one rule event. Throws only for infrastructure failures and {@link IngestRetryableError}. */
  async ingest(event: IngestRuleEvent): Promise<IngestOutcome> {
    const ctx: Ctx = { event };
    const { clientId } = event;
    // 1. identity
    if (clientId === NO_CLIENT_ID || clientId.length === 0) {
      return this.reject(ctx, 'IDENTITY_MISSING', INGEST_CODES.IDENTITY_MISSING);
    }
    try {
      ctx.route = parseTelemetryTopic(event.topic, clientId);
    } catch (e) {
      if (isFleetwireError(e)) return this.reject(ctx, e.code, e.message);
      throw e;
    }
    ctx.format = ctx.route.format;
    if (this.deps.app !== undefined && ctx.route.family === 'dt' && ctx.route.app !== this.deps.app) {
      return this.reject(ctx, 'INVALID_TOPIC', 'Topic belongs to another application');
    }
    // parseTelemetryTopic accepts `n/a`; here the thing must be the client id in every family.
    if (ctx.route.thing !== clientId) {
      return this.reject(ctx, 'TOPIC_IDENTITY_MISMATCH', 'Topic names a different device than the client id');
    }
    const thing = ctx.route.thing;

    // 2. device
    const device = await this.deps.registry.getByThing(thing);
    if (!device) return this.reject(ctx, 'DEVICE_UNKNOWN', `No registered device "${thing}"`);
    ctx.device = device;
    if (device.status !== 'active') {
      return this.reject(ctx, 'DEVICE_DISABLED', `Device "${thing}" is ${device.status}`);
    }

    // 3. decode
    let result: DecodeResult;
    try {
      // An empty MQTT payload arrives as an empty string: let the codec call it PAYLOAD_EMPTY.
      const bytes = event.payload === '' ? new Uint8Array(0) : decodeBase64Strict(event.payload, this.limits);
      result = this.decode(
        bytes,
        ctx.route.format,
        { device: thing, receivedAt: event.receivedAt },
        this.limits,
      );
    } catch (e) {
      if (isFleetwireError(e)) return this.reject(ctx, e.code, e.message);
      // A decoder bug is deterministic: retrying cannot help, so keep the payload for a fixed build.
      return this.reject(ctx, 'DECODE_INTERNAL', `Decoder failed: ${(e as Error).message}`);
    }
    ctx.format = result.format;

    // 4. authentication
    if (result.token !== undefined && result.token !== '' && !verifyToken(result.token, device.tokenHash)) {
      return this.reject(ctx, 'TOKEN_MISMATCH', INGEST_CODES.TOKEN_MISMATCH);
    }
    if (result.claimedDevice !== undefined && result.claimedDevice !== thing) {
      return this.reject(ctx, 'DEVICE_ID_MISMATCH', INGEST_CODES.DEVICE_ID_MISMATCH);
    }
    // The device is authenticated: it is alive, whatever becomes of the payload.
    await this.touch(device, event.receivedAt);

    // 5. CAN frames through the device's DBC
    const points: Point[] = result.points;
    const warnings = [...result.warnings];
    if (result.frames.length > 0) {
      const dbcKey = device.dbcKey;
      if (dbcKey === undefined || dbcKey === '') {
        return this.reject(ctx, 'DBC_NOT_ASSIGNED', INGEST_CODES.DBC_NOT_ASSIGNED);
      }
      if (!dbcKey.startsWith(`${this.dbcPrefix}${device.tenant}/`)) {
        return this.reject(ctx, 'DBC_NOT_FOUND', 'The assigned DBC is not a file of the device tenant');
      }
      const dbc = await this.deps.dbc.resolve(dbcKey);
      if (!dbc.ok) return this.reject(ctx, dbc.code, dbc.reason);
      let decoded: ReturnType<DbcResolver<unknown>['engine']['framesToPoints']>;
      try {
        decoded = this.deps.dbc.engine.framesToPoints(result.frames, dbc.compiled, thing);
      } catch (e) {
        if (isFleetwireError(e)) return this.reject(ctx, e.code, e.message);
        return this.reject(ctx, 'DECODE_INTERNAL', `DBC decoding failed: ${(e as Error).message}`);
      }
      for (const p of decoded.points) points.push(p);
      for (const w of decoded.warnings) warnings.push(w);
    }
    // Identity comes from the connection, never from the payload.
    for (const p of points) if (p.device !== thing) p.device = thing;

    const base: IngestOutcome = {
      status: 'stored',
      stored: 0,
      rejected: 0,
      deadLettered: false,
      tenant: device.tenant,
      device: thing,
      format: result.format,
      warnings: warnings.length,
    };
    const events: SystemEvent[] = [];
    if (warnings.length > 0) {
      const byCode = emptyRecord<number>();
      for (const w of warnings) byCode[w.code] = (byCode[w.code] ?? 0) + 1;
      events.push(
        this.event(ctx, 'ingest.warnings', 'DECODE_WARNINGS', {
          warnings: byCode,
          first: cut(warnings[0]?.message ?? ''),
        }),
      );
      base.code = 'DECODE_WARNINGS';
      base.number = eventNumber('DECODE_WARNINGS');
    }
    if (points.length === 0) {
      await this.publish(events);
      return { ...base, status: 'empty' };
    }

    // 6. store
    const written: WriteOutcome = await this.deps.store.write(device.tenant, points);
    const retryable = written.rejected.filter((r) => r.retryable);
    if (retryable.length > 0) {
      throw new IngestRetryableError(retryable.length, cut(retryable[0]?.reason ?? ''));
    }
    const permanent = written.rejected;
    const outcome: IngestOutcome = { ...base, stored: written.written, rejected: permanent.length };

    // 7. hook, dead letter for rejected points, events
    if (this.deps.onPoints) {
      const refused = new Set(permanent.map((r) => r.index));
      const stored = refused.size === 0 ? points : points.filter((_, i) => !refused.has(i));
      try {
        await this.deps.onPoints(device.tenant, stored);
      } catch (e) {
        outcome.hookFailed = true;
        this.deps.log?.warn('onPoints hook failed', { device: thing, error: (e as Error).message });
        events.push(
          this.event(ctx, 'ingest.hook_failed', 'HOOK_FAILED', { error: cut((e as Error).message) }),
        );
      }
    }
    if (permanent.length > 0) {
      const reason = `${permanent.length} of ${points.length} point(s) rejected by the store: ${cut(permanent[0]?.reason ?? '')}`;
      await this.deps.deadLetters.send({
        ...this.letterBase(ctx, 'STORE_REJECTED', reason),
        rejected: permanent
          .slice(0, MAX_LISTED_REJECTIONS)
          .map((r) => ({ index: r.index, reason: cut(r.reason) })),
      });
      events.push(
        this.event(ctx, 'ingest.rejected', 'STORE_REJECTED', {
          reason,
          rejected: permanent.length,
          stored: written.written,
        }),
      );
      outcome.status = written.written > 0 ? 'partial' : 'rejected';
      outcome.deadLettered = true;
      outcome.code = 'STORE_REJECTED';
      outcome.number = eventNumber('STORE_REJECTED');
    }
    await this.publish(events);
    return outcome;
  }

  /** Dead-letter the message and report it. */
  private async reject(ctx: Ctx, code: string, reason: string): Promise<IngestOutcome> {
    const safeReason = cut(reason);
    await this.deps.deadLetters.send(this.letterBase(ctx, code, safeReason));
    await this.publish([this.event(ctx, 'ingest.rejected', code, { reason: safeReason })]);
    const outcome: IngestOutcome = {
      status: 'rejected',
      stored: 0,
      rejected: 0,
      deadLettered: true,
      code,
      number: eventNumber(code),
      warnings: 0,
    };
    if (ctx.device) outcome.tenant = ctx.device.tenant;
    if (ctx.route) outcome.device = ctx.route.thing;
    if (ctx.format) outcome.format = ctx.format;
    return outcome;
  }

  private letterBase(ctx: Ctx, code: string, reason: string): DeadLetter {
    const { event } = ctx;
    const letter: DeadLetter = {
      code,
      reason,
      payloadBase64: event.payload,
      topic: event.topic,
      clientId: event.clientId,
      receivedAt: event.receivedAt,
    };
    if (ctx.device) letter.tenant = ctx.device.tenant;
    return letter;
  }

  private event(ctx: Ctx, type: string, code: string, detail: Record<string, unknown>): SystemEvent {
    const { event } = ctx;
    const e: SystemEvent = {
      type,
      code,
      number: eventNumber(code),
      time: event.receivedAt,
      detail: {
        topic: event.topic,
        clientId: event.clientId,
        ...(ctx.format ? { format: ctx.format } : {}),
        payloadBytes: Math.floor((event.payload.length * 3) / 4),
        ...detail,
      },
    };
    if (ctx.device) e.tenant = ctx.device.tenant;
    if (ctx.route) e.device = ctx.route.thing;
    return e;
  }

  /** System events are notifications: a failure is logged, never allowed to fail (and so repeat) ingest. */
  private async publish(events: SystemEvent[]): Promise<void> {
    if (events.length === 0) return;
    try {
      await this.deps.events.publish(events);
    } catch (e) {
      this.deps.log?.warn('system events could not be published', {
        error: (e as Error).message,
        codes: events.map((x) => x.code),
      });
    }
  }

  /** Advance `lastSeen`, at most once per interval; advisory, so failures are logged only. */
  private async touch(device: DeviceRecord, at: number): Promise<void> {
    if (device.lastSeen !== undefined && at - device.lastSeen < this.touchIntervalMs) return;
    try {
      await this.deps.registry.touch(device.deviceId, at);
    } catch (e) {
      this.deps.log?.warn('lastSeen update failed', { device: device.deviceId, error: (e as Error).message });
    }
  }
}
