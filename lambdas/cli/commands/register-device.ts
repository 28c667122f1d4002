/**
 * `fleetwire register-device`: provision a device in a deployed Fleetwire environment — IoT thing of the
 * fleet's thing type, X.509 certificate (AWS-generated key, or from the device's CSR), the fleet's device
 * policies, the registry entry and a payload token (stored hashed, shown once). See docs/deploy.md.
 *
 * Resource names follow the deployment's naming (`--env`, lambdas/core/deployment-contract.ts) unless
 * overridden. AWS credentials and region come from the usual SDK sources; `AWS_ENDPOINT_URL` points the
 * clients at moto_server or LocalStack.
 */
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IoTClient } from '@aws-sdk/client-iot';
import { DynamoDbDeviceRegistry } from '../../adapters/aws/dynamodb-device-registry.js';
import { IdentityError, IotIdentityProvider } from '../../adapters/aws/iot-identity-provider.js';
import { deploymentNames } from '../../core/deployment-contract.js';
import {
  basicIngestTopic,
  commandTopic,
  ingestRules,
  TELEMETRY_FORMATS,
  telemetryTopic,
} from '../../core/topics.js';
import { ProvisioningError, provisionDevice } from '../../services/device-provisioning.js';
import { EXIT_REJECTED, parseFlags, UsageError } from '../io.js';

const USAGE = `usage: fleetwire register-device --tenant <id> --device <thing-name> [options]

Provision a device: thing, certificate, policies, registry entry and payload token.

options:
  --tenant <id>            tenant the device belongs to (required)
  --device <name>          device id = thing name = MQTT client id (required)
  --env <name>             deployment environment whose resources to use (default: $FLEETWIRE_ENV or dev)
  --name <text>            display name
  --csr <file>             PEM certificate signing request; the private key stays on the device
  --token-file <file>      keep an existing payload token (FlexConnect migration) instead of a new one
  --dbc <key>              object key of the DBC assigned to the device (e.g. dbc/<tenant>/truck.dbc)
  --out <dir>              write certificate, private key and token to files there (0600) instead of stdout
  --registry-table <name>  override the registry table name
  --thing-type <name>      override the thing type name
  --policy <name>          override the device policies (repeat for each)
`;

/** Amazon's root CA for the ATS data endpoint, which devices must trust. */
const AMAZON_ROOT_CA_URL = 'https://www.amazontrust.com/repository/AmazonRootCA1.pem';

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${what} ${path}: ${(e as Error).message}`);
  }
}

function writeSecret(path: string, content: string): void {
  writeFileSync(path, content, { mode: 0o600 });
  chmodSync(path, 0o600);
}

/** Run the command. */
export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    tenant: { type: 'string' },
    device: { type: 'string' },
    env: { type: 'string' },
    name: { type: 'string' },
    csr: { type: 'string' },
    'token-file': { type: 'string' },
    dbc: { type: 'string' },
    out: { type: 'string' },
    'registry-table': { type: 'string' },
    'thing-type': { type: 'string' },
    policy: { type: 'string', multiple: true },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!values.tenant || !values.device) throw new UsageError(`--tenant and --device are required\n${USAGE}`);

  const envName = values.env ?? process.env.FLEETWIRE_ENV ?? 'dev';
  let names: ReturnType<typeof deploymentNames>;
  try {
    names = deploymentNames(envName);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const policyNames = values.policy && values.policy.length > 0 ? values.policy : names.devicePolicies;
  const token = values['token-file'] ? readText(values['token-file'], 'token file').trim() : undefined;
  const csrPem = values.csr ? readText(values.csr, 'CSR') : undefined;

  const identity = new IotIdentityProvider(new IoTClient({}), {
    thingTypeName: values['thing-type'] ?? names.thingType,
    policyNames,
  });
  const registry = new DynamoDbDeviceRegistry(new DynamoDBClient({}), {
    table: values['registry-table'] ?? names.registryTable,
  });

  let result: Awaited<ReturnType<typeof provisionDevice>>;
  try {
    result = await provisionDevice(
      { registry, identity, now: Date.now },
      {
        tenant: values.tenant,
        deviceId: values.device,
        ...(values.name !== undefined ? { name: values.name } : {}),
        ...(csrPem !== undefined ? { csrPem } : {}),
        ...(token !== undefined ? { token } : {}),
        ...(values.dbc !== undefined ? { dbcKey: values.dbc } : {}),
      },
    );
  } catch (e) {
    if (e instanceof ProvisioningError || (e instanceof IdentityError && e.code !== 'ISSUE_FAILED')) {
      process.stderr.write(`${JSON.stringify({ error: e.code, message: e.message })}\n`);
      return EXIT_REJECTED;
    }
    throw e;
  }

  const { record, identity: issued } = result;
  const mqtt = await identity.endpoint().catch(() => undefined);
  const app = names.app;
  const thing = record.deviceId;
  const telemetry: Record<string, string> = {};
  for (const f of TELEMETRY_FORMATS) telemetry[f] = telemetryTopic(app, thing, f);
  const basicIngest: Record<string, string> = {};
  for (const rule of ingestRules({ app, rulePrefix: names.rulePrefix })) {
    const topic = rule.family === 'dt' ? telemetryTopic(app, thing, rule.format) : rule.filter;
    basicIngest[rule.family === 'dt' ? rule.format : rule.filter] = basicIngestTopic(rule.name, topic);
  }

  const output: Record<string, unknown> = {
    tenant: record.tenant,
    deviceId: thing,
    certificateId: issued.certificateId,
    fingerprint: issued.fingerprint,
    mqtt: mqtt ? { ...mqtt, clientId: thing, caUrl: AMAZON_ROOT_CA_URL } : undefined,
    topics: {
      telemetry,
      basicIngest,
      flexconnect: { json: 'flexconnect/mqtt_topic', binary: 'flexconnect/mqtt_topic_binary' },
      commands: {
        request: commandTopic(app, thing, 'req'),
        ack: commandTopic(app, thing, 'ack'),
        result: commandTopic(app, thing, 'res'),
      },
    },
  };
  if (values.out) {
    const dir = resolve(values.out);
    mkdirSync(dir, { recursive: true });
    const files: Record<string, string> = { certificate: join(dir, `${thing}.cert.pem`) };
    writeFileSync(files.certificate as string, issued.certificatePem);
    if (issued.privateKey !== undefined) {
      files.privateKey = join(dir, `${thing}.private.key`);
      writeSecret(files.privateKey, issued.privateKey);
    }
    files.token = join(dir, `${thing}.token`);
    writeSecret(files.token, `${result.token}\n`);
    output.files = files;
  } else {
    output.certificatePem = issued.certificatePem;
    if (issued.privateKey !== undefined) output.privateKey = issued.privateKey;
    output.token = result.token;
  }
  process.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
  return 0;
}
