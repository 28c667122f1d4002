/**
 * Names shared by the alerts construct (lib/alerts-construct.ts), the DynamoDB/SNS adapters and the
 * sweep handler: environment variables, table key schemas and index names. Pure constants, one place,
 * so infrastructure and runtime cannot drift apart.
 */

/** Environment variables of the functions that run alerting (sweep, ingest, API). */
export const ALERT_ENV = Object.freeze({
  /** DynamoDB table of alert rules. */
  RULES_TABLE: 'ALERT_RULES_TABLE',
  /** DynamoDB table of alert states and history. */
  ALERTS_TABLE: 'ALERTS_TABLE',
  /** Per-tenant SNS topics are named `<prefix>-<tenant>`. */
  TOPIC_PREFIX: 'ALERT_TOPIC_PREFIX',
  /** KMS key (id, ARN or alias) encrypting the tenant topics. @default alias/aws/sns */
  TOPIC_KMS_KEY: 'ALERT_TOPIC_KMS_KEY',
  /** Days resolved alerts are kept before DynamoDB TTL removes them. @default 365 */
  HISTORY_RETENTION_DAYS: 'ALERT_HISTORY_RETENTION_DAYS',
} as const);

/** Key schema of the rules table: (tenant, ruleId); small, scanned by the sweep. */
export const ALERT_RULES_KEYS = Object.freeze({ partitionKey: 'tenant', sortKey: 'ruleId' } as const);

/**
 * Key schema of the alerts table (states and history, one table):
 * - state of (rule, device): `pk = S#<tenant>#<device>`, `sk = <ruleId>` — one Query reads a device's
 *   states on the ingest path; GSI `byRule` (`gpk = R#<tenant>#<ruleId>`, `gsk = <device>`) lists a
 *   rule's states; sparse GSI `due` (`duePk = DUE#<shard>`, `dueAt`) finds scheduled work;
 * - alert: `pk = H#<tenant>`, `sk = <alertId>` (alert ids start with the episode time, so the sort key
 *   orders history by time); sparse GSI `active` (`activePk = H#<tenant>`, `sk`) lists firing alerts.
 * `#` never occurs in tenant ids or thing names, so keys cannot collide.
 */
export const ALERTS_KEYS = Object.freeze({
  partitionKey: 'pk',
  sortKey: 'sk',
  byRuleIndex: 'byRule',
  byRulePartition: 'gpk',
  byRuleSort: 'gsk',
  dueIndex: 'due',
  duePartition: 'duePk',
  dueSort: 'dueAt',
  activeIndex: 'active',
  activePartition: 'activePk',
  /** TTL attribute (epoch seconds) of resolved alerts. */
  ttl: 'expiresAt',
} as const);

/** Number of partitions the `due` index is spread over (each sweep queries them all). */
export const DUE_SHARDS = 4;

/** EventBridge `detail-type`s of alert events (the `type` of their SystemEvent). */
export const ALERT_DETAIL_TYPES = ['alert.transition', 'alert.renotify', 'alert.acknowledged'] as const;
