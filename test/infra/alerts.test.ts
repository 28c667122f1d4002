/**
 * Alerting as deployed by the whole app (lib/fleetwire-app.ts): the alert tables in the stateful stack,
 * the every-minute sweep in the ingest stack, and alert evaluation in the ingest and API functions —
 * environment the handlers' loadAlertConfig accepts, and least-privilege grants.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { loadAlertConfig } from '../../lambdas/adapters/aws/alerts-wiring.js';
import { ALERT_ENV, ALERT_RULES_KEYS, ALERTS_KEYS } from '../../lambdas/core/alerts/deployment.js';
import { loadApiConfig } from '../../lambdas/handlers/api-config.js';
import { buildTestApp, flattenStatements, type Grant, render } from './app.js';

const dev = buildTestApp();
const prod = buildTestApp({ 'fleetwire:env': 'prod' });
const stateful = dev.statefulTemplate;
const ingest = dev.ingestTemplate;
const api = Template.fromStack(dev.api);
const root = join(import.meta.dirname, '..', '..');

type Resources = Record<string, { Properties: Record<string, unknown> }>;

/** The one function of `t` whose POWERTOOLS_SERVICE_NAME is `service`: its logical id and environment. */
function fn(t: Template, service: string): { id: string; env: Record<string, string>; role: string } {
  const found = Object.entries(t.findResources('AWS::Lambda::Function') as Resources).filter(
    ([, r]) =>
      (r.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables
        ?.POWERTOOLS_SERVICE_NAME === service,
  );
  expect(found, service).toHaveLength(1);
  const [id, r] = found[0] as [string, { Properties: Record<string, unknown> }];
  const env = (render(r.Properties.Environment) as { Variables: Record<string, string> }).Variables;
  const role = (r.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  return { id, env, role };
}

/** Every (action, resource) an IAM role of `t` is granted, with imports shortened to `<LogicalName>`. */
function grantsOf(t: Template, roleId: string): Grant[] {
  return Object.values(t.findResources('AWS::IAM::Policy'))
    .map((p) => render(p) as { Properties: { Roles: string[]; PolicyDocument: { Statement: unknown[] } } })
    .filter((p) => p.Properties.Roles.includes(`<${roleId}>`))
    .flatMap((p) => flattenStatements(p.Properties.PolicyDocument.Statement))
    .map((g) => ({
      ...g,
      resource: g.resource.replace(
        /<import:[^:>]*:ExportsOutputFnGetAtt([A-Za-z]+?)[0-9A-F]{8}Arn[0-9A-F]{8}>/,
        '<$1>',
      ),
    }));
}

const has = (grants: Grant[], action: string, resource: string) =>
  grants.some((g) => g.action === action && g.resource === resource);

const TOPICS = 'arn:aws:sns:eu-west-1:123456789012:fleetwire-dev-alerts-*';

describe('alert tables (stateful stack)', () => {
  it('keeps rules keyed (tenant, ruleId) and alerts keyed (pk, sk) with its three indexes and TTL', () => {
    stateful.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: ALERT_RULES_KEYS.partitionKey, KeyType: 'HASH' },
        { AttributeName: ALERT_RULES_KEYS.sortKey, KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { SSEEnabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
    stateful.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: ALERTS_KEYS.partitionKey, KeyType: 'HASH' },
        { AttributeName: ALERTS_KEYS.sortKey, KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { SSEEnabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: ALERTS_KEYS.ttl, Enabled: true },
      GlobalSecondaryIndexes: [
        Match.objectLike({ IndexName: ALERTS_KEYS.byRuleIndex }),
        Match.objectLike({ IndexName: ALERTS_KEYS.dueIndex }),
        Match.objectLike({ IndexName: ALERTS_KEYS.activeIndex }),
      ],
    });
    // The alert tables live in the stateful stack only.
    for (const t of [ingest, api]) {
      expect(JSON.stringify(t.findResources('AWS::DynamoDB::Table'))).toBe('{}');
    }
  });

  it('is deletion-protected and retained in prod, disposable in dev', () => {
    const alertTables = (t: Template) =>
      Object.entries(t.findResources('AWS::DynamoDB::Table')).filter(([id]) => id.startsWith('AlertTables'));
    expect(alertTables(dev.statefulTemplate)).toHaveLength(2);
    for (const [, r] of alertTables(prod.statefulTemplate)) {
      expect(r.DeletionPolicy).toBe('Retain');
      expect(r.Properties.DeletionProtectionEnabled).toBe(true);
    }
    for (const [, r] of alertTables(dev.statefulTemplate)) {
      expect(r.DeletionPolicy).toBe('Delete');
      expect(r.Properties.DeletionProtectionEnabled).toBe(false);
    }
  });

  it('exports the table names and the per-environment topic prefix', () => {
    const outputs = stateful.findOutputs('*');
    expect(outputs.AlertRulesTableName).toBeDefined();
    expect(outputs.AlertsTableName).toBeDefined();
    expect(outputs.AlertTopicPrefix?.Value).toBe('fleetwire-dev-alerts');
    expect(prod.statefulTemplate.findOutputs('AlertTopicPrefix').AlertTopicPrefix?.Value).toBe(
      'fleetwire-prod-alerts',
    );
  });
});

describe('alert sweep (ingest stack)', () => {
  const sweep = fn(ingest, 'fleetwire-alert-sweep');

  it('runs lambdas/handlers/alert-sweep.ts every minute, without retries, one at a time', () => {
    const source = readFileSync(join(root, 'lib', 'alerts-construct.ts'), 'utf8');
    expect(source).toContain("entry: 'lambdas/handlers/alert-sweep.ts'");
    expect(existsSync(join(root, 'lambdas', 'handlers', 'alert-sweep.ts'))).toBe(true);
    ingest.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [sweep.id, 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 },
        }),
      ],
    });
    ingest.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      FunctionName: { 'Fn::GetAtt': [sweep.id, 'Arn'] },
    });
    ingest.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'fleetwire-alert-sweep' }) },
      Timeout: 55,
      ReservedConcurrentExecutions: 1,
    });
  });

  it('has an environment the sweep handler accepts', () => {
    const config = loadAlertConfig(sweep.env);
    expect(config).toMatchObject({ topicPrefix: 'fleetwire-dev-alerts', topicKmsKey: 'alias/aws/sns' });
    expect(config?.rulesTable).toMatch(/AlertTablesRules/);
    expect(config?.alertsTable).toMatch(/AlertTablesAlerts/);
    expect(config?.registryTable).toMatch(/RegistryTable/);
    expect(config?.eventBusName).toMatch(/SystemEventsBus/);
  });

  it('reads rules and the registry, writes alert states, publishes events and tenant-topic notifications', () => {
    const g = grantsOf(ingest, sweep.role);
    for (const a of ['GetItem', 'Query', 'PutItem', 'UpdateItem', 'DeleteItem'])
      expect(has(g, `dynamodb:${a}`, '<AlertTablesAlerts>'), a).toBe(true);
    expect(has(g, 'dynamodb:PutItem', '<AlertTablesRules>')).toBe(false);
    expect(has(g, 'dynamodb:Query', '<RegistryTable>')).toBe(true);
    expect(g.some((x) => x.action === 'dynamodb:UpdateItem' && x.resource.includes('Registry'))).toBe(false);
    expect(has(g, 'events:PutEvents', '<SystemEventsBus>')).toBe(true);
    expect(has(g, 'sns:Publish', TOPICS)).toBe(true);
    expect(has(g, 'sns:Subscribe', TOPICS)).toBe(false);
  });
});

describe('alert evaluation in the ingest and API functions', () => {
  const ingestFn = fn(ingest, 'fleetwire-ingest');
  const apiFn = fn(api, 'fleetwire-api');

  it('gives both functions the alert environment their handlers read', () => {
    for (const f of [ingestFn, apiFn]) {
      for (const name of Object.values(ALERT_ENV)) expect(f.env[name], name).toBeTruthy();
      expect(f.env[ALERT_ENV.TOPIC_PREFIX]).toBe('fleetwire-dev-alerts');
      const config = loadAlertConfig(f.env, { optional: true });
      expect(config, 'alerting is on').toBeDefined();
      expect(config?.alertsTable).toMatch(/AlertTablesAlerts/);
    }
    // The API function's own configuration is untouched by the alert variables.
    expect(loadApiConfig(apiFn.env).registryTable).toBe(loadAlertConfig(apiFn.env)?.registryTable);
  });

  it('lets ingest evaluate (conditional state writes, events, tenant topics) but not manage rules', () => {
    const g = grantsOf(ingest, ingestFn.role);
    for (const a of ['GetItem', 'Query', 'PutItem', 'UpdateItem', 'DeleteItem'])
      expect(has(g, `dynamodb:${a}`, '<AlertTablesAlerts>'), a).toBe(true);
    for (const index of [ALERTS_KEYS.byRuleIndex, ALERTS_KEYS.dueIndex, ALERTS_KEYS.activeIndex])
      expect(has(g, 'dynamodb:Query', `<AlertTablesAlerts>/index/${index}`), index).toBe(true);
    expect(has(g, 'dynamodb:GetItem', '<AlertTablesRules>')).toBe(true);
    expect(g.filter((x) => x.resource === '<AlertTablesRules>').map((x) => x.action)).not.toContain(
      'dynamodb:PutItem',
    );
    expect(has(g, 'events:PutEvents', '<SystemEventsBus>')).toBe(true);
    const sns = g.filter((x) => x.action.startsWith('sns:'));
    expect(sns.map((x) => x.action).sort()).toEqual(['sns:CreateTopic', 'sns:Publish', 'sns:TagResource']);
    expect(sns.every((x) => x.resource === TOPICS)).toBe(true);
  });

  it('lets the API manage rules and tenant-topic subscriptions, confined to the topic prefix', () => {
    const g = grantsOf(api, apiFn.role);
    for (const a of ['GetItem', 'Query', 'PutItem', 'DeleteItem'])
      expect(has(g, `dynamodb:${a}`, '<AlertTablesRules>'), a).toBe(true);
    for (const a of ['GetItem', 'Query', 'PutItem', 'UpdateItem'])
      expect(has(g, `dynamodb:${a}`, '<AlertTablesAlerts>'), a).toBe(true);
    expect(has(g, 'events:PutEvents', '<SystemEventsBus>')).toBe(true);
    const sns = g.filter((x) => x.action.startsWith('sns:'));
    expect(sns.map((x) => x.action).sort()).toEqual([
      'sns:CreateTopic',
      'sns:ListSubscriptionsByTopic',
      'sns:Publish',
      'sns:Subscribe',
      'sns:TagResource',
      'sns:Unsubscribe',
    ]);
    expect(sns.every((x) => x.resource === TOPICS)).toBe(true);
  });

  it('grants no wildcard action on any alerting resource', () => {
    for (const [t, f] of [
      [ingest, ingestFn],
      [api, apiFn],
      [ingest, fn(ingest, 'fleetwire-alert-sweep')],
    ] as const) {
      for (const x of grantsOf(t, f.role)) {
        expect(x.action, x.action).not.toMatch(/^(dynamodb|sns|events):\*$/);
        if (x.action.startsWith('sns:')) expect(x.resource).toBe(TOPICS);
      }
    }
  });
});
