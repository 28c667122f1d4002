/**
 * Tracked commands: creating and delivering them, and applying the device's responses.
 *
 * Lifecycle: QUEUED → SENT → ACKNOWLEDGED → SUCCEEDED | FAILED | REJECTED, or TIMED_OUT once `expiresAt`
 * passes without a final answer. Every move is a conditional store transition from an explicit set of
 * earlier states, so a duplicate, late or reordered response can never move a command backwards, and two
 * concurrent writers cannot both win. A device's response to a command in QUEUED (it got the message
 * before we recorded SENT) is accepted. Final states are never left.
 *
 * Delivery: a command is published at once unless the registry knows the device is offline; then it waits
 * in QUEUED and {@link CommandService.onDeviceConnected} (driven by IoT lifecycle events or the local
 * broker) sends it, or times it out if it expired meanwhile. Expiry is also applied lazily whenever a
 * command is read, so a command never shows as pending after its deadline.
 *
 * The device receives `{"command_id", "action", "payload", "expires_at"}` on `cmd/<app>/<thing>/req` and
 * answers on `cmd/<app>/<thing>/res` (or `ack`) with `{"command_id", "status", "detail"?}`.
 */
import { commandTopic, DEFAULT_TOPIC_CONFIG, type TopicConfig } from '../core/topics.js';
import type { CommandRecord, CommandStatus, CommandStore, DevicePublisher } from '../ports/commands.js';
import type { DeviceRecord, DeviceRegistry } from '../ports/device-registry.js';
import type { EventSink, SystemEvent } from '../ports/event-sink.js';

/** States a command never leaves. */
export const FINAL_STATUSES: readonly CommandStatus[] = Object.freeze([
  'SUCCEEDED',
  'FAILED',
  'REJECTED',
  'TIMED_OUT',
]);
/** States in which a command is still in flight. */
export const OPEN_STATUSES: readonly CommandStatus[] = Object.freeze(['QUEUED', 'SENT', 'ACKNOWLEDGED']);

/** Statuses a device may report. */
export const DEVICE_STATUSES = ['ACKNOWLEDGED', 'SUCCEEDED', 'FAILED', 'REJECTED'] as const;
/** A status a device may report. */
export type DeviceReportedStatus = (typeof DEVICE_STATUSES)[number];

/** The only states each status may be entered from. */
export const ALLOWED_FROM: Readonly<Record<CommandStatus, readonly CommandStatus[]>> = Object.freeze({
  QUEUED: [],
  SENT: ['QUEUED'],
  ACKNOWLEDGED: ['QUEUED', 'SENT'],
  SUCCEEDED: OPEN_STATUSES,
  FAILED: OPEN_STATUSES,
  REJECTED: OPEN_STATUSES,
  TIMED_OUT: OPEN_STATUSES,
});

/** True when `status` is final. */
export function isFinal(status: CommandStatus): boolean {
  return FINAL_STATUSES.includes(status);
}

/** Limits on what a device may send back. */
const MAX_RESPONSE_BYTES = 16_384;
const MAX_DETAIL_BYTES = 4096;
const COMMAND_ID_RE = /^[a-z0-9_]{1,64}$/;

/** What applying a device response did. `code` is stable (docs/api.md, system events). */
export type ResponseOutcome =
  | { applied: true; command: CommandRecord }
  | {
      applied: false;
      code:
        | 'RESPONSE_INVALID'
        | 'UNKNOWN_DEVICE'
        | 'UNKNOWN_COMMAND'
        | 'DUPLICATE_OR_STALE'
        | 'COMMAND_FINAL';
      message: string;
      commandId?: string;
    };

/** The message a device receives on its command topic. */
export interface CommandMessage {
  command_id: string;
  action: string;
  payload: Record<string, unknown>;
  expires_at: string;
}

/** Dependencies of the command service. */
export interface CommandServiceDeps {
  commands: CommandStore;
  publisher: DevicePublisher;
  registry: DeviceRegistry;
  events: EventSink;
  topicConfig?: Partial<TopicConfig>;
  clock?: () => number;
  /** New command ids (time-ordered). */
  newId: (now: number) => string;
  /**
   * The payload actually sent, computed at send time (e.g. a fresh presigned firmware URL for a command
   * that waited while its device was offline). @default the stored payload
   */
  preparePayload?: (cmd: CommandRecord) => Promise<Record<string, unknown>>;
  /** Called when a publish fails (the command stays QUEUED and is retried on the next connect). */
  onPublishError?: (err: unknown, cmd: CommandRecord) => void;
}

/** The command service. */
export interface CommandService {
  /** Create a command for a device and deliver it (or hold it while the device is offline). */
  submit(
    device: DeviceRecord,
    action: string,
    payload: Record<string, unknown>,
    expiresInSeconds: number,
  ): Promise<CommandRecord>;
  /** Read a command of a tenant, applying expiry first. */
  get(tenant: string, commandId: string): Promise<CommandRecord | undefined>;
  /** Time a command out if it is open and past its deadline; returns the current record. */
  expireIfDue(cmd: CommandRecord): Promise<CommandRecord>;
  /** Apply a response a device published on its `res`/`ack` topic. `deviceId` comes from the topic/client id. */
  handleResponse(deviceId: string, payload: Uint8Array | string): Promise<ResponseOutcome>;
  /** Deliver held commands of a device that just connected (and time out the expired ones). */
  onDeviceConnected(tenant: string, deviceId: string): Promise<{ sent: number; timedOut: number }>;
  /**
   * Time out every open command past its deadline (scheduled sweep); 0 when the store cannot list expired
   * commands. At most `limit` per call.
   */
  sweepExpired(limit?: number): Promise<number>;
}

/** Create the command service. */
export function createCommandService(deps: CommandServiceDeps): CommandService {
  const clock = deps.clock ?? Date.now;
  const app = deps.topicConfig?.app ?? DEFAULT_TOPIC_CONFIG.app;

  async function emit(event: SystemEvent): Promise<void> {
    try {
      await deps.events.publish([event]);
    } catch {
      // The command state is the record of truth; a lost system event must not fail the command path.
    }
  }

  async function emitTransition(cmd: CommandRecord): Promise<void> {
    const firmware = cmd.action === 'FIRMWARE_UPDATE';
    if (!firmware && cmd.status !== 'TIMED_OUT' && cmd.status !== 'FAILED' && cmd.status !== 'REJECTED')
      return;
    await emit({
      type: firmware ? 'firmware.update' : 'command.finished',
      code: `COMMAND_${cmd.status}`,
      tenant: cmd.tenant,
      device: cmd.deviceId,
      time: clock(),
      detail: {
        commandId: cmd.commandId,
        action: cmd.action,
        status: cmd.status,
        ...(cmd.result ? { result: cmd.result } : {}),
      },
    });
  }

  async function send(cmd: CommandRecord): Promise<CommandRecord> {
    let payload = cmd.payload;
    try {
      payload = deps.preparePayload ? await deps.preparePayload(cmd) : cmd.payload;
    } catch (err) {
      deps.onPublishError?.(err, cmd);
      return cmd;
    }
    const message: CommandMessage = {
      command_id: cmd.commandId,
      action: cmd.action,
      payload,
      expires_at: new Date(cmd.expiresAt).toISOString(),
    };
    try {
      await deps.publisher.publish(commandTopic(app, cmd.deviceId, 'req'), JSON.stringify(message), 1);
    } catch (err) {
      deps.onPublishError?.(err, cmd);
      return cmd;
    }
    const moved = await deps.commands.transition(
      cmd.tenant,
      cmd.commandId,
      ALLOWED_FROM.SENT,
      'SENT',
      clock(),
    );
    // Undefined: the device already answered (its response raced our write) — re-read the winner.
    return moved ?? (await deps.commands.get(cmd.tenant, cmd.commandId)) ?? cmd;
  }

  async function expireIfDue(cmd: CommandRecord): Promise<CommandRecord> {
    const now = clock();
    if (isFinal(cmd.status) || now < cmd.expiresAt) return cmd;
    const moved = await deps.commands.transition(
      cmd.tenant,
      cmd.commandId,
      ALLOWED_FROM.TIMED_OUT,
      'TIMED_OUT',
      now,
    );
    if (moved) {
      await emitTransition(moved);
      return moved;
    }
    return (await deps.commands.get(cmd.tenant, cmd.commandId)) ?? cmd;
  }

  return {
    async submit(device, action, payload, expiresInSeconds) {
      const now = clock();
      const cmd: CommandRecord = {
        tenant: device.tenant,
        deviceId: device.deviceId,
        commandId: deps.newId(now),
        action,
        payload,
        status: 'QUEUED',
        createdAt: now,
        updatedAt: now,
        expiresAt: now + expiresInSeconds * 1000,
        history: [{ status: 'QUEUED', at: now }],
      };
      await deps.commands.create(cmd);
      if (device.connected === false) return cmd;
      return send(cmd);
    },

    async get(tenant, commandId) {
      const cmd = await deps.commands.get(tenant, commandId);
      return cmd ? expireIfDue(cmd) : undefined;
    },

    expireIfDue,

    async handleResponse(deviceId, payload) {
      const parsed = parseResponse(payload);
      if ('error' in parsed) return { applied: false, code: 'RESPONSE_INVALID', message: parsed.error };
      const { commandId, status, detail } = parsed;
      const device = await deps.registry.getByThing(deviceId);
      if (!device || device.status === 'deleted') {
        return { applied: false, code: 'UNKNOWN_DEVICE', message: 'device is not registered', commandId };
      }
      const cmd = await deps.commands.get(device.tenant, commandId);
      // A device may only answer its own commands: another device's command id is simply unknown to it.
      if (!cmd || cmd.deviceId !== deviceId) {
        return {
          applied: false,
          code: 'UNKNOWN_COMMAND',
          message: 'no such command for this device',
          commandId,
        };
      }
      if (isFinal(cmd.status)) {
        return {
          applied: false,
          code: 'COMMAND_FINAL',
          message: `command is already ${cmd.status}`,
          commandId,
        };
      }
      const now = clock();
      // Repeated ACKNOWLEDGED with new detail is a progress report (firmware update %): keep the newest.
      const progress = status === 'ACKNOWLEDGED' && cmd.status === 'ACKNOWLEDGED' && detail !== undefined;
      const from = progress ? (['ACKNOWLEDGED'] as const) : ALLOWED_FROM[status];
      if (!from.includes(cmd.status)) {
        return {
          applied: false,
          code: 'DUPLICATE_OR_STALE',
          message: `command is already ${cmd.status}`,
          commandId,
        };
      }
      const moved = await deps.commands.transition(device.tenant, commandId, from, status, now, detail);
      if (!moved) {
        return {
          applied: false,
          code: 'DUPLICATE_OR_STALE',
          message: 'command moved concurrently',
          commandId,
        };
      }
      if (!progress) await emitTransition(moved);
      return { applied: true, command: moved };
    },

    async onDeviceConnected(tenant, deviceId) {
      let sent = 0;
      let timedOut = 0;
      let cursor: string | undefined;
      // Bounded: a device with thousands of held commands is drained over several connects.
      for (let page = 0; page < 10; page++) {
        const res = await deps.commands.list(tenant, { deviceId, status: 'QUEUED', limit: 100, cursor });
        // Oldest first, so the device receives commands in the order they were given.
        for (const cmd of [...res.items].sort((a, b) => a.createdAt - b.createdAt)) {
          if (cmd.status !== 'QUEUED' || cmd.deviceId !== deviceId) continue;
          const after = await expireIfDue(cmd);
          if (after.status === 'TIMED_OUT') {
            timedOut++;
            continue;
          }
          const s = await send(after);
          if (s.status !== 'QUEUED') sent++;
        }
        if (!res.next) break;
        cursor = res.next;
      }
      return { sent, timedOut };
    },

    async sweepExpired(limit = 500) {
      if (!deps.commands.listExpired) return 0;
      let timedOut = 0;
      for (const cmd of await deps.commands.listExpired(clock(), limit)) {
        if ((await expireIfDue(cmd)).status === 'TIMED_OUT' && !isFinal(cmd.status)) timedOut++;
      }
      return timedOut;
    },
  };
}

/** Parse and bound a device response. */
export function parseResponse(
  payload: Uint8Array | string,
): { commandId: string; status: DeviceReportedStatus; detail?: Record<string, unknown> } | { error: string } {
  const text = typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8');
  if (Buffer.byteLength(text, 'utf8') > MAX_RESPONSE_BYTES) return { error: 'response is too large' };
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    return { error: 'response is not JSON' };
  }
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg))
    return { error: 'response is not an object' };
  const { command_id: commandId, status, detail } = msg as Record<string, unknown>;
  if (typeof commandId !== 'string' || !COMMAND_ID_RE.test(commandId))
    return { error: 'command_id is missing or malformed' };
  const st = DEVICE_STATUSES.find((s) => s === status);
  if (st === undefined) return { error: `status must be one of ${DEVICE_STATUSES.join(', ')}` };
  if (detail === undefined || detail === null) return { commandId, status: st };
  let d: Record<string, unknown>;
  if (typeof detail === 'string') d = { message: detail.slice(0, 1024) };
  else if (typeof detail === 'object' && !Array.isArray(detail)) d = detail as Record<string, unknown>;
  else return { error: 'detail must be an object or a string' };
  if (JSON.stringify(d).length > MAX_DETAIL_BYTES) return { error: 'detail is too large' };
  // Re-parse so the stored detail is a plain JSON object (no prototype tricks reach the store).
  return { commandId, status: st, detail: JSON.parse(JSON.stringify(d)) as Record<string, unknown> };
}
