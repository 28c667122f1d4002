/**
 * AWS SDK client factories for the handlers and the CLI. Every client honours `AWS_ENDPOINT_URL` and the
 * service-specific `AWS_ENDPOINT_URL_<SERVICE>` (moto_server, LocalStack):
 * - DynamoDB, SQS and EventBridge: natively — the SDK reads the variables itself;
 * - Timestream Write: the override is passed explicitly so the SDK treats it as a custom endpoint and
 *   skips endpoint discovery (`endpointDiscoveryEnabled` is never set: with a custom endpoint it must not
 *   be true, and without one discovery is required). Its retries are owned by the adapter (`maxAttempts: 1`);
 * - S3: passed explicitly as well, with path-style addressing, which emulators need.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { TimestreamWriteClient } from '@aws-sdk/client-timestream-write';
import { configuredEndpoint, type EndpointEnv, s3ClientConfig } from './endpoints.js';

/** Timestream Write client; see the module comment. */
export function createTimestreamWriteClient(env: EndpointEnv): TimestreamWriteClient {
  const endpoint = configuredEndpoint('TIMESTREAM_WRITE', env);
  return new TimestreamWriteClient({ maxAttempts: 1, ...(endpoint ? { endpoint } : {}) });
}

/** S3 client; path-style when an endpoint override is configured. */
export function createS3Client(env: EndpointEnv): S3Client {
  return new S3Client(s3ClientConfig(env));
}

/** DynamoDB client (endpoint overrides: native). */
export function createDynamoDbClient(): DynamoDBClient {
  return new DynamoDBClient({});
}

/** SQS client (endpoint overrides: native). */
export function createSqsClient(): SQSClient {
  return new SQSClient({});
}

/** EventBridge client (endpoint overrides: native). */
export function createEventBridgeClient(): EventBridgeClient {
  return new EventBridgeClient({});
}
