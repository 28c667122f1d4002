/**
 * Local-only operator routes under `/local/`, for what AWS does with its own consoles and `fleetwire
 * replay`: the dead-letter store (list, replay through the ingest service, discard) and the stack's
 * counters. Only an operator key of the local tenant may call them.
 *
 * - `GET  /local/dead-letters?status=pending|replayed|discarded&limit=&cursor=`
 * - `POST /local/dead-letters/{id}/replay`
 * - `POST /local/dead-letters/{id}/discard`
 * - `GET  /local/stats`
 */
import type { DeadLetterStatus, SqliteDeadLetterStore } from '../../adapters/local/dead-letters.js';
import { isFleetwireError } from '../../core/errors.js';
import type { Authenticator } from '../../ports/api-keys.js';
import type { IngestOutcome } from '../../services/ingest-service.js';

/** A request to the admin routes. */
export interface AdminRequest {
  method: string;
  path: string;
  query: Readonly<Record<string, string | undefined>>;
  headers: Readonly<Record<string, string | undefined>>;
}

/** What the admin routes need. */
export interface AdminDeps {
  authenticator: Authenticator;
  tenant: string;
  deadLetters: SqliteDeadLetterStore;
  replay: (id: number) => Promise<{ outcome: IngestOutcome } | undefined>;
  stats: () => Record<string, unknown>;
}

type Result = { status: number; body: unknown };

const STATUSES: readonly DeadLetterStatus[] = ['pending', 'replayed', 'discarded'];

function error(status: number, code: string, message: string): Result {
  return { status, body: { error: { code, message } } };
}

/** Handle a `/local/…` request. */
export async function handleAdmin(deps: AdminDeps, req: AdminRequest): Promise<Result> {
  const principal = await deps.authenticator.authenticate({ headers: req.headers });
  if (!principal) return error(401, 'UNAUTHENTICATED', 'a bearer API key is required');
  if (principal.tenant !== deps.tenant || principal.role !== 'operator') {
    return error(403, 'FORBIDDEN', 'local administration needs an operator key of the local tenant');
  }
  if (req.path === '/local/stats' && req.method === 'GET') return { status: 200, body: deps.stats() };
  if (req.path === '/local/dead-letters' && req.method === 'GET') {
    const status = req.query.status;
    if (status !== undefined && !STATUSES.includes(status as DeadLetterStatus)) {
      return error(400, 'VALIDATION_FAILED', `status must be one of ${STATUSES.join(', ')}`);
    }
    const limit = Number(req.query.limit ?? 50);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
      return error(400, 'VALIDATION_FAILED', 'limit must be an integer from 1 to 500');
    }
    try {
      const page = deps.deadLetters.list({
        limit,
        ...(status ? { status: status as DeadLetterStatus } : {}),
        ...(req.query.cursor ? { cursor: req.query.cursor } : {}),
      });
      return { status: 200, body: page };
    } catch (e) {
      if (isFleetwireError(e)) return error(400, e.code, e.message);
      throw e;
    }
  }
  const m = /^\/local\/dead-letters\/(\d{1,15})\/(replay|discard)$/.exec(req.path);
  if (m && req.method === 'POST') {
    const id = Number(m[1]);
    if (!deps.deadLetters.get(id)) return error(404, 'NOT_FOUND', 'dead letter not found');
    if (m[2] === 'discard') {
      deps.deadLetters.discard(id);
      return { status: 200, body: deps.deadLetters.get(id) };
    }
    const result = await deps.replay(id);
    return { status: 200, body: { deadLetter: deps.deadLetters.get(id), outcome: result?.outcome } };
  }
  return error(404, 'NOT_FOUND', 'no such route');
}
