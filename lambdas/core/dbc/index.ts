/**
 * The DBC engine: parse real-world DBC files, compile them once, decode CAN / CAN FD frames exactly as
 * the reference decoder (cantools) does, encode frames, and turn frames into points.
 *
 * Pure: no AWS, no clock, no environment.
 */
export { type CacheOptions, clearDbcCache, dbcCacheSize, dbcContentHash, loadCompiledDbc } from './cache.js';
export { compileDbc } from './compile.js';
export { type EncodeOptions, encodeMessage } from './encode.js';
export { decodeFrameLines, formatResult, formatValue, parseFrameLine } from './jsonl.js';
export { formatLintReport, type LintProblem, type LintReport, lintDbc } from './lint.js';
export type * from './model.js';
export { parseDbc } from './parse.js';
export { type FramesToPointsOptions, framesToPoints } from './points.js';
export type * from './types.js';
