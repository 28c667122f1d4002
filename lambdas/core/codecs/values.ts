/**
 * Value checks shared by the codecs: timestamps, field values, names and keys. Hostile values become
 * typed errors here so each codec stays a plain walk over its own structure.
 */
import { DecodeError, LimitError } from '../errors.js';
import type { DecodeLimits } from '../limits.js';
import type { FieldValue } from '../model/point.js';

/** Keys that must never be used as field or tag names (they could reach a prototype downstream). */
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** True for a plain JSON object (not null, not an array). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Validate an epoch-ms timestamp: a finite integer inside the configured range. */
export function checkTimestamp(ms: unknown, limits: DecodeLimits, where = 'timestamp'): number {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) {
    throw new DecodeError('INVALID_TIMESTAMP', `${where} must be a finite number of epoch milliseconds`);
  }
  if (!Number.isInteger(ms)) {
    throw new DecodeError('INVALID_TIMESTAMP', `${where} must be an integer number of epoch milliseconds`);
  }
  if (ms < limits.minTimestampMs || ms > limits.maxTimestampMs) {
    throw new DecodeError('TIMESTAMP_OUT_OF_RANGE', `${where} ${ms} is outside the accepted range`, {
      min: limits.minTimestampMs,
      max: limits.maxTimestampMs,
    });
  }
  return ms;
}

/** Parse an ISO 8601 date-time with an explicit zone (Z or ±hh:mm) into epoch ms, range-checked. */
export function parseIsoTimestamp(text: unknown, limits: DecodeLimits, where = 'timestamp'): number {
  if (typeof text !== 'string' || text.length > 40 || !ISO_RE.test(text)) {
    throw new DecodeError('INVALID_TIMESTAMP', `${where} must be an ISO 8601 date-time with a time zone`);
  }
  const ms = Date.parse(text);
  // Date.parse rolls impossible days over (2026-02-30 → March 2): check the day against its month.
  const year = Number(text.slice(0, 4));
  const month = Number(text.slice(5, 7));
  const day = Number(text.slice(8, 10));
  if (!Number.isFinite(ms) || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    throw new DecodeError('INVALID_TIMESTAMP', `${where} is not a valid date-time`);
  }
  return checkTimestamp(ms, limits, where);
}
const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Validate a field, tag or device name: non-empty, bounded, not a forbidden key. */
export function checkName(name: unknown, limits: DecodeLimits, what = 'name'): string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new DecodeError('SCHEMA_VIOLATION', `${what} must be a non-empty string`);
  }
  if (name.length > limits.maxNameLength) {
    throw new LimitError('STRING_TOO_LONG', `${what} is longer than ${limits.maxNameLength} characters`, {
      limit: limits.maxNameLength,
    });
  }
  if (FORBIDDEN_KEYS.has(name)) throw new DecodeError('FORBIDDEN_KEY', `${what} "${name}" is not allowed`);
  return name;
}

/** Validate a string value's length. */
export function checkString(s: string, limits: DecodeLimits, what = 'string value'): string {
  if (s.length > limits.maxStringLength) {
    throw new LimitError('STRING_TOO_LONG', `${what} is longer than ${limits.maxStringLength} characters`, {
      limit: limits.maxStringLength,
    });
  }
  return s;
}

/** Validate a scalar field value: finite number, bounded string or boolean. */
export function checkFieldValue(v: unknown, limits: DecodeLimits, what = 'field value'): FieldValue {
  switch (typeof v) {
    case 'number':
      if (!Number.isFinite(v)) throw new DecodeError('NON_FINITE_NUMBER', `${what} is not a finite number`);
      return v;
    case 'string':
      return checkString(v, limits, what);
    case 'boolean':
      return v;
    default:
      throw new DecodeError('SCHEMA_VIOLATION', `${what} must be a number, string or boolean`);
  }
}
