/** API key routes: operators create (shown once), list and revoke their tenant's keys. */
import { z } from 'zod';
import { issueApiKey } from '../auth.js';
import { notFound } from '../errors.js';
import { decodeCursor, encodeCursor } from '../pagination.js';
import { type Route, route } from '../route.js';
import { ApiKeyCreated, ApiKeyList, CreateApiKeyRequest, ListParams, ResourceId } from '../schemas.js';
import { apiKeyView, pageLimit, type RouteServices } from './context.js';

/** The API key routes. */
export function apiKeyRoutes(svc: RouteServices): Route[] {
  const { deps, clock } = svc;
  return [
    route({
      method: 'POST',
      path: '/v1/api-keys',
      operationId: 'createApiKey',
      summary: 'Create an API key for this tenant (the key is shown once)',
      tag: 'api-keys',
      write: true,
      body: CreateApiKeyRequest,
      responses: { 201: { description: 'Created', schema: ApiKeyCreated } },
      async handle({ principal, body }) {
        const now = clock();
        const { record, key } = await issueApiKey(deps.apiKeys, principal.tenant, body.role, now, {
          ...(body.name !== undefined ? { name: body.name } : {}),
          ...(body.expiresInDays !== undefined ? { expiresAt: now + body.expiresInDays * 86_400_000 } : {}),
        });
        return { status: 201, body: { ...apiKeyView(record), key } };
      },
    }),
    route({
      method: 'GET',
      path: '/v1/api-keys',
      operationId: 'listApiKeys',
      summary: 'List this tenant’s API keys (never the secrets)',
      tag: 'api-keys',
      write: false,
      query: ListParams,
      responses: { 200: { description: 'A page of keys', schema: ApiKeyList } },
      async handle({ principal, query }) {
        const page = await deps.apiKeys.list(principal.tenant, {
          limit: pageLimit(query.limit),
          cursor: decodeCursor(principal.tenant, 'api-keys', query.cursor),
        });
        const next = encodeCursor(principal.tenant, 'api-keys', page.next);
        const items = page.items.filter((k) => k.tenant === principal.tenant).map(apiKeyView);
        return { status: 200, body: { items, ...(next ? { next } : {}) } };
      },
    }),
    route({
      method: 'DELETE',
      path: '/v1/api-keys/{id}',
      operationId: 'revokeApiKey',
      summary: 'Revoke an API key; it never authenticates again',
      tag: 'api-keys',
      write: true,
      params: z.object({ id: ResourceId }),
      responses: { 204: { description: 'Revoked' } },
      async handle({ principal, params }) {
        if (!(await deps.apiKeys.revoke(principal.tenant, params.id, clock()))) throw notFound('API key');
        return { status: 204 };
      },
    }),
  ];
}
