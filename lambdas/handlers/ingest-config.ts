/**
 * Configuration of the ingest function, read from the environment once at cold start and validated with
 * zod: a missing or malformed variable fails the init phase with a message naming it, instead of
 * surfacing as a confusing SDK error on the first message. Names: `INGEST_ENV` (deployment contract).
 */
// zod/mini: the same validation as `zod`, tree-shakable (a few KB instead of ~450 KB in the bundle).
import * as z from 'zod/mini';
import { FILE_PREFIXES, INGEST_ENV, REGISTRY_KEYS, STORAGE_KINDS } from '../core/deployment-contract.js';

const nonEmpty = () => z.string().check(z.trim(), z.minLength(1, { error: 'must not be empty' }));

const schema = z.object({
  [INGEST_ENV.STORAGE]: z._default(z.enum(STORAGE_KINDS), 'timestream'),
  [INGEST_ENV.TELEMETRY_DATABASE]: nonEmpty(),
  [INGEST_ENV.TELEMETRY_TABLE]: nonEmpty(),
  [INGEST_ENV.REGISTRY_TABLE]: nonEmpty(),
  [INGEST_ENV.REGISTRY_DEVICE_INDEX]: z._default(nonEmpty(), REGISTRY_KEYS.deviceIndex),
  [INGEST_ENV.FILES_BUCKET]: nonEmpty(),
  [INGEST_ENV.DBC_PREFIX]: z._default(
    z.string().check(z.regex(/^(?:[^/]+\/)+$/, { error: 'must be a key prefix ending in "/"' })),
    FILE_PREFIXES.dbc,
  ),
  [INGEST_ENV.DEAD_LETTER_QUEUE_URL]: z.url({ protocol: /^https?$/ }),
  [INGEST_ENV.EVENT_BUS_NAME]: nonEmpty(),
  [INGEST_ENV.TOPIC_APP]: z.optional(nonEmpty()),
  /** Whether the Timestream table accepts magnetic-store writes (the CDK stack enables them). */
  TELEMETRY_MAGNETIC_WRITES: z._default(z.enum(['true', 'false']), 'true'),
});

/** The validated ingest configuration. */
export interface IngestConfig {
  readonly storage: (typeof STORAGE_KINDS)[number];
  readonly telemetryDatabase: string;
  readonly telemetryTable: string;
  readonly magneticWritesEnabled: boolean;
  readonly registryTable: string;
  readonly registryDeviceIndex: string;
  readonly filesBucket: string;
  readonly dbcPrefix: string;
  readonly deadLetterQueueUrl: string;
  readonly eventBusName: string;
  /** The `<app>` topic segment; `dt/` topics of other apps are refused when set. */
  readonly topicApp?: string;
}

/** Thrown when the environment is incomplete; the message lists every problem. */
export class ConfigError extends Error {
  /** Stable code. */
  readonly code = 'CONFIG_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Read and validate the ingest configuration from `env`. */
export function loadIngestConfig(env: Readonly<Record<string, string | undefined>>): IngestConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid ingest configuration: ${problems}`);
  }
  const c = parsed.data;
  return {
    storage: c[INGEST_ENV.STORAGE],
    telemetryDatabase: c[INGEST_ENV.TELEMETRY_DATABASE],
    telemetryTable: c[INGEST_ENV.TELEMETRY_TABLE],
    magneticWritesEnabled: c.TELEMETRY_MAGNETIC_WRITES === 'true',
    registryTable: c[INGEST_ENV.REGISTRY_TABLE],
    registryDeviceIndex: c[INGEST_ENV.REGISTRY_DEVICE_INDEX],
    filesBucket: c[INGEST_ENV.FILES_BUCKET],
    dbcPrefix: c[INGEST_ENV.DBC_PREFIX],
    deadLetterQueueUrl: c[INGEST_ENV.DEAD_LETTER_QUEUE_URL],
    eventBusName: c[INGEST_ENV.EVENT_BUS_NAME],
    ...(c[INGEST_ENV.TOPIC_APP] !== undefined ? { topicApp: c[INGEST_ENV.TOPIC_APP] } : {}),
  };
}
