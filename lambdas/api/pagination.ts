/**
 * Opaque list cursors. A store's own cursor is wrapped with the tenant and the list it belongs to, so a
 * cursor copied from another tenant or another list is refused (400 INVALID_CURSOR) instead of being handed
 * to a store. Stores must still scope every page by tenant; the wrapper is a guard, not the isolation.
 */
import { ApiError } from './errors.js';

/** Default and maximum page sizes. */
export const PAGE_LIMITS = Object.freeze({ default: 50, max: 200 });

// Timestream NextTokens are long; 8 KiB still fits a query string comfortably.
const MAX_CURSOR_LENGTH = 8192;

/** Wrap a store cursor for the caller. */
export function encodeCursor(
  tenant: string,
  scope: string,
  storeCursor: string | undefined,
): string | undefined {
  if (storeCursor === undefined) return undefined;
  return Buffer.from(JSON.stringify({ t: tenant, s: scope, c: storeCursor }), 'utf8').toString('base64url');
}

/** Unwrap a caller's cursor; throws INVALID_CURSOR when it is malformed or belongs elsewhere. */
export function decodeCursor(tenant: string, scope: string, cursor: string | undefined): string | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  const bad = (): ApiError => new ApiError('INVALID_CURSOR', 'cursor is not valid for this list');
  if (cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw bad();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (typeof parsed !== 'object' || parsed === null) throw bad();
  const { t, s, c } = parsed as Record<string, unknown>;
  if (t !== tenant || s !== scope || typeof c !== 'string') throw bad();
  return c;
}
