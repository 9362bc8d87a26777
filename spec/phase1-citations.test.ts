// A session that cites a memory (an <oai-mem-citation> block in an assistant reply, as the read
// path asks) counts as a use of that memory: phase 1 bumps its usage once per citing session, and
// phase 2 then ranks it above newer, unused memories.
import { basename } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLowdbStore } from '../services/store/lowdb-store.ts';
import { startLocalOpenAIServer } from '../services/local-model/local-openai-server.ts';
import { createModelClient } from '../services/model/model-client.ts';
import { runPipeline } from '../services/pipeline.ts';
import { scriptedHandler } from '../services/local-model/scripted-model.ts';
import { tempCodexHome } from './support/codex-home.ts';
import { writeRollout } from './reliability/support/harness.ts';

let server: Awaited<ReturnType<typeof startLocalOpenAIServer>>;
beforeAll(async () => {
  server = await startLocalOpenAIServer({ handler: scriptedHandler() });
});
afterAll(() => server.close());

const citing = (id: string) =>
  [
    'Use `make ci`, as last time.',
    '<oai-mem-citation>',
    '<citation_entries>',
    `rollout_summaries/${id}-fix_ci.md:1-4|note=[the CI fix]`,
    '</citation_entries>',
    '<rollout_ids>',
    id,
    '</rollout_ids>',
    '</oai-mem-citation>',
  ].join('\n');

describe('memory citations', () => {
  it('count once per citing session and rank the cited memory first in phase 2', async () => {
    const { home, cleanup } = await tempCodexHome();
    try {
      const model = createModelClient({ apiKey: 'test', baseURL: server.url, wireApi: 'responses' });
      const run = () => runPipeline({ codexHome: home, model, phase: '1' });
      const cited = await writeRollout(home, { user: ['the CI is flaky'], idleHours: 30 });
      await run();

      // Two newer sessions: one cites the first memory, one does not.
      const citer = await writeRollout(home, {
        user: ['fix the build again'],
        assistant: [citing(cited.threadId)],
        idleHours: 20,
      });
      const other = await writeRollout(home, { user: ['rename a variable'], idleHours: 10 });
      await run();

      const store = createLowdbStore({ dir: `${home}/memories_state` });
      const outputOf = async (id: string) => (await store.status()).outputs.find((o) => o.threadId === id)!;
      const first = await outputOf(cited.threadId);
      expect(first).toMatchObject({ usageCount: 1, citedBy: [citer.threadId] });
      expect(first.lastUsage).toBe((await outputOf(citer.threadId)).sourceUpdatedAt);
      expect((await outputOf(other.threadId)).usageCount).toBe(0);

      // The citing session goes on and is extracted again: its citation is not counted twice.
      await writeRollout(home, {
        threadId: citer.threadId,
        fileName: basename(citer.path),
        user: ['fix the build again', 'and the lint'],
        assistant: [citing(cited.threadId)],
        idleHours: 8,
      });
      const again = await run();
      expect(again.phase1?.succeeded).toBe(1);
      expect((await outputOf(cited.threadId)).usageCount).toBe(1);

      // Phase 2 keeps the used memory over newer unused ones.
      const selection = await store.getPhase2Selection(1, 30);
      expect(selection.selected.map((o) => o.threadId)).toEqual([cited.threadId]);
    } finally {
      await cleanup();
    }
  });
});
