// Stage-1 outputs of one namespace as phase 2 and the user see them: listing, selection (§4.6, §5.7), forgetting,
// citations, status. Thread ids sort in byte order (COLLATE "C"), as the lowdb store and SQLite sort them.
import type { Stage1Output } from '../../types.ts';
import type { MemoryStore, Phase2Selection, SelectionEntry, StoreStatus } from '../port.ts';
import type { PgTx } from './connection.ts';
import { enqueueInTx } from './global-job.ts';
import { GLOBAL, JOB_COLUMNS, type JobRecord, jobOf, OUTPUT_COLUMNS, type OutputRecord, outputOf, STAGE1 } from './rows.ts';
import type { StoreScope } from './scope.ts';

const DAY_SECONDS = 86_400;

async function lastSelection(tx: PgTx, namespace: string): Promise<SelectionEntry[]> {
  const { rows } = await tx.query<{ last_selection: SelectionEntry[] | null }>(
    `SELECT last_selection FROM memories.jobs WHERE namespace = $1 AND kind = $2 AND job_key = 'global'`,
    [namespace, GLOBAL],
  );
  return rows[0]?.last_selection ?? [];
}

async function outputsWhere(tx: PgTx, namespace: string, where: string, params: unknown[], tail = '') {
  const { rows } = await tx.query<OutputRecord>(
    `SELECT ${OUTPUT_COLUMNS} FROM memories.stage1_outputs WHERE namespace = $1 AND ${where} ${tail}`,
    [namespace, ...params],
  );
  return rows.map(outputOf);
}

async function selectForPhase2(tx: PgTx, namespace: string, n: number, maxUnusedDays: number): Promise<Phase2Selection> {
  // maxUnusedDays ≤ 0 disables the age filter: read literally, a typo'd 0 would forget every memory.
  const cutoff = maxUnusedDays > 0 ? tx.now - maxUnusedDays * DAY_SECONDS : null;
  const selected = await outputsWhere(
    tx,
    namespace,
    'has_content AND ($2::bigint IS NULL OR COALESCE(last_usage, source_updated_at) >= $2)',
    [cutoff, Math.max(0, n)],
    `ORDER BY usage_count DESC, COALESCE(last_usage, source_updated_at) DESC, source_updated_at DESC,
              thread_id COLLATE "C" DESC LIMIT $3`,
  );
  const previousEntries = await lastSelection(tx, namespace);
  const previous = new Map(previousEntries.map((e) => [e.threadId, e.sourceUpdatedAt]));
  const selectedIds = new Set(selected.map((o) => o.threadId));
  // A refreshed thread (new snapshot) stays "added" until phase 2 succeeds on it.
  const retainedThreadIds = selected.filter((o) => previous.get(o.threadId) === o.sourceUpdatedAt).map((o) => o.threadId);
  const gone = previousEntries.filter((e) => !selectedIds.has(e.threadId));
  const rows = await outputsWhere(tx, namespace, 'thread_id = ANY($2)', [gone.map((e) => e.threadId)]);
  const byId = new Map(rows.map((o) => [o.threadId, o]));
  const removed = gone.map((e) => byId.get(e.threadId) ?? { threadId: e.threadId });
  return { selected, retainedThreadIds, removed };
}

export function outputMethods({ namespace, transact }: StoreScope) {
  return {
    async listStage1OutputsForGlobal(n) {
      if (n <= 0) return [];
      return transact((tx) =>
        outputsWhere(tx, namespace, 'has_content', [n], 'ORDER BY source_updated_at DESC, thread_id COLLATE "C" DESC LIMIT $2'),
      );
    },

    async getPhase2Selection(n, maxUnusedDays) {
      return transact((tx) => selectForPhase2(tx, namespace, n, maxUnusedDays));
    },

    async forgetThread(threadId) {
      return transact(async (tx) => {
        // The job row first, as every finalisation locks it first: two orders could deadlock.
        await tx.query('SELECT 1 FROM memories.jobs WHERE namespace = $1 AND kind = $2 AND job_key = $3 FOR UPDATE', [
          namespace,
          STAGE1,
          threadId,
        ]);
        const { rows } = await tx.query<{ source_updated_at: number }>(
          'DELETE FROM memories.stage1_outputs WHERE namespace = $1 AND thread_id = $2 RETURNING source_updated_at',
          [namespace, threadId],
        );
        if (rows.length === 0) return false;
        // The marked job row keeps the rollout from being extracted again until it changes.
        await tx.query(`UPDATE memories.jobs SET outcome = 'forgotten' WHERE namespace = $1 AND kind = $2 AND job_key = $3`, [
          namespace,
          STAGE1,
          threadId,
        ]);
        await enqueueInTx(tx, namespace, rows[0].source_updated_at);
        return true;
      });
    },

    async recordCitations(citingThreadId, citedThreadIds, atSeconds) {
      if (citedThreadIds.length === 0) return 0;
      return transact(async (tx) => {
        // A session cannot vouch for its own memory, and counts once per memory it cites.
        const { rowCount } = await tx.query(
          `UPDATE memories.stage1_outputs SET cited_by = array_append(COALESCE(cited_by, '{}'), $2),
                  usage_count = usage_count + 1, last_usage = GREATEST(COALESCE(last_usage, 0), $4)
            WHERE namespace = $1 AND thread_id = ANY($3) AND thread_id <> $2 AND NOT ($2 = ANY(COALESCE(cited_by, '{}')))`,
          [namespace, citingThreadId, citedThreadIds, atSeconds],
        );
        return rowCount ?? 0;
      });
    },

    async status(): Promise<StoreStatus> {
      return transact(async (tx) => {
        const { rows } = await tx.query<JobRecord>(
          `SELECT ${JOB_COLUMNS} FROM memories.jobs WHERE namespace = $1 ORDER BY kind = $2 DESC, seq`,
          [namespace, STAGE1],
        );
        const jobs = rows.map(jobOf);
        const outputs: Stage1Output[] = await outputsWhere(tx, namespace, 'true', [], 'ORDER BY thread_id COLLATE "C"');
        return {
          jobs: jobs.filter((job) => job.kind === STAGE1),
          globalJob: jobs.find((job) => job.kind === GLOBAL) ?? null,
          outputs,
          lastSelection: await lastSelection(tx, namespace),
        };
      });
    },
  } satisfies Partial<MemoryStore>;
}
