// MemoryStore on two lowdb JSON files, safe across processes (shared spec §5, §4.6).
//
//   jobs.json    — stage-1 job rows, the global consolidation job, the last successful phase-2
//                  selection. Small: every claim rewrites it.
//   outputs.json — stage-1 outputs keyed by thread id. Large (memory bodies): only methods that
//                  change outputs rewrite it.
//
// Every method is one transaction: lock → read fresh → mutate → write → unlock. The one lock is
// jobs.json's: every method that reads or writes outputs.json holds it, so it serialises all of
// them. ("Read fresh" costs one stat when the file is still the one this process last saw: see
// atomic-json-file.ts.)
//
// Two files cannot be written atomically together. When both change, outputs.json is written
// first: a crash in between leaves a stored output with its job still `running`; the lease then
// expires and the next claim sees the output and counts the thread up to date (nothing lost).
// The other order could mark a job done whose output was never stored.
//
// Times in the store are Unix seconds (Codex's columns); `now()` is in milliseconds.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Low } from 'lowdb';
import { AtomicJsonFile, auditKept, forgetKept } from './atomic-json-file.ts';
import { StoreCorruptError } from '../errors.ts';
import { withFileLock } from './file-lock.ts';
import type {
  BatchRecord,
  BatchStore,
  ClaimStage1Batch,
  ClaimStage1Params,
  MemoryStore,
  PendingBatch,
  Phase2Selection,
  RecordBatchResult,
  SelectionEntry,
  StoreStatus,
} from './port.ts';
import type {
  GlobalClaimResult,
  JobRow,
  SkipCounts,
  Stage1ClaimResult,
  Stage1Output,
  Stage1Reply,
  ThreadInfo,
  TokenUsage,
} from '../types.ts';

export interface LowdbStoreOptions {
  /** Directory of the two files, e.g. `$CODEX_HOME/memories_state`. Created 0700 on first write. */
  dir: string;
  /** Wall clock in milliseconds (tests pass a fake one). */
  now?: () => number;
}

/** Codex's DEFAULT_RETRY_REMAINING: attempts per input snapshot. */
const DEFAULT_RETRY_REMAINING = 3;
const GLOBAL_JOB_KEY = 'global';
const DAY_SECONDS = 86_400;

interface JobsDoc {
  version: 1;
  /** Stage-1 jobs keyed by thread id (job_key). */
  stage1: Record<string, JobRow>;
  global: JobRow | null;
  /** What the last successful phase 2 consumed (Codex's selected_for_phase2 flags + snapshots). */
  lastSelection: SelectionEntry[];
  /**
   * Batch mode: submitted phase-1 batches not collected yet, keyed by batch id. Absent until the
   * first batch is recorded, so stores that never use batch mode keep their exact shape.
   */
  batches?: Record<string, BatchRecord>;
}

interface OutputsDoc {
  version: 1;
  outputs: Record<string, Stage1Output>;
}

const emptyJobs = (): JobsDoc => ({ version: 1, stage1: {}, global: null, lastSelection: [] });
const emptyOutputs = (): OutputsDoc => ({ version: 1, outputs: {} });

/** What a transaction sees and tells back: set the dirty flags for the files it changed. */
interface Tx {
  now: number;
  jobs: JobsDoc;
  outputs: OutputsDoc;
  jobsDirty: boolean;
  outputsDirty: boolean;
}

/** The fields a claim sets on a job row (stage-1 or global): running, leased to this worker. */
function runningFields(workerId: string, token: string, now: number, leaseSeconds: number) {
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

export function createLowdbStore(options: LowdbStoreOptions): MemoryStore & BatchStore {
  const dir = path.resolve(options.dir);
  const jobsFile = path.join(dir, 'jobs.json');
  const outputsFile = path.join(dir, 'outputs.json');
  const clock = options.now ?? Date.now;
  const nowSeconds = () => Math.floor(clock() / 1000);

  async function load<T extends object>(file: string, empty: () => T, isValid: (doc: T) => boolean) {
    // A fresh Low per transaction: lowdb keeps the default object by reference, and every
    // transaction reads afresh (another process may have written since; a stat when it has not).
    const db = new Low<T>(new AtomicJsonFile<T>(file), empty());
    await db.read();
    if (!isValid(db.data)) throw new StoreCorruptError(file, new Error('unexpected document shape'));
    return db;
  }

  /**
   * One transaction over both files. `withOutputs: false` skips the outputs lock and read (only
   * for methods that neither read nor write outputs).
   *
   * Group commit: transactions that arrive while a commit is in flight wait for the next one, and
   * each commit applies all waiting mutators, in order, to one fresh read under one lock, then
   * writes each changed file once. Concurrent extraction jobs thereby share the lock and the
   * fsyncs instead of queueing for them one by one.
   */
  function transact<T>(withOutputs: boolean, fn: (tx: Tx) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      waiting.push({ withOutputs, fn, resolve: resolve as (value: unknown) => void, reject });
      if (!committing) void commitLoop();
    });
  }

  type Pending = { withOutputs: boolean; fn: (tx: Tx) => unknown; resolve(value: unknown): void; reject(error: unknown): void };
  let waiting: Pending[] = [];
  let committing = false;

  async function commitLoop(): Promise<void> {
    committing = true;
    try {
      while (waiting.length > 0) {
        const batch = waiting;
        waiting = [];
        await commit(batch);
      }
    } finally {
      committing = false;
    }
  }

  async function commit(batch: Pending[]): Promise<void> {
    const withOutputs = batch.some((p) => p.withOutputs);
    let results: unknown[] = [];
    try {
      await withFileLock(jobsFile, async (jobsLock) => {
        // outputs.json is only ever touched under this lock, so it needs no lock of its own.
        const [jobsDb, outputsDb] = await Promise.all([
          load(jobsFile, emptyJobs, isJobsDoc),
          withOutputs ? load(outputsFile, emptyOutputs, isOutputsDoc) : null,
        ]);
        const tx: Tx = {
          now: nowSeconds(),
          jobs: jobsDb.data,
          outputs: outputsDb?.data ?? emptyOutputs(),
          jobsDirty: false,
          outputsDirty: false,
        };
        results = batch.map((p) => p.fn(tx));
        if (tx.outputsDirty && outputsDb) {
          jobsLock.assertHeld();
          await outputsDb.write();
        }
        if (tx.jobsDirty) {
          jobsLock.assertHeld();
          await jobsDb.write();
        }
      });
    } catch (error) {
      // The documents may have been changed in memory and not (all) written: read them afresh.
      forgetKept(jobsFile);
      forgetKept(outputsFile);
      // Alone, a transaction gets its error; in a batch, we cannot tell whose mutator failed, so
      // each one is retried alone.
      if (batch.length === 1) batch[0].reject(error);
      else for (const p of batch) await commit([p]);
      return;
    }
    try {
      auditKept(jobsFile);
      if (withOutputs) auditKept(outputsFile);
    } catch (error) {
      forgetKept(jobsFile);
      forgetKept(outputsFile);
      for (const p of batch) p.reject(error);
      return;
    }
    // Results are copies: a caller changing one must not change the kept documents.
    batch.forEach((p, i) => p.resolve(structuredClone(results[i])));
  }

  // ---- stage 1 ------------------------------------------------------------------------------

  /** §5.3 on an open transaction. `running` is the live running stage-1 count, kept up to date. */
  function claimInTx(
    tx: Tx,
    thread: ThreadInfo,
    workerId: string,
    leaseSeconds: number,
    maxRunning: number,
    running: { count: number },
  ): Stage1ClaimResult {
    const { now } = tx;
    const given = thread.updatedAt;
    const output = own(tx.outputs.outputs, thread.threadId);
    if (output && output.sourceUpdatedAt >= given) return { kind: 'skippedUpToDate' };
    const job = own(tx.jobs.stage1, thread.threadId);
    if (job && job.lastSuccessWatermark !== null && job.lastSuccessWatermark >= given) {
      return { kind: 'skippedUpToDate' };
    }

    const token = randomUUID();
    const claimed = { ...runningFields(workerId, token, now, leaseSeconds), inputWatermark: given };

    if (!job) {
      // Insert only under the running cap; a refused insert with no row reads as "running".
      if (running.count >= maxRunning) return { kind: 'skippedRunning' };
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

    const live = isLive(job, now);
    const advanced = given > (job.inputWatermark ?? -1);
    // The row itself is not live when the update may happen, so "others" = all live rows.
    const canUpdate =
      !live &&
      (job.retryAt === null || job.retryAt <= now || advanced) &&
      (job.retryRemaining > 0 || advanced) &&
      running.count < maxRunning;
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

  /** The owned running stage-1 row, or null (ownership lost, finished, or never claimed). */
  function ownedStage1(tx: Tx, threadId: string, token: string): JobRow | null {
    const job = own(tx.jobs.stage1, threadId);
    return job && job.status === 'running' && job.ownershipToken === token ? job : null;
  }

  /** §5.4 common part: the job is done and its input is the new success watermark. */
  function finishStage1(tx: Tx, job: JobRow, usage: TokenUsage | null): void {
    Object.assign(job, {
      status: 'done',
      finishedAt: tx.now,
      leaseUntil: null,
      lastError: null,
      lastSuccessWatermark: job.inputWatermark,
      usage,
    });
    tx.jobsDirty = true;
  }

  // ---- global job ---------------------------------------------------------------------------

  /** §5.6 enqueue: every call strictly raises the dirty watermark, even for back-filled inputs. */
  function enqueueInTx(tx: Tx, watermark: number): void {
    const job = tx.jobs.global;
    tx.jobsDirty = true;
    if (!job) {
      tx.jobs.global = {
        kind: 'memory_consolidate_global',
        jobKey: GLOBAL_JOB_KEY,
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
    const running = job.status === 'running';
    const existing = job.inputWatermark ?? 0;
    job.status = running ? 'running' : 'pending';
    if (!running) job.retryAt = null;
    job.retryRemaining = Math.max(job.retryRemaining, DEFAULT_RETRY_REMAINING);
    job.inputWatermark = watermark > existing ? watermark : existing + 1;
  }

  /** §5.5 / §5.8: an owned running job failed; it is retried after the delay, one retry spent. */
  function fail(tx: Tx, job: JobRow | null, reason: string, retryDelaySeconds: number): boolean {
    if (!job) return false;
    Object.assign(job, {
      status: 'error',
      finishedAt: tx.now,
      leaseUntil: null,
      retryAt: tx.now + Math.max(0, Math.ceil(retryDelaySeconds)),
      retryRemaining: job.retryRemaining - 1,
      lastError: reason,
    });
    tx.jobsDirty = true;
    return true;
  }

  /**
   * Gives an owned running job back untouched (graceful shutdown). Not live-running, no retry_at and
   * the retry budget kept (a running row always has retryRemaining ≥ 1), so the claim rules (§5.3,
   * §5.6) let the next claim take it at once; the input watermark is kept, so a global job stays
   * dirty. The token is cleared so the releasing worker can no longer finalise it.
   */
  function release(tx: Tx, job: JobRow | null): boolean {
    if (!job) return false;
    Object.assign(job, {
      status: 'pending',
      ownershipToken: null,
      finishedAt: tx.now,
      leaseUntil: null,
      retryAt: null,
      lastError: 'released',
    });
    tx.jobsDirty = true;
    return true;
  }

  function ownedGlobal(tx: Tx, token: string): JobRow | null {
    const job = tx.jobs.global;
    return job && job.status === 'running' && job.ownershipToken === token ? job : null;
  }

  // ---- the port -------------------------------------------------------------------------------

  return {
    location: dir,

    async claimStage1Jobs(params: ClaimStage1Params): Promise<ClaimStage1Batch> {
      const skipped: SkipCounts = { upToDate: 0, running: 0, retryBackoff: 0, retryExhausted: 0 };
      if (params.maxClaimed <= 0 || params.candidates.length === 0) return { claims: [], skipped };
      // One transaction for the whole pass (one read, at most one write): §5.2 loops over
      // try_claim, but here each claim would cost a full-file RMW.
      return transact(true, (tx) => {
        const running = { count: countLiveStage1(tx.jobs, tx.now) };
        const claims: ClaimStage1Batch['claims'] = [];
        for (const thread of params.candidates) {
          if (claims.length >= params.maxClaimed) break;
          const result = claimInTx(tx, thread, params.workerId, params.leaseSeconds, params.maxClaimed, running);
          switch (result.kind) {
            case 'claimed':
              claims.push({ thread, ownershipToken: result.ownershipToken });
              break;
            case 'skippedUpToDate':
              skipped.upToDate += 1;
              break;
            case 'skippedRunning':
              skipped.running += 1;
              break;
            case 'skippedRetryBackoff':
              skipped.retryBackoff += 1;
              break;
            case 'skippedRetryExhausted':
              skipped.retryExhausted += 1;
              break;
          }
        }
        return { claims, skipped };
      });
    },

    async tryClaimStage1Job(thread, workerId, leaseSeconds, maxRunning) {
      return transact(true, (tx) =>
        claimInTx(tx, thread, workerId, leaseSeconds, maxRunning, { count: countLiveStage1(tx.jobs, tx.now) }),
      );
    },

    async heartbeatStage1Job(threadId, token, leaseSeconds) {
      return transact(false, (tx) => {
        const job = ownedStage1(tx, threadId, token);
        if (!job) return false;
        job.leaseUntil = tx.now + leaseSeconds;
        tx.jobsDirty = true;
        return true;
      });
    },

    async markStage1Succeeded(thread: ThreadInfo, token: string, reply: Stage1Reply, usage: TokenUsage | null) {
      return transact(true, (tx) => {
        const job = ownedStage1(tx, thread.threadId, token);
        if (!job) return false; // a stolen lease: the new owner will write its own result
        finishStage1(tx, job, usage);
        const existing = own(tx.outputs.outputs, thread.threadId);
        // Never let an older snapshot overwrite a newer one (§5.4).
        if (!existing || thread.updatedAt >= existing.sourceUpdatedAt) {
          tx.outputs.outputs[thread.threadId] = {
            threadId: thread.threadId,
            sourceUpdatedAt: thread.updatedAt,
            rawMemory: reply.rawMemory,
            rolloutSummary: reply.rolloutSummary,
            rolloutSlug: reply.rolloutSlug,
            cwd: thread.cwd,
            rolloutPath: thread.rolloutPath,
            generatedAt: tx.now,
            usageCount: existing?.usageCount ?? 0,
            lastUsage: existing?.lastUsage ?? null,
            ...(existing?.citedBy ? { citedBy: existing.citedBy } : {}),
          };
          tx.outputsDirty = true;
        }
        enqueueInTx(tx, thread.updatedAt);
        return true;
      });
    },

    async markStage1SucceededNoOutput(threadId, token, usage) {
      return transact(true, (tx) => {
        const job = ownedStage1(tx, threadId, token);
        if (!job) return false;
        const watermark = job.inputWatermark;
        // The watermark still advances, so the thread is not re-extracted until it changes.
        finishStage1(tx, job, usage);
        if (own(tx.outputs.outputs, threadId)) {
          delete tx.outputs.outputs[threadId];
          tx.outputsDirty = true;
          // Only a deleted memory changes what phase 2 should see.
          enqueueInTx(tx, watermark ?? 0);
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
      return transact(false, (tx) => {
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
      });
    },

    async releaseGlobalJob(token) {
      return transact(false, (tx) => release(tx, ownedGlobal(tx, token)));
    },

    async enqueueGlobalConsolidation(watermark) {
      await transact(false, (tx) => enqueueInTx(tx, watermark));
    },

    async claimGlobalJob(workerId, leaseSeconds): Promise<GlobalClaimResult> {
      return transact(false, (tx) => {
        const job = tx.jobs.global;
        const { now } = tx;
        if (!job) return { kind: 'skippedNotDirty' };
        if ((job.inputWatermark ?? 0) <= (job.lastSuccessWatermark ?? 0)) return { kind: 'skippedNotDirty' };
        // A job in retry backoff or out of budget looks "not dirty" (§5.6 step 3).
        if (job.retryRemaining <= 0) return { kind: 'skippedNotDirty' };
        if (job.retryAt !== null && job.retryAt > now) return { kind: 'skippedNotDirty' };
        if (isLive(job, now)) return { kind: 'skippedRunning' };
        const token = randomUUID();
        Object.assign(job, runningFields(workerId, token, now, leaseSeconds));
        tx.jobsDirty = true;
        return { kind: 'claimed', ownershipToken: token, inputWatermark: job.inputWatermark ?? 0 };
      });
    },

    async heartbeatGlobalJob(token, leaseSeconds) {
      return transact(false, (tx) => {
        const job = ownedGlobal(tx, token);
        if (!job) return false;
        job.leaseUntil = tx.now + leaseSeconds;
        tx.jobsDirty = true;
        return true;
      });
    },

    async markGlobalSucceeded(token, watermark, selection, usage) {
      return transact(false, (tx) => {
        const job = ownedGlobal(tx, token);
        if (!job) return false;
        // retry_remaining is not touched (§5.8); enqueue restores it.
        Object.assign(job, {
          status: 'done',
          finishedAt: tx.now,
          leaseUntil: null,
          lastError: null,
          lastSuccessWatermark: Math.max(job.lastSuccessWatermark ?? 0, watermark),
          usage,
        });
        // Exactly the consumed snapshots become "selected" (§4.6).
        tx.jobs.lastSelection = selection.map(({ threadId, sourceUpdatedAt }) => ({ threadId, sourceUpdatedAt }));
        tx.jobsDirty = true;
        return true;
      });
    },

    async markGlobalFailed(token, reason, retryDelaySeconds) {
      return transact(false, (tx) => fail(tx, ownedGlobal(tx, token), reason, retryDelaySeconds));
    },

    async listStage1OutputsForGlobal(n) {
      if (n <= 0) return [];
      return transact(true, (tx) =>
        Object.values(tx.outputs.outputs)
          .filter(hasContent)
          .sort((a, b) => b.sourceUpdatedAt - a.sourceUpdatedAt || compareDesc(a.threadId, b.threadId))
          .slice(0, n),
      );
    },

    async getPhase2Selection(n, maxUnusedDays): Promise<Phase2Selection> {
      return transact(true, (tx) => {
        // maxUnusedDays ≤ 0 disables the age filter. Read literally (cutoff = now) it would drop
        // every memory and make phase 2 forget everything — too destructive for a typo'd 0.
        const cutoff = maxUnusedDays > 0 ? tx.now - maxUnusedDays * DAY_SECONDS : -Infinity;
        const recency = (o: Stage1Output) => o.lastUsage ?? o.sourceUpdatedAt;
        const selected =
          n <= 0
            ? []
            : Object.values(tx.outputs.outputs)
                .filter((o) => hasContent(o) && recency(o) >= cutoff)
                .sort(
                  (a, b) =>
                    b.usageCount - a.usageCount ||
                    recency(b) - recency(a) ||
                    b.sourceUpdatedAt - a.sourceUpdatedAt ||
                    compareDesc(a.threadId, b.threadId),
                )
                .slice(0, n);
        const previous = new Map(tx.jobs.lastSelection.map((e) => [e.threadId, e.sourceUpdatedAt]));
        const selectedIds = new Set(selected.map((o) => o.threadId));
        // A refreshed thread (new snapshot) stays "added" until phase 2 succeeds on it.
        const retainedThreadIds = selected
          .filter((o) => previous.get(o.threadId) === o.sourceUpdatedAt)
          .map((o) => o.threadId);
        const removed = tx.jobs.lastSelection
          .filter((e) => !selectedIds.has(e.threadId))
          .map((e) => own(tx.outputs.outputs, e.threadId) ?? { threadId: e.threadId });
        return { selected, retainedThreadIds, removed };
      });
    },

    async forgetThread(threadId) {
      return transact(true, (tx) => {
        const output = own(tx.outputs.outputs, threadId);
        if (!output) return false;
        delete tx.outputs.outputs[threadId];
        tx.outputsDirty = true;
        // The job row (and its success watermark) stays: the user asked to forget this rollout,
        // so it must not be re-extracted until the rollout itself changes.
        enqueueInTx(tx, output.sourceUpdatedAt);
        return true;
      });
    },

    async recordCitations(citingThreadId, citedThreadIds, atSeconds) {
      if (citedThreadIds.length === 0) return 0;
      return transact(true, (tx) => {
        let bumped = 0;
        for (const cited of citedThreadIds) {
          const output = own(tx.outputs.outputs, cited);
          // A session cannot vouch for its own memory; a forgotten or empty one has nothing to rank.
          if (!output || cited === citingThreadId || output.citedBy?.includes(citingThreadId)) continue;
          output.citedBy = [...(output.citedBy ?? []), citingThreadId];
          output.usageCount += 1;
          output.lastUsage = Math.max(output.lastUsage ?? 0, atSeconds);
          bumped++;
        }
        if (bumped > 0) tx.outputsDirty = true;
        return bumped;
      });
    },

    async status(): Promise<StoreStatus> {
      return transact(true, (tx) => ({
        jobs: Object.values(tx.jobs.stage1),
        globalJob: tx.jobs.global,
        outputs: Object.values(tx.outputs.outputs),
        lastSelection: tx.jobs.lastSelection,
        batches: Object.values(tx.jobs.batches ?? {}),
      }));
    },

    // ---- batch mode ---------------------------------------------------------------------------

    async recordBatch(record: BatchRecord, leaseSeconds: number): Promise<RecordBatchResult> {
      return transact(false, (tx) => {
        const held: BatchRecord['jobs'] = [];
        const lost: string[] = [];
        for (const ref of record.jobs) {
          const job = ownedStage1(tx, ref.thread.threadId, ref.ownershipToken);
          if (!job) {
            lost.push(ref.thread.threadId);
            continue;
          }
          job.leaseUntil = tx.now + leaseSeconds;
          held.push(ref);
        }
        if (held.length > 0) {
          tx.jobs.batches ??= {};
          tx.jobs.batches[record.batchId] = { ...record, jobs: held };
          tx.jobsDirty = true;
        }
        return { held: held.map((ref) => ref.thread.threadId), lost };
      });
    },

    async pendingBatches(): Promise<PendingBatch[]> {
      return transact(false, (tx) =>
        Object.values(tx.jobs.batches ?? {})
          .sort((a, b) => a.submittedAt - b.submittedAt || (a.batchId < b.batchId ? -1 : a.batchId > b.batchId ? 1 : 0))
          .map((record) => ({
            ...record,
            jobs: record.jobs.map((ref) => ({
              ...ref,
              owned: ownedStage1(tx, ref.thread.threadId, ref.ownershipToken) !== null,
            })),
          })),
      );
    },

    async extendStage1Leases(jobs, leaseSeconds) {
      return transact(false, (tx) => {
        const extended: string[] = [];
        for (const { threadId, ownershipToken } of jobs) {
          const job = ownedStage1(tx, threadId, ownershipToken);
          if (!job) continue;
          job.leaseUntil = tx.now + leaseSeconds;
          extended.push(threadId);
        }
        if (extended.length > 0) tx.jobsDirty = true;
        return extended;
      });
    },

    async finishBatch(batchId) {
      return transact(false, (tx) => {
        if (!tx.jobs.batches || !own(tx.jobs.batches, batchId)) return false;
        delete tx.jobs.batches[batchId];
        tx.jobsDirty = true;
        return true;
      });
    },
  };
}

// ---- helpers ----------------------------------------------------------------------------------

/** A running row whose lease is in the future: some worker is on it right now. */
function isLive(job: JobRow, now: number): boolean {
  return job.status === 'running' && job.leaseUntil !== null && job.leaseUntil > now;
}

/**
 * Live running stage-1 jobs, the running cap's count. Jobs a submitted batch holds are not counted:
 * their lease spans the batch window (a day) while no worker of ours is busy with them, and counting
 * them would stop every other run, batch or not, from claiming anything until the batch is collected.
 */
function countLiveStage1(jobs: JobsDoc, now: number): number {
  const inBatch = new Set<string>();
  for (const record of Object.values(jobs.batches ?? {})) {
    for (const ref of record.jobs) inBatch.add(`${ref.thread.threadId}\u0000${ref.ownershipToken}`);
  }
  let count = 0;
  for (const job of Object.values(jobs.stage1)) {
    if (!isLive(job, now)) continue;
    if (inBatch.size > 0 && inBatch.has(`${job.jobKey}\u0000${job.ownershipToken}`)) continue;
    count += 1;
  }
  return count;
}

/** §5.7: rows whose memory or summary is blank are stored but never consolidated. */
function hasContent(output: Stage1Output): boolean {
  return output.rawMemory.trim() !== '' || output.rolloutSummary.trim() !== '';
}

/** SQL-like descending order of thread ids (byte order, not locale order). */
function compareDesc(a: string, b: string): number {
  return a < b ? 1 : a > b ? -1 : 0;
}

/** Own-property lookup, so a key like `__proto__` or `toString` is never mistaken for a row. */
function own<T>(record: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isJobsDoc(doc: JobsDoc): boolean {
  return (
    isRecord(doc) &&
    isRecord(doc.stage1) &&
    (doc.global === null || isRecord(doc.global)) &&
    Array.isArray(doc.lastSelection) &&
    (doc.batches === undefined || isRecord(doc.batches))
  );
}

function isOutputsDoc(doc: OutputsDoc): boolean {
  return isRecord(doc) && isRecord(doc.outputs);
}
