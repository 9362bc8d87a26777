// The global consolidation job (shared spec §5.6, §5.8): one row, dirty while its input watermark
// is above its last success.
import { randomUUID } from 'node:crypto';
import type { GlobalClaimResult } from '../types.ts';
import { DEFAULT_RETRY_REMAINING, fail, finish, heartbeat, isLive, owned, release, runningFields } from './job-rows.ts';
import type { MemoryStore } from './port.ts';
import type { Transact, Tx } from './transaction.ts';

/** §5.6 enqueue: every call strictly raises the dirty watermark, even for back-filled inputs. */
export function enqueueInTx(tx: Tx, watermark: number): void {
  const job = tx.jobs.global;
  tx.jobsDirty = true;
  if (!job) {
    tx.jobs.global = {
      kind: 'memory_consolidate_global',
      jobKey: 'global',
      status: 'pending',
      workerId: null,
      ownershipToken: null,
      startedAt: null,
      finishedAt: null,
      leaseUntil: null,
      retryAt: null,
      retryRemaining: DEFAULT_RETRY_REMAINING,
      lastError: null,
      inputWatermark: watermark,
      lastSuccessWatermark: 0,
      usage: null,
    };
    return;
  }
  const existing = job.inputWatermark ?? 0;
  if (job.status !== 'running') Object.assign(job, { status: 'pending', retryAt: null });
  job.retryRemaining = Math.max(job.retryRemaining, DEFAULT_RETRY_REMAINING);
  job.inputWatermark = watermark > existing ? watermark : existing + 1;
}

export function globalJobMethods(transact: Transact) {
  const ownedGlobal = (tx: Tx, token: string) => owned(tx.jobs.global, token);
  return {
    async enqueueGlobalConsolidation(watermark) {
      await transact(false, (tx) => enqueueInTx(tx, watermark));
    },

    async claimGlobalJob(workerId, leaseSeconds): Promise<GlobalClaimResult> {
      return transact(false, (tx) => {
        const job = tx.jobs.global;
        const { now } = tx;
        const clean = !job || (job.inputWatermark ?? 0) <= (job.lastSuccessWatermark ?? 0);
        // A job in retry backoff or out of budget looks "not dirty" (§5.6 step 3).
        if (clean || job.retryRemaining <= 0 || (job.retryAt !== null && job.retryAt > now)) return { kind: 'skippedNotDirty' };
        if (isLive(job, now)) return { kind: 'skippedRunning' };
        const token = randomUUID();
        Object.assign(job, runningFields(workerId, token, now, leaseSeconds));
        tx.jobsDirty = true;
        return { kind: 'claimed', ownershipToken: token, inputWatermark: job.inputWatermark ?? 0 };
      });
    },

    async releaseGlobalJob(token) {
      return transact(false, (tx) => release(tx, ownedGlobal(tx, token)));
    },

    async heartbeatGlobalJob(token, leaseSeconds) {
      return transact(false, (tx) => heartbeat(tx, ownedGlobal(tx, token), leaseSeconds));
    },

    async markGlobalSucceeded(token, watermark, selection, usage) {
      return transact(false, (tx) => {
        const job = ownedGlobal(tx, token);
        if (!job) return false;
        // retry_remaining is not touched (§5.8); enqueue restores it.
        finish(tx, job, Math.max(job.lastSuccessWatermark ?? 0, watermark), usage);
        // Exactly the consumed snapshots become "selected" (§4.6).
        tx.jobs.lastSelection = selection.map(({ threadId, sourceUpdatedAt }) => ({ threadId, sourceUpdatedAt }));
        return true;
      });
    },

    async markGlobalFailed(token, reason, retryDelaySeconds) {
      return transact(false, (tx) => fail(tx, ownedGlobal(tx, token), reason, retryDelaySeconds));
    },
  } satisfies Partial<MemoryStore>;
}
