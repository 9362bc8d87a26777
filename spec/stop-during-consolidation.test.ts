// A consolidation stopped midway (Ctrl-C, `stopPipeline`, a daemon shutting down) is undone as a failed one is: the
// folder goes back to how the person left it before its lease is given back, so nothing the agent half-wrote is
// read by Codex, or taken for the person's edits by the next run.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { diffSinceBaseline } from '../services/memory-history/history.ts';
import { createModelClient } from '../services/model/model-client.ts';
import { createMemoriesPipeline, stopPipeline } from '../services/pipeline.ts';
import { createLowdbStore } from '../services/store/lowdb-store.ts';
import { installFixtureRollouts } from '../scripts/fixture-corpus.ts';
import { isAgentRequest } from './support/agent-requests.ts';
import { memoryHomePerTest } from './support/memory-home.ts';

const t = memoryHomePerTest();

/** The maintained and synced files of the folder, with their text. */
async function folderFiles(root: string): Promise<Record<string, string>> {
  const names = ['MEMORY.md', 'memory_summary.md', 'raw_memories.md'];
  const summaries = (await readdir(join(root, 'rollout_summaries'))).map((n) => `rollout_summaries/${n}`);
  const entries = await Promise.all([...names, ...summaries].map(async (n) => [n, await readFile(join(root, n), 'utf8')]));
  return Object.fromEntries(entries);
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
});
