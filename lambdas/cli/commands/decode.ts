import { UsageError } from '../io.js';

/** Placeholder until `fleetwire decode` lands (issue 2). */
export async function run(_argv: string[]): Promise<number> {
  throw new UsageError('decode is not implemented yet');
}
