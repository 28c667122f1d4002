/**
 * Command routes: send a tracked command to a device, read one, list a device's commands, and start a
 * firmware update (a command carrying a short-lived presigned download URL).
 */
import { z } from 'zod';
import type { DeviceRecord } from '../../ports/device-registry.js';
import { ConfigIo, checkControlValues } from '../channel-contract.js';
import { ApiError, notFound } from '../errors.js';
import { decodeCursor, encodeCursor } from '../pagination.js';
import { type Route, route } from '../route.js';
import {
  Command,
  CommandAccepted,
  CommandList,
  CommandListParams,
  CreateCommandRequest,
  DeviceId,
  FirmwareUpdateRequest,
  ResourceId,
} from '../schemas.js';
import { commandView, iso, loadDevice, loadFile, pageLimit, type RouteServices } from './context.js';

const IdParams = z.object({ id: DeviceId });
const CommandParams = z.object({ id: DeviceId, commandId: ResourceId });

/** Largest command payload (the whole message must fit IoT Core's 128 KB). */
export const MAX_COMMAND_PAYLOAD_BYTES = 64 * 1024;

/** Actions created only by their own routes. */
const RESERVED_ACTIONS = new Map([
  ['SET_CONFIG', 'PUT /v1/devices/{id}/config'],
  ['FIRMWARE_UPDATE', 'POST /v1/devices/{id}/firmware-updates'],
]);

const Uint32 = z.number().int().min(0).max(0xffffffff);

/** Payload schemas of the well-known actions (EMS, Avimesa actuation); other actions take any object. */
export const ACTION_PAYLOADS: Readonly<Record<string, z.ZodType>> = Object.freeze({
  SET_MODE: z.looseObject({
    target_mode: z.string().min(1).max(64),
    target_power: z.number().finite().optional(),
  }),
  RESET_ERROR: z.strictObject({}),
  SET_GPIO: z.strictObject({ state: Uint32, mask: Uint32 }),
  SOFT_RESET: z.strictObject({}),
});

function checkPayload(device: DeviceRecord, action: string, payload: Record<string, unknown>): void {
  const route = RESERVED_ACTIONS.get(action);
  if (route) throw new ApiError('VALIDATION_FAILED', `${action} commands are created by ${route}`);
  if (Buffer.byteLength(JSON.stringify(payload), 'utf8') > MAX_COMMAND_PAYLOAD_BYTES) {
    throw new ApiError(
      'PAYLOAD_TOO_LARGE',
      `command payloads are limited to ${MAX_COMMAND_PAYLOAD_BYTES} bytes`,
    );
  }
  if (action === 'SET_CHANNELS') {
    const contract = ConfigIo.safeParse(device.channelContract);
    const problems = checkControlValues(contract.success ? contract.data : undefined, payload);
    if (problems.length > 0) {
      throw new ApiError('CONTROL_VALUE_INVALID', 'control values do not match the channel contract', {
        problems,
      });
    }
    return;
  }
  const schema = ACTION_PAYLOADS[action];
  if (schema) {
    const res = schema.safeParse(payload);
    if (!res.success) {
      throw new ApiError('VALIDATION_FAILED', `invalid ${action} payload`, {
        issues: res.error.issues.map((i) => ({
          path: ['body', 'payload', ...i.path.map(String)].join('.'),
          message: i.message,
        })),
      });
    }
  }
}

/** The command routes. */
export function commandRoutes(svc: RouteServices): Route[] {
  const { deps, clock, commandService } = svc;

  function requireActive(d: DeviceRecord): void {
    if (d.status !== 'active') throw new ApiError('DEVICE_NOT_ACTIVE', 'the device is disabled');
  }

  return [
    route({
      method: 'POST',
      path: '/v1/devices/{id}/commands',
      operationId: 'createCommand',
      summary: 'Send a tracked command (SET_MODE, RESET_ERROR, SET_CHANNELS, SET_GPIO, SOFT_RESET, …)',
      tag: 'commands',
      write: true,
      params: IdParams,
      body: CreateCommandRequest,
      responses: {
        202: {
          description: 'Accepted; follow its status with GET …/commands/{commandId}',
          schema: CommandAccepted,
        },
        409: { description: 'DEVICE_NOT_ACTIVE' },
        413: { description: 'PAYLOAD_TOO_LARGE' },
        422: { description: 'CONTROL_VALUE_INVALID: a SET_CHANNELS value breaks the channel contract' },
      },
      async handle({ principal, params, body }) {
        const d = await loadDevice(svc, principal.tenant, params.id);
        requireActive(d);
        checkPayload(d, body.action, body.payload);
        const cmd = await commandService.submit(d, body.action, body.payload, body.expiresInSeconds);
        return {
          status: 202,
          body: { commandId: cmd.commandId, status: cmd.status },
          headers: { location: `/v1/devices/${encodeURIComponent(d.deviceId)}/commands/${cmd.commandId}` },
        };
      },
    }),

    route({
      method: 'GET',
      path: '/v1/devices/{id}/commands',
      operationId: 'listCommands',
      summary: 'A device’s commands, newest first',
      tag: 'commands',
      write: false,
      params: IdParams,
      query: CommandListParams,
      responses: { 200: { description: 'A page of commands', schema: CommandList } },
      async handle({ principal, params, query }) {
        const d = await loadDevice(svc, principal.tenant, params.id);
        const scope = `commands:${d.deviceId}:${query.status ?? ''}`;
        const page = await deps.commands.list(principal.tenant, {
          deviceId: d.deviceId,
          ...(query.status ? { status: query.status } : {}),
          limit: pageLimit(query.limit),
          cursor: decodeCursor(principal.tenant, scope, query.cursor),
        });
        const items = [];
        for (const c of page.items) {
          if (c.tenant !== principal.tenant || c.deviceId !== d.deviceId) continue;
          items.push(commandView(await commandService.expireIfDue(c)));
        }
        const next = encodeCursor(principal.tenant, scope, page.next);
        return { status: 200, body: { items, ...(next ? { next } : {}) } };
      },
    }),

    route({
      method: 'GET',
      path: '/v1/devices/{id}/commands/{commandId}',
      operationId: 'getCommand',
      summary: 'One command with its status history and the device’s result',
      tag: 'commands',
      write: false,
      params: CommandParams,
      responses: { 200: { description: 'The command', schema: Command } },
      async handle({ principal, params }) {
        const d = await loadDevice(svc, principal.tenant, params.id);
        const cmd = await commandService.get(principal.tenant, params.commandId);
        if (!cmd || cmd.tenant !== principal.tenant || cmd.deviceId !== d.deviceId) throw notFound('command');
        return { status: 200, body: commandView(cmd) };
      },
    }),

    route({
      method: 'POST',
      path: '/v1/devices/{id}/firmware-updates',
      operationId: 'startFirmwareUpdate',
      summary: 'Start a firmware update: a FIRMWARE_UPDATE command with a presigned download URL',
      tag: 'commands',
      write: true,
      params: IdParams,
      body: FirmwareUpdateRequest,
      responses: {
        202: { description: 'Accepted; progress arrives as command updates', schema: CommandAccepted },
        409: { description: 'DEVICE_NOT_ACTIVE or FILE_NOT_READY' },
        422: { description: 'FILE_KIND_MISMATCH' },
      },
      async handle({ principal, params, body }) {
        const d = await loadDevice(svc, principal.tenant, params.id);
        requireActive(d);
        const f = await loadFile(svc, principal.tenant, body.fileId);
        if (f.kind !== 'firmware')
          throw new ApiError('FILE_KIND_MISMATCH', 'the file is not a firmware image');
        if (f.status !== 'ready') throw new ApiError('FILE_NOT_READY', `the file is ${f.status}`);
        // The URL is short-lived by design; a device that starts late asks for a new update.
        const urlSeconds = Math.min(3600, body.expiresInSeconds);
        const url = await deps.files.presignGet(f.key, urlSeconds);
        const cmd = await commandService.submit(
          d,
          'FIRMWARE_UPDATE',
          {
            file_id: f.fileId,
            name: f.name,
            version: f.version,
            url,
            url_expires_at: iso(clock() + urlSeconds * 1000),
            size: f.size,
            sha256: f.sha256,
          },
          body.expiresInSeconds,
        );
        return {
          status: 202,
          body: { commandId: cmd.commandId, status: cmd.status },
          headers: { location: `/v1/devices/${encodeURIComponent(d.deviceId)}/commands/${cmd.commandId}` },
        };
      },
    }),
  ];
}
