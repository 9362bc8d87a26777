// After the agent, as Codex does: memory_summary.md must start with the line `v1`, and (our addition against
// openai/codex#29818) MEMORY.md must stay within the budget the prompt states, or the phase-2 job fails.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { installFixtureRollouts } from '../scripts/fixture-corpus.ts';
import { type Handler, startLocalOpenAIServer } from '../services/local-model/local-openai-server.ts';
import { scriptedHandler } from '../services/local-model/scripted-model.ts';
import { MEMORY_MD_BUDGET_BYTES } from '../services/memory-folder/artifacts.ts';
import { createModelClient } from '../services/model/model-client.ts';
import { runPipeline } from '../services/pipeline.ts';
import { createLowdbStore } from '../services/store/lowdb-store.ts';
import { isAgentRequest, toolOutputs } from './support/agent-requests.ts';
import { tempCodexHome } from './support/codex-home.ts';

let home: string;
let cleanup: () => Promise<void>;
let server: Awaited<ReturnType<typeof startLocalOpenAIServer>>;
let handler: Handler;
let prompts: string[];
beforeEach(async () => {
  ({ home, cleanup } = await tempCodexHome());
  prompts = [];
  server = await startLocalOpenAIServer({ handler: (req) => handler(req) });
  await installFixtureRollouts(home);
});
afterEach(async () => {
  await server.close();
  await cleanup();
});

/** An agent that writes the given files in its first turn, then finishes. */
function agentWriting(files: Record<string, string>): Handler {
  const scripted = scriptedHandler();
  return (req) => {
    if (!isAgentRequest(req.body)) return scripted(req);
    if (toolOutputs(req.body).length > 0) return { text: 'done' };
    prompts.push(JSON.stringify(req.body.input));
    const calls = Object.entries(files).map(([path, content], i) => ({
      id: `w${i}`,
      name: 'write_file',
      arguments: JSON.stringify({ path, content }),
    }));
    return { toolCalls: calls };
  };
}

function run(version: 'v1' | 'v2') {
  const model = createModelClient({ apiKey: 'test', baseURL: server.url, wireApi: 'responses' });
  return runPipeline({ codexHome: home, model, config: { version }, retryPolicy: { initialDelayMs: 5, maxDelayMs: 20 } });
}

const SUMMARY = 'v1\n\n## User Profile\n\nx\n';

describe('MEMORY.md size', () => {
  it('states the budget in the v1 prompt and fails the job when MEMORY.md ends up over it', async () => {
    const big = `# Task Group: repeats\n\n${'## Task: the same learning again\n'.repeat(3_000)}`;
    expect(Buffer.byteLength(big)).toBeGreaterThan(MEMORY_MD_BUDGET_BYTES);
    handler = agentWriting({ 'MEMORY.md': big, 'memory_summary.md': SUMMARY });
    const result = await run('v1');
    expect(prompts[0]).toContain(`under ${MEMORY_MD_BUDGET_BYTES} bytes`);
    expect(prompts[0]).toContain('merge it into one principle');
    expect(result.phase2?.status).toBe('failed');
    expect(result.phase2?.reason).toBe(
      `failed_invalid_artifacts: MEMORY.md is ${Buffer.byteLength(big)} bytes, over its ${MEMORY_MD_BUDGET_BYTES}-byte budget`,
    );
    const { globalJob } = await createLowdbStore({ dir: join(home, 'memories_state') }).status();
    expect(globalJob).toMatchObject({ status: 'error', retryRemaining: 2 });
  });

  it('accepts a MEMORY.md of exactly the budget', async () => {
    const head = '# Task Group: fits\n\n';
    const exact = head + 'x'.repeat(MEMORY_MD_BUDGET_BYTES - head.length);
    handler = agentWriting({ 'MEMORY.md': exact, 'memory_summary.md': SUMMARY });
    expect((await run('v1')).phase2?.status).toBe('succeeded');
    expect(Buffer.byteLength(await readFile(join(home, 'memories', 'MEMORY.md'), 'utf8'))).toBe(MEMORY_MD_BUDGET_BYTES);
  });
});

describe('memory_summary.md first line', () => {
  it.each(['v1', 'v2'] as const)('fails the %s job when the summary does not start with the line v1', async (version) => {
    handler = agentWriting({ 'MEMORY.md': '# Task Group: a\n', 'memory_summary.md': '## User Profile\n\nv1\n' });
    const result = await run(version);
    expect(result.phase2?.status).toBe('failed');
    expect(result.phase2?.reason).toBe('failed_invalid_artifacts: memory_summary.md does not start with the line v1');
  });

  it('does not take `v10` for `v1`', async () => {
    handler = agentWriting({ 'memory_summary.md': 'v10\n## User Profile\n' });
    expect((await run('v2')).phase2?.reason).toMatch(/does not start with the line v1/);
  });

  it('needs no MEMORY.md in v2', async () => {
    handler = agentWriting({ 'memory_summary.md': SUMMARY });
    expect((await run('v2')).phase2?.status).toBe('succeeded');
  });
});
