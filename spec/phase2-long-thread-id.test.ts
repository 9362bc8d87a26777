// A thread id too long for a file name must not stop phase 2: its summary file name is capped.
import { readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { startLocalOpenAIServer } from '../services/local-model/local-openai-server.ts';
import { scriptedHandler } from '../services/local-model/scripted-model.ts';
import { createModelClient } from '../services/model/model-client.ts';
import { runPipeline } from '../services/pipeline.ts';
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

it('consolidates every memory when one thread id is 240 characters long', async () => {
  const [first] = await installFixtureRollouts(home);
  const longId = `019a93b9-${'f'.repeat(231)}`;
  const text = await readFile(first, 'utf8');
  const original = /"id":"([0-9a-f-]{36})"/.exec(text)?.[1];
  const { mtime } = await stat(first);
  await writeFile(first, text.replace(`"id":"${original}"`, `"id":"${longId}"`));
  await utimes(first, mtime, mtime);

  const model = createModelClient({ apiKey: 'test', baseURL: server.url, wireApi: 'responses', maxRetries: 0 });
  const result = await runPipeline({ codexHome: home, model, retryPolicy: { initialDelayMs: 5, maxDelayMs: 20 } });

  expect(result.phase2).toMatchObject({ status: 'succeeded', selected: 5 });
  const names = await readdir(join(home, 'memories', 'rollout_summaries'));
  const long = names.filter((n) => n.startsWith('019a93b9-fff'));
  expect(long).toHaveLength(1);
  expect(Buffer.byteLength(long[0])).toBeLessThanOrEqual(200);
  const summary = await readFile(join(home, 'memories', 'rollout_summaries', long[0]), 'utf8');
  expect(summary.startsWith(`thread_id: ${longId}\n`)).toBe(true);
});
