/**
 * Assembles the Fleetwire stacks into a CDK app. Shared by `bin/app.ts` and the infrastructure tests so
 * both synthesize exactly the same thing, cdk-nag checks included.
 */
import { type App, Aspects, Tags } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { type ApiStack, addFleetwireApi } from './api-construct.js';
import { IngestStack } from './ingest-stack.js';
import { applyNagSuppressions } from './nag.js';
import { type FleetwireSettings, settingsFromContext } from './settings.js';
import { StatefulStack } from './stateful-stack.js';

/** The stacks of one Fleetwire environment. */
export interface FleetwireStacks {
  /** Resolved settings of the environment. */
  readonly settings: FleetwireSettings;
  /** Data stores, queues, bus and fleet identity. */
  readonly stateful: StatefulStack;
  /** Ingest Lambda and topic rules. */
  readonly ingest: IngestStack;
  /** HTTPS API, its authorizer, command events and the event log (lib/api-construct.ts). */
  readonly api: ApiStack;
}

/** Feature flags the app relies on (set unless the context already says otherwise). */
const FEATURE_FLAGS: Readonly<Record<string, unknown>> = {
  '@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy': true,
  '@aws-cdk/core:defaultCrossStackReferences': 'strong',
};

/** Log retentions CloudWatch accepts, for mapping a number of days from the settings. */
function retentionDays(days: number): RetentionDays {
  const ok = Object.values(RetentionDays).filter((v): v is RetentionDays => typeof v === 'number');
  const pick = ok.filter((v) => v >= days).sort((a, b) => a - b)[0];
  return pick ?? RetentionDays.INFINITE;
}

/** Build every Fleetwire stack into `app` for the environment named by the `fleetwire:env` context. */
export function buildFleetwireApp(app: App): FleetwireStacks {
  // Feature flags: S3 log delivery is granted through the log bucket's policy instead of the legacy
  // LogDeliveryWrite ACL (ACLs stay disabled with bucket-owner-enforced ownership everywhere), and
  // cross-stack references are explicitly strong (CloudFormation exports): the stateful stack cannot
  // drop or change a value the ingest stack still uses.
  for (const [flag, value] of Object.entries(FEATURE_FLAGS)) {
    if (app.node.tryGetContext(flag) === undefined) app.node.setContext(flag, value);
  }
  const settings = settingsFromContext(app.node);
  const { envName, names } = settings;
  const env = { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION };
  const topics = { app: names.app, rulePrefix: names.rulePrefix };
  const [connect, telemetry, basicIngest] = names.devicePolicies;
  if (connect === undefined || telemetry === undefined || basicIngest === undefined) {
    throw new RangeError('three device policy names are required');
  }

  const stateful = new StatefulStack(app, `Fleetwire-${envName}-Stateful`, {
    env,
    description: `Fleetwire (${envName}) data stores, dead letters, system events and fleet identity`,
    terminationProtection: envName === 'prod',
    storage: settings.storage,
    topics,
    thingTypeName: names.thingType,
    devicePolicyNames: [connect, telemetry, basicIngest],
    registryTableName: names.registryTable,
    queueNamePrefix: `fleetwire-${envName}`,
    removalPolicy: settings.removalPolicy,
    deletionProtection: settings.deletionProtection,
    memoryStoreRetention: settings.memoryStoreRetention,
    magneticStoreRetention: settings.magneticStoreRetention,
    accessLogRetention: settings.accessLogRetention,
    eventArchiveRetention: settings.eventArchiveRetention,
    alertTopicPrefix: `fleetwire-${envName}-alerts`,
  });
  const ingest = new IngestStack(app, `Fleetwire-${envName}-Ingest`, {
    env,
    description: `Fleetwire (${envName}) ingest Lambda and IoT topic rules`,
    stateful,
    topics,
    logRetention: retentionDays(settings.logRetentionDays),
    ingest: { logRemovalPolicy: settings.removalPolicy },
  });

  // The API's table and user pool go into the stateful stack; its functions into their own stack.
  const { api } = addFleetwireApi(app, { settings, stateful });

  Tags.of(app).add('project', 'fleetwire');
  Tags.of(app).add('environment', envName);
  applyNagSuppressions({ stateful, ingest });
  Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
  return { settings, stateful, ingest, api };
}
