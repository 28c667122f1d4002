import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../lambdas/core/errors.js';
import {
  EVENT_FAMILIES,
  EVENT_NUMBERS,
  eventNumber,
  INGEST_CODES,
} from '../../lambdas/services/ingest-codes.js';

const docs = readFileSync(join(import.meta.dirname, '../../docs/events.md'), 'utf8');

describe('ingest event numbers', () => {
  it('are unique and all in the ingest family', () => {
    const numbers = Object.values(EVENT_NUMBERS);
    expect(new Set(numbers).size).toBe(numbers.length);
    for (const n of numbers) expect(n & 0xffff0000).toBe(EVENT_FAMILIES.ingest);
  });

  it('number every ingest-only code, and those codes never collide with core error codes', () => {
    for (const code of Object.keys(INGEST_CODES)) {
      expect(Object.hasOwn(EVENT_NUMBERS, code), code).toBe(true);
      expect(Object.hasOwn(ERROR_CODES, code), code).toBe(false);
    }
  });

  it('give every core error code a number in the family (its own or its group fallback)', () => {
    for (const code of Object.keys(ERROR_CODES)) {
      expect(eventNumber(code) & 0xffff0000, code).toBe(EVENT_FAMILIES.ingest);
    }
    expect(eventNumber('DBC_SOMETHING_NEW')).toBe(EVENT_NUMBERS.DBC_ERROR);
    expect(eventNumber('SOMETHING_NEW')).toBe(EVENT_NUMBERS.DECODE_ERROR);
    expect(eventNumber('__proto__')).toBe(EVENT_NUMBERS.DECODE_ERROR);
  });

  it('are all documented in docs/events.md with their decimal and hex forms', () => {
    for (const [code, n] of Object.entries(EVENT_NUMBERS)) {
      const hex = `0x${n.toString(16).padStart(8, '0')}`;
      expect(docs, code).toMatch(new RegExp(`\\| ${n} \\| \`${hex}\` \\| \`${code}\` +\\|`));
    }
  });
});
