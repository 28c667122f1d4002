import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { REGISTRY_KEYS } from '../../lambdas/core/deployment-contract.js';
import { THING_NAME_VARIABLE } from '../../lambdas/core/topics.js';
import {
  devicePolicyDocuments,
  IOT_POLICY_MAX_CHARS,
  policyLength,
} from '../../lib/constructs/device-fleet.js';
import { buildTestApp, flattenStatements, render } from './app.js';

const dev = buildTestApp();
const prod = buildTestApp({ 'fleetwire:env': 'prod' });

function onlyResource(t: typeof dev.statefulTemplate, type: string, props: Record<string, unknown> = {}) {
  const found = t.findResources(type, { Properties: Match.objectLike(props) });
  const values = Object.values(found);
  expect(values, type).toHaveLength(1);
  return values[0] as {
    Properties: Record<string, unknown>;
    DeletionPolicy?: string;
    UpdateReplacePolicy?: string;
  };
}

describe('Timestream store', () => {
  it('enables magnetic store writes with rejected records reported to the reports bucket', () => {
    const reports = Object.keys(
      dev.statefulTemplate.findResources('AWS::S3::Bucket', {
        Properties: { LoggingConfiguration: { LogFilePrefix: 'Reports/' } },
      }),
    );
    expect(reports).toHaveLength(1);
    dev.statefulTemplate.hasResourceProperties('AWS::Timestream::Table', {
      TableName: 'telemetry',
      DatabaseName: { Ref: Match.stringLikeRegexp('^TimestreamDatabase') },
      MagneticStoreWriteProperties: {
        EnableMagneticStoreWrites: true,
        MagneticStoreRejectedDataLocation: {
          S3Configuration: {
            BucketName: { Ref: reports[0] },
            ObjectKeyPrefix: 'timestream-rejected/',
            EncryptionOption: 'SSE_S3',
          },
        },
      },
      Schema: {
        CompositePartitionKey: [{ Type: 'DIMENSION', Name: 'device', EnforcementInRecord: 'OPTIONAL' }],
      },
    });
  });

  it('takes retention from the environment profile and context overrides', () => {
    dev.statefulTemplate.hasResourceProperties('AWS::Timestream::Table', {
      RetentionProperties: {
        MemoryStoreRetentionPeriodInHours: '24',
        MagneticStoreRetentionPeriodInDays: '30',
      },
    });
    prod.statefulTemplate.hasResourceProperties('AWS::Timestream::Table', {
      RetentionProperties: {
        MemoryStoreRetentionPeriodInHours: '24',
        MagneticStoreRetentionPeriodInDays: '3650',
      },
    });
    const custom = buildTestApp({
      'fleetwire:memoryStoreRetentionHours': 48,
      'fleetwire:magneticStoreRetentionDays': '400',
    });
    custom.statefulTemplate.hasResourceProperties('AWS::Timestream::Table', {
      RetentionProperties: {
        MemoryStoreRetentionPeriodInHours: '48',
        MagneticStoreRetentionPeriodInDays: '400',
      },
    });
    expect(() => buildTestApp({ 'fleetwire:memoryStoreRetentionHours': 9000 })).toThrow(/8766/);
    expect(() => buildTestApp({ 'fleetwire:magneticStoreRetentionDays': 'x' })).toThrow(/positive integer/);
  });

  it('keeps telemetry on stack deletion in prod only', () => {
    expect(onlyResource(prod.statefulTemplate, 'AWS::Timestream::Table').DeletionPolicy).toBe('Retain');
    expect(onlyResource(prod.statefulTemplate, 'AWS::Timestream::Database').DeletionPolicy).toBe('Retain');
    expect(onlyResource(dev.statefulTemplate, 'AWS::Timestream::Table').DeletionPolicy).toBe('Delete');
  });

  it('rejects unknown storage backends', () => {
    expect(() => buildTestApp({ 'fleetwire:storage': 'influxdb' })).toThrow(/timestream/);
  });
});

describe('device registry table', () => {
  it('is keyed by tenant + device with a device-id index, PITR and encryption', () => {
    dev.statefulTemplate.hasResourceProperties('AWS::DynamoDB::Table', {
      TableName: 'fleetwire-dev-registry',
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: REGISTRY_KEYS.partitionKey, KeyType: 'HASH' },
        { AttributeName: REGISTRY_KEYS.sortKey, KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: 'byDevice',
          KeySchema: [{ AttributeName: 'deviceId', KeyType: 'HASH' }],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
    });
  });

  it('is deletion-protected and retained in prod, disposable in dev', () => {
    const p = onlyResource(prod.statefulTemplate, 'AWS::DynamoDB::Table', {
      TableName: 'fleetwire-prod-registry',
    });
    expect(p.Properties.DeletionProtectionEnabled).toBe(true);
    expect(p.DeletionPolicy).toBe('Retain');
    const d = onlyResource(dev.statefulTemplate, 'AWS::DynamoDB::Table', {
      TableName: 'fleetwire-dev-registry',
    });
    expect(d.Properties.DeletionProtectionEnabled).toBe(false);
    expect(d.DeletionPolicy).toBe('Delete');
    expect(p.Properties.TableName).toBe('fleetwire-prod-registry');
  });
});

describe('buckets', () => {
  const buckets = dev.statefulTemplate.findResources('AWS::S3::Bucket');
  const logBucket = Object.keys(buckets).find((k) => k.startsWith('AccessLogs'));

  it('has a files bucket, a reports bucket and an access-log bucket', () => {
    expect(Object.keys(buckets)).toHaveLength(3);
    expect(logBucket).toBeDefined();
  });

  it.each(['Files/', 'Reports/'])(
    '%s bucket is versioned, encrypted, private and logs to the log bucket',
    (prefix) => {
      dev.statefulTemplate.hasResourceProperties('AWS::S3::Bucket', {
        VersioningConfiguration: { Status: 'Enabled' },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        LoggingConfiguration: { DestinationBucketName: { Ref: logBucket }, LogFilePrefix: prefix },
      });
    },
  );

  it('every bucket denies requests without TLS (and below TLS 1.2)', () => {
    const policies = dev.statefulTemplate.findResources('AWS::S3::BucketPolicy');
    expect(Object.keys(policies)).toHaveLength(3);
    for (const p of Object.values(policies)) {
      const statements = (p as { Properties: { PolicyDocument: { Statement: Record<string, unknown>[] } } })
        .Properties.PolicyDocument.Statement;
      const deny = statements.filter((s) => s.Effect === 'Deny');
      expect(deny).toContainEqual(
        expect.objectContaining({ Condition: { Bool: { 'aws:SecureTransport': 'false' } }, Action: 's3:*' }),
      );
      expect(deny).toContainEqual(
        expect.objectContaining({ Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } } }),
      );
    }
  });

  it('lets S3 log delivery write to the log bucket through its policy, not an ACL', () => {
    const logPolicy = Object.values(dev.statefulTemplate.findResources('AWS::S3::BucketPolicy')).find(
      (p) =>
        JSON.stringify(p).includes(logBucket as string) &&
        JSON.stringify(p).includes('logging.s3.amazonaws.com'),
    );
    expect(logPolicy).toBeDefined();
    expect(JSON.stringify(buckets[logBucket as string])).not.toContain('LogDeliveryWrite');
  });
});

describe('dead-letter queues', () => {
  it('keep messages 14 days, encrypted, TLS only', () => {
    for (const name of ['fleetwire-dev-ingest-dlq', 'fleetwire-dev-ingest-failures']) {
      dev.statefulTemplate.hasResourceProperties('AWS::SQS::Queue', {
        QueueName: name,
        MessageRetentionPeriod: 1209600,
        SqsManagedSseEnabled: true,
      });
    }
    // An alarm per queue fires while it holds any message.
    const alarms = Object.values(dev.statefulTemplate.findResources('AWS::CloudWatch::Alarm')).map(
      (a) => (a as { Properties: Record<string, unknown> }).Properties,
    );
    expect(alarms).toHaveLength(2);
    for (const a of alarms) {
      expect(a).toMatchObject({
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Namespace: 'AWS/SQS',
        Statistic: 'Maximum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
    }
    const policies = Object.values(dev.statefulTemplate.findResources('AWS::SQS::QueuePolicy'));
    expect(policies).toHaveLength(2);
    for (const p of policies) {
      expect(JSON.stringify(p)).toContain('"aws:SecureTransport":"false"');
    }
  });
});

describe('system events', () => {
  it('has a bus with an archive of Fleetwire events', () => {
    dev.statefulTemplate.resourceCountIs('AWS::Events::EventBus', 1);
    dev.statefulTemplate.hasResourceProperties('AWS::Events::Archive', {
      EventPattern: { source: ['fleetwire'] },
      RetentionDays: 7,
    });
    prod.statefulTemplate.hasResourceProperties('AWS::Events::Archive', { RetentionDays: 90 });
  });
});

describe('IoT fleet identity', () => {
  it('creates the thing type with a searchable tenant attribute', () => {
    dev.statefulTemplate.hasResourceProperties('AWS::IoT::ThingType', {
      ThingTypeName: 'fleetwire-dev-device',
      ThingTypeProperties: { SearchableAttributes: ['tenant'] },
    });
  });

  const policies = Object.values(dev.statefulTemplate.findResources('AWS::IoT::Policy')).map(
    (p) =>
      render((p as { Properties: Record<string, unknown> }).Properties) as {
        PolicyName: string;
        PolicyDocument: { Statement: unknown[] };
      },
  );
  const byName = new Map(policies.map((p) => [p.PolicyName, p.PolicyDocument]));
  const grants = policies.flatMap((p) => flattenStatements(p.PolicyDocument.Statement));
  const arn = 'arn:aws:iot:eu-west-1:123456789012';
  const thing = THING_NAME_VARIABLE;

  it('splits the device permissions into three named policies', () => {
    expect([...byName.keys()].sort()).toEqual([
      'fleetwire-dev-device-basic-ingest',
      'fleetwire-dev-device-connect',
      'fleetwire-dev-device-telemetry',
    ]);
  });

  it('connects only as the attached thing named by the client id', () => {
    const connect = grants.filter((g) => g.action === 'iot:Connect');
    expect(connect).toEqual([
      {
        effect: 'Allow',
        action: 'iot:Connect',
        resource: `${arn}:client/${thing}`,
        condition: { Bool: { 'iot:Connection.Thing.IsAttached': 'true' } },
      },
    ]);
  });

  it('subscribes and receives only on the own command request topic', () => {
    expect(grants.filter((g) => g.action === 'iot:Subscribe').map((g) => g.resource)).toEqual([
      `${arn}:topicfilter/cmd/fleetwire-dev/${thing}/req`,
    ]);
    expect(grants.filter((g) => g.action === 'iot:Receive').map((g) => g.resource)).toEqual([
      `${arn}:topic/cmd/fleetwire-dev/${thing}/req`,
    ]);
  });

  it('publishes only on own telemetry, Basic Ingest, FlexConnect and command reply topics', () => {
    const publish = grants.filter((g) => g.action === 'iot:Publish').map((g) => g.resource);
    expect(publish).toContain(`${arn}:topic/dt/fleetwire-dev/${thing}/flexconnect-binary`);
    expect(publish).toContain(`${arn}:topic/$aws/rules/fleetwire_dev_dt_ems/dt/fleetwire-dev/${thing}/ems`);
    expect(publish).toContain(`${arn}:topic/flexconnect/mqtt_topic`);
    expect(publish).toContain(`${arn}:topic/cmd/fleetwire-dev/${thing}/ack`);
    expect(publish).toHaveLength(9 + 9 + 2);
    for (const r of publish) {
      expect(r.startsWith(`${arn}:topic/`)).toBe(true);
      if (!r.includes('flexconnect/mqtt_topic')) expect(r).toContain(thing);
    }
  });

  it('grants nothing else, and nothing with a wildcard', () => {
    expect(new Set(grants.map((g) => g.action))).toEqual(
      new Set(['iot:Connect', 'iot:Subscribe', 'iot:Receive', 'iot:Publish']),
    );
    for (const g of grants) {
      expect(g.effect).toBe('Allow');
      expect(g.resource, g.resource).not.toMatch(/[*#+]/);
    }
  });

  it('keeps every policy document under the IoT size limit, even with the longest names allowed', () => {
    for (const doc of byName.values()) expect(JSON.stringify(doc).length).toBeLessThan(IOT_POLICY_MAX_CHARS);
    const worst = devicePolicyDocuments(
      { app: 'a'.repeat(32), rulePrefix: `r${'x'.repeat(31)}` },
      (kind, name) => `arn:aws-us-gov:iot:ap-southeast-7:123456789012:${kind}/${name}`,
    );
    for (const doc of worst) expect(policyLength(doc)).toBeLessThanOrEqual(IOT_POLICY_MAX_CHARS);
  });
});

describe('outputs', () => {
  it('exports what operators and register-device need', () => {
    const outputs = dev.statefulTemplate.findOutputs('*');
    for (const key of [
      'TopicApp',
      'RulePrefix',
      'ThingTypeName',
      'DevicePolicyNames',
      'RegistryTableName',
      'FilesBucketName',
      'IngestDeadLetterQueueUrl',
      'LambdaFailureQueueUrl',
      'EventBusName',
      'TelemetryDatabase',
      'TelemetryTable',
    ]) {
      expect(outputs[key], key).toBeDefined();
    }
    expect(outputs.TopicApp?.Value).toBe('fleetwire-dev');
    expect(outputs.DevicePolicyNames?.Value).toBe(
      'fleetwire-dev-device-connect,fleetwire-dev-device-telemetry,fleetwire-dev-device-basic-ingest',
    );
    expect(prod.statefulTemplate.findOutputs('TopicApp').TopicApp?.Value).toBe('fleetwire');
    expect(prod.statefulTemplate.findOutputs('RulePrefix').RulePrefix?.Value).toBe('fleetwire');
  });
});
