/**
 * Route definitions: method, path template, role, zod schemas for params/query/body/responses, and the
 * handler. The router validates with the schemas and the OpenAPI document is generated from them, so a
 * route cannot accept or return something its documentation does not describe.
 */
import type { z } from 'zod';
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
  schema?: z.ZodType;
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
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  responses: Record<number, ResponseSpec>;
  handle(ctx: RouteContext<unknown, unknown, unknown>): Promise<RouteResult>;
}

/** Define a route with handler types inferred from its schemas. */
export function route<
  P extends z.ZodType = z.ZodType<Record<string, never>>,
  Q extends z.ZodType = z.ZodType<Record<string, never>>,
  B extends z.ZodType = z.ZodType<undefined>,
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
