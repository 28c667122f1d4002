import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildTestApp } from './app.js';

interface Suppression {
  id: string;
  reason: string;
  applies_to?: (string | { regex: string })[];
}

/** Expected suppressions, by logical id (hash removed): nothing may be suppressed without a test change. */
const EXPECTED: Record<string, string[]> = {
  DeadLettersIngest: ['AwsSolutions-SQS3'],
  DeadLettersLambdaFailures: ['AwsSolutions-SQS3'],
  TimestreamDatabase: ['AwsSolutions-TS3'],
  IngestFunctionIngestFunction: ['AwsSolutions-L1'],
  // Third IAM5: alert SNS calls confined to the <topicPrefix>-* tenant topics (enableAlertEvaluation).
  IngestFunctionIngestRoleDefaultPolicy: ['AwsSolutions-IAM5', 'AwsSolutions-IAM5', 'AwsSolutions-IAM5'],
  // The alert sweep (lib/alerts-construct.ts AlertSweep.suppressNagFindings): Node 22; X-Ray and tenant topics.
  AlertSweepFunction: ['AwsSolutions-L1'],
  AlertSweepRoleDefaultPolicy: ['AwsSolutions-IAM5', 'AwsSolutions-IAM5'],
  // The API stack (lib/api-construct.ts): Node 22 on each function, IAM5 scopes on each role policy.
  ApiFunction: ['AwsSolutions-L1'],
  ApiAuthorizerFunction: ['AwsSolutions-L1'],
  ApiCommandEventsFunction: ['AwsSolutions-L1'],
  ApiEventLogFunction: ['AwsSolutions-L1'],
  ApiCommandSweepFunction: ['AwsSolutions-L1'],
  // Fourth IAM5 on the API role: the alert tenant topics (enableAlertEvaluation with manage).
  ApiRoleDefaultPolicy: ['AwsSolutions-IAM5', 'AwsSolutions-IAM5', 'AwsSolutions-IAM5', 'AwsSolutions-IAM5'],
  ApiAuthorizerRoleDefaultPolicy: ['AwsSolutions-IAM5', 'AwsSolutions-IAM5'],
  ApiCommandEventsRoleDefaultPolicy: ['AwsSolutions-IAM5', 'AwsSolutions-IAM5', 'AwsSolutions-IAM5'],
  ApiEventLogRoleDefaultPolicy: ['AwsSolutions-IAM5', 'AwsSolutions-IAM5'],
  ApiCommandSweepRoleDefaultPolicy: ['AwsSolutions-IAM5', 'AwsSolutions-IAM5'],
};

describe.each(['dev', 'prod'])('cdk-nag AwsSolutions (%s)', (envName) => {
  const t = buildTestApp({ 'fleetwire:env': envName });
  const asm = t.app.synth();

  it('leaves zero unsuppressed errors or warnings', () => {
    for (const stack of [t.stateful, t.ingest, t.api]) {
      const a = Annotations.fromStack(stack);
      const findings = [
        ...a.findError('*', Match.stringLikeRegexp('AwsSolutions-')),
        ...a.findWarning('*', Match.stringLikeRegexp('AwsSolutions-')),
      ].map((m) => `${m.id}: ${String(m.entry.data).slice(0, 120)}`);
      expect(findings, stack.stackName).toEqual([]);
    }
  });

  it('actually ran: its reports list compliant rules and nothing non-compliant', () => {
    const reports = readdirSync(asm.directory).filter((f) => /^AwsSolutions-.*NagReport\.csv$/.test(f));
    expect(reports).toHaveLength(3);
    for (const f of reports) {
      const rows = readFileSync(join(asm.directory, f), 'utf8').trim().split('\n').slice(1);
      expect(
        rows.some((r) => r.includes('"Compliant"')),
        f,
      ).toBe(true);
      expect(
        rows.filter((r) => r.includes('"Non-Compliant"')),
        f,
      ).toEqual([]);
    }
  });

  it('suppresses only the documented findings, each with a specific reason and scope', () => {
    const seen: Record<string, string[]> = {};
    for (const stack of [t.stateful, t.ingest, t.api]) {
      const resources = stack.resolve(
        (asm.getStackArtifact(stack.artifactId).template as { Resources: Record<string, unknown> }).Resources,
      ) as Record<string, { Metadata?: Record<string, unknown> }>;
      for (const [logicalId, r] of Object.entries(resources)) {
        const rules = (r.Metadata?.cdk_nag as { rules_to_suppress?: Suppression[] } | undefined)
          ?.rules_to_suppress;
        if (!rules) continue;
        const path = logicalId.replace(/[0-9A-F]{8}$/, '');
        seen[path] = rules.map((s) => s.id);
        for (const s of rules) {
          expect(s.reason.length, `${path} ${s.id}`).toBeGreaterThan(80);
          if (s.id === 'AwsSolutions-IAM5')
            expect(s.applies_to?.length, `${path} IAM5 scope`).toBeGreaterThan(0);
        }
      }
    }
    expect(seen).toEqual(EXPECTED);
  });
});
