// Lease and retry rules shared by stage-1 and global jobs (shared spec §5.3–§5.8); times in Unix seconds as in Codex.
import type { JobRow, SkipCounts, Stage1ClaimResult, TokenUsage } from '../types.ts';
import type { Tx } from './transaction.ts';

/** Codex's DEFAULT_RETRY_REMAINING: attempts per input snapshot. */
export const DEFAULT_RETRY_REMAINING = 3;

/** Which count of a claim batch's skips each refused claim adds to (both stores report them alike). */
export const SKIP_KEY_OF = {
  skippedUpToDate: 'upToDate',
  skippedRunning: 'running',
  skippedRetryBackoff: 'retryBackoff',
  skippedRetryExhausted: 'retryExhausted',
} as const satisfies Record<Exclude<Stage1ClaimResult['kind'], 'claimed'>, keyof SkipCounts>;

/** The fields a claim sets on a job row: running, leased to this worker. */
export function runningFields(workerId: string, token: string, now: number, leaseSeconds: number) {
  return {
    status: 'running' as const,
    workerId,
    ownershipToken: token,
    startedAt: now,
    finishedAt: null,
    leaseUntil: now + leaseSeconds,
    retryAt: null,
    lastError: null,
  };
}

/** A running row whose lease is in the future: some worker is on it right now. */
export function isLive(job: JobRow, now: number): boolean {
  return job.status === 'running' && job.leaseUntil !== null && job.leaseUntil > now;
}

/** The row when it is running under `token`, else null (ownership lost, finished, never claimed). */
export function owned(job: JobRow | null | undefined, token: string): JobRow | null {
  return job && job.status === 'running' && job.ownershipToken === token ? job : null;
}

/** Applies `fields` to an owned job; false when ownership was lost (`job` null). */
function update(tx: Tx, job: JobRow | null, fields: (job: JobRow) => Partial<JobRow>): boolean {
  if (!job) return false;
  Object.assign(job, fields(job));
  tx.jobsDirty = true;
  return true;
}

/** Extends an owned job's lease. */
export function heartbeat(tx: Tx, job: JobRow | null, leaseSeconds: number): boolean {
  return update(tx, job, () => ({ leaseUntil: tx.now + leaseSeconds }));
}

/** §5.4 / §5.8: the job is done and `watermark` is its new success watermark. */
export function finish(tx: Tx, job: JobRow, watermark: number | null, usage: TokenUsage | null, outcome?: JobRow['outcome']) {
  update(tx, job, () => ({
    status: 'done',
    finishedAt: tx.now,
    leaseUntil: null,
    lastError: null,
    lastSuccessWatermark: watermark,
    usage,
    ...(outcome && { outcome }),
  }));
}

/** §5.5 / §5.8: an owned running job failed; it is retried after the delay, one retry spent. */
export function fail(tx: Tx, job: JobRow | null, reason: string, retryDelaySeconds: number): boolean {
  return update(tx, job, (row) => ({
    status: 'error',
    finishedAt: tx.now,
    leaseUntil: null,
    retryAt: tx.now + Math.max(0, Math.ceil(retryDelaySeconds)),
    retryRemaining: row.retryRemaining - 1,
    lastError: reason,
  }));
}

/** Graceful shutdown: claimable at once, budget and watermark kept; the cleared token stops the old worker finalising. */
export function release(tx: Tx, job: JobRow | null): boolean {
  return update(tx, job, () => ({
    status: 'pending',
    ownershipToken: null,
    finishedAt: tx.now,
    leaseUntil: null,
    retryAt: null,
    lastError: 'released',
  }));
}
