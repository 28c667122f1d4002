/**
 * The one way Fleetwire defines a Lambda function (after aws-powertools' example app): esbuild-bundled
 * `NodejsFunction` on arm64, Powertools environment, X-Ray tracing, its own log group with a retention,
 * and its own role whose only built-in permission is writing to that log group (no managed policies).
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { type IRole, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** Repository root (the directory holding package.json and package-lock.json). */
export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * With the SDK bundled, the credential providers a Lambda function never reaches stay out of the bundle
 * (~100 KB): its execution role's credentials are in the environment, the first link of the SDK's
 * default chain, and the SDK loads every later link with a dynamic import only when that link is tried.
 */
const UNREACHED_CREDENTIAL_PROVIDERS = [
  '@aws-sdk/credential-provider-sso',
  '@aws-sdk/credential-provider-ini',
  '@aws-sdk/credential-provider-process',
  '@aws-sdk/credential-provider-web-identity',
  '@aws-sdk/credential-provider-login',
  '@aws-sdk/credential-provider-http',
  '@smithy/credential-provider-imds',
];

/** Properties of {@link FleetwireFunction}. */
export interface FleetwireFunctionProps {
  /** Handler file, relative to the repository root (e.g. `lambdas/handlers/ingest.ts`). */
  readonly entry: string;
  /** Exported handler name. @default 'handler' */
  readonly handler?: string;
  /** Function description. @default none */
  readonly description?: string;
  /** Powertools service name (`POWERTOOLS_SERVICE_NAME`, metric dimension `service`). */
  readonly serviceName: string;
  /** CloudWatch metrics namespace (`POWERTOOLS_METRICS_NAMESPACE`). @default 'Fleetwire' */
  readonly metricsNamespace?: string;
  /** Log level (`POWERTOOLS_LOG_LEVEL`). @default 'INFO' */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /** Environment variables for the handler, added to the Powertools ones. @default none */
  readonly environment?: Record<string, string>;
  /** Memory in MB (arm64 CPU scales with it). @default 512 */
  readonly memorySize?: number;
  /** Timeout. @default Duration.seconds(30) */
  readonly timeout?: Duration;
  /** Runtime. Node.js 22 is LTS until 2027-04-30. @default Runtime.NODEJS_22_X */
  readonly runtime?: Runtime;
  /** Log retention. @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** What happens to the log group when the stack is deleted. @default RemovalPolicy.RETAIN */
  readonly logRemovalPolicy?: RemovalPolicy;
  /** Reserved concurrency, to cap what one function can take from the account. @default no reservation */
  readonly reservedConcurrentExecutions?: number;
  /**
   * Bundle the AWS SDK v3 (tree-shaken, minified) instead of loading the runtime's copy at cold start:
   * only the clients and commands the function uses are parsed, and the SDK version is the one
   * package-lock.json pins. `npm run bench -- ingest` measures both. @default true
   */
  readonly bundleAwsSdk?: boolean;
}

/** A Lambda function with Fleetwire's fixed runtime, architecture, bundling, logging and tracing. */
export class FleetwireFunction extends Construct {
  /** The function. */
  readonly function: NodejsFunction;
  /** Its execution role. */
  readonly role: IRole;
  /** Its log group. */
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: FleetwireFunctionProps) {
    super(scope, id);
    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    const role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${props.serviceName}`,
    });
    // Instead of the AWSLambdaBasicExecutionRole managed policy: write only to this function's log group.
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );
    this.role = role;

    this.function = new NodejsFunction(this, 'Function', {
      entry: join(PROJECT_ROOT, props.entry),
      handler: props.handler ?? 'handler',
      description: props.description,
      runtime: props.runtime ?? Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(30),
      role,
      logGroup: this.logGroup,
      tracing: Tracing.ACTIVE,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      environment: {
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: props.metricsNamespace ?? 'Fleetwire',
        POWERTOOLS_LOG_LEVEL: props.logLevel ?? 'INFO',
        // Never log whole events: payloads carry device tokens.
        POWERTOOLS_LOGGER_LOG_EVENT: 'false',
        ...props.environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        platform: 'node',
        minify: true,
        // Error classes set `name` from their constructor: keep class names through minification.
        keepNames: true,
        sourceMap: false,
        mainFields: ['module', 'main'],
        bundleAwsSDK: props.bundleAwsSdk ?? true,
        externalModules: (props.bundleAwsSdk ?? true) ? UNREACHED_CREDENTIAL_PROVIDERS : ['@aws-sdk/*'],
        // Some bundled CommonJS dependencies call require(); give the ESM bundle one.
        banner:
          "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
      },
    });
  }
}
