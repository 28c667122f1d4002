/**
 * The transport-neutral request/response shapes of the API router. They follow API Gateway HTTP API
 * (payload format 2.0) closely so the Lambda adapter is a few lines, and the local node:http server builds
 * the same shape.
 */

/** An HTTP request as the router sees it. */
export interface ApiRequest {
  /** Upper-case HTTP method. */
  method: string;
  /** Path without query string, e.g. `/v1/devices/abc`. */
  path: string;
  /** Decoded query parameters (repeated keys joined with commas, as API Gateway does). */
  query: Readonly<Record<string, string | undefined>>;
  /** Header names in any case; the router lower-cases them. */
  headers: Readonly<Record<string, string | undefined>>;
  /** Raw body text (already base64-decoded by the adapter), or undefined. */
  body?: string;
  /** Claims/context verified upstream (API Gateway authorizer), when there is one. */
  authorizer?: Readonly<Record<string, unknown>>;
  /** Request id for logs and error bodies. */
  requestId?: string;
}

/** An HTTP response. */
export interface ApiResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** Lower-case every header name (HTTP header names are case-insensitive). */
export function normalizeHeaders(h: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k.toLowerCase()] = v;
  return out;
}

/** Common response headers: JSON, never cached (answers depend on the caller's credentials). */
export const JSON_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
});
