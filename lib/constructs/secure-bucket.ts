/**
 * An S3 bucket with the settings every Fleetwire bucket needs: versioning, SSE-S3, all public access
 * blocked, TLS-only access (bucket policy), and server access logs delivered to a log bucket.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type IBucket,
  type LifecycleRule,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** Properties of {@link SecureBucket}. */
export interface SecureBucketProps {
  /** Bucket that receives this bucket's server access logs. */
  readonly accessLogsBucket: IBucket;
  /** Key prefix of this bucket's access logs in the log bucket. @default '<construct id>/' */
  readonly accessLogsPrefix?: string;
  /** Keep every version of every object. @default true */
  readonly versioned?: boolean;
  /** How long non-current object versions are kept. @default Duration.days(90) */
  readonly noncurrentVersionExpiration?: Duration;
  /** Extra lifecycle rules (e.g. expiring reports). @default none */
  readonly lifecycleRules?: LifecycleRule[];
  /** What happens to the bucket when its stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/** A private, encrypted, versioned, TLS-only bucket with access logging. */
export class SecureBucket extends Construct {
  /** The bucket. */
  readonly bucket: Bucket;

  constructor(scope: Construct, id: string, props: SecureBucketProps) {
    super(scope, id);
    const versioned = props.versioned ?? true;
    this.bucket = new Bucket(this, 'Bucket', {
      versioned,
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      serverAccessLogsBucket: props.accessLogsBucket,
      serverAccessLogsPrefix: props.accessLogsPrefix ?? `${id}/`,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      lifecycleRules: [
        ...(versioned
          ? [
              {
                id: 'expire-noncurrent-versions',
                noncurrentVersionExpiration: props.noncurrentVersionExpiration ?? Duration.days(90),
                abortIncompleteMultipartUploadAfter: Duration.days(7),
              },
            ]
          : []),
        ...(props.lifecycleRules ?? []),
      ],
    });
  }
}

/** Properties of {@link AccessLogsBucket}. */
export interface AccessLogsBucketProps {
  /** How long access logs are kept. @default Duration.days(365) */
  readonly retention?: Duration;
  /** What happens to the bucket when its stack is deleted. @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The bucket that receives S3 server access logs. It does not log its own access (that would loop);
 * cdk-nag recognises a log-target bucket and does not require it to.
 */
export class AccessLogsBucket extends Construct {
  /** The bucket. */
  readonly bucket: Bucket;

  constructor(scope: Construct, id: string, props: AccessLogsBucketProps = {}) {
    super(scope, id);
    this.bucket = new Bucket(this, 'Bucket', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      // Server access log delivery requires bucket-owner-enforced ownership with a bucket policy grant,
      // which CDK adds when the bucket is used as `serverAccessLogsBucket`.
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      versioned: false,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      lifecycleRules: [{ id: 'expire-access-logs', expiration: props.retention ?? Duration.days(365) }],
    });
  }
}
