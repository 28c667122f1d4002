/**
 * Alerting on the AWS adapters against moto_server: DynamoDB conditional writes, the tenant's SNS topic
 * (observed through an SQS subscription), EventBridge (observed through an SQS target), and the sweep
 * Lambda handler itself.
 */
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetSubscriptionAttributesCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  DynamoDbAlertHistory,
  DynamoDbAlertRuleStore,
  DynamoDbAlertStateStore,
} from '../../lambdas/adapters/aws/alerts-dynamodb.js';
import { type SnsAlertNotifier, tenantTopicName } from '../../lambdas/adapters/aws/alerts-sns.js';
import { createAwsAlerts, loadAlertConfig } from '../../lambdas/adapters/aws/alerts-wiring.js';
import { ALERT_ENV, ALERT_RULES_KEYS, ALERTS_KEYS } from '../../lambdas/core/alerts/deployment.js';
import { type AlertEvent, AlertEventSchema } from '../../lambdas/core/alerts/records.js';
import type { AlertService } from '../../lambdas/services/alert-service.js';
import { createIngestResources, drain, type IngestResources, systemEvents } from '../support/aws-fixture.js';
import { type MotoServer, startMoto, useMotoEnv } from '../support/moto.js';
import { pt } from './support.js';

const RULES = 'fleetwire-alert-rules';
const ALERTS = 'fleetwire-alerts';
const PREFIX = 'fleetwire-test-alerts';
const T = 'acme';

/** The alert tables exactly as lib/alerts-construct.ts declares them. */
async function createAlertTables(ddb: DynamoDBClient): Promise<void> {
  await ddb.send(
    new CreateTableCommand({
      TableName: RULES,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: ALERT_RULES_KEYS.partitionKey, AttributeType: 'S' },
        { AttributeName: ALERT_RULES_KEYS.sortKey, AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: ALERT_RULES_KEYS.partitionKey, KeyType: 'HASH' },
        { AttributeName: ALERT_RULES_KEYS.sortKey, KeyType: 'RANGE' },
      ],
    }),
  );
  const K = ALERTS_KEYS;
  await ddb.send(
    new CreateTableCommand({
      TableName: ALERTS,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: K.partitionKey, AttributeType: 'S' },
        { AttributeName: K.sortKey, AttributeType: 'S' },
        { AttributeName: K.byRulePartition, AttributeType: 'S' },
        { AttributeName: K.byRuleSort, AttributeType: 'S' },
        { AttributeName: K.duePartition, AttributeType: 'S' },
        { AttributeName: K.dueSort, AttributeType: 'N' },
        { AttributeName: K.activePartition, AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: K.partitionKey, KeyType: 'HASH' },
        { AttributeName: K.sortKey, KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: K.byRuleIndex,
          KeySchema: [
            { AttributeName: K.byRulePartition, KeyType: 'HASH' },
            { AttributeName: K.byRuleSort, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
        {
          IndexName: K.dueIndex,
          KeySchema: [
            { AttributeName: K.duePartition, KeyType: 'HASH' },
            { AttributeName: K.dueSort, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
        {
          IndexName: K.activeIndex,
          KeySchema: [
            { AttributeName: K.activePartition, KeyType: 'HASH' },
            { AttributeName: K.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    }),
  );
}

let moto: MotoServer;
let res: IngestResources;
let env: Record<string, string>;
let service: AlertService;
let notifier: SnsAlertNotifier;
let snsQueueUrl: string;
/** Warnings the service logged (delivery failures would show here). */
const warnings: string[] = [];

/** Alert events that reached the tenant's SNS topic (via its SQS subscription), drained. */
async function snsNotifications(sqs: SQSClient): Promise<AlertEvent[]> {
  return (await drain(sqs, snsQueueUrl)).map((b) => {
    const envelope = JSON.parse(b) as {
      Message: string;
      MessageAttributes?: Record<string, { Value: string }>;
    };
    const e = AlertEventSchema.parse(JSON.parse(envelope.Message));
    expect(envelope.MessageAttributes?.severity?.Value).toBe(e.rule.severity);
    return e;
  });
}

/** Alert events that reached the event bus (via its SQS target), drained. */
async function busEvents(): Promise<AlertEvent[]> {
  return (await systemEvents(res))
    .filter((e) => e.detailType.startsWith('alert.'))
    .map((e) => AlertEventSchema.parse(e.detail));
}

beforeAll(async () => {
  moto = await startMoto();
  useMotoEnv(moto);
  res = await createIngestResources();
  await createAlertTables(new DynamoDBClient({}));
  env = {
    ...res.env,
    [ALERT_ENV.RULES_TABLE]: RULES,
    [ALERT_ENV.ALERTS_TABLE]: ALERTS,
    [ALERT_ENV.TOPIC_PREFIX]: PREFIX,
  };
  const config = loadAlertConfig(env);
  if (!config) throw new Error('no config');
  const alerts = createAwsAlerts(config, {
    log: { warn: (m, e) => warnings.push(`${m} ${JSON.stringify(e)}`) },
  });
  service = alerts.service;
  notifier = alerts.notifier;
  // Observe the tenant topic through an SQS subscription (raw delivery off: the SNS envelope arrives).
  const topicArn = await alerts.notifier.topicArn(T);
  expect(topicArn.endsWith(`:${tenantTopicName(PREFIX, T)}`)).toBe(true);
  snsQueueUrl = (await res.sqs.send(new CreateQueueCommand({ QueueName: 'sns-tap' }))).QueueUrl as string;
  const queueArn = (
    await res.sqs.send(new GetQueueAttributesCommand({ QueueUrl: snsQueueUrl, AttributeNames: ['QueueArn'] }))
  ).Attributes?.QueueArn;
  await new SNSClient({}).send(
    new SubscribeCommand({ TopicArn: topicArn, Protocol: 'sqs', Endpoint: queueArn }),
  );
  for (const id of ['ems_001', 'exo-1']) {
    await res.registry.create({
      tenant: T,
      deviceId: id,
      tags: {},
      tokenHash: 'x',
      status: 'active',
      createdAt: Date.now() - 86_400_000,
      ...(id === 'exo-1'
        ? {
            channelContract: {
              channels: {
                '002': { display_name: 'Temperature', properties: {}, protocol_config: { timeout: 120_000 } },
              },
            },
          }
        : {}),
    });
  }
}, 60_000);

afterAll(async () => {
  await moto?.stop();
});

afterEach(() => {
  expect(warnings).toEqual([]);
});

describe('alerting on AWS (moto)', () => {
  it('a threshold crossing fires once to EventBridge and SNS, and resolves once', async () => {
    const rule = await service.createRule(T, {
      name: 'Battery hot',
      field: 'battery.temperature',
      condition: { op: 'above', threshold: 80, clearThreshold: 75 },
      severity: 'critical',
    });
    const t0 = Date.now() - 60_000;
    for (const [i, v] of [70, 85, 90, 78, 74].entries()) {
      await service.onPoints(T, [pt('ems_001', t0 + i * 1000, { 'battery.temperature': v })]);
    }
    const bus = await busEvents();
    expect(bus.map((e) => e.code)).toEqual(['ALERT_FIRING', 'ALERT_RESOLVED']);
    expect(bus[0]).toMatchObject({ tenant: T, device: 'ems_001', rule: { id: rule.id }, value: 85 });
    const sns = await snsNotifications(res.sqs);
    expect(sns.map((e) => e.code)).toEqual(['ALERT_FIRING', 'ALERT_RESOLVED']);
    expect(sns[0]?.eventId).toBe(bus[0]?.eventId);
    const alerts = await service.listAlerts(T, { limit: 10 });
    expect(alerts.items.map((a) => a.status)).toEqual(['RESOLVED']);
    // Paging and the active index.
    expect((await service.listAlerts(T, { status: 'active', limit: 10 })).items).toEqual([]);
    await service.deleteRule(T, rule.id);
    await busEvents();
  });

  it('conditional writes: concurrent evaluators of one message fire once', async () => {
    const rule = await service.createRule(T, {
      name: 'SoC low',
      field: 'battery.soc',
      condition: { op: 'below', threshold: 10 },
    });
    const config = loadAlertConfig(env);
    if (!config) throw new Error('no config');
    // Five independent "containers" (own caches, own clients) race on the same point.
    const racers = Array.from({ length: 5 }, () => createAwsAlerts(config).service);
    const p = [pt('ems_001', Date.now() - 1000, { 'battery.soc': 5 })];
    await Promise.all(racers.map((s) => s.onPoints(T, p)));
    expect((await busEvents()).map((e) => e.code)).toEqual(['ALERT_FIRING']);
    expect((await snsNotifications(res.sqs)).map((e) => e.code)).toEqual(['ALERT_FIRING']);
    // The store refuses a stale version.
    const states = new DynamoDbAlertStateStore(new DynamoDBClient({}), { table: ALERTS });
    const st = await states.get(T, rule.id, 'ems_001');
    expect(st?.status).toBe('FIRING');
    if (!st) throw new Error('no state');
    expect(await states.put({ ...st, version: st.version }, st.version - 1)).toBe(false);
    expect(await states.put({ ...st, version: 1 }, 0)).toBe(false);
    expect(await states.put({ ...st, version: st.version + 1 }, st.version)).toBe(true);
    await service.deleteRule(T, rule.id);
    await busEvents();
    await snsNotifications(res.sqs);
  });

  it('the sweep handler raises a stale alert from the channel contract timeout', async () => {
    const rule = await service.createRule(T, {
      name: 'Temp silent',
      field: '002',
      condition: { op: 'stale' },
    });
    // Last value 3 minutes ago; the contract timeout is 2 minutes.
    await service.onPoints(T, [pt('exo-1', Date.now() - 180_000, { '002': 21.5 })]);
    Object.assign(process.env, env);
    const { handler } = await import('../../lambdas/handlers/alert-sweep.js');
    const report = await handler({ source: 'aws.events', 'detail-type': 'Scheduled Event' }, {
      functionName: 'sweep',
      awsRequestId: 'req-1',
      getRemainingTimeInMillis: () => 60_000,
    } as never);
    expect(report).toMatchObject({ staleChecked: 1, staleFired: 1, errors: 0 });
    const bus = await busEvents();
    expect(bus).toHaveLength(1);
    expect(bus[0]).toMatchObject({
      code: 'ALERT_FIRING',
      reason: 'stale',
      device: 'exo-1',
      rule: { id: rule.id },
    });
    expect((await snsNotifications(res.sqs)).map((e) => e.code)).toEqual(['ALERT_FIRING']);
    const again = await handler({}, { functionName: 'sweep', awsRequestId: 'req-2' } as never);
    expect(again.staleFired).toBe(0);
    // Active alerts come from the sparse index; acknowledging is tenant-scoped.
    const active = await service.listAlerts(T, { status: 'active', limit: 10 });
    expect(active.items.map((a) => a.ruleId)).toEqual([rule.id]);
    const id = active.items[0]?.id ?? '';
    expect(await service.acknowledge('someone-else', id, 'x')).toBeUndefined();
    expect((await service.acknowledge(T, id, 'key:ops'))?.acknowledged?.by).toBe('key:ops');
    expect((await busEvents()).map((e) => e.code)).toEqual(['ALERT_ACKNOWLEDGED']);
  });

  it('history: filters, time bounds and cursors pinned to the tenant', async () => {
    const history = new DynamoDbAlertHistory(new DynamoDBClient({}), { table: ALERTS });
    const base = Date.UTC(2026, 0, 1);
    const mk = (i: number, device: string, status: 'FIRING' | 'RESOLVED') => ({
      id: `al${(base + i * 1000).toString(36).padStart(9, '0')}${String(i).padStart(12, '0')}`,
      tenant: 'hist',
      ruleId: 'r1',
      ruleName: 'r',
      severity: 'warning' as const,
      device,
      field: 'f',
      condition: 'f above 1',
      status,
      startedAt: new Date(base + i * 1000).toISOString(),
      firedAt: new Date(base + i * 1000).toISOString(),
      updatedAt: new Date(base + i * 1000).toISOString(),
    });
    for (let i = 0; i < 7; i++) await history.save(mk(i, i % 2 ? 'a' : 'b', i < 3 ? 'RESOLVED' : 'FIRING'));
    const all: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await history.list('hist', { limit: 3, ...(cursor ? { cursor } : {}) });
      all.push(...page.items.map((a) => a.id));
      cursor = page.next;
    } while (cursor);
    expect(all).toEqual([6, 5, 4, 3, 2, 1, 0].map((i) => mk(i, '', 'FIRING').id));
    expect((await history.list('hist', { status: 'active', limit: 10 })).items).toHaveLength(4);
    expect((await history.list('hist', { status: 'resolved', limit: 10 })).items).toHaveLength(3);
    expect((await history.list('hist', { deviceId: 'a', limit: 10 })).items).toHaveLength(3);
    expect(
      (await history.list('hist', { from: base + 2000, to: base + 5000, limit: 10 })).items.map((a) => a.id),
    ).toEqual([4, 3, 2].map((i) => mk(i, '', 'FIRING').id));
    // Resolving takes an alert out of the active index and sets its TTL.
    await history.save(mk(6, 'b', 'RESOLVED'));
    expect((await history.list('hist', { status: 'active', limit: 10 })).items).toHaveLength(3);
    const page = await history.list('hist', { limit: 2 });
    await expect(
      history.list('other-tenant', { limit: 2, ...(page.next ? { cursor: page.next } : {}) }),
    ).rejects.toMatchObject({
      code: 'INVALID_CURSOR',
    });
    await expect(history.list('hist', { limit: 2, cursor: 'not*a*cursor' })).rejects.toMatchObject({
      code: 'INVALID_CURSOR',
    });
    // Rules: listing by op across tenants (the sweep's work list).
    const rules = new DynamoDbAlertRuleStore(new DynamoDBClient({}), { table: RULES });
    const stale = await rules.listEnabledByOp(['stale']);
    expect(stale.every((r) => r.condition.op === 'stale' && r.enabled)).toBe(true);
  });
  it('subscriptions live on the tenant topic, with a severity filter policy', async () => {
    const sub = await notifier.subscribe(T, {
      protocol: 'email',
      endpoint: 'ops@example.com',
      severities: ['critical'],
    });
    const listed = await notifier.list(T);
    const mine = listed.find((s) => s.endpoint === 'ops@example.com');
    expect(mine).toMatchObject({ protocol: 'email' });
    // The SQS tap of this test suite is not an e-mail/https subscription and is not listed.
    expect(listed.every((s) => s.protocol === 'email' || s.protocol === 'https')).toBe(true);
    const topicArn = await notifier.topicArn(T);
    // moto confirms e-mail subscriptions at once; real SNS lists them as pending until confirmed.
    expect(mine?.confirmed).toBe(true);
    expect(sub.confirmed).toBe(false);
    const id = mine?.id ?? '';
    const attrs = await new SNSClient({}).send(
      new GetSubscriptionAttributesCommand({ SubscriptionArn: `${topicArn}:${id}` }),
    );
    expect(JSON.parse(attrs.Attributes?.FilterPolicy ?? '{}')).toEqual({ severity: ['critical'] });
    expect(await notifier.unsubscribe('other-tenant', id)).toBe(false);
    expect(await notifier.unsubscribe(T, id)).toBe(true);
    expect((await notifier.list(T)).some((s) => s.endpoint === 'ops@example.com')).toBe(false);
    expect(await notifier.list('other-tenant')).toEqual([]);
  });
});
