/** The OpenAPI 3.1 document: every route present, every reference resolves, parameters match templates. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../support/api-harness.js';

let h: Harness;
// biome-ignore lint/suspicious/noExplicitAny: the document is walked generically.
let doc: any;
beforeAll(async () => {
  h = await createHarness();
  const res = await h.call(h.keys.acmeViewer, 'GET', '/v1/openapi.json');
  expect(res.status).toBe(200);
  doc = res.body;
});
afterAll(() => h.close());

function* walk(node: unknown, path: string): Generator<[string, unknown]> {
  if (Array.isArray(node)) for (const [i, v] of node.entries()) yield* walk(v, `${path}/${i}`);
  else if (typeof node === 'object' && node !== null) {
    for (const [k, v] of Object.entries(node)) {
      yield [`${path}/${k}`, v];
      yield* walk(v, `${path}/${k}`);
    }
  }
}

function resolve(ref: string): unknown {
  expect(ref.startsWith('#/')).toBe(true);
  // biome-ignore lint/suspicious/noExplicitAny: JSON pointer walk.
  let cur: any = doc;
  for (const seg of ref.slice(2).split('/')) cur = cur?.[seg.replaceAll('~1', '/').replaceAll('~0', '~')];
  return cur;
}

describe('OpenAPI document', () => {
  it('is OpenAPI 3.1 with info, security and components', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.title).toBe('Fleetwire API');
    expect(doc.security).toEqual([{ bearer: [] }]);
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
  });

  it('documents every route exactly once with a unique operationId', () => {
    const ids = new Set<string>();
    for (const r of h.api.routes) {
      const op = doc.paths[r.path]?.[r.method.toLowerCase()];
      expect(op, `${r.method} ${r.path}`).toBeDefined();
      expect(op.operationId).toBe(r.operationId);
      expect(ids.has(op.operationId)).toBe(false);
      ids.add(op.operationId);
      expect(op.responses['401']).toBeDefined();
      if (r.write) expect(op.responses['403']).toBeDefined();
      if (r.path.includes('{')) expect(op.responses['404']).toBeDefined();
      if (r.body) expect(op.requestBody.content['application/json'].schema).toBeDefined();
    }
    const documented = Object.values(doc.paths).flatMap((p) => Object.keys(p as object));
    expect(documented.length).toBe(h.api.routes.length);
  });

  it('declares every path parameter of every template, and only those', () => {
    for (const [path, item] of Object.entries(doc.paths)) {
      const names = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      for (const op of Object.values(
        item as Record<string, { parameters: { name: string; in: string }[] }>,
      )) {
        expect(op.parameters.filter((p) => p.in === 'path').map((p) => p.name)).toEqual(names);
      }
    }
  });

  it('resolves every $ref', () => {
    let refs = 0;
    for (const [where, v] of walk(doc, '#')) {
      if (where.endsWith('/$ref')) {
        refs++;
        expect(resolve(v as string), `${where} → ${v}`).toBeDefined();
      }
    }
    expect(refs).toBeGreaterThan(40);
  });

  it('generates component schemas from the zod definitions', () => {
    const s = doc.components.schemas;
    expect(s.CreateDeviceRequest.additionalProperties).toBe(false);
    expect(s.CreateDeviceRequest.properties.deviceId.pattern).toBe('^[a-zA-Z0-9:_-]{1,128}$');
    // Request schemas describe input: defaulted fields are optional.
    expect(s.CreateCommandRequest.required).toEqual(['action']);
    expect(s.Command.properties.status.enum).toEqual([
      'QUEUED',
      'SENT',
      'ACKNOWLEDGED',
      'SUCCEEDED',
      'FAILED',
      'REJECTED',
      'TIMED_OUT',
    ]);
    expect(s.PutConfigRequest.properties.config_io.properties.channels).toBeDefined();
    for (const [name, schema] of Object.entries(s)) {
      expect((schema as Record<string, unknown>).$id, name).toBeUndefined();
      expect(['object', undefined]).toContain((schema as Record<string, unknown>).type);
    }
    const tq = doc.paths['/v1/devices/{id}/telemetry'].get.parameters.map((p: { name: string }) => p.name);
    expect(tq).toEqual(['id', 'from', 'to', 'fields', 'interval', 'agg', 'limit', 'cursor']);
  });

  it('requires credentials like every other route', async () => {
    expect((await h.call(undefined, 'GET', '/v1/openapi.json')).status).toBe(401);
  });
});
