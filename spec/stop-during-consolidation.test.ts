// A consolidation stopped midway (Ctrl-C, `stopPipeline`, a daemon shutting down) is undone as a failed one is: the
// folder goes back to how the person left it before its lease is given back, so nothing the agent half-wrote is
// read by Codex, or taken for the person's edits by the next run.
import * as fs from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import git from 'isomorphic-git';
import { describe, expect, it } from 'vitest';
import { diffSinceBaseline } from '../services/memory-history/history.ts';
import { createModelClient } from '../services/model/model-client.ts';
import { createMemoriesPipeline, stopPipeline } from '../services/pipeline.ts';
import { createLowdbStore } from '../services/store/lowdb-store.ts';
import { installFixtureRollouts } from '../scripts/fixture-corpus.ts';
import { isAgentRequest } from './support/agent-requests.ts';
import { spawnMemories } from './support/cli.ts';
import { memoryHomePerTest } from './support/memory-home.ts';

const t = memoryHomePerTest();

/** The maintained and synced files of the folder, with their text. */
async function folderFiles(root: string): Promise<Record<string, string>> {
  const names = ['MEMORY.md', 'memory_summary.md', 'raw_memories.md'];
  const summaries = (await readdir(join(root, 'rollout_summaries'))).map((n) => `rollout_summaries/${n}`);
  const entries = await Promise.all([...names, ...summaries].map(async (n) => [n, await readFile(join(root, n), 'utf8')]));
  return Object.fromEntries(entries);
}

const HALF_WRITTEN = '# Task Group: half-written by an agent whose process was killed';

/** A `memories run` whose agent rewrites MEMORY.md in its first turn and is killed (-9) while its second is on its way. */
async function killConsolidationMidWrite(): Promise<void> {
  const scripted = t.handler;
  let agentRequests = 0;
  let second: () => void = () => {};
  const secondArrived = new Promise<void>((resolve) => {
    second = resolve;
  });
  const write = { name: 'write_file', arguments: JSON.stringify({ path: 'MEMORY.md', content: `${HALF_WRITTEN}\n` }) };
  t.handler = (req) => {
    if (!isAgentRequest(req.body)) return scripted(req);
    if (++agentRequests === 1) return { toolCalls: [write] };
    second();
    return { hangMs: 60_000 };
  };
  const killed = spawnMemories(['run', '--codex-home', t.home, '--base-url', t.server.url], { OPENAI_API_KEY: 'test' });
  await secondArrived;
  killed.child.kill('SIGKILL');
  expect((await killed.exited).signal).toBe('SIGKILL');
  expect(await readFile(join(t.root, 'MEMORY.md'), 'utf8')).toBe(`${HALF_WRITTEN}\n`);
}

describe('stopping a run while it consolidates', () => {
  it('puts the folder back as it was, then releases the global lease', async () => {
    await installFixtureRollouts(t.home);
    expect((await t.run()).phase2?.status).toBe('succeeded');
    const before = await folderFiles(t.root);
    await installFixtureRollouts(t.home, { count: 9 }); // the ninth is a new session: the next run consolidates

    // The next run's agent writes in its first turn, then its second request waits for the stop.
    const scripted = t.handler;
    let agentRequests = 0;
    let second: () => void = () => {};
    const secondArrived = new Promise<void>((resolve) => {
      second = resolve;
    });
    t.handler = (req) => {
      if (isAgentRequest(req.body) && ++agentRequests === 2) {
        second();
        return { hangMs: 60_000 };
      }
      return scripted(req);
    };
    const model = createModelClient({ apiKey: 'test', baseURL: t.server.url, wireApi: 'responses' });
    const actor = createMemoriesPipeline({ codexHome: t.home, model });
    await secondArrived;
    expect(await folderFiles(t.root)).not.toEqual(before); // the agent and the sync have changed the folder
    await stopPipeline(actor);

    expect(await folderFiles(t.root)).toEqual(before);
    expect((await diffSinceBaseline(t.root)).changes).toEqual([]);
    // The lease is back: a run can consolidate at once (the new memory still makes it due).
    const store = createLowdbStore({ dir: join(t.home, 'memories_state') });
    expect((await store.claimGlobalJob('next-run', 60)).kind).toBe('claimed');
  });

  it("a consolidation killed outright (kill -9) is undone by the next one, not taken for the person's edits", async () => {
    await installFixtureRollouts(t.home);
    expect((await t.run()).phase2?.status).toBe('succeeded');
    const before = await folderFiles(t.root);
    await installFixtureRollouts(t.home, { count: 9 });

    const scripted = t.handler;
    await killConsolidationMidWrite();

    // Two hours on, the dead run's lease has lapsed and the next run takes the job over.
    const requests: string[] = [];
    t.handler = (req) => {
      if (isAgentRequest(req.body)) requests.push(JSON.stringify(req.body));
      return scripted(req);
    };
    const later = () => Date.now() + 2 * 3_600_000;
    const next = (await t.run({ phase: '2', now: later })).phase2;
    expect(next?.status).toBe('succeeded');
    // It says so, naming the tree that keeps what the killed run had written (the CLI prints it: run-summary).
    expect(next?.unfinishedRunUndone).toMatch(/^[0-9a-f]{40}$/);
    const kept = await git.readTree({ fs, dir: t.root, gitdir: join(t.root, '.git'), oid: next!.unfinishedRunUndone! });
    const memory = kept.tree.find((entry) => entry.path === 'MEMORY.md')!;
    const blob = await git.readBlob({ fs, dir: t.root, gitdir: join(t.root, '.git'), oid: memory.oid });
    expect(Buffer.from(blob.blob).toString('utf8')).toBe(`${HALF_WRITTEN}\n`);
    // Its agent was told of no edit by the person: the killed agent's writes were undone first.
    expect(requests[0]).toContain(
      'Edits a person made by hand (authoritative: integrate them, keep their lines, never undo them):\\n- none',
    );
    expect((await diffSinceBaseline(t.root)).changes).toEqual([]);
    expect(await readFile(join(t.root, 'MEMORY.md'), 'utf8')).not.toContain(HALF_WRITTEN);
    expect(before['MEMORY.md']).not.toContain(HALF_WRITTEN);
    // Only that run: the one after it had nothing to undo.
    await installFixtureRollouts(t.home, { count: 10 });
    expect((await t.run({ now: later })).phase2).toMatchObject({ status: 'succeeded', unfinishedRunUndone: null });
  });
  it('a run on the same host takes over at once from a consolidation killed outright, not after its hour', async () => {
    await installFixtureRollouts(t.home);
    expect((await t.run()).phase2?.status).toBe('succeeded');
    await installFixtureRollouts(t.home, { count: 9 });
    const scripted = t.handler;
    await killConsolidationMidWrite();
    t.handler = scripted;
    // No time passes: its lease would hold for an hour, but its process is gone.
    const next = (await t.run({ phase: '2' })).phase2;
    expect(next?.status).toBe('succeeded');
    expect(next?.unfinishedRunUndone).toMatch(/^[0-9a-f]{40}$/);
    expect(await readFile(join(t.root, 'MEMORY.md'), 'utf8')).not.toContain(HALF_WRITTEN);
  });
});
