import type { CanFrame, DecodeWarning, Point } from '../model/point.js';
import type { CompiledDbc } from './types.js';

/** Options for {@link framesToPoints}. */
export interface FramesToPointsOptions {
  /** Store value-table names instead of raw numbers. @default false */
  choices?: boolean;
}

/** Decode frames into points: one point per (frame time, message). Stub. */
export function framesToPoints(
  _frames: CanFrame[],
  _dbc: CompiledDbc,
  _device: string,
  _opts?: FramesToPointsOptions,
): { points: Point[]; warnings: DecodeWarning[] } {
  return { points: [], warnings: [] };
}
