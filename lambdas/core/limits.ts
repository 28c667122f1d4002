/**
 * Decoder limits. Every codec enforces these before allocating in proportion to input, so that a
 * hostile payload costs at most O(limit) work. Defaults follow DESIGN.md §3 (payload ≤ 100 KB).
 */
export interface DecodeLimits {
  /** Maximum raw payload size in bytes. @default 102400 (100 KB) */
  maxPayloadBytes: number;
  /** Maximum size after decompression (zlib `maxOutputLength`). @default 1048576 (1 MiB) */
  maxDecompressedBytes: number;
  /** Maximum points per message. @default 10000 */
  maxPoints: number;
  /** Maximum fields per point. @default 1000 */
  maxFieldsPerPoint: number;
  /** Maximum tags per point (message tags + point tags after merge). @default 64 */
  maxTags: number;
  /** Maximum length of a string value (UTF-16 code units). @default 2048 (Timestream VARCHAR limit) */
  maxStringLength: number;
  /** Maximum length of a field, tag or device name. @default 256 (Timestream measure name limit) */
  maxNameLength: number;
  /** Maximum JSON / object nesting depth. @default 16 */
  maxDepth: number;
  /** Maximum CAN frames per binary message. @default 50000 */
  maxFrames: number;
  /** Earliest accepted timestamp, epoch ms. @default 946684800000 (2000-01-01T00:00:00Z) */
  minTimestampMs: number;
  /** Latest accepted timestamp, epoch ms. @default 4102444800000 (2100-01-01T00:00:00Z) */
  maxTimestampMs: number;
  /** Maximum DBC file size in bytes. @default 8388608 (8 MiB) */
  maxDbcBytes: number;
}

/** The default limits. */
export const DEFAULT_LIMITS: Readonly<DecodeLimits> = Object.freeze({
  maxPayloadBytes: 100 * 1024,
  maxDecompressedBytes: 1024 * 1024,
  maxPoints: 10_000,
  maxFieldsPerPoint: 1000,
  maxTags: 64,
  maxStringLength: 2048,
  maxNameLength: 256,
  maxDepth: 16,
  maxFrames: 50_000,
  minTimestampMs: Date.UTC(2000, 0, 1),
  maxTimestampMs: Date.UTC(2100, 0, 1),
  maxDbcBytes: 8 * 1024 * 1024,
});

/** Merge partial overrides onto the defaults. */
export function resolveLimits(overrides?: Partial<DecodeLimits>): DecodeLimits {
  return { ...DEFAULT_LIMITS, ...(overrides ?? {}) };
}
