/**
 * What happens when a device answers a command or its connection changes; one function for the AWS
 * handler (IoT rules on `cmd/<app>/+/res|ack`, `$aws/events/presence/+/+` and
 * `$aws/events/subscriptions/subscribed/+`) and the local router.
 *
 * - A response arrives as the ingest rule event shape (base64 payload, topic, client id): the device is
 *   the topic's thing, which must equal the MQTT client id when there is one (the IoT policy already
 *   ensures a device can publish only on its own topics).
 * - A presence event (`eventType` connected/disconnected) updates the registry's `connected` flag, ordered
 *   by event time (lifecycle events can arrive late, duplicated and out of order).
 * - A subscription event (`eventType` subscribed) whose topics cover the device's command topic delivers
 *   the commands held while the device was offline. Not the connect: a device subscribes after its
 *   CONNACK, so a command published at connect time can reach the broker before the SUBSCRIBE and be lost
 *   while recorded SENT. The local broker does the same (`onCommandsSubscribed`).
 */
import {
  commandTopic,
  DEFAULT_TOPIC_CONFIG,
  matchTopicFilter,
  NO_CLIENT_ID,
  parseCommandTopic,
  THING_NAME_PATTERN,
} from '../core/topics.js';
import type { DeviceRecord, DeviceRegistry } from '../ports/device-registry.js';
import type { CommandService, ResponseOutcome } from './command-service.js';

/** An AWS IoT presence event (`$aws/events/presence/connected|disconnected/<clientId>`). */
export interface LifecycleEvent {
  clientId: string;
  eventType: 'connected' | 'disconnected';
  /** Event time, epoch ms (AWS: accurate to about ±2 minutes, but ordered per client). */
  timestamp?: number;
}

/**
 * An AWS IoT subscription event (`$aws/events/subscriptions/subscribed/<clientId>`): the topic filters of
 * one SUBSCRIBE packet of the client.
 */
export interface SubscriptionEvent {
  clientId: string;
  eventType: 'subscribed';
  topics: string[];
  timestamp?: number;
}

/** A command response as delivered by the rule (same shape as the ingest rule event). */
export interface ResponseEvent {
  payload: string;
  topic: string;
  clientId?: string;
}

/** What handling one event did. */
export type CommandEventOutcome =
  | { kind: 'response'; outcome: ResponseOutcome }
  | {
      kind: 'lifecycle';
      /** The lifecycle event applied. */
      event: 'connected' | 'disconnected' | 'subscribed';
      deviceId: string;
      connected: boolean;
      /** False when a newer lifecycle event was already recorded (this one was late or a duplicate). */
      recorded: boolean;
      sent: number;
      timedOut: number;
    }
  | { kind: 'ignored'; reason: string };

/** Dependencies of {@link handleCommandEvent}. */
export interface CommandEventDeps {
  registry: DeviceRegistry;
  commands: CommandService;
  /** The `<app>` segment of command topics. @default DEFAULT_TOPIC_CONFIG.app */
  app?: string;
  /** Clock for events without a timestamp. @default Date.now */
  clock?: () => number;
}

/** Bounds on a subscription event (MQTT allows many filters per SUBSCRIBE; a device needs one). */
const MAX_TOPICS = 64;
const MAX_FILTER_LENGTH = 512;

function record(e: unknown): Record<string, unknown> | undefined {
  return typeof e === 'object' && e !== null && !Array.isArray(e)
    ? (e as Record<string, unknown>)
    : undefined;
}

function isLifecycle(e: unknown): e is LifecycleEvent {
  const o = record(e);
  return (
    o !== undefined &&
    typeof o.clientId === 'string' &&
    (o.eventType === 'connected' || o.eventType === 'disconnected')
  );
}

function isSubscription(e: unknown): e is SubscriptionEvent {
  const o = record(e);
  return (
    o !== undefined &&
    typeof o.clientId === 'string' &&
    o.eventType === 'subscribed' &&
    Array.isArray(o.topics) &&
    o.topics.length <= MAX_TOPICS &&
    o.topics.every((t) => typeof t === 'string' && t.length <= MAX_FILTER_LENGTH)
  );
}

function isResponse(e: unknown): e is ResponseEvent {
  const o = record(e);
  return o !== undefined && typeof o.payload === 'string' && typeof o.topic === 'string';
}

/** The event time when it is a usable epoch-ms number, else the clock. */
function eventTime(timestamp: unknown, clock: () => number): number {
  return typeof timestamp === 'number' && Number.isSafeInteger(timestamp) && timestamp > 0
    ? timestamp
    : clock();
}

/**
 * Record a connection state: a field-level conditional update where the registry offers one, else (a
 * registry without `recordConnection`) a record rewrite when the flag changes.
 */
async function recordConnection(
  registry: DeviceRegistry,
  device: DeviceRecord,
  connected: boolean,
  at: number,
): Promise<boolean> {
  if (registry.recordConnection)
    return registry.recordConnection(device.tenant, device.deviceId, connected, at);
  if (device.connected === connected) return true;
  await registry.put({ ...device, connected });
  return true;
}

/** Handle one rule event. Never throws on hostile input; store failures propagate (so Lambda retries). */
export async function handleCommandEvent(
  event: unknown,
  deps: CommandEventDeps,
): Promise<CommandEventOutcome> {
  const clock = deps.clock ?? Date.now;
  if (isLifecycle(event)) {
    const device = await deps.registry.getByThing(event.clientId);
    if (!device || device.status === 'deleted') return { kind: 'ignored', reason: 'unknown device' };
    const connected = event.eventType === 'connected';
    const recorded = await recordConnection(
      deps.registry,
      device,
      connected,
      eventTime(event.timestamp, clock),
    );
    return {
      kind: 'lifecycle',
      event: event.eventType,
      deviceId: device.deviceId,
      connected,
      recorded,
      sent: 0,
      timedOut: 0,
    };
  }
  if (isSubscription(event)) {
    if (!THING_NAME_PATTERN.test(event.clientId)) return { kind: 'ignored', reason: 'not a device client' };
    const req = commandTopic(deps.app ?? DEFAULT_TOPIC_CONFIG.app, event.clientId, 'req');
    if (!event.topics.some((filter) => matchTopicFilter(filter, req))) {
      return { kind: 'ignored', reason: 'subscription does not cover the command topic' };
    }
    const device = await deps.registry.getByThing(event.clientId);
    if (!device || device.status === 'deleted') return { kind: 'ignored', reason: 'unknown device' };
    // A subscription proves a live session at its time: record it as connected (a newer disconnect, if
    // already recorded, wins, and then nothing is sent into the closed session).
    const recorded = await recordConnection(deps.registry, device, true, eventTime(event.timestamp, clock));
    if (!recorded && (await deps.registry.get(device.tenant, device.deviceId))?.connected === false) {
      return {
        kind: 'lifecycle',
        event: 'subscribed',
        deviceId: device.deviceId,
        connected: false,
        recorded,
        sent: 0,
        timedOut: 0,
      };
    }
    const r = await deps.commands.onDeviceConnected(device.tenant, device.deviceId);
    return {
      kind: 'lifecycle',
      event: 'subscribed',
      deviceId: device.deviceId,
      connected: true,
      recorded,
      ...r,
    };
  }
  if (isResponse(event)) {
    let thing: string;
    try {
      const route = parseCommandTopic(event.topic);
      if (route.kind === 'req')
        return { kind: 'ignored', reason: 'req topics carry commands, not responses' };
      thing = route.thing;
    } catch {
      return { kind: 'ignored', reason: 'not a command topic' };
    }
    if (event.clientId !== undefined && event.clientId !== NO_CLIENT_ID && event.clientId !== thing) {
      return { kind: 'ignored', reason: 'topic names another device than the client' };
    }
    if (event.payload.length > 32_768 || !/^[A-Za-z0-9+/]*={0,2}$/.test(event.payload)) {
      return { kind: 'ignored', reason: 'payload is not base64' };
    }
    const outcome = await deps.commands.handleResponse(thing, Buffer.from(event.payload, 'base64'));
    return { kind: 'response', outcome };
  }
  return { kind: 'ignored', reason: 'unrecognised event' };
}
