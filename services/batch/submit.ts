// Submitting claimed stage-1 jobs as a batch: build each request, upload one JSONL file, create the
// batch, then record batch → (thread, token) in the store and stretch those leases over the batch
// window, in one transaction. A crash between creating and recording orphans the batch; its jobs
// keep their claim lease and are claimed again after it (the orphan's answers are never read).
import { STAGE1_RETRY_DELAY_SECONDS } from '../constants.ts';
import { errorMessage } from '../errors.ts';
import { buildStageOneRequest } from '../extraction/stage-one-prompt.ts';
import { stage1ResponsesParams } from '../model/model-client.ts';
import type { PipelineDeps } from '../pipeline-deps.ts';
import type { BatchStore, MemoryStore } from '../store/port.ts';
import type { Stage1Claim } from '../types.ts';
import { BATCH_ENDPOINT, BATCH_LEASE_SECONDS, type BatchApi } from './batch-api.ts';
import { cleanReason } from './results.ts';

/** The Batch API's input limits (200 MB, 50,000 requests per file), with headroom on the size. */
export const MAX_BATCH_FILE_BYTES = 190 * 1024 * 1024;
export const MAX_BATCH_REQUESTS = 50_000;

export interface BatchSubmitResult {
  batches: Array<{ batchId: string; inputFileId: string; threadIds: string[] }>;
  /** Jobs now waiting in a batch. */
  submitted: number;
  /** Jobs whose request could not be built (e.g. unreadable rollout): failed with the reason. */
  failed: Array<{ threadId: string; reason: string }>;
  /** Jobs given back untouched because the upload or batch creation failed (claimable again at once). */
  released: string[];
  /** Jobs whose lease was taken before the batch was recorded; their answers will be ignored. */
  lost: string[];
  /** Why an upload or batch creation failed, if one did. */
  error: string | null;
}

interface BuiltLine {
  claim: Stage1Claim;
  line: string;
}

/** Submits owned, running stage-1 claims; a provider failure releases the affected jobs instead of throwing. */
export async function submitBatch(deps: PipelineDeps, api: BatchApi, claims: Stage1Claim[]): Promise<BatchSubmitResult> {
  const store = deps.store as MemoryStore & BatchStore;
  const result: BatchSubmitResult = { batches: [], submitted: 0, failed: [], released: [], lost: [], error: null };
  const built: BuiltLine[] = [];
  for (const claim of claims) {
    try {
      built.push(await buildLine(deps, claim));
    } catch (error) {
      const reason = cleanReason(`could not build the stage-1 request: ${errorMessage(error)}`);
      await store.markStage1Failed(claim.thread.threadId, claim.ownershipToken, reason, STAGE1_RETRY_DELAY_SECONDS);
      result.failed.push({ threadId: claim.thread.threadId, reason });
      deps.log.warn({ threadId: claim.thread.threadId, reason }, `Phase 1 job failed for thread ${claim.thread.threadId}`);
    }
  }
  for (const chunk of chunksOf(built)) await submitChunk(deps, store, api, chunk, result);
  return result;
}

async function buildLine(deps: PipelineDeps, claim: Stage1Claim): Promise<BuiltLine> {
  const { thread } = claim;
  const model = deps.config.phase1Model;
  const request = await buildStageOneRequest({ thread, model });
  // Citations count now: the reply comes in a later run, and counting again is a no-op.
  await deps.store.recordCitations(thread.threadId, request.citedThreadIds, thread.updatedAt);
  // The synchronous call's body minus `stream`, with its cache key, so both share the prompt cache.
  const body = stage1ResponsesParams({ model, instructions: request.instructions, input: request.input, promptCacheKey: 'memories-stage1' });
  return { claim, line: JSON.stringify({ custom_id: thread.threadId, method: 'POST', url: BATCH_ENDPOINT, body }) };
}

async function submitChunk(deps: PipelineDeps, store: MemoryStore & BatchStore, api: BatchApi, chunk: BuiltLine[], result: BatchSubmitResult) {
  const threadIds = chunk.map(({ claim }) => claim.thread.threadId);
  const submittedAt = Math.floor(deps.now() / 1000);
  let info: Awaited<ReturnType<BatchApi['createBatch']>>;
  try {
    const jsonl = `${chunk.map((b) => b.line).join('\n')}\n`;
    const inputFileId = await api.uploadBatchFile(jsonl, `memories-stage1-${submittedAt}.jsonl`);
    info = await api.createBatch(inputFileId, { purpose: 'memories-stage1', worker: deps.workerId.slice(0, 500) });
  } catch (error) {
    // No model work happened: give the jobs back (no retry spent) so a later run takes them.
    result.error ??= cleanReason(`batch submission failed: ${errorMessage(error)}`);
    await Promise.all(chunk.map(({ claim }) => store.releaseStage1Job(claim.thread.threadId, claim.ownershipToken)));
    result.released.push(...threadIds);
    deps.log.warn({ threadIds, reason: result.error }, 'phase 1 batch submission failed; jobs released');
    return;
  }
  const jobs = chunk.map(({ claim }) => ({ customId: claim.thread.threadId, thread: claim.thread, ownershipToken: claim.ownershipToken }));
  const { held, lost } = await store.recordBatch(
    { batchId: info.id, inputFileId: info.inputFileId, endpoint: BATCH_ENDPOINT, model: deps.config.phase1Model, workerId: deps.workerId, submittedAt, expiresAt: info.expiresAt, jobs },
    BATCH_LEASE_SECONDS,
  );
  result.batches.push({ batchId: info.id, inputFileId: info.inputFileId, threadIds: held });
  result.submitted += held.length;
  result.lost.push(...lost);
  deps.log.info({ batchId: info.id, jobs: held.length, lost: lost.length }, 'phase 1 batch submitted');
}

/** Splits the lines so that no input file exceeds the Batch API's limits. */
function chunksOf(built: BuiltLine[]): BuiltLine[][] {
  const chunks: BuiltLine[][] = [];
  let bytes = 0;
  for (const item of built) {
    const size = Buffer.byteLength(item.line) + 1;
    const current = chunks.at(-1);
    if (current && bytes + size <= MAX_BATCH_FILE_BYTES && current.length < MAX_BATCH_REQUESTS) {
      current.push(item);
      bytes += size;
    } else {
      chunks.push([item]);
      bytes = size;
    }
  }
  return chunks;
}
