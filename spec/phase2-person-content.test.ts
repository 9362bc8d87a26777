// Phase 2 with nothing retained: Codex deletes the consolidated memory (§3.5 step 5), but not what the person wrote.
// A note or a hand edit keeps MEMORY.md and memory_summary.md and the agent runs; without either the rule stands.
import { existsSync } from 'node:fs';
import { appendFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { addNote } from '../services/memory-folder/notes.ts';
import { createLowdbStore } from '../services/store/lowdb-store.ts';
import { installFixtureRollouts } from '../scripts/fixture-corpus.ts';
import { isAgentRequest } from './support/agent-requests.ts';
import { memories } from './support/cli.ts';
import { memoryHomePerTest } from './support/memory-home.ts';

const t = memoryHomePerTest();
let agentRuns: number;

beforeEach(() => {
  agentRuns = 0;
  const scripted = t.handler;
  t.handler = (req) => {
    if (isAgentRequest(req.body)) agentRuns++;
    return scripted(req);
  };
});

const store = () => createLowdbStore({ dir: join(t.home, 'memories_state') });
const cli = async (args: string[]) => {
  const result = await memories([...args, '--codex-home', t.home, '--json'], { OPENAI_API_KEY: 'test' });
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
    await addNote(t.root, 'Always run pnpm install; npm breaks the lockfile');
    expect((await t.run()).phase2?.status).toBe('succeeded');
    expect(await readFile(join(t.root, 'MEMORY.md'), 'utf8')).toMatch(/pnpm install.*\[ad-hoc note\]/);
    await installFixtureRollouts(t.home, { count: 1 });
    expect((await t.run()).phase2).toMatchObject({ status: 'succeeded', added: 1 });

    await forgetEverySession();
    const runsBefore = agentRuns;
    const result = (await t.run({ phase: '2' })).phase2!;

    expect(result).toMatchObject({ status: 'succeeded', selected: 0, removed: 1 });
    expect(agentRuns).toBeGreaterThan(runsBefore);
    const memory = await readFile(join(t.root, 'MEMORY.md'), 'utf8');
    expect(memory).toMatch(/pnpm install.*\[ad-hoc note\]/);
    // What the forgotten session contributed is gone; the note's fact is recorded in the new revision.
    expect(memory).not.toContain('rollout_summaries/');
    expect(await readFile(join(t.root, 'memory_summary.md'), 'utf8')).toMatch(/^v1\n[\s\S]*pnpm install/);
    expect(await readFile(join(t.root, 'raw_memories.md'), 'utf8')).toBe('# Raw Memories\n\nNo raw memories yet.\n');
    expect((await cli(['log'])).revisions[0]).toMatchObject({ kind: 'consolidation', removed: 1 });
    expect(await readFile(join(t.root, 'MEMORY.md'), 'utf8')).toBe(memory);
    expect((await cli(['diff'])).changes).toEqual([]);
  });

  it('keeps a hand edit made since the last baseline when the last session is forgotten', async () => {
    await installFixtureRollouts(t.home, { count: 1 });
    expect((await t.run()).phase2?.status).toBe('succeeded');
    const fact = '- Deploys go through make release (hand-written)';
    await appendFile(join(t.root, 'MEMORY.md'), `${fact}\n`);

    await forgetEverySession();
    const result = (await t.run({ phase: '2' })).phase2!;

    expect(result).toMatchObject({ status: 'succeeded', selected: 0, removed: 1 });
    expect(result.handEditsRestored).toEqual(['MEMORY.md']);
    expect(await readFile(join(t.root, 'MEMORY.md'), 'utf8')).toContain(fact);
    expect(existsSync(join(t.root, 'memory_summary.md'))).toBe(true);
    expect((await cli(['diff'])).changes).toEqual([]);
  });

  it('keeps hand-written memory files in a t.home with no session and records them in a revision', async () => {
    await mkdir(t.root, { recursive: true });
    const fact = '- The person prefers pnpm over npm (hand-written)';
    await writeFile(join(t.root, 'MEMORY.md'), `# Task Group: hand-written\n\n${fact}\n`);
    await writeFile(join(t.root, 'memory_summary.md'), '## User Profile\n\n- A developer who writes memory by hand\n');

    const now = await cli(['consolidate', '--now', '--base-url', t.server.url]);

    expect(now).toMatchObject({ status: 'succeeded', inputs: { selected: 0 } });
    expect(agentRuns).toBeGreaterThan(0);
    expect(await readFile(join(t.root, 'MEMORY.md'), 'utf8')).toContain(fact);
    const summary = await readFile(join(t.root, 'memory_summary.md'), 'utf8');
    expect(summary).toMatch(/^v1\n/);
    expect(summary).toContain('- A developer who writes memory by hand');
    const { revisions } = await cli(['log']);
    expect(revisions).toHaveLength(1);
    expect(await lastRevisionPatch()).toContain(`+${fact}`);
  });

  it('still deletes the consolidated memory when nothing of the person is at stake (Codex §3.5 step 5)', async () => {
    await installFixtureRollouts(t.home, { count: 1 });
    expect((await t.run()).phase2?.status).toBe('succeeded');
    await forgetEverySession();
    const runsBefore = agentRuns;
    const result = (await t.run({ phase: '2' })).phase2!;
    expect(result).toMatchObject({ status: 'succeededNoInput', removed: 1 });
    expect(agentRuns).toBe(runsBefore);
    expect(existsSync(join(t.root, 'MEMORY.md'))).toBe(false);
    expect(existsSync(join(t.root, 'memory_summary.md'))).toBe(false);
  });

  it('deletes it too when the sessions remain but max_raw_memories_for_consolidation = 0 selects none of them', async () => {
    await installFixtureRollouts(t.home, { count: 2 });
    expect((await t.run()).phase2?.status).toBe('succeeded');
    const kept = (await store().status()).outputs.length;
    expect(kept).toBeGreaterThan(0);
    await store().enqueueGlobalConsolidation(Math.floor(Date.now() / 1000));
    const runsBefore = agentRuns;
    const result = (await t.run({ phase: '2', config: { maxRawMemoriesForGlobal: 0 } })).phase2!;
    expect(result).toMatchObject({ status: 'succeededNoInput', selected: 0, removed: kept });
    expect(agentRuns).toBe(runsBefore);
    // Nothing left that Codex would load, or that points at a session no longer selected.
    expect(existsSync(join(t.root, 'MEMORY.md'))).toBe(false);
    expect(existsSync(join(t.root, 'memory_summary.md'))).toBe(false);
    expect(await readdir(join(t.root, 'rollout_summaries'))).toEqual([]);
  });
});
