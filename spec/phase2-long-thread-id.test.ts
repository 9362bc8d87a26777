// A thread id too long for a file name must not stop phase 2: its summary file name is capped (or
// the store refuses the id), and every other memory is consolidated.
import { readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { startLocalOpenAIServer } from '../services/local-model/local-openai-server.ts';
import { scriptedHandler } from '../services/local-model/scripted-model.ts';
import { memoryRoot, rebuildRawMemories, syncArtifacts } from '../services/memory-folder/artifacts.ts';
import { createModelClient } from '../services/model/model-client.ts';
import { runPipeline } from '../services/pipeline.ts';
import { stage1Output } from './support/stage1-output.ts';
import { installFixtureRollouts } from '../scripts/fixture-corpus.ts';
import { tempCodexHome } from './support/codex-home.ts';

let home: string;
let cleanup: () => Promise<void>;
let server: Awaited<ReturnType<typeof startLocalOpenAIServer>>;

beforeEach(async () => {
  ({ home, cleanup } = await tempCodexHome());
  server = await startLocalOpenAIServer({ handler: scriptedHandler() });
});
afterEach(async () => {
  await server.close();
  await cleanup();
});

const longId = `019a93b9-${'f'.repeat(231)}`;
const output = (threadId: string) => stage1Output({ threadId, rolloutSlug: 'a slug of twenty chars or more' });

it('names the summaries of two long ids with the same head apart, each name short enough', async () => {
  const root = memoryRoot(home);
  const outputs = [output(longId), output(`${longId}0`)];
  await syncArtifacts(root, { retained: outputs });
  await rebuildRawMemories(root, outputs);
  const names = await readdir(join(root, 'rollout_summaries'));
  expect(names).toHaveLength(2);
  for (const name of names) expect(Buffer.byteLength(name)).toBeLessThanOrEqual(200);
  const firstLines = await Promise.all(
    names.map(async (name) => (await readFile(join(root, 'rollout_summaries', name), 'utf8')).split('\n')[0]),
  );
  expect(firstLines.sort()).toEqual([`thread_id: ${longId}`, `thread_id: ${longId}0`]);
});

it('consolidates every other memory when one rollout has a 240-character thread id', async () => {
  const [first] = await installFixtureRollouts(home);
  const text = await readFile(first, 'utf8');
  const original = /"id":"([0-9a-f-]{36})"/.exec(text)?.[1];
  const { mtime } = await stat(first);
  await writeFile(first, text.replace(`"id":"${original}"`, `"id":"${longId}"`));
  await utimes(first, mtime, mtime);

  const model = createModelClient({ apiKey: 'test', baseURL: server.url, wireApi: 'responses' });
  const result = await runPipeline({ codexHome: home, model, retryPolicy: { initialDelayMs: 5, maxDelayMs: 20 } });

  expect(result.phase2?.status).toBe('succeeded');
  const names = await readdir(join(home, 'memories', 'rollout_summaries'));
  expect(names.length).toBeGreaterThan(0);
  expect(names).toHaveLength(result.phase2?.selected ?? -1);
  for (const name of names) expect(Buffer.byteLength(name)).toBeLessThanOrEqual(200);
});
