/**
 * Alerting infrastructure, in two constructs so data and code deploy apart (DESIGN §2):
 *
 * - {@link AlertTables} (stateful stack): the rules table and the alerts table (per-(rule, device)
 *   states + alert history, with the `byRule`, `due` and `active` indexes and a TTL on resolved alerts);
 *   key schemas from lambdas/core/alerts/deployment.ts, the same constants the adapters use.
 * - {@link AlertSweep} (stateless stack): the sweep Lambda (lambdas/handlers/alert-sweep.ts) run every
 *   minute by an EventBridge schedule; it raises stale-data alerts, redelivers undelivered events and
 *   sends re-notifications.
 *
 * SNS strategy: one topic per tenant, created by the functions on first use (`CreateTopic` is
 * idempotent) and named `<topicPrefix>-<tenant>`, because tenants appear at runtime. IAM confines every
 * SNS call to `arn:aws:sns:<region>:<account>:<topicPrefix>-*`. Topics are KMS-encrypted
 * (`alias/aws/sns` by default). {@link AlertTables.grantEvaluate} gives any other function (ingest, API)
 * what alert evaluation and the alert routes need, and {@link AlertTables.environment} the variables.
 */
import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { AttributeType, BillingMode, ProjectionType, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { type IEventBus, Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { ALERT_ENV, ALERT_RULES_KEYS, ALERTS_KEYS } from '../lambdas/core/alerts/deployment.js';
import { INGEST_ENV, REGISTRY_KEYS } from '../lambdas/core/deployment-contract.js';
import { FleetwireFunction } from './constructs/fleetwire-function.js';

/** Properties of {@link AlertTables}. */
export interface AlertTablesProps {
  /** Prefix of the per-tenant SNS topics (letters, digits, `-`, `_`). @default 'fleetwire-alerts' */
  readonly topicPrefix?: string;
  /** KMS key (id, ARN or alias) for the tenant topics. @default 'alias/aws/sns' */
  readonly topicKmsKey?: string;
  /** Days a resolved alert is kept before TTL removes it. @default 365 */
  readonly historyRetentionDays?: number;
  /** Point-in-time recovery of both tables. @default true */
  readonly pointInTimeRecovery?: boolean;
  /** Refuse `DeleteTable` until turned off. @default true */
  readonly deletionProtection?: boolean;
  /** What happens to the tables when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/** The alert rules table and the alerts (state + history) table. */
export class AlertTables extends Construct {
  /** Rules, keyed (tenant, ruleId). */
  readonly rules: Table;
  /** States and history (see ALERTS_KEYS). */
  readonly alerts: Table;
  /** Prefix of the per-tenant topics. */
  readonly topicPrefix: string;
  /** KMS key of the tenant topics. */
  readonly topicKmsKey: string;
  /** Days resolved alerts are kept. */
  readonly historyRetentionDays: number;

  constructor(scope: Construct, id: string, props: AlertTablesProps = {}) {
    super(scope, id);
    this.topicPrefix = props.topicPrefix ?? 'fleetwire-alerts';
    if (!/^[A-Za-z0-9_-]{1,200}$/.test(this.topicPrefix)) {
      throw new RangeError('topicPrefix must be 1–200 of [A-Za-z0-9_-]');
    }
    this.topicKmsKey = props.topicKmsKey ?? 'alias/aws/sns';
    this.historyRetentionDays = props.historyRetentionDays ?? 365;
    if (
      !Number.isInteger(this.historyRetentionDays) ||
      this.historyRetentionDays < 1 ||
      this.historyRetentionDays > 3650
    ) {
      throw new RangeError('historyRetentionDays must be an integer from 1 to 3650');
    }
    const common = {
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: props.pointInTimeRecovery ?? true },
      deletionProtection: props.deletionProtection ?? true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    };
    this.rules = new Table(this, 'Rules', {
      ...common,
      partitionKey: { name: ALERT_RULES_KEYS.partitionKey, type: AttributeType.STRING },
      sortKey: { name: ALERT_RULES_KEYS.sortKey, type: AttributeType.STRING },
    });
    const K = ALERTS_KEYS;
    this.alerts = new Table(this, 'Alerts', {
      ...common,
      partitionKey: { name: K.partitionKey, type: AttributeType.STRING },
      sortKey: { name: K.sortKey, type: AttributeType.STRING },
      timeToLiveAttribute: K.ttl,
    });
    this.alerts.addGlobalSecondaryIndex({
      indexName: K.byRuleIndex,
      partitionKey: { name: K.byRulePartition, type: AttributeType.STRING },
      sortKey: { name: K.byRuleSort, type: AttributeType.STRING },
      projectionType: ProjectionType.ALL,
    });
    this.alerts.addGlobalSecondaryIndex({
      indexName: K.dueIndex,
      partitionKey: { name: K.duePartition, type: AttributeType.STRING },
      sortKey: { name: K.dueSort, type: AttributeType.NUMBER },
      projectionType: ProjectionType.ALL,
    });
    this.alerts.addGlobalSecondaryIndex({
      indexName: K.activeIndex,
      partitionKey: { name: K.activePartition, type: AttributeType.STRING },
      sortKey: { name: K.sortKey, type: AttributeType.STRING },
      projectionType: ProjectionType.ALL,
    });
  }

  /** The ARN pattern of the tenant topics. */
  topicArnPattern(scope: Construct): string {
    const s = Stack.of(scope);
    return `arn:${s.partition}:sns:${s.region}:${s.account}:${this.topicPrefix}-*`;
  }

  /**
   * Environment variables of a function that evaluates alerts or serves the alert routes (plus the
   * registry table and event bus variables it shares with ingest).
   */
  environment(registry: ITable, bus: IEventBus): Record<string, string> {
    return {
      [ALERT_ENV.RULES_TABLE]: this.rules.tableName,
      [ALERT_ENV.ALERTS_TABLE]: this.alerts.tableName,
      [ALERT_ENV.TOPIC_PREFIX]: this.topicPrefix,
      [ALERT_ENV.TOPIC_KMS_KEY]: this.topicKmsKey,
      [ALERT_ENV.HISTORY_RETENTION_DAYS]: String(this.historyRetentionDays),
      [INGEST_ENV.REGISTRY_TABLE]: registry.tableName,
      [INGEST_ENV.REGISTRY_DEVICE_INDEX]: REGISTRY_KEYS.deviceIndex,
      [INGEST_ENV.EVENT_BUS_NAME]: bus.eventBusName,
    };
  }

  /**
   * What alert evaluation and the sweep need — rules read, states and history read/write (conditional
   * puts, updates, deletes; queries on the table and its indexes), PutEvents on the bus, SNS topic
   * create/publish on the tenant topics only — and, with `manage` (the API function: the alert
   * routes), rule writes and subscription management on the tenant topics.
   */
  grantEvaluate(grantee: IGrantable, bus: IEventBus, opts: { manage?: boolean } = {}): void {
    const p = grantee.grantPrincipal;
    p.addToPrincipalPolicy(
      new PolicyStatement({
        actions: [
          'dynamodb:GetItem',
          'dynamodb:Query',
          'dynamodb:Scan',
          ...(opts.manage ? ['dynamodb:PutItem', 'dynamodb:DeleteItem'] : []),
        ],
        resources: [this.rules.tableArn],
      }),
    );
    p.addToPrincipalPolicy(
      new PolicyStatement({
        actions: [
          'dynamodb:GetItem',
          'dynamodb:Query',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
          'dynamodb:DeleteItem',
        ],
        resources: [this.alerts.tableArn],
      }),
    );
    p.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['dynamodb:Query'],
        resources: [
          `${this.alerts.tableArn}/index/${ALERTS_KEYS.byRuleIndex}`,
          `${this.alerts.tableArn}/index/${ALERTS_KEYS.dueIndex}`,
          `${this.alerts.tableArn}/index/${ALERTS_KEYS.activeIndex}`,
        ],
      }),
    );
    bus.grantPutEventsTo(grantee);
    p.addToPrincipalPolicy(
      new PolicyStatement({
        actions: [
          'sns:CreateTopic',
          'sns:TagResource',
          'sns:Publish',
          ...(opts.manage ? ['sns:Subscribe', 'sns:Unsubscribe', 'sns:ListSubscriptionsByTopic'] : []),
        ],
        resources: [this.topicArnPattern(this)],
      }),
    );
  }
}

/** Properties of {@link AlertSweep}. */
export interface AlertSweepProps {
  readonly tables: AlertTables;
  /** The device registry table (scopes, channel contracts, last-seen times). */
  readonly registry: ITable;
  /** The system-event bus alert events go to. */
  readonly bus: IEventBus;
  /** How often the sweep runs; stale alerts fire within one period of their deadline. @default Duration.minutes(1) */
  readonly period?: Duration;
  /** Function timeout (keep it under the period). @default Duration.seconds(55) */
  readonly timeout?: Duration;
  /** Memory in MB. @default 512 */
  readonly memorySize?: number;
  /** At most this many sweeps at once (overlap is safe, but pointless). @default 1 */
  readonly reservedConcurrentExecutions?: number;
  /** Log retention. @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** What happens to the log group when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/** The sweep function and its every-minute schedule. */
export class AlertSweep extends Construct {
  /** The sweep function. */
  readonly fleetwireFunction: FleetwireFunction;
  /** The schedule rule. */
  readonly schedule: Rule;

  constructor(scope: Construct, id: string, props: AlertSweepProps) {
    super(scope, id);
    const period = props.period ?? Duration.minutes(1);
    const timeout = props.timeout ?? Duration.seconds(55);
    if (timeout.toSeconds() >= period.toSeconds()) {
      throw new RangeError('the sweep timeout must be shorter than its period');
    }
    this.fleetwireFunction = new FleetwireFunction(this, 'Sweep', {
      entry: 'lambdas/handlers/alert-sweep.ts',
      description: 'Fleetwire alert sweep: stale-data alerts, re-notification, event redelivery',
      serviceName: 'fleetwire-alert-sweep',
      environment: props.tables.environment(props.registry, props.bus),
      memorySize: props.memorySize ?? 512,
      timeout,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions ?? 1,
      ...(props.logRetention !== undefined ? { logRetention: props.logRetention } : {}),
      ...(props.logRemovalPolicy !== undefined ? { logRemovalPolicy: props.logRemovalPolicy } : {}),
    });
    const fn = this.fleetwireFunction.function;
    props.tables.grantEvaluate(fn, props.bus);
    // Registry: device lookups and per-tenant listings (Query on the base table).
    fn.addToRolePolicy(
      new PolicyStatement({
        actions: ['dynamodb:GetItem', 'dynamodb:Query'],
        resources: [props.registry.tableArn],
      }),
    );
    this.schedule = new Rule(this, 'Schedule', {
      description: 'Run the Fleetwire alert sweep',
      schedule: Schedule.rate(period),
    });
    // A missed sweep is made good by the next one: no retries, no stale invocations.
    this.schedule.addTarget(new LambdaFunction(fn, { retryAttempts: 0, maxEventAge: Duration.minutes(1) }));
  }

  /**
   * Scoped cdk-nag suppressions of the sweep: the runtime choice (as for every FleetwireFunction) and
   * the wildcards that cannot be avoided (X-Ray, per-tenant topics created at runtime).
   */
  suppressNagFindings(): void {
    const f = this.fleetwireFunction;
    NagSuppressions.addResourceSuppressions(f.function, [
      {
        id: 'AwsSolutions-L1',
        reason:
          'Node.js 22 (LTS, supported until 2027-04-30) is the runtime closest to the Node toolchain the code is tested on; the runtime is a FleetwireFunction prop.',
      },
    ]);
    const policy = f.role.node.tryFindChild('DefaultPolicy');
    if (policy === undefined) throw new Error('sweep role has no default policy to scope suppressions to');
    NagSuppressions.addResourceSuppressions(
      policy,
      [
        {
          id: 'AwsSolutions-IAM5',
          reason: 'xray:PutTraceSegments/PutTelemetryRecords (active tracing) only accept Resource "*".',
          appliesTo: ['Resource::*'],
        },
        {
          id: 'AwsSolutions-IAM5',
          reason:
            'Alert topics are created per tenant at runtime (tenants are not known at deploy time); SNS calls are confined to topics named <topicPrefix>-*.',
          appliesTo: [{ regex: '/^Resource::arn:.*:sns:.*-\\*$/' }],
        },
      ],
      true,
    );
  }
}

/**
 * Turn on alerting in another function (the ingest function: evaluation on stored points; the API
 * function, with `manage: true`: the alert routes too): the alert environment, {@link AlertTables.grantEvaluate}, and the one
 * cdk-nag suppression it needs (SNS calls on the tenant-topic prefix), scoped to the function's
 * default policy. The function must already read the device registry (ingest and API do).
 */
export function enableAlertEvaluation(
  target: Pick<FleetwireFunction, 'function' | 'role'>,
  tables: AlertTables,
  registry: ITable,
  bus: IEventBus,
  opts: { manage?: boolean } = {},
): void {
  for (const [k, v] of Object.entries(tables.environment(registry, bus)))
    target.function.addEnvironment(k, v);
  tables.grantEvaluate(target.function, bus, opts);
  const policy = target.role.node.tryFindChild('DefaultPolicy');
  if (policy === undefined) throw new Error('function role has no default policy to scope suppressions to');
  NagSuppressions.addResourceSuppressions(
    policy,
    [
      {
        id: 'AwsSolutions-IAM5',
        reason:
          'Alert topics are created per tenant at runtime (tenants are not known at deploy time); SNS calls are confined to topics named <topicPrefix>-*.',
        appliesTo: [{ regex: '/^Resource::arn:.*:sns:.*-\\*$/' }],
      },
    ],
    true,
  );
}
