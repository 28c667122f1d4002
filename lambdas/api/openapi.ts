/**
 * The OpenAPI 3.1 document, generated from the route table and its zod schemas (`z.toJSONSchema`, JSON
 * Schema 2020-12, which OpenAPI 3.1 uses as is). Request bodies are described as the schema's input (what
 * callers may send, defaults optional) and responses as its output.
 */
import { z } from 'zod';
import type { Route, Schema } from './route.js';
import { COMPONENTS, ErrorBody } from './schemas.js';

/** Version of the API contract. */
export const API_VERSION = '1.0.0';

type Json = Record<string, unknown>;

const REF = (name: string): Json => ({ $ref: `#/components/schemas/${name}` });

function stripSchemaKeys(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(stripSchemaKeys);
  if (typeof s !== 'object' || s === null) return s;
  const out: Json = {};
  for (const [k, v] of Object.entries(s)) if (k !== '$schema') out[k] = stripSchemaKeys(v);
  return out;
}

function componentSchemas(routes: readonly Route[]): { schemas: Json; names: Map<Schema, string> } {
  const names = new Map<Schema, string>();
  for (const [name, schema] of Object.entries(COMPONENTS)) names.set(schema, name);
  const bodies = new Set(routes.map((r) => r.body).filter((b): b is Schema => b !== undefined));
  const input = z.registry<{ id: string }>();
  const output = z.registry<{ id: string }>();
  for (const [schema, name] of names) (bodies.has(schema) ? input : output).add(schema, { id: name });
  const opts = { uri: (id: string) => `#/components/schemas/${id}`, unrepresentable: 'any' as const };
  const a = z.toJSONSchema(input, { ...opts, io: 'input' }).schemas;
  const b = z.toJSONSchema(output, { ...opts, io: 'output' }).schemas;
  const schemas = stripSchemaKeys({ ...a, ...b }) as Record<string, Json>;
  // Registry output names each component with `$id: '#/components/…'`, which JSON Schema forbids (an $id
  // must not carry a fragment); components are addressed by their JSON pointer instead.
  for (const s of Object.values(schemas)) delete s.$id;
  return { schemas, names };
}

function schemaOf(s: Schema, names: Map<Schema, string>, io: 'input' | 'output'): Json {
  const name = names.get(s);
  if (name) return REF(name);
  return stripSchemaKeys(z.toJSONSchema(s, { io, unrepresentable: 'any' })) as Json;
}

function parametersOf(r: Route, names: Map<Schema, string>): Json[] {
  const params: Json[] = [];
  const pathShape = r.params instanceof z.ZodObject ? (r.params.shape as Record<string, Schema>) : {};
  for (const m of r.path.matchAll(/\{([^}]+)\}/g)) {
    const n = m[1] ?? '';
    const s = pathShape[n];
    params.push({
      name: n,
      in: 'path',
      required: true,
      schema: s ? schemaOf(s, names, 'input') : { type: 'string' },
    });
  }
  if (r.query instanceof z.ZodObject) {
    for (const [n, s] of Object.entries(r.query.shape as Record<string, Schema>)) {
      const json = schemaOf(s, names, 'input');
      const { description, ...schema } = json;
      params.push({
        name: n,
        in: 'query',
        required: !z.safeParse(s, undefined).success,
        ...(typeof description === 'string' ? { description } : {}),
        schema,
      });
    }
  }
  return params;
}

/** Build the OpenAPI document for `routes`. */
export function buildOpenApi(routes: readonly Route[], publicUrl?: string): Json {
  const { schemas, names } = componentSchemas(routes);
  const paths: Record<string, Record<string, Json>> = {};
  const error = (description: string): Json => ({
    description,
    content: { 'application/json': { schema: REF('ErrorBody') } },
  });
  for (const r of routes) {
    const responses: Record<string, Json> = {};
    for (const [status, spec] of Object.entries(r.responses)) {
      const code = Number(status);
      if (code >= 400) responses[status] = error(spec.description);
      else if (spec.schema) {
        responses[status] = {
          description: spec.description,
          content: { 'application/json': { schema: schemaOf(spec.schema, names, 'output') } },
        };
      } else if (r.operationId === 'getOpenApi') {
        responses[status] = {
          description: spec.description,
          content: { 'application/json': { schema: { type: 'object' } } },
        };
      } else responses[status] = { description: spec.description };
    }
    responses['400'] ??= error('Invalid request: VALIDATION_FAILED, INVALID_JSON or INVALID_CURSOR');
    responses['401'] = error('Missing or invalid credentials: UNAUTHENTICATED');
    if (r.write) responses['403'] = error('The credential may only read: FORBIDDEN');
    if (r.path.includes('{')) responses['404'] ??= error('Not found in the caller’s tenant: NOT_FOUND');
    if (r.body) responses['415'] ??= error('Body is not application/json: UNSUPPORTED_MEDIA_TYPE');
    responses['500'] = error('Unexpected failure: INTERNAL');
    const op: Json = {
      operationId: r.operationId,
      summary: r.summary,
      tags: [r.tag],
      ...(r.write ? { 'x-fleetwire-role': 'operator' } : { 'x-fleetwire-role': 'viewer' }),
      parameters: parametersOf(r, names),
      responses,
    };
    if (r.body) {
      op.requestBody = {
        required: true,
        content: { 'application/json': { schema: schemaOf(r.body, names, 'input') } },
      };
    }
    paths[r.path] ??= {};
    const entry = paths[r.path];
    if (entry) entry[r.method.toLowerCase()] = op;
  }
  // ErrorBody is referenced by every operation.
  if (!('ErrorBody' in schemas)) schemas.ErrorBody = stripSchemaKeys(z.toJSONSchema(ErrorBody));
  return {
    openapi: '3.1.0',
    info: {
      title: 'Fleetwire API',
      version: API_VERSION,
      description:
        'Device provisioning and management, telemetry queries, tracked commands, DBC and firmware files. ' +
        'Every call is scoped to the caller’s tenant; see docs/api.md.',
    },
    ...(publicUrl ? { servers: [{ url: publicUrl }] } : {}),
    security: [{ bearer: [] }],
    paths,
    components: {
      schemas,
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'An API key (fwk.…) or, on AWS, a Cognito ID/access token',
        },
      },
    },
  };
}
