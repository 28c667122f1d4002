/**
 * Assembles the Fleetwire stacks into a CDK app. Shared by `bin/app.ts` and the infrastructure tests so
 * both synthesize exactly the same thing.
 */
import { type App, Duration, Stack, Tags } from 'aws-cdk-lib';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';

/** The stacks of one Fleetwire environment. */
export interface FleetwireStacks {
  readonly stateful: Stack;
}

/** Build every Fleetwire stack into `app` for the environment named by the `fleetwire:env` context. */
export function buildFleetwireApp(app: App): FleetwireStacks {
  const envName = String(app.node.tryGetContext('fleetwire:env') ?? 'dev');
  const env = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };
  const stateful = new Stack(app, `Fleetwire-${envName}-Stateful`, {
    env,
    description: 'Fleetwire data stores',
  });
  // Dead letters are the first stateful resource; the ingest issue adds the rest.
  new Queue(stateful, 'DeadLetters', {
    retentionPeriod: Duration.days(14),
    encryption: QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
  });
  Tags.of(app).add('project', 'fleetwire');
  Tags.of(app).add('environment', envName);
  return { stateful };
}
