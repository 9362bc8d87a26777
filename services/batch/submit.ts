// Submitting claimed stage-1 jobs: build each request, upload one JSONL file, create the batch, then
// record it and stretch its jobs' leases over the batch window in one transaction. A crash before
// the record orphans the batch: its jobs are claimed again when their claim lease ends.
import { errorMessage } from '../errors.ts';
import { buildStageOneRequest } from '../extraction/stage-one-prompt.ts';
import { stage1ResponsesParams } from '../model/model-client.ts';
import type { PipelineDeps } from '../pipeline-deps.ts';
import { redactSecrets } from '../redaction/redact.ts';
import type { BatchStore, MemoryStore } from '../store/port.ts';
import type { Stage1Claim } from '../types.ts';
import { BATCH_ENDPOINT, BATCH_LEASE_SECONDS, type BatchApi } from './batch-api.ts';
import { finalise } from './collect.ts';

/** The Batch API's 200 MB input file limit, with headroom (its 50,000 requests exceed any run's claims). */
const MAX_BATCH_FILE_BYTES = 190 * 1024 * 1024;

export interface BatchSubmitResult {
  batches: Array<{ batchId: string; threadIds: string[] }>;
  submitted: number;
  /** Jobs whose request could not be built (e.g. unreadable rollout), failed with the durable retry. */
  failed: Array<{ threadId: string; reason: string }>;
  /** Jobs given back untouched because the upload or batch creation failed (claimable again at once). */
  released: string[];
  /** Why an upload or batch creation failed. */
  error: string | null;
}

type BuiltLine = { claim: Stage1Claim; line: string };

/** Submits owned, running stage-1 claims; a provider failure releases the affected jobs instead of throwing. */
export async function submitBatch(deps: PipelineDeps, api: BatchApi, claims: Stage1Claim[]): Promise<BatchSubmitResult> {
  const store = deps.store as MemoryStore & BatchStore;
  const result: BatchSubmitResult = { batches: [], submitted: 0, failed: [], released: [], error: null };
  const built: BuiltLine[] = [];
  for (const claim of claims) {
    const line = await buildLine(deps, claim).catch((error) => `could not build the stage-1 request: ${errorMessage(error)}`);
    if (typeof line !== 'string') {
      built.push(line);
      continue;
    }
    // Through the extraction machine's failure step: durable retry, redacted reason, log line.
    const { threadId, reason } = await finalise(deps, claim, { kind: 'error', reason: line });
    result.failed.push({ threadId, reason: reason ?? line });
  }
  for (const chunk of chunksOf(built)) {
    const threadIds = chunk.map(({ claim }) => claim.thread.threadId);
    const submittedAt = Math.floor(deps.now() / 1000);
    const jsonl = `${chunk.map((b) => b.line).join('\n')}\n`;
    const info = await api
      .uploadBatchFile(jsonl, `memories-stage1-${submittedAt}.jsonl`)
      .then((fileId) => api.createBatch(fileId, { purpose: 'memories-stage1', worker: deps.workerId.slice(0, 500) }))
      .catch((error) => redactSecrets(`batch submission failed: ${errorMessage(error)}`));
    if (typeof info === 'string') {
      // No model work happened: give the jobs back (no retry spent) so a later run takes them.
      result.error ??= info;
      await Promise.all(chunk.map(({ claim }) => store.releaseStage1Job(claim.thread.threadId, claim.ownershipToken)));
      result.released.push(...threadIds);
      deps.log.warn({ threadIds, reason: info }, 'phase 1 batch submission failed; jobs released');
      continue;
    }
    const { id: batchId, inputFileId, expiresAt } = info;
    const jobs = chunk.map(({ claim }) => ({ customId: claim.thread.threadId, ...claim }));
    const record = {
      batchId,
      inputFileId,
      endpoint: BATCH_ENDPOINT,
      model: deps.config.phase1Model,
      submittedAt,
      expiresAt,
      jobs,
    };
    const { held, lost } = await store.recordBatch({ ...record, workerId: deps.workerId }, BATCH_LEASE_SECONDS);
    result.batches.push({ batchId, threadIds: held });
    result.submitted += held.length;
    // Lost: claimed away before the batch was recorded; their answers will be ignored.
    deps.log.info({ batchId, jobs: held.length, lost: lost.length }, 'phase 1 batch submitted');
  }
  return result;
}

async function buildLine(deps: PipelineDeps, claim: Stage1Claim): Promise<BuiltLine> {
  const { thread } = claim;
  const model = deps.config.phase1Model;
  const { version } = deps.layout;
  const { instructions, input, citedThreadIds } = await buildStageOneRequest({ thread, model, version });
  // Citations count now: the reply comes in a later run, and counting again is a no-op.
  await deps.store.recordCitations(thread.threadId, citedThreadIds, thread.updatedAt);
  // The synchronous call's body minus `stream`, with its cache key, so both share the prompt cache.
  const body = stage1ResponsesParams({ model, instructions, input, promptCacheKey: 'memories-stage1', version });
  return { claim, line: JSON.stringify({ custom_id: thread.threadId, method: 'POST', url: BATCH_ENDPOINT, body }) };
}

/** Splits the lines so that no input file exceeds the Batch API's size limit. */
function chunksOf(built: BuiltLine[]): BuiltLine[][] {
  const chunks: BuiltLine[][] = [];
  let current: BuiltLine[] = [];
  let bytes = 0;
  for (const item of built) {
    const size = Buffer.byteLength(item.line) + 1;
    if (bytes + size > MAX_BATCH_FILE_BYTES && current.length > 0) [current, bytes] = [[], 0];
    if (current.length === 0) chunks.push(current);
    current.push(item);
    bytes += size;
  }
  return chunks;
}
