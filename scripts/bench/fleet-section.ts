// Fleet memory on PostgreSQL (issue 15): extraction throughput of 1 vs 4 `memories worker` processes sharing one
// database at 300 ms model latency, and the latency of a stage-1 claim while four claimers race over one queue.
import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ingestRollout } from '../../services/fleet/ingest.ts';
import { ensureNamespace, namespaceHome } from '../../services/fleet/namespaces.ts';
import { startLocalOpenAIServer } from '../../services/local-model/local-openai-server.ts';
import { scriptedHandler } from '../../services/local-model/scripted-model.ts';
import { isStage1 } from '../../spec/reliability/support/harness.ts';
import { createTestDatabase } from '../../spec/support/postgres.ts';
import type { PgDatabase } from '../../services/store/postgres/connection.ts';
import { REPO_ROOT } from './corpus.ts';
import { pct, secs, table, verdict } from './markdown.ts';
import { runSectionAlone } from './alone.ts';

const LATENCY_MS = 300;
// Fleet workers are long-lived: at 400 rollouts each of 4 worker processes extracted 100, most of it warming up (JIT,
// modules loaded on first use, new connections), at about twice the CPU per rollout of a warm worker (20 vs 11 ms).
// 1,200 gives each of them 300.
const ROLLOUTS = 1_200;
const CONCURRENCY = 8;
const CLAIM_ROLLOUTS = 2_000;
const CLAIMERS = 4;
const CLAIM_BATCH = 16;

/** A short interactive rollout, as `memories push` uploads it. */
function rollout(i: number, now: number) {
  const id = randomUUID();
  const ts = new Date(now * 1000).toISOString();
  const line = (type: string, payload: object) => JSON.stringify({ timestamp: ts, type, payload });
  const message = (role: string, text: string) =>
    line('response_item', { type: 'message', role, content: [{ type: role === 'user' ? 'input_text' : 'output_text', text }] });
  const content = Buffer.from(
    `${[
      line('session_meta', {
        id,
        timestamp: ts,
        cwd: `/work/service-${i % 9}`,
        originator: 'codex_cli_rs',
        cli_version: '0.169.0',
        source: 'cli',
      }),
      message('user', `task ${i}: make the importer skip rows without an id in module m${i % 13}`),
      message('assistant', 'Done: rows without an id are now skipped and counted.'),
    ].join('\n')}\n`,
  );
  const sha256 = createHash('sha256').update(content).digest('hex');
  return { id, content, sha256, fileName: `rollout-${ts.slice(0, 19).replaceAll(':', '-')}-${id}.jsonl` };
}

async function ingest(db: PgDatabase, namespace: string, count: number, workDir: string): Promise<void> {
  await ensureNamespace(db, namespace, 'v2');
  const now = Math.floor(Date.now() / 1000) - 7 * 3_600;
  for (let i = 0; i < count; i++) {
    const r = rollout(i, now - i);
    const manifest = {
      hostId: 'bench',
      namespace,
      sessionId: r.id,
      sha256: r.sha256,
      codexVersion: '0.169.0',
      fileName: r.fileName,
      updatedAt: now - i,
    };
    await ingestRollout(db, manifest, r.content, namespaceHome(workDir, namespace));
  }
}

const outputsOf = async (db: PgDatabase, namespace: string) =>
  (await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM memories.stage1_outputs WHERE namespace = $1', [namespace]))
    .rows[0].n;

/** Rollouts per second from the first model request to the last stored output, with `workers` worker processes. */
async function throughput(url: string, db: PgDatabase, workDir: string, workers: number) {
  const namespace = `bench-${workers}w`;
  await ingest(db, namespace, ROLLOUTS, join(workDir, 'ingest'));
  const arrivals: number[] = [];
  const scripted = scriptedHandler();
  const model = await startLocalOpenAIServer({
    latencyMs: LATENCY_MS,
    recordRequests: false,
    handler: (req) => {
      if (isStage1(req.body)) arrivals.push(performance.now());
      return scripted(req);
    },
  });
  const env = { ...process.env, OPENAI_BASE_URL: model.url, OPENAI_API_KEY: 'bench', MEMORIES_STORE: url };
  const children = Array.from({ length: workers }, (_, i) =>
    spawn(
      process.execPath,
      [
        join(REPO_ROOT, 'scripts', 'memories.js'),
        'worker',
        '--work-dir',
        join(workDir, `w${workers}-${i}`),
        '--concurrency',
        String(CONCURRENCY),
      ],
      {
        env,
        stdio: 'ignore',
      },
    ),
  );
  try {
    while ((await outputsOf(db, namespace)) < ROLLOUTS) await new Promise((resolve) => setTimeout(resolve, 25));
    const wallMs = performance.now() - arrivals[0];
    // Worker processes start at different moments (a cold start takes a second or more of CPU): the steady rate is
    // read between the 10th and the 90th percentile request, past the starts and before the last pass's tail.
    const [p10, p90] = [arrivals[Math.floor(ROLLOUTS * 0.1)], arrivals[Math.floor(ROLLOUTS * 0.9)]];
    const steady = (ROLLOUTS * 0.8) / ((p90 - p10) / 1000);
    const ideal = (workers * CONCURRENCY) / (LATENCY_MS / 1000);
    return { workers, wallMs, rate: ROLLOUTS / (wallMs / 1000), steady, ideal, claims: await workerClaims(workDir, workers) };
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(
      children.map((child) => new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)))),
    );
    await model.close();
  }
}

/**
 * The claim latencies (ms, sorted) the workers of a throughput run logged (a worker logs only claims with candidates
 * to take): each worker's first apart (made as the processes start together: modules still loading, new connections
 * and backends).
 */
async function workerClaims(workDir: string, workers: number): Promise<{ first: number[]; steady: number[] }> {
  const first: number[] = [];
  const steady: number[] = [];
  for (let i = 0; i < workers; i++) {
    const log = await readFile(join(workDir, `w${workers}-${i}`, 'log', 'memories.log'), 'utf8');
    const times = log
      .split('\n')
      .filter((line) => line.includes('"stage-1 claim"'))
      .map((line) => (JSON.parse(line) as { ms: number }).ms);
    first.push(...times.slice(0, 1));
    steady.push(...times.slice(1));
  }
  return { first: first.sort((a, b) => a - b), steady: steady.sort((a, b) => a - b) };
}

/** Claim latencies (ms) of `CLAIMERS` claimer processes racing over one queue. */
async function claimLatency(url: string, db: PgDatabase, workDir: string): Promise<number[]> {
  const namespace = 'bench-claims';
  await ingest(db, namespace, CLAIM_ROLLOUTS, join(workDir, 'ingest'));
  const script = join(REPO_ROOT, 'scripts', 'bench', 'fleet-claimer.ts');
  const outputs = await Promise.all(
    Array.from({ length: CLAIMERS }, (_, i) => {
      const args = JSON.stringify({ url, namespace, workDir, id: `claimer-${i}`, batch: CLAIM_BATCH });
      const child = spawn(process.execPath, ['--import', 'tsx', script, args], {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      return new Promise<number[]>((resolve, reject) =>
        child.once('exit', (code) =>
          code === 0 ? resolve(JSON.parse(out) as number[]) : reject(new Error(`claimer exited ${code}`)),
        ),
      );
    }),
  );
  return outputs.flat().sort((a, b) => a - b);
}

const claimRow = (what: string, sorted: number[]) => [
  what,
  sorted.length,
  ...[quantile(sorted, 0.5), quantile(sorted, 0.99), sorted.at(-1) ?? 0].map((n) => `${n.toFixed(1)} ms`),
];

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;

type Run = Awaited<ReturnType<typeof throughput>>;

/** The section's text: what was measured, the two runs, and every set of claims timed. */
function sectionText(runs: Run[], claims: number[], loads: [number, number]): string {
  return [
    `## 9. Fleet memory on PostgreSQL (${ROLLOUTS} short rollouts per run; scripted model in the bench process)`,
    '',
    `Workers are \`memories worker\` processes sharing one database (127.0.0.1:5432, a database created for the run), each with ` +
      `concurrency ${CONCURRENCY}; the time runs from the first model request to the last stored output. ${ROLLOUTS} rollouts, ` +
      `so that each of 4 workers extracts ${ROLLOUTS / 4}, past its warm-up (until 2026-12-05: 400, 100 each, at about twice the CPU ` +
      'per rollout of a warm worker). Claim latency: one claim = one transaction (FOR UPDATE SKIP LOCKED), timed from its ' +
      'first statement to its commit. The workers log each claim they make while the run goes on (claims with candidates ' +
      "to take); each worker's first is shown apart: it is made while the processes start together, with modules still " +
      'loading on both cores and new connections to fresh database backends. ' +
      `The stress row has ${CLAIMERS} claimer processes take batches of ${CLAIM_BATCH} from one queue of ` +
      `${CLAIM_ROLLOUTS} rollouts and finish each batch at once, with no model call between, so that they claim all the time. ` +
      `Load average (1 min, ${cpus().length} cores) at the start and the end of this section: ${loads[0].toFixed(2)} and ${loads[1].toFixed(2)}.`,
    '',
    table(
      'Workers | Wall (first request to last output) | Rollouts/s end to end | Steady rollouts/s (10th–90th percentile request) | Ideal /s | Steady fraction of ideal',
      runs.map((r) => [
        r.workers,
        secs(r.wallMs),
        r.rate.toFixed(1),
        r.steady.toFixed(1),
        r.ideal.toFixed(1),
        pct(r.steady / r.ideal),
      ]),
    ),
    '',
    table('Claims timed | Count | p50 | p99 | max', [
      ...runs.flatMap((r) => [
        claimRow(`${r.workers} worker process(es) of the run above, as logged, after each one's first`, r.claims.steady),
        claimRow(`${r.workers} worker process(es): the first claim of each`, r.claims.first),
      ]),
      claimRow(`${CLAIMERS} claimers in a loop without model calls (stress)`, claims),
    ]),
  ].join('\n');
}

/** The summary rows: the 4-vs-1 speed-up, and the claim latency of the workers and of the stress claimers. */
function summaryRows(runs: Run[], claims: number[]) {
  const speedup = runs[1].steady / runs[0].steady;
  const endToEnd = runs[1].rate / runs[0].rate;
  const [p50, p99] = [quantile(claims, 0.5), quantile(claims, 0.99)];
  const fleetClaims = runs[1].claims.steady;
  const [fleetP50, fleetP99] = [quantile(fleetClaims, 0.5), quantile(fleetClaims, 0.99)];
  return [
    [
      `Fleet throughput, ${LATENCY_MS} ms latency: 4 vs 1 worker processes`,
      '≥ 3.5×',
      `${speedup.toFixed(2)}× steady (${runs[0].steady.toFixed(1)} → ${runs[1].steady.toFixed(1)} rollouts/s); ${endToEnd.toFixed(2)}× end to end`,
      verdict(speedup >= 3.5),
    ],
    [
      `Stage-1 claim latency on PostgreSQL, 4 workers at ${LATENCY_MS} ms latency`,
      'p99 ≤ 20 ms',
      `p50 ${fleetP50.toFixed(1)} ms, p99 ${fleetP99.toFixed(1)} ms (${fleetClaims.length} claims after each worker's first; ` +
        `first claims ${runs[1].claims.first.map((n) => n.toFixed(0)).join(', ')} ms, made as the workers start)`,
      verdict(fleetP99 <= 20),
    ],
    [
      `Stage-1 claim latency on PostgreSQL, ${CLAIMERS} claimers without model calls (stress)`,
      'p99 ≤ 20 ms',
      `p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms`,
      verdict(p99 <= 20),
    ],
  ];
}

export async function fleetSection(log: (message: string) => void, tmp: string) {
  // The machine is shared: its load beside the figures says how far to trust them.
  const loadAtStart = loadavg()[0];
  const runs: Run[] = [];
  for (const workers of [1, 4]) {
    log(`fleet: ${ROLLOUTS} rollouts, ${LATENCY_MS} ms latency, ${workers} worker process(es) × concurrency ${CONCURRENCY}`);
    // A database per run: the next run's workers must not pick up this one's consolidation.
    const own = await createTestDatabase();
    try {
      runs.push(await throughput(own.url, own.db, join(tmp, 'fleet'), workers));
    } finally {
      await own.drop();
    }
  }
  const database = await createTestDatabase();
  try {
    log(`fleet: claim latency, ${CLAIMERS} claimers over ${CLAIM_ROLLOUTS} rollouts`);
    const claims = await claimLatency(database.url, database.db, join(tmp, 'fleet-claims'));
    return { section: sectionText(runs, claims, [loadAtStart, loadavg()[0]]), summary: summaryRows(runs, claims) };
  } finally {
    await database.drop();
  }
}

// Alone: `tsx scripts/bench/fleet-section.ts` prints the section and its summary rows.
await runSectionAlone(import.meta.url, 'fleet', fleetSection);
