// Retry policy as data (Temporal style): in-process retries for transient failures, then a durable
// retry_at in the store (Codex's 3,600 s) that a later run honours. Timers are never the durable truth.

export interface RetryPolicy {
  /** First in-process wait after a transient failure. */
  initialDelayMs: number;
  /** Each further wait is multiplied by this. */
  backoffCoefficient: number;
  /** Upper bound of one in-process wait. */
  maxDelayMs: number;
  /** Attempts in this process, the first included, before the failure is recorded in the store. */
  maxAttempts: number;
  /** The store's retry delay after a recorded failure (Codex: JOB_RETRY_DELAY_SECONDS). */
  durableRetryDelaySeconds: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  initialDelayMs: 2_000,
  backoffCoefficient: 2,
  maxDelayMs: 60_000,
  maxAttempts: 3,
  durableRetryDelaySeconds: 3_600,
};

/** The wait before attempt `attempt + 1`; a server's retry-after wins when it is longer. */
export function backoffDelayMs(policy: RetryPolicy, attempt: number, serverRetryAfterMs: number | null): number {
  const exponential = policy.initialDelayMs * policy.backoffCoefficient ** Math.max(0, attempt - 1);
  const planned = Math.min(policy.maxDelayMs, exponential);
  return Math.max(planned, Math.min(policy.maxDelayMs, serverRetryAfterMs ?? 0));
}
