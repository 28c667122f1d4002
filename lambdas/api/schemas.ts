/**
 * Request and response bodies of the API as zod schemas: the single definition used to validate requests,
 * to shape responses and to generate the OpenAPI document (`GET /v1/openapi.json`).
 */
import { z } from 'zod';
import { COMMAND_STATUSES } from '../ports/commands.js';
import { AGGREGATIONS } from '../ports/telemetry-store.js';
import { ConfigApplications, ConfigIo } from './channel-contract.js';

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** Device ids are IoT thing names (and MQTT client ids). */
export const DeviceId = z
  .string()
  .regex(/^[a-zA-Z0-9:_-]{1,128}$/, 'device ids are 1–128 of [a-zA-Z0-9:_-]')
  .describe('Device id = IoT thing name = MQTT client id');

/** Server-generated ids (commands, files, keys). */
export const ResourceId = z.string().regex(/^[a-z0-9_]{1,64}$/, 'malformed id');

/** ISO 8601 timestamp in responses. */
const Time = z.iso.datetime({ offset: true }).describe('ISO 8601 date-time');

const TagKey = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\p{L}\p{N} _.:/=+@-]+$/u, 'tag keys are letters, digits, spaces and _.:/=+@-')
  .refine((k) => !FORBIDDEN_KEYS.has(k), 'reserved key');

/** Label/note tags (ExoSense `label`, `note`, or anything else). */
export const Tags = z
  .record(TagKey, z.string().max(256))
  .refine((t) => Object.keys(t).length <= 50, 'at most 50 tags')
  .describe('String tags, e.g. {"label": "pump 3", "note": "roof"}');

/** A certificate signing request (PEM). */
const Csr = z
  .string()
  .max(16_384)
  .regex(/-----BEGIN (NEW )?CERTIFICATE REQUEST-----/, 'csr must be a PEM certificate signing request');

// ---------------------------------------------------------------- errors

/** The error body of every non-2xx answer. */
export const ErrorBody = z.object({
  error: z.object({
    code: z.string().describe('Stable error code (docs/api.md)'),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});

// ---------------------------------------------------------------- devices

/** `POST /v1/devices` body. */
export const CreateDeviceRequest = z.strictObject({
  deviceId: DeviceId.optional().describe('Chosen device id; 32 random hex characters when omitted'),
  name: z.string().min(1).max(128).optional(),
  tags: Tags.optional(),
  csr: Csr.optional().describe('PEM CSR: the private key stays on the device and no privateKey is returned'),
});

/** Where and how a device connects. */
export const DeviceTopics = z.object({
  telemetry: z.record(z.string(), z.string()).describe('Telemetry topic per payload format'),
  commands: z.string().describe('Topic the device subscribes to for commands'),
  responses: z.string().describe('Topic the device publishes command responses to'),
});

/** Credentials, shown once. */
export const DeviceCredentials = z.object({
  deviceId: DeviceId,
  certificateId: z.string(),
  certificatePem: z.string(),
  privateKey: z.string().optional().describe('PEM private key; absent when a CSR was supplied. Shown once.'),
  token: z
    .string()
    .optional()
    .describe('Payload token; shown once, stored only as a hash (absent when not rotated)'),
  mqtt: z.object({ host: z.string(), port: z.number().int() }),
  caPem: z.string().optional(),
  topics: DeviceTopics,
});

/** A device as the API shows it. */
export const Device = z.object({
  deviceId: DeviceId,
  name: z.string().optional(),
  tags: z.record(z.string(), z.string()),
  status: z.enum(['active', 'disabled']),
  createdAt: Time,
  lastSeen: Time.optional(),
  connected: z.boolean().optional().describe('Absent when the connection state is unknown'),
  firmwareVersion: z.string().optional(),
  dbcFileId: z.string().optional(),
  certificateId: z.string().optional(),
  configUpdatedAt: Time.optional(),
});

/** A page of devices. */
export const DeviceList = z.object({ items: z.array(Device), next: z.string().optional() });

/** `PATCH /v1/devices/{id}` body (merge: a tag set to null is removed). */
export const UpdateDeviceRequest = z
  .strictObject({
    name: z.string().min(1).max(128).nullable().optional(),
    tags: z
      .record(TagKey, z.string().max(256).nullable())
      .refine((t) => Object.keys(t).length <= 50, 'at most 50 tags')
      .optional(),
    status: z.enum(['active', 'disabled']).optional(),
    firmwareVersion: z.string().min(1).max(64).optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'nothing to update');

/** `POST /v1/devices/{id}/credentials:rotate` body. */
export const RotateCredentialsRequest = z.strictObject({
  csr: Csr.optional(),
  rotateToken: z.boolean().default(true).describe('Issue a new payload token too'),
});

// ---------------------------------------------------------------- config

/** `PUT /v1/devices/{id}/config` body. */
export const PutConfigRequest = z
  .strictObject({ config_io: ConfigIo.optional(), config_applications: ConfigApplications.optional() })
  .refine((b) => b.config_io !== undefined || b.config_applications !== undefined, 'nothing to set');

/** A device's configuration. */
export const DeviceConfig = z.object({
  config_io: ConfigIo.nullable(),
  config_applications: ConfigApplications.nullable(),
  updatedAt: Time.optional(),
  commandId: z.string().optional().describe('The SET_CONFIG command that tells the device (PUT only)'),
});

// ---------------------------------------------------------------- telemetry

/** Field names in queries: bounded, printable, never prototype keys. */
export const FieldName = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[^\u0000-\u001f\u007f]+$/, 'field names must be printable')
  .refine((k) => !FORBIDDEN_KEYS.has(k), 'reserved field name');

/** Query string of `GET /v1/devices/{id}/telemetry`. */
export const TelemetryQueryParams = z.strictObject({
  from: z.string().optional().describe('ISO 8601 or epoch ms; default: one hour before `to`'),
  to: z.string().optional().describe('ISO 8601 or epoch ms (exclusive); default: now'),
  fields: z.string().max(8192).optional().describe('Comma-separated field names; all fields when omitted'),
  interval: z
    .string()
    .regex(/^\d{1,9}(ms|s|m|h|d)$/, 'interval is a number and a unit: ms, s, m, h or d')
    .optional(),
  agg: z.enum(AGGREGATIONS).optional().describe('Aggregation per interval (default avg)'),
  limit: z
    .string()
    .regex(/^\d{1,4}$/)
    .optional(),
  cursor: z.string().optional(),
});

const FieldValue = z.union([z.number(), z.string(), z.boolean()]);

/** A page of telemetry. */
export const TelemetryPage = z.object({
  points: z.array(z.object({ time: Time, fields: z.record(z.string(), FieldValue) })),
  next: z.string().optional(),
});

/** Newest value of every field. */
export const LatestValues = z.object({
  deviceId: DeviceId,
  fields: z.record(z.string(), z.object({ time: Time, value: FieldValue })),
});

// ---------------------------------------------------------------- commands

/** Command action names: upper-case words (`SET_MODE`, `SET_CHANNELS`, `SET_GPIO`…). */
export const Action = z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/, 'actions are upper-case words');

/** `POST /v1/devices/{id}/commands` body. */
export const CreateCommandRequest = z.strictObject({
  action: Action,
  payload: z.record(z.string().max(256), z.unknown()).default({}),
  expiresInSeconds: z
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 3600)
    .default(3600),
});

/** 202 answer to a command. */
export const CommandAccepted = z.object({
  commandId: z.string(),
  status: z.enum(COMMAND_STATUSES),
});

/** A tracked command. */
export const Command = z.object({
  commandId: z.string(),
  deviceId: DeviceId,
  action: z.string(),
  payload: z.record(z.string(), z.unknown()),
  status: z.enum(COMMAND_STATUSES),
  createdAt: Time,
  updatedAt: Time,
  expiresAt: Time,
  result: z.record(z.string(), z.unknown()).optional(),
  history: z.array(z.object({ status: z.enum(COMMAND_STATUSES), at: Time })),
});

/** A page of commands. */
export const CommandList = z.object({ items: z.array(Command), next: z.string().optional() });

/** `POST /v1/devices/{id}/firmware-updates` body. */
export const FirmwareUpdateRequest = z.strictObject({
  fileId: ResourceId,
  expiresInSeconds: z
    .number()
    .int()
    .min(60)
    .max(7 * 24 * 3600)
    .default(24 * 3600)
    .describe('How long the update may take; the download URL lives at most one hour of it'),
});

// ---------------------------------------------------------------- files

/** `POST /v1/files` body. */
export const CreateFileRequest = z.strictObject({
  kind: z.enum(['dbc', 'firmware']),
  name: z
    .string()
    .min(1)
    .max(255)
    .regex(/^[^\u0000-\u001f\u007f/\\]+$/, 'file names are printable and contain no slashes'),
  version: z.string().min(1).max(64),
  sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, 'sha256 is 64 hex characters'),
  size: z.number().int().positive(),
  contentType: z.string().max(128).optional(),
  contentBase64: z
    .string()
    .optional()
    .describe('The content itself for small files (≤ 256 KiB); otherwise upload to the returned URL'),
});

/** A catalogued file. */
export const FileInfo = z.object({
  fileId: z.string(),
  kind: z.enum(['dbc', 'firmware']),
  name: z.string(),
  version: z.string(),
  sha256: z.string(),
  size: z.number().int(),
  contentType: z.string(),
  status: z.enum(['pending', 'ready', 'invalid']),
  problem: z.object({ code: z.string(), message: z.string() }).optional(),
  lint: z
    .object({
      messages: z.number().int(),
      signals: z.number().int(),
      findings: z.array(
        z.object({
          severity: z.enum(['error', 'warning', 'info']),
          code: z.string(),
          message: z.string(),
          line: z.number().int().optional(),
        }),
      ),
    })
    .optional(),
  createdAt: Time,
  updatedAt: Time,
});

/** 201 answer to `POST /v1/files`. */
export const FileCreated = z.object({
  file: FileInfo,
  upload: z
    .object({
      url: z.string(),
      method: z.literal('PUT'),
      headers: z.record(z.string(), z.string()),
      expiresAt: Time,
    })
    .optional()
    .describe('Where to PUT the content, then call POST /v1/files/{id}/complete (absent for direct uploads)'),
});

/** A page of files. */
export const FileList = z.object({ items: z.array(FileInfo), next: z.string().optional() });

/** A presigned download. */
export const FileDownload = z.object({
  url: z.string(),
  expiresAt: Time,
  sha256: z.string(),
  size: z.number(),
});

/** `PUT /v1/devices/{id}/dbc` body. */
export const AssignDbcRequest = z.strictObject({ fileId: ResourceId });

/** Query string of `GET /v1/files`. */
export const FileListParams = z.strictObject({
  kind: z.enum(['dbc', 'firmware']).optional(),
  limit: z
    .string()
    .regex(/^\d{1,4}$/)
    .optional(),
  cursor: z.string().optional(),
});

// ---------------------------------------------------------------- events

/** Query string of `GET /v1/events`. */
export const EventListParams = z.strictObject({
  deviceId: DeviceId.optional(),
  since: z.string().optional().describe('ISO 8601 or epoch ms'),
  limit: z
    .string()
    .regex(/^\d{1,4}$/)
    .optional(),
  cursor: z.string().optional(),
});

/** A system-log event. */
export const EventInfo = z.object({
  eventId: z.string(),
  type: z.string(),
  code: z.string(),
  number: z.number().int().optional(),
  deviceId: z.string().optional(),
  time: Time,
  detail: z.record(z.string(), z.unknown()),
});

/** A page of events. */
export const EventList = z.object({ items: z.array(EventInfo), next: z.string().optional() });

// ---------------------------------------------------------------- API keys

/** `POST /v1/api-keys` body. */
export const CreateApiKeyRequest = z.strictObject({
  name: z.string().min(1).max(128).optional(),
  role: z.enum(['operator', 'viewer']),
  expiresInDays: z.number().int().min(1).max(3650).optional(),
});

/** An API key (never the secret, except once in {@link ApiKeyCreated}). */
export const ApiKeyInfo = z.object({
  keyId: z.string(),
  name: z.string().optional(),
  role: z.enum(['operator', 'viewer']),
  createdAt: Time,
  expiresAt: Time.optional(),
  revokedAt: Time.optional(),
});

/** 201 answer to `POST /v1/api-keys`: the key itself, shown once. */
export const ApiKeyCreated = ApiKeyInfo.extend({
  key: z.string().describe('Bearer secret; shown once, stored only as a hash'),
});

/** A page of API keys. */
export const ApiKeyList = z.object({ items: z.array(ApiKeyInfo), next: z.string().optional() });

/** Query string of plain lists. */
export const ListParams = z.strictObject({
  limit: z
    .string()
    .regex(/^\d{1,4}$/)
    .optional(),
  cursor: z.string().optional(),
});

/** Query string of command lists. */
export const CommandListParams = ListParams.extend({ status: z.enum(COMMAND_STATUSES).optional() });

/** Named schemas that appear in the OpenAPI document's components. */
export const COMPONENTS = {
  ErrorBody,
  CreateDeviceRequest,
  DeviceCredentials,
  Device,
  DeviceList,
  UpdateDeviceRequest,
  RotateCredentialsRequest,
  PutConfigRequest,
  DeviceConfig,
  TelemetryPage,
  LatestValues,
  CreateCommandRequest,
  CommandAccepted,
  Command,
  CommandList,
  FirmwareUpdateRequest,
  CreateFileRequest,
  FileInfo,
  FileCreated,
  FileList,
  FileDownload,
  AssignDbcRequest,
  EventInfo,
  EventList,
  CreateApiKeyRequest,
  ApiKeyInfo,
  ApiKeyCreated,
  ApiKeyList,
} as const;
