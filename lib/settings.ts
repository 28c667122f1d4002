/**
 * Per-environment settings of the Fleetwire CDK app. The `fleetwire:env` context (cdk.json, or
 * `-c fleetwire:env=prod`) picks a profile; `prod` keeps data on stack deletion and protects it, every
 * other environment is disposable. Other context keys override single settings (see docs/deploy.md).
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { Node } from 'constructs';
import {
  type DeploymentNames,
  deploymentNames,
  STORAGE_KINDS,
  type StorageKind,
} from '../lambdas/core/deployment-contract.js';

/** Everything that differs between environments. */
export interface FleetwireSettings {
  /** Environment name (`dev`, `prod`, …); part of every stack and resource name. */
  readonly envName: string;
  /** Resource names devices and the CLI rely on (lambdas/core/deployment-contract.ts). */
  readonly names: DeploymentNames;
  /** Telemetry storage backend. */
  readonly storage: StorageKind;
  /** What happens to stateful resources when their stack is deleted. */
  readonly removalPolicy: RemovalPolicy;
  /** DynamoDB deletion protection. */
  readonly deletionProtection: boolean;
  /** Timestream memory store retention. */
  readonly memoryStoreRetention: Duration;
  /** Timestream magnetic store retention. */
  readonly magneticStoreRetention: Duration;
  /** Retention of the Lambda log groups. */
  readonly logRetentionDays: number;
  /** Retention of the S3 server access logs. */
  readonly accessLogRetention: Duration;
  /** Retention of the EventBridge archive of system events (0: no archive). */
  readonly eventArchiveRetention: Duration;
}

/** Profile of the production environment. */
const PROD = {
  removalPolicy: RemovalPolicy.RETAIN,
  deletionProtection: true,
  memoryStoreRetention: Duration.hours(24),
  magneticStoreRetention: Duration.days(3650),
  logRetentionDays: 90,
  accessLogRetention: Duration.days(365),
  eventArchiveRetention: Duration.days(90),
} as const;

/** Profile of every other environment: cheap and disposable. */
const DEV = {
  removalPolicy: RemovalPolicy.DESTROY,
  deletionProtection: false,
  memoryStoreRetention: Duration.hours(24),
  magneticStoreRetention: Duration.days(30),
  logRetentionDays: 14,
  accessLogRetention: Duration.days(30),
  eventArchiveRetention: Duration.days(7),
} as const;

/** Context keys the app reads (all optional). */
export const CONTEXT_KEYS = {
  env: 'fleetwire:env',
  storage: 'fleetwire:storage',
  app: 'fleetwire:app',
  rulePrefix: 'fleetwire:rulePrefix',
  memoryStoreRetentionHours: 'fleetwire:memoryStoreRetentionHours',
  magneticStoreRetentionDays: 'fleetwire:magneticStoreRetentionDays',
} as const;

function positiveInt(node: Node, key: string): number | undefined {
  const raw: unknown = node.tryGetContext(key);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new RangeError(`context ${key} must be a positive integer`);
  return n;
}

/** Resolve the settings of the environment selected by the app's context. */
export function settingsFromContext(node: Node): FleetwireSettings {
  const envName = String(node.tryGetContext(CONTEXT_KEYS.env) ?? 'dev');
  const base = deploymentNames(envName);
  const storage = String(node.tryGetContext(CONTEXT_KEYS.storage) ?? 'timestream');
  const kind = STORAGE_KINDS.find((k) => k === storage);
  if (kind === undefined) {
    throw new RangeError(`context ${CONTEXT_KEYS.storage} must be one of ${STORAGE_KINDS.join(', ')}`);
  }
  const profile = envName === 'prod' ? PROD : DEV;
  const memHours = positiveInt(node, CONTEXT_KEYS.memoryStoreRetentionHours);
  const magDays = positiveInt(node, CONTEXT_KEYS.magneticStoreRetentionDays);
  const app: unknown = node.tryGetContext(CONTEXT_KEYS.app);
  const rulePrefix: unknown = node.tryGetContext(CONTEXT_KEYS.rulePrefix);
  return {
    envName,
    names: {
      ...base,
      app: typeof app === 'string' ? app : base.app,
      rulePrefix: typeof rulePrefix === 'string' ? rulePrefix : base.rulePrefix,
    },
    storage: kind,
    ...profile,
    memoryStoreRetention: memHours ? Duration.hours(memHours) : profile.memoryStoreRetention,
    magneticStoreRetention: magDays ? Duration.days(magDays) : profile.magneticStoreRetention,
  };
}
