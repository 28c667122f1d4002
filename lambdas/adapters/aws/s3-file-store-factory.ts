/**
 * Builds an {@link S3FileStore} with its client. A module of its own so that {@link LazyS3FileStore} can
 * import it dynamically and esbuild still tree-shakes the S3 package down to what is used.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { type EndpointEnv, s3ClientConfig } from './endpoints.js';
import { S3FileStore, type S3FileStoreOptions } from './s3-file-store.js';

/** An S3 file store for `bucket`, honouring the endpoint overrides in `env`. */
export function createS3FileStore(
  bucket: string,
  env: EndpointEnv,
  opts: S3FileStoreOptions = {},
): S3FileStore {
  return new S3FileStore(new S3Client(s3ClientConfig(env)), bucket, opts);
}
