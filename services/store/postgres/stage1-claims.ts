// Stage-1 claims (shared spec §5.2, §5.3) on PostgreSQL, with the lowdb store's exact decisions. Candidates are read
// without locks and walked in order; the rows to take are then locked with FOR UPDATE SKIP LOCKED (threads without a
// row yet with a try-advisory lock on their id), re-read and decided again, so claimers never wait for each other: a
// row another transaction holds is being claimed or finished right now, and counts as running.
import { randomUUID } from 'node:crypto';
import type { JobRow, Stage1Claim, Stage1ClaimResult, ThreadInfo } from '../../types.ts';
import { DEFAULT_RETRY_REMAINING } from '../job-rows.ts';
import type { PgTx } from './connection.ts';
import { isLive, JOB_COLUMNS, type JobRecord, jobOf, live, STAGE1 } from './rows.ts';

type Skip = Exclude<Stage1ClaimResult['kind'], 'claimed'>;
/** The running cap and its count of live stage-1 jobs; null where the store has no cap (a fleet). */
type Running = { count: number; max: number } | null;

interface Candidate {
  thread: ThreadInfo;
  job: JobRow | null;
  /** The stored output's source_updated_at, or null without one. */
  outputAt: number | null;
}

export interface ClaimRequest {
  namespace: string;
  candidates: ThreadInfo[];
  workerId: string;
  leaseSeconds: number;
  maxClaimed: number;
  /** Live running stage-1 jobs allowed across workers; null: no cap. */
  cap: number | null;
}

export interface ClaimPass {
  claims: Stage1Claim[];
  /** Every candidate looked at, in the order decided, with what became of it. */
  examined: Array<{ thread: ThreadInfo; result: Stage1ClaimResult }>;
}

/** §5.3 for one candidate: the same questions, in the same order, as services/store/stage1-jobs.ts. */
function decide({ thread, job, outputAt }: Candidate, now: number, running: Running): 'insert' | 'update' | Skip {
  const given = thread.updatedAt;
  if (outputAt !== null && outputAt >= given) return 'skippedUpToDate';
  // Self-healing: a job whose output went missing is extracted again.
  const outputLost = job?.outcome === 'output' && outputAt === null;
  if (job && !outputLost && job.lastSuccessWatermark !== null && job.lastSuccessWatermark >= given) return 'skippedUpToDate';
  const full = running !== null && running.count >= running.max;
  if (!job) return full ? 'skippedRunning' : 'insert';
  const advanced = given > (job.inputWatermark ?? -1);
  const canUpdate =
    !isLive(job, now) &&
    (job.retryAt === null || job.retryAt <= now || advanced) &&
    (job.retryRemaining > 0 || advanced) &&
    !full;
  if (canUpdate) return 'update';
  if (job.retryRemaining <= 0) return 'skippedRetryExhausted';
  if (job.retryAt !== null && job.retryAt > now) return 'skippedRetryBackoff';
  return 'skippedRunning';
}

const prefixed = (alias: string) =>
  JOB_COLUMNS.split(', ')
    .map((column) => `${alias}.${column}`)
    .join(', ');

/** Each thread's job row and output watermark as committed now (no locks). */
async function readState(tx: PgTx, namespace: string, threads: ThreadInfo[]): Promise<Candidate[]> {
  const { rows } = await tx.query<JobRecord & { ord: number; output_at: number | null }>(
    `SELECT c.ord, ${prefixed('j')}, o.source_updated_at AS output_at
       FROM unnest($2::text[]) WITH ORDINALITY AS c(id, ord)
       LEFT JOIN memories.jobs j ON j.namespace = $1 AND j.kind = $3 AND j.job_key = c.id
       LEFT JOIN memories.stage1_outputs o ON o.namespace = $1 AND o.thread_id = c.id
      ORDER BY c.ord`,
    [namespace, threads.map((t) => t.threadId), STAGE1],
  );
  return rows.map((row, i) => ({ thread: threads[i], job: row.kind ? jobOf(row) : null, outputAt: row.output_at }));
}

/** The threads among `chunk` this transaction now holds, re-read; the others are someone else's at this moment. */
async function lockChunk(tx: PgTx, namespace: string, chunk: Candidate[]): Promise<Map<string, Candidate>> {
  const held = new Map<string, Candidate>();
  const existing = chunk.filter((c) => c.job !== null).map((c) => c.thread);
  const fresh = chunk.filter((c) => c.job === null).map((c) => c.thread);
  if (existing.length > 0) {
    const { rows } = await tx.query<{ job_key: string }>(
      'SELECT job_key FROM memories.jobs WHERE namespace = $1 AND kind = $2 AND job_key = ANY($3) FOR UPDATE SKIP LOCKED',
      [namespace, STAGE1, existing.map((t) => t.threadId)],
    );
    const locked = new Set(rows.map((row) => row.job_key));
    for (const c of await readState(tx, namespace, existing)) if (locked.has(c.thread.threadId)) held.set(c.thread.threadId, c);
  }
  if (fresh.length > 0) {
    const { rows } = await tx.query<{ id: string }>(
      `SELECT id FROM unnest($1::text[]) AS id WHERE pg_try_advisory_xact_lock(hashtextextended($2 || id, 0))`,
      [fresh.map((t) => t.threadId), `memories:stage1:${namespace}:`],
    );
    const locked = new Set(rows.map((row) => row.id));
    // A row that appeared since the first read was written by a claim that just committed: it is running.
    for (const c of await readState(tx, namespace, fresh)) {
      if (locked.has(c.thread.threadId) && c.job === null) held.set(c.thread.threadId, c);
    }
  }
  return held;
}

interface Take {
  thread: ThreadInfo;
  token: string;
  retryRemaining: number;
}

async function writeClaims(tx: PgTx, request: ClaimRequest, inserts: Take[], updates: Take[]): Promise<void> {
  const params = (takes: Take[]) => [
    request.namespace,
    STAGE1,
    request.workerId,
    tx.now,
    tx.now + request.leaseSeconds,
    takes.map((t) => t.thread.threadId),
    takes.map((t) => t.token),
    takes.map((t) => t.thread.updatedAt),
    takes.map((t) => t.retryRemaining),
  ];
  const unnest = 'unnest($6::text[], $7::text[], $8::bigint[], $9::int[]) AS u(job_key, token, given, retry_remaining)';
  if (inserts.length > 0) {
    await tx.query(
      `INSERT INTO memories.jobs (namespace, kind, job_key, status, worker_id, ownership_token, started_at, lease_until,
                                  retry_remaining, input_watermark)
       SELECT $1, $2, u.job_key, 'running', $3, u.token, $4, $5, u.retry_remaining, u.given FROM ${unnest}`,
      params(inserts),
    );
  }
  if (updates.length > 0) {
    await tx.query(
      `UPDATE memories.jobs j SET status = 'running', worker_id = $3, ownership_token = u.token, started_at = $4,
              finished_at = NULL, lease_until = $5, retry_at = NULL, last_error = NULL, input_watermark = u.given,
              retry_remaining = u.retry_remaining
         FROM ${unnest}
        WHERE j.namespace = $1 AND j.kind = $2 AND j.job_key = u.job_key`,
      params(updates),
    );
  }
}

/** Takes the would-be claims of `chunk` that this transaction can hold; returns each one's result, in order. */
async function takeChunk(tx: PgTx, request: ClaimRequest, chunk: Candidate[], running: Running) {
  const held = await lockChunk(tx, request.namespace, chunk);
  const inserts: Take[] = [];
  const updates: Take[] = [];
  const results = chunk.map(({ thread }): Stage1ClaimResult => {
    const current = held.get(thread.threadId);
    if (!current) return { kind: 'skippedRunning' };
    const decision = decide({ ...current, thread }, tx.now, running);
    if (decision !== 'insert' && decision !== 'update') return { kind: decision };
    const job = current.job;
    const advanced = thread.updatedAt > (job?.inputWatermark ?? -1);
    const take = { thread, token: randomUUID(), retryRemaining: job && !advanced ? job.retryRemaining : DEFAULT_RETRY_REMAINING };
    (decision === 'insert' ? inserts : updates).push(take);
    if (running) running.count += 1;
    return { kind: 'claimed', ownershipToken: take.token };
  });
  await writeClaims(tx, request, inserts, updates);
  return results;
}

/** One claim pass in an open transaction. */
export async function claimInTx(tx: PgTx, request: ClaimRequest): Promise<ClaimPass> {
  const pass: ClaimPass = { claims: [], examined: [] };
  if (request.maxClaimed <= 0 || request.candidates.length === 0) return pass;
  let running: Running = null;
  if (request.cap !== null) {
    // An exact cap needs one counter: claims of this namespace take turns (a fleet runs without a cap).
    await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`memories:stage1-cap:${request.namespace}`]);
    const { rows } = await tx.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM memories.jobs j WHERE j.namespace = $1 AND j.kind = $2 AND ${live('j', '$3')}`,
      [request.namespace, STAGE1, tx.now],
    );
    running = { count: rows[0].n, max: request.cap };
  }
  const seen = new Set<string>();
  const unique = request.candidates.filter((t) => !seen.has(t.threadId) && seen.add(t.threadId));
  const state = await readState(tx, request.namespace, unique);
  let next = 0;
  while (pass.claims.length < request.maxClaimed && next < state.length) {
    const chunk: Candidate[] = [];
    // Walk on until as many would-be claims as are still wanted are found; what is skipped on the way is counted.
    while (next < state.length && chunk.length < request.maxClaimed - pass.claims.length) {
      const candidate = state[next++];
      const decision = decide(candidate, tx.now, running === null ? null : { ...running, count: running.count + chunk.length });
      if (decision === 'insert' || decision === 'update') chunk.push(candidate);
      else pass.examined.push({ thread: candidate.thread, result: { kind: decision } });
    }
    const results = await takeChunk(tx, request, chunk, running);
    for (const [i, result] of results.entries()) {
      const { thread } = chunk[i];
      pass.examined.push({ thread, result });
      if (result.kind === 'claimed') pass.claims.push({ thread, ownershipToken: result.ownershipToken });
    }
  }
  return pass;
}
