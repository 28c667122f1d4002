/**
 * FileStore on S3: DBC and firmware objects, ETag as the version tag (quotes removed), presigned HTTPS
 * URLs for devices and uploaders (@aws-sdk/s3-request-presigner).
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { FileStore, StoredFile } from '../../ports/file-store.js';

/** Presigned URLs live at most 7 days (SigV4). */
export const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;

function isNotFound(e: unknown, forbiddenIsMissing: boolean): boolean {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  if (err.name === 'NoSuchKey' || err.name === 'NotFound' || err.$metadata?.httpStatusCode === 404)
    return true;
  return forbiddenIsMissing && err.$metadata?.httpStatusCode === 403;
}

const cleanEtag = (etag: string | undefined): string => (etag ?? '').replace(/^W\//, '').replaceAll('"', '');

function checkExpiry(seconds: number): number {
  if (!Number.isInteger(seconds) || seconds < 1 || seconds > MAX_PRESIGN_SECONDS) {
    throw new RangeError(`presigned URL lifetime must be 1–${MAX_PRESIGN_SECONDS} seconds`);
  }
  return seconds;
}

/** Options of {@link S3FileStore}. */
export interface S3FileStoreOptions {
  /**
   * Treat 403 on GET/HEAD as "does not exist". Set it for roles without `s3:ListBucket` (the ingest
   * Lambda), for which S3 answers a missing key with 403 instead of 404. @default false
   */
  readonly forbiddenIsMissing?: boolean;
}

/** The S3 file store. */
export class S3FileStore implements FileStore {
  private readonly forbiddenIsMissing: boolean;

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    opts: S3FileStoreOptions = {},
  ) {
    this.forbiddenIsMissing = opts.forbiddenIsMissing ?? false;
  }

  /** Read an object; `undefined` when it does not exist. */
  async get(key: string): Promise<StoredFile | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      const bytes = out.Body ? await out.Body.transformToByteArray() : new Uint8Array();
      return { bytes, etag: cleanEtag(out.ETag) };
    } catch (e) {
      if (isNotFound(e, this.forbiddenIsMissing)) return undefined;
      throw e;
    }
  }

  /** ETag and size without reading the body; `undefined` when the object does not exist. */
  async head(key: string): Promise<{ etag: string; size: number } | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { etag: cleanEtag(out.ETag), size: out.ContentLength ?? 0 };
    } catch (e) {
      if (isNotFound(e, this.forbiddenIsMissing)) return undefined;
      throw e;
    }
  }

  /** Write an object (SHA-256 checksummed in transit); returns its ETag. */
  async put(key: string, bytes: Uint8Array, contentType?: string): Promise<{ etag: string }> {
    const out = await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: bytes,
        ContentType: contentType ?? 'application/octet-stream',
        ChecksumAlgorithm: 'SHA256',
      }),
    );
    return { etag: cleanEtag(out.ETag) };
  }

  /** Delete an object (no error when it is already gone). */
  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  /** A short-lived HTTPS GET URL. */
  async presignGet(key: string, expiresInSeconds: number): Promise<string> {
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: key }), {
      expiresIn: checkExpiry(expiresInSeconds),
    });
  }

  /** A short-lived PUT URL; the uploader must send the same Content-Type. */
  async presignPut(key: string, expiresInSeconds: number, contentType?: string): Promise<string> {
    return getSignedUrl(
      this.client,
      new PutObjectCommand({ Bucket: this.bucket, Key: key, ContentType: contentType }),
      { expiresIn: checkExpiry(expiresInSeconds) },
    );
  }
}
