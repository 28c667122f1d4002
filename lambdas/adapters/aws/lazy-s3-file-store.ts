/**
 * A FileStore that loads the S3 client on first use. The ingest Lambda needs S3 only to fetch DBC files
 * (CAN devices, on a cache miss), yet the S3 client is the largest SDK client in its bundle: loading it
 * lazily keeps it out of the cold start of every other invocation. esbuild bundles the dynamic imports
 * into the same file but evaluates them only when first awaited.
 */
import type { FileStore, StoredFile } from '../../ports/file-store.js';
import type { EndpointEnv } from './endpoints.js';
import { lazyLoad } from './lazy.js';
import type { S3FileStoreOptions } from './s3-file-store.js';

/** {@link S3FileStore} behind a lazy import. */
export class LazyS3FileStore implements FileStore {
  private readonly store: () => Promise<FileStore>;

  constructor(bucket: string, env: EndpointEnv, opts: S3FileStoreOptions = {}) {
    this.store = lazyLoad(async () =>
      (await import('./s3-file-store-factory.js')).createS3FileStore(bucket, env, opts),
    );
  }

  async get(key: string): Promise<StoredFile | undefined> {
    return (await this.store()).get(key);
  }
  async head(key: string): Promise<{ etag: string; size: number } | undefined> {
    return (await this.store()).head(key);
  }
  async put(key: string, bytes: Uint8Array, contentType?: string): Promise<{ etag: string }> {
    return (await this.store()).put(key, bytes, contentType);
  }
  async delete(key: string): Promise<void> {
    return (await this.store()).delete(key);
  }
  async presignGet(key: string, expiresInSeconds: number): Promise<string> {
    return (await this.store()).presignGet(key, expiresInSeconds);
  }
  async presignPut(key: string, expiresInSeconds: number, contentType?: string): Promise<string> {
    return (await this.store()).presignPut(key, expiresInSeconds, contentType);
  }
}
