// The shared queue of a fleet: which threads of a namespace phase 1 may claim now (the lowdb store's claim rules,
// as one query), and which namespaces have extraction or consolidation work at all.
import { INTERACTIVE_SOURCES } from '../constants.ts';
import type { PgDatabase, PgTx } from '../store/postgres/connection.ts';
import { GLOBAL, STAGE1 } from '../store/postgres/rows.ts';
import type { ThreadInfo } from '../types.ts';
import { rolloutCopyPath } from './rollout-files.ts';

/** A claimable thread and the content hash of the version to extract. */
export interface QueuedThread {
  thread: ThreadInfo;
  sha256: string;
  fileName: string;
}

/**
 * `t`: threads of `ns`, `j`: its stage-1 job, `o`: its output; the others name parameters (the sources an array). The
 * first test is the partial index's (migration 4): only threads not extracted at their version are read, however
 * many a namespace has. (So a memory deleted from the database by hand comes back only when its thread changes.)
 */
const claimable = (ns: string, now: string, sources: string, oldest: string) => `
  t.namespace = ${ns} AND t.unextracted
  AND t.has_user_message AND t.source = ANY(${sources}) AND t.updated_at >= ${oldest}
  AND COALESCE(o.source_updated_at, -1) < t.updated_at
  AND (j.job_key IS NULL OR (
    (j.last_success_watermark IS NULL OR j.last_success_watermark < t.updated_at OR (j.outcome = 'output' AND o.thread_id IS NULL))
    AND NOT (j.status = 'running' AND j.lease_until IS NOT NULL AND j.lease_until > ${now})
    AND (j.retry_at IS NULL OR j.retry_at <= ${now} OR t.updated_at > COALESCE(j.input_watermark, -1))
    AND (j.retry_remaining > 0 OR t.updated_at > COALESCE(j.input_watermark, -1))))`;

/** Each thread's stage-1 job and output, looked up by key (LATERAL … LIMIT 1: never a hash of the whole tables). */
const JOINS = `
  LEFT JOIN LATERAL (
    SELECT job_key, status, lease_until, retry_at, retry_remaining, input_watermark, last_success_watermark, outcome
      FROM memories.jobs WHERE namespace = t.namespace AND kind = '${STAGE1}' AND job_key = t.thread_id LIMIT 1) j ON true
  LEFT JOIN LATERAL (
    SELECT thread_id, source_updated_at FROM memories.stage1_outputs
     WHERE namespace = t.namespace AND thread_id = t.thread_id LIMIT 1) o ON true`;

/** Newest first, ids in byte order: the order of the partial index (migration 4). */
const QUEUE_ORDER = 't.updated_at DESC, t.thread_id COLLATE "C" DESC';

const DAY_SECONDS = 86_400;

const claimableParams = (tx: PgTx, namespace: string, maxAgeDays: number) => [
  namespace,
  tx.now,
  INTERACTIVE_SOURCES,
  tx.now - maxAgeDays * DAY_SECONDS,
];

interface ThreadRecord {
  thread_id: string;
  sha256: string;
  file_name: string;
  cwd: string;
  source: string;
  updated_at: number;
  created_at: number | null;
  has_user_message: boolean;
  size_bytes: number;
  git_branch: string | null;
}

/** Up to `limit` claimable threads, newest first, each pointing at its copy under `namespaceHome`. */
export async function claimableThreads(
  db: PgDatabase,
  namespace: string,
  namespaceHome: string,
  options: { limit: number; maxAgeDays: number },
): Promise<QueuedThread[]> {
  const rows = await db.transact(async (tx) => {
    const { rows } = await tx.query<ThreadRecord>(
      `SELECT t.thread_id, t.sha256, t.file_name, t.cwd, t.source, t.updated_at, t.created_at, t.has_user_message,
              t.size_bytes, t.git_branch
         FROM memories.threads t ${JOINS}
        WHERE ${claimable('$1', '$2', '$3', '$4')}
        ORDER BY ${QUEUE_ORDER} LIMIT $5`,
      [...claimableParams(tx, namespace, options.maxAgeDays), options.limit],
    );
    return rows;
  });
  return rows.map((row) => ({
    sha256: row.sha256,
    fileName: row.file_name,
    thread: {
      threadId: row.thread_id,
      rolloutPath: rolloutCopyPath(namespaceHome, row.sha256, row.file_name),
      cwd: row.cwd,
      source: row.source,
      updatedAt: row.updated_at,
      createdAt: row.created_at,
      hasUserMessage: row.has_user_message,
      sizeBytes: row.size_bytes,
      gitBranch: row.git_branch,
    },
  }));
}

/** The contents of the given versions, by hash. */
export async function rolloutContents(db: PgDatabase, namespace: string, hashes: string[]): Promise<Map<string, Buffer>> {
  const { rows } = await db.pool.query<{ sha256: string; content: Buffer }>(
    'SELECT sha256, content FROM memories.rollouts WHERE namespace = $1 AND sha256 = ANY($2)',
    [namespace, hashes],
  );
  return new Map(rows.map((row) => [row.sha256, row.content]));
}

export interface NamespaceWork {
  namespace: string;
  layout: 'v1' | 'v2';
  /** Some thread can be claimed for extraction now. */
  extract: boolean;
  /** Some worker is extracting a thread of it right now. */
  extracting: boolean;
  /** The global job is dirty and claimable now. */
  consolidate: boolean;
  /** When the last consolidation finished (Unix seconds), or null. */
  lastConsolidatedAt: number | null;
  now: number;
}

/** Every namespace with work, each with what kind. */
export async function namespacesWithWork(db: PgDatabase, maxAgeDays: number): Promise<NamespaceWork[]> {
  return db.transact(async (tx) => {
    const { rows } = await tx.query<{
      name: string;
      layout: 'v1' | 'v2';
      extract: boolean;
      extracting: boolean;
      consolidate: boolean;
      done_at: number | null;
    }>(
      // The first claimable thread in the queue's order (not EXISTS): so the planner walks the partial index, which
      // holds only what is not extracted yet, instead of scanning every thread the namespace ever had.
      `SELECT n.name, n.layout, q.found IS NOT NULL AS extract,
              EXISTS (SELECT 1 FROM memories.jobs r WHERE r.namespace = n.name AND r.kind = '${STAGE1}'
                        AND r.status = 'running' AND r.lease_until > $1) AS extracting,
              (g.job_key IS NOT NULL AND COALESCE(g.input_watermark, 0) > COALESCE(g.last_success_watermark, 0)
                AND g.retry_remaining > 0 AND (g.retry_at IS NULL OR g.retry_at <= $1)
                AND NOT (g.status = 'running' AND g.lease_until IS NOT NULL AND g.lease_until > $1)) AS consolidate,
              g.finished_at AS done_at
         FROM memories.namespaces n
         LEFT JOIN LATERAL (SELECT true AS found FROM memories.threads t ${JOINS} WHERE ${claimable('n.name', '$1', '$2', '$3')}
                             ORDER BY ${QUEUE_ORDER} LIMIT 1) q ON true
         LEFT JOIN LATERAL (
           SELECT job_key, status, lease_until, retry_at, retry_remaining, input_watermark, last_success_watermark, finished_at
             FROM memories.jobs WHERE namespace = n.name AND kind = '${GLOBAL}' AND job_key = 'global' LIMIT 1) g ON true
         ORDER BY n.name`,
      [tx.now, INTERACTIVE_SOURCES, tx.now - maxAgeDays * DAY_SECONDS],
    );
    return rows
      .filter((row) => row.extract || row.consolidate)
      .map((row) => ({
        namespace: row.name,
        layout: row.layout,
        extract: row.extract,
        extracting: row.extracting,
        consolidate: row.consolidate,
        lastConsolidatedAt: row.done_at,
        now: tx.now,
      }));
  });
}
