/**
 * Route definitions: method, path template, role, zod schemas for params/query/body/responses, and the
 * handler. The router validates with the schemas and the OpenAPI document is generated from them, so a
 * route cannot accept or return something its documentation does not describe.
 *
 * Schemas are typed as zod's core type, so routes take full `zod` and `zod/mini` schemas alike (the alert
 * rule schemas are zod/mini: they also ship in the ingest Lambda); the router and the document generator
 * use zod's functions (`z.safeParse`, `z.toJSONSchema`) rather than schema methods.
 */
import type { z } from 'zod';

/** Any zod 4 schema, full or mini. */
export type Schema<O = unknown, I = unknown> = z.core.$ZodType<O, I>;

import type { Principal } from '../ports/api-keys.js';
import type { ApiRequest } from './http.js';

/** HTTP methods the API uses. */
export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** What a handler returns. */
export interface RouteResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** What a handler receives, already authenticated and validated. */
export interface RouteContext<P, Q, B> {
  principal: Principal;
  params: P;
  query: Q;
  body: B;
  req: ApiRequest;
}

/** One documented response. */
export interface ResponseSpec {
  description: string;
  schema?: Schema;
}

/** A route. */
export interface Route {
  method: Method;
  /** Path template with `{name}` segments, e.g. `/v1/devices/{id}`. */
  path: string;
  operationId: string;
  summary: string;
  tag: string;
  /** True for routes that change state: operators only. */
  write: boolean;
  params?: Schema;
  query?: Schema;
  body?: Schema;
  responses: Record<number, ResponseSpec>;
  handle(ctx: RouteContext<unknown, unknown, unknown>): Promise<RouteResult>;
}

/** Define a route with handler types inferred from its schemas. */
export function route<
  P extends Schema = Schema<Record<string, never>>,
  Q extends Schema = Schema<Record<string, never>>,
  B extends Schema = Schema<undefined>,
>(def: {
  method: Method;
  path: string;
  operationId: string;
  summary: string;
  tag: string;
  write: boolean;
  params?: P;
  query?: Q;
  body?: B;
  responses: Record<number, ResponseSpec>;
  handle(ctx: RouteContext<z.output<P>, z.output<Q>, z.output<B>>): Promise<RouteResult>;
}): Route {
  return def as unknown as Route;
}
