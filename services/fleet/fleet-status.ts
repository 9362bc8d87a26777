// What the fleet knows about a namespace, and about given rollouts: stored, extracted, consolidated into a revision
// or failed (with the reason), for the status API and `push --wait`.
import { INTERACTIVE_SOURCES } from '../constants.ts';
import { type PgDatabase, type PgTx, readSnapshot } from '../store/postgres/connection.ts';
import { GLOBAL, STAGE1 } from '../store/postgres/rows.ts';

export type RolloutState = 'unknown' | 'ineligible' | 'pending' | 'extracted' | 'consolidated' | 'failed';

export interface RolloutStatus {
  sha256: string;
  sessionId: string | null;
  state: RolloutState;
  reason: string | null;
}

export interface ConsolidationStatus {
  status: 'none' | 'pending' | 'running' | 'done' | 'error';
  /** Dirty: some extracted memory is not in a revision yet. */
  dirty: boolean;
  lastError: string | null;
  retryAt: number | null;
  retryRemaining: number | null;
  revision: number;
}

async function consolidation(tx: PgTx, namespace: string): Promise<ConsolidationStatus & { successWatermark: number }> {
  const { rows } = await tx.query<{
    status: ConsolidationStatus['status'];
    input_watermark: number | null;
    last_success_watermark: number | null;
    last_error: string | null;
    retry_at: number | null;
    retry_remaining: number;
  }>(
    `SELECT status, input_watermark, last_success_watermark, last_error, retry_at, retry_remaining
       FROM memories.jobs WHERE namespace = $1 AND kind = $2 AND job_key = 'global'`,
    [namespace, GLOBAL],
  );
  const revision = await tx.query<{ revision: number }>(
    'SELECT COALESCE(max(revision), 0) AS revision FROM memories.memory_revisions WHERE namespace = $1',
    [namespace],
  );
  const g = rows[0];
  return {
    status: g?.status ?? 'none',
    dirty: g ? (g.input_watermark ?? 0) > (g.last_success_watermark ?? 0) : false,
    lastError: g?.last_error ?? null,
    retryAt: g?.retry_at ?? null,
    retryRemaining: g?.retry_remaining ?? null,
    revision: Number(revision.rows[0].revision),
    successWatermark: g?.last_success_watermark ?? 0,
  };
}

interface Row {
  sha256: string;
  session_id: string | null;
  version_at: number | null;
  has_user_message: boolean | null;
  source: string | null;
  status: string | null;
  last_success_watermark: number | null;
  enqueued_watermark: number | null;
  last_error: string | null;
  retry_remaining: number | null;
}

function stateOf(row: Row, successWatermark: number): Pick<RolloutStatus, 'state' | 'reason'> {
  if (row.session_id === null || row.version_at === null) return { state: 'unknown', reason: 'not stored in this namespace' };
  if (!row.has_user_message) return { state: 'ineligible', reason: 'the user said nothing in it' };
  if (!INTERACTIVE_SOURCES.includes(row.source ?? '')) return { state: 'ineligible', reason: `source ${row.source}` };
  if (row.last_success_watermark !== null && row.last_success_watermark >= row.version_at) {
    // A success that changed nothing phase 2 sees enqueued nothing: there is nothing to wait for.
    const seen = row.enqueued_watermark === null || successWatermark >= row.enqueued_watermark;
    return seen ? { state: 'consolidated', reason: null } : { state: 'extracted', reason: null };
  }
  if (row.status === 'error') {
    const left = row.retry_remaining ?? 0;
    return { state: 'failed', reason: `extraction failed (${left} retr${left === 1 ? 'y' : 'ies'} left): ${row.last_error}` };
  }
  return { state: 'pending', reason: null };
}

export async function rolloutStatuses(db: PgDatabase, namespace: string, hashes: string[]) {
  return readSnapshot(db, async (tx) => {
    const global = await consolidation(tx, namespace);
    // The thread's job decides; a version older than the one last extracted counts as extracted with it. Each hash is
    // looked up by key (LATERAL … LIMIT 1): joined plainly, a long list had every rollout of the namespace read.
    const { rows } = await tx.query<Row>(
      `SELECT h.sha AS sha256, r.session_id, r.updated_at AS version_at, t.has_user_message, t.source, j.status,
              j.last_success_watermark, j.enqueued_watermark, j.last_error, j.retry_remaining
         FROM unnest($2::text[]) WITH ORDINALITY AS h(sha, ord)
         LEFT JOIN LATERAL (SELECT session_id, updated_at FROM memories.rollouts WHERE namespace = $1 AND sha256 = h.sha LIMIT 1) r
           ON true
         LEFT JOIN memories.threads t ON t.namespace = $1 AND t.thread_id = r.session_id
         LEFT JOIN memories.jobs j ON j.namespace = $1 AND j.kind = $3 AND j.job_key = r.session_id
        ORDER BY h.ord`,
      [namespace, hashes, STAGE1],
    );
    const rollouts: RolloutStatus[] = rows.map((row) => ({
      sha256: row.sha256,
      sessionId: row.session_id,
      ...stateOf(row, global.successWatermark),
    }));
    const { successWatermark: _, ...consolidationStatus } = global;
    return { rollouts, consolidation: consolidationStatus };
  });
}

export async function namespaceStatus(db: PgDatabase, namespace: string) {
  return readSnapshot(db, async (tx) => {
    const { successWatermark: _, ...global } = await consolidation(tx, namespace);
    const { rows } = await tx.query<{ rollouts: number; threads: number; extracted: number; running: number; failed: number }>(
      `SELECT (SELECT count(*)::int FROM memories.rollouts WHERE namespace = $1) AS rollouts,
              count(t.thread_id)::int AS threads,
              count(*) FILTER (WHERE j.last_success_watermark >= t.updated_at)::int AS extracted,
              count(*) FILTER (WHERE j.status = 'running' AND j.lease_until > $3)::int AS running,
              count(*) FILTER (WHERE j.status = 'error')::int AS failed
         FROM memories.threads t
         LEFT JOIN memories.jobs j ON j.namespace = t.namespace AND j.kind = $2 AND j.job_key = t.thread_id
        WHERE t.namespace = $1`,
      [namespace, STAGE1, tx.now],
    );
    return { namespace, queue: rows[0], consolidation: global };
  });
}
