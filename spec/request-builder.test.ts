// Phase-1 requests built on the worker thread are the ones built in process, failures keep their
// class (the retry policy reads it), and a whole run works with `--build-thread`.
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BadInputError } from '../services/errors.ts';
import { buildInProcess, buildOnWorker, buildThreadReady } from '../services/extraction/request-builder.ts';
import type { ThreadInfo } from '../services/types.ts';
import { installFixtureRollouts } from '../scripts/fixture-corpus.ts';
import { startLocalOpenAIServer } from '../services/local-model/local-openai-server.ts';
import { scriptedHandler } from '../services/local-model/scripted-model.ts';
import { memories } from './support/cli.ts';
import { tempCodexHome } from './support/codex-home.ts';

const FIXTURE_ROLLOUTS = path.join(import.meta.dirname, 'fixtures', 'rollouts');

async function threadOf(rolloutPath: string): Promise<ThreadInfo> {
  const { size } = await stat(rolloutPath);
  return { threadId: path.basename(rolloutPath), rolloutPath, cwd: '/work', source: 'cli', updatedAt: 1, createdAt: null, hasUserMessage: true, sizeBytes: size };
}

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('building on the worker thread', () => {
  it('builds here while the thread is loading, then there, the same request either way', async () => {
    const thread = await threadOf(path.join(FIXTURE_ROLLOUTS, 'two-turns-with-tool-calls.jsonl'));
    const local = await buildInProcess({ thread, model: 'gpt-5' });
    // The first call starts the thread, which takes a few hundred ms to load: built here meanwhile.
    const early = buildOnWorker({ thread, model: 'gpt-5' });
    let threadReady = false;
    const ready = buildThreadReady().then(() => (threadReady = true));
    expect(await early).toEqual(local);
    expect(threadReady).toBe(false);
    await ready;
    expect(await buildOnWorker({ thread, model: 'gpt-5' })).toEqual(local);
  });

  it('gives exactly the request built in process, for small and large fixture rollouts', async () => {
    await buildThreadReady();
    for (const name of ['cli-chatbot-ui.jsonl', 'two-turns-with-tool-calls.jsonl', 'vscode-localpush-short.jsonl']) {
      const thread = await threadOf(path.join(FIXTURE_ROLLOUTS, name));
      for (const model of ['gpt-5.3-codex-spark', 'tiny-unknown-model']) {
        const [worker, local] = await Promise.all([buildOnWorker({ thread, model }), buildInProcess({ thread, model })]);
        expect(worker).toEqual(local);
      }
    }
  });

  it('rejects an empty rollout with BadInputError, and a missing one with its errno code', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'memories-builder-'));
    dirs.push(dir);
    const empty = path.join(dir, 'empty.jsonl');
    await writeFile(empty, '\n\n');
    const emptyThread = { ...(await threadOf(empty)) };
    await expect(buildOnWorker({ thread: emptyThread, model: 'gpt-5' })).rejects.toBeInstanceOf(BadInputError);
    const missing = { ...emptyThread, rolloutPath: path.join(dir, 'gone.jsonl') };
    await expect(buildOnWorker({ thread: missing, model: 'gpt-5' })).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('memories run --build-thread', () => {
  it('sends the same requests as a run without it, and the process still exits by itself', async () => {
    const server = await startLocalOpenAIServer({ handler: scriptedHandler() });
    const homes = [await tempCodexHome(), await tempCodexHome()];
    try {
      const summaries = [];
      for (const [i, { home }] of homes.entries()) {
        await installFixtureRollouts(home);
        const flags = i === 0 ? ['--build-thread'] : [];
        const { code, stdout } = await memories(['run', '--codex-home', home, '--phase', '1', '--base-url', server.url, '--json', ...flags]);
        expect(code).toBe(0);
        summaries.push(JSON.parse(stdout));
      }
      expect(summaries[0]).toMatchObject({ claimed: 5, failed: 0 });
      expect(summaries[0].tokens.input).toBe(summaries[1].tokens.input);
    } finally {
      await server.close();
      for (const h of homes) await h.cleanup();
    }
  });
});
