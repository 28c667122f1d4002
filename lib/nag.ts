/**
 * cdk-nag suppressions. Each one names the finding, says why it does not apply here, and is scoped to
 * the one resource (and, where cdk-nag supports it, the one permission) it concerns. docs/deploy.md
 * lists them for reviewers; test/infra/nag.test.ts proves nothing else is suppressed or left over.
 */
import { NagSuppressions } from 'cdk-nag';
import type { IngestStack } from './ingest-stack.js';
import type { StatefulStack } from './stateful-stack.js';

/** Attach every suppression the app needs. */
export function applyNagSuppressions(stacks: { stateful: StatefulStack; ingest: IngestStack }): void {
  const { stateful, ingest } = stacks;

  NagSuppressions.addResourceSuppressions(stateful.deadLetters.all, [
    {
      id: 'AwsSolutions-SQS3',
      reason:
        'These queues are the dead-letter destinations themselves (IoT rule error action, ingest rejections, Lambda on-failure destination); a DLQ behind a DLQ only moves the problem. Messages stay 14 days and are replayed with `fleetwire replay`.',
    },
  ]);

  NagSuppressions.addResourceSuppressions(stateful.timestream.database, [
    {
      id: 'AwsSolutions-TS3',
      reason:
        'Timestream encrypts every table at rest with the AWS managed key. A customer managed key adds a key policy to operate and no isolation between tenants (tenancy is enforced by dimensions and the API), so the default key is used.',
    },
  ]);

  const fn = ingest.ingest.fleetwireFunction;
  NagSuppressions.addResourceSuppressions(fn.function, [
    {
      id: 'AwsSolutions-L1',
      reason:
        'Node.js 22 (LTS, supported until 2027-04-30) is the runtime closest to the Node toolchain the code is tested on; the runtime is a FleetwireFunction prop and moves to nodejs24.x with the toolchain.',
    },
  ]);
  // Scoped to the role's default policy (where the grants are), not the whole role.
  const defaultPolicy = fn.role.node.tryFindChild('DefaultPolicy');
  if (defaultPolicy === undefined)
    throw new Error('ingest role has no default policy to scope suppressions to');
  NagSuppressions.addResourceSuppressions(
    defaultPolicy,
    [
      {
        id: 'AwsSolutions-IAM5',
        reason:
          'Actions without resource-level permissions: xray:PutTraceSegments/PutTelemetryRecords (active tracing) and timestream:DescribeEndpoints (Timestream endpoint discovery) only accept Resource "*".',
        appliesTo: ['Resource::*'],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason:
          'The ingest function reads the DBC assigned to a device: s3:GetObject on the dbc/ prefix of the files bucket only (keys are dbc/<tenant>/<file>, not known at deploy time).',
        appliesTo: [{ regex: '/^Resource::.*\\/dbc\\/\\*$/' }],
      },
    ],
    true,
  );
}
