/**
 * The framework-free API router: `createApi(deps)` returns a function from an {@link ApiRequest} to an
 * {@link ApiResponse}. Order of checks, the same for every route: authenticate (401) → match the path
 * (404/405) → role (403 for a viewer on a write) → path parameters (malformed ids answer 404, as if the
 * object did not exist) → query and body (400) → handler. Errors become `{"error": {"code", "message"}}`.
 */
import { z } from 'zod';
import { isFleetwireError } from '../core/errors.js';
import type { Principal } from '../ports/api-keys.js';
import { createCommandService } from '../services/command-service.js';
import { firmwareUrlRefresher } from '../services/firmware-urls.js';
import type { ApiDeps, ApiLogger } from './deps.js';
import { ApiError } from './errors.js';
import { type ApiRequest, type ApiResponse, JSON_HEADERS, normalizeHeaders } from './http.js';
import { timeOrderedId } from './ids.js';
import { buildOpenApi } from './openapi.js';
import type { Route, RouteResult, Schema } from './route.js';
import { apiKeyRoutes } from './routes/api-keys.js';
import { commandRoutes } from './routes/commands.js';
import type { RouteServices } from './routes/context.js';
import { deviceRoutes } from './routes/devices.js';
import { eventRoutes } from './routes/events.js';
import { fileRoutes } from './routes/files.js';
import { telemetryRoutes } from './routes/telemetry.js';

/** Largest request body accepted (API Gateway allows 10 MB; nothing here needs more than small files). */
export const MAX_BODY_BYTES = 1_048_576;

/** The API as a function. */
export type Api = ((req: ApiRequest) => Promise<ApiResponse>) & {
  /** Every route, for documentation and tests. */
  readonly routes: readonly Route[];
};

interface Compiled {
  route: Route;
  segments: string[];
}

/** Build the API from its dependencies. Extra routes (e.g. alert rules) can be mounted with `extraRoutes`. */
export function createApi(deps: ApiDeps, extraRoutes: (svc: RouteServices) => Route[] = () => []): Api {
  const clock = deps.clock ?? Date.now;
  const logger: ApiLogger = deps.logger ?? {
    error: (m, d) => console.error(m, d),
    warn: (m, d) => console.warn(m, d),
  };
  const commandService = createCommandService({
    commands: deps.commands,
    publisher: deps.publisher,
    registry: deps.registry,
    events: deps.eventSink,
    topicConfig: deps.topicConfig,
    clock,
    newId: (now) => timeOrderedId('cmd', now),
    preparePayload: firmwareUrlRefresher(deps.catalog, deps.files, clock),
    onPublishError: (err, cmd) =>
      logger.warn('command publish failed; kept QUEUED', { commandId: cmd.commandId, error: String(err) }),
  });
  const svc: RouteServices = { deps, clock, logger, commandService };
  const routes: Route[] = [
    ...deviceRoutes(svc),
    ...telemetryRoutes(svc),
    ...commandRoutes(svc),
    ...fileRoutes(svc),
    ...eventRoutes(svc),
    ...apiKeyRoutes(svc),
    ...extraRoutes(svc),
  ];
  let openApiCache: string | undefined;
  const openApiRoute: Route = {
    method: 'GET',
    path: '/v1/openapi.json',
    operationId: 'getOpenApi',
    summary: 'This OpenAPI 3.1 document',
    tag: 'meta',
    write: false,
    responses: { 200: { description: 'The OpenAPI document' } },
    handle: async () => {
      openApiCache ??= JSON.stringify(buildOpenApi(allRoutes, deps.publicUrl));
      return { status: 200, body: openApiCache, headers: { 'x-raw-json': '1' } };
    },
  };
  const allRoutes = [openApiRoute, ...routes];
  const compiled: Compiled[] = allRoutes.map((r) => ({ route: r, segments: r.path.split('/') }));

  const api = async (req: ApiRequest): Promise<ApiResponse> => {
    const requestId = req.requestId;
    try {
      return await dispatch(req);
    } catch (err) {
      return errorResponse(toApiError(err, logger, requestId), requestId);
    }
  };

  async function dispatch(req: ApiRequest): Promise<ApiResponse> {
    const headers = normalizeHeaders(req.headers);
    const principal = await deps.authenticator.authenticate({ headers, authorizer: req.authorizer });
    if (!principal) {
      const res = errorResponse(
        new ApiError('UNAUTHENTICATED', 'missing or invalid credentials'),
        req.requestId,
      );
      res.headers['www-authenticate'] = 'Bearer';
      return res;
    }
    const method = req.method.toUpperCase();
    const path = req.path.length > 1 && req.path.endsWith('/') ? req.path.slice(0, -1) : req.path;
    const parts = path.split('/');
    const matches = compiled
      .map((c) => ({ c, params: matchPath(c.segments, parts) }))
      .filter((m): m is { c: Compiled; params: Record<string, string> } => m.params !== undefined);
    if (matches.length === 0) throw new ApiError('NOT_FOUND', 'no such route');
    const hit = matches.find((m) => m.c.route.method === method);
    if (!hit) {
      const allow = [...new Set(matches.map((m) => m.c.route.method))].join(', ');
      const res = errorResponse(new ApiError('METHOD_NOT_ALLOWED', `use ${allow}`), req.requestId);
      res.headers.allow = allow;
      return res;
    }
    const r = hit.c.route;
    if (r.write && principal.role !== 'operator') {
      throw new ApiError('FORBIDDEN', 'this credential may only read');
    }
    const params = r.params
      ? z.safeParse(r.params, hit.params)
      : { success: true as const, data: hit.params };
    if (!params.success) throw new ApiError('NOT_FOUND', 'not found');
    const query = parseQuery(r, req.query);
    const body = parseBody(r, headers, req.body);
    const result = await r.handle({ principal, params: params.data, query, body, req });
    return toResponse(r, result, deps.validateResponses === true);
  }

  return Object.assign(api, { routes: allRoutes as readonly Route[] });
}

/** Match path segments against a template; `{x}` captures one non-empty, decoded segment. */
function matchPath(template: string[], parts: string[]): Record<string, string> | undefined {
  if (template.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < template.length; i++) {
    const t = template[i] ?? '';
    const p = parts[i] ?? '';
    if (t.startsWith('{') && t.endsWith('}')) {
      if (p === '') return undefined;
      let v: string;
      try {
        v = decodeURIComponent(p);
      } catch {
        return undefined;
      }
      params[t.slice(1, -1)] = v;
    } else if (t !== p) return undefined;
  }
  return params;
}

function parseQuery(r: Route, query: ApiRequest['query']): unknown {
  const q: Record<string, string> = {};
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) q[k] = v;
  if (!r.query) {
    if (Object.keys(q).length > 0) {
      throw new ApiError('VALIDATION_FAILED', 'this route takes no query parameters', {
        issues: Object.keys(q).map((k) => ({ path: `query.${k}`, message: 'unknown parameter' })),
      });
    }
    return {};
  }
  return validate(r.query, q, 'query');
}

function parseBody(r: Route, headers: Record<string, string>, body: string | undefined): unknown {
  const empty = body === undefined || body === '';
  if (!r.body) {
    if (!empty) throw new ApiError('VALIDATION_FAILED', 'this route takes no body');
    return undefined;
  }
  if (Buffer.byteLength(body ?? '', 'utf8') > MAX_BODY_BYTES) {
    throw new ApiError('PAYLOAD_TOO_LARGE', `request bodies are limited to ${MAX_BODY_BYTES} bytes`);
  }
  let value: unknown = {};
  if (!empty) {
    const type = (headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/json') {
      throw new ApiError('UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json');
    }
    try {
      value = JSON.parse(body ?? '');
    } catch {
      throw new ApiError('INVALID_JSON', 'the body is not valid JSON');
    }
  }
  return validate(r.body, value, 'body');
}

function validate(schema: Schema, value: unknown, where: string): unknown {
  const res = z.safeParse(schema, value);
  if (res.success) return res.data;
  throw new ApiError('VALIDATION_FAILED', `invalid ${where}`, {
    issues: res.error.issues.slice(0, 20).map((i) => ({
      path: [where, ...i.path.map(String)].join('.'),
      message: i.message,
    })),
  });
}

function toResponse(r: Route, result: RouteResult, check: boolean): ApiResponse {
  const headers: Record<string, string> = { ...JSON_HEADERS, ...(result.headers ?? {}) };
  if (result.body === undefined) {
    delete headers['content-type'];
    return { statusCode: result.status, headers, body: '' };
  }
  if (headers['x-raw-json'] !== undefined) {
    delete headers['x-raw-json'];
    return { statusCode: result.status, headers, body: String(result.body) };
  }
  const spec = r.responses[result.status];
  if (check) {
    if (!spec) throw new Error(`route ${r.operationId} answered undocumented status ${result.status}`);
    if (spec.schema) {
      const res = z.safeParse(spec.schema, result.body);
      if (!res.success) {
        throw new Error(
          `route ${r.operationId} answered a body its schema refuses: ${z.prettifyError(res.error)}`,
        );
      }
    }
  }
  return { statusCode: result.status, headers, body: JSON.stringify(result.body) };
}

function toApiError(err: unknown, logger: ApiLogger, requestId: string | undefined): ApiError {
  if (err instanceof ApiError) return err;
  if (isFleetwireError(err)) {
    // Typed errors from the core or a store: the caller's input was refused.
    if (err.code === 'INVALID_CURSOR') return new ApiError('INVALID_CURSOR', err.message);
    if (err.code === 'INVALID_CSR') return new ApiError('CSR_INVALID', err.message);
    return new ApiError('VALIDATION_FAILED', err.message, { code: err.code, ...err.details });
  }
  // Adapters' own argument errors (a store refusing a forged cursor) are the caller's fault, not ours.
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'INVALID_CURSOR') return new ApiError('INVALID_CURSOR', 'cursor is not valid for this list');
  if (code === 'INVALID_ARGUMENT')
    return new ApiError('VALIDATION_FAILED', 'the request was refused by the store');
  logger.error('unhandled API error', {
    requestId,
    error: err instanceof Error ? { name: err.name, message: err.message, stack: err.stack } : String(err),
  });
  return new ApiError('INTERNAL', 'internal error');
}

function errorResponse(e: ApiError, requestId: string | undefined): ApiResponse {
  const body = e.toBody();
  const headers: Record<string, string> = { ...JSON_HEADERS };
  if (requestId) headers['x-request-id'] = requestId;
  return { statusCode: e.status, headers, body: JSON.stringify(body) };
}

/** Re-exported for adapters that need the principal type. */
export type { Principal };
