// The fleet's queue on a real PostgreSQL: a thread is offered until it is extracted at its version and again once a
// newer version is pushed; a look at the queue reads only the threads not extracted yet, however many a namespace
// has had (the partial index of migration 4), and every candidate's job and output by key, whether or not the planner
// has statistics yet (migration 5): for a pass's candidates, a worker's look for work and a claim.
import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ingestRollout } from '../services/fleet/ingest.ts';
import { ensureNamespace, namespaceHome } from '../services/fleet/namespaces.ts';
import { claimableThreads, namespacesWithWork } from '../services/fleet/rollout-queue.ts';
import type { PgDatabase } from '../services/store/postgres/connection.ts';
import { createPostgresStore } from '../services/store/postgres/postgres-store.ts';
import { tempCodexHome } from './support/codex-home.ts';
import { createTestDatabase, type TestDatabase } from './support/postgres.ts';

let database: TestDatabase;
let work: { home: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  database = await createTestDatabase();
  work = await tempCodexHome();
}, 120_000);
afterAll(async () => {
  await database?.drop();
  await work?.cleanup();
});

const HOURS_AGO = Math.floor(Date.now() / 1000) - 7 * 3_600;

/** Pushes one version of a session (its text decides the content hash), as `memories push` does. */
async function push(namespace: string, sessionId: string, text: string, updatedAt: number) {
  const ts = new Date(updatedAt * 1000).toISOString();
  const line = (type: string, payload: object) => JSON.stringify({ timestamp: ts, type, payload });
  const content = Buffer.from(
    `${line('session_meta', { id: sessionId, timestamp: ts, cwd: '/work/app', originator: 'codex_cli_rs', cli_version: '0.169.0', source: 'cli' })}\n` +
      `${line('response_item', { type: 'message', role: 'user', content: [{ type: 'input_text', text }] })}\n`,
  );
  const sha256 = createHash('sha256').update(content).digest('hex');
  const fileName = `rollout-${ts.slice(0, 19).replaceAll(':', '-')}-${sessionId}.jsonl`;
  const manifest = { hostId: 'ci-1', namespace, sessionId, sha256, codexVersion: '0.169.0', fileName, updatedAt };
  await ingestRollout(database.db, manifest, content, namespaceHome(work.home, namespace));
}

/** Threads `key-1` … `key-<count>`, one second apart from `newest`; all but the newest `unextracted` extracted. */
async function insertThreads(
  namespace: string,
  { count, unextracted, newest }: { count: number; unextracted: number; newest: number },
) {
  await database.db.pool.query(
    `INSERT INTO memories.threads (namespace, thread_id, sha256, file_name, cwd, source, updated_at, has_user_message,
            size_bytes, extracted_at)
     SELECT $1, 'key-' || i, md5(i::text), 'rollout-key.jsonl', '/w', 'cli', $2 - i, true, 100, CASE WHEN i > $4 THEN $2 - i END
       FROM generate_series(1, $3::int) AS i`,
    [namespace, newest, count, unextracted],
  );
}

const queued = async (namespace: string) =>
  (await claimableThreads(database.db, namespace, namespaceHome(work.home, namespace), { limit: 100, maxAgeDays: 30 })).map(
    (q) => q.thread,
  );

const hasWork = async (namespace: string) =>
  (await namespacesWithWork(database.db, 30)).find((w) => w.namespace === namespace)?.extract ?? false;

describe('the fleet queue', () => {
  it('offers a thread until it is extracted at its version, and again once a newer version is pushed', async () => {
    const namespace = 'queue-versions';
    await ensureNamespace(database.db, namespace, 'v2');
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    await push(namespace, a, 'add retries to the deploy script', HOURS_AGO);
    await push(namespace, b, 'pin node 20', HOURS_AGO - 1);
    await push(namespace, c, 'fix the flaky test', HOURS_AGO - 2);
    expect((await queued(namespace)).map((t) => t.threadId)).toEqual([a, b, c]);

    const store = createPostgresStore({ db: database.db, namespace, runningCap: Number.POSITIVE_INFINITY });
    const { claims } = await store.claimStage1Jobs({
      candidates: await queued(namespace),
      workerId: 'w',
      maxClaimed: 3,
      leaseSeconds: 60,
    });
    const [ca, cb, cc] = claims;
    await store.markStage1Succeeded(
      ca.thread,
      ca.ownershipToken,
      { rawMemory: 'm', rolloutSummary: 's', rolloutSlug: 'a' },
      null,
    );
    await store.markStage1SucceededNoOutput(cb.thread.threadId, cb.ownershipToken, null);
    // A failure with no delay left is claimable again at once; the two finished ones are not.
    await store.markStage1Failed(cc.thread.threadId, cc.ownershipToken, 'model timed out', 0);
    expect((await queued(namespace)).map((t) => t.threadId)).toEqual([c]);

    await push(namespace, a, 'add retries to the deploy script, and a dry run', HOURS_AGO + 60);
    expect((await queued(namespace)).map((t) => t.threadId)).toEqual([a, c]);
  });

  it('reads only the threads not extracted yet, however many the namespace has had', async () => {
    const namespace = 'queue-history';
    await ensureNamespace(database.db, namespace, 'v2');
    // 5,000 sessions extracted long ago (written directly: the point is their number), and two new ones.
    await insertThreads(namespace, { count: 5000, unextracted: 0, newest: HOURS_AGO - 60 });
    await push(namespace, randomUUID(), 'rename the config flag', HOURS_AGO - 600);
    await push(namespace, randomUUID(), 'document the release steps', HOURS_AGO - 900);
    await database.db.pool.query('ANALYZE memories.threads');

    expect(await queued(namespace)).toHaveLength(2);
    expect(await hasWork(namespace)).toBe(true);
    const home = namespaceHome(work.home, namespace);
    for (const plan of [
      await planOf((db) => claimableThreads(db, namespace, home, { limit: 100, maxAgeDays: 30 })),
      await planOf((db) => namespacesWithWork(db, 30)),
    ]) {
      expect(plan).toContain('threads_unextracted');
      expect(plan).not.toMatch(/Seq Scan on threads/);
    }
  });

  it('looks each candidate up by its key, with or without statistics on the tables', async () => {
    const namespace = 'queue-by-key';
    await ensureNamespace(database.db, namespace, 'v2');
    // 3,000 threads with finished jobs and outputs, 64 without: written directly, and not analyzed at first.
    await insertThreads(namespace, { count: 3064, unextracted: 64, newest: HOURS_AGO });
    await database.db.pool.query(
      `INSERT INTO memories.jobs (namespace, kind, job_key, status, retry_remaining, input_watermark, last_success_watermark, outcome)
       SELECT $1, 'memory_stage1', 'key-' || i, 'done', 3, $2 - i, $2 - i, 'output' FROM generate_series(65, 3064) AS i`,
      [namespace, HOURS_AGO],
    );
    await database.db.pool.query(
      `INSERT INTO memories.stage1_outputs (namespace, thread_id, source_updated_at, raw_memory, rollout_summary, has_content,
              cwd, rollout_path, generated_at)
       SELECT $1, 'key-' || i, $2 - i, 'm', 's', true, '/w', '/r', $2 FROM generate_series(65, 3064) AS i`,
      [namespace, HOURS_AGO],
    );
    const home = namespaceHome(work.home, namespace);
    const store = (db: PgDatabase) => createPostgresStore({ db, namespace, runningCap: Number.POSITIVE_INFINITY });
    const candidates = (await queued(namespace)).slice(0, 64);
    expect(candidates).toHaveLength(64);
    for (const analyzed of [false, true]) {
      if (analyzed)
        await database.db.pool.query('ANALYZE memories.jobs; ANALYZE memories.stage1_outputs; ANALYZE memories.threads');
      const plans = [
        await planOf((db) => claimableThreads(db, namespace, home, { limit: 64, maxAgeDays: 30 })),
        await planOf((db) => namespacesWithWork(db, 30)),
        await planOf((db) => store(db).claimStage1Jobs({ candidates, workerId: 'w', maxClaimed: 16, leaseSeconds: 60 })),
      ];
      for (const plan of plans) {
        expect(plan, `analyzed: ${analyzed}`).toContain('jobs_pkey');
        expect(plan, `analyzed: ${analyzed}`).not.toMatch(/Seq Scan on (jobs|stage1_outputs)|Hash|stage1_outputs_recent/);
      }
    }
  });
});

/** The plans of the statements `call` runs, each explained on the test's database instead of run. */
async function planOf(call: (db: PgDatabase) => Promise<unknown>): Promise<string> {
  const plans: string[] = [];
  const db = database.db;
  const explaining: PgDatabase = {
    ...db,
    transact: (fn, now, options) =>
      db.transact(
        (tx) =>
          fn({
            ...tx,
            query: async (sql, params) => {
              const result = await tx.query<{ 'QUERY PLAN': string }>(`EXPLAIN (COSTS OFF) ${sql}`, params);
              plans.push(result.rows.map((row) => row['QUERY PLAN']).join('\n'));
              return { ...result, rows: [] };
            },
          }),
        now,
        options,
      ),
  };
  await call(explaining);
  return plans.join('\n');
}
