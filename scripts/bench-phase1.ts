// `npm run bench:phase1`: phase 1 over 1,000 fixture rollouts against the bundled local server (its own
// process, answering instantly): rollouts/s, peak RSS, and a no-op rerun in process and as `memories run`.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createModelClient } from '../services/model/model-client.ts';
import { runPipeline } from '../services/pipeline.ts';
import { installFixtureRollouts } from './fixture-corpus.ts';
import { startServerProcess } from './bench/server-process.ts';

const COUNT = Number(process.env.BENCH_ROLLOUTS ?? 1_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);

const home = await mkdtemp(join(tmpdir(), 'memories-bench-'));
const server = await startServerProcess();
try {
  await installFixtureRollouts(home, { count: COUNT });
  const model = createModelClient({ apiKey: 'bench', baseURL: server.url, wireApi: 'responses' });
  // Codex caps max_rollouts_per_startup at 128; the whole corpus in one run measures throughput.
  const options = {
    codexHome: home,
    model,
    phase: '1' as const,
    concurrency: CONCURRENCY,
    config: { maxRolloutsPerStartup: COUNT },
  };

  const t0 = performance.now();
  const p1 = (await runPipeline(options)).phase1!;
  const firstMs = performance.now() - t0;

  const t1 = performance.now();
  const second = await runPipeline(options);
  const noopMs = performance.now() - t1;

  // The same no-op rerun as a user types it: a fresh `memories run` process, startup included.
  const args = [join(import.meta.dirname, 'memories.js'), 'run', '--codex-home', home, '--phase', '1'];
  args.push('--max-rollouts', String(COUNT), '--base-url', server.url, '--json');
  const t2 = performance.now();
  const cli = await promisify(execFile)(process.execPath, args, { env: { ...process.env, OPENAI_API_KEY: 'bench' } });
  const cliMs = performance.now() - t2;
  const cliClaimed = (JSON.parse(cli.stdout) as { claimed: number }).claimed;

  const rows = [
    ['rollouts written', String(COUNT)],
    ['eligible / claimed', `${p1.eligible} / ${p1.claimed}`],
    ['succeeded (output / no output) / failed', `${p1.succeeded} / ${p1.succeededNoOutput} / ${p1.failed}`],
    ['phase 1 wall time', `${(firstMs / 1000).toFixed(2)} s`],
    ['throughput', `${(p1.claimed / (firstMs / 1000)).toFixed(1)} rollouts/s`],
    ['input tokens sent', String(p1.usage.input)],
    ['peak RSS (pipeline process)', `${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`],
    ['no-op rerun (in process)', `${noopMs.toFixed(0)} ms, claimed ${second.phase1!.claimed}`],
    ['no-op rerun (`memories run` process, wall)', `${cliMs.toFixed(0)} ms, claimed ${cliClaimed}`],
    ['machine', `${cpus().length} cores, node ${process.version}, concurrency ${CONCURRENCY}`],
  ];
  for (const [k, v] of rows) process.stdout.write(`${k!.padEnd(42)} ${v}\n`);
} finally {
  await server.stop();
  await rm(home, { recursive: true, force: true });
}
