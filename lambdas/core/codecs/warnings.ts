/**
 * Decode warnings: non-fatal findings a codec reports next to the points it produced. Warnings are
 * capped per message so a hostile payload cannot turn one quirk repeated 50 000 times into 50 000
 * allocations; past the cap a single WARNINGS_TRUNCATED entry says how many were dropped.
 */
import type { DecodeWarning } from '../model/point.js';

/** Stable warning codes (documented in docs/errors.md, section "Warnings"). Add new codes at the end. */
export const WARNING_CODES = {
  DUPLICATE_FIELD: 'A field name appears more than once in a point; the last value wins',
  NULL_VALUE: 'A value is null; the field is left out of the point',
  EMPTY_POINT: 'A point has no fields left; it is dropped',
  CAN_ID_EXTENDED_INFERRED: 'CAN ids above 0x7FF without the extended flag were treated as 29-bit ids',
  WARNINGS_TRUNCATED: 'More warnings than the per-message cap; the rest were dropped',
  RECEIVE_TIME_USED: 'The payload carries no usable time for a point; the receive time was used',
  RESERVED_KEY: 'A reserved ExoSense key (`__…`, other than `__error`) was skipped',
} as const;

/** A stable warning code. */
export type WarningCode = keyof typeof WARNING_CODES;

/** Most warnings kept per decoded message. */
export const MAX_WARNINGS = 100;

/**
 * Collects warnings for one message, keeping at most {@link MAX_WARNINGS}; `finish()` appends the
 * WARNINGS_TRUNCATED summary when some were dropped.
 */
export class WarningList {
  readonly items: DecodeWarning[] = [];
  private dropped = 0;

  /** Record one warning (dropped, but counted, once the cap is reached). */
  add(code: WarningCode, message: string, index?: number): void {
    if (this.items.length >= MAX_WARNINGS) {
      this.dropped++;
      return;
    }
    this.items.push(index === undefined ? { code, message } : { code, message, index });
  }

  /** The warnings, with a WARNINGS_TRUNCATED summary when the cap was hit. */
  finish(): DecodeWarning[] {
    if (this.dropped > 0) {
      this.items.push({
        code: 'WARNINGS_TRUNCATED',
        message: `${this.dropped} more warning(s) were dropped (cap ${MAX_WARNINGS})`,
      });
    }
    return this.items;
  }
}
