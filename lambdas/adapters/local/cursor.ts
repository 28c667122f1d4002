/**
 * Opaque page cursors of the local stores: base64url JSON of a small position object. Decoding is strict
 * (length, alphabet, JSON, shape) and failures are {@link CursorError} (`INVALID_CURSOR`), never a crash
 * or a query with an unexpected value.
 */
import { FleetwireError } from '../../core/errors.js';

/** A cursor the store cannot use. */
export class CursorError extends FleetwireError {
  constructor() {
    super('INVALID_CURSOR', 'Cursor is not valid for this query');
  }
}

const MAX_CURSOR_LENGTH = 1024;

/** Encode a position. */
export function encodeCursor(position: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
}

/**
 * Decode a position whose fields must have the given types (`'n'` safe integer, `'s'` string ≤ 256).
 * `undefined`/empty cursor → `undefined`.
 */
export function decodeCursor<K extends string>(
  cursor: string | undefined,
  shape: Readonly<Record<K, 'n' | 's'>>,
): Record<K, string | number> | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  if (cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw new CursorError();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new CursorError();
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new CursorError();
  const obj = parsed as Record<string, unknown>;
  const out = Object.create(null) as Record<K, string | number>;
  for (const key of Object.keys(shape) as K[]) {
    const v = Object.hasOwn(obj, key) ? obj[key] : undefined;
    if (shape[key] === 'n') {
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new CursorError();
    } else if (typeof v !== 'string' || v.length > 256) {
      throw new CursorError();
    }
    out[key] = v;
  }
  return out;
}

/** Clamp a page size to 1..max (stores never trust callers for their own resource use). */
export function clampLimit(limit: number, max = 1000): number {
  if (!Number.isFinite(limit)) return max;
  return Math.min(max, Math.max(1, Math.floor(limit)));
}
