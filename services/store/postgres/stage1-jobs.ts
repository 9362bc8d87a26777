// Stage-1 jobs of one namespace (shared spec §5.2–§5.5): claims (stage1-claims.ts), lease renewals and the fenced
// finalisations, each one transaction that writes nothing when the token no longer owns the job.
import { BadInputError } from '../../errors.ts';
import type { SkipCounts, Stage1Reply, ThreadInfo, TokenUsage } from '../../types.ts';
import { threadIdRefusal } from '../thread-id.ts';
import { DEFAULT_RETRY_REMAINING, SKIP_KEY_OF } from '../job-rows.ts';
import type { ClaimStage1Batch, MemoryStore } from '../port.ts';
import type { PgTx } from './connection.ts';
import { enqueueInTx } from './global-job.ts';
import { delaySeconds, FAIL_SET, hasContent, OWNED, RELEASE_SET, STAGE1 } from './rows.ts';
import type { StoreScope } from './scope.ts';
import { claimInTx } from './stage1-claims.ts';

/** §5.4: the owned running job is done; returns its input watermark, or null when the token no longer owns it. */
async function finishOwned(
  tx: PgTx,
  namespace: string,
  threadId: string,
  token: string,
  usage: TokenUsage | null,
  outcome: string,
) {
  const { rows } = await tx.query<{ input_watermark: number | null }>(
    `UPDATE memories.jobs SET status = 'done', finished_at = $5, lease_until = NULL, last_error = NULL,
            last_success_watermark = input_watermark, usage = $6, outcome = $7
      WHERE ${OWNED} RETURNING input_watermark`,
    [namespace, STAGE1, threadId, token, tx.now, JSON.stringify(usage), outcome],
  );
  return rows.length === 1 ? { inputWatermark: rows[0].input_watermark } : null;
}

/** Writes the thread's output, unless the stored one comes from a newer snapshot (§5.4); usage and citations stay. */
async function upsertOutput(tx: PgTx, namespace: string, thread: ThreadInfo, reply: Stage1Reply): Promise<void> {
  await tx.query(
    `INSERT INTO memories.stage1_outputs AS o (namespace, thread_id, source_updated_at, raw_memory, rollout_summary,
            rollout_slug, has_content, cwd, rollout_path, git_branch, generated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
     ON CONFLICT (namespace, thread_id) DO UPDATE SET source_updated_at = EXCLUDED.source_updated_at,
            raw_memory = EXCLUDED.raw_memory, rollout_summary = EXCLUDED.rollout_summary, rollout_slug = EXCLUDED.rollout_slug,
            has_content = EXCLUDED.has_content, cwd = EXCLUDED.cwd, rollout_path = EXCLUDED.rollout_path,
            git_branch = EXCLUDED.git_branch, generated_at = EXCLUDED.generated_at
      WHERE EXCLUDED.source_updated_at >= o.source_updated_at`,
    [
      namespace,
      thread.threadId,
      thread.updatedAt,
      reply.rawMemory,
      reply.rolloutSummary,
      reply.rolloutSlug,
      hasContent(reply.rawMemory, reply.rolloutSummary),
      thread.cwd,
      thread.rolloutPath,
      thread.gitBranch || null,
      tx.now,
    ],
  );
}

/** Remembers which global watermark a success made dirty: a consolidation at or past it has seen the result. */
async function noteEnqueued(tx: PgTx, namespace: string, threadId: string, watermark: number): Promise<void> {
  await tx.query('UPDATE memories.jobs SET enqueued_watermark = $4 WHERE namespace = $1 AND kind = $2 AND job_key = $3', [
    namespace,
    STAGE1,
    threadId,
    watermark,
  ]);
}

export function stage1Methods(scope: StoreScope) {
  const { namespace, transact, log } = scope;
  const owned = (sql: string, threadId: string, token: string, extra: unknown[] = [], asyncCommit = false) =>
    transact(async (tx) => (await tx.query(sql, [namespace, STAGE1, threadId, token, tx.now, ...extra])).rowCount === 1, {
      asyncCommit,
    });

  return {
    async claimStage1Jobs(params): Promise<ClaimStage1Batch> {
      const skipped: SkipCounts = { upToDate: 0, running: 0, retryBackoff: 0, retryExhausted: 0 };
      const candidates = params.candidates.filter((thread) => {
        const why = threadIdRefusal(thread.threadId);
        if (why) log?.warn({ thread: thread.threadId, rollout: thread.rolloutPath }, `store: not claimed: ${why}`);
        return !why;
      });
      if (params.maxClaimed <= 0 || candidates.length === 0) return { claims: [], skipped };
      // A claim a database crash loses is claimed again; the old token finalises nothing (connection.ts).
      const pass = await transact(
        (tx) => claimInTx(tx, { namespace, ...params, candidates, cap: scope.capFor(params.maxClaimed) }),
        {
          asyncCommit: true,
        },
      );
      for (const { result } of pass.examined) if (result.kind !== 'claimed') skipped[SKIP_KEY_OF[result.kind]] += 1;
      return { claims: pass.claims, skipped };
    },

    async tryClaimStage1Job(thread, workerId, leaseSeconds, maxRunning) {
      const why = threadIdRefusal(thread.threadId);
      if (why) throw new BadInputError(`thread id ${JSON.stringify(thread.threadId.slice(0, 40))} refused: ${why}`);
      const pass = await transact((tx) =>
        claimInTx(tx, { namespace, candidates: [thread], workerId, leaseSeconds, maxClaimed: 1, cap: scope.capFor(maxRunning) }),
      );
      return pass.examined[0]?.result ?? { kind: 'skippedRunning' };
    },

    heartbeatStage1Job: (threadId, token, leaseSeconds) =>
      owned(
        `UPDATE memories.jobs SET lease_until = $5::bigint + $6::bigint WHERE ${OWNED}`,
        threadId,
        token,
        [leaseSeconds],
        true,
      ),

    async markStage1Succeeded(thread, token, reply, usage) {
      return transact(async (tx) => {
        // A stolen lease: the new owner writes its own result.
        if (!(await finishOwned(tx, namespace, thread.threadId, token, usage, 'output'))) return false;
        await upsertOutput(tx, namespace, thread, reply);
        await noteEnqueued(tx, namespace, thread.threadId, await enqueueInTx(tx, namespace, thread.updatedAt));
        return true;
      });
    },

    async markStage1SucceededNoOutput(threadId, token, usage) {
      return transact(async (tx) => {
        // The watermark still advances, so the thread is not re-extracted until it changes.
        const finished = await finishOwned(tx, namespace, threadId, token, usage, 'noOutput');
        if (!finished) return false;
        const deleted = await tx.query('DELETE FROM memories.stage1_outputs WHERE namespace = $1 AND thread_id = $2', [
          namespace,
          threadId,
        ]);
        // Only a deleted memory changes what phase 2 should see.
        if (deleted.rowCount === 1) {
          await noteEnqueued(tx, namespace, threadId, await enqueueInTx(tx, namespace, finished.inputWatermark ?? 0));
        }
        return true;
      });
    },

    markStage1Failed: (threadId, token, reason, retryDelaySeconds) =>
      owned(`UPDATE memories.jobs SET ${FAIL_SET} WHERE ${OWNED}`, threadId, token, [delaySeconds(retryDelaySeconds), reason]),

    releaseStage1Job: (threadId, token) => owned(`UPDATE memories.jobs SET ${RELEASE_SET} WHERE ${OWNED}`, threadId, token),

    async retryFailedStage1Jobs() {
      return transact(async (tx) => {
        const { rowCount } = await tx.query(
          `UPDATE memories.jobs SET retry_at = NULL,
                  retry_remaining = CASE WHEN retry_remaining <= 0 THEN $3 ELSE retry_remaining END
            WHERE namespace = $1 AND kind = $2 AND (status = 'error' OR (status = 'pending' AND retry_at IS NOT NULL))
              AND NOT (retry_at IS NULL AND retry_remaining > 0)`,
          [namespace, STAGE1, DEFAULT_RETRY_REMAINING],
        );
        return rowCount ?? 0;
      });
    },
  } satisfies Partial<MemoryStore>;
}
