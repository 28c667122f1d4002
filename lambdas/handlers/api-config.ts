/**
 * Configuration of the API functions (API, authorizer, command events, event log), read from the
 * environment once at cold start and validated with zod, so a bad deployment fails at init with a message
 * naming the variable. Shared names come from the deployment contract; the API's own are {@link API_ENV}.
 */
// zod/mini (as in ingest-config.ts): this module is in the authorizer, command-events, command-sweep and
// event-log bundles, where full zod would add ~450 KB for a dozen environment variables.
import * as z from 'zod/mini';
import '../core/alerts/zod-locale.js';
import { INGEST_ENV, REGISTRY_KEYS } from '../core/deployment-contract.js';
import { APP_NAME_PATTERN } from '../core/topics.js';

/** Environment variables the CDK sets on the API functions (lib/api-construct.ts). */
export const API_ENV = Object.freeze({
  REGISTRY_TABLE: INGEST_ENV.REGISTRY_TABLE,
  REGISTRY_DEVICE_INDEX: INGEST_ENV.REGISTRY_DEVICE_INDEX,
  FILES_BUCKET: INGEST_ENV.FILES_BUCKET,
  TELEMETRY_DATABASE: INGEST_ENV.TELEMETRY_DATABASE,
  TELEMETRY_TABLE: INGEST_ENV.TELEMETRY_TABLE,
  EVENT_BUS_NAME: INGEST_ENV.EVENT_BUS_NAME,
  TOPIC_APP: INGEST_ENV.TOPIC_APP,
  /** DynamoDB table of commands, files, API keys and events (lambdas/adapters/aws/dynamodb-api-stores.ts). */
  API_TABLE: 'API_TABLE',
  /** IoT thing type of devices. */
  THING_TYPE_NAME: 'THING_TYPE_NAME',
  /** Comma-separated IoT policy names attached to device certificates. */
  DEVICE_POLICY_NAMES: 'DEVICE_POLICY_NAMES',
  /** `https://<prefix>-ats.iot.<region>.amazonaws.com`, for data-plane publishes; discovered when absent. */
  IOT_DATA_ENDPOINT: 'IOT_DATA_ENDPOINT',
  /** Cognito user pool of people (authorizer only). */
  USER_POOL_ID: 'USER_POOL_ID',
  /** Comma-separated app client ids whose tokens are accepted (authorizer only). */
  USER_POOL_CLIENT_IDS: 'USER_POOL_CLIENT_IDS',
  /** Public base URL of the API, for the OpenAPI `servers` list. */
  API_PUBLIC_URL: 'API_PUBLIC_URL',
} as const);

const nonEmpty = z.string().check(z.trim(), z.minLength(1));
const list = z.pipe(
  z.string().check(z.trim(), z.minLength(1)),
  z.transform((s: string) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  ),
);

/** Thrown when the environment is incomplete; the message lists every problem. */
export class ApiConfigError extends Error {
  /** Stable code. */
  readonly code = 'CONFIG_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'ApiConfigError';
  }
}

function parse<T extends z.ZodMiniType>(
  schema: T,
  env: Readonly<Record<string, string | undefined>>,
  what: string,
): z.output<T> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new ApiConfigError(
      `invalid ${what} configuration: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  return parsed.data;
}

const apiSchema = z.object({
  [API_ENV.REGISTRY_TABLE]: nonEmpty,
  [API_ENV.REGISTRY_DEVICE_INDEX]: z._default(nonEmpty, REGISTRY_KEYS.deviceIndex),
  [API_ENV.FILES_BUCKET]: nonEmpty,
  [API_ENV.TELEMETRY_DATABASE]: nonEmpty,
  [API_ENV.TELEMETRY_TABLE]: nonEmpty,
  [API_ENV.EVENT_BUS_NAME]: nonEmpty,
  [API_ENV.TOPIC_APP]: z._default(z.string().check(z.regex(APP_NAME_PATTERN)), 'fleetwire'),
  [API_ENV.API_TABLE]: nonEmpty,
  [API_ENV.THING_TYPE_NAME]: nonEmpty,
  [API_ENV.DEVICE_POLICY_NAMES]: list,
  [API_ENV.IOT_DATA_ENDPOINT]: z.optional(z.url({ protocol: /^https?$/ })),
  [API_ENV.API_PUBLIC_URL]: z.optional(z.url({ protocol: /^https?$/ })),
});

/** The validated configuration of the API function (and the command-events function). */
export interface ApiConfig {
  readonly registryTable: string;
  readonly registryDeviceIndex: string;
  readonly filesBucket: string;
  readonly telemetryDatabase: string;
  readonly telemetryTable: string;
  readonly eventBusName: string;
  readonly app: string;
  readonly apiTable: string;
  readonly thingTypeName: string;
  readonly devicePolicyNames: readonly string[];
  readonly iotDataEndpoint: string | undefined;
  readonly publicUrl: string | undefined;
}

/** Read and validate the API configuration. */
export function loadApiConfig(env: Readonly<Record<string, string | undefined>>): ApiConfig {
  const c = parse(apiSchema, env, 'API');
  return {
    registryTable: c[API_ENV.REGISTRY_TABLE],
    registryDeviceIndex: c[API_ENV.REGISTRY_DEVICE_INDEX],
    filesBucket: c[API_ENV.FILES_BUCKET],
    telemetryDatabase: c[API_ENV.TELEMETRY_DATABASE],
    telemetryTable: c[API_ENV.TELEMETRY_TABLE],
    eventBusName: c[API_ENV.EVENT_BUS_NAME],
    app: c[API_ENV.TOPIC_APP],
    apiTable: c[API_ENV.API_TABLE],
    thingTypeName: c[API_ENV.THING_TYPE_NAME],
    devicePolicyNames: c[API_ENV.DEVICE_POLICY_NAMES],
    iotDataEndpoint: c[API_ENV.IOT_DATA_ENDPOINT],
    publicUrl: c[API_ENV.API_PUBLIC_URL],
  };
}

const authorizerSchema = z.object({
  [API_ENV.API_TABLE]: nonEmpty,
  [API_ENV.USER_POOL_ID]: z.optional(
    z.string().check(z.regex(/^[\w-]+_[0-9a-zA-Z]+$/, 'a Cognito user pool id')),
  ),
  [API_ENV.USER_POOL_CLIENT_IDS]: z.optional(list),
  AWS_REGION: nonEmpty,
});

/** The validated configuration of the authorizer. */
export interface AuthorizerConfig {
  readonly apiTable: string;
  readonly region: string;
  /** Cognito settings; API keys only when absent. */
  readonly cognito: { userPoolId: string; clientIds: readonly string[] } | undefined;
}

/** Read and validate the authorizer configuration. */
export function loadAuthorizerConfig(env: Readonly<Record<string, string | undefined>>): AuthorizerConfig {
  const c = parse(authorizerSchema, env, 'authorizer');
  const pool = c[API_ENV.USER_POOL_ID];
  const clients = c[API_ENV.USER_POOL_CLIENT_IDS];
  if ((pool === undefined) !== (clients === undefined)) {
    throw new ApiConfigError(`${API_ENV.USER_POOL_ID} and ${API_ENV.USER_POOL_CLIENT_IDS} go together`);
  }
  return {
    apiTable: c[API_ENV.API_TABLE],
    region: c.AWS_REGION,
    cognito:
      pool !== undefined && clients !== undefined ? { userPoolId: pool, clientIds: clients } : undefined,
  };
}

/** Configuration of the event-log function. */
export function loadEventLogConfig(env: Readonly<Record<string, string | undefined>>): { apiTable: string } {
  const c = parse(z.object({ [API_ENV.API_TABLE]: nonEmpty }), env, 'event log');
  return { apiTable: c[API_ENV.API_TABLE] };
}
