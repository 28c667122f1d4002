/** Shared API test data: a config_io contract from the ExoSense seed, a small DBC, and seeding helpers. */
import { createHash } from 'node:crypto';
import type { Harness } from '../support/api-harness.js';

/** ExoSense config_io with a valve (boolean control), a set point (range) and a door (enum). */
export const CONFIG_IO = {
  last_edited: '2026-03-01T12:00:00+00:00',
  last_editor: 'user',
  channels: {
    '001': {
      display_name: 'Temperature',
      properties: { data_type: 'TEMPERATURE', data_unit: 'DEG_CELSIUS', precision: 2 },
      protocol_config: { report_rate: 10000, timeout: 60000 },
    },
    '004': {
      display_name: 'Valve Control',
      description: 'On / Off control',
      properties: { data_type: 'BOOLEAN', control: true },
      protocol_config: { report_rate: 60000, timeout: 360000 },
    },
    '005': {
      display_name: 'Temperature Threshold',
      properties: { data_type: 'TEMPERATURE', data_unit: 'DEG_CELSIUS', control: true },
      control_properties: { range: { min: 30, max: 100 } },
    },
    '009': {
      display_name: 'Garage Door Control',
      properties: { data_type: 'STRING', control: true },
      control_properties: { enum: ['open', 'close', 'half', 'auto'] },
    },
  },
};

/** A tiny DBC file the test DBC check accepts. */
export const DBC_TEXT =
  'VERSION ""\n\nBO_ 100 Engine: 8 ECU\n SG_ Speed : 0|16@1+ (0.1,0) [0|6553.5] "km/h" Vector__XXX\n';

/** SHA-256 hex of bytes or text. */
export function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Objects of one tenant, created through the API. */
export interface Seeded {
  deviceId: string;
  token: string;
  commandId: string;
  dbcFileId: string;
  firmwareFileId: string;
  keyId: string;
}

/** Create a device, a command, a DBC file, a firmware file and an API key for the key's tenant. */
export async function seedTenant(h: Harness, key: string, deviceId?: string): Promise<Seeded> {
  const dev = await h.call(key, 'POST', '/v1/devices', {
    body: { ...(deviceId ? { deviceId } : {}), name: 'pump 1' },
  });
  if (dev.status !== 201) throw new Error(`seed device: ${JSON.stringify(dev.body)}`);
  const cmd = await h.call(key, 'POST', `/v1/devices/${dev.body.deviceId}/commands`, {
    body: { action: 'RESET_ERROR' },
  });
  if (cmd.status !== 202) throw new Error(`seed command: ${JSON.stringify(cmd.body)}`);
  const dbc = await h.call(key, 'POST', '/v1/files', {
    body: {
      kind: 'dbc',
      name: 'engine.dbc',
      version: '1',
      sha256: sha256(DBC_TEXT),
      size: Buffer.byteLength(DBC_TEXT),
      contentBase64: Buffer.from(DBC_TEXT).toString('base64'),
    },
  });
  if (dbc.status !== 201) throw new Error(`seed dbc: ${JSON.stringify(dbc.body)}`);
  const fw = Buffer.from('firmware image v2');
  const firmware = await h.call(key, 'POST', '/v1/files', {
    body: {
      kind: 'firmware',
      name: 'fw.bin',
      version: '2.0.0',
      sha256: sha256(fw),
      size: fw.byteLength,
      contentBase64: fw.toString('base64'),
    },
  });
  if (firmware.status !== 201) throw new Error(`seed firmware: ${JSON.stringify(firmware.body)}`);
  const apiKey = await h.call(key, 'POST', '/v1/api-keys', { body: { role: 'viewer', name: 'dashboard' } });
  if (apiKey.status !== 201) throw new Error(`seed key: ${JSON.stringify(apiKey.body)}`);
  return {
    deviceId: dev.body.deviceId,
    token: dev.body.token,
    commandId: cmd.body.commandId,
    dbcFileId: dbc.body.file.fileId,
    firmwareFileId: firmware.body.file.fileId,
    keyId: apiKey.body.keyId,
  };
}

/** A valid request body for each write operation, built from a tenant's objects. */
export function sampleBody(operationId: string, s: Seeded): unknown {
  switch (operationId) {
    case 'createDevice':
      return { name: 'another' };
    case 'updateDevice':
      return { name: 'renamed' };
    case 'rotateDeviceCredentials':
      return {};
    case 'putDeviceConfig':
      return { config_io: CONFIG_IO };
    case 'assignDbc':
      return { fileId: s.dbcFileId };
    case 'createCommand':
      return { action: 'RESET_ERROR' };
    case 'startFirmwareUpdate':
      return { fileId: s.firmwareFileId };
    case 'createFile':
      return { kind: 'dbc', name: 'x.dbc', version: '1', sha256: sha256('x'), size: 1 };
    case 'createApiKey':
      return { role: 'viewer' };
    default:
      return undefined;
  }
}

/** Fill a route's path template with a tenant's ids. */
export function fillPath(path: string, s: Seeded): string {
  return path
    .replace(/^\/v1\/devices\/\{id\}/, `/v1/devices/${s.deviceId}`)
    .replace(/^\/v1\/files\/\{id\}/, `/v1/files/${s.firmwareFileId}`)
    .replace(/^\/v1\/api-keys\/\{id\}/, `/v1/api-keys/${s.keyId}`)
    .replace('{commandId}', s.commandId);
}
