/**
 * Identifier and secret generation for API resources. Ids are time-ordered (a base-36 millisecond prefix)
 * so stores that sort by id list newest last/first without another index; the random part makes them
 * unguessable.
 */
import { randomBytes } from 'node:crypto';

/** A time-ordered id: `<prefix>_<11 base-36 ms><20 hex random>`, e.g. `cmd_0m3k2…`. */
export function timeOrderedId(prefix: string, nowMs: number): string {
  return `${prefix}_${Math.max(0, Math.floor(nowMs)).toString(36).padStart(11, '0')}${randomBytes(10).toString('hex')}`;
}

/** A device id like Avimesa's: 32 lowercase hex characters (128 random bits). */
export function randomDeviceId(): string {
  return randomBytes(16).toString('hex');
}
