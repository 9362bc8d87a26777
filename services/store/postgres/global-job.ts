// The global consolidation job of one namespace (shared spec §5.6, §5.8, §5.9): one row, dirty while its input
// watermark is above its last success. The row lock orders everything that touches it.
import { randomUUID } from 'node:crypto';
import type { GlobalClaimResult, TokenUsage } from '../../types.ts';
import { DEFAULT_RETRY_REMAINING } from '../job-rows.ts';
import type { MemoryStore, SelectionEntry } from '../port.ts';
import type { PgTx } from './connection.ts';
import { delaySeconds, FAIL_SET, GLOBAL, isLive, JOB_COLUMNS, type JobRecord, jobOf, OWNED, RELEASE_SET } from './rows.ts';
import type { StoreScope } from './scope.ts';

/**
 * §5.6 enqueue as SQL: every call strictly raises the dirty watermark, even for back-filled inputs. `$1` namespace,
 * `$2` the global kind, `$3` the retry budget, `$4` the input's watermark; RETURNING the new one.
 */
export const ENQUEUE_GLOBAL = `
  INSERT INTO memories.jobs AS j (namespace, kind, job_key, status, retry_remaining, input_watermark, last_success_watermark)
  VALUES ($1, $2, 'global', 'pending', $3, $4, 0)
  ON CONFLICT (namespace, kind, job_key) DO UPDATE SET
    status = CASE WHEN j.status = 'running' THEN 'running' ELSE 'pending' END,
    retry_at = CASE WHEN j.status = 'running' THEN j.retry_at ELSE NULL END,
    retry_remaining = GREATEST(j.retry_remaining, $3),
    input_watermark = CASE WHEN $4 > COALESCE(j.input_watermark, 0) THEN $4 ELSE COALESCE(j.input_watermark, 0) + 1 END
  RETURNING j.input_watermark`;

/** §5.6 enqueue on an open transaction; returns the new dirty watermark. */
export async function enqueueInTx(tx: PgTx, namespace: string, watermark: number): Promise<number> {
  const { rows } = await tx.query<{ input_watermark: number }>(ENQUEUE_GLOBAL, [
    namespace,
    GLOBAL,
    DEFAULT_RETRY_REMAINING,
    watermark,
  ]);
  return rows[0].input_watermark;
}

/** §5.8 success on an open transaction: false when `token` no longer owns the job (nothing written then). */
export async function succeedGlobalInTx(
  tx: PgTx,
  namespace: string,
  token: string,
  watermark: number,
  selection: SelectionEntry[],
  usage: TokenUsage | null,
): Promise<boolean> {
  // retry_remaining is not touched (§5.8); exactly the consumed snapshots become "selected" (§4.6).
  const consumed = selection.map(({ threadId, sourceUpdatedAt }) => ({ threadId, sourceUpdatedAt }));
  const { rowCount } = await tx.query(
    `UPDATE memories.jobs SET status = 'done', finished_at = $5, lease_until = NULL, last_error = NULL,
            last_success_watermark = GREATEST(COALESCE(last_success_watermark, 0), $6), usage = $7, last_selection = $8
      WHERE ${OWNED}`,
    [namespace, GLOBAL, 'global', token, tx.now, watermark, JSON.stringify(usage), JSON.stringify(consumed)],
  );
  return rowCount === 1;
}

export function globalJobMethods({ namespace, transact }: StoreScope) {
  const owned = (sql: string, token: string, extra: unknown[] = []) =>
    transact(async (tx) => (await tx.query(sql, [namespace, GLOBAL, 'global', token, tx.now, ...extra])).rowCount === 1);
  return {
    async enqueueGlobalConsolidation(watermark) {
      await transact((tx) => enqueueInTx(tx, namespace, watermark));
    },

    async claimGlobalJob(workerId, leaseSeconds): Promise<GlobalClaimResult> {
      return transact(async (tx) => {
        const { rows } = await tx.query<JobRecord>(
          `SELECT ${JOB_COLUMNS} FROM memories.jobs WHERE namespace = $1 AND kind = $2 AND job_key = 'global' FOR UPDATE`,
          [namespace, GLOBAL],
        );
        const job = rows[0] ? jobOf(rows[0]) : null;
        const clean = !job || (job.inputWatermark ?? 0) <= (job.lastSuccessWatermark ?? 0);
        // A job in retry backoff or out of budget looks "not dirty" (§5.6 step 3).
        if (clean || job.retryRemaining <= 0 || (job.retryAt !== null && job.retryAt > tx.now))
          return { kind: 'skippedNotDirty' };
        if (isLive(job, tx.now)) return { kind: 'skippedRunning' };
        const token = randomUUID();
        await tx.query(
          `UPDATE memories.jobs SET status = 'running', worker_id = $3, ownership_token = $4, started_at = $5, finished_at = NULL,
                  lease_until = $6, retry_at = NULL, last_error = NULL
            WHERE namespace = $1 AND kind = $2 AND job_key = 'global'`,
          [namespace, GLOBAL, workerId, token, tx.now, tx.now + leaseSeconds],
        );
        return { kind: 'claimed', ownershipToken: token, inputWatermark: job.inputWatermark ?? 0 };
      });
    },

    releaseGlobalJob: (token) => owned(`UPDATE memories.jobs SET ${RELEASE_SET} WHERE ${OWNED}`, token),

    heartbeatGlobalJob: (token, leaseSeconds) =>
      owned(`UPDATE memories.jobs SET lease_until = $5::bigint + $6::bigint WHERE ${OWNED}`, token, [leaseSeconds]),

    async markGlobalSucceeded(token, watermark, selection, usage) {
      return transact((tx) => succeedGlobalInTx(tx, namespace, token, watermark, selection, usage));
    },

    markGlobalFailed: (token, reason, retryDelaySeconds) =>
      owned(`UPDATE memories.jobs SET ${FAIL_SET} WHERE ${OWNED}`, token, [delaySeconds(retryDelaySeconds), reason]),
  } satisfies Partial<MemoryStore>;
}
