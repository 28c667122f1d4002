/**
 * Alert notifications on SNS: one topic per tenant, so each tenant chooses its own subscribers (e-mail,
 * HTTPS) and no tenant can ever receive another's alerts.
 *
 * Topic strategy: topics are created on first use (`CreateTopic` is idempotent and returns the same ARN
 * for the same name and attributes), named `<prefix>-<tenant>` — tenants come and go at runtime, so a
 * topic per tenant cannot be declared in the CDK app. The function's IAM policy allows `sns:CreateTopic`
 * / `sns:Publish` / subscription calls only on `arn:aws:sns:<region>:<account>:<prefix>-*`. Topics are
 * encrypted with KMS (`alias/aws/sns` unless another key is configured) and tagged with the tenant.
 *
 * Each message is the alert event JSON (docs/alerts.md) with message attributes `severity`, `code`,
 * `device`, `rule` and `kind`; subscriptions created through {@link SnsAlertNotifier.subscribe} with
 * severities get a filter policy on `severity`.
 */
import { createHash } from 'node:crypto';
import {
  CreateTopicCommand,
  ListSubscriptionsByTopicCommand,
  type MessageAttributeValue,
  PublishBatchCommand,
  type PublishBatchRequestEntry,
  type SNSClient,
  SubscribeCommand,
  UnsubscribeCommand,
} from '@aws-sdk/client-sns';
import type { AlertEvent } from '../../core/alerts/records.js';
import type { Severity } from '../../core/alerts/rule.js';
import type {
  AlertNotifier,
  AlertSubscription,
  AlertSubscriptions,
  SubscriptionProtocol,
} from '../../ports/alerts.js';

/** Options of {@link SnsAlertNotifier}. */
export interface SnsNotifierOptions {
  /** Topic name prefix, e.g. `fleetwire-prod-alerts`. */
  readonly topicPrefix: string;
  /** KMS key for topic encryption. @default 'alias/aws/sns' */
  readonly kmsKeyId?: string;
}

/** SNS topic names: up to 256 of [A-Za-z0-9_-]. */
const TOPIC_NAME_MAX = 256;

/**
 * The topic name of a tenant. Tenant ids are already topic-safe in practice; anything else is replaced
 * and a hash suffix keeps distinct tenants on distinct topics.
 */
export function tenantTopicName(prefix: string, tenant: string): string {
  const safe = tenant.replace(/[^A-Za-z0-9_-]/g, '_');
  const base = `${prefix}-${safe}`;
  if (safe === tenant && base.length <= TOPIC_NAME_MAX) return base;
  const hash = createHash('sha256').update(tenant).digest('hex').slice(0, 12);
  return `${base.slice(0, TOPIC_NAME_MAX - 13)}-${hash}`;
}

/** A subscription the SNS API returned but the tenant cannot see (malformed), or a refused argument. */
export class SubscriptionArgumentError extends Error {
  /** Stable code. */
  readonly code = 'SUBSCRIPTION_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'SubscriptionArgumentError';
  }
}

const SUBJECT_MAX = 100;
const MESSAGE_MAX = 256 * 1024;

/** ASCII-only subject (SNS e-mail subjects), bounded. */
function subjectOf(e: AlertEvent): string {
  const ascii = e.message.replace(/[^\x20-\x7e]/g, '?');
  return ascii.length > SUBJECT_MAX ? `${ascii.slice(0, SUBJECT_MAX - 1)}~` : ascii;
}

function attr(value: string): MessageAttributeValue {
  return { DataType: 'String', StringValue: value.slice(0, 256) || '-' };
}

/** Alert notifications and subscriptions on per-tenant SNS topics. */
export class SnsAlertNotifier implements AlertNotifier, AlertSubscriptions {
  private readonly arns = new Map<string, string>();

  constructor(
    private readonly client: SNSClient,
    private readonly opts: SnsNotifierOptions,
  ) {}

  /** The tenant's topic ARN, creating the topic on first use. */
  async topicArn(tenant: string): Promise<string> {
    const hit = this.arns.get(tenant);
    if (hit) return hit;
    const res = await this.client.send(
      new CreateTopicCommand({
        Name: tenantTopicName(this.opts.topicPrefix, tenant),
        Attributes: { KmsMasterKeyId: this.opts.kmsKeyId ?? 'alias/aws/sns' },
        Tags: [
          { Key: 'fleetwire:tenant', Value: tenant.slice(0, 256) },
          { Key: 'project', Value: 'fleetwire' },
        ],
      }),
    );
    if (!res.TopicArn) throw new Error('CreateTopic returned no TopicArn');
    this.arns.set(tenant, res.TopicArn);
    return res.TopicArn;
  }

  async notify(tenant: string, events: readonly AlertEvent[]): Promise<void> {
    if (events.length === 0) return;
    const arn = await this.topicArn(tenant);
    for (let i = 0; i < events.length; i += 10) {
      const entries: PublishBatchRequestEntry[] = events.slice(i, i + 10).map((e, j) => {
        let body = JSON.stringify(e);
        if (Buffer.byteLength(body) > MESSAGE_MAX)
          body = JSON.stringify({ ...e, errors: e.errors?.slice(0, 20), value: undefined });
        return {
          Id: String(j),
          Subject: subjectOf(e),
          Message: body,
          MessageAttributes: {
            severity: attr(e.rule.severity),
            code: attr(e.code),
            kind: attr(e.kind),
            device: attr(e.device),
            rule: attr(e.rule.id),
          },
        };
      });
      const res = await this.client.send(
        new PublishBatchCommand({ TopicArn: arn, PublishBatchRequestEntries: entries }),
      );
      const failed = res.Failed ?? [];
      if (failed.length > 0) {
        const f = failed[0];
        throw new Error(
          `SNS refused ${failed.length} notification(s): ${f?.Code ?? ''} ${f?.Message ?? ''}`.trim(),
        );
      }
    }
  }

  async list(tenant: string): Promise<AlertSubscription[]> {
    const arn = await this.topicArn(tenant);
    const out: AlertSubscription[] = [];
    let next: string | undefined;
    do {
      const res = await this.client.send(
        new ListSubscriptionsByTopicCommand({ TopicArn: arn, ...(next ? { NextToken: next } : {}) }),
      );
      for (const s of res.Subscriptions ?? []) {
        const protocol = s.Protocol === 'email' || s.Protocol === 'https' ? s.Protocol : undefined;
        if (!protocol || !s.Endpoint) continue;
        const confirmed = s.SubscriptionArn?.startsWith('arn:') === true;
        out.push({
          id: confirmed ? subscriptionId(s.SubscriptionArn as string) : pendingId(protocol, s.Endpoint),
          protocol,
          endpoint: s.Endpoint,
          confirmed,
        });
      }
      next = res.NextToken;
    } while (next);
    return out;
  }

  async subscribe(
    tenant: string,
    sub: { protocol: SubscriptionProtocol; endpoint: string; severities?: Severity[] },
  ): Promise<AlertSubscription> {
    const arn = await this.topicArn(tenant);
    const res = await this.client.send(
      new SubscribeCommand({
        TopicArn: arn,
        Protocol: sub.protocol,
        Endpoint: sub.endpoint,
        ReturnSubscriptionArn: true,
        ...(sub.severities && sub.severities.length > 0
          ? { Attributes: { FilterPolicy: JSON.stringify({ severity: sub.severities }) } }
          : {}),
      }),
    );
    const subArn = res.SubscriptionArn ?? '';
    return {
      id: subArn.startsWith('arn:') ? subscriptionId(subArn) : pendingId(sub.protocol, sub.endpoint),
      protocol: sub.protocol,
      endpoint: sub.endpoint,
      ...(sub.severities ? { severities: sub.severities } : {}),
      // E-mail and HTTPS endpoints confirm asynchronously; until then SNS delivers nothing to them.
      confirmed: false,
    };
  }

  async unsubscribe(tenant: string, id: string): Promise<boolean> {
    if (!/^[0-9a-f-]{36}$/.test(id)) return false;
    // Only subscriptions of this tenant's topic can be named: the ARN is rebuilt from the topic.
    const arn = await this.topicArn(tenant);
    const subs = await this.list(tenant);
    if (!subs.some((s) => s.id === id && s.confirmed)) return false;
    await this.client.send(new UnsubscribeCommand({ SubscriptionArn: `${arn}:${id}` }));
    return true;
  }
}

/** The id of a confirmed subscription: the UUID at the end of its ARN. */
function subscriptionId(arn: string): string {
  return arn.slice(arn.lastIndexOf(':') + 1);
}

/** A stable id for a subscription still waiting for confirmation (SNS gives it no ARN yet). */
function pendingId(protocol: string, endpoint: string): string {
  return `pending-${createHash('sha256').update(`${protocol}\u0000${endpoint}`).digest('hex').slice(0, 16)}`;
}
