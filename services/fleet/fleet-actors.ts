// The actors a fleet worker gives the pipeline's machines for one namespace. Phase 1 finds its work in the shared
// queue instead of a sessions folder and copies each claimed rollout next to it; leases last the fleet's short lease
// (renewed by heartbeats), so a killed worker's jobs come back quickly; a consolidation starts from the namespace's
// newest revision and publishes its folder with its success. Everything else is the local pipeline's own actors.
import { fromPromise } from 'xstate';
import type { DiscoveryResult } from '../../machines/coordinator.ts';
import type { GlobalClaim, PreparedConsolidation } from '../../machines/consolidation.ts';
import { consolidationActors } from '../consolidation/actors.ts';
import { extractionActors } from '../extraction/actors.ts';
import type { PipelineDeps } from '../pipeline-deps.ts';
import type { PgDatabase } from '../store/postgres/connection.ts';
import type { SelectionEntry } from '../store/port.ts';
import type { GlobalClaimResult, Stage1Claim, ThreadInfo, TokenUsage } from '../types.ts';
import { readFolderFiles } from './folder-files.ts';
import { publishRevision } from './memory-revisions.ts';
import { claimableThreads, rolloutContents } from './rollout-queue.ts';
import { writeRolloutCopy } from './rollout-files.ts';
import { markSynced, syncWorkingFolder } from './working-folder.ts';

export interface FleetScope {
  db: PgDatabase;
  namespace: string;
  namespaceHome: string;
  /** Every lease this worker takes or renews lasts this long. */
  leaseSeconds: number;
  /** Candidates read per pass: more than one pass claims, so workers racing for the same ones still find others. */
  queueLimit: number;
}

/** Writes the copies of the claimed versions this worker does not have yet. */
async function copyClaimed(
  fleet: FleetScope,
  claims: Stage1Claim[],
  versions: Map<string, { sha256: string; fileName: string }>,
) {
  const wanted = claims.map((c) => versions.get(c.thread.threadId)!);
  const contents = await rolloutContents(fleet.db, fleet.namespace, [...new Set(wanted.map((v) => v.sha256))]);
  for (const version of wanted) {
    const content = contents.get(version.sha256);
    if (!content) throw new Error(`rollout ${version.sha256} of ${fleet.namespace} is not stored`);
    await writeRolloutCopy(fleet.namespaceHome, version.sha256, version.fileName, content);
  }
}

export function fleetPhase1Actors(deps: PipelineDeps, fleet: FleetScope) {
  const { store } = deps;
  // Per pass: which stored version each candidate is, for copying the claimed ones.
  const versions = new Map<string, { sha256: string; fileName: string }>();
  return {
    discover: fromPromise<DiscoveryResult, void>(async () => {
      const queued = await claimableThreads(fleet.db, fleet.namespace, fleet.namespaceHome, {
        limit: fleet.queueLimit,
        maxAgeDays: deps.config.maxRolloutAgeDays,
      });
      for (const q of queued) versions.set(q.thread.threadId, { sha256: q.sha256, fileName: q.fileName });
      return { candidates: queued.map((q) => q.thread), filesSeen: queued.length, ineligible: 0, unreadable: 0 };
    }),

    claim: fromPromise(async ({ input, signal }: { input: { candidates: ThreadInfo[] }; signal: AbortSignal }) => {
      const started = performance.now();
      const batch = await store.claimStage1Jobs({
        candidates: input.candidates,
        workerId: deps.workerId,
        maxClaimed: deps.config.maxRolloutsPerStartup,
        leaseSeconds: fleet.leaseSeconds,
      });
      // The claim's latency is the fleet's queue contention as a worker sees it (bench §9 reads these lines). A pass
      // with nothing queued asks the database nothing, and logs nothing.
      if (input.candidates.length > 0) {
        const ms = Math.round((performance.now() - started) * 10) / 10;
        deps.log.info(
          { namespace: fleet.namespace, candidates: input.candidates.length, claimed: batch.claims.length, ms },
          'stage-1 claim',
        );
      }
      const giveBack = () => Promise.all(batch.claims.map((c) => store.releaseStage1Job(c.thread.threadId, c.ownershipToken)));
      try {
        await copyClaimed(fleet, batch.claims, versions);
      } catch (error) {
        await giveBack().catch(() => undefined);
        throw error;
      }
      // Stopped while claiming: nobody will run these jobs.
      if (signal.aborted) deps.inflight.track(giveBack());
      return batch;
    }),
  };
}

export function fleetExtractionActors(deps: PipelineDeps, fleet: FleetScope) {
  const renew = ({ input }: { input: { claim: Stage1Claim } }) =>
    deps.store.heartbeatStage1Job(input.claim.thread.threadId, input.claim.ownershipToken, fleet.leaseSeconds);
  return {
    ...extractionActors(deps),
    confirmLease: fromPromise(async ({ input }: { input: { claim: Stage1Claim; attempt: number } }) =>
      input.attempt === 0 ? true : renew({ input }),
    ),
    renewLease: fromPromise(renew),
  };
}

type SuccessInput = { claim: GlobalClaim; prepared: PreparedConsolidation; usage: TokenUsage | null };

export function fleetConsolidationActors(deps: PipelineDeps, fleet: FleetScope) {
  const { store } = deps;
  const { root } = deps.layout;
  return {
    ...consolidationActors(deps),

    claimGlobal: fromPromise<GlobalClaimResult, void>(async () => {
      const claim = await store.claimGlobalJob(deps.workerId, fleet.leaseSeconds);
      if (claim.kind !== 'claimed') return claim;
      try {
        // Only now: with the lease held, nobody publishes a newer revision while this run builds on this one.
        await syncWorkingFolder(fleet.db, fleet.namespace, fleet.namespaceHome, root);
      } catch (error) {
        await store.releaseGlobalJob(claim.ownershipToken).catch(() => undefined);
        throw error;
      }
      return claim;
    }),

    renewLease: fromPromise(({ input }: { input: { claim: GlobalClaim } }) =>
      store.heartbeatGlobalJob(input.claim.ownershipToken, fleet.leaseSeconds),
    ),

    recordSuccess: fromPromise(async ({ input }: { input: SuccessInput }) => {
      const files = await readFolderFiles(root);
      // The selection the run consumed travels in its prepared step (services/consolidation/actors.ts).
      const selection = (input.prepared as { consumed?: SelectionEntry[] }).consumed ?? [];
      const published = await publishRevision(fleet.db, {
        namespace: fleet.namespace,
        ownershipToken: input.claim.ownershipToken,
        watermark: input.prepared.newWatermark,
        selection,
        usage: input.usage,
        files,
        workerId: deps.workerId,
      });
      if (!published) return false;
      await markSynced(fleet.namespaceHome, { revision: published.revision, digest: published.digest });
      deps.log.info({ namespace: fleet.namespace, revision: published.revision }, 'memory revision published');
      return true;
    }),
  };
}
