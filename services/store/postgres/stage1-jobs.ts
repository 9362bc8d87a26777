// Stage-1 jobs of one namespace (shared spec §5.2–§5.5): claims (stage1-claims.ts), lease renewals and the fenced
// finalisations, each one transaction that writes nothing when the token no longer owns the job.
import { BadInputError } from '../../errors.ts';
import type { SkipCounts, Stage1Reply, ThreadInfo, TokenUsage } from '../../types.ts';
import { threadIdRefusal } from '../thread-id.ts';
import { DEFAULT_RETRY_REMAINING, SKIP_KEY_OF } from '../job-rows.ts';
import type { ClaimStage1Batch, ClaimStage1Params, MemoryStore } from '../port.ts';
import type { PgTx } from './connection.ts';
import { ENQUEUE_GLOBAL } from './global-job.ts';
import { delaySeconds, FAIL_SET, GLOBAL, hasContent, OWNED, RELEASE_SET, STAGE1 } from './rows.ts';
import type { StoreScope } from './scope.ts';
import { claimInTx } from './stage1-claims.ts';

/** §5.4: the owned running job is done (`$1`–`$4` as OWNED, `$5` now, `$6` usage, `$7` outcome). */
const FINISH_OWNED = `
  UPDATE memories.jobs SET status = 'done', finished_at = $5, lease_until = NULL, last_error = NULL,
         last_success_watermark = input_watermark, usage = $6, outcome = $7
   WHERE ${OWNED} RETURNING input_watermark`;

/**
 * A thread pushed to the fleet (memories.threads) is now extracted at the finished version, so the fleet's queue index
 * leaves it out until a newer version arrives (migration 4); a local run's namespace has no such row. Reads `fin`.
 */
const MARK_EXTRACTED = `
  UPDATE memories.threads t SET extracted_at = fin.input_watermark FROM fin WHERE t.namespace = $1 AND t.thread_id = $3`;

/**
 * Finishes the owned job and writes its output in one statement (one round trip, as every statement of a fleet's
 * hottest path costs one): unless the stored output comes from a newer snapshot (§5.4); usage and citations stay.
 * Returns whether the token still owned the job (nothing is written otherwise).
 */
async function finishWithOutput(
  tx: PgTx,
  namespace: string,
  thread: ThreadInfo,
  token: string,
  reply: Stage1Reply,
  usage: TokenUsage | null,
): Promise<boolean> {
  const { rows } = await tx.query<{ owned: number }>(
    `WITH fin AS (${FINISH_OWNED}),
     written AS (
       INSERT INTO memories.stage1_outputs AS o (namespace, thread_id, source_updated_at, raw_memory, rollout_summary,
              rollout_slug, has_content, cwd, rollout_path, git_branch, generated_at)
       SELECT $1, $3, $8::bigint, $9, $10, $11, $12::boolean, $13, $14, $15, $5 FROM fin
       ON CONFLICT (namespace, thread_id) DO UPDATE SET source_updated_at = EXCLUDED.source_updated_at,
              raw_memory = EXCLUDED.raw_memory, rollout_summary = EXCLUDED.rollout_summary, rollout_slug = EXCLUDED.rollout_slug,
              has_content = EXCLUDED.has_content, cwd = EXCLUDED.cwd, rollout_path = EXCLUDED.rollout_path,
              git_branch = EXCLUDED.git_branch, generated_at = EXCLUDED.generated_at
        WHERE EXCLUDED.source_updated_at >= o.source_updated_at),
     marked AS (${MARK_EXTRACTED})
     SELECT count(*)::int AS owned FROM fin`,
    [
      namespace,
      STAGE1,
      thread.threadId,
      token,
      tx.now,
      JSON.stringify(usage),
      'output',
      thread.updatedAt,
      reply.rawMemory,
      reply.rolloutSummary,
      reply.rolloutSlug,
      hasContent(reply.rawMemory, reply.rolloutSummary),
      thread.cwd,
      thread.rolloutPath,
      thread.gitBranch || null,
    ],
  );
  return rows[0].owned === 1;
}

/**
 * Makes consolidation dirty for a thread's result and remembers on its job which global watermark that was (a
 * consolidation at or past it has seen the result), in one statement: the global row stays locked until the commit,
 * so nothing else runs between them.
 */
async function enqueueFor(tx: PgTx, namespace: string, threadId: string, watermark: number): Promise<void> {
  await tx.query(
    `WITH g AS (${ENQUEUE_GLOBAL})
     UPDATE memories.jobs SET enqueued_watermark = g.input_watermark FROM g
      WHERE namespace = $1 AND kind = $5 AND job_key = $6`,
    [namespace, GLOBAL, DEFAULT_RETRY_REMAINING, watermark, STAGE1, threadId],
  );
}

/** One claim pass over a batch of candidates, in one transaction; refused thread ids are logged and skipped. */
async function claimBatch(scope: StoreScope, params: ClaimStage1Params): Promise<ClaimStage1Batch> {
  const { namespace, transact, log } = scope;
  const skipped: SkipCounts = { upToDate: 0, running: 0, retryBackoff: 0, retryExhausted: 0 };
  const candidates = params.candidates.filter((thread) => {
    const why = threadIdRefusal(thread.threadId);
    if (why) log?.warn({ thread: thread.threadId, rollout: thread.rolloutPath }, `store: not claimed: ${why}`);
    return !why;
  });
  if (params.maxClaimed <= 0 || candidates.length === 0) return { claims: [], skipped };
  // A claim a database crash loses is claimed again; the old token finalises nothing (connection.ts).
  const pass = await transact((tx) => claimInTx(tx, { namespace, ...params, candidates, cap: scope.capFor(params.maxClaimed) }), {
    asyncCommit: true,
  });
  for (const { result } of pass.examined) if (result.kind !== 'claimed') skipped[SKIP_KEY_OF[result.kind]] += 1;
  return { claims: pass.claims, skipped };
}

/** Finishes an owned job with nothing worth remembering, deleting an earlier output of the thread. */
function finishWithoutOutput(scope: StoreScope, threadId: string, token: string, usage: TokenUsage | null): Promise<boolean> {
  const { namespace, transact } = scope;
  return transact(async (tx) => {
    // The watermark still advances, so the thread is not re-extracted until it changes.
    const { rows } = await tx.query<{ input_watermark: number | null; deleted: number }>(
      `WITH fin AS (${FINISH_OWNED}),
       gone AS (DELETE FROM memories.stage1_outputs WHERE namespace = $1 AND thread_id = $3 AND EXISTS (SELECT FROM fin)
                RETURNING thread_id),
       marked AS (${MARK_EXTRACTED})
       SELECT input_watermark, (SELECT count(*) FROM gone)::int AS deleted FROM fin`,
      [namespace, STAGE1, threadId, token, tx.now, JSON.stringify(usage), 'noOutput'],
    );
    if (rows.length === 0) return false;
    // Only a deleted memory changes what phase 2 should see.
    if (rows[0].deleted === 1) await enqueueFor(tx, namespace, threadId, rows[0].input_watermark ?? 0);
    return true;
  });
}

export function stage1Methods(scope: StoreScope) {
  const { namespace, transact } = scope;
  const owned = (sql: string, threadId: string, token: string, extra: unknown[] = [], asyncCommit = false) =>
    transact(async (tx) => (await tx.query(sql, [namespace, STAGE1, threadId, token, tx.now, ...extra])).rowCount === 1, {
      asyncCommit,
    });

  return {
    claimStage1Jobs: (params) => claimBatch(scope, params),

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
        if (!(await finishWithOutput(tx, namespace, thread, token, reply, usage))) return false;
        await enqueueFor(tx, namespace, thread.threadId, thread.updatedAt);
        return true;
      });
    },

    markStage1SucceededNoOutput: (threadId, token, usage) => finishWithoutOutput(scope, threadId, token, usage),

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
