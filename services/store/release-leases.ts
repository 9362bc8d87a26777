// The leases a running coordinator holds, and giving them back when it is stopped: `stopPipeline` (a local run, the
// daemon) and a fleet pass (services/fleet/namespace-pass.ts) stop the same machines the same way.
import type { AnyActorRef } from 'xstate';
import type { GlobalClaim } from '../../machines/consolidation.ts';
import { putFolderBack } from '../memory-history/actors.ts';
import type { PipelineDeps } from '../pipeline-deps.ts';
import type { Stage1Claim } from '../types.ts';

export interface HeldLeases {
  /** Stage-1 claims not finished yet: queued, backing off, or in an extraction child. */
  claims: Stage1Claim[];
  /** A running consolidation's claim. */
  global: GlobalClaim | null;
  /** The folder as the person left it, while a consolidation may have changed it and has not committed. */
  folderSnapshot: string | null;
}

/** Consolidation states after which the folder holds the run's committed baseline, or nothing of the run yet. */
const NOTHING_TO_UNDO = new Set(['claiming', 'snapshottingFolder', 'committingBaseline', 'recordingSuccess']);

type ChildSnapshot = {
  status?: string;
  value?: string | Record<string, unknown>;
  context?: { claim?: Stage1Claim | GlobalClaim | null; snapshot?: string | null };
};

/** What a coordinator actor holds right now, read from its snapshot and its children's. */
export function heldLeases(coordinator: AnyActorRef): HeldLeases {
  const snapshot = coordinator.getSnapshot() as {
    context: { pending: Stage1Claim[] };
    children: Record<string, AnyActorRef | undefined>;
  };
  const claims = [...snapshot.context.pending];
  let global: GlobalClaim | null = null;
  let folderSnapshot: string | null = null;
  for (const [id, child] of Object.entries(snapshot.children)) {
    const state = child?.getSnapshot() as ChildSnapshot | undefined;
    const claim = state?.status === 'active' ? state.context?.claim : null;
    if (!claim) continue;
    // Extraction children hold a stage-1 claim (with its thread); the consolidation child's is global.
    if ('thread' in claim) claims.push(claim);
    else if (id === 'consolidation') {
      global = claim;
      const step = typeof state?.value === 'string' ? state.value : Object.keys(state?.value ?? {})[0];
      if (step && !NOTHING_TO_UNDO.has(step)) folderSnapshot = state?.context?.snapshot ?? null;
    }
  }
  return { claims, global, folderSnapshot };
}

/**
 * Stops the coordinator (aborting its model calls) and gives back every lease it held, so another run or worker
 * takes those jobs at once instead of after the lease; resolves once the store has them.
 */
export async function stopReleasingLeases(
  coordinator: AnyActorRef,
  deps: Pick<PipelineDeps, 'store' | 'inflight' | 'layout' | 'log'>,
): Promise<void> {
  // Read before stopping: a stopped actor's children are gone.
  const { claims, global, folderSnapshot } = heldLeases(coordinator);
  coordinator.stop();
  // A consolidation stopped midway is undone as a failed one is, before its lease lets another run in: its agent's
  // half-written files would otherwise pass for the person's edits at the next run.
  if (folderSnapshot !== null) {
    // Logged there; the leases are released whatever became of the folder.
    await putFolderBack(deps.layout.root, folderSnapshot, deps.log, 'stopped').catch(() => undefined);
  }
  // Releasing a token twice (a job that finished meanwhile) is a no-op.
  for (const { thread, ownershipToken } of claims) {
    deps.inflight.track(deps.store.releaseStage1Job(thread.threadId, ownershipToken));
  }
  if (global) deps.inflight.track(deps.store.releaseGlobalJob(global.ownershipToken));
  await deps.inflight.settle();
}
