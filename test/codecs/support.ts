/** Small helpers shared by the codec tests. */
import { FleetwireError } from '../../lambdas/core/errors.js';
import type { DecodeResult } from '../../lambdas/core/model/point.js';

/** The error code `run` throws (a FleetwireError), or undefined when it returns; other errors propagate. */
export function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (e) {
    if (e instanceof FleetwireError) return e.code;
    throw e;
  }
  return undefined;
}

/** Warning messages are prose, not contract: golden files pin the codes and indexes only. */
export function codesOnly(r: DecodeResult): DecodeResult {
  const warnings = r.warnings.map(({ code, index }) => (index === undefined ? { code } : { code, index }));
  return { ...r, warnings } as unknown as DecodeResult;
}

/** UTF-8 bytes of a string. */
export const utf8 = (s: string): Buffer => Buffer.from(s, 'utf8');
