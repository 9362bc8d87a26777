// Two `memories run` processes started together over one CODEX_HOME: one consolidation runs.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startLocalOpenAIServer } from '../services/local-model/local-openai-server.ts';
import { scriptedHandler } from '../services/local-model/scripted-model.ts';
import { installFixtureRollouts } from '../scripts/fixture-corpus.ts';
import { isAgentRequest } from './support/agent-requests.ts';
import { tempCodexHome } from './support/codex-home.ts';

const exec = promisify(execFile);
const BIN = join(import.meta.dirname, '..', 'scripts', 'memories.js');

let server: Awaited<ReturnType<typeof startLocalOpenAIServer>>;
let home: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ home, cleanup } = await tempCodexHome());
  // Slow answers keep the first consolidation running while the second process tries to claim.
  server = await startLocalOpenAIServer({ handler: scriptedHandler(), latencyMs: 400 });
});
afterAll(async () => {
  await server.close();
  await cleanup();
});

it('runs exactly one consolidation when two processes race for it', async () => {
  await installFixtureRollouts(home);
  const env = { ...process.env, OPENAI_API_KEY: 'test' };
  const runOnce = () =>
    exec(process.execPath, [BIN, 'run', '--codex-home', home, '--base-url', server.url, '--json'], { env, timeout: 60_000 });
  const results = await Promise.all([runOnce(), runOnce()]);
  const summaries = results.map((r) => JSON.parse(r.stdout));
  // Every interactive rollout was extracted once, by one process or the other.
  expect(summaries[0].claimed + summaries[1].claimed).toBe(5);
  const statuses = summaries.map((s) => s.phase2.status).sort();
  expect(statuses).toContain('succeeded');
  expect(statuses.filter((s) => s === 'succeeded')).toHaveLength(1);
  // The scripted agent needs three turns: read, write, final answer. More would mean two agents ran.
  expect(server.requests.filter((r) => isAgentRequest(r.body))).toHaveLength(3);
});
