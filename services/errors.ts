// The small error taxonomy that decides retries. Machines read `retryable` through guards;
// nothing else inspects error messages.

/** A transient failure (rate limit, 5xx, timeout, dropped connection): worth an in-process retry. */
export class RetryableError extends Error {
  readonly retryable = true;
  /** Server-suggested wait (retry-after), when it gave one. */
  readonly retryAfterMs: number | null;
  constructor(message: string, options: { cause?: unknown; retryAfterMs?: number | null } = {}) {
    super(message, { cause: options.cause });
    this.name = 'RetryableError';
    this.retryAfterMs = options.retryAfterMs ?? null;
  }
}

/** The model answered, but not with a valid stage-1 object. Retrying may help (models vary). */
export class MalformedReplyError extends Error {
  readonly retryable = true;
  readonly retryAfterMs = null;
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = 'MalformedReplyError';
  }
}

/** The input or the request is wrong (empty rollout, 400/401/404): retrying now will not help. */
export class BadInputError extends Error {
  readonly retryable = false;
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = 'BadInputError';
  }
}

/** Another worker owns the job now; this worker must stop without writing. */
export class LeaseLostError extends Error {
  readonly retryable = false;
  constructor(message = 'lease lost to another worker') {
    super(message);
    this.name = 'LeaseLostError';
  }
}

/** The store file cannot be read; never reset it silently. */
export class StoreCorruptError extends Error {
  constructor(
    readonly file: string,
    cause: unknown,
  ) {
    super(
      `store file ${file} is not valid JSON (${cause instanceof Error ? cause.message : String(cause)}); ` +
        `move it aside (e.g. mv ${file} ${file}.bad) to start a fresh store, or restore it from a backup`,
      { cause },
    );
    this.name = 'StoreCorruptError';
  }
}

/** A usage or configuration mistake: the CLI prints it in one line and exits non-zero. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function isRetryable(error: unknown): boolean {
  return (error as { retryable?: unknown } | null)?.retryable === true;
}

export function retryAfterMs(error: unknown): number | null {
  const value = (error as { retryAfterMs?: unknown } | null)?.retryAfterMs;
  return typeof value === 'number' ? value : null;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
