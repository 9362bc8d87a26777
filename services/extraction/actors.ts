// The I/O behind the coordinator's phase-1 actors and each extraction actor.
import { fromPromise } from 'xstate';
import type { DiscoveryResult } from '../../machines/coordinator.ts';
import type { ExtractionReply, ExtractionRequestInput, ExtractionResult } from '../../machines/extraction.ts';
import { INTERACTIVE_SOURCES, STAGE1_LEASE_SECONDS, THREAD_SCAN_LIMIT } from '../constants.ts';
import { countNotIdleYet, discoverRollouts, selectEligible } from '../rollouts/discovery.ts';
import { LeaseLostError } from '../errors.ts';
import type { PipelineDeps } from '../pipeline-deps.ts';
import { redactSecrets } from '../redaction/redact.ts';
import { buildStageOneRequest, type StageOneRequest } from './stage-one-prompt.ts';
import { openRolloutIndex } from '../rollouts/rollout-index.ts';
import type { Stage1Claim, Stage1Reply } from '../types.ts';

export function phase1Actors(deps: PipelineDeps) {
  const { store, config } = deps;
  return {
    discover: fromPromise<DiscoveryResult, void>(async () => {
      const index = await openRolloutIndex(deps.stateDir);
      const found = await discoverRollouts(deps.codexHome, { cache: index });
      await index.save();
      const rules = {
        nowSeconds: Math.floor(deps.now() / 1000),
        maxAgeDays: config.maxRolloutAgeDays,
        minIdleHours: config.minRolloutIdleHours,
        minIdleMinutes: deps.minIdleMinutes,
        allowedSources: deps.allowedSources ?? INTERACTIVE_SOURCES,
        scanLimit: THREAD_SCAN_LIMIT,
      };
      const candidates = selectEligible(found.threads, rules);
      for (const { path, reason } of found.unreadable) deps.log.warn({ path, reason }, 'rollout skipped');
      for (const { threadId, reason } of found.withheld ?? []) deps.log.info({ threadId, reason }, 'thread withheld by Codex');
      const ineligible = found.threads.length - candidates.length;
      const notIdleYet = countNotIdleYet(found.threads, rules);
      const withheld = found.withheld?.length ?? 0;
      return { candidates, filesSeen: found.filesSeen, ineligible, notIdleYet, withheld, unreadable: found.unreadable.length };
    }),

    claim: fromPromise(
      async ({ input, signal }: { input: { candidates: DiscoveryResult['candidates'] }; signal: AbortSignal }) => {
        const batch = await store.claimStage1Jobs({
          candidates: input.candidates,
          workerId: deps.workerId,
          maxClaimed: config.maxRolloutsPerStartup,
          leaseSeconds: STAGE1_LEASE_SECONDS,
        });
        // Stopped while the claim was being written: nobody will run these jobs, so give them back.
        if (signal.aborted) {
          const releases = batch.claims.map((c) => store.releaseStage1Job(c.thread.threadId, c.ownershipToken));
          deps.inflight.track(Promise.all(releases));
        }
        return batch;
      },
    ),
  };
}

export function extractionActors(deps: PipelineDeps) {
  const { store } = deps;
  const renew = ({ input }: { input: { claim: Stage1Claim } }) =>
    store.heartbeatStage1Job(input.claim.thread.threadId, input.claim.ownershipToken, STAGE1_LEASE_SECONDS);

  return {
    // The first attempt's claim was just written (the fenced write still catches a later loss); after a backoff,
    // renewing also tells whether the lease is still ours.
    confirmLease: fromPromise(async ({ input }: { input: { claim: Stage1Claim; attempt: number } }) =>
      input.attempt === 0 ? true : renew({ input }),
    ),
    renewLease: fromPromise(renew),

    // Built before the coordinator gives a model slot, so no slot waits on a rollout being read.
    build: fromPromise<StageOneRequest | null, { claim: Stage1Claim; attempt: number }>(({ input }) =>
      buildOne(deps, input.claim),
    ),

    request: fromPromise<ExtractionReply, ExtractionRequestInput>(({ input, signal }) => {
      const work = requestOne(deps, input, signal);
      // Stopped mid-call (shutdown): give the lease back so the next run takes the job at once.
      const released = work.catch(async (error) => {
        if (!signal.aborted) throw error;
        await store.releaseStage1Job(input.claim.thread.threadId, input.claim.ownershipToken);
        deps.log.info({ threadId: input.claim.thread.threadId }, 'released lease on shutdown');
        throw error;
      });
      deps.inflight.track(released);
      return released;
    }),

    record: fromPromise<ExtractionResult, { claim: Stage1Claim; reply: ExtractionReply }>(({ input }) => {
      // Not abortable: a shutdown waits for the write rather than lose a reply it paid for.
      const written = recordOne(deps, input.claim, input.reply);
      deps.inflight.track(written);
      return written;
    }),

    recordFailure: fromPromise(
      async ({ input }: { input: { claim: Stage1Claim; reason: string; retryDelaySeconds: number } }) => {
        const { threadId } = input.claim.thread;
        // Error texts can quote the model's reply, so they are redacted like any output.
        const reason = redactSecrets(input.reason);
        deps.log.warn({ threadId, reason }, `Phase 1 job failed for thread ${threadId}`);
        return store.markStage1Failed(threadId, input.claim.ownershipToken, reason, input.retryDelaySeconds);
      },
    ),
  };
}

function buildOne(deps: PipelineDeps, claim: Stage1Claim): Promise<StageOneRequest> {
  return buildStageOneRequest({ thread: claim.thread, model: deps.config.phase1Model, version: deps.layout.version });
}

async function requestOne(
  deps: PipelineDeps,
  { claim, built }: ExtractionRequestInput,
  signal: AbortSignal,
): Promise<ExtractionReply> {
  const { config, model } = deps;
  const { version } = deps.layout;
  const request = built ?? (await buildOne(deps, claim));
  const { reply, usage } = await model.extractStage1({
    version,
    model: config.phase1Model,
    instructions: request.instructions,
    input: request.input,
    signal,
    promptCacheKey: 'memories-stage1',
  });
  return {
    reply,
    usage,
    notes: {
      truncated: request.truncated,
      droppedItems: request.droppedItems,
      citedThreadIds: request.citedThreadIds,
      gitBranch: request.gitBranch,
    },
  };
}

/** The fenced store write of a reply, redacted. */
async function recordOne(
  deps: PipelineDeps,
  claim: Stage1Claim,
  { reply, usage, notes }: ExtractionReply,
): Promise<ExtractionResult> {
  const { ownershipToken } = claim;
  // The branch read while building the request fills in what discovery did not know.
  const thread = { ...claim.thread, gitBranch: claim.thread.gitBranch ?? notes.gitBranch ?? null };
  const clean = redactReply(reply);
  // Codex: an exactly-empty raw memory or summary means "nothing worth remembering"; v2 has no raw memory.
  const noOutput = clean.rolloutSummary === '' || (deps.layout.version === 'v1' && clean.rawMemory === '');
  // Before the fenced write: counting a citation again is a no-op, so a lost lease costs nothing.
  const cited = await deps.store.recordCitations(thread.threadId, notes.citedThreadIds, thread.updatedAt);
  const written = noOutput
    ? await deps.store.markStage1SucceededNoOutput(thread.threadId, ownershipToken, usage)
    : await deps.store.markStage1Succeeded(thread, ownershipToken, clean, usage);
  if (!written) throw new LeaseLostError(`lease on ${thread.threadId} was taken by another worker`);
  const kind = noOutput ? 'noOutput' : 'output';
  const { truncated, droppedItems } = notes;
  deps.log.info(
    { threadId: thread.threadId, outcome: kind, truncated, droppedItems, citedMemories: cited, usage },
    'phase 1 job finished',
  );
  return { kind, usage };
}

function redactReply(reply: Stage1Reply): Stage1Reply {
  return {
    rawMemory: redactSecrets(reply.rawMemory),
    rolloutSummary: redactSecrets(reply.rolloutSummary),
    rolloutSlug: reply.rolloutSlug === null ? null : redactSecrets(reply.rolloutSlug),
  };
}
