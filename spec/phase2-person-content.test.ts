// Phase 2 with nothing retained: Codex deletes the consolidated memory (§3.5 step 5), but not what the person wrote.
// A note or a hand edit keeps MEMORY.md and memory_summary.md and the agent runs; without either the rule stands.
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Handler, startLocalOpenAIServer } from '../services/local-model/local-openai-server.ts';
import { scriptedHandler } from '../services/local-model/scripted-model.ts';
import { addNote } from '../services/memory-folder/notes.ts';
import { createModelClient } from '../services/model/model-client.ts';
import { type PipelineOptions, runPipeline } from '../services/pipeline.ts';
import { createLowdbStore } from '../services/store/lowdb-store.ts';
import { installFixtureRollouts } from '../scripts/fixture-corpus.ts';
import { isAgentRequest } from './support/agent-requests.ts';
import { memories } from './support/cli.ts';
import { tempCodexHome } from './support/codex-home.ts';

let home: string;
let root: string;
let cleanup: () => Promise<void>;
let server: Awaited<ReturnType<typeof startLocalOpenAIServer>>;
let agentRuns: number;

beforeEach(async () => {
  ({ home, cleanup } = await tempCodexHome());
  root = join(home, 'memories');
  agentRuns = 0;
  const scripted: Handler = scriptedHandler();
  server = await startLocalOpenAIServer({
    handler: (req) => {
      if (isAgentRequest(req.body)) agentRuns++;
      return scripted(req);
    },
  });
});
afterEach(async () => {
  await server.close();
  await cleanup();
});

const run = (extra: Partial<PipelineOptions> = {}) =>
  runPipeline({
    codexHome: home,
    model: createModelClient({ apiKey: 'test', baseURL: server.url, wireApi: 'responses' }),
    retryPolicy: { initialDelayMs: 5, maxDelayMs: 20 },
    ...extra,
  });
const store = () => createLowdbStore({ dir: join(home, 'memories_state') });
const cli = async (args: string[]) => {
  const result = await memories([...args, '--codex-home', home, '--json'], { OPENAI_API_KEY: 'test' });
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout);
};
/** What the last revision changed, as a unified diff. */
const lastRevisionPatch = async () => (await cli(['diff', 'HEAD'])).patch as string;

async function forgetEverySession(): Promise<void> {
  for (const { threadId } of (await store().status()).outputs) await store().forgetThread(threadId);
}

describe('phase 2 with no stage-1 output left', () => {
  it("keeps an absorbed note's content when the last session is forgotten, and runs the agent", async () => {
    await addNote(root, 'Always run pnpm install; npm breaks the lockfile');
    expect((await run()).phase2?.status).toBe('succeeded');
    expect(await readFile(join(root, 'MEMORY.md'), 'utf8')).toMatch(/pnpm install.*\[ad-hoc note\]/);
    await installFixtureRollouts(home, { count: 1 });
    expect((await run()).phase2).toMatchObject({ status: 'succeeded', added: 1 });

    await forgetEverySession();
    const runsBefore = agentRuns;
    const result = (await run({ phase: '2' })).phase2!;

    expect(result).toMatchObject({ status: 'succeeded', selected: 0, removed: 1 });
    expect(agentRuns).toBeGreaterThan(runsBefore);
    const memory = await readFile(join(root, 'MEMORY.md'), 'utf8');
    expect(memory).toMatch(/pnpm install.*\[ad-hoc note\]/);
    // What the forgotten session contributed is gone; the note's fact is recorded in the new revision.
    expect(memory).not.toContain('rollout_summaries/');
    expect(await readFile(join(root, 'memory_summary.md'), 'utf8')).toMatch(/^v1\n[\s\S]*pnpm install/);
    expect(await readFile(join(root, 'raw_memories.md'), 'utf8')).toBe('# Raw Memories\n\nNo raw memories yet.\n');
    expect((await cli(['log'])).revisions[0]).toMatchObject({ kind: 'consolidation', removed: 1 });
    expect(await readFile(join(root, 'MEMORY.md'), 'utf8')).toBe(memory);
    expect((await cli(['diff'])).changes).toEqual([]);
  });

  it('keeps a hand edit made since the last baseline when the last session is forgotten', async () => {
    await installFixtureRollouts(home, { count: 1 });
    expect((await run()).phase2?.status).toBe('succeeded');
    const fact = '- Deploys go through make release (hand-written)';
    await appendFile(join(root, 'MEMORY.md'), `${fact}\n`);

    await forgetEverySession();
    const result = (await run({ phase: '2' })).phase2!;

    expect(result).toMatchObject({ status: 'succeeded', selected: 0, removed: 1 });
    expect(result.handEditsRestored).toEqual(['MEMORY.md']);
    expect(await readFile(join(root, 'MEMORY.md'), 'utf8')).toContain(fact);
    expect(existsSync(join(root, 'memory_summary.md'))).toBe(true);
    expect((await cli(['diff'])).changes).toEqual([]);
  });

  it('keeps hand-written memory files in a home with no session and records them in a revision', async () => {
    await mkdir(root, { recursive: true });
    const fact = '- The person prefers pnpm over npm (hand-written)';
    await writeFile(join(root, 'MEMORY.md'), `# Task Group: hand-written\n\n${fact}\n`);
    await writeFile(join(root, 'memory_summary.md'), '## User Profile\n\n- A developer who writes memory by hand\n');

    const now = await cli(['consolidate', '--now', '--base-url', server.url]);

    expect(now).toMatchObject({ status: 'succeeded', inputs: { selected: 0 } });
    expect(agentRuns).toBeGreaterThan(0);
    expect(await readFile(join(root, 'MEMORY.md'), 'utf8')).toContain(fact);
    const summary = await readFile(join(root, 'memory_summary.md'), 'utf8');
    expect(summary).toMatch(/^v1\n/);
    expect(summary).toContain('- A developer who writes memory by hand');
    const { revisions } = await cli(['log']);
    expect(revisions).toHaveLength(1);
    expect(await lastRevisionPatch()).toContain(`+${fact}`);
  });

  it('still deletes the consolidated memory when nothing of the person is at stake (Codex §3.5 step 5)', async () => {
    await installFixtureRollouts(home, { count: 1 });
    expect((await run()).phase2?.status).toBe('succeeded');
    await forgetEverySession();
    const runsBefore = agentRuns;
    const result = (await run({ phase: '2' })).phase2!;
    expect(result).toMatchObject({ status: 'succeededNoInput', removed: 1 });
    expect(agentRuns).toBe(runsBefore);
    expect(existsSync(join(root, 'MEMORY.md'))).toBe(false);
    expect(existsSync(join(root, 'memory_summary.md'))).toBe(false);
  });
});
