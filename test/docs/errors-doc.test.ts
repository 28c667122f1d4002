import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { WARNING_CODES } from '../../lambdas/core/codecs/warnings.js';
import { ERROR_CODES } from '../../lambdas/core/errors.js';

const doc = readFileSync(join(import.meta.dirname, '../../docs/errors.md'), 'utf8');
/** Codes documented as the first cell of a table row: | `CODE` | … */
const documented = new Set([...doc.matchAll(/^\|\s*`([A-Z0-9_]+)`\s*\|/gm)].map((m) => m[1] as string));

describe('docs/errors.md', () => {
  it('documents every error code in ERROR_CODES', () => {
    const missing = Object.keys(ERROR_CODES).filter((c) => !documented.has(c));
    expect(missing, 'add a table row for each code to docs/errors.md').toEqual([]);
  });

  it('documents every codec warning code', () => {
    const missing = Object.keys(WARNING_CODES).filter((c) => !documented.has(c));
    expect(missing, 'add a row to the Warnings table of docs/errors.md').toEqual([]);
  });

  it('documents no code that does not exist', () => {
    const known = new Set([...Object.keys(ERROR_CODES), ...Object.keys(WARNING_CODES)]);
    expect([...documented].filter((c) => !known.has(c))).toEqual([]);
  });
});
