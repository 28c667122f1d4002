/**
 * Built-in rules: present in every tenant with no configuration. Today there is one — device-reported
 * errors (EMS `error_flags` non-empty, ExoSense `__error` entries) — which users can disable or tune
 * (severity, re-notify, scope, name) but not delete or point at another field.
 */
import type { AlertRule } from './rule.js';

/** Id of the built-in device-error rule (the same in every tenant). */
export const BUILTIN_DEVICE_ERROR_ID = 'builtin-device-error';

/** Field shown for the device-error rule: it reads EMS flags and ExoSense channel errors together. */
export const DEVICE_ERROR_FIELD = 'device.errors';

/**
 * The built-in rules of a tenant, as they are before anyone changed them. A stored rule with the same
 * id (the user's override) replaces the default.
 */
export function builtinRules(tenant: string): AlertRule[] {
  return [
    {
      id: BUILTIN_DEVICE_ERROR_ID,
      tenant,
      builtin: 'device-error',
      name: 'Device reports an error',
      description:
        'Fires while a device reports errors: EMS system_status.error_flags is not empty, or an ExoSense ' +
        'payload carries __error entries for a channel. Built in; disable it or change its severity.',
      scope: { kind: 'all' },
      field: DEVICE_ERROR_FIELD,
      condition: { op: 'device_error' },
      forMs: 0,
      severity: 'major',
      renotifyMs: 0,
      enabled: true,
      createdAt: 0,
      updatedAt: 0,
      version: 0,
    },
  ];
}

/** Merge the built-in defaults with the stored rules (stored overrides win), ordered by id. */
export function withBuiltins(tenant: string, stored: readonly AlertRule[]): AlertRule[] {
  const byId = new Map<string, AlertRule>();
  for (const r of builtinRules(tenant)) byId.set(r.id, r);
  for (const r of stored) byId.set(r.id, r);
  return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Fields of a built-in rule that users may change (the rest define what the rule is). */
export const BUILTIN_EDITABLE = [
  'name',
  'description',
  'scope',
  'severity',
  'renotifyMs',
  'enabled',
] as const;
