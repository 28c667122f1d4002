/**
 * The alerts constructs: tables with the key schemas the adapters use, the every-minute sweep with
 * least-privilege IAM (SNS confined to the tenant-topic prefix), and a clean cdk-nag AwsSolutions run.
 */
import { App, Aspects, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AttributeType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { AwsSolutionsChecks, NagSuppressions } from 'cdk-nag';
import type { Construct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { ALERT_ENV, ALERTS_KEYS } from '../../lambdas/core/alerts/deployment.js';
import { AlertSweep, AlertTables, enableAlertEvaluation } from '../../lib/alerts-construct.js';
import { FleetwireFunction } from '../../lib/constructs/fleetwire-function.js';

function build(): { stack: Stack; t: Template; tables: AlertTables; sweep: AlertSweep } {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'AlertsTest', { env: { account: '123456789012', region: 'eu-west-1' } });
  const registry = new Table(stack, 'Registry', {
    partitionKey: { name: 'tenant', type: AttributeType.STRING },
    sortKey: { name: 'deviceId', type: AttributeType.STRING },
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
  });
  const bus = new EventBus(stack, 'Bus');
  const tables = new AlertTables(stack, 'AlertTables', { topicPrefix: 'fleetwire-test-alerts' });
  const sweep = new AlertSweep(stack, 'AlertSweep', { tables, registry, bus });
  sweep.suppressNagFindings();
  // Another function (as the ingest and API functions are) with alerting turned on.
  const other = new FleetwireFunction(stack, 'Other', {
    entry: 'lambdas/handlers/alert-sweep.ts',
    serviceName: 'other',
  });
  NagSuppressions.addResourceSuppressions(other.function, [
    { id: 'AwsSolutions-L1', reason: 'test function' },
  ]);
  NagSuppressions.addResourceSuppressions(
    other.role.node.tryFindChild('DefaultPolicy') as Construct,
    [{ id: 'AwsSolutions-IAM5', reason: 'X-Ray tracing needs Resource *', appliesTo: ['Resource::*'] }],
    true,
  );
  enableAlertEvaluation(other, tables, registry, bus, { manage: true });
  Aspects.of(app).add(new AwsSolutionsChecks({ verbose: true }));
  app.synth();
  return { stack, t: Template.fromStack(stack), tables, sweep };
}

const { stack, t } = build();

describe('AlertTables', () => {
  it('declares the alerts table with its indexes, TTL, PITR, encryption and retention', () => {
    t.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: ALERTS_KEYS.ttl, Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
      DeletionProtectionEnabled: true,
      GlobalSecondaryIndexes: [
        Match.objectLike({ IndexName: ALERTS_KEYS.byRuleIndex }),
        Match.objectLike({
          IndexName: ALERTS_KEYS.dueIndex,
          KeySchema: [
            { AttributeName: ALERTS_KEYS.duePartition, KeyType: 'HASH' },
            { AttributeName: ALERTS_KEYS.dueSort, KeyType: 'RANGE' },
          ],
        }),
        Match.objectLike({ IndexName: ALERTS_KEYS.activeIndex }),
      ],
    });
    t.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        KeySchema: [
          { AttributeName: 'tenant', KeyType: 'HASH' },
          { AttributeName: 'ruleId', KeyType: 'RANGE' },
        ],
      }),
    });
  });

  it('validates its props', () => {
    const s = new Stack(new App(), 'S');
    expect(() => new AlertTables(s, 'A', { topicPrefix: 'bad prefix!' })).toThrow(RangeError);
    expect(() => new AlertTables(s, 'B', { historyRetentionDays: 0 })).toThrow(RangeError);
  });
});

describe('AlertSweep', () => {
  it('runs every minute, without retries, one at a time, inside the period', () => {
    t.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [Match.objectLike({ RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 } })],
    });
    t.hasResourceProperties('AWS::Lambda::Function', {
      Architectures: ['arm64'],
      Timeout: 55,
      ReservedConcurrentExecutions: 1,
      Environment: {
        Variables: Match.objectLike({
          [ALERT_ENV.TOPIC_PREFIX]: 'fleetwire-test-alerts',
          [ALERT_ENV.RULES_TABLE]: Match.anyValue(),
          [ALERT_ENV.ALERTS_TABLE]: Match.anyValue(),
          REGISTRY_TABLE: Match.anyValue(),
          EVENT_BUS_NAME: Match.anyValue(),
        }),
      },
    });
    expect(
      () =>
        new AlertSweep(new Stack(new App(), 'X'), 'S', {
          tables: new AlertTables(new Stack(new App(), 'Y'), 'T'),
          registry: Table.fromTableName(new Stack(new App(), 'Z'), 'R', 'r'),
          bus: EventBus.fromEventBusName(new Stack(new App(), 'W'), 'B', 'b'),
          timeout: Duration.minutes(2),
        }),
    ).toThrow(RangeError);
  });

  it('confines SNS to the tenant topics and grants DynamoDB per table', () => {
    const policies = t.findResources('AWS::IAM::Policy');
    const statements = Object.values(policies).flatMap(
      (p) =>
        (
          p as {
            Properties: { PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] } };
          }
        ).Properties.PolicyDocument.Statement,
    );
    const sns = statements.filter((s) => [s.Action].flat().some((a) => a.startsWith('sns:')));
    expect(sns).toHaveLength(2); // the sweep and the other function
    // Only a managing function (the API) may subscribe or write rules; the sweep only evaluates.
    const actions = sns.map((st) => [st.Action].flat());
    expect(actions.filter((a) => a.includes('sns:Subscribe'))).toHaveLength(1);
    expect(actions.every((a) => a.includes('sns:Publish') && a.includes('sns:CreateTopic'))).toBe(true);
    const onRules = statements.filter((st) => JSON.stringify(st.Resource).includes('AlertTablesRules'));
    expect(onRules).toHaveLength(2);
    expect(onRules.filter((st) => [st.Action].flat().includes('dynamodb:PutItem'))).toHaveLength(1);
    expect(JSON.stringify(stack.resolve(sns[0]?.Resource))).toContain(
      ':sns:eu-west-1:123456789012:fleetwire-test-alerts-*',
    );
    expect([sns[0]?.Action].flat()).not.toContain('sns:*');
    expect(statements.some((s) => [s.Action].flat().includes('dynamodb:*'))).toBe(false);
    expect(statements.some((s) => [s.Action].flat().includes('events:PutEvents'))).toBe(true);
  });

  it('gives other functions the alert environment', () => {
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          POWERTOOLS_SERVICE_NAME: 'other',
          [ALERT_ENV.ALERTS_TABLE]: Match.anyValue(),
        }),
      },
    });
  });

  it('passes cdk-nag AwsSolutions with only the scoped suppressions', () => {
    const a = Annotations.fromStack(stack);
    const findings = [
      ...a.findError('*', Match.stringLikeRegexp('AwsSolutions-')),
      ...a.findWarning('*', Match.stringLikeRegexp('AwsSolutions-')),
    ].map((m) => `${m.id}: ${String(m.entry.data).slice(0, 160)}`);
    expect(findings).toEqual([]);
  });
});
