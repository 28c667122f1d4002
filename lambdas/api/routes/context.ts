/**
 * Shared pieces of the route modules: the services they receive, tenant-scoped loaders that answer 404
 * for anything outside the caller's tenant, and the record → response views.
 */
import type { z } from 'zod';
import type { ApiKeyRecord } from '../../ports/api-keys.js';
import type { CommandRecord } from '../../ports/commands.js';
import type { DeviceRecord } from '../../ports/device-registry.js';
import type { LoggedEvent } from '../../ports/event-log.js';
import type { FileRecord } from '../../ports/file-catalog.js';
import type { CommandService } from '../../services/command-service.js';
import type { ApiDeps, ApiLogger } from '../deps.js';
import { ApiError, notFound } from '../errors.js';
import { PAGE_LIMITS } from '../pagination.js';
import type { ApiKeyInfo, Command, Device, EventInfo, FileInfo } from '../schemas.js';

/** What every route module receives. */
export interface RouteServices {
  deps: ApiDeps;
  clock: () => number;
  logger: ApiLogger;
  commandService: CommandService;
}

/** ISO 8601 with milliseconds. */
export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Parse `limit` from a query string (already pattern-checked), bounded. */
export function pageLimit(limit: string | undefined, max: number = PAGE_LIMITS.max): number {
  if (limit === undefined) return Math.min(PAGE_LIMITS.default, max);
  const n = Number(limit);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new ApiError('VALIDATION_FAILED', `limit must be between 1 and ${max}`, {
      issues: [{ path: 'query.limit', message: `1–${max}` }],
    });
  }
  return n;
}

/** Parse a time given as ISO 8601 (with zone) or epoch milliseconds. */
export function parseTime(text: string | undefined, name: string): number | undefined {
  if (text === undefined || text === '') return undefined;
  let ms: number;
  if (/^\d{1,15}$/.test(text)) ms = Number(text);
  else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/.test(text))
    ms = Date.parse(text);
  else ms = Number.NaN;
  // Year 1970..9999: anything else is a typo, not a query.
  if (!Number.isFinite(ms) || ms < 0 || ms > 253_402_300_799_999) {
    throw new ApiError('VALIDATION_FAILED', `${name} must be ISO 8601 with a zone or epoch milliseconds`, {
      issues: [{ path: `query.${name}`, message: 'invalid time' }],
    });
  }
  return ms;
}

/** A device of the caller's tenant, or 404 (also for deleted devices and other tenants' ids). */
export async function loadDevice(
  svc: RouteServices,
  tenant: string,
  deviceId: string,
): Promise<DeviceRecord> {
  const d = await svc.deps.registry.get(tenant, deviceId);
  if (!d || d.tenant !== tenant || d.status === 'deleted') throw notFound('device');
  return d;
}

/** A file of the caller's tenant, or 404. */
export async function loadFile(svc: RouteServices, tenant: string, fileId: string): Promise<FileRecord> {
  const f = await svc.deps.catalog.get(tenant, fileId);
  if (!f || f.tenant !== tenant) throw notFound('file');
  return f;
}

/** The file id of an assigned DBC object key (`dbc/<tenant>/<fileId>`). */
export function fileIdOfKey(key: string | undefined): string | undefined {
  if (key === undefined) return undefined;
  const last = key.split('/').pop();
  return last === '' ? undefined : last;
}

/** Device record → API view. */
export function deviceView(d: DeviceRecord): z.input<typeof Device> {
  return {
    deviceId: d.deviceId,
    ...(d.name !== undefined ? { name: d.name } : {}),
    tags: { ...d.tags },
    status: d.status === 'disabled' ? 'disabled' : 'active',
    createdAt: iso(d.createdAt),
    ...(d.lastSeen !== undefined ? { lastSeen: iso(d.lastSeen) } : {}),
    ...(d.connected !== undefined ? { connected: d.connected } : {}),
    ...(d.firmwareVersion !== undefined ? { firmwareVersion: d.firmwareVersion } : {}),
    ...(fileIdOfKey(d.dbcKey) !== undefined ? { dbcFileId: fileIdOfKey(d.dbcKey) } : {}),
    ...(d.certificateId !== undefined ? { certificateId: d.certificateId } : {}),
    ...(d.configUpdatedAt !== undefined ? { configUpdatedAt: iso(d.configUpdatedAt) } : {}),
  };
}

/** Command record → API view. */
export function commandView(c: CommandRecord): z.input<typeof Command> {
  return {
    commandId: c.commandId,
    deviceId: c.deviceId,
    action: c.action,
    payload: c.payload,
    status: c.status,
    createdAt: iso(c.createdAt),
    updatedAt: iso(c.updatedAt),
    expiresAt: iso(c.expiresAt),
    ...(c.result !== undefined ? { result: c.result } : {}),
    history: c.history.map((h) => ({ status: h.status, at: iso(h.at) })),
  };
}

/** File record → API view. */
export function fileView(f: FileRecord): z.input<typeof FileInfo> {
  return {
    fileId: f.fileId,
    kind: f.kind,
    name: f.name,
    version: f.version,
    sha256: f.sha256,
    size: f.size,
    contentType: f.contentType,
    status: f.status,
    ...(f.problem ? { problem: f.problem } : {}),
    ...(f.lint ? { lint: f.lint } : {}),
    createdAt: iso(f.createdAt),
    updatedAt: iso(f.updatedAt),
  };
}

/** Event → API view. */
export function eventView(e: LoggedEvent): z.input<typeof EventInfo> {
  return {
    eventId: e.eventId,
    type: e.type,
    code: e.code,
    ...(e.number !== undefined ? { number: e.number } : {}),
    ...(e.device !== undefined ? { deviceId: e.device } : {}),
    time: iso(e.time),
    detail: e.detail,
  };
}

/** API key record → API view (never the hash). */
export function apiKeyView(k: ApiKeyRecord): z.input<typeof ApiKeyInfo> {
  return {
    keyId: k.keyId,
    ...(k.name !== undefined ? { name: k.name } : {}),
    role: k.role,
    createdAt: iso(k.createdAt),
    ...(k.expiresAt !== undefined ? { expiresAt: iso(k.expiresAt) } : {}),
    ...(k.revokedAt !== undefined ? { revokedAt: iso(k.revokedAt) } : {}),
  };
}

/** Standard error responses for the OpenAPI document. */
export const ERR = {
  400: 'Invalid request (VALIDATION_FAILED, INVALID_JSON, INVALID_CURSOR)',
  401: 'Missing or invalid credentials (UNAUTHENTICATED)',
  403: 'A viewer tried to write (FORBIDDEN)',
  404: 'No such object in the caller’s tenant (NOT_FOUND)',
} as const;
