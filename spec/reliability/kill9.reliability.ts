// kill -9 of a worker at seeded random points — during a claim, an extraction, an artifact sync and
// an agent tool call — round after round over one CODEX_HOME. After every kill the store parses and
// the memory folder holds only whole files; no rollout is ever extracted again once its output is
// stored; and a final run completes every eligible rollout exactly once.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  memoryRoot,
  renderRawMemories,
  renderRolloutSummary,
  rolloutSummaryStem,
} from '../../services/memory-folder/artifacts.ts';
import { createLowdbStore } from '../../services/store/lowdb-store.ts';
import { createModelClient } from '../../services/model/model-client.ts';
import { runPipeline } from '../../services/pipeline.ts';
import { startLocalOpenAIServer, type LocalOpenAIServer } from '../../services/local-model/local-openai-server.ts';
import { scriptedHandler } from '../../services/local-model/scripted-model.ts';
import {
  ageLeftovers,
  HOUR,
  isAgent,
  isStage1,
  readJson,
  rng,
  spawnWorker,
  tempHome,
  threadOfStage1,
  walk,
  writeCorpus,
  type Spawned,
} from './support/harness.ts';

const ROUNDS = Number(process.env.RELIABILITY_KILL_ROUNDS ?? 20);
const SEED = 0x5eed_0009;
const ROLLOUTS = 60; // more than 20 rounds × 5 claims can finish, so the final run has work left
const MODES = ['claim', 'extract', 'sync', 'tool'] as const;
type Mode = (typeof MODES)[number];
const ROUND_MS = 65 * 60_000; // > the 3,600 s lease: each round sees the last one's leases expired

let home: string;
let cleanup: () => Promise<void>;
let server: LocalOpenAIServer;
const scripted = scriptedHandler();

// Per-round state the handler reads.
let round = -1;
let mode: Mode = 'claim';
let extractKillAt = 0;
let stage1ThisRound = 0;
let toolKillDelay = 0;
let trigger: ((why: string) => void) | null = null;
const stage1Log: { round: number; threadId: string | null }[] = [];
/** Every content the agent was told to write, per path: a file on disk must be one of them, whole. */
const agentWrites = new Map<string, Set<string>>();

beforeAll(async () => {
  ({ home, cleanup } = await tempHome('memories-kill9-'));
  server = await startLocalOpenAIServer({
    handler: async (req) => {
      if (isStage1(req.body)) {
        stage1Log.push({ round, threadId: threadOfStage1(req.body) });
        if (mode === 'extract' && stage1ThisRound++ === extractKillAt) {
          trigger?.('mid-extraction (request in flight)');
          return { hangMs: 60_000 };
        }
        return scripted(req);
      }
      const reply = await scripted(req);
      if (isAgent(req.body) && 'toolCalls' in reply) {
        for (const call of reply.toolCalls) {
          if (call.name !== 'write_file') continue;
          const { path, content } = JSON.parse(call.arguments) as { path: string; content: string };
          if (!agentWrites.has(path)) agentWrites.set(path, new Set());
          agentWrites.get(path)!.add(content);
          if (mode === 'tool') {
            const fire = trigger;
            setTimeout(() => fire?.(`during the write_file tool call (+${toolKillDelay} ms)`), toolKillDelay);
          }
        }
      }
      return reply;
    },
  });
});
afterAll(async () => {
  await server?.close();
  await cleanup?.();
});

const stateDir = () => join(home, 'memories_state');

function doneThreads(): Set<string> {
  const file = join(stateDir(), 'jobs.json');
  if (!existsSync(file)) return new Set();
  const jobs = JSON.parse(readFileSync(file, 'utf8'));
  return new Set(
    Object.entries(jobs.stage1 as Record<string, { status: string }>)
      .filter(([, j]) => j.status === 'done')
      .map(([id]) => id),
  );
}

/** Fires `kill` once the child takes its first store lock (the claim transaction). */
function watchClaim(startedAt: number, kill: (why: string) => void, delayMs: number): () => void {
  const lock = join(stateDir(), 'jobs.json.lock');
  const timer = setInterval(() => {
    try {
      if (statSync(lock).mtimeMs >= startedAt - 1_000) {
        clearInterval(timer);
        setTimeout(() => kill(`during the claim transaction (+${delayMs} ms after the lock)`), delayMs);
      }
    } catch {
      // not there yet
    }
  }, 1);
  return () => clearInterval(timer);
}

/** Fires `kill` once a temp file appears in the memory folder (an atomic artifact write started). */
function watchSync(kill: (why: string) => void, delayMs: number): () => void {
  const dirs = [memoryRoot(home), join(memoryRoot(home), 'rollout_summaries')];
  // Temp files an earlier killed round left do not count: only one this worker creates.
  const old = new Set(
    dirs.flatMap((dir) => {
      try {
        return readdirSync(dir);
      } catch {
        return [];
      }
    }),
  );
  const timer = setInterval(() => {
    for (const dir of dirs) {
      let names: string[] = [];
      try {
        names = readdirSync(dir);
      } catch {
        continue;
      }
      if (names.some((n) => n.endsWith('.tmp') && !old.has(n))) {
        clearInterval(timer);
        setTimeout(() => kill(`during the artifact sync (+${delayMs} ms after a temp file appeared)`), delayMs);
        return;
      }
    }
  }, 1);
  return () => clearInterval(timer);
}

/** The memory folder holds whole files only: each equals something the pipeline or agent produced. */
async function checkFolder(): Promise<string[]> {
  const problems: string[] = [];
  const root = memoryRoot(home);
  if (!existsSync(root)) return problems;
  const store = createLowdbStore({ dir: stateDir() });
  const { outputs } = await store.status();
  const expected = new Map(outputs.map((o) => [`${rolloutSummaryStem(o)}.md`, renderRolloutSummary(o)]));
  const summariesDir = join(root, 'rollout_summaries');
  for (const name of existsSync(summariesDir) ? await readdir(summariesDir) : []) {
    if (name.startsWith('.')) continue;
    const text = await readFile(join(summariesDir, name), 'utf8');
    if (expected.get(name) !== text) problems.push(`rollout_summaries/${name} is not a whole summary of a stored output`);
  }
  for (const name of ['MEMORY.md', 'memory_summary.md']) {
    const path = join(root, name);
    if (!existsSync(path)) continue;
    const text = await readFile(path, 'utf8');
    if (!agentWrites.get(name)?.has(text)) problems.push(`${name} is not one whole version the agent wrote`);
  }
  const raw = join(root, 'raw_memories.md');
  if (existsSync(raw)) {
    const text = await readFile(raw, 'utf8');
    if (!text.startsWith('# Raw Memories\n') || !text.endsWith('\n')) problems.push('raw_memories.md is torn');
  }
  return problems;
}

it(`survives ${ROUNDS} kill -9 rounds (seed ${SEED}) and a fresh run then completes every rollout exactly once`, async () => {
  const ids = await writeCorpus(home, ROLLOUTS, SEED);
  const next = rng(SEED);
  const table: {
    ms: number;
    round: number;
    mode: Mode;
    killed: string;
    storedAfter: number;
    duplicates: number;
    problems: string[];
  }[] = [];

  for (round = 0; round < ROUNDS; round++) {
    mode = MODES[round % MODES.length]!;
    const delay = Math.floor(next() * 6);
    extractKillAt = Math.floor(next() * 3);
    toolKillDelay = delay;
    stage1ThisRound = 0;
    const doneBefore = doneThreads();
    await ageLeftovers(home);

    const startedAt = Date.now();
    const worker: Spawned = spawnWorker({
      home,
      baseUrl: server.url,
      offsetMs: round * ROUND_MS,
      maxRollouts: 5,
      concurrency: 3,
    });
    let killedWhy = 'not killed (ran to the end)';
    const kill = (why: string) => {
      if (worker.child.exitCode !== null || worker.child.signalCode !== null) return;
      killedWhy = why;
      worker.child.kill('SIGKILL');
    };
    trigger = kill;
    const stopWatch =
      mode === 'claim' ? watchClaim(startedAt, kill, delay) : mode === 'sync' ? watchSync(kill, delay) : () => undefined;
    const fallback = setTimeout(() => kill('fallback timer (20 s)'), 20_000);
    const result = await worker.done;
    clearTimeout(fallback);
    stopWatch();
    trigger = null;
    if (result.signal !== 'SIGKILL') expect(result.code, result.stderr).toBe(0);

    // The store parses after every kill.
    for (const file of ['jobs.json', 'outputs.json']) {
      const path = join(stateDir(), file);
      if (existsSync(path)) await expect(readJson(path)).resolves.toBeTypeOf('object');
    }
    const ms = Date.now() - startedAt;
    await ageLeftovers(home); // checkFolder reads the store, which would wait out a killed lock
    const duplicates = stage1Log.filter((r) => r.round === round && r.threadId && doneBefore.has(r.threadId)).length;
    const problems = await checkFolder();
    table.push({ ms, round, mode, killed: killedWhy, storedAfter: doneThreads().size, duplicates, problems });
  }
  console.log(
    `kill -9 rounds (seed ${SEED}):\n${table.map((r) => `  ${r.round} ${r.mode.padEnd(7)} ${r.killed} → ${r.storedAfter} stored, ${r.duplicates} dup, ${r.ms} ms`).join('\n')}`,
  );
  expect(table.flatMap((r) => r.problems)).toEqual([]);
  expect(table.reduce((n, r) => n + r.duplicates, 0)).toBe(0);
  // The seeded kill points really hit what they aim at.
  for (const wanted of ['claim', 'extraction', 'artifact sync', 'tool call']) {
    expect(
      table.some((r) => r.killed.includes(wanted)),
      `no round was killed ${wanted}`,
    ).toBe(true);
  }

  // A fresh run, after every lease a killed worker held has expired.
  await ageLeftovers(home);
  const doneBefore = doneThreads();
  const requestsBefore = stage1Log.length;
  round = ROUNDS;
  mode = 'claim'; // no trigger is armed: nothing is killed
  const model = createModelClient({ apiKey: 'x', baseURL: server.url, wireApi: 'responses' });
  const offsetMs = (ROUNDS + 1) * ROUND_MS;
  const out = await runPipeline({
    codexHome: home,
    model,
    now: () => Date.now() + offsetMs,
    config: { maxRolloutsPerStartup: 128 },
  });
  expect(out.phase1?.failed).toBe(0);
  expect(['succeeded', 'skippedNotDirty']).toContain(out.phase2?.status);

  const finalRequests = stage1Log.slice(requestsBefore).map((r) => r.threadId!);
  // Exactly the rollouts not stored yet were extracted, each once.
  expect(finalRequests.sort()).toEqual(ids.filter((id) => !doneBefore.has(id)).sort());
  const store = createLowdbStore({ dir: stateDir() });
  const status = await store.status();
  expect(status.outputs.map((o) => o.threadId).sort()).toEqual([...ids].sort());
  expect(status.jobs.every((j) => j.status === 'done')).toBe(true);
  // Consolidation is not left dirty or running: the last consolidation saw every output.
  expect(status.globalJob?.status).toBe('done');
  expect(status.globalJob!.lastSuccessWatermark).toBeGreaterThanOrEqual(status.globalJob!.inputWatermark!);
  // Every rollout was extracted successfully exactly once: each stored job finished once, and no
  // request ever went out for a thread whose output was already stored (checked per round above).

  // The memory folder is complete and consistent with the store.
  const root = memoryRoot(home);
  expect(await checkFolder()).toEqual([]);
  const summaries = (await readdir(join(root, 'rollout_summaries'))).filter((n) => n.endsWith('.md'));
  expect(summaries).toHaveLength(ROLLOUTS);
  const selection = await store.getPhase2Selection(1024, 30);
  expect(await readFile(join(root, 'raw_memories.md'), 'utf8')).toBe(renderRawMemories(selection.selected));
  // Nothing a killed process was writing is left behind: no temp files, no lock directories.
  const leftovers = (await walk(home)).filter((e) => /\.tmp$|\.lock$/.test(e.path)).map((e) => e.path.slice(home.length));
  expect(leftovers).toEqual([]);

  // And a run after that has nothing to do.
  const before = server.requests.length;
  const again = await runPipeline({ codexHome: home, model, now: () => Date.now() + offsetMs + HOUR });
  expect(again.phase1?.claimed).toBe(0);
  expect(again.phase2?.status).toBe('skippedNotDirty');
  expect(server.requests.length).toBe(before);
});
