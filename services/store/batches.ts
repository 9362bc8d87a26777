// Batch mode (beyond Codex): which provider batch holds which stage-1 jobs, leased over the batch window.
import { keyed } from './documents.ts';
import type { BatchJobRef, BatchRecord, BatchStore, PendingBatch, RecordBatchResult } from './port.ts';
import { ownedStage1 } from './stage1-jobs.ts';
import type { Transact } from './transaction.ts';

export function batchMethods(transact: Transact): BatchStore {
  return {
    async recordBatch(record: BatchRecord, leaseSeconds: number): Promise<RecordBatchResult> {
      return transact(false, (tx) => {
        const held: BatchJobRef[] = [];
        const lost: BatchJobRef[] = [];
        for (const ref of record.jobs) {
          const job = ownedStage1(tx, ref.thread.threadId, ref.ownershipToken);
          if (job) job.leaseUntil = tx.now + leaseSeconds;
          (job ? held : lost).push(ref);
        }
        if (held.length > 0) {
          tx.jobs.batches ??= keyed();
          tx.jobs.batches[record.batchId] = { ...record, jobs: held };
          tx.jobsDirty = true;
        }
        const ids = (refs: BatchJobRef[]) => refs.map((ref) => ref.thread.threadId);
        return { held: ids(held), lost: ids(lost) };
      });
    },

    async pendingBatches(): Promise<PendingBatch[]> {
      return transact(false, (tx) =>
        Object.values(tx.jobs.batches ?? {})
          .sort((a, b) => a.submittedAt - b.submittedAt || (a.batchId < b.batchId ? -1 : a.batchId > b.batchId ? 1 : 0))
          .map((record) => ({
            ...record,
            jobs: record.jobs.map((ref) => ({
              ...ref,
              owned: ownedStage1(tx, ref.thread.threadId, ref.ownershipToken) !== null,
            })),
          })),
      );
    },

    async finishBatch(batchId) {
      return transact(false, (tx) => {
        if (!tx.jobs.batches?.[batchId]) return false;
        delete tx.jobs.batches[batchId];
        tx.jobsDirty = true;
        return true;
      });
    },
  };
}
