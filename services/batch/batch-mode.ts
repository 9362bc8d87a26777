// Batch mode (beyond Codex): phase-1 requests go through the OpenAI Batch API at half the price and
// a later run collects the answers. `machines/batch.ts` orders the steps; this file provides its
// actors: the coordinator's `discover` and `claim`, `collect` (collect.ts) and `submit` (submit.ts).
import { createActor, fromPromise, toPromise } from 'xstate';
import { type BatchPhase1Summary, batchMachine } from '../../machines/batch.ts';
import { ConfigError } from '../errors.ts';
import { phase1Actors } from '../extraction/actors.ts';
import type { PipelineDeps } from '../pipeline-deps.ts';
import { isBatchStore } from '../store/port.ts';
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
export async function runBatchPhase1(deps: PipelineDeps, api: BatchApi): Promise<BatchPhase1Summary> {
  return toPromise(createActor(providedBatchMachine(deps, api)).start());
}

/** Human lines for a batch-mode phase 1 (the CLI prints them; `--json` prints the summary itself). */
export function formatBatchPhase1(summary: BatchPhase1Summary): string[] {
  const c = summary.collected;
  const s = summary.submitted;
  const lines = c.batches.map(
    (b) => `  batch ${b.batchId}: ${b.outcome}${b.status ? ` (${b.status})` : ''}, ${b.jobs} job(s)${b.detail ? ` — ${b.detail}` : ''}`,
  );
  for (const job of c.jobs.filter((j) => j.outcome !== 'stale')) {
    lines.push(`  ${job.outcome.padEnd(17)} ${job.threadId}${job.usage ? ` ${job.usage.total} tokens` : ''}${job.reason ? ` — ${job.reason}` : ''}`);
  }
  lines.push(
    `phase 1 (batch): collected ${c.succeeded + c.succeededNoOutput} succeeded (${c.succeededNoOutput} without output), ` +
      `${c.failed} failed from ${c.batches.filter((b) => b.outcome === 'collected').length} batch(es); ` +
      `${c.pending} batch(es) still running; ${c.usage.total} tokens`,
    `phase 1 (batch): ${summary.claimed} job(s) claimed, ${s.submitted} submitted in ${s.batches.length} batch(es)` +
      (s.batches.length > 0 ? ` (${s.batches.map((b) => b.batchId).join(', ')})` : '') +
      (s.failed.length > 0 ? `, ${s.failed.length} failed` : '') +
      (s.released.length > 0 ? `, ${s.released.length} released` : ''),
  );
  for (const error of [s.error, summary.error]) if (error) lines.push(`phase 1 (batch): ${error}`);
  return lines;
}
