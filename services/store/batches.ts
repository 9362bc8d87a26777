// Batch mode's records (beyond Codex): which provider batch holds which stage-1 jobs, and the
// leases that span the batch window.
import { keyed } from './documents.ts';
import type { BatchRecord, BatchStore, PendingBatch, RecordBatchResult } from './port.ts';
import { ownedStage1 } from './stage1-jobs.ts';
import type { Transact, Tx } from './transaction.ts';

/** Extends the lease of each owned job; returns the thread ids extended. */
function extendLeases(tx: Tx, jobs: Array<{ threadId: string; ownershipToken: string }>, leaseSeconds: number): string[] {
  const extended: string[] = [];
  for (const { threadId, ownershipToken } of jobs) {
    const job = ownedStage1(tx, threadId, ownershipToken);
    if (!job) continue;
    job.leaseUntil = tx.now + leaseSeconds;
    extended.push(threadId);
  }
  if (extended.length > 0) tx.jobsDirty = true;
  return extended;
}

export function batchMethods(transact: Transact): BatchStore {
  return {
    async recordBatch(record: BatchRecord, leaseSeconds: number): Promise<RecordBatchResult> {
      return transact(false, (tx) => {
        const refs = record.jobs.map((ref) => ({ threadId: ref.thread.threadId, ownershipToken: ref.ownershipToken }));
        const heldIds = new Set(extendLeases(tx, refs, leaseSeconds));
        const held = record.jobs.filter((ref) => heldIds.has(ref.thread.threadId));
        if (held.length > 0) {
          tx.jobs.batches ??= keyed();
          tx.jobs.batches[record.batchId] = { ...record, jobs: held };
          tx.jobsDirty = true;
        }
        const lost = record.jobs.filter((ref) => !heldIds.has(ref.thread.threadId)).map((ref) => ref.thread.threadId);
        return { held: held.map((ref) => ref.thread.threadId), lost };
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

    async extendStage1Leases(jobs, leaseSeconds) {
      return transact(false, (tx) => extendLeases(tx, jobs, leaseSeconds));
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
