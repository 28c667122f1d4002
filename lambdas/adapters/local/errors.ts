/**
 * Errors of the local stores, with the same stable codes as the AWS adapters (see
 * lambdas/adapters/aws/dynamodb-device-registry.ts), so callers handle both alike.
 */

/** `create` found the id already taken. */
export class AlreadyExistsError extends Error {
  /** Stable code: `DEVICE_EXISTS`, `COMMAND_EXISTS`, `FILE_EXISTS`, `API_KEY_EXISTS`. */
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'AlreadyExistsError';
    this.code = code;
  }
}

/** `put` named a record that does not exist in the tenant. */
export class NotFoundError extends Error {
  /** Stable code: `DEVICE_NOT_FOUND`, `FILE_NOT_FOUND`. */
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'NotFoundError';
    this.code = code;
  }
}

/** True for SQLite's constraint violation on a primary or unique key. */
export function isUniqueViolation(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}
