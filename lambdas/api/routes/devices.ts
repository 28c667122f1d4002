/**
 * Device routes: provisioning (certificate + token, shown once), listing, reading, updating, deleting,
 * credential rotation, the ExoSense configuration and DBC assignment.
 */
import { z } from 'zod';
import { generateToken, hashToken } from '../../core/token.js';
import { commandTopic, DEFAULT_TOPIC_CONFIG, TELEMETRY_FORMATS, telemetryTopic } from '../../core/topics.js';
import type { DeviceRecord } from '../../ports/device-registry.js';
import type { IssuedIdentity } from '../../ports/identity-provider.js';
import type { ConfigApplications, ConfigIo } from '../channel-contract.js';
import { ApiError } from '../errors.js';
import { randomDeviceId } from '../ids.js';
import { decodeCursor, encodeCursor } from '../pagination.js';
import { type Route, route } from '../route.js';
import {
  AssignDbcRequest,
  CreateDeviceRequest,
  Device,
  DeviceConfig,
  DeviceCredentials,
  DeviceId,
  DeviceList,
  ListParams,
  PutConfigRequest,
  RotateCredentialsRequest,
  UpdateDeviceRequest,
} from '../schemas.js';
import { deviceView, iso, loadDevice, loadFile, pageLimit, type RouteServices } from './context.js';

const IdParams = z.object({ id: DeviceId });

/** Largest configuration that still fits in one command message (IoT Core allows 128 KB per message). */
export const MAX_CONFIG_BYTES = 96 * 1024;

/** The device routes. */
export function deviceRoutes(svc: RouteServices): Route[] {
  const { deps, clock } = svc;
  const app = deps.topicConfig?.app ?? DEFAULT_TOPIC_CONFIG.app;

  async function credentials(deviceId: string, issued: IssuedIdentity, token: string | undefined) {
    const endpoint = await deps.identity.endpoint();
    const telemetry: Record<string, string> = {};
    for (const f of TELEMETRY_FORMATS) telemetry[f] = telemetryTopic(app, deviceId, f);
    return {
      deviceId,
      certificateId: issued.certificateId,
      certificatePem: issued.certificatePem,
      ...(issued.privateKey !== undefined ? { privateKey: issued.privateKey } : {}),
      ...(token !== undefined ? { token } : {}),
      mqtt: { host: endpoint.host, port: endpoint.port },
      ...(issued.caPem !== undefined ? { caPem: issued.caPem } : {}),
      topics: {
        telemetry,
        commands: commandTopic(app, deviceId, 'req'),
        responses: commandTopic(app, deviceId, 'res'),
      },
    };
  }

  async function issue(
    deviceId: string,
    tenant: string,
    csr: string | undefined,
    existingThing = false,
  ): Promise<IssuedIdentity> {
    try {
      return await deps.identity.issue(deviceId, {
        ...(csr !== undefined ? { csrPem: csr } : {}),
        attributes: { tenant },
        ...(existingThing ? { existingThing } : {}),
      });
    } catch (err) {
      if (csr !== undefined) {
        throw new ApiError('CSR_INVALID', 'the certificate signing request was refused', undefined, {
          cause: err,
        });
      }
      svc.logger.error('certificate issue failed', { deviceId, error: String(err) });
      throw new ApiError('UPSTREAM_FAILED', 'the certificate could not be issued', undefined, { cause: err });
    }
  }

  async function publishEvent(
    type: string,
    tenant: string,
    device: string,
    detail: Record<string, unknown> = {},
  ) {
    try {
      await deps.eventSink.publish([
        { type, code: type.toUpperCase().replace('.', '_'), tenant, device, time: clock(), detail },
      ]);
    } catch (err) {
      svc.logger.warn('system event not published', { type, error: String(err) });
    }
  }

  return [
    route({
      method: 'POST',
      path: '/v1/devices',
      operationId: 'createDevice',
      summary: 'Provision a device: thing, X.509 certificate and payload token (shown once)',
      tag: 'devices',
      write: true,
      body: CreateDeviceRequest,
      responses: {
        201: { description: 'Created; private key and token are shown only now', schema: DeviceCredentials },
        409: { description: 'DEVICE_ID_TAKEN: thing names are unique per AWS account and region' },
        422: { description: 'CSR_INVALID' },
      },
      async handle({ principal, body }) {
        const deviceId = body.deviceId ?? randomDeviceId();
        if (await deps.registry.getByThing(deviceId)) {
          throw new ApiError('DEVICE_ID_TAKEN', 'a device with this id already exists');
        }
        const issued = await issue(deviceId, principal.tenant, body.csr);
        const token = generateToken();
        const record: DeviceRecord = {
          tenant: principal.tenant,
          deviceId,
          ...(body.name !== undefined ? { name: body.name } : {}),
          tags: { ...(body.tags ?? {}) },
          tokenHash: hashToken(token),
          certificateId: issued.certificateId,
          certificateFingerprint: issued.fingerprint,
          status: 'active',
          createdAt: clock(),
        };
        try {
          await deps.registry.create(record);
        } catch (err) {
          // Lost a race for the id (or the registry failed): undo the identity so nothing dangles.
          await deps.identity.revoke(deviceId, issued.certificateId).catch(() => undefined);
          if (!(await deps.registry.getByThing(deviceId))) {
            await deps.identity.removeThing(deviceId).catch(() => undefined);
            throw err;
          }
          throw new ApiError('DEVICE_ID_TAKEN', 'a device with this id already exists');
        }
        await publishEvent('device.created', principal.tenant, deviceId, {
          certificateId: issued.certificateId,
        });
        return { status: 201, body: await credentials(deviceId, issued, token) };
      },
    }),

    route({
      method: 'GET',
      path: '/v1/devices',
      operationId: 'listDevices',
      summary: 'List the tenant’s devices',
      tag: 'devices',
      write: false,
      query: ListParams,
      responses: { 200: { description: 'A page of devices', schema: DeviceList } },
      async handle({ principal, query }) {
        const page = await deps.registry.list(principal.tenant, {
          limit: pageLimit(query.limit),
          cursor: decodeCursor(principal.tenant, 'devices', query.cursor),
        });
        const items = page.items.filter((d) => d.tenant === principal.tenant && d.status !== 'deleted');
        const next = encodeCursor(principal.tenant, 'devices', page.next);
        return { status: 200, body: { items: items.map(deviceView), ...(next ? { next } : {}) } };
      },
    }),

    route({
      method: 'GET',
      path: '/v1/devices/{id}',
      operationId: 'getDevice',
      summary: 'A device with its status (last seen, connected, firmware, assigned DBC, tags)',
      tag: 'devices',
      write: false,
      params: IdParams,
      responses: { 200: { description: 'The device', schema: Device } },
      async handle({ principal, params }) {
        return { status: 200, body: deviceView(await loadDevice(svc, principal.tenant, params.id)) };
      },
    }),

    route({
      method: 'PATCH',
      path: '/v1/devices/{id}',
      operationId: 'updateDevice',
      summary: 'Change name, tags (null removes a tag), status or firmware version',
      tag: 'devices',
      write: true,
      params: IdParams,
      body: UpdateDeviceRequest,
      responses: { 200: { description: 'The updated device', schema: Device } },
      async handle({ principal, params, body }) {
        const d = await loadDevice(svc, principal.tenant, params.id);
        const next: DeviceRecord = { ...d, tags: { ...d.tags } };
        if (body.name === null) delete next.name;
        else if (body.name !== undefined) next.name = body.name;
        for (const [k, v] of Object.entries(body.tags ?? {})) {
          if (v === null) delete next.tags[k];
          else next.tags[k] = v;
        }
        if (Object.keys(next.tags).length > 50) throw new ApiError('VALIDATION_FAILED', 'at most 50 tags');
        if (body.status !== undefined) next.status = body.status;
        if (body.firmwareVersion !== undefined) next.firmwareVersion = body.firmwareVersion;
        await deps.registry.put(next);
        return { status: 200, body: deviceView(next) };
      },
    }),

    route({
      method: 'DELETE',
      path: '/v1/devices/{id}',
      operationId: 'deleteDevice',
      summary: 'Revoke and detach the certificate, remove the thing; telemetry is kept',
      tag: 'devices',
      write: true,
      params: IdParams,
      responses: { 204: { description: 'Deleted' } },
      async handle({ principal, params }) {
        const d = await loadDevice(svc, principal.tenant, params.id);
        if (d.certificateId !== undefined) await deps.identity.revoke(d.deviceId, d.certificateId);
        await deps.identity.removeThing(d.deviceId);
        await deps.registry.delete(principal.tenant, d.deviceId);
        await publishEvent('device.deleted', principal.tenant, d.deviceId);
        return { status: 204 };
      },
    }),

    route({
      method: 'POST',
      path: '/v1/devices/{id}/credentials:rotate',
      operationId: 'rotateDeviceCredentials',
      summary: 'Issue a new certificate (and token), then revoke the previous certificate',
      tag: 'devices',
      write: true,
      params: IdParams,
      body: RotateCredentialsRequest,
      responses: {
        200: {
          description: 'New credentials, shown once (token only when rotated)',
          schema: DeviceCredentials,
        },
        422: { description: 'CSR_INVALID' },
      },
      async handle({ principal, params, body }) {
        const d = await loadDevice(svc, principal.tenant, params.id);
        const issued = await issue(d.deviceId, principal.tenant, body.csr, true);
        const token = body.rotateToken ? generateToken() : undefined;
        const next: DeviceRecord = {
          ...d,
          certificateId: issued.certificateId,
          certificateFingerprint: issued.fingerprint,
          ...(token !== undefined ? { tokenHash: hashToken(token) } : {}),
        };
        await deps.registry.put(next);
        // Revoke only after the registry points at the new certificate: a failure here leaves an extra
        // valid certificate (reported), never a device without one.
        if (d.certificateId !== undefined && d.certificateId !== issued.certificateId) {
          try {
            await deps.identity.revoke(d.deviceId, d.certificateId);
          } catch (err) {
            svc.logger.error('old certificate not revoked', {
              deviceId: d.deviceId,
              certificateId: d.certificateId,
              error: String(err),
            });
          }
        }
        await publishEvent('device.credentials_rotated', principal.tenant, d.deviceId, {
          certificateId: issued.certificateId,
          previousCertificateId: d.certificateId ?? null,
          tokenRotated: token !== undefined,
        });
        return { status: 200, body: await credentials(d.deviceId, issued, token) };
      },
    }),

    route({
      method: 'GET',
      path: '/v1/devices/{id}/config',
      operationId: 'getDeviceConfig',
      summary: 'The ExoSense channel contract (config_io) and config_applications',
      tag: 'config',
      write: false,
      params: IdParams,
      responses: { 200: { description: 'The configuration', schema: DeviceConfig } },
      async handle({ principal, params }) {
        const d = await loadDevice(svc, principal.tenant, params.id);
        return {
          status: 200,
          body: {
            config_io: (d.channelContract ?? null) as ConfigIo | null,
            config_applications: (d.configApplications ?? null) as ConfigApplications | null,
            ...(d.configUpdatedAt !== undefined ? { updatedAt: iso(d.configUpdatedAt) } : {}),
          },
        };
      },
    }),

    route({
      method: 'PUT',
      path: '/v1/devices/{id}/config',
      operationId: 'putDeviceConfig',
      summary: 'Set config_io and/or config_applications; the device is told with a SET_CONFIG command',
      tag: 'config',
      write: true,
      params: IdParams,
      body: PutConfigRequest,
      responses: {
        200: { description: 'The stored configuration and the notifying command', schema: DeviceConfig },
        413: { description: 'PAYLOAD_TOO_LARGE: the configuration does not fit one device message' },
        422: { description: 'CONFIG_INVALID: the device locked the configuration or a channel' },
      },
      async handle({ principal, params, body }) {
        const d = await loadDevice(svc, principal.tenant, params.id);
        if (body.config_io !== undefined) checkLocks(d.channelContract, body.config_io);
        const next: DeviceRecord = {
          ...d,
          ...(body.config_io !== undefined ? { channelContract: body.config_io } : {}),
          ...(body.config_applications !== undefined ? { configApplications: body.config_applications } : {}),
          configUpdatedAt: clock(),
        };
        const payload = {
          ...(body.config_io !== undefined ? { config_io: body.config_io } : {}),
          ...(body.config_applications !== undefined
            ? { config_applications: body.config_applications }
            : {}),
        };
        if (Buffer.byteLength(JSON.stringify(payload), 'utf8') > MAX_CONFIG_BYTES) {
          throw new ApiError('PAYLOAD_TOO_LARGE', `configuration is limited to ${MAX_CONFIG_BYTES} bytes`);
        }
        await deps.registry.put(next);
        const cmd = await svc.commandService.submit(next, 'SET_CONFIG', payload, 24 * 3600);
        return {
          status: 200,
          body: {
            config_io: (next.channelContract ?? null) as ConfigIo | null,
            config_applications: (next.configApplications ?? null) as ConfigApplications | null,
            updatedAt: iso(next.configUpdatedAt ?? clock()),
            commandId: cmd.commandId,
          },
        };
      },
    }),

    route({
      method: 'PUT',
      path: '/v1/devices/{id}/dbc',
      operationId: 'assignDbc',
      summary: 'Assign a ready DBC file to the device (used to decode its CAN frames)',
      tag: 'files',
      write: true,
      params: IdParams,
      body: AssignDbcRequest,
      responses: {
        200: { description: 'The device', schema: Device },
        409: { description: 'FILE_NOT_READY' },
        422: { description: 'FILE_KIND_MISMATCH' },
      },
      async handle({ principal, params, body }) {
        const d = await loadDevice(svc, principal.tenant, params.id);
        const f = await loadFile(svc, principal.tenant, body.fileId);
        if (f.kind !== 'dbc') throw new ApiError('FILE_KIND_MISMATCH', 'the file is not a DBC file');
        if (f.status !== 'ready') throw new ApiError('FILE_NOT_READY', `the file is ${f.status}`);
        const next: DeviceRecord = { ...d, dbcKey: f.key };
        await deps.registry.put(next);
        return { status: 200, body: deviceView(next) };
      },
    }),

    route({
      method: 'DELETE',
      path: '/v1/devices/{id}/dbc',
      operationId: 'unassignDbc',
      summary: 'Remove the DBC assignment of the device',
      tag: 'files',
      write: true,
      params: IdParams,
      responses: { 200: { description: 'The device', schema: Device } },
      async handle({ principal, params }) {
        const d = await loadDevice(svc, principal.tenant, params.id);
        const next: DeviceRecord = { ...d };
        delete next.dbcKey;
        await deps.registry.put(next);
        return { status: 200, body: deviceView(next) };
      },
    }),
  ];
}

/**
 * ExoSense `locked`: a configuration (or channel) the device locked is read-only for the application.
 * Refuse a change to a locked configuration or to any locked channel.
 */
function checkLocks(current: unknown, next: ConfigIo): void {
  if (typeof current !== 'object' || current === null) return;
  const cur = current as Partial<ConfigIo>;
  if (cur.locked === true) throw new ApiError('CONFIG_INVALID', 'the device locked its config_io');
  for (const [id, ch] of Object.entries(cur.channels ?? {})) {
    if (ch?.properties?.locked !== true) continue;
    const after = Object.hasOwn(next.channels, id) ? next.channels[id] : undefined;
    if (canonical(after) !== canonical(ch)) {
      throw new ApiError('CONFIG_INVALID', `channel ${id} is locked by the device`, { channel: id });
    }
  }
}

/** JSON with object keys sorted, so equal configurations compare equal whatever their key order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}
