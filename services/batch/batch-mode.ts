// Batch mode (beyond Codex): phase-1 requests go through the OpenAI Batch API at half the price, and
// a later run collects the answers.
//
//   run N:    collect earlier batches ─▶ discover ─▶ claim (as usual) ─▶ submit: build each request,
//             upload one JSONL file, create the batch, record batch → (thread, token, snapshot) in
//             the store and stretch those leases over the batch window, in one transaction
//   run N+1:  collect: retrieve every recorded batch; finished ones are downloaded and each line
//             finalises its job with the stored token; batches still running are left alone
//
// Nothing is lost and nothing is extracted twice because every finalisation presents the ownership
// token of the claim the request was built for (the same fence as the synchronous path):
//  - while a batch runs, its jobs hold a live lease of window + margin, so no other run claims them;
//  - a collect that crashes half-way is redone by the next one: finalised jobs no longer match
//    their token and are skipped, the rest are finalised, then the record is dropped;
//  - a job whose lease did run out (nobody collected for a day) may be claimed again by anyone;
//    the late batch answer then fails the token check and is dropped, never written;
//  - a batch that failed, expired or was cancelled fails its remaining jobs with the batch status as
//    reason (durable retry: retry_at and the retry budget as usual); partial results of an expired
//    or cancelled batch are still used.
// Known gap: a crash between creating the batch and recording it orphans that batch; its jobs keep
// their one-hour claim lease and are claimed again after it (the orphan's answers are never read).
import { createActor, toPromise } from 'xstate';
import type { DiscoveryResult } from '../../machines/coordinator.ts';
import { BATCH_ENDPOINT, type BatchApi, type BatchInfo, type BatchStatus } from './batch-api.ts';
import { STAGE1_RETRY_DELAY_SECONDS } from '../constants.ts';
import { ConfigError, errorMessage } from '../errors.ts';
import { MAX_REPLY_CHARS } from '../model/model-client.ts';
import { phase1Actors } from '../extraction/actors.ts';
import type { PipelineDeps } from '../pipeline-deps.ts';
import { pool } from '../pool.ts';
import { redactSecrets } from '../redaction/redact.ts';
import { buildStageOneRequest } from '../extraction/stage-one-prompt.ts';
import { parseStage1Reply } from '../extraction/stage-one-parse.ts';
import {
  type BatchJobRef,
  type BatchRecord,
  type BatchStore,
  isBatchStore,
  type MemoryStore,
  type PendingBatch,
  type PendingBatchJob,
} from '../store/port.ts';
import type { SkipCounts, Stage1Claim, Stage1Reply, TokenUsage } from '../types.ts';
import { stage1ResponsesParams } from '../model/model-client.ts';
import { sumFinishedUsage } from '../usage.ts';

/** The provider's completion window. */
export const BATCH_WINDOW_SECONDS = 24 * 3_600;
/** Extra lease beyond the window: time for the provider to finalise and for a run to come by. */
export const BATCH_LEASE_MARGIN_SECONDS = 3_600;
/** Lease of a job held by a submitted batch. */
export const BATCH_LEASE_SECONDS = BATCH_WINDOW_SECONDS + BATCH_LEASE_MARGIN_SECONDS;
/** The Batch API's input limits (200 MB, 50,000 requests per file), with headroom on the size. */
export const MAX_BATCH_FILE_BYTES = 190 * 1024 * 1024;
export const MAX_BATCH_REQUESTS = 50_000;
/** Same key as the synchronous path, so both share the provider's prompt cache. */
const PROMPT_CACHE_KEY = 'memories-stage1';
const BUILD_CONCURRENCY = 4;
const REASON_LIMIT = 1_000;

const RUNNING_STATUSES: ReadonlySet<BatchStatus> = new Set(['validating', 'in_progress', 'finalizing', 'cancelling']);

// ---- request bodies ---------------------------------------------------------------------------------

/** The Responses body of one stage-1 request: exactly what the synchronous call sends, minus `stream`. */
export function stage1BatchBody(model: string, instructions: string, input: string) {
  return stage1ResponsesParams({ model, instructions, input, promptCacheKey: PROMPT_CACHE_KEY });
}

/** One line of the batch input file. */
export interface BatchInputLine {
  custom_id: string;
  method: 'POST';
  url: typeof BATCH_ENDPOINT;
  body: ReturnType<typeof stage1BatchBody>;
}

// ---- submit -----------------------------------------------------------------------------------------

export interface SubmittedBatch {
  batchId: string;
  inputFileId: string;
  /** Thread ids the batch holds (their leases now cover the batch window). */
  threadIds: string[];
}

export interface BatchSubmitResult {
  batches: SubmittedBatch[];
  /** Jobs now waiting in a batch. */
  submitted: number;
  /** Jobs whose request could not be built (e.g. unreadable rollout): failed with the reason. */
  failed: Array<{ threadId: string; reason: string }>;
  /** Jobs given back untouched because the upload or batch creation failed (claimable again at once). */
  released: string[];
  /** Jobs whose lease was taken before the batch was recorded; their batch answers will be ignored. */
  lost: string[];
  /** Why an upload or batch creation failed, if one did. */
  error: string | null;
}

/**
 * Submits the given claims (owned, running stage-1 jobs, e.g. from `store.claimStage1Jobs`) as one
 * batch (more if the input would exceed the Batch API's file limits). Never throws for a provider
 * failure: the affected jobs are released and the reason is in `error`.
 */
export async function submitBatch(deps: PipelineDeps, api: BatchApi, claims: Stage1Claim[]): Promise<BatchSubmitResult> {
  const store = batchStoreOf(deps.store);
  const result: BatchSubmitResult = { batches: [], submitted: 0, failed: [], released: [], lost: [], error: null };
  if (claims.length === 0) return result;
  const model = deps.config.phase1Model;

  const built: Array<{ claim: Stage1Claim; line: string }> = [];
  await pool(claims, BUILD_CONCURRENCY, async (claim) => {
    const { thread, ownershipToken } = claim;
    try {
      const request = await buildStageOneRequest({ thread, model });
      // The session's citations count now: the reply comes in a later run, and counting is idempotent.
      await store.recordCitations(thread.threadId, request.citedThreadIds, thread.updatedAt);
      const line: BatchInputLine = {
        custom_id: customIdFor(claim),
        method: 'POST',
        url: BATCH_ENDPOINT,
        body: stage1BatchBody(model, request.instructions, request.input),
      };
      built.push({ claim, line: JSON.stringify(line) });
    } catch (error) {
      const reason = clip(redactSecrets(`could not build the stage-1 request: ${errorMessage(error)}`));
      await store.markStage1Failed(thread.threadId, ownershipToken, reason, STAGE1_RETRY_DELAY_SECONDS);
      result.failed.push({ threadId: thread.threadId, reason });
      deps.log.warn({ threadId: thread.threadId, reason }, `Phase 1 job failed for thread ${thread.threadId}`);
    }
  });
  // Claim order (newest first) rather than build-completion order, so the file is deterministic.
  const order = new Map(claims.map((c, i) => [c.thread.threadId, i]));
  built.sort((a, b) => order.get(a.claim.thread.threadId)! - order.get(b.claim.thread.threadId)!);

  for (const chunk of chunksOf(built)) {
    const threadIds = chunk.map(({ claim }) => claim.thread.threadId);
    let info: BatchInfo;
    try {
      const jsonl = `${chunk.map((b) => b.line).join('\n')}\n`;
      const inputFileId = await api.uploadBatchFile(jsonl, `memories-stage1-${Math.floor(deps.now() / 1000)}.jsonl`);
      info = await api.createBatch(inputFileId, { purpose: 'memories-stage1', worker: deps.workerId.slice(0, 500) });
    } catch (error) {
      // No model work happened: give the jobs back (no retry spent) so a later run takes them.
      result.error ??= clip(redactSecrets(`batch submission failed: ${errorMessage(error)}`));
      await Promise.all(chunk.map(({ claim }) => store.releaseStage1Job(claim.thread.threadId, claim.ownershipToken)));
      result.released.push(...threadIds);
      deps.log.warn({ threadIds, reason: result.error }, 'phase 1 batch submission failed; jobs released');
      continue;
    }
    const record: BatchRecord = {
      batchId: info.id,
      inputFileId: info.inputFileId,
      endpoint: BATCH_ENDPOINT,
      model,
      workerId: deps.workerId,
      submittedAt: Math.floor(deps.now() / 1000),
      expiresAt: info.expiresAt,
      jobs: chunk.map(({ claim }): BatchJobRef => ({
        customId: customIdFor(claim),
        thread: claim.thread,
        ownershipToken: claim.ownershipToken,
      })),
    };
    const { held, lost } = await store.recordBatch(record, BATCH_LEASE_SECONDS);
    result.batches.push({ batchId: info.id, inputFileId: info.inputFileId, threadIds: held });
    result.submitted += held.length;
    result.lost.push(...lost);
    deps.log.info({ batchId: info.id, jobs: held.length, lost: lost.length }, 'phase 1 batch submitted');
  }
  return result;
}

function customIdFor(claim: Stage1Claim): string {
  return claim.thread.threadId;
}

/** Splits the lines so that no input file exceeds the Batch API's limits. */
function chunksOf<T extends { line: string }>(built: T[]): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of built) {
    const size = Buffer.byteLength(item.line) + 1;
    if (current.length > 0 && (bytes + size > MAX_BATCH_FILE_BYTES || current.length >= MAX_BATCH_REQUESTS)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

// ---- collect ----------------------------------------------------------------------------------------

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
  /** The provider's status, or null when it could not be retrieved. */
  status: BatchStatus | null;
  /**
   * collected: finished and finalised (jobs succeeded or failed); pending: still running, left alone;
   * abandoned: none of its jobs is held any more, record dropped; error: retrieve/download failed, retried next run.
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
  /** Usage of the finalised jobs (succeeded and no-output ones). */
  usage: TokenUsage;
}

/** Collects every recorded batch once: finished ones are finalised and dropped, running ones left alone. */
export async function collectBatches(deps: PipelineDeps, api: BatchApi): Promise<BatchCollectResult> {
  const store = batchStoreOf(deps.store);
  const batches: CollectedBatch[] = [];
  const jobs: CollectedJob[] = [];
  for (const record of await store.pendingBatches()) {
    try {
      batches.push(await collectOne(deps, store, api, record, jobs));
    } catch (error) {
      // A store failure mid-way: what was written stays written; the next collect redoes the rest.
      const detail = clip(redactSecrets(errorMessage(error)));
      deps.log.warn({ batchId: record.batchId, reason: detail }, 'phase 1 batch collection failed');
      batches.push({ batchId: record.batchId, status: null, outcome: 'error', detail, jobs: record.jobs.length });
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

async function collectOne(
  deps: PipelineDeps,
  store: MemoryStore & BatchStore,
  api: BatchApi,
  record: PendingBatch,
  jobs: CollectedJob[],
): Promise<CollectedBatch> {
  const base = { batchId: record.batchId, jobs: record.jobs.length };
  const owned = record.jobs.filter((j) => j.owned);
  if (owned.length === 0) {
    // Every job was finalised already (a collect that stopped before dropping the record) or its
    // lease ran out and it was claimed again: nothing of this batch may be written any more.
    await store.finishBatch(record.batchId);
    return { ...base, status: null, outcome: 'abandoned', detail: 'none of its jobs is held by this batch any more' };
  }

  let info: BatchInfo;
  try {
    info = await api.retrieveBatch(record.batchId);
  } catch (error) {
    const detail = clip(redactSecrets(`could not retrieve the batch: ${errorMessage(error)}`));
    deps.log.warn({ batchId: record.batchId, reason: detail }, 'phase 1 batch not retrieved');
    return { ...base, status: null, outcome: 'error', detail };
  }

  if (RUNNING_STATUSES.has(info.status)) {
    // Keep holding the jobs until the provider's deadline (plus margin), so a batch that is still
    // finalising near the end of its window is not claimed away under it.
    const now = Math.floor(deps.now() / 1000);
    const expiresAt = info.expiresAt ?? record.expiresAt;
    if (expiresAt !== null) {
      const lease = Math.max(0, expiresAt - now) + BATCH_LEASE_MARGIN_SECONDS;
      await store.extendStage1Leases(
        owned.map((j) => ({ threadId: j.thread.threadId, ownershipToken: j.ownershipToken })),
        lease,
      );
    }
    const counts = info.requestCounts ? ` (${info.requestCounts.completed + info.requestCounts.failed}/${info.requestCounts.total} done)` : '';
    deps.log.info({ batchId: record.batchId, status: info.status }, 'phase 1 batch still running');
    return { ...base, status: info.status, outcome: 'pending', detail: `${info.status}${counts}` };
  }

  // Finished (completed, failed, expired or cancelled): read whatever results exist, then fail the
  // jobs without one. Both files are read before anything is written, so a download failure leaves
  // the whole batch for the next run.
  let lines: string[];
  try {
    const texts = await Promise.all(
      [info.outputFileId, info.errorFileId].filter((id): id is string => id !== null).map((id) => api.fileContent(id)),
    );
    lines = texts.flatMap((text) => text.split('\n')).filter((line) => line.trim() !== '');
  } catch (error) {
    const detail = clip(redactSecrets(`could not download the batch results: ${errorMessage(error)}`));
    deps.log.warn({ batchId: record.batchId, reason: detail }, 'phase 1 batch results not downloaded');
    return { ...base, status: info.status, outcome: 'error', detail };
  }

  const results = new Map<string, LineResult>();
  let unreadable = 0;
  for (const line of lines) {
    const parsed = readLine(line);
    if (parsed.customId === null) {
      unreadable += 1;
      continue;
    }
    // The first line for a request wins (a well-behaved provider sends exactly one).
    if (!results.has(parsed.customId)) results.set(parsed.customId, parsed.result);
  }
  const missing = missingReason(record.batchId, info, unreadable);

  const finished = await Promise.all(
    record.jobs.map(async (job): Promise<CollectedJob> => {
      if (!job.owned) return { batchId: record.batchId, threadId: job.thread.threadId, outcome: 'stale', reason: null, usage: null };
      return finalise(deps, store, record.batchId, job, results.get(job.customId) ?? { kind: 'error', reason: missing });
    }),
  );
  jobs.push(...finished);
  await store.finishBatch(record.batchId);
  const failed = finished.filter((j) => j.outcome === 'failed').length;
  deps.log.info(
    { batchId: record.batchId, status: info.status, jobs: finished.length, failed, unreadableLines: unreadable },
    'phase 1 batch collected',
  );
  const detail = info.status === 'completed' ? (unreadable > 0 ? `${unreadable} unreadable result line(s)` : null) : missing;
  return { ...base, status: info.status, outcome: 'collected', detail };
}

/** Why a job of a finished batch has no result line. */
function missingReason(batchId: string, info: BatchInfo, unreadable: number): string {
  const why = info.errors.length > 0 ? `: ${info.errors.join('; ')}` : '';
  const lost = unreadable > 0 ? ` (${unreadable} result line(s) could not be read)` : '';
  switch (info.status) {
    case 'failed':
      return clip(redactSecrets(`batch ${batchId} failed${why}`));
    case 'expired':
      return clip(redactSecrets(`batch ${batchId} expired before this request ran${why}`));
    case 'cancelled':
      return clip(redactSecrets(`batch ${batchId} was cancelled before this request ran${why}`));
    default:
      return clip(redactSecrets(`batch ${batchId} ${info.status} without a result for this request${lost}`));
  }
}

type LineResult = { kind: 'reply'; text: string; usage: TokenUsage | null } | { kind: 'error'; reason: string };

/** One output or error file line → the request's custom_id and its result; never throws. */
function readLine(line: string): { customId: string | null; result: LineResult } {
  let value: any;
  try {
    value = JSON.parse(line);
  } catch {
    // Salvage the request id, if the line still shows it, so that job fails with the true reason.
    const customId = /"custom_id"\s*:\s*"([^"\\]{1,200})"/.exec(line)?.[1] ?? null;
    return { customId, result: { kind: 'error', reason: 'batch result line is not valid JSON' } };
  }
  const customId = typeof value?.custom_id === 'string' ? value.custom_id : null;
  return { customId, result: resultOf(value) };
}

function resultOf(value: any): LineResult {
  if (value.error) {
    const code = typeof value.error.code === 'string' ? `${value.error.code}: ` : '';
    const message = typeof value.error.message === 'string' ? value.error.message : JSON.stringify(value.error);
    return { kind: 'error', reason: `batch request failed: ${code}${message}` };
  }
  const response = value.response;
  if (!response || typeof response !== 'object') return { kind: 'error', reason: 'batch result line has neither a response nor an error' };
  const status = response.status_code;
  const body = response.body;
  if (status !== 200) {
    const message = typeof body?.error?.message === 'string' ? body.error.message : typeof body === 'string' ? body : 'no message';
    return { kind: 'error', reason: `batch request failed (HTTP ${String(status)}): ${message}` };
  }
  if (!body || typeof body !== 'object' || !Array.isArray(body.output)) {
    return { kind: 'error', reason: 'batch response body is not a Responses object' };
  }
  if (body.status === 'incomplete') {
    return { kind: 'error', reason: `model reply is incomplete (${body.incomplete_details?.reason ?? 'unknown reason'})` };
  }
  if (body.status === 'failed') return { kind: 'error', reason: `model response failed: ${body.error?.message ?? 'no reason given'}` };
  let text = '';
  for (const item of body.output) {
    if (item?.type !== 'message' || !Array.isArray(item.content)) continue;
    for (const part of item.content) {
      if (part?.type === 'output_text' && typeof part.text === 'string') text += part.text;
      else if (part?.type === 'refusal') return { kind: 'error', reason: `model refused: ${String(part.refusal).slice(0, 200)}` };
    }
    if (text.length > MAX_REPLY_CHARS) {
      return { kind: 'error', reason: `model reply exceeded ${MAX_REPLY_CHARS} characters; refusing to keep it` };
    }
  }
  return { kind: 'reply', text, usage: usageOf(body.usage) };
}

/** Writes one job's result with the batch's token: the same outcomes as the synchronous extractOne. */
async function finalise(
  deps: PipelineDeps,
  store: MemoryStore,
  batchId: string,
  job: PendingBatchJob,
  result: LineResult,
): Promise<CollectedJob> {
  const { thread, ownershipToken } = job;
  const threadId = thread.threadId;
  let reply: Stage1Reply | null = null;
  let reason: string | null = null;
  if (result.kind === 'reply') {
    try {
      reply = redactReply(parseStage1Reply(result.text));
    } catch (error) {
      reason = errorMessage(error);
    }
  } else {
    reason = result.reason;
  }

  if (reply === null) {
    // Error texts can quote the model's reply, so they are redacted like any output.
    const clean = clip(redactSecrets(reason ?? 'unknown failure'));
    const written = await store.markStage1Failed(threadId, ownershipToken, clean, STAGE1_RETRY_DELAY_SECONDS);
    if (written) deps.log.warn({ threadId, batchId, reason: clean }, `Phase 1 job failed for thread ${threadId}`);
    return { batchId, threadId, outcome: written ? 'failed' : 'stale', reason: clean, usage: null };
  }

  const usage = result.kind === 'reply' ? result.usage : null;
  // Codex: an exactly-empty raw memory or summary means "nothing worth remembering".
  const noOutput = reply.rawMemory === '' || reply.rolloutSummary === '';
  const written = noOutput
    ? await store.markStage1SucceededNoOutput(threadId, ownershipToken, usage)
    : await store.markStage1Succeeded(thread, ownershipToken, reply, usage);
  if (!written) return { batchId, threadId, outcome: 'stale', reason: null, usage: null };
  deps.log.info({ threadId, batchId, outcome: noOutput ? 'noOutput' : 'output', usage }, 'phase 1 job finished');
  return { batchId, threadId, outcome: noOutput ? 'succeededNoOutput' : 'succeeded', reason: null, usage };
}

// ---- one batch-mode phase 1 -------------------------------------------------------------------------

export interface BatchPhase1Summary {
  /** What this run collected from earlier batches (first). */
  collected: BatchCollectResult;
  filesSeen: number;
  eligible: number;
  ineligible: number;
  claimed: number;
  skipped: SkipCounts;
  /** What this run submitted (after collecting). */
  submitted: BatchSubmitResult;
  /** Discovery or claim failure, if any (collection still happened). */
  error: string | null;
}

/**
 * Phase 1 in batch mode: collect earlier batches, then discover and claim exactly as the coordinator
 * does (the same `discover` and `claim` actor logic), then submit the claims as a new batch.
 */
export async function runBatchPhase1(deps: PipelineDeps, api: BatchApi): Promise<BatchPhase1Summary> {
  batchStoreOf(deps.store);
  const collected = await collectBatches(deps, api);
  const summary: BatchPhase1Summary = {
    collected,
    filesSeen: 0,
    eligible: 0,
    ineligible: 0,
    claimed: 0,
    skipped: { upToDate: 0, running: 0, retryBackoff: 0, retryExhausted: 0 },
    submitted: { batches: [], submitted: 0, failed: [], released: [], lost: [], error: null },
    error: null,
  };
  const actors = phase1Actors(deps);
  let claims: Stage1Claim[];
  try {
    const discovery: DiscoveryResult = await toPromise(createActor(actors.discover).start());
    Object.assign(summary, { filesSeen: discovery.filesSeen, eligible: discovery.candidates.length, ineligible: discovery.ineligible });
    const claimed = await toPromise(createActor(actors.claim, { input: { candidates: discovery.candidates } }).start());
    claims = claimed.claims;
    summary.claimed = claims.length;
    summary.skipped = claimed.skipped;
  } catch (error) {
    summary.error = errorMessage(error);
    return summary;
  }
  summary.submitted = await submitBatch(deps, api, claims);
  return summary;
}

// ---- helpers ----------------------------------------------------------------------------------------

function batchStoreOf(store: MemoryStore): MemoryStore & BatchStore {
  if (!isBatchStore(store)) {
    throw new ConfigError('batch mode needs a store that records batches (the default lowdb store does); this store does not');
  }
  return store;
}

function redactReply(reply: Stage1Reply): Stage1Reply {
  return {
    rawMemory: redactSecrets(reply.rawMemory),
    rolloutSummary: redactSecrets(reply.rolloutSummary),
    rolloutSlug: reply.rolloutSlug === null ? null : redactSecrets(reply.rolloutSlug),
  };
}

function usageOf(usage: any): TokenUsage | null {
  if (!usage || typeof usage !== 'object') return null;
  const n = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : 0);
  const input = n(usage.input_tokens);
  const output = n(usage.output_tokens);
  return {
    input,
    cachedInput: n(usage.input_tokens_details?.cached_tokens),
    output,
    reasoningOutput: n(usage.output_tokens_details?.reasoning_tokens),
    total: typeof usage.total_tokens === 'number' ? usage.total_tokens : input + output,
  };
}


function clip(text: string): string {
  return text.length > REASON_LIMIT ? `${text.slice(0, REASON_LIMIT)}…` : text;
}

// ---- reporting ----------------------------------------------------------------------------------------

/** Human lines for a batch-mode phase 1 (the CLI prints them; `--json` can print the summary itself). */
export function formatBatchPhase1(summary: BatchPhase1Summary): string[] {
  const lines: string[] = [];
  const c = summary.collected;
  for (const batch of c.batches) {
    const detail = batch.detail ? ` — ${batch.detail}` : '';
    lines.push(`  batch ${batch.batchId}: ${batch.outcome}${batch.status ? ` (${batch.status})` : ''}, ${batch.jobs} job(s)${detail}`);
  }
  for (const job of c.jobs) {
    if (job.outcome === 'stale') continue;
    const tokens = job.usage ? ` ${job.usage.total} tokens` : '';
    const why = job.reason ? ` — ${job.reason}` : '';
    lines.push(`  ${job.outcome.padEnd(17)} ${job.threadId}${tokens}${why}`);
  }
  lines.push(
    `phase 1 (batch): collected ${c.succeeded + c.succeededNoOutput} succeeded (${c.succeededNoOutput} without output), ` +
      `${c.failed} failed from ${c.batches.filter((b) => b.outcome === 'collected').length} batch(es); ` +
      `${c.pending} batch(es) still running; ${c.usage.total} tokens`,
  );
  const s = summary.submitted;
  lines.push(
    `phase 1 (batch): ${summary.claimed} job(s) claimed, ${s.submitted} submitted in ${s.batches.length} batch(es)` +
      (s.batches.length > 0 ? ` (${s.batches.map((b) => b.batchId).join(', ')})` : '') +
      (s.failed.length > 0 ? `, ${s.failed.length} failed` : '') +
      (s.released.length > 0 ? `, ${s.released.length} released` : ''),
  );
  if (s.error) lines.push(`phase 1 (batch): ${s.error}`);
  if (summary.error) lines.push(`phase 1 (batch): ${summary.error}`);
  return lines;
}
