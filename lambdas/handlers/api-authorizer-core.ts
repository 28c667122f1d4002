/** The authorizer's decision, apart from its cold-start wiring (lambdas/handlers/api-authorizer.ts). */
import { normalizeAuthHeaders } from '../api/auth.js';
import type { Authenticator } from '../ports/api-keys.js';

/** The part of the authorizer event this function reads. */
export interface AuthorizerEvent {
  headers?: Record<string, string | undefined>;
}

/** Simple authorizer response. */
export interface AuthorizerResult {
  isAuthorized: boolean;
  context?: { tenant: string; role: string; subject: string };
}

/** Decide one request; exported for tests. */
export async function authorize(auth: Authenticator, event: AuthorizerEvent): Promise<AuthorizerResult> {
  const principal = await auth.authenticate({ headers: normalizeAuthHeaders(event.headers ?? {}) });
  if (!principal) return { isAuthorized: false };
  return {
    isAuthorized: true,
    context: { tenant: principal.tenant, role: principal.role, subject: principal.subject },
  };
}
