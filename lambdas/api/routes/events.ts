/** The system-log route: the tenant's decode/auth rejections, command and firmware events. */

import { decodeCursor, encodeCursor } from '../pagination.js';
import { type Route, route } from '../route.js';
import { EventList, EventListParams } from '../schemas.js';
import { eventView, pageLimit, parseTime, type RouteServices } from './context.js';

/** The event routes. */
export function eventRoutes(svc: RouteServices): Route[] {
  return [
    route({
      method: 'GET',
      path: '/v1/events',
      operationId: 'listEvents',
      summary: 'The tenant’s system log, newest first (optionally one device, since a time)',
      tag: 'events',
      write: false,
      query: EventListParams,
      responses: { 200: { description: 'A page of events', schema: EventList } },
      async handle({ principal, query }) {
        const since = parseTime(query.since, 'since');
        const scope = `events:${query.deviceId ?? ''}:${since ?? ''}`;
        const page = await svc.deps.events.list(principal.tenant, {
          ...(query.deviceId !== undefined ? { deviceId: query.deviceId } : {}),
          ...(since !== undefined ? { since } : {}),
          limit: pageLimit(query.limit),
          cursor: decodeCursor(principal.tenant, scope, query.cursor),
        });
        const next = encodeCursor(principal.tenant, scope, page.next);
        const items = page.items.filter((e) => e.tenant === principal.tenant).map(eventView);
        return { status: 200, body: { items, ...(next ? { next } : {}) } };
      },
    }),
  ];
}
