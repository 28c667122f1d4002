/**
 * Retry with exponential backoff and full jitter for the AWS adapters that own their retries (the
 * Timestream writer: it must retry individual rejected records, which the SDK cannot do). Full jitter
 * (`random(0, min(cap, base·2^n))`) spreads a fleet of Lambdas that were throttled together.
 */

/** How often and how long to retry. */
export interface RetryPolicy {
  /** Total attempts including the first. @default 5 */
  readonly maxAttempts: number;
  /** Backoff base in ms. @default 50 */
  readonly baseDelayMs: number;
  /** Upper bound of one backoff delay in ms. @default 2000 */
  readonly maxDelayMs: number;
}

/** The default policy: 5 attempts, at most ~3.8 s of waiting in total — well inside a Lambda timeout. */
export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 5,
  baseDelayMs: 50,
  maxDelayMs: 2000,
});

/** Waits `ms` milliseconds; injectable so tests run without real delays. */
export type Sleep = (ms: number) => Promise<void>;

/** The real sleep. */
export const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Delay before retry number `retry` (0-based): full jitter over an exponentially growing window. */
export function backoffDelay(retry: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const window = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  return Math.floor(random() * window);
}

/** Error names AWS services use for throttling and transient server faults. */
const RETRYABLE_NAMES = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'SlowDown',
  'InternalServerException',
  'InternalServerError',
  'InternalFailure',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);

/** Node network error codes worth a retry. */
const RETRYABLE_NET_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN']);

/**
 * True when an SDK error is transient: throttling, a 5xx, a timeout or a dropped connection. Client
 * errors (validation, access denied, missing resources) are not: retrying cannot fix them.
 */
export function isRetryableAwsError(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const err = e as {
    name?: unknown;
    code?: unknown;
    $retryable?: unknown;
    $metadata?: { httpStatusCode?: unknown };
  };
  if (typeof err.name === 'string' && RETRYABLE_NAMES.has(err.name)) return true;
  if (typeof err.code === 'string' && RETRYABLE_NET_CODES.has(err.code)) return true;
  if (typeof err.$retryable === 'object' && err.$retryable !== null) return true;
  const status = err.$metadata?.httpStatusCode;
  return typeof status === 'number' && (status >= 500 || status === 429);
}
