// Collecting recorded batches: running ones keep their jobs leased until the provider's deadline;
// finished ones (completed, failed, expired or cancelled) finalise each job through the extraction
// machine with the shared extraction actors, its request step answered by the batch's result line.
// The fenced write with the batch's token makes a redone collect skip finalised jobs, and a late
// answer for a job claimed again after its lease ran out is dropped.
import { createActor, fromPromise, toPromise } from 'xstate';
import { type ExtractionOutcome, type ExtractionReply, extractionMachine } from '../../machines/extraction.ts';
import { DEFAULT_RETRY_POLICY } from '../../machines/retry-policy.ts';
import { STAGE1_HEARTBEAT_MS, STAGE1_RETRY_DELAY_SECONDS } from '../constants.ts';
import { errorMessage } from '../errors.ts';
import { extractionActors } from '../extraction/actors.ts';
import { parseStage1Reply } from '../extraction/stage-one-parse.ts';
import type { PipelineDeps } from '../pipeline-deps.ts';
import type { BatchStore, MemoryStore, PendingBatch, PendingBatchJob } from '../store/port.ts';
import type { Stage1Claim, TokenUsage } from '../types.ts';
import { sumFinishedUsage } from '../usage.ts';
import { BATCH_LEASE_MARGIN_SECONDS, type BatchApi, type BatchStatus } from './batch-api.ts';
import { cleanReason, type LineResult, missingReason, readResults } from './results.ts';

export type BatchJobOutcome = 'succeeded' | 'succeededNoOutput' | 'failed' | 'stale';

export interface CollectedJob {
  batchId: string;
  threadId: string;
  /** `stale`: the job was no longer owned under the batch's token (already finalised, or re-claimed). */
  outcome: BatchJobOutcome;
  /** Why it failed (redacted). */
  reason: string | null;
  usage: TokenUsage | null;
}

export interface CollectedBatch {
  batchId: string;
  /** The provider's status, or null when it was not retrieved. */
  status: BatchStatus | null;
  /**
   * collected: finished and finalised; pending: still running, left alone; abandoned: none of its
   * jobs is held any more, record dropped; error: retrieve/download failed, retried next run.
   */
  outcome: 'collected' | 'pending' | 'abandoned' | 'error';
  detail: string | null;
  jobs: number;
}

export interface BatchCollectResult {
  batches: CollectedBatch[];
  jobs: CollectedJob[];
  succeeded: number;
  succeededNoOutput: number;
  failed: number;
  stale: number;
  /** Batches still running at the provider. */
  pending: number;
  /** Usage of the finalised jobs. */
  usage: TokenUsage;
}

const RUNNING: ReadonlySet<BatchStatus> = new Set(['validating', 'in_progress', 'finalizing', 'cancelling']);
const OUTCOMES: Record<ExtractionOutcome, BatchJobOutcome> = {
  succeeded: 'succeeded',
  succeededNoOutput: 'succeededNoOutput',
  gaveUp: 'failed',
  leaseLost: 'stale',
};
// An answer cannot be asked for again, so one attempt; a failure gets the durable retry.
const FINALISE_POLICY = { ...DEFAULT_RETRY_POLICY, maxAttempts: 1, durableRetryDelaySeconds: STAGE1_RETRY_DELAY_SECONDS };

/** Collects every recorded batch once. */
export async function collectBatches(deps: PipelineDeps, api: BatchApi): Promise<BatchCollectResult> {
  const store = deps.store as MemoryStore & BatchStore;
  const batches: CollectedBatch[] = [];
  const jobs: CollectedJob[] = [];
  for (const record of await store.pendingBatches()) {
    const base = { batchId: record.batchId, status: null, jobs: record.jobs.length };
    try {
      batches.push({ ...base, ...(await collectOne(deps, store, api, record, jobs)) });
    } catch (error) {
      // Whatever was written stays written; the next collect redoes the rest.
      const detail = cleanReason(errorMessage(error));
      deps.log.warn({ batchId: record.batchId, reason: detail }, 'phase 1 batch collection failed');
      batches.push({ ...base, outcome: 'error', detail });
    }
  }
  const count = (outcome: BatchJobOutcome) => jobs.filter((j) => j.outcome === outcome).length;
  return {
    batches,
    jobs,
    succeeded: count('succeeded'),
    succeededNoOutput: count('succeededNoOutput'),
    failed: count('failed'),
    stale: count('stale'),
    pending: batches.filter((b) => b.outcome === 'pending').length,
    usage: sumFinishedUsage(jobs),
  };
}

type Collected = Pick<CollectedBatch, 'outcome' | 'detail'> & { status?: BatchStatus };

async function collectOne(deps: PipelineDeps, store: MemoryStore & BatchStore, api: BatchApi, record: PendingBatch, jobs: CollectedJob[]): Promise<Collected> {
  const owned = record.jobs.filter((j) => j.owned);
  if (owned.length === 0) {
    await store.finishBatch(record.batchId);
    return { outcome: 'abandoned', detail: 'none of its jobs is held by this batch any more' };
  }
  const info = await api.retrieveBatch(record.batchId).catch((error) => cleanReason(`could not retrieve the batch: ${errorMessage(error)}`));
  if (typeof info === 'string') return { outcome: 'error', detail: info };

  if (RUNNING.has(info.status)) {
    // Hold the jobs until the provider's deadline, so a batch finalising late is not claimed away.
    const expiresAt = info.expiresAt ?? record.expiresAt;
    if (expiresAt !== null) {
      const lease = Math.max(0, expiresAt - Math.floor(deps.now() / 1000)) + BATCH_LEASE_MARGIN_SECONDS;
      await store.extendStage1Leases(owned.map((j) => ({ threadId: j.thread.threadId, ownershipToken: j.ownershipToken })), lease);
    }
    const c = info.requestCounts;
    return { status: info.status, outcome: 'pending', detail: `${info.status}${c ? ` (${c.completed + c.failed}/${c.total} done)` : ''}` };
  }

  // Both files are read before anything is written, so a download failure leaves the batch whole.
  const fileIds = [info.outputFileId, info.errorFileId].filter((id): id is string => id !== null);
  const texts = await Promise.all(fileIds.map((id) => api.fileContent(id))).catch(
    (error) => cleanReason(`could not download the batch results: ${errorMessage(error)}`),
  );
  if (typeof texts === 'string') return { status: info.status, outcome: 'error', detail: texts };
  const { results, unreadable } = readResults(texts);
  const missing = missingReason(info, unreadable);
  const finished = await Promise.all(
    record.jobs.map((job) =>
      job.owned
        ? finalise(deps, record.batchId, job, results.get(job.customId) ?? { kind: 'error', reason: missing })
        : { batchId: record.batchId, threadId: job.thread.threadId, outcome: 'stale' as const, reason: null, usage: null },
    ),
  );
  jobs.push(...finished);
  await store.finishBatch(record.batchId);
  deps.log.info({ batchId: record.batchId, status: info.status, jobs: finished.length, unreadableLines: unreadable }, 'phase 1 batch collected');
  const detail = info.status !== 'completed' ? missing : unreadable > 0 ? `${unreadable} unreadable result line(s)` : null;
  return { status: info.status, outcome: 'collected', detail };
}

/** One job's extraction, its model call replaced by the batch's answer. */
async function finalise(deps: PipelineDeps, batchId: string, job: PendingBatchJob, result: LineResult): Promise<CollectedJob> {
  const answered = fromPromise<ExtractionReply, { claim: Stage1Claim; attempt: number }>(async () => {
    if (result.kind === 'error') throw new Error(cleanReason(result.reason));
    const notes = { truncated: false, droppedItems: 0, citedThreadIds: [] };
    try {
      return { reply: parseStage1Reply(result.text), usage: result.usage, notes };
    } catch (error) {
      throw new Error(cleanReason(errorMessage(error)));
    }
  });
  const machine = extractionMachine.provide({ actors: { ...extractionActors(deps), request: answered } });
  const claim = { thread: job.thread, ownershipToken: job.ownershipToken };
  const input = { claim, policy: FINALISE_POLICY, heartbeatMs: STAGE1_HEARTBEAT_MS };
  const output = await toPromise(createActor(machine, { input }).start());
  const outcome = OUTCOMES[output.outcome];
  const reason = outcome === 'failed' && output.error !== null ? cleanReason(output.error) : null;
  return { batchId, threadId: job.thread.threadId, outcome, reason, usage: outcome === 'failed' ? null : output.usage };
}
