// The small error taxonomy that decides retries. The machines read a failure only through
// `describeFailure`; nothing inspects error messages.
import { redactSecrets } from './redaction/redact.ts';

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
    const recovery = file.endsWith('outputs.json')
      ? 'nothing is lost: every memory it held is extracted again on the next run'
      : 'no memory is lost (outputs.json keeps them); threads without a memory are extracted again';
    super(
      `store file ${file} is not ${cause instanceof SyntaxError ? 'valid JSON' : 'a store document'} (${cause instanceof Error ? cause.message : String(cause)}); ` +
        `move it aside (mv ${file} ${file}.bad): ${recovery}`,
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

/** A store that cannot be used (a database down or refusing us): a failure at run time, one line and exit 1. */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

/** What the machines' retry policy needs to know about a failure. */
export interface Failure {
  message: string;
  retryable: boolean;
  /** Another worker owns the job: stop without writing or retrying. */
  leaseLost: boolean;
  retryAfterMs: number | null;
}

export function describeFailure(error: unknown): Failure {
  return {
    // Failure texts travel to stderr, --json, events and the store: an error body may quote a secret.
    message: redactSecrets(errorMessage(error)),
    retryable: (error as { retryable?: unknown } | null)?.retryable === true,
    leaseLost: error instanceof LeaseLostError,
    retryAfterMs: error instanceof RetryableError ? error.retryAfterMs : null,
  };
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Why a fetch failed: undici's own message is only "fetch failed", the reason (ECONNREFUSED, bad port) is its cause. */
export function fetchFailureReason(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string' && cause.message !== '') return cause.message;
  return errorMessage(error);
}
