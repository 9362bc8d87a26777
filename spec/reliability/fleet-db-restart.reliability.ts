// A fleet worker while its database drops every connection, as a PostgreSQL restart does (each backend ends with
// admin_shutdown), five times under load: the worker reconnects and goes on, and every rollout is extracted once and
// consolidated. The shared server itself is never restarted: only this test's database loses its connections.
import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startFleetWorker } from '../../services/fleet/fleet-worker.ts';
import { ingestRollout } from '../../services/fleet/ingest.ts';
import { ensureNamespace, namespaceHome } from '../../services/fleet/namespaces.ts';
import { type LocalOpenAIServer, startLocalOpenAIServer } from '../../services/local-model/local-openai-server.ts';
import { scriptedHandler } from '../../services/local-model/scripted-model.ts';
import { silentLogger } from '../../services/logger.ts';
import { createModelClient } from '../../services/model/model-client.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { sleep, tempHome, waitFor } from './support/harness.ts';

const ROLLOUTS = 120;
const NAMESPACE = 'restart';

let database: TestDatabase;
let model: LocalOpenAIServer;
let dir: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  database = await createTestDatabase();
  ({ home: dir, cleanup } = await tempHome('memories-fleet-restart-'));
  const scripted = scriptedHandler();
  model = await startLocalOpenAIServer({ recordRequests: false, handler: async (req) => (await sleep(20), scripted(req)) });
}, 120_000);

afterAll(async () => {
  await model?.close();
  await database?.drop();
  await cleanup?.();
});

function rollout(i: number, updatedAt: number) {
  const id = randomUUID();
  const ts = new Date(updatedAt * 1000).toISOString();
  const line = (type: string, payload: object) => JSON.stringify({ timestamp: ts, type, payload });
  const text = `task ${i}: keep the importer running when the database restarts`;
  const content = Buffer.from(
    `${line('session_meta', { id, timestamp: ts, cwd: '/work/importer', source: 'cli', cli_version: '0.169.0' })}\n` +
      `${line('response_item', { type: 'message', role: 'user', content: [{ type: 'input_text', text }] })}\n`,
  );
  const sha256 = createHash('sha256').update(content).digest('hex');
  const manifest = {
    hostId: 'h',
    namespace: NAMESPACE,
    sessionId: id,
    sha256,
    codexVersion: '0.169.0',
    fileName: `rollout-${id}.jsonl`,
    updatedAt,
  };
  return { manifest, content };
}

/** What a server restart does to its clients: every connection to this database ends (57P01 admin_shutdown). */
async function dropConnections(): Promise<number> {
  const { rows } = await database.db.pool.query<{ n: number }>(
    `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
    [database.name],
  );
  return rows[0].n;
}

it('reconnects and goes on when the database drops every connection five times under load', async () => {
  await ensureNamespace(database.db, NAMESPACE, 'v2');
  const now = Math.floor(Date.now() / 1000) - 7_200;
  for (let i = 0; i < ROLLOUTS; i++) {
    const { manifest, content } = rollout(i, now - i);
    await ingestRollout(database.db, manifest, content, namespaceHome(dir, NAMESPACE));
  }
  const client = createModelClient({ apiKey: 'test', baseURL: model.url, wireApi: 'responses' });
  const worker = startFleetWorker({
    db: database.db,
    url: database.url,
    workDir: `${dir}/worker`,
    model: client,
    log: silentLogger,
    concurrency: 8,
    leaseSeconds: 3,
    pollMs: 200,
    retryPolicy: { initialDelayMs: 50, maxDelayMs: 400, maxAttempts: 5 },
  });
  const count = async (sql: string) => {
    for (;;) {
      try {
        return Number((await database.db.pool.query<{ n: string }>(sql, [NAMESPACE])).rows[0].n);
      } catch {
        await sleep(50); // this test's own connection was dropped too
      }
    }
  };
  const outputs = () => count('SELECT count(*) AS n FROM memories.stage1_outputs WHERE namespace = $1');
  try {
    let dropped = 0;
    for (let round = 0; round < 5; round++) {
      await waitFor(async () => (await outputs()) >= (round + 1) * 15, 30_000, 20);
      dropped += await dropConnections().catch(() => 0);
    }
    expect(dropped).toBeGreaterThan(5);
    const consolidated = await waitFor(
      async () =>
        (await outputs()) === ROLLOUTS &&
        (await count(
          `SELECT count(*) AS n FROM memories.jobs WHERE namespace = $1 AND kind = 'memory_consolidate_global'
              AND status = 'done' AND last_success_watermark >= input_watermark`,
        )) === 1,
      90_000,
      100,
    );
    expect(consolidated, `${await outputs()} of ${ROLLOUTS} extracted`).toBe(true);
  } finally {
    await worker.stop();
  }
  const jobs = await database.db.pool.query<{ status: string; outcome: string }>(
    `SELECT status, outcome FROM memories.jobs WHERE namespace = $1 AND kind = 'memory_stage1'`,
    [NAMESPACE],
  );
  expect(jobs.rows).toHaveLength(ROLLOUTS);
  expect(jobs.rows.every((j) => j.status === 'done' && j.outcome === 'output')).toBe(true);
  expect(await count('SELECT max(revision) AS n FROM memories.memory_revisions WHERE namespace = $1')).toBeGreaterThanOrEqual(1);
}, 180_000);
