/**
 * The IoT Core side of the fleet: the thing type every device belongs to and the IoT policies attached
 * to every device certificate.
 *
 * The policies use policy variables so one set serves every device, yet each certificate can only
 * connect as its own thing (client id = thing name, certificate attached to that thing) and only touch
 * its own topics: every resource is an exact topic from lambdas/core/topics.ts (no `*`, which Device
 * Defender's IOT_POLICY_OVERLY_PERMISSIVE_CHECK would flag). Because an IoT policy document is limited to
 * 2048 characters, the statements are split by concern into three policies, all attached at registration.
 *
 * Devices and certificates are created outside CloudFormation and refer to these resources by name, so
 * they live with the stateful resources: a code deploy must never replace them.
 */
import { Aws, Stack } from 'aws-cdk-lib';
import { CfnPolicy, CfnThingType } from 'aws-cdk-lib/aws-iot';
import { Construct } from 'constructs';
import { devicePolicyTopics, type TopicConfig } from '../../lambdas/core/topics.js';

/** AWS IoT's limit on a policy document, in characters excluding whitespace. */
export const IOT_POLICY_MAX_CHARS = 2048;

/** Properties of {@link DeviceFleet}. */
export interface DeviceFleetProps {
  /** Topic scheme settings (app segment, rule prefix). */
  readonly topics: TopicConfig;
  /** Thing type name. */
  readonly thingTypeName: string;
  /**
   * Names of the three device policies, in order: connect + commands, telemetry, Basic Ingest.
   * @default ['<thingTypeName>-connect', '<thingTypeName>-telemetry', '<thingTypeName>-basic-ingest']
   */
  readonly policyNames?: readonly [string, string, string];
  /** Searchable thing attributes (at most 3). @default ['tenant'] */
  readonly searchableAttributes?: readonly string[];
}

/** An IoT policy document (the subset of the IAM grammar IoT uses). */
export interface IotPolicyDocument {
  readonly Version: '2012-10-17';
  readonly Statement: readonly {
    readonly Effect: 'Allow';
    readonly Action: string | readonly string[];
    readonly Resource: readonly string[];
    readonly Condition?: Record<string, Record<string, string>>;
  }[];
}

/** Builds `arn:…:iot:<region>:<account>:<kind>/<name>`. */
export type IotArn = (kind: 'client' | 'topic' | 'topicfilter', name: string) => string;

/**
 * The three device policy documents (connect + commands, telemetry, Basic Ingest) for `topics`, with
 * ARNs built by `arn`. Pure, so tests and the size check can render it with literal ARNs.
 */
export function devicePolicyDocuments(
  topics: TopicConfig,
  arn: IotArn,
): [IotPolicyDocument, IotPolicyDocument, IotPolicyDocument] {
  const t = devicePolicyTopics(topics);
  const connect: IotPolicyDocument = {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: 'iot:Connect',
        Resource: [arn('client', t.clientId)],
        // The certificate must be attached to the thing named by the client id (the thing-name policy
        // variable is only defined then), so a stolen certificate cannot connect as another device.
        Condition: { Bool: { 'iot:Connection.Thing.IsAttached': 'true' } },
      },
      { Effect: 'Allow', Action: 'iot:Subscribe', Resource: t.subscribe.map((f) => arn('topicfilter', f)) },
      { Effect: 'Allow', Action: 'iot:Receive', Resource: t.receive.map((x) => arn('topic', x)) },
      { Effect: 'Allow', Action: 'iot:Publish', Resource: t.publishCommand.map((x) => arn('topic', x)) },
    ],
  };
  const telemetry: IotPolicyDocument = {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: 'iot:Publish', Resource: t.publishTelemetry.map((x) => arn('topic', x)) },
    ],
  };
  const basicIngest: IotPolicyDocument = {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: 'iot:Publish', Resource: t.publishBasicIngest.map((x) => arn('topic', x)) },
    ],
  };
  return [connect, telemetry, basicIngest];
}

/** Length of a policy document as IoT counts it: JSON without whitespace. */
export function policyLength(doc: IotPolicyDocument): number {
  return JSON.stringify(doc).length;
}

/** The thing type and device policies. */
export class DeviceFleet extends Construct {
  /** The thing type. */
  readonly thingType: CfnThingType;
  /** The device policies (connect + commands, telemetry, Basic Ingest). */
  readonly policies: readonly CfnPolicy[];
  /** Names of the device policies, to attach to every certificate. */
  readonly policyNames: readonly string[];

  constructor(scope: Construct, id: string, props: DeviceFleetProps) {
    super(scope, id);
    const names = props.policyNames ?? [
      `${props.thingTypeName}-connect`,
      `${props.thingTypeName}-telemetry`,
      `${props.thingTypeName}-basic-ingest`,
    ];
    const searchable = props.searchableAttributes ?? ['tenant'];
    if (searchable.length > 3) throw new RangeError('a thing type has at most 3 searchable attributes');

    // Check the size with the longest partition and region names there are, so that no deployment
    // target can push a document over the limit at deploy time.
    const worst: IotArn = (kind, name) => `arn:aws-us-gov:iot:ap-southeast-7:123456789012:${kind}/${name}`;
    devicePolicyDocuments(props.topics, worst).forEach((doc, i) => {
      const len = policyLength(doc);
      if (len > IOT_POLICY_MAX_CHARS) {
        throw new RangeError(
          `device policy ${names[i]} would be ${len} characters (IoT allows ${IOT_POLICY_MAX_CHARS}); shorten the app or rule prefix`,
        );
      }
    });

    this.thingType = new CfnThingType(this, 'ThingType', {
      thingTypeName: props.thingTypeName,
      thingTypeProperties: {
        thingTypeDescription: 'A Fleetwire device: thing name = MQTT client id = device id',
        searchableAttributes: [...searchable],
      },
    });

    const stack = Stack.of(this);
    const arn: IotArn = (kind, name) =>
      `arn:${Aws.PARTITION}:iot:${stack.region}:${stack.account}:${kind}/${name}`;
    const docs = devicePolicyDocuments(props.topics, arn);
    const ids = ['ConnectPolicy', 'TelemetryPolicy', 'BasicIngestPolicy'];
    this.policies = docs.map(
      (doc, i) => new CfnPolicy(this, ids[i] ?? `Policy${i}`, { policyName: names[i], policyDocument: doc }),
    );
    this.policyNames = [...names];
  }
}
