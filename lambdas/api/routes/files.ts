/**
 * File routes: DBC and firmware files. Upload is declared first (`POST /v1/files` with kind, name, version,
 * sha256 and size) and either carries the content (small files, base64) or returns a presigned PUT URL;
 * `POST /v1/files/{id}/complete` then verifies size and SHA-256 of what was uploaded and, for DBC files,
 * runs the DBC engine and keeps its lint report with the file. Only `ready` files can be assigned or sent.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { FILE_PREFIXES } from '../../core/deployment-contract.js';
import { DEFAULT_LIMITS } from '../../core/limits.js';
import type { FileRecord } from '../../ports/file-catalog.js';
import { ApiError } from '../errors.js';
import { timeOrderedId } from '../ids.js';
import { decodeCursor, encodeCursor } from '../pagination.js';
import { type Route, route } from '../route.js';
import {
  CreateFileRequest,
  FileCreated,
  FileDownload,
  FileInfo,
  FileList,
  FileListParams,
  ResourceId,
} from '../schemas.js';
import { fileView, iso, loadFile, pageLimit, type RouteServices } from './context.js';

const IdParams = z.object({ id: ResourceId });

/** Size limits per kind, and of content sent inline. */
export const FILE_LIMITS = Object.freeze({
  /** The DBC engine's own limit (DEFAULT_LIMITS.maxDbcBytes). */
  dbc: DEFAULT_LIMITS.maxDbcBytes,
  firmware: 256 * 1024 * 1024,
  inline: 256 * 1024,
  uploadUrlSeconds: 900,
  downloadUrlSeconds: 900,
});

/** The object key of a file: `<kind prefix><tenant>/<fileId>` (lambdas/core/deployment-contract.ts). */
export function fileKey(kind: FileRecord['kind'], tenant: string, fileId: string): string {
  return `${FILE_PREFIXES[kind]}${tenant}/${fileId}`;
}

function decodeInline(b64: string, limit: number): Uint8Array {
  if (
    b64.length > Math.ceil((limit * 4) / 3) + 4 ||
    !/^[A-Za-z0-9+/]*={0,2}$/.test(b64) ||
    b64.length % 4 !== 0
  ) {
    throw new ApiError('VALIDATION_FAILED', 'contentBase64 must be canonical base64 of at most 256 KiB', {
      issues: [{ path: 'body.contentBase64', message: 'invalid base64 or too large' }],
    });
  }
  return new Uint8Array(Buffer.from(b64, 'base64'));
}

/** The file routes. */
export function fileRoutes(svc: RouteServices): Route[] {
  const { deps, clock } = svc;

  /** Check uploaded bytes against the declaration (and the DBC engine); returns the updated record. */
  function verify(f: FileRecord, bytes: Uint8Array, etag: string): { record: FileRecord; error?: ApiError } {
    const now = clock();
    const fail = (
      code: 'SIZE_MISMATCH' | 'CHECKSUM_MISMATCH' | 'DBC_INVALID',
      message: string,
      extra: Partial<FileRecord> = {},
    ) => {
      const record: FileRecord = {
        ...f,
        ...extra,
        status: 'invalid',
        problem: { code, message },
        updatedAt: now,
      };
      return { record, error: new ApiError(code, message, { fileId: f.fileId }) };
    };
    if (bytes.byteLength !== f.size)
      return fail('SIZE_MISMATCH', `uploaded ${bytes.byteLength} bytes, declared ${f.size}`);
    const sha = createHash('sha256').update(bytes).digest('hex');
    if (sha !== f.sha256)
      return fail('CHECKSUM_MISMATCH', 'the SHA-256 of the content differs from the declared one');
    let lint: FileRecord['lint'];
    if (f.kind === 'dbc' && deps.checkDbc) {
      const check = deps.checkDbc(bytes);
      lint = { messages: check.messages, signals: check.signals, findings: check.findings.slice(0, 200) };
      if (!check.ok) return fail('DBC_INVALID', 'the DBC file cannot be used; see lint', { lint });
    }
    const record: FileRecord = { ...f, status: 'ready', etag, updatedAt: now, ...(lint ? { lint } : {}) };
    delete record.problem;
    return { record };
  }

  return [
    route({
      method: 'POST',
      path: '/v1/files',
      operationId: 'createFile',
      summary: 'Declare a DBC or firmware file; small files inline, others through a presigned PUT URL',
      tag: 'files',
      write: true,
      body: CreateFileRequest,
      responses: {
        201: {
          description:
            'Catalogued (ready or invalid for inline content; pending with an upload URL otherwise)',
          schema: FileCreated,
        },
        413: { description: 'PAYLOAD_TOO_LARGE: over the size limit of the kind' },
        422: { description: 'SIZE_MISMATCH, CHECKSUM_MISMATCH or DBC_INVALID (inline content)' },
      },
      async handle({ principal, body }) {
        const limit = FILE_LIMITS[body.kind];
        if (body.size > limit)
          throw new ApiError('PAYLOAD_TOO_LARGE', `${body.kind} files are limited to ${limit} bytes`);
        const now = clock();
        const fileId = timeOrderedId('file', now);
        const contentType =
          body.contentType ?? (body.kind === 'dbc' ? 'text/plain' : 'application/octet-stream');
        const record: FileRecord = {
          tenant: principal.tenant,
          fileId,
          kind: body.kind,
          name: body.name,
          version: body.version,
          sha256: body.sha256.toLowerCase(),
          size: body.size,
          contentType,
          key: fileKey(body.kind, principal.tenant, fileId),
          status: 'pending',
          createdAt: now,
          updatedAt: now,
        };
        if (body.contentBase64 !== undefined) {
          const bytes = decodeInline(body.contentBase64, FILE_LIMITS.inline);
          // Verify before storing: rejected content never reaches the bucket.
          const probe = verify(record, bytes, '');
          if (probe.error) {
            await deps.catalog.create(probe.record);
            throw probe.error;
          }
          const { etag } = await deps.files.put(record.key, bytes, contentType);
          const ready = { ...probe.record, etag };
          await deps.catalog.create(ready);
          return { status: 201, body: { file: fileView(ready) } };
        }
        await deps.catalog.create(record);
        const url = await deps.files.presignPut(record.key, FILE_LIMITS.uploadUrlSeconds, contentType);
        return {
          status: 201,
          body: {
            file: fileView(record),
            upload: {
              url,
              method: 'PUT' as const,
              headers: { 'content-type': contentType },
              expiresAt: iso(now + FILE_LIMITS.uploadUrlSeconds * 1000),
            },
          },
        };
      },
    }),

    route({
      method: 'POST',
      path: '/v1/files/{id}/complete',
      operationId: 'completeFile',
      summary: 'Verify an uploaded file (size, SHA-256, DBC lint) and make it ready',
      tag: 'files',
      write: true,
      params: IdParams,
      responses: {
        200: { description: 'The file, ready', schema: FileInfo },
        422: { description: 'FILE_MISSING, SIZE_MISMATCH, CHECKSUM_MISMATCH or DBC_INVALID' },
      },
      async handle({ principal, params }) {
        const f = await loadFile(svc, principal.tenant, params.id);
        if (f.status === 'ready') return { status: 200, body: fileView(f) };
        const obj = await deps.files.get(f.key);
        if (!obj) throw new ApiError('FILE_MISSING', 'nothing was uploaded for this file yet');
        const { record, error } = verify(f, obj.bytes, obj.etag);
        await deps.catalog.put(record);
        if (error) {
          // Keep nothing we refused: the same id can be uploaded again and completed.
          await deps.files.delete(f.key).catch(() => undefined);
          throw error;
        }
        return { status: 200, body: fileView(record) };
      },
    }),

    route({
      method: 'GET',
      path: '/v1/files',
      operationId: 'listFiles',
      summary: 'List the tenant’s files, newest first',
      tag: 'files',
      write: false,
      query: FileListParams,
      responses: { 200: { description: 'A page of files', schema: FileList } },
      async handle({ principal, query }) {
        const scope = `files:${query.kind ?? ''}`;
        const page = await deps.catalog.list(principal.tenant, {
          ...(query.kind ? { kind: query.kind } : {}),
          limit: pageLimit(query.limit),
          cursor: decodeCursor(principal.tenant, scope, query.cursor),
        });
        const next = encodeCursor(principal.tenant, scope, page.next);
        const items = page.items.filter((f) => f.tenant === principal.tenant).map(fileView);
        return { status: 200, body: { items, ...(next ? { next } : {}) } };
      },
    }),

    route({
      method: 'GET',
      path: '/v1/files/{id}',
      operationId: 'getFile',
      summary: 'One file with its status and DBC lint report',
      tag: 'files',
      write: false,
      params: IdParams,
      responses: { 200: { description: 'The file', schema: FileInfo } },
      async handle({ principal, params }) {
        return { status: 200, body: fileView(await loadFile(svc, principal.tenant, params.id)) };
      },
    }),

    route({
      method: 'GET',
      path: '/v1/files/{id}/download',
      operationId: 'downloadFile',
      summary: 'A short-lived presigned HTTPS URL for the file content',
      tag: 'files',
      write: false,
      params: IdParams,
      responses: {
        200: { description: 'Presigned GET URL', schema: FileDownload },
        409: { description: 'FILE_NOT_READY' },
      },
      async handle({ principal, params }) {
        const f = await loadFile(svc, principal.tenant, params.id);
        if (f.status !== 'ready') throw new ApiError('FILE_NOT_READY', `the file is ${f.status}`);
        const url = await deps.files.presignGet(f.key, FILE_LIMITS.downloadUrlSeconds);
        return {
          status: 200,
          body: {
            url,
            expiresAt: iso(clock() + FILE_LIMITS.downloadUrlSeconds * 1000),
            sha256: f.sha256,
            size: f.size,
          },
        };
      },
    }),
  ];
}
