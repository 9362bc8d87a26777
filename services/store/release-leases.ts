// The leases a running coordinator holds, and giving them back when it is stopped: `stopPipeline` (a local run, the
// daemon) and a fleet pass (services/fleet/namespace-pass.ts) stop the same machines the same way.
import type { AnyActorRef } from 'xstate';
import type { GlobalClaim } from '../../machines/consolidation.ts';
import type { PipelineDeps } from '../pipeline-deps.ts';
import type { Stage1Claim } from '../types.ts';

export interface HeldLeases {
  /** Stage-1 claims not finished yet: queued, backing off, or in an extraction child. */
  claims: Stage1Claim[];
  /** A running consolidation's claim. */
  global: GlobalClaim | null;
}

/** What a coordinator actor holds right now, read from its snapshot and its children's. */
export function heldLeases(coordinator: AnyActorRef): HeldLeases {
  const snapshot = coordinator.getSnapshot() as {
    context: { pending: Stage1Claim[] };
    children: Record<string, AnyActorRef | undefined>;
  };
  const claims = [...snapshot.context.pending];
  let global: GlobalClaim | null = null;
  for (const [id, child] of Object.entries(snapshot.children)) {
    const state = child?.getSnapshot() as { status?: string; context?: { claim?: Stage1Claim | GlobalClaim | null } } | undefined;
    const claim = state?.status === 'active' ? state.context?.claim : null;
    if (!claim) continue;
    // Extraction children hold a stage-1 claim (with its thread); the consolidation child's is global.
    if ('thread' in claim) claims.push(claim);
    else if (id === 'consolidation') global = claim;
  }
  return { claims, global };
}

/**
 * Stops the coordinator (aborting its model calls) and gives back every lease it held, so another run or worker
 * takes those jobs at once instead of after the lease; resolves once the store has them.
 */
export async function stopReleasingLeases(
  coordinator: AnyActorRef,
  deps: Pick<PipelineDeps, 'store' | 'inflight'>,
): Promise<void> {
  // Read before stopping: a stopped actor's children are gone.
  const { claims, global } = heldLeases(coordinator);
  coordinator.stop();
  // Releasing a token twice (a job that finished meanwhile) is a no-op.
  for (const { thread, ownershipToken } of claims) {
    deps.inflight.track(deps.store.releaseStage1Job(thread.threadId, ownershipToken));
  }
  if (global) deps.inflight.track(deps.store.releaseGlobalJob(global.ownershipToken));
  await deps.inflight.settle();
}
