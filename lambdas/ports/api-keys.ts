/**
 * API credentials: who is calling the HTTPS API, for which tenant, with which role. API keys (machines,
 * the local stack) are random secrets stored only as a hash; people on AWS use Cognito JWTs. Both end up
 * as the same {@link Principal}, produced by an {@link Authenticator}.
 */

/** API roles: operators may do everything, viewers may only read. */
export const API_ROLES = ['operator', 'viewer'] as const;
/** An API role. */
export type ApiRole = (typeof API_ROLES)[number];

/** An authenticated caller. */
export interface Principal {
  tenant: string;
  role: ApiRole;
  /** Stable caller id for audit (`key:<keyId>` or `user:<sub>`); never a secret. */
  subject: string;
}

/** What an authenticator sees of a request. */
export interface AuthRequest {
  /** Lower-cased header names. */
  headers: Readonly<Record<string, string | undefined>>;
  /**
   * Claims or context already verified upstream (API Gateway JWT or Lambda authorizer). Only trusted
   * when the deployment guarantees that the function is reachable through the authorizer alone.
   */
  authorizer?: Readonly<Record<string, unknown>>;
}

/** Turns request credentials into a principal; `undefined` when they are missing or invalid. */
export interface Authenticator {
  authenticate(req: AuthRequest): Promise<Principal | undefined>;
}

/** A stored API key (the secret itself is never stored). */
export interface ApiKeyRecord {
  tenant: string;
  keyId: string;
  /** `sha256:<hex>` of the full key (see lambdas/core/token.ts). */
  keyHash: string;
  role: ApiRole;
  name?: string;
  createdAt: number;
  /** Expiry, epoch ms; never expires when absent. */
  expiresAt?: number;
  /** Set when revoked; a revoked key never authenticates again. */
  revokedAt?: number;
}

/** API key persistence. */
export interface ApiKeyStore {
  create(record: ApiKeyRecord): Promise<void>;
  /** Look a key up by its id, any tenant (the id is embedded in the presented key). */
  getById(keyId: string): Promise<ApiKeyRecord | undefined>;
  list(
    tenant: string,
    opts: { limit: number; cursor?: string },
  ): Promise<{ items: ApiKeyRecord[]; next?: string }>;
  /** Mark a key revoked within a tenant; false when it does not exist there. */
  revoke(tenant: string, keyId: string, at: number): Promise<boolean>;
}
