// Four `memories run` processes started together over one CODEX_HOME with 200 rollouts. Counted at
// the model server: every rollout is extracted exactly once, and consolidations never overlap.
//
// Note: max_rollouts_per_startup is also the GLOBAL cap on running stage-1 jobs (Codex's
// max_running_jobs), so four processes together take at most 128 of the 200 in one go; the rest
// are taken by the next start. The test therefore starts the four together, round after round,
// until nothing is left, and checks the counts over all rounds.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLowdbStore } from '../../services/store/lowdb-store.ts';
import { startLocalOpenAIServer, type LocalOpenAIServer } from '../../services/local-model/local-openai-server.ts';
import { scriptedHandler } from '../../services/local-model/scripted-model.ts';
import { isAgent, isFirstAgentTurn, isStage1, spawnMemories, tempHome, threadOfStage1, writeCorpus } from './support/harness.ts';

let server: LocalOpenAIServer;
const scripted = scriptedHandler();
let activeAgents = 0;
let maxActiveAgents = 0;
let consolidations = 0;
const stage1 = new Map<string, number>();

beforeAll(async () => {
  server = await startLocalOpenAIServer({
    // A little latency, so the four processes really overlap.
    latencyMs: 5,
    handler: (req) => {
      if (isStage1(req.body)) {
        const id = threadOfStage1(req.body) ?? 'unknown';
        stage1.set(id, (stage1.get(id) ?? 0) + 1);
        return scripted(req);
      }
      if (isAgent(req.body)) {
        if (isFirstAgentTurn(req.body)) {
          consolidations += 1;
          activeAgents += 1;
          maxActiveAgents = Math.max(maxActiveAgents, activeAgents);
        }
        const reply = scripted(req) as { text?: string; toolCalls?: unknown[] };
        if (!reply.toolCalls) activeAgents -= 1; // the final answer ends the conversation
        return reply as never;
      }
      return scripted(req);
    },
  });
});
afterAll(() => server?.close());

async function together(home: string, extra: string[] = []) {
  const runs = Array.from({ length: 4 }, () =>
    spawnMemories(['run', '--codex-home', home, '--base-url', server.url, '--json', ...extra]),
  );
  const results = await Promise.all(runs.map((r) => r.done));
  for (const r of results) expect(r.code, r.stderr).toBe(0);
  return results.map((r) => JSON.parse(r.stdout));
}

it('4 processes over 200 rollouts: each rollout extracted exactly once, consolidations never overlap', async () => {
  const { home, cleanup } = await tempHome('memories-4proc-');
  try {
    const ids = await writeCorpus(home, 200, 404);
    await writeFile(join(home, 'config.toml'), '[memories]\nmax_rollouts_per_startup = 128\n');
    const rounds: number[][] = [];
    for (let round = 0; round < 4; round++) {
      const summaries = await together(home);
      rounds.push(summaries.map((s) => s.claimed));
      for (const s of summaries) expect(s.failed).toBe(0);
      if (summaries.every((s) => s.claimed === 0)) break;
    }
    console.log(`claims per process per round: ${JSON.stringify(rounds)}; consolidations: ${consolidations}`);
    expect(stage1.size).toBe(200);
    expect([...stage1.values()].every((n) => n === 1)).toBe(true);
    expect([...stage1.keys()].sort()).toEqual([...ids].sort());
    expect(maxActiveAgents).toBe(1);

    const status = await createLowdbStore({ dir: join(home, 'memories_state') }).status();
    expect(status.outputs).toHaveLength(200);
    expect(status.globalJob?.status).toBe('done');
    expect(status.lastSelection).toHaveLength(200);
  } finally {
    await cleanup();
  }
});

it('4 processes racing for one dirty consolidation: exactly one consolidation runs', async () => {
  const { home, cleanup } = await tempHome('memories-4proc-p2-');
  try {
    await writeCorpus(home, 20, 405);
    await writeFile(join(home, 'config.toml'), '[memories]\nmax_rollouts_per_startup = 128\n');
    const before = await together(home, ['--phase', '1']);
    expect(before.reduce((n, s) => n + s.claimed, 0)).toBe(20);
    consolidations = 0;
    maxActiveAgents = 0;
    const summaries = await together(home);
    const statuses = summaries.map((s) => s.phase2.status).sort();
    expect(consolidations).toBe(1);
    expect(statuses.filter((s: string) => s === 'succeeded')).toHaveLength(1);
    expect(statuses.filter((s: string) => s.startsWith('skipped'))).toHaveLength(3);
  } finally {
    await cleanup();
  }
});
