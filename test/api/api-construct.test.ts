/**
 * The API infrastructure: every route behind the Lambda authorizer, throttling and access logging on the
 * stage, least-privilege grants, IoT rules for command events, and cdk-nag AwsSolutions clean.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ApiStack } from '../../lib/api-construct.js';
import { buildFleetwireApp } from '../../lib/fleetwire-app.js';

const root = join(import.meta.dirname, '..', '..');
const cdkJson = JSON.parse(readFileSync(join(root, 'cdk.json'), 'utf8')) as {
  context?: Record<string, unknown>;
};

let api: Template;
let stateful: Template;
let apiStack: ApiStack;
let statefulStack: ReturnType<typeof buildFleetwireApp>['stateful'];
let settings: ReturnType<typeof buildFleetwireApp>['settings'];

beforeAll(() => {
  const app = new App({ context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [] } });
  const stacks = buildFleetwireApp(app);
  statefulStack = stacks.stateful;
  settings = stacks.settings;
  // buildFleetwireApp mounts the API with addFleetwireApi.
  apiStack = stacks.api;
  app.synth();
  api = Template.fromStack(apiStack);
  stateful = Template.fromStack(stacks.stateful);
}, 120_000);

describe('FleetwireApi', () => {
  it('puts every route behind the Lambda authorizer (simple responses, cached per Authorization header)', () => {
    const routes = api.findResources('AWS::ApiGatewayV2::Route');
    expect(Object.keys(routes).length).toBe(5);
    for (const r of Object.values(routes)) {
      expect(r.Properties.AuthorizationType).toBe('CUSTOM');
      expect(r.Properties.AuthorizerId).toBeDefined();
      expect(r.Properties.RouteKey).toMatch(/^(GET|POST|PUT|PATCH|DELETE) \/v1\/\{proxy\+\}$/);
    }
    api.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'REQUEST',
      AuthorizerPayloadFormatVersion: '2.0',
      EnableSimpleResponses: true,
      IdentitySource: ['$request.header.Authorization'],
      AuthorizerResultTtlInSeconds: 300,
    });
  });

  it('throttles and writes JSON access logs without credentials', () => {
    const stage = Object.values(api.findResources('AWS::ApiGatewayV2::Stage'))[0];
    expect(stage?.Properties.DefaultRouteSettings).toMatchObject({
      ThrottlingRateLimit: 100,
      ThrottlingBurstLimit: 200,
    });
    const format = JSON.parse(stage?.Properties.AccessLogSettings.Format);
    expect(Object.keys(format)).toEqual(expect.arrayContaining(['requestId', 'status', 'tenant', 'subject']));
    expect(JSON.stringify(format).toLowerCase()).not.toContain('header.authorization');
    expect(stage?.Properties.AccessLogSettings.DestinationArn).toBeDefined();
  });

  it('configures the functions: arm64, Node 22, environment from the deployment contract', () => {
    api.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'Fleetwire HTTPS API',
      Architectures: ['arm64'],
      Runtime: 'nodejs22.x',
      Environment: {
        Variables: Match.objectLike({
          API_TABLE: Match.anyValue(),
          REGISTRY_TABLE: Match.anyValue(),
          FILES_BUCKET: Match.anyValue(),
          FLEETWIRE_APP: settings.names.app,
          DEVICE_POLICY_NAMES: Match.anyValue(),
          POWERTOOLS_LOGGER_LOG_EVENT: 'false',
        }),
      },
    });
    api.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'Fleetwire API authorizer: API keys and Cognito ID tokens',
      Environment: {
        Variables: Match.objectLike({
          USER_POOL_ID: Match.anyValue(),
          USER_POOL_CLIENT_IDS: Match.anyValue(),
        }),
      },
    });
  });

  it('routes device responses, acknowledgements, presence and subscription events to command-events with an error action', () => {
    const rules = Object.values(api.findResources('AWS::IoT::TopicRule')).map(
      (r) => r.Properties.TopicRulePayload,
    );
    expect(rules.map((r) => r.Sql)).toEqual([
      expect.stringContaining(`FROM 'cmd/${settings.names.app}/+/res'`),
      expect.stringContaining(`FROM 'cmd/${settings.names.app}/+/ack'`),
      "SELECT clientId, eventType, timestamp FROM '$aws/events/presence/+/+'",
      // The subscription lifecycle event carries the SUBSCRIBE's topic filters in `topics`.
      "SELECT clientId, eventType, timestamp, topics FROM '$aws/events/subscriptions/subscribed/+'",
    ]);
    const commandEvents = Object.entries(api.findResources('AWS::Lambda::Function')).find(
      ([, f]) => f.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === 'fleetwire-command-events',
    )?.[0];
    expect(commandEvents).toBeDefined();
    for (const r of rules) {
      expect(r.Actions).toEqual([{ Lambda: { FunctionArn: { 'Fn::GetAtt': [commandEvents, 'Arn'] } } }]);
    }
    for (const [id] of Object.entries(api.findResources('AWS::IoT::TopicRule'))) {
      api.hasResourceProperties('AWS::Lambda::Permission', {
        Principal: 'iot.amazonaws.com',
        FunctionName: { 'Fn::GetAtt': [commandEvents, 'Arn'] },
        SourceArn: { 'Fn::GetAtt': [id, 'Arn'] },
      });
    }
    for (const r of rules) {
      expect(r.AwsIotSqlVersion).toBe('2016-03-23');
      expect(r.ErrorAction.CloudwatchLogs).toBeDefined();
    }
    // 4 IoT rules, 5 routes, the authorizer, the event-log rule, the sweep schedule.
    api.resourceCountIs('AWS::Lambda::Permission', 4 + 5 + 1 + 1 + 1);
    api.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 minute)' });
  });

  it('lets the API publish only on command request topics', () => {
    const text = JSON.stringify(api.toJSON());
    expect(text).toContain(`topic/cmd/${settings.names.app}/*/req`);
    expect(text).not.toMatch(/"iot:\*"/);
    expect(text).not.toMatch(/topic\/\*"/);
  });

  it('stores API data in the stateful stack: PITR, the environment’s deletion protection, TTL, three indexes', () => {
    expect(apiStack.stackName).toBe('Fleetwire-dev-Api');
    expect(apiStack.dependencies.map((d) => d.stackName)).toContain(statefulStack.stackName);
    stateful.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: settings.deletionProtection,
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
      GlobalSecondaryIndexes: [
        Match.objectLike({ IndexName: 'byDevice' }),
        Match.objectLike({ IndexName: 'byExpiry' }),
        Match.objectLike({ IndexName: 'byTenant' }),
      ],
    });
    stateful.hasResourceProperties('AWS::Cognito::UserPool', {
      MfaConfiguration: 'ON',
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      Schema: Match.arrayWith([Match.objectLike({ Name: 'tenant' })]),
    });
    stateful.resourceCountIs('AWS::Cognito::UserPoolGroup', 2);
  });

  it('is clean under cdk-nag AwsSolutions', () => {
    for (const stack of [apiStack, statefulStack]) {
      const a = Annotations.fromStack(stack);
      const findings = [
        ...a.findError('*', Match.stringLikeRegexp('AwsSolutions-')),
        ...a.findWarning('*', Match.stringLikeRegexp('AwsSolutions-')),
      ].map((m) => `${m.id}: ${String(m.entry.data).slice(0, 160)}`);
      expect(findings, stack.stackName).toEqual([]);
    }
  });
});
