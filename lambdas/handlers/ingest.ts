/**
 * PLACEHOLDER created by the infrastructure work so the CDK app can synthesize; the ingest engineer
 * replaces this file with the real handler (issue 4). Input: `IngestRuleEvent` (lambdas/core/topics.ts).
 */

import { FleetwireError } from '../core/errors.js';
import type { IngestRuleEvent } from '../core/topics.js';

/** Lambda entry point (placeholder: rejects every event so nothing is silently accepted). */
export async function handler(_event: IngestRuleEvent): Promise<void> {
  throw new FleetwireError('UNSUPPORTED_FORMAT', 'ingest handler not implemented yet');
}
