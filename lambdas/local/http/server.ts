/**
 * The local stack's HTTP server (node:http, no framework):
 *
 * - `GET /healthz` — liveness and counters, no credentials needed;
 * - `GET|HEAD|PUT /files/<key>?expires=&sig=` — the presigned-style URLs of the local file store
 *   (what S3 presigned URLs are on AWS), checked by HMAC and expiry;
 * - everything else — the API router (lambdas/api), fed the same API-Gateway-v2-like request the Lambda
 *   adapter builds.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LocalFileStore } from '../../adapters/local/file-store.js';
import type { ApiRequest, ApiResponse } from '../../api/http.js';
import type { LocalLogger } from '../log.js';
import type { AdminRequest } from './admin.js';

/** What the HTTP server serves. */
export interface HttpServerDeps {
  /** The API router; when absent every API path answers 404. */
  api?: (req: ApiRequest) => Promise<ApiResponse>;
  files: LocalFileStore;
  /** Body of `GET /healthz`. */
  health: () => Record<string, unknown>;
  /** The local operator routes under `/local/` (see ./admin.ts). */
  admin?: (req: AdminRequest) => Promise<{ status: number; body: unknown }>;
  log: LocalLogger;
  /** Largest API request body. */
  maxBodyBytes: number;
  /** Largest file upload through a signed URL. @default 64 MiB */
  maxUploadBytes?: number;
}

/** A running HTTP server. */
export interface LocalHttpServer {
  readonly port: number;
  close(): Promise<void>;
}

const JSON_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

class BodyTooLarge extends Error {}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  extra: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...JSON_HEADERS, 'content-length': Buffer.byteLength(text), ...extra });
  res.end(text);
}

function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { error: { code, message } });
}

/** Read a request body, refusing more than `max` bytes. */
function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > max) {
      reject(new BodyTooLarge());
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        reject(new BodyTooLarge());
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function flatHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(req.headers)) {
    if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

/** Start the server on `host:port` (0 = a free port). */
export async function startHttpServer(
  deps: HttpServerDeps,
  opts: { host: string; port: number },
): Promise<LocalHttpServer> {
  const maxUpload = deps.maxUploadBytes ?? 64 * 1024 * 1024;

  async function files(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD' && method !== 'PUT') {
      res.setHeader('allow', 'GET, HEAD, PUT');
      return sendError(res, 405, 'METHOD_NOT_ALLOWED', 'signed file URLs accept GET, HEAD and PUT');
    }
    let key: string;
    try {
      key = url.pathname.slice('/files/'.length).split('/').map(decodeURIComponent).join('/');
    } catch {
      return sendError(res, 400, 'INVALID_KEY', 'the object key is not valid');
    }
    const expires = Number(url.searchParams.get('expires'));
    const sig = url.searchParams.get('sig') ?? '';
    const signedMethod = method === 'PUT' ? 'PUT' : 'GET';
    const contentType = req.headers['content-type'];
    // An upload URL signed with a content type only verifies with that same Content-Type header.
    let verdict = deps.files.verify({ method: signedMethod, key, expires }, sig);
    if (verdict === 'forbidden' && method === 'PUT' && contentType !== undefined) {
      verdict = deps.files.verify({ method: 'PUT', key, expires, contentType }, sig);
    }
    if (verdict === 'expired') return sendError(res, 403, 'URL_EXPIRED', 'the signed URL has expired');
    if (verdict !== 'ok') return sendError(res, 403, 'SIGNATURE_INVALID', 'the URL signature is not valid');

    if (method === 'PUT') {
      let body: Buffer;
      try {
        body = await readBody(req, maxUpload);
      } catch (e) {
        if (e instanceof BodyTooLarge)
          return sendError(res, 413, 'PAYLOAD_TOO_LARGE', `uploads are limited to ${maxUpload} bytes`);
        throw e;
      }
      const { etag } = await deps.files.put(key, body, contentType);
      res.writeHead(200, { etag: `"${etag}"`, 'content-length': 0 });
      res.end();
      deps.log.debug('http', `stored ${key} (${body.length} bytes)`);
      return;
    }
    const file = await deps.files.get(key);
    if (!file) return sendError(res, 404, 'NO_SUCH_KEY', 'the object does not exist');
    res.writeHead(200, {
      'content-type': (await deps.files.contentType(key)) ?? 'application/octet-stream',
      'content-length': file.bytes.length,
      etag: `"${file.etag}"`,
      'cache-control': 'private, no-store',
      'x-content-type-options': 'nosniff',
    });
    res.end(method === 'HEAD' ? undefined : Buffer.from(file.bytes));
  }

  async function api(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (!deps.api) return sendError(res, 404, 'NOT_FOUND', 'no such route');
    let body: Buffer;
    try {
      body = await readBody(req, deps.maxBodyBytes);
    } catch (e) {
      if (e instanceof BodyTooLarge) {
        return sendError(
          res,
          413,
          'PAYLOAD_TOO_LARGE',
          `request bodies are limited to ${deps.maxBodyBytes} bytes`,
        );
      }
      throw e;
    }
    const query: Record<string, string> = Object.create(null);
    for (const key of new Set(url.searchParams.keys())) query[key] = url.searchParams.getAll(key).join(',');
    const request: ApiRequest = {
      method: (req.method ?? 'GET').toUpperCase(),
      path: url.pathname,
      query,
      headers: flatHeaders(req),
      requestId: randomUUID(),
    };
    if (body.length > 0) request.body = body.toString('utf8');
    const out = await deps.api(request);
    const text = Buffer.from(out.body, 'utf8');
    res.writeHead(out.statusCode, { ...out.headers, 'content-length': text.length });
    res.end(req.method === 'HEAD' ? undefined : text);
  }

  const server: Server = createServer((req, res) => {
    const started = Date.now();
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://local');
    } catch {
      return sendError(res, 400, 'BAD_REQUEST', 'malformed request target');
    }
    let handled: Promise<void>;
    if (url.pathname === '/healthz') {
      handled =
        req.method === 'GET' || req.method === 'HEAD'
          ? Promise.resolve(sendJson(res, 200, deps.health()))
          : Promise.resolve(sendError(res, 405, 'METHOD_NOT_ALLOWED', 'use GET'));
    } else if (url.pathname.startsWith('/files/')) {
      handled = files(req, res, url);
    } else if (url.pathname.startsWith('/local/') && deps.admin) {
      const admin = deps.admin;
      const query: Record<string, string> = Object.create(null);
      for (const key of new Set(url.searchParams.keys())) query[key] = url.searchParams.get(key) ?? '';
      handled = admin({
        method: req.method ?? 'GET',
        path: url.pathname,
        query,
        headers: flatHeaders(req),
      }).then((r) => sendJson(res, r.status, r.body));
    } else {
      handled = api(req, res, url);
    }
    handled
      .catch((err: unknown) => {
        deps.log.warn(
          'http',
          `${req.method} ${url.pathname} failed: ${err instanceof Error ? err.message : String(err)}`,
        );
        if (!res.headersSent) sendError(res, 500, 'INTERNAL', 'internal error');
        else res.destroy();
      })
      .finally(() => {
        deps.log.debug(
          'http',
          `${req.method} ${url.pathname} → ${res.statusCode} (${Date.now() - started} ms)`,
        );
      });
  });
  // Slow-loris protection that still allows large uploads on loopback.
  server.headersTimeout = 20_000;
  server.requestTimeout = 120_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
