/**
 * Composition root of alerting on AWS: environment → clients → adapters → {@link AlertService}. Used by
 * the sweep Lambda, and by the ingest Lambda and the API when they are given the alert environment
 * (`loadAlertConfig` returns `undefined` there when alerting is not configured, so they run without it).
 */
import { SNSClient } from '@aws-sdk/client-sns';
// zod/mini: tree-shakable (full zod would add ~450 KB to the ingest and sweep bundles).
import * as z from 'zod/mini';
import { ALERT_ENV } from '../../core/alerts/deployment.js';
import '../../core/alerts/zod-locale.js';
import { INGEST_ENV, REGISTRY_KEYS } from '../../core/deployment-contract.js';
import type { EventSink } from '../../ports/event-sink.js';
import { type AlertLogger, AlertService, type AlertServiceOptions } from '../../services/alert-service.js';
import { DynamoDbAlertHistory, DynamoDbAlertRuleStore, DynamoDbAlertStateStore } from './alerts-dynamodb.js';
import { SnsAlertNotifier } from './alerts-sns.js';
import { createDynamoDbClient, createEventBridgeClient } from './clients.js';
import { DynamoDbDeviceRegistry } from './dynamodb-device-registry.js';
import { EventBridgeEventSink } from './eventbridge-event-sink.js';

const nonEmpty = z.string().check(z.trim(), z.minLength(1));
const schema = z.object({
  [ALERT_ENV.RULES_TABLE]: nonEmpty,
  [ALERT_ENV.ALERTS_TABLE]: nonEmpty,
  [ALERT_ENV.TOPIC_PREFIX]: z
    .string()
    .check(z.regex(/^[A-Za-z0-9_-]{1,200}$/, 'letters, digits, "-" and "_" only')),
  [ALERT_ENV.TOPIC_KMS_KEY]: z._default(nonEmpty, 'alias/aws/sns'),
  [ALERT_ENV.HISTORY_RETENTION_DAYS]: z._default(
    z.coerce.number().check(z.int(), z.minimum(1), z.maximum(3650)),
    365,
  ),
  [INGEST_ENV.REGISTRY_TABLE]: nonEmpty,
  [INGEST_ENV.REGISTRY_DEVICE_INDEX]: z._default(nonEmpty, REGISTRY_KEYS.deviceIndex),
  [INGEST_ENV.EVENT_BUS_NAME]: nonEmpty,
});

/** The validated alert configuration. */
export interface AlertConfig {
  readonly rulesTable: string;
  readonly alertsTable: string;
  readonly topicPrefix: string;
  readonly topicKmsKey: string;
  readonly historyRetentionDays: number;
  readonly registryTable: string;
  readonly registryDeviceIndex: string;
  readonly eventBusName: string;
}

/** Thrown when the alert environment is incomplete; the message lists every problem. */
export class AlertConfigError extends Error {
  /** Stable code. */
  readonly code = 'CONFIG_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'AlertConfigError';
  }
}

/**
 * Read the alert configuration. With `optional`, an environment without `ALERTS_TABLE` means "alerting
 * not deployed here" and yields `undefined`; anything present must be valid.
 */
export function loadAlertConfig(
  env: Readonly<Record<string, string | undefined>>,
  opts: { optional?: boolean } = {},
): AlertConfig | undefined {
  if (opts.optional && !env[ALERT_ENV.ALERTS_TABLE]) return undefined;
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new AlertConfigError(`invalid alert configuration: ${problems}`);
  }
  const c = parsed.data;
  return {
    rulesTable: c[ALERT_ENV.RULES_TABLE],
    alertsTable: c[ALERT_ENV.ALERTS_TABLE],
    topicPrefix: c[ALERT_ENV.TOPIC_PREFIX],
    topicKmsKey: c[ALERT_ENV.TOPIC_KMS_KEY],
    historyRetentionDays: c[ALERT_ENV.HISTORY_RETENTION_DAYS],
    registryTable: c[INGEST_ENV.REGISTRY_TABLE],
    registryDeviceIndex: c[INGEST_ENV.REGISTRY_DEVICE_INDEX],
    eventBusName: c[INGEST_ENV.EVENT_BUS_NAME],
  };
}

/** Replacements for single dependencies (tests). */
export interface AwsAlertOverrides {
  readonly events?: EventSink;
  readonly log?: AlertLogger;
  readonly clock?: () => number;
  readonly options?: AlertServiceOptions;
}

/** The alert service with its SNS notifier (the API's subscription routes use the notifier too). */
export interface AwsAlerts {
  readonly service: AlertService;
  readonly notifier: SnsAlertNotifier;
}

/** Build the alert service on the AWS adapters described by `config`. */
export function createAwsAlerts(config: AlertConfig, overrides: AwsAlertOverrides = {}): AwsAlerts {
  const ddb = createDynamoDbClient();
  const notifier = new SnsAlertNotifier(new SNSClient({}), {
    topicPrefix: config.topicPrefix,
    kmsKeyId: config.topicKmsKey,
  });
  const service = new AlertService({
    rules: new DynamoDbAlertRuleStore(ddb, { table: config.rulesTable }),
    states: new DynamoDbAlertStateStore(ddb, { table: config.alertsTable }),
    history: new DynamoDbAlertHistory(ddb, {
      table: config.alertsTable,
      retentionDays: config.historyRetentionDays,
    }),
    events:
      overrides.events ??
      new EventBridgeEventSink(createEventBridgeClient(), { busName: config.eventBusName }),
    notifier,
    registry: new DynamoDbDeviceRegistry(ddb, {
      table: config.registryTable,
      deviceIndex: config.registryDeviceIndex,
    }),
    ...(overrides.log ? { log: overrides.log } : {}),
    ...(overrides.clock ? { clock: overrides.clock } : {}),
    ...(overrides.options ? { options: overrides.options } : {}),
  });
  return { service, notifier };
}
