/**
 * What happens when a device answers a command or its connection changes; one function for the AWS
 * handler (IoT rules on `cmd/<app>/+/res|ack` and `$aws/events/presence/+/+`) and the local router.
 *
 * - A response arrives as the ingest rule event shape (base64 payload, topic, client id): the device is
 *   the topic's thing, which must equal the MQTT client id when there is one (the IoT policy already
 *   ensures a device can publish only on its own topics).
 * - A lifecycle event (`eventType` connected/disconnected) updates the registry's `connected` flag and, on
 *   connect, delivers the commands held while the device was offline.
 */
import { NO_CLIENT_ID, parseCommandTopic } from '../core/topics.js';
import type { DeviceRegistry } from '../ports/device-registry.js';
import type { CommandService, ResponseOutcome } from './command-service.js';

/** An AWS IoT lifecycle event (`$aws/events/presence/connected|disconnected/<clientId>`). */
export interface LifecycleEvent {
  clientId: string;
  eventType: 'connected' | 'disconnected';
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
  | { kind: 'lifecycle'; deviceId: string; connected: boolean; sent: number; timedOut: number }
  | { kind: 'ignored'; reason: string };

function isLifecycle(e: unknown): e is LifecycleEvent {
  const o = e as Record<string, unknown> | null;
  return (
    typeof o === 'object' &&
    o !== null &&
    typeof o.clientId === 'string' &&
    (o.eventType === 'connected' || o.eventType === 'disconnected')
  );
}

function isResponse(e: unknown): e is ResponseEvent {
  const o = e as Record<string, unknown> | null;
  return typeof o === 'object' && o !== null && typeof o.payload === 'string' && typeof o.topic === 'string';
}

/** Handle one rule event. Never throws on hostile input; store failures propagate (so Lambda retries). */
export async function handleCommandEvent(
  event: unknown,
  deps: { registry: DeviceRegistry; commands: CommandService },
): Promise<CommandEventOutcome> {
  if (isLifecycle(event)) {
    const device = await deps.registry.getByThing(event.clientId);
    if (!device || device.status === 'deleted') return { kind: 'ignored', reason: 'unknown device' };
    const connected = event.eventType === 'connected';
    if (device.connected !== connected) await deps.registry.put({ ...device, connected });
    if (!connected) return { kind: 'lifecycle', deviceId: device.deviceId, connected, sent: 0, timedOut: 0 };
    const r = await deps.commands.onDeviceConnected(device.tenant, device.deviceId);
    return { kind: 'lifecycle', deviceId: device.deviceId, connected, ...r };
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
