/**
 * File store port: DBC and firmware files. S3 on AWS (versioned, presigned HTTPS URLs), local disk with
 * expiring signed URLs in the local stack.
 */

/** A stored object. */
export interface StoredFile {
  bytes: Uint8Array;
  /** Version tag (S3 ETag or local content hash) used to cache compiled forms. */
  etag: string;
}

/** The file store port. */
export interface FileStore {
  /** Read an object; `undefined` when it does not exist. */
  get(key: string): Promise<StoredFile | undefined>;
  /** Version tag of an object without reading it; `undefined` when it does not exist. */
  head(key: string): Promise<{ etag: string; size: number } | undefined>;
  /** Write an object; returns its version tag. */
  put(key: string, bytes: Uint8Array, contentType?: string): Promise<{ etag: string }>;
  /** Delete an object. */
  delete(key: string): Promise<void>;
  /** A short-lived HTTPS GET URL for devices. */
  presignGet(key: string, expiresInSeconds: number): Promise<string>;
  /** A short-lived upload URL. */
  presignPut(key: string, expiresInSeconds: number, contentType?: string): Promise<string>;
}
