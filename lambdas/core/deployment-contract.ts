/**
 * Names shared by the CDK app (lib/), the AWS adapters and the provisioning CLI: Lambda environment
 * variables, the DynamoDB key schema of the device registry, S3 key prefixes and the Timestream
 * partition dimension. Pure constants — one place, so infrastructure and runtime cannot drift apart.
 */

/** Environment variables the CDK sets on the ingest Lambda (values: what each holds). */
export const INGEST_ENV = Object.freeze({
  /** Storage adapter selector (`timestream`). */
  STORAGE: 'FLEETWIRE_STORAGE',
  /** Timestream database name. */
  TELEMETRY_DATABASE: 'TELEMETRY_DATABASE',
  /** Timestream table name. */
  TELEMETRY_TABLE: 'TELEMETRY_TABLE',
  /** DynamoDB device-registry table name. */
  REGISTRY_TABLE: 'REGISTRY_TABLE',
  /** Name of the registry GSI keyed by device id (thing name). */
  REGISTRY_DEVICE_INDEX: 'REGISTRY_DEVICE_INDEX',
  /** S3 bucket holding DBC and firmware files. */
  FILES_BUCKET: 'FILES_BUCKET',
  /** Key prefix of DBC files in the files bucket (the Lambda may read only below it). */
  DBC_PREFIX: 'DBC_PREFIX',
  /** URL of the ingest dead-letter queue. */
  DEAD_LETTER_QUEUE_URL: 'DEAD_LETTER_QUEUE_URL',
  /** EventBridge bus for system events. */
  EVENT_BUS_NAME: 'EVENT_BUS_NAME',
  /** The `<app>` topic segment of this deployment (lambdas/core/topics.ts). */
  TOPIC_APP: 'FLEETWIRE_APP',
} as const);

/** Storage backends the CDK app can deploy; later adapters extend this list. */
export const STORAGE_KINDS = ['timestream'] as const;
/** A storage backend. */
export type StorageKind = (typeof STORAGE_KINDS)[number];

/**
 * Key schema of the DynamoDB device registry. Items carry the fields of `DeviceRecord`
 * (lambdas/ports/device-registry.ts) as top-level attributes; the base table is keyed by tenant and
 * device so every tenant-scoped call is a key lookup, and ingest resolves the authenticated thing name
 * through the device index (thing names are unique per account and region).
 */
export const REGISTRY_KEYS = Object.freeze({
  /** Partition key: the tenant id (string). */
  partitionKey: 'tenant',
  /** Sort key: the device id = thing name = MQTT client id (string). */
  sortKey: 'deviceId',
  /** GSI keyed by device id alone (projection ALL). */
  deviceIndex: 'byDevice',
} as const);

/** S3 key prefixes of the files bucket. */
export const FILE_PREFIXES = Object.freeze({
  /** DBC files: `dbc/<tenant>/<file>`. */
  dbc: 'dbc/',
  /** Firmware images: `firmware/<tenant>/<file>`. */
  firmware: 'firmware/',
} as const);

/**
 * Timestream dimension names and the customer-defined partition key (the device dimension, with
 * OPTIONAL enforcement so a record without it is still accepted).
 */
export const TELEMETRY_DIMENSIONS = Object.freeze({
  tenant: 'tenant',
  device: 'device',
  partitionKey: 'device',
} as const);

/** Environment names: lowercase, start with a letter, ≤ 16 characters (they end up in resource names). */
export const ENV_NAME_PATTERN = /^[a-z][a-z0-9-]{0,15}$/;

/** Deterministic names of the resources that devices and the provisioning CLI refer to by name. */
export interface DeploymentNames {
  /** `<app>` topic segment: `fleetwire` in `prod`, `fleetwire-<env>` elsewhere. */
  readonly app: string;
  /** Topic-rule name prefix: `fleetwire` in `prod`, `fleetwire_<env>` elsewhere. */
  readonly rulePrefix: string;
  /** IoT thing type of every device. */
  readonly thingType: string;
  /** IoT policies attached to every device certificate (split by concern: a policy is ≤ 2048 characters). */
  readonly devicePolicies: readonly string[];
  /** DynamoDB device-registry table. */
  readonly registryTable: string;
}

/**
 * The names a deployment of environment `envName` uses. The CDK app creates resources with these names
 * (unless overridden by props) and `fleetwire register-device --env <name>` finds them the same way.
 */
export function deploymentNames(envName: string): DeploymentNames {
  if (!ENV_NAME_PATTERN.test(envName)) {
    throw new RangeError(`environment name "${envName}" must match ${ENV_NAME_PATTERN}`);
  }
  const base = `fleetwire-${envName}`;
  const prod = envName === 'prod';
  return {
    app: prod ? 'fleetwire' : base,
    rulePrefix: prod ? 'fleetwire' : base.replaceAll('-', '_'),
    thingType: `${base}-device`,
    devicePolicies: [`${base}-device-connect`, `${base}-device-telemetry`, `${base}-device-basic-ingest`],
    registryTable: `${base}-registry`,
  };
}

/**
 * Registry attributes the ingest Lambda may update (IAM `dynamodb:Attributes` condition on UpdateItem,
 * together with the key attributes): `DeviceRegistry.touch` moves `lastSeen` and nothing else.
 */
export const REGISTRY_INGEST_UPDATABLE = Object.freeze(['lastSeen'] as const);

/** EventBridge `source` of every system event Fleetwire publishes (the bus archive filters on it). */
export const SYSTEM_EVENT_SOURCE = 'fleetwire';
