/**
 * Telemetry routes: structured queries (device, fields, range, interval, aggregation) and the newest value
 * of every field. Callers never send query text; the store adapter builds its own query safely.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Aggregation } from '../../ports/telemetry-store.js';
import { ApiError } from '../errors.js';
import { decodeCursor, encodeCursor } from '../pagination.js';
import { type Route, route } from '../route.js';
import { DeviceId, FieldName, LatestValues, TelemetryPage, TelemetryQueryParams } from '../schemas.js';
import { iso, loadDevice, pageLimit, parseTime, type RouteServices } from './context.js';

const IdParams = z.object({ id: DeviceId });
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Bounds of a telemetry query. */
export const TELEMETRY_LIMITS = Object.freeze({
  maxFields: 100,
  maxRangeMs: 400 * 86_400_000,
  minIntervalMs: 1000,
  maxPage: 1000,
  defaultPage: 100,
});

/** Parse `1s`, `5m`, `1h`, `1d`, `500ms` into milliseconds. */
export function parseInterval(text: string): number {
  const m = /^(\d{1,9})(ms|s|m|h|d)$/.exec(text);
  const unit = m?.[2] as keyof typeof UNIT_MS | undefined;
  if (!m || unit === undefined) throw invalid('interval', 'a number and a unit: ms, s, m, h or d');
  const ms = Number(m[1]) * UNIT_MS[unit];
  if (ms < TELEMETRY_LIMITS.minIntervalMs || ms > TELEMETRY_LIMITS.maxRangeMs) {
    throw invalid('interval', `between ${TELEMETRY_LIMITS.minIntervalMs} ms and 400 days`);
  }
  return ms;
}

/** Split and check a `fields=` list. */
export function parseFields(text: string | undefined): string[] | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const names = [
    ...new Set(
      text
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== ''),
    ),
  ];
  if (names.length > TELEMETRY_LIMITS.maxFields)
    invalidThrow('fields', `at most ${TELEMETRY_LIMITS.maxFields}`);
  for (const n of names)
    if (!FieldName.safeParse(n).success)
      invalidThrow('fields', `"${n.slice(0, 64)}" is not a valid field name`);
  return names;
}

function invalid(param: string, message: string): ApiError {
  return new ApiError('VALIDATION_FAILED', `${param}: ${message}`, {
    issues: [{ path: `query.${param}`, message }],
  });
}
function invalidThrow(param: string, message: string): never {
  throw invalid(param, message);
}

/** The telemetry routes. */
export function telemetryRoutes(svc: RouteServices): Route[] {
  const { deps, clock } = svc;
  return [
    route({
      method: 'GET',
      path: '/v1/devices/{id}/telemetry',
      operationId: 'queryTelemetry',
      summary: 'Points of a device in a time range: raw, or aggregated per interval',
      tag: 'telemetry',
      write: false,
      params: IdParams,
      query: TelemetryQueryParams,
      responses: { 200: { description: 'A page of points, oldest first', schema: TelemetryPage } },
      async handle({ principal, params, query }) {
        const d = await loadDevice(svc, principal.tenant, params.id);
        const to = parseTime(query.to, 'to') ?? clock();
        const from = parseTime(query.from, 'from') ?? to - 3_600_000;
        if (from >= to) invalidThrow('from', 'must be before to');
        if (to - from > TELEMETRY_LIMITS.maxRangeMs) invalidThrow('from', 'the range is limited to 400 days');
        const fields = parseFields(query.fields);
        const intervalMs = query.interval !== undefined ? parseInterval(query.interval) : undefined;
        if (query.agg !== undefined && intervalMs === undefined) invalidThrow('agg', 'needs an interval');
        const agg: Aggregation | undefined = intervalMs !== undefined ? (query.agg ?? 'avg') : undefined;
        // A cursor is valid only for the query that produced it.
        const scope = `telemetry:${createHash('sha256')
          .update(JSON.stringify([d.deviceId, from, to, fields ?? null, intervalMs ?? null, agg ?? null]))
          .digest('base64url')}`;
        const page = await deps.telemetry.query({
          tenant: principal.tenant,
          device: d.deviceId,
          from,
          to,
          ...(fields ? { fields } : {}),
          ...(intervalMs !== undefined ? { intervalMs, agg } : {}),
          limit: pageLimit(query.limit ?? String(TELEMETRY_LIMITS.defaultPage), TELEMETRY_LIMITS.maxPage),
          cursor: decodeCursor(principal.tenant, scope, query.cursor),
        });
        const next = encodeCursor(principal.tenant, scope, page.next);
        return {
          status: 200,
          body: {
            points: page.points.map((p) => ({ time: iso(p.time), fields: p.fields })),
            ...(next ? { next } : {}),
          },
        };
      },
    }),

    route({
      method: 'GET',
      path: '/v1/devices/{id}/latest',
      operationId: 'latestTelemetry',
      summary: 'The newest value of every field (or of `fields`), by event time',
      tag: 'telemetry',
      write: false,
      params: IdParams,
      query: z.strictObject({ fields: z.string().max(8192).optional() }),
      responses: { 200: { description: 'Newest values', schema: LatestValues } },
      async handle({ principal, params, query }) {
        const d = await loadDevice(svc, principal.tenant, params.id);
        const values = await deps.telemetry.latest(principal.tenant, d.deviceId, parseFields(query.fields));
        const fields: Record<string, { time: string; value: number | string | boolean }> = {};
        for (const v of values)
          Object.defineProperty(fields, v.field, {
            value: { time: iso(v.time), value: v.value },
            enumerable: true,
            writable: true,
            configurable: true,
          });
        return { status: 200, body: { deviceId: d.deviceId, fields } };
      },
    }),
  ];
}
