import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { INGEST_ENV } from '../../lambdas/core/deployment-contract.js';
import { ingestRules, RULE_SQL_VERSION } from '../../lambdas/core/topics.js';
import { buildTestApp, flattenStatements, render } from './app.js';

const dev = buildTestApp();
const prod = buildTestApp({ 'fleetwire:env': 'prod' });
const t = dev.ingestTemplate;

function logicalId(type: string, prefix: string): string {
  const ids = Object.keys(t.findResources(type)).filter((k) => k.startsWith(prefix));
  expect(ids, `${type} ${prefix}`).toHaveLength(1);
  return ids[0] as string;
}

const fnId = logicalId('AWS::Lambda::Function', 'IngestFunction');
const roleId = logicalId('AWS::IAM::Role', 'IngestFunctionIngestRole');

describe('ingest function', () => {
  it('runs Node.js 22 on arm64 with active tracing and its own log group', () => {
    t.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: 1024,
      Timeout: 60,
      TracingConfig: { Mode: 'Active' },
      LoggingConfig: { LogGroup: { Ref: logicalId('AWS::Logs::LogGroup', 'IngestFunction') } },
      Role: { 'Fn::GetAtt': [roleId, 'Arn'] },
    });
  });

  it('keeps logs 14 days in dev and 90 in prod', () => {
    t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 14 });
    prod.ingestTemplate.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
  });

  it('gets Powertools settings and every resource name the handler reads', () => {
    const fn = render(t.findResources('AWS::Lambda::Function')[fnId]) as {
      Properties: { Environment: { Variables: Record<string, string> } };
    };
    const vars = fn.Properties.Environment.Variables;
    expect(vars).toMatchObject({
      POWERTOOLS_SERVICE_NAME: 'fleetwire-ingest',
      POWERTOOLS_METRICS_NAMESPACE: 'Fleetwire',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      POWERTOOLS_LOGGER_LOG_EVENT: 'false',
      [INGEST_ENV.STORAGE]: 'timestream',
      [INGEST_ENV.TELEMETRY_TABLE]: 'telemetry',
      [INGEST_ENV.REGISTRY_DEVICE_INDEX]: 'byDevice',
      [INGEST_ENV.DBC_PREFIX]: 'dbc/',
      [INGEST_ENV.TOPIC_APP]: 'fleetwire-dev',
    });
    for (const name of Object.values(INGEST_ENV)) expect(vars[name], name).toBeTruthy();
    expect(vars[INGEST_ENV.REGISTRY_TABLE]).toMatch(/^<import:.*RegistryTable/);
    expect(vars[INGEST_ENV.DEAD_LETTER_QUEUE_URL]).toMatch(/^<import:.*DeadLettersIngest/);
    expect(vars[INGEST_ENV.EVENT_BUS_NAME]).toMatch(/^<import:.*SystemEventsBus/);
  });

  it('sends failed asynchronous invocations to the failure queue after 2 retries within 6 hours', () => {
    t.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: fnId },
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 21600,
      DestinationConfig: {
        OnFailure: {
          Destination: { 'Fn::ImportValue': Match.stringLikeRegexp('DeadLettersLambdaFailures.*Arn') },
        },
      },
    });
  });
});

describe('ingest function permissions', () => {
  const role = render(t.findResources('AWS::IAM::Role')[roleId]) as { Properties: Record<string, unknown> };
  const policies = Object.values(t.findResources('AWS::IAM::Policy'))
    .map((p) => render(p) as { Properties: { Roles: string[]; PolicyDocument: { Statement: unknown[] } } })
    .filter((p) => p.Properties.Roles.includes(`<${roleId}>`));
  const grants = policies.flatMap((p) => flattenStatements(p.Properties.PolicyDocument.Statement));
  // `<import:Stack:ExportsOutputFnGetAttRegistryTableDB777839Arn16750D15>` -> `<RegistryTable>`
  const key = (g: { action: string; resource: string }) =>
    `${g.action} ${g.resource.replace(/<import:[^:>]*:ExportsOutputFnGetAtt([A-Za-z]+?)[0-9A-F]{8}Arn[0-9A-F]{8}>/, '<$1>')}`;

  it('has no managed policies', () => {
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  });

  it('grants exactly what ingest needs, on the narrowest resources', () => {
    expect(grants.map(key).sort()).toEqual(
      [
        'logs:CreateLogStream <IngestFunctionIngestLogs0BEA23C2.Arn>',
        'logs:PutLogEvents <IngestFunctionIngestLogs0BEA23C2.Arn>',
        'xray:PutTraceSegments *',
        'xray:PutTelemetryRecords *',
        'timestream:WriteRecords <TimestreamTelemetry>',
        'timestream:DescribeEndpoints *',
        'dynamodb:GetItem <RegistryTable>',
        'dynamodb:Query <RegistryTable>',
        'dynamodb:GetItem <RegistryTable>/index/byDevice',
        'dynamodb:Query <RegistryTable>/index/byDevice',
        'dynamodb:UpdateItem <RegistryTable>',
        's3:GetObject <FilesBucket>/dbc/*',
        'sqs:SendMessage <DeadLettersIngest>',
        'events:PutEvents <SystemEventsBus>',
        'sqs:SendMessage <DeadLettersLambdaFailures>',
        'sqs:GetQueueAttributes <DeadLettersLambdaFailures>',
        'sqs:GetQueueUrl <DeadLettersLambdaFailures>',
        // Alert evaluation (lib/alerts-construct.ts enableAlertEvaluation): rules read-only, states and
        // history with conditional writes, the three alert indexes, tenant topics by prefix only.
        'dynamodb:GetItem <AlertTablesRules>',
        'dynamodb:Query <AlertTablesRules>',
        'dynamodb:Scan <AlertTablesRules>',
        'dynamodb:GetItem <AlertTablesAlerts>',
        'dynamodb:Query <AlertTablesAlerts>',
        'dynamodb:PutItem <AlertTablesAlerts>',
        'dynamodb:UpdateItem <AlertTablesAlerts>',
        'dynamodb:DeleteItem <AlertTablesAlerts>',
        'dynamodb:Query <AlertTablesAlerts>/index/byRule',
        'dynamodb:Query <AlertTablesAlerts>/index/due',
        'dynamodb:Query <AlertTablesAlerts>/index/active',
        'sns:CreateTopic arn:aws:sns:eu-west-1:123456789012:fleetwire-dev-alerts-*',
        'sns:TagResource arn:aws:sns:eu-west-1:123456789012:fleetwire-dev-alerts-*',
        'sns:Publish arn:aws:sns:eu-west-1:123456789012:fleetwire-dev-alerts-*',
      ].sort(),
    );
  });

  it('lets ingest update only lastSeen in the registry', () => {
    const update = grants.filter(
      (g) => g.action === 'dynamodb:UpdateItem' && g.resource.includes('RegistryTable'),
    );
    expect(update).toHaveLength(1);
    expect(update[0]?.condition).toEqual({
      'ForAllValues:StringEquals': { 'dynamodb:Attributes': ['tenant', 'deviceId', 'lastSeen'] },
      StringEqualsIfExists: { 'dynamodb:ReturnValues': ['NONE', 'UPDATED_NEW'] },
    });
  });
});

describe('topic rules', () => {
  const defs = ingestRules({ app: 'fleetwire-dev', rulePrefix: 'fleetwire_dev' });
  const rules = Object.values(t.findResources('AWS::IoT::TopicRule')).map(
    (r) => (r as { Properties: { RuleName: string; TopicRulePayload: Record<string, unknown> } }).Properties,
  );

  it('creates one rule per definition in lambdas/core/topics.ts', () => {
    expect(rules.map((r) => r.RuleName).sort()).toEqual(defs.map((d) => d.name).sort());
    expect(rules).toHaveLength(9);
  });

  it.each(defs.map((d) => [d.name, d] as const))('%s: SQL, Lambda action and error action', (_name, def) => {
    t.hasResourceProperties('AWS::IoT::TopicRule', {
      RuleName: def.name,
      TopicRulePayload: {
        Sql: def.sql,
        AwsIotSqlVersion: RULE_SQL_VERSION,
        RuleDisabled: false,
        Actions: [{ Lambda: { FunctionArn: { 'Fn::GetAtt': [fnId, 'Arn'] } } }],
        ErrorAction: {
          Sqs: {
            QueueUrl: { 'Fn::ImportValue': Match.stringLikeRegexp('DeadLettersIngest') },
            RoleArn: { 'Fn::GetAtt': [logicalId('AWS::IAM::Role', 'IngestRulesErrorActionRole'), 'Arn'] },
            UseBase64: false,
          },
        },
      },
    });
  });

  it('uses the binary-safe SELECT and the 2016-03-23 SQL version on every rule', () => {
    for (const r of rules) {
      expect(r.TopicRulePayload.AwsIotSqlVersion).toBe('2016-03-23');
      expect(String(r.TopicRulePayload.Sql)).toMatch(
        /^SELECT encode\(\*, 'base64'\) AS payload, topic\(\) AS topic, clientid\(\) AS clientId, principal\(\) AS principal, timestamp\(\) AS receivedAt FROM '[^']+'$/,
      );
    }
  });

  it('lets IoT invoke the function only from each rule, in this account', () => {
    const permissions = Object.entries(t.findResources('AWS::Lambda::Permission'))
      .map(([, p]) => (p as { Properties: Record<string, unknown> }).Properties)
      .filter((p) => p.Principal === 'iot.amazonaws.com');
    expect(permissions).toHaveLength(defs.length);
    const ruleIds = Object.keys(t.findResources('AWS::IoT::TopicRule'));
    const sources = permissions.map((p) => {
      expect(p).toMatchObject({
        Action: 'lambda:InvokeFunction',
        Principal: 'iot.amazonaws.com',
        FunctionName: { 'Fn::GetAtt': [fnId, 'Arn'] },
        SourceAccount: { Ref: 'AWS::AccountId' },
      });
      return (p.SourceArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'];
    });
    expect(sources.map(([id, attr]) => `${id}.${attr}`).sort()).toEqual(
      ruleIds.map((id) => `${id}.Arn`).sort(),
    );
  });

  it('gives the error action role only SendMessage on the ingest DLQ, assumable by IoT of this account', () => {
    const errorRoleId = logicalId('AWS::IAM::Role', 'IngestRulesErrorActionRole');
    t.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          {
            Action: 'sts:AssumeRole',
            Effect: 'Allow',
            Principal: { Service: 'iot.amazonaws.com' },
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          },
        ],
      },
    });
    const grants = Object.values(t.findResources('AWS::IAM::Policy'))
      .map((p) => render(p) as { Properties: { Roles: string[]; PolicyDocument: { Statement: unknown[] } } })
      .filter((p) => p.Properties.Roles.includes(`<${errorRoleId}>`))
      .flatMap((p) => flattenStatements(p.Properties.PolicyDocument.Statement));
    expect(grants).toEqual([
      {
        effect: 'Allow',
        action: 'sqs:SendMessage',
        resource: expect.stringMatching(/^<import:.*DeadLettersIngest.*Arn/) as unknown as string,
      },
    ]);
  });

  it('follows a custom app segment and rule prefix from context', () => {
    const custom = buildTestApp({ 'fleetwire:app': 'acme', 'fleetwire:rulePrefix': 'acme_fleet' });
    custom.ingestTemplate.hasResourceProperties('AWS::IoT::TopicRule', {
      RuleName: 'acme_fleet_dt_ems',
      TopicRulePayload: { Sql: Match.stringLikeRegexp("FROM 'dt/acme/\\+/ems'$") },
    });
    expect(() => buildTestApp({ 'fleetwire:app': 'Not Valid' })).toThrow(/app/);
  });
});

describe('stack split', () => {
  it('puts no stateful resource in the ingest stack and no function in the stateful stack', () => {
    for (const type of [
      'AWS::DynamoDB::Table',
      'AWS::S3::Bucket',
      'AWS::SQS::Queue',
      'AWS::Timestream::Table',
      'AWS::Events::EventBus',
    ]) {
      t.resourceCountIs(type, 0);
    }
    dev.statefulTemplate.resourceCountIs('AWS::Lambda::Function', 0);
    expect(dev.ingest.dependencies).toContain(dev.stateful);
  });
});
