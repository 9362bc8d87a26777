// `npm run bench:phase2`: phase 2 over 1,024 stage-1 outputs: the artifact sync, the whole consolidation
// against the bundled local server (its own process, answering instantly), and peak RSS.
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryRoot, rebuildRawMemories, syncArtifacts } from '../services/memory-folder/artifacts.ts';
import { createLowdbStore } from '../services/store/lowdb-store.ts';
import { createModelClient } from '../services/model/model-client.ts';
import { runPipeline } from '../services/pipeline.ts';
import { seedStage1Outputs } from './bench/seed-outputs.ts';
import { startServerProcess } from './bench/server-process.ts';

const OUTPUTS = Number(process.env.BENCH_OUTPUTS ?? 1_024);

const home = await mkdtemp(join(tmpdir(), 'memories-bench2-'));
const server = await startServerProcess();
try {
  const store = createLowdbStore({ dir: join(home, 'memories_state') });
  await seedStage1Outputs(store, home, OUTPUTS);

  const root = memoryRoot(home);
  const t0 = performance.now();
  const { selected } = await store.getPhase2Selection(OUTPUTS, 30);
  const selectMs = performance.now() - t0;
  const sync = async () => {
    await syncArtifacts(root, { retained: selected });
    await rebuildRawMemories(root, selected);
  };
  await sync();
  const syncMs = performance.now() - t0;
  const t1 = performance.now();
  await sync();
  const resyncMs = performance.now() - t1;

  const model = createModelClient({ apiKey: 'bench', baseURL: server.url, wireApi: 'responses' });
  const t2 = performance.now();
  const p2 = (await runPipeline({ codexHome: home, model, phase: '2', config: { maxRawMemoriesForGlobal: OUTPUTS } })).phase2!;
  const phase2Ms = performance.now() - t2;

  const rows = [
    ['stage-1 outputs', String(OUTPUTS)],
    ['selection (store read + rank)', `${selectMs.toFixed(0)} ms`],
    ['artifact sync, first (summaries + raw_memories.md)', `${syncMs.toFixed(0)} ms`],
    ['artifact sync, again (unchanged files are not rewritten)', `${resyncMs.toFixed(0)} ms`],
    ['phase 2 end to end (claim, sync, agent, validate, record)', `${phase2Ms.toFixed(0)} ms, status ${p2.status}`],
    ['agent loop', `${p2.turns} turns, ${p2.usage?.total ?? 0} tokens`],
    ['agent + bookkeeping overhead beyond the sync', `${(phase2Ms - resyncMs).toFixed(0)} ms`],
    ['peak RSS (pipeline process)', `${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`],
    ['machine', `${cpus().length} cores, node ${process.version}`],
  ];
  for (const [k, v] of rows) process.stdout.write(`${k.padEnd(58)} ${v}\n`);
} finally {
  await server.stop();
  await rm(home, { recursive: true, force: true });
}
