/**
 * API errors: every failure the API answers with is an {@link ApiError} carrying a stable code, mapped to
 * one HTTP status. The JSON shape is `{"error": {"code", "message", "details"?}}` (docs/api.md).
 */

/** Stable API error codes and their HTTP status. Add codes at the end; never rename one. */
export const API_ERRORS = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  VALIDATION_FAILED: 400,
  INVALID_JSON: 400,
  INVALID_CURSOR: 400,
  UNSUPPORTED_MEDIA_TYPE: 415,
  PAYLOAD_TOO_LARGE: 413,
  CONFLICT: 409,
  DEVICE_ID_TAKEN: 409,
  DEVICE_NOT_ACTIVE: 409,
  FILE_NOT_READY: 409,
  FILE_KIND_MISMATCH: 422,
  CONTROL_VALUE_INVALID: 422,
  CONFIG_INVALID: 422,
  CHECKSUM_MISMATCH: 422,
  SIZE_MISMATCH: 422,
  FILE_MISSING: 422,
  DBC_INVALID: 422,
  CSR_INVALID: 422,
  INTERNAL: 500,
  UPSTREAM_FAILED: 502,
} as const;

/** A stable API error code. */
export type ApiErrorCode = keyof typeof API_ERRORS;

/** An error the API answers with. `message` is safe to show; `details` is structured and secret-free. */
export class ApiError extends Error {
  readonly code: ApiErrorCode;
  readonly status: number;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: ApiErrorCode,
    message: string,
    details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ApiError';
    this.code = code;
    this.status = API_ERRORS[code];
    this.details = details;
  }

  /** The response body. */
  toBody(): { error: { code: ApiErrorCode; message: string; details?: Record<string, unknown> } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.details ? { details: { ...this.details } } : {}),
      },
    };
  }
}

/** The one answer for anything the caller may not see: missing, deleted or another tenant's. */
export function notFound(what: string): ApiError {
  return new ApiError('NOT_FOUND', `${what} not found`);
}
