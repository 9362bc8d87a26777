// Collecting recorded batches: running ones are left alone (the lease taken at submission covers the
// provider's deadline); finished ones finalise each job through the extraction machine and its
// shared actors, the model call replaced by the batch's answer. Writes are fenced by the batch's
// token, so a redone collect skips finalised jobs and a late answer for a job claimed again is dropped.
import { createActor, fromPromise, toPromise } from 'xstate';
import { type ExtractionReply, type ExtractionRequestInput, extractionMachine } from '../../machines/extraction.ts';
import { DEFAULT_RETRY_POLICY } from '../../machines/retry-policy.ts';
import { STAGE1_HEARTBEAT_MS, STAGE1_RETRY_DELAY_SECONDS } from '../constants.ts';
import { errorMessage } from '../errors.ts';
import { extractionActors } from '../extraction/actors.ts';
import { parseStage1Reply } from '../extraction/stage-one-parse.ts';
import { readRolloutGitBranch } from '../rollouts/rollout-reader.ts';
import type { PipelineDeps } from '../pipeline-deps.ts';
import { redactSecrets } from '../redaction/redact.ts';
import type { BatchStore, MemoryStore, PendingBatch } from '../store/port.ts';
import type { Stage1Claim, TokenUsage } from '../types.ts';
import { sumFinishedUsage } from '../usage.ts';
import type { BatchApi, BatchStatus } from './batch-api.ts';
import { type LineResult, missingReason, readResults } from './results.ts';

const OUTCOMES = {
  succeeded: 'succeeded',
  succeededNoOutput: 'succeededNoOutput',
  gaveUp: 'failed',
  leaseLost: 'stale',
} as const;
/** `stale`: no longer owned under the batch's token (finalised already, or claimed again). */
export type BatchJobOutcome = (typeof OUTCOMES)[keyof typeof OUTCOMES];
export type CollectedJob = { threadId: string; outcome: BatchJobOutcome; reason: string | null; usage: TokenUsage | null };

export interface CollectedBatch {
  batchId: string;
  status: BatchStatus | null;
  /** abandoned: none of its jobs is held any more; error: not retrieved or downloaded, tried next run. */
  outcome: 'collected' | 'pending' | 'abandoned' | 'error';
  detail: string | null;
  jobs: number;
}

export interface BatchCollectResult extends Record<BatchJobOutcome, number> {
  batches: CollectedBatch[];
  jobs: CollectedJob[];
  /** Batches still running at the provider. */
  pending: number;
  usage: TokenUsage;
}

const RUNNING: ReadonlySet<BatchStatus> = new Set(['validating', 'in_progress', 'finalizing', 'cancelling']);
// An answer cannot be asked for again, so one attempt; a failure gets the durable retry.
const FINALISE_POLICY = { ...DEFAULT_RETRY_POLICY, maxAttempts: 1, durableRetryDelaySeconds: STAGE1_RETRY_DELAY_SECONDS };

/** Collects every recorded batch once. */
export async function collectBatches(deps: PipelineDeps, api: BatchApi): Promise<BatchCollectResult> {
  const store = deps.store as MemoryStore & BatchStore;
  const batches: CollectedBatch[] = [];
  const jobs: CollectedJob[] = [];
  for (const record of await store.pendingBatches()) {
    const base = { batchId: record.batchId, status: null, jobs: record.jobs.length };
    // A store failure mid-way: what was written stays written; the next collect redoes the rest.
    const failed = (error: unknown) => ({ outcome: 'error' as const, detail: redactSecrets(errorMessage(error)) });
    batches.push({ ...base, ...(await collectOne(deps, api, record, jobs).catch(failed)) });
  }
  const counts = { succeeded: 0, succeededNoOutput: 0, failed: 0, stale: 0 };
  for (const job of jobs) counts[job.outcome] += 1;
  const pending = batches.filter((b) => b.outcome === 'pending').length;
  return { batches, jobs, ...counts, pending, usage: sumFinishedUsage(jobs) };
}

type Collected = Pick<CollectedBatch, 'outcome' | 'detail'> & { status?: BatchStatus };

async function collectOne(deps: PipelineDeps, api: BatchApi, record: PendingBatch, jobs: CollectedJob[]): Promise<Collected> {
  const store = deps.store as MemoryStore & BatchStore;
  if (!record.jobs.some((j) => j.owned)) {
    await store.finishBatch(record.batchId);
    return { outcome: 'abandoned', detail: 'none of its jobs is held by this batch any more' };
  }
  const info = await api.retrieveBatch(record.batchId).catch((error: unknown) => error as Error);
  if (info instanceof Error) {
    // An unknown batch is most often asked of another endpoint or account (a wrong --base-url or key): the batch may
    // be running where it was submitted, so it is kept, with its jobs, as after a connection error. Its leases end
    // with the provider's window, and a run that asks the right endpoint collects it.
    const detail =
      (info as { status?: unknown }).status === 404
        ? `batch ${record.batchId} is unknown to the provider (another endpoint or account?); kept for a run with the --base-url and key it was submitted with`
        : `could not retrieve the batch: ${errorMessage(info)}`;
    return { outcome: 'error', detail: redactSecrets(detail) };
  }
  const { status, requestCounts: c } = info;
  if (RUNNING.has(status)) return { status, outcome: 'pending', detail: c && `${c.completed + c.failed}/${c.total} done` };

  // Both files are read before anything is written, so a download failure leaves the batch whole.
  const fileIds = [info.outputFileId, info.errorFileId].filter((id): id is string => id !== null);
  const texts = await Promise.all(fileIds.map((id) => api.fileContent(id))).catch(
    (error) => `could not download the batch results: ${errorMessage(error)}`,
  );
  if (typeof texts === 'string') return { status, outcome: 'error', detail: redactSecrets(texts) };
  const { results, unreadable } = readResults(texts);
  const missing = missingReason(info, unreadable);
  await finaliseAll(deps, record, jobs, results, missing);
  deps.log.info({ batchId: record.batchId, status, unreadableLines: unreadable }, 'phase 1 batch collected');
  const detail = status !== 'completed' ? missing : unreadable > 0 ? `${unreadable} unreadable line(s)` : null;
  return { status, outcome: 'collected', detail };
}

/** Every job the batch still holds, from its result or else failed with `missing`; then the batch is done. */
async function finaliseAll(
  deps: PipelineDeps,
  record: PendingBatch,
  jobs: CollectedJob[],
  results: ReadonlyMap<string, LineResult>,
  missing: string,
): Promise<void> {
  for (const job of record.jobs) {
    const stale = { threadId: job.thread.threadId, outcome: 'stale' as const, reason: null, usage: null };
    jobs.push(job.owned ? await finalise(deps, job, results.get(job.customId) ?? { kind: 'error', reason: missing }) : stale);
  }
  await (deps.store as MemoryStore & BatchStore).finishBatch(record.batchId);
}

/** One job's extraction, its model call replaced by a batch's answer (or failure). */
export async function finalise(deps: PipelineDeps, claim: Stage1Claim, result: LineResult): Promise<CollectedJob> {
  const answered = fromPromise<ExtractionReply, ExtractionRequestInput>(async () => {
    if (result.kind === 'error') throw new Error(result.reason);
    // Citations were counted when the request was built.
    // The summary header's git_branch, when discovery did not know it.
    const gitBranch = claim.thread.gitBranch ?? (await readRolloutGitBranch(claim.thread.rolloutPath).catch(() => null));
    const notes = { truncated: false, droppedItems: 0, citedThreadIds: [], gitBranch };
    return { reply: parseStage1Reply(result.text, deps.layout.version), usage: result.usage, notes };
  });
  // The answer is here already: nothing to build (the machine's default build gives nothing).
  const { build: _notNeeded, ...actors } = extractionActors(deps);
  const machine = extractionMachine.provide({ actors: { ...actors, request: answered } });
  const input = { claim, policy: FINALISE_POLICY, heartbeatMs: STAGE1_HEARTBEAT_MS };
  const { outcome, error, usage } = await toPromise(createActor(machine, { input }).start());
  const threadId = claim.thread.threadId;
  if (OUTCOMES[outcome] !== 'failed') return { threadId, outcome: OUTCOMES[outcome], reason: null, usage };
  return { threadId, outcome: 'failed', reason: redactSecrets(error ?? 'unknown failure'), usage: null };
}
