/**
 * Device-reported errors, read from decoded points for the built-in device-error rule:
 * - EMS `system_status.error_flags` — the codec stores the list as JSON text (`'["OVERHEAT"]'`); each
 *   message carries the complete list, so it replaces the previous flags;
 * - ExoSense `__error` entries — the codec stores each as a string field `<channel>.__error`; a payload
 *   may carry only some channels, so a channel's error ends when that channel reports a value without
 *   an error (seed 003: "a channel value and an error, just an error, or just a value").
 *
 * The active set is a small record `flag:<FLAG>` / `channel:<id>` → text, kept in the alert state.
 */
import type { FieldValue } from '../model/point.js';
import { emptyRecord } from '../model/point.js';
import { listItems } from './conditions.js';

/** The EMS field holding the active error flags (codec: lambdas/core/codecs/ems.ts). */
export const EMS_ERROR_FLAGS_FIELD = 'system_status.error_flags';
/** Suffix of an ExoSense channel error field (codec: lambdas/core/codecs/exosense.ts). */
export const CHANNEL_ERROR_SUFFIX = '.__error';

/** Active device errors: `flag:<FLAG>` → flag, `channel:<id>` → the device's error text. */
export type DeviceErrors = Record<string, string>;

const FLAG = 'flag:';
const CHANNEL = 'channel:';

/** True when a point says something about device errors (flags, or a channel error field). */
export function hasErrorInfo(fields: Readonly<Record<string, FieldValue>>): boolean {
  if (fields[EMS_ERROR_FLAGS_FIELD] !== undefined) return true;
  for (const name in fields) if (name.endsWith(CHANNEL_ERROR_SUFFIX)) return true;
  return false;
}

/** The ExoSense channel a field belongs to (`003.lat` → `003`). Channel ids contain no dots. */
function channelOf(field: string): string {
  const dot = field.indexOf('.');
  return dot < 0 ? field : field.slice(0, dot);
}

/**
 * Apply one point to the active error set. Returns the new set, or `prev` itself (same object) when
 * the point changes nothing, so callers can detect "no change" by identity.
 */
export function applyDeviceErrors(
  prev: Readonly<DeviceErrors> | undefined,
  fields: Readonly<Record<string, FieldValue>>,
): Readonly<DeviceErrors> {
  const base = prev ?? EMPTY;
  let next: DeviceErrors | undefined;
  const edit = (): DeviceErrors => {
    if (next === undefined) {
      next = emptyRecord<string>();
      for (const k in base) next[k] = base[k] as string;
    }
    return next;
  };

  const flags = fields[EMS_ERROR_FLAGS_FIELD];
  if (flags !== undefined) {
    const items = listItems(flags);
    const wanted = new Set(items.map((f) => FLAG + f));
    for (const k in base) if (k.startsWith(FLAG) && !wanted.has(k)) delete edit()[k];
    for (const f of items) if (base[FLAG + f] === undefined) edit()[FLAG + f] = f;
  }

  // Channel errors in this point, then channels reporting a value without one.
  let errored: Set<string> | undefined;
  for (const name in fields) {
    if (!name.endsWith(CHANNEL_ERROR_SUFFIX)) continue;
    const ch = name.slice(0, -CHANNEL_ERROR_SUFFIX.length);
    const raw = fields[name];
    const text = typeof raw === 'string' ? raw : String(raw);
    if (errored === undefined) errored = new Set();
    errored.add(ch);
    if (base[CHANNEL + ch] !== text) edit()[CHANNEL + ch] = text;
  }
  let hasChannelErrors = false;
  for (const k in base) {
    if (k.startsWith(CHANNEL)) {
      hasChannelErrors = true;
      break;
    }
  }
  if (hasChannelErrors) {
    for (const name in fields) {
      if (name.endsWith(CHANNEL_ERROR_SUFFIX) || name === EMS_ERROR_FLAGS_FIELD) continue;
      const ch = channelOf(name);
      if (errored?.has(ch)) continue;
      if (base[CHANNEL + ch] !== undefined) delete edit()[CHANNEL + ch];
    }
  }
  return next ?? base;
}

/** Number of active errors. */
export function errorCount(errors: Readonly<DeviceErrors> | undefined): number {
  let n = 0;
  for (const _ in errors ?? EMPTY) n++;
  return n;
}

/** Active errors as display strings, sorted (`OVERHEAT`, `004: sensor disconnected`). */
export function describeErrors(errors: Readonly<DeviceErrors> | undefined): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(errors ?? EMPTY)) {
    out.push(k.startsWith(CHANNEL) ? `${k.slice(CHANNEL.length)}: ${v}` : v);
  }
  return out.sort();
}

const EMPTY: Readonly<DeviceErrors> = Object.freeze(emptyRecord<string>());
