// Stage-1 outputs as phase 2 and the user see them: listing, selection (§4.6, §5.7), forgetting, citations, status.
import type { Stage1Output } from '../types.ts';
import { enqueueInTx } from './global-job.ts';
import type { MemoryStore, Phase2Selection, StoreStatus } from './port.ts';
import type { Transact, Tx } from './transaction.ts';

const DAY_SECONDS = 86_400;

/** §5.7: rows whose memory or summary is blank are stored but never consolidated. */
const hasContent = (output: Stage1Output) => output.rawMemory.trim() !== '' || output.rolloutSummary.trim() !== '';

/** SQL-like descending order of thread ids (byte order, not locale order). */
const compareDesc = (a: string, b: string) => (a < b ? 1 : a > b ? -1 : 0);

export function outputMethods(transact: Transact) {
  return {
    async listStage1OutputsForGlobal(n) {
      if (n <= 0) return [];
      return transact(true, (tx) =>
        Object.values(tx.outputs.outputs)
          .filter(hasContent)
          .sort((a, b) => b.sourceUpdatedAt - a.sourceUpdatedAt || compareDesc(a.threadId, b.threadId))
          .slice(0, n),
      );
    },

    async getPhase2Selection(n, maxUnusedDays): Promise<Phase2Selection> {
      return transact(true, (tx) => selectForPhase2(tx, n, maxUnusedDays));
    },

    async forgetThread(threadId) {
      return transact(true, (tx) => {
        const output = tx.outputs.outputs[threadId];
        if (!output) return false;
        delete tx.outputs.outputs[threadId];
        tx.outputsDirty = true;
        // The marked job row keeps the rollout from being extracted again until it changes.
        const job = tx.jobs.stage1[threadId];
        if (job) job.outcome = 'forgotten';
        enqueueInTx(tx, output.sourceUpdatedAt);
        return true;
      });
    },

    async recordCitations(citingThreadId, citedThreadIds, atSeconds) {
      if (citedThreadIds.length === 0) return 0;
      return transact(true, (tx) => {
        let bumped = 0;
        for (const cited of citedThreadIds) {
          const output = tx.outputs.outputs[cited];
          // A session cannot vouch for its own memory; a forgotten or empty one has nothing to rank.
          if (!output || cited === citingThreadId || output.citedBy?.includes(citingThreadId)) continue;
          output.citedBy = [...(output.citedBy ?? []), citingThreadId];
          output.usageCount += 1;
          output.lastUsage = Math.max(output.lastUsage ?? 0, atSeconds);
          bumped++;
        }
        if (bumped > 0) tx.outputsDirty = true;
        return bumped;
      });
    },

    async status(): Promise<StoreStatus> {
      return transact(true, (tx) => ({
        jobs: Object.values(tx.jobs.stage1),
        globalJob: tx.jobs.global,
        outputs: Object.values(tx.outputs.outputs),
        lastSelection: tx.jobs.lastSelection,
        batches: Object.values(tx.jobs.batches ?? {}),
      }));
    },
  } satisfies Partial<MemoryStore>;
}

function selectForPhase2(tx: Tx, n: number, maxUnusedDays: number): Phase2Selection {
  // maxUnusedDays ≤ 0 disables the age filter: read literally, a typo'd 0 would forget every memory.
  const cutoff = maxUnusedDays > 0 ? tx.now - maxUnusedDays * DAY_SECONDS : -Infinity;
  const recency = (o: Stage1Output) => o.lastUsage ?? o.sourceUpdatedAt;
  const selected = Object.values(tx.outputs.outputs)
    .filter((o) => hasContent(o) && recency(o) >= cutoff)
    .sort(
      (a, b) =>
        b.usageCount - a.usageCount ||
        recency(b) - recency(a) ||
        b.sourceUpdatedAt - a.sourceUpdatedAt ||
        compareDesc(a.threadId, b.threadId),
    )
    .slice(0, Math.max(0, n));
  const previous = new Map(tx.jobs.lastSelection.map((e) => [e.threadId, e.sourceUpdatedAt]));
  const selectedIds = new Set(selected.map((o) => o.threadId));
  // A refreshed thread (new snapshot) stays "added" until phase 2 succeeds on it.
  const retainedThreadIds = selected.filter((o) => previous.get(o.threadId) === o.sourceUpdatedAt).map((o) => o.threadId);
  const removed = tx.jobs.lastSelection
    .filter((e) => !selectedIds.has(e.threadId))
    .map((e) => tx.outputs.outputs[e.threadId] ?? { threadId: e.threadId });
  return { selected, retainedThreadIds, removed };
}
