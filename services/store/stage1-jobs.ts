// Stage-1 jobs (shared spec §5.2–§5.5): one row per thread, leased, finished with or without output, retried with backoff.
import { randomUUID } from 'node:crypto';
import { BadInputError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { JobRow, SkipCounts, Stage1ClaimResult, Stage1Reply, ThreadInfo } from '../types.ts';
import { threadIdRefusal } from './thread-id.ts';
import { enqueueInTx } from './global-job.ts';
import {
  DEFAULT_RETRY_REMAINING,
  fail,
  finish,
  heartbeat,
  isLive,
  owned,
  release,
  runningFields,
  SKIP_KEY_OF,
} from './job-rows.ts';
import type { ClaimStage1Batch, MemoryStore } from './port.ts';
import type { Transact, Tx } from './transaction.ts';

/** The owned running stage-1 row, or null. */
export function ownedStage1(tx: Tx, threadId: string, token: string): JobRow | null {
  return owned(tx.jobs.stage1[threadId], token);
}

type Running = { count: number; max: number };

/** The running cap; its count: live stage-1 jobs, except those a batch holds (leased for its day, no worker busy). */
function runningCap({ jobs, now }: Tx, max: number): Running {
  const inBatch = new Set<string>();
  for (const record of Object.values(jobs.batches ?? {})) {
    for (const ref of record.jobs) inBatch.add(`${ref.thread.threadId}\u0000${ref.ownershipToken}`);
  }
  let count = 0;
  for (const job of Object.values(jobs.stage1)) {
    if (isLive(job, now) && !inBatch.has(`${job.jobKey}\u0000${job.ownershipToken}`)) count += 1;
  }
  return { count, max };
}

/** §5.3 on an open transaction. `running.count` is the live running stage-1 count, kept up to date. */
function claimInTx(tx: Tx, thread: ThreadInfo, workerId: string, leaseSeconds: number, running: Running): Stage1ClaimResult {
  const { now } = tx;
  const given = thread.updatedAt;
  const output = tx.outputs.outputs[thread.threadId];
  if (output && output.sourceUpdatedAt >= given) return { kind: 'skippedUpToDate' };
  const job = tx.jobs.stage1[thread.threadId];
  // Self-healing: a job whose output went missing (bad row skipped, file moved aside) is extracted again.
  const outputLost = job?.outcome === 'output' && !output;
  if (job && !outputLost && job.lastSuccessWatermark !== null && job.lastSuccessWatermark >= given) {
    return { kind: 'skippedUpToDate' };
  }
  const token = randomUUID();
  const claimed = { ...runningFields(workerId, token, now, leaseSeconds), inputWatermark: given };
  if (!job) {
    // Insert only under the running cap; a refused insert with no row reads as "running".
    if (running.count >= running.max) return { kind: 'skippedRunning' };
    tx.jobs.stage1[thread.threadId] = {
      kind: 'memory_stage1',
      jobKey: thread.threadId,
      ...claimed,
      retryRemaining: DEFAULT_RETRY_REMAINING,
      lastSuccessWatermark: null,
      usage: null,
    };
    tx.jobsDirty = true;
    running.count += 1;
    return { kind: 'claimed', ownershipToken: token };
  }
  const advanced = given > (job.inputWatermark ?? -1);
  // The row itself is not live when the update may happen, so "others" = all live rows.
  const canUpdate =
    !isLive(job, now) &&
    (job.retryAt === null || job.retryAt <= now || advanced) &&
    (job.retryRemaining > 0 || advanced) &&
    running.count < running.max;
  if (canUpdate) {
    Object.assign(job, claimed, { retryRemaining: advanced ? DEFAULT_RETRY_REMAINING : job.retryRemaining });
    tx.jobsDirty = true;
    running.count += 1;
    return { kind: 'claimed', ownershipToken: token };
  }
  // Codex's classification order (§5.3 step 5), quirks included.
  if (job.retryRemaining <= 0) return { kind: 'skippedRetryExhausted' };
  if (job.retryAt !== null && job.retryAt > now) return { kind: 'skippedRetryBackoff' };
  return { kind: 'skippedRunning' };
}

export function stage1Methods(transact: Transact, log?: Logger) {
  return {
    async claimStage1Jobs(params): Promise<ClaimStage1Batch> {
      const skipped: SkipCounts = { upToDate: 0, running: 0, retryBackoff: 0, retryExhausted: 0 };
      if (params.maxClaimed <= 0 || params.candidates.length === 0) return { claims: [], skipped };
      const candidates = params.candidates.filter((thread) => {
        const why = threadIdRefusal(thread.threadId);
        if (why) log?.warn({ thread: thread.threadId, rollout: thread.rolloutPath }, `store: not claimed: ${why}`);
        return !why;
      });
      // One transaction for the whole pass (one read, at most one write), not one per try_claim.
      return transact(true, (tx) => {
        const running = runningCap(tx, params.maxClaimed);
        const claims: ClaimStage1Batch['claims'] = [];
        for (const thread of candidates) {
          if (claims.length >= params.maxClaimed) break;
          const result = claimInTx(tx, thread, params.workerId, params.leaseSeconds, running);
          if (result.kind === 'claimed') claims.push({ thread, ownershipToken: result.ownershipToken });
          else skipped[SKIP_KEY_OF[result.kind]] += 1;
        }
        return { claims, skipped };
      });
    },

    async tryClaimStage1Job(thread, workerId, leaseSeconds, maxRunning) {
      const why = threadIdRefusal(thread.threadId);
      if (why) throw new BadInputError(`thread id ${JSON.stringify(thread.threadId.slice(0, 40))} refused: ${why}`);
      return transact(true, (tx) => claimInTx(tx, thread, workerId, leaseSeconds, runningCap(tx, maxRunning)));
    },

    async heartbeatStage1Job(threadId, token, leaseSeconds) {
      return transact(false, (tx) => heartbeat(tx, ownedStage1(tx, threadId, token), leaseSeconds));
    },

    async markStage1Succeeded(thread, token, reply, usage) {
      return transact(true, (tx) => {
        const job = ownedStage1(tx, thread.threadId, token);
        if (!job) return false; // a stolen lease: the new owner will write its own result
        finish(tx, job, job.inputWatermark, usage, 'output');
        upsertOutput(tx, thread, reply);
        enqueueInTx(tx, thread.updatedAt);
        return true;
      });
    },

    async markStage1SucceededNoOutput(threadId, token, usage) {
      return transact(true, (tx) => {
        const job = ownedStage1(tx, threadId, token);
        if (!job) return false;
        // The watermark still advances, so the thread is not re-extracted until it changes.
        finish(tx, job, job.inputWatermark, usage, 'noOutput');
        if (tx.outputs.outputs[threadId]) {
          delete tx.outputs.outputs[threadId];
          tx.outputsDirty = true;
          // Only a deleted memory changes what phase 2 should see.
          enqueueInTx(tx, job.inputWatermark ?? 0);
        }
        return true;
      });
    },

    async markStage1Failed(threadId, token, reason, retryDelaySeconds) {
      return transact(false, (tx) => fail(tx, ownedStage1(tx, threadId, token), reason, retryDelaySeconds));
    },

    async releaseStage1Job(threadId, token) {
      return transact(false, (tx) => release(tx, ownedStage1(tx, threadId, token)));
    },

    async retryFailedStage1Jobs() {
      return transact(false, retryFailedInTx);
    },
  } satisfies Partial<MemoryStore>;
}

/** Writes the thread's output, unless the stored one comes from a newer snapshot (§5.4). */
function upsertOutput(tx: Tx, thread: ThreadInfo, reply: Stage1Reply): void {
  const existing = tx.outputs.outputs[thread.threadId];
  if (!existing || thread.updatedAt >= existing.sourceUpdatedAt) {
    tx.outputs.outputs[thread.threadId] = {
      threadId: thread.threadId,
      sourceUpdatedAt: thread.updatedAt,
      rawMemory: reply.rawMemory,
      rolloutSummary: reply.rolloutSummary,
      rolloutSlug: reply.rolloutSlug,
      cwd: thread.cwd,
      rolloutPath: thread.rolloutPath,
      // Kept for the summary header; older rows without it simply have no git_branch line.
      ...(thread.gitBranch ? { gitBranch: thread.gitBranch } : {}),
      generatedAt: tx.now,
      usageCount: existing?.usageCount ?? 0,
      lastUsage: existing?.lastUsage ?? null,
      ...(existing?.citedBy ? { citedBy: existing.citedBy } : {}),
    };
    tx.outputsDirty = true;
  }
}

function retryFailedInTx(tx: Tx): number {
  let changed = 0;
  for (const job of Object.values(tx.jobs.stage1)) {
    const failed = job.status === 'error' || (job.status === 'pending' && job.retryAt !== null);
    if (!failed || (job.retryAt === null && job.retryRemaining > 0)) continue;
    job.retryAt = null;
    if (job.retryRemaining <= 0) job.retryRemaining = DEFAULT_RETRY_REMAINING;
    changed += 1;
  }
  if (changed > 0) tx.jobsDirty = true;
  return changed;
}
