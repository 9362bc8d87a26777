// Retry policy as data (Temporal style): in-process retries for transient failures, then a durable
// retry_at in the store (Codex's 3,600 s) that a later run honours. Timers are never the durable truth.

export interface RetryPolicy {
  initialDelayMs: number;
  backoffCoefficient: number;
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

export interface RetryingContext {
  policy: RetryPolicy;
  error: string | null;
}

/** The `backoff` and `recordingFailure` states of a retrying machine; `gaveUp` follows either way. */
export function retryStates<C extends RetryingContext, Claim>(
  nextAttempt: string,
  claimOf: (context: C) => Claim,
  reason: string,
) {
  return {
    backoff: {
      description: 'Waits the policy delay (or the server retry-after) before the next attempt.',
      after: { retryDelay: nextAttempt },
    },
    recordingFailure: {
      description: 'Stores the failure with a durable retry time for a later run.',
      invoke: {
        id: 'recordFailure',
        src: 'recordFailure',
        input: ({ context }: { context: C }) => ({
          claim: claimOf(context),
          reason: context.error ?? reason,
          retryDelaySeconds: context.policy.durableRetryDelaySeconds,
        }),
        onDone: { target: 'gaveUp' },
        onError: { target: 'gaveUp' },
      },
    },
  } as const;
}
