import { describe, expect, it } from 'vitest';
import { PAYLOAD_FORMATS } from '../../lambdas/core/model/point.js';
import { fuzzFormat, loadCorpus, makeCase } from './fuzz.js';

/** CI-sized fuzzing; `npm run fuzz` runs ≥ 100 000 cases per codec on demand. */
const RUNS = Number(process.env.FUZZ_CI_RUNS ?? 1000);
const SEED = 20261122;

describe('fuzz (CI size)', () => {
  for (const format of PAYLOAD_FORMATS) {
    it(`${format}: ${RUNS} cases give points or a typed error, through the codec and through auto`, () => {
      const report = fuzzFormat(format, { runs: RUNS, seed: SEED, caseMs: 2000 });
      expect(report.failures).toEqual([]);
      expect(report.cases).toBe(RUNS);
      // The generators must reach the decoder's accept path, not only its first checks.
      expect(report.accepted).toBeGreaterThan(RUNS / 20);
      expect(Object.keys(report.rejected).length).toBeGreaterThan(3);
    });
  }

  it('rebuilds a case from (seed, index) alone, so failures replay', () => {
    const corpus = loadCorpus('flexconnect-binary');
    for (let i = 0; i < 20; i++) {
      expect(makeCase('flexconnect-binary', corpus, 7, i)).toEqual(
        makeCase('flexconnect-binary', corpus, 7, i),
      );
    }
  });
});
