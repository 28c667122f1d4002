/**
 * The whole DBC conformance set (vendored copy, so a fresh clone works anywhere) must agree 100% with
 * the reference decoder, with and without value-table names.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runConformance } from '../../lambdas/cli/commands/conformance.js';

describe('DBC conformance vectors', () => {
  it('agree 100% with the reference decoder', () => {
    const report = runConformance(join(import.meta.dirname, '../fixtures/conformance/dbc'));
    expect(report.vectors.length).toBe(81);
    const failing = report.vectors
      .filter((v) => v.loadError || v.framesOk !== v.frames || v.choicesOk !== v.frames)
      .map((v) => ({ name: v.name, loadError: v.loadError, diffs: v.diffs }));
    expect(failing).toEqual([]);
    expect(report.framesOk).toBe(report.frames);
    expect(report.frames).toBe(2 * 8563);
    expect(report.valuesOk).toBe(report.values);
  });
});
