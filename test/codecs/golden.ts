/**
 * Golden fixtures: test/fixtures/codecs/<format>/ holds one case per input file.
 *
 *   NAME.<ext>            the payload bytes exactly as a device sends them (any extension, e.g. .json,
 *                         .json.gz, .pb)
 *   NAME.ctx.json         optional decode context {"device", "receivedAt"}
 *   NAME.expected.json    the expected DecodeResult as JSON (CAN frame data as lowercase hex), or
 *   NAME.error.json       {"error": "<CODE>"} for a payload that must be rejected with that code
 *
 * NAME has no dots. To bless a new success case, run its test with FLEETWIRE_UPDATE_GOLDEN=1: a missing
 * NAME.expected.json is written from the decoder's output (review it before committing). Existing
 * expectations are never overwritten.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { FleetwireError } from '../../lambdas/core/errors.js';
import { DEFAULT_LIMITS } from '../../lambdas/core/limits.js';
import type { DecodeContext, DecodeResult, PayloadFormat } from '../../lambdas/core/model/point.js';

/** Root of the codec fixtures. */
export const FIXTURES_DIR = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/codecs');

/** One golden case. */
export interface GoldenCase {
  name: string;
  file: string;
  input: Uint8Array;
  ctx: DecodeContext;
  expectedFile: string;
  expected?: unknown;
  error?: string;
}

const SIDECAR = /\.(ctx|expected|error)\.json$/;

/** Load every case of one format directory. */
export function loadCases(format: PayloadFormat): GoldenCase[] {
  const dir = join(FIXTURES_DIR, format);
  const cases: GoldenCase[] = [];
  for (const file of readdirSync(dir).sort()) {
    if (SIDECAR.test(file)) continue;
    const name = file.split('.')[0]!;
    const path = (suffix: string) => join(dir, `${name}.${suffix}.json`);
    const c: GoldenCase = {
      name,
      file,
      input: readFileSync(join(dir, file)),
      ctx: existsSync(path('ctx')) ? (JSON.parse(readFileSync(path('ctx'), 'utf8')) as DecodeContext) : {},
      expectedFile: path('expected'),
    };
    if (existsSync(path('error')))
      c.error = (JSON.parse(readFileSync(path('error'), 'utf8')) as { error: string }).error;
    else if (existsSync(path('expected'))) c.expected = JSON.parse(readFileSync(path('expected'), 'utf8'));
    cases.push(c);
  }
  return cases;
}

/** A DecodeResult as its golden JSON (null-prototype records become plain objects; bytes become hex). */
export function resultToJson(r: DecodeResult): unknown {
  return JSON.parse(
    JSON.stringify(r, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v)),
  );
}

/** Register one `it` per golden case of `format`. */
export function goldenTests(
  format: PayloadFormat,
  decode: (bytes: Uint8Array, ctx: DecodeContext, limits: typeof DEFAULT_LIMITS) => DecodeResult,
): void {
  const cases = loadCases(format);
  it('has fixtures', () => {
    expect(cases.length).toBeGreaterThan(5);
    expect(cases.some((c) => c.error !== undefined)).toBe(true);
    expect(cases.some((c) => c.error === undefined)).toBe(true);
  });
  for (const c of cases) {
    if (c.error !== undefined) {
      it(`rejects ${c.file} with ${c.error}`, () => {
        let thrown: unknown;
        try {
          decode(c.input, c.ctx, DEFAULT_LIMITS);
        } catch (e) {
          thrown = e;
        }
        expect(thrown).toBeInstanceOf(FleetwireError);
        expect((thrown as FleetwireError).code).toBe(c.error);
      });
    } else {
      it(`decodes ${c.file}`, () => {
        const actual = resultToJson(decode(c.input, c.ctx, DEFAULT_LIMITS));
        if (c.expected === undefined && process.env.FLEETWIRE_UPDATE_GOLDEN === '1') {
          writeFileSync(c.expectedFile, `${JSON.stringify(actual, null, 2)}\n`);
          return;
        }
        expect(c.expected, `missing ${c.expectedFile}`).toBeDefined();
        expect(actual).toEqual(c.expected);
      });
    }
  }
}
