/**
 * The few Fleetwire API calls the simulator makes (provisioning, credential rotation, DBC upload and
 * assignment, channel contract, telemetry read-back), over fetch with a bearer token. Works the same
 * against the local stack and a deployed API.
 */
import { createHash } from 'node:crypto';

/** An API answer that was not a success. */
export class ApiCallError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly code: string | undefined,
    message: string,
  ) {
    super(`${method} ${path}: HTTP ${status}${code ? ` ${code}` : ''}: ${message}`);
  }
}

/** Credentials `POST /v1/devices` (and rotation) return. */
export interface IssuedCredentials {
  deviceId: string;
  certificateId: string;
  certificatePem: string;
  privateKey?: string;
  token?: string;
  mqtt: { host: string; port: number };
  caPem?: string;
  topics: { telemetry: Record<string, string>; commands: string; responses: string };
}

/** A device as the API shows it (the fields the simulator reads). */
export interface ApiDevice {
  deviceId: string;
  status: 'active' | 'disabled';
  certificateId?: string;
  dbcFileId?: string;
}

/** A stored file (the fields the simulator reads). */
export interface ApiFile {
  fileId: string;
  kind: 'dbc' | 'firmware';
  sha256: string;
  status: 'pending' | 'ready' | 'invalid';
}

/** One page of telemetry. */
export interface ApiTelemetryPage {
  points: { time: string; fields: Record<string, number | string | boolean> }[];
  next?: string;
}

/** A minimal client of the Fleetwire HTTP API. */
export class FleetwireApi {
  private readonly base: string;

  constructor(
    baseUrl: string,
    private readonly token: string,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {
    this.base = baseUrl.replace(/\/+$/, '');
  }

  /** The API's base URL. */
  get url(): string {
    return this.base;
  }

  /** Call the API; resolves with the parsed body, or undefined for 404 when `allow404`. */
  async call<T>(method: string, path: string, body?: unknown, allow404 = false): Promise<T | undefined> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.token}`,
      accept: 'application/json',
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await this.fetchImpl(`${this.base}${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (e) {
      throw new ApiCallError(
        method,
        path,
        0,
        'UNREACHABLE',
        `${(e as Error).message} (is the API at ${this.base} running?)`,
      );
    }
    const text = await res.text();
    if (res.status === 404 && allow404) return undefined;
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!res.ok) {
      const err = (parsed ?? {}) as {
        error?: string | { code?: string; message?: string };
        code?: string;
        message?: string;
      };
      const code = typeof err.error === 'string' ? err.error : (err.error?.code ?? err.code);
      const message =
        (typeof err.error === 'object' ? err.error?.message : undefined) ?? err.message ?? text.slice(0, 200);
      throw new ApiCallError(method, path, res.status, code, message);
    }
    return parsed as T;
  }

  /** `GET /v1/devices/{id}`, undefined when the device does not exist. */
  getDevice(id: string): Promise<ApiDevice | undefined> {
    return this.call<ApiDevice>('GET', `/v1/devices/${encodeURIComponent(id)}`, undefined, true);
  }

  /** `POST /v1/devices`: a new device with certificate, key and token. */
  async createDevice(id: string, tags: Record<string, string> = {}): Promise<IssuedCredentials> {
    return (await this.call<IssuedCredentials>('POST', '/v1/devices', {
      deviceId: id,
      tags,
    })) as IssuedCredentials;
  }

  /** `POST /v1/devices/{id}/credentials:rotate` with a new token. */
  async rotate(id: string): Promise<IssuedCredentials> {
    return (await this.call<IssuedCredentials>(
      'POST',
      `/v1/devices/${encodeURIComponent(id)}/credentials:rotate`,
      {
        rotateToken: true,
      },
    )) as IssuedCredentials;
  }

  /** A ready DBC file with this content, uploading it when the tenant has none. */
  async ensureDbc(name: string, bytes: Uint8Array): Promise<ApiFile> {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const list = await this.call<{ items: ApiFile[] }>('GET', '/v1/files?kind=dbc&limit=100');
    const existing = list?.items.find((f) => f.sha256 === sha256 && f.status === 'ready');
    if (existing) return existing;
    const declare = { kind: 'dbc', name, version: sha256.slice(0, 12), sha256, size: bytes.byteLength };
    if (bytes.byteLength <= 256 * 1024) {
      const created = await this.call<{ file: ApiFile }>('POST', '/v1/files', {
        ...declare,
        contentBase64: Buffer.from(bytes).toString('base64'),
      });
      return (created as { file: ApiFile }).file;
    }
    const created = (await this.call<{
      file: ApiFile;
      upload?: { url: string; headers: Record<string, string> };
    }>('POST', '/v1/files', declare)) as {
      file: ApiFile;
      upload?: { url: string; headers: Record<string, string> };
    };
    if (!created.upload) return created.file;
    const put = await this.fetchImpl(created.upload.url, {
      method: 'PUT',
      headers: created.upload.headers,
      body: Buffer.from(bytes),
    });
    if (!put.ok) throw new ApiCallError('PUT', '(upload URL)', put.status, undefined, await put.text());
    return (await this.call<ApiFile>('POST', `/v1/files/${created.file.fileId}/complete`)) as ApiFile;
  }

  /** `PUT /v1/devices/{id}/dbc`. */
  async assignDbc(id: string, fileId: string): Promise<void> {
    await this.call('PUT', `/v1/devices/${encodeURIComponent(id)}/dbc`, { fileId });
  }

  /** `PUT /v1/devices/{id}/config` with an ExoSense channel contract. */
  async putConfigIo(id: string, configIo: unknown): Promise<void> {
    await this.call('PUT', `/v1/devices/${encodeURIComponent(id)}/config`, { config_io: configIo });
  }

  /** Every point of a device in [from, to] (epoch ms), following pages. */
  async telemetry(id: string, from: number, to: number): Promise<ApiTelemetryPage['points']> {
    const out: ApiTelemetryPage['points'] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10_000; page++) {
      const q = new URLSearchParams({
        from: new Date(from).toISOString(),
        to: new Date(to).toISOString(),
        limit: '1000',
      });
      if (cursor) q.set('cursor', cursor);
      const r = (await this.call<ApiTelemetryPage>(
        'GET',
        `/v1/devices/${encodeURIComponent(id)}/telemetry?${q}`,
      )) as ApiTelemetryPage;
      out.push(...r.points);
      if (!r.next) break;
      cursor = r.next;
    }
    return out;
  }
}
