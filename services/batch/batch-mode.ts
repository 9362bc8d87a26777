// Batch mode (beyond Codex): phase-1 requests go through the OpenAI Batch API at half the price and
// a later run collects the answers. `machines/batch.ts` orders the steps; this file provides its
// actors: the coordinator's `discover` and `claim`, `collect` (collect.ts) and `submit` (submit.ts).
import { createActor, fromPromise, type InspectionEvent, toPromise } from 'xstate';
import { batchMachine } from '../../machines/batch.ts';
import { ConfigError } from '../errors.ts';
import { phase1Actors } from '../extraction/actors.ts';
import type { PipelineDeps } from '../pipeline-deps.ts';
import { isBatchStore, type MemoryStore } from '../store/port.ts';
import type { Stage1Claim } from '../types.ts';
import type { BatchApi } from './batch-api.ts';
import { collectBatches } from './collect.ts';
import { submitBatch } from './submit.ts';

/** The batch machine with every actor provided from services/. */
export function providedBatchMachine(deps: PipelineDeps, api: BatchApi) {
  if (!isBatchStore(deps.store)) {
    throw new ConfigError('batch mode needs a store that records batches (the default lowdb store does); this store does not');
  }
  return batchMachine.provide({
    actors: {
      ...phase1Actors(deps),
      collect: fromPromise(() => collectBatches(deps, api)),
      submit: fromPromise(({ input }: { input: { claims: Stage1Claim[] } }) => submitBatch(deps, api, input.claims)),
    },
  });
}

/** One batch-mode phase 1: collect earlier batches, then discover, claim and submit. */
export async function runBatchPhase1(deps: PipelineDeps, api: BatchApi, inspect?: (event: InspectionEvent) => void) {
  return toPromise(createActor(providedBatchMachine(deps, api), { inspect }).start());
}

/** Stage-1 jobs that submitted batches still hold (their leases last the batch window), and in how many batches. */
export async function heldByBatches(store: MemoryStore): Promise<{ jobs: number; batches: number }> {
  if (!isBatchStore(store)) return { jobs: 0, batches: 0 };
  const holding = (await store.pendingBatches()).map((b) => b.jobs.filter((j) => j.owned).length).filter((n) => n > 0);
  return { jobs: holding.reduce((sum, n) => sum + n, 0), batches: holding.length };
}
