/**
 * File catalog port: the metadata of DBC and firmware files (the bytes live in the {@link FileStore}).
 * DynamoDB on AWS, the embedded database locally. Every file belongs to one tenant.
 */

/** What a file is for. */
export const FILE_KINDS = ['dbc', 'firmware'] as const;
/** A file kind. */
export type FileKind = (typeof FILE_KINDS)[number];

/**
 * Upload state: `pending` until the bytes are uploaded and verified, `ready` once the checksum (and, for
 * DBC files, the DBC engine) accepted them, `invalid` when they were rejected (see `problem`).
 */
export type FileStatus = 'pending' | 'ready' | 'invalid';

/** One finding of the DBC lint run on upload. */
export interface LintFinding {
  severity: 'error' | 'warning' | 'info';
  code: string;
  message: string;
  line?: number;
}

/** A catalogued file. */
export interface FileRecord {
  tenant: string;
  fileId: string;
  kind: FileKind;
  name: string;
  version: string;
  /** Expected SHA-256 of the content, lowercase hex, as declared by the uploader. */
  sha256: string;
  /** Expected size in bytes. */
  size: number;
  contentType: string;
  /** Object key in the file store. */
  key: string;
  status: FileStatus;
  /** Why the file is `invalid` (checksum mismatch, DBC parse error…). */
  problem?: { code: string; message: string };
  /** DBC lint report (DBC files only). */
  lint?: { messages: number; signals: number; findings: LintFinding[] };
  /** Store version tag of the verified content. */
  etag?: string;
  createdAt: number;
  updatedAt: number;
}

/** The file catalog port. */
export interface FileCatalog {
  /** Create a record; fails if the id exists. */
  create(record: FileRecord): Promise<void>;
  /** Look a file up within a tenant; another tenant's file is `undefined`. */
  get(tenant: string, fileId: string): Promise<FileRecord | undefined>;
  /** A tenant's files, newest first, optionally of one kind. */
  list(
    tenant: string,
    opts: { kind?: FileKind; limit: number; cursor?: string },
  ): Promise<{ items: FileRecord[]; next?: string }>;
  /** Replace a record (same tenant and id). */
  put(record: FileRecord): Promise<void>;
}
