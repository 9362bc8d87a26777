// Phase 2 end to end: stage-1 outputs from a real phase 1, the memory folder on disk, and the local
// OpenAI-compatible server playing a scripted consolidation agent through the real SDK.
import { existsSync } from 'node:fs';
import { readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startLocalOpenAIServer, type Handler } from '../services/local-model/local-openai-server.ts';
import { createLowdbStore } from '../services/store/lowdb-store.ts';
import { createModelClient } from '../services/model/model-client.ts';
import { type PipelineOptions, runPipeline } from '../services/pipeline.ts';
import { scriptedHandler } from '../services/local-model/scripted-model.ts';
import { installFixtureRollouts } from '../scripts/fixture-corpus.ts';
import { rolloutSummaryStem } from '../services/memory-folder/artifacts.ts';
import { isAgentRequest, toolOutputs } from './support/agent-requests.ts';
import { tempCodexHome } from './support/codex-home.ts';

let home: string;
let cleanup: () => Promise<void>;
let server: Awaited<ReturnType<typeof startLocalOpenAIServer>> | null = null;
let handler: Handler = scriptedHandler();

beforeEach(async () => {
  ({ home, cleanup } = await tempCodexHome());
  handler = scriptedHandler();
  server = await startLocalOpenAIServer({ handler: (req) => handler(req) });
});
afterEach(async () => {
  await server?.close();
  await cleanup();
});

function run(extra: Partial<PipelineOptions> = {}) {
  const model = createModelClient({ apiKey: 'test', baseURL: server!.url, wireApi: 'responses' });
  return runPipeline({ codexHome: home, model, retryPolicy: { initialDelayMs: 5, maxDelayMs: 20 }, ...extra });
}

const store = () => createLowdbStore({ dir: join(home, 'memories_state') });
const summaries = async () => (await readdir(join(home, 'memories', 'rollout_summaries'))).sort();

describe('phase 2', () => {
  it('writes raw_memories.md, one summary per memory, and the agent-written MEMORY.md and memory_summary.md', async () => {
    await installFixtureRollouts(home);
    const result = await run();
    expect(result.phase2).toMatchObject({ status: 'succeeded', selected: 5, added: 5, retained: 0, removed: 0 });
    const root = join(home, 'memories');
    const raw = await readFile(join(root, 'raw_memories.md'), 'utf8');
    // Codex 0.169's heading: the blocks come in ascending thread-id order.
    expect(
      raw.startsWith('# Raw Memories\n\nMerged stage-1 raw memories (stable ascending thread-id order):\n\n## Thread `'),
    ).toBe(true);
    expect(await summaries()).toHaveLength(5);
    expect((await readFile(join(root, 'MEMORY.md'), 'utf8')).trim()).not.toBe('');
    expect((await readFile(join(root, 'memory_summary.md'), 'utf8')).trim()).not.toBe('');
    const { globalJob } = await store().status();
    expect(globalJob).toMatchObject({ status: 'done' });
    expect(globalJob!.lastSuccessWatermark).toBe(globalJob!.inputWatermark);
  });

  it('skips consolidation when nothing changed since the last success', async () => {
    await installFixtureRollouts(home);
    await run();
    const requests = server!.requests.length;
    const again = await run();
    expect(again.phase2?.status).toBe('skippedNotDirty');
    expect(server!.requests.length).toBe(requests);
  });

  it('reports added, retained and removed inputs across three runs, keeping removed evidence during the run', async () => {
    const paths = await installFixtureRollouts(home);
    const config = { maxRawMemoriesForGlobal: 2 };
    const first = await run({ config });
    expect(first.phase2).toMatchObject({ status: 'succeeded', selected: 2, added: 2, retained: 0, removed: 0 });
    const firstSelected = (await store().status()).lastSelection.map((s) => s.threadId);

    // The oldest interactive rollout changes: it is re-extracted and becomes the newest memory.
    const changed = paths.find((p) => p.includes('019c8a70'))!;
    const later = new Date(Date.now() - 6.5 * 3_600_000);
    await utimes(changed, later, later);
    let onDiskWhileAgentRuns: string[] = [];
    handler = async (req) => {
      if (isAgentRequest(req.body) && toolOutputs(req.body).length === 0) onDiskWhileAgentRuns = await summaries();
      return scriptedHandler()(req);
    };
    const second = await run({ config });
    expect(second.phase2).toMatchObject({ status: 'succeeded', selected: 2, added: 1, retained: 1, removed: 1 });
    const secondSelected = (await store().status()).lastSelection.map((s) => s.threadId);
    const removedId = firstSelected.find((id) => !secondSelected.includes(id))!;
    expect(removedId).toBeDefined();
    // The agent saw the removed thread's evidence next to the current inputs, so it could forget it.
    expect(onDiskWhileAgentRuns).toHaveLength(3);
    // Codex 0.169 names summaries by creation time and hash, not by thread id.
    const removedOutput = (await store().status()).outputs.find((o) => o.threadId === removedId)!;
    expect(onDiskWhileAgentRuns).toContain(`${rolloutSummaryStem(removedOutput)}.md`);

    // Forgetting a selected thread makes the job dirty; the next-ranked memory takes its place.
    await store().forgetThread('019c8a70-dda7-7f33-98ea-f30553347322');
    const third = await run({ config });
    expect(third.phase2).toMatchObject({ status: 'succeeded', selected: 2, added: 1, retained: 1, removed: 1 });
    const raw = await readFile(join(home, 'memories', 'raw_memories.md'), 'utf8');
    expect(raw).not.toContain('019c8a70-dda7-7f33-98ea-f30553347322');
  });

  it('refuses agent tool calls that leave the memory root, tells the model, and changes nothing outside', async () => {
    await installFixtureRollouts(home);
    const outside = join(home, 'outside.txt');
    await writeFile(outside, 'untouched');
    const seenByModel: string[] = [];
    handler = (req) => {
      if (!isAgentRequest(req.body)) return scriptedHandler()(req);
      const outputs = toolOutputs(req.body);
      if (outputs.length === 0) {
        return {
          toolCalls: [
            { name: 'write_file', arguments: JSON.stringify({ path: '../outside.txt', content: 'pwned' }) },
            { name: 'read_file', arguments: JSON.stringify({ path: '/etc/passwd' }) },
            { name: 'delete_file', arguments: JSON.stringify({ path: '../config.toml' }) },
          ],
        };
      }
      if (outputs.length === 3) {
        seenByModel.push(...outputs);
        return {
          toolCalls: [
            { name: 'write_file', arguments: JSON.stringify({ path: 'MEMORY.md', content: '# Memory\n- ok\n' }) },
            { name: 'write_file', arguments: JSON.stringify({ path: 'memory_summary.md', content: 'v1\n\n# Summary\n' }) },
          ],
        };
      }
      return { text: 'done' };
    };
    const result = await run();
    expect(result.phase2?.status).toBe('succeeded');
    expect(seenByModel).toHaveLength(3);
    for (const output of seenByModel) expect(output).toMatch(/escapes the memory root/);
    expect(await readFile(outside, 'utf8')).toBe('untouched');
    expect(existsSync(join(home, 'memories', 'MEMORY.md'))).toBe(true);
  });

  it('fails and backs off for an hour when the agent writes nothing', async () => {
    await installFixtureRollouts(home);
    handler = (req) => (isAgentRequest(req.body) ? { text: 'I have nothing to add.' } : scriptedHandler()(req));
    const before = Math.floor(Date.now() / 1000);
    const result = await run();
    expect(result.phase2?.status).toBe('failed');
    expect(result.phase2?.reason).toMatch(/failed_invalid_artifacts: MEMORY\.md is missing/);
    const { globalJob } = await store().status();
    expect(globalJob).toMatchObject({ status: 'error', retryRemaining: 2 });
    expect(globalJob!.retryAt).toBeGreaterThanOrEqual(before + 3_600);
    expect((await run()).phase2?.status).toBe('skippedNotDirty');
  });

  it('takes over the lease of a consolidation whose worker died, but not a live one', async () => {
    await installFixtureRollouts(home);
    await run({ phase: '1' });
    const twoHoursAgo = Date.now() - 2 * 3_600_000;
    const dead = createLowdbStore({ dir: join(home, 'memories_state'), now: () => twoHoursAgo });
    expect((await dead.claimGlobalJob('dead-worker', 3_600)).kind).toBe('claimed');
    const taken = await run({ phase: '2' });
    expect(taken.phase2?.status).toBe('succeeded');

    await writeFile(join(home, 'touch'), '');
    await store().enqueueGlobalConsolidation(Math.floor(Date.now() / 1000));
    expect((await store().claimGlobalJob('live-worker', 3_600)).kind).toBe('claimed');
    const skipped = await run({ phase: '2' });
    expect(skipped.phase2?.status).toBe('skippedRunning');
  });

  it('removes MEMORY.md, memory_summary.md and skills/ when no memory is left', async () => {
    await installFixtureRollouts(home);
    await run();
    for (const { threadId } of (await store().status()).outputs) await store().forgetThread(threadId);
    const result = await run({ phase: '2' });
    expect(result.phase2?.status).toBe('succeededNoInput');
    expect(await summaries()).toEqual([]);
    expect(existsSync(join(home, 'memories', 'MEMORY.md'))).toBe(false);
    expect(await readFile(join(home, 'memories', 'raw_memories.md'), 'utf8')).toBe('# Raw Memories\n\nNo raw memories yet.\n');
  });
});
