/**
 * Fresh download URLs for firmware updates. A `FIRMWARE_UPDATE` command may wait in QUEUED while its
 * device is offline for longer than a presigned URL lives (≤ 1 hour), so the URL is signed again, for
 * the command's remaining time (at most one hour), each time the command is actually sent.
 */
import type { CommandRecord } from '../ports/commands.js';
import type { FileCatalog } from '../ports/file-catalog.js';
import type { FileStore } from '../ports/file-store.js';

/** Longest life of a firmware download URL. */
export const MAX_FIRMWARE_URL_SECONDS = 3600;

/** A `preparePayload` hook for the command service that re-signs firmware URLs at send time. */
export function firmwareUrlRefresher(
  catalog: FileCatalog,
  files: FileStore,
  clock: () => number = Date.now,
): (cmd: CommandRecord) => Promise<Record<string, unknown>> {
  return async (cmd) => {
    if (cmd.action !== 'FIRMWARE_UPDATE') return cmd.payload;
    const fileId = cmd.payload.file_id;
    if (typeof fileId !== 'string') return cmd.payload;
    const file = await catalog.get(cmd.tenant, fileId);
    if (file?.status !== 'ready') return cmd.payload;
    const now = clock();
    const seconds = Math.max(
      60,
      Math.min(MAX_FIRMWARE_URL_SECONDS, Math.floor((cmd.expiresAt - now) / 1000)),
    );
    const url = await files.presignGet(file.key, seconds);
    return { ...cmd.payload, url, url_expires_at: new Date(now + seconds * 1000).toISOString() };
  };
}
