/**
 * The points a generated message should become once ingested: the payload decoded with the same codec
 * and (for CAN) the same DBC plug-in the ingest path uses, device set from the connection identity.
 * Used to check, end to end, that exactly what a simulated device published was stored.
 */
import { decodePayload } from '../core/codecs/index.js';
import { type CompiledDbc, framesToPoints } from '../core/dbc/index.js';
import type { PayloadFormat, Point } from '../core/model/point.js';

/** Decode `payload` as the ingest path would and return its points. */
export function expectedPoints(
  format: PayloadFormat,
  payload: Uint8Array,
  ctx: { device: string; receivedAt?: number; dbc?: CompiledDbc },
): Point[] {
  const r = decodePayload(payload, format, {
    device: ctx.device,
    ...(ctx.receivedAt !== undefined ? { receivedAt: ctx.receivedAt } : {}),
  });
  const points = [...r.points];
  if (r.frames.length > 0) {
    if (!ctx.dbc) throw new Error('CAN frames need the DBC to compute the expected points');
    points.push(...framesToPoints(r.frames, ctx.dbc, ctx.device).points);
  }
  for (const p of points) p.device = ctx.device;
  return points;
}
