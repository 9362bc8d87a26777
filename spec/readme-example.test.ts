// The README's embedding example, run as a host would: the fenced block under "Embedding as a
// library" is written next to the package entry and executed with `node --import tsx`, against the
// bundled scripted server (MEMORIES_BASE_URL) and a throwaway CODEX_HOME holding the fixture rollouts.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalOpenAIServer } from '../services/local-model/local-openai-server.ts';
import { scriptedHandler } from '../services/local-model/scripted-model.ts';
import { installFixtureRollouts } from '../scripts/fixture-corpus.ts';
import { tempCodexHome } from './support/codex-home.ts';

const exec = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');
const HEADING = '## Embedding as a library';

/** The first ```ts block between the embedding heading and the next `## ` heading. */
function embeddingExample(readme: string): string {
  const start = readme.indexOf(`\n${HEADING}\n`);
  if (start < 0) throw new Error(`README.md has no "${HEADING}" section`);
  const section = readme.slice(start + HEADING.length + 2);
  const end = section.search(/^## /m);
  const body = end < 0 ? section : section.slice(0, end);
  const block = /^```(?:ts|typescript)\n([\s\S]*?)^```$/m.exec(body);
  if (!block) throw new Error(`the "${HEADING}" section has no ts code block`);
  return block[1]!;
}

let server: Awaited<ReturnType<typeof startLocalOpenAIServer>>;
beforeAll(async () => {
  server = await startLocalOpenAIServer({ handler: scriptedHandler() });
});
afterAll(() => server.close());

describe('README embedding example', () => {
  it('imports the package entry and runs the pipeline with a host-provided model client', async () => {
    const code = embeddingExample(await readFile(join(ROOT, 'README.md'), 'utf8'));
    expect(code).toMatch(/from '\.\/index\.ts'/);
    expect(code).toMatch(/createMemoriesPipeline\(/);
    expect(code).toMatch(/MEMORIES_BASE_URL/);

    const { home, cleanup } = await tempCodexHome();
    // Beside index.ts, so `./index.ts` and the package's dependencies resolve as they do for a host.
    const file = join(ROOT, `.readme-example-${randomUUID()}.ts`);
    try {
      await installFixtureRollouts(home);
      await writeFile(file, code);
      const before = server.requests.length;
      const { stdout } = await exec(process.execPath, ['--import', 'tsx', file], {
        cwd: ROOT,
        env: { ...process.env, CODEX_HOME: home, MEMORIES_BASE_URL: server.url, OPENAI_API_KEY: '', OPENAI_BASE_URL: '' },
        timeout: 60_000,
      });

      const calls = server.requests.length - before;
      expect(calls).toBeGreaterThan(5);
      expect(stdout.split('\n').filter((l) => /^succeeded(NoOutput)? [0-9a-f-]{36}$/.test(l))).toHaveLength(5);
      expect(stdout).toMatch(new RegExp(`^extracted \\d+ memories; consolidation succeeded; ${calls} model calls$`, 'm'));
      for (const name of ['raw_memories.md', 'MEMORY.md', 'memory_summary.md']) {
        expect((await stat(join(home, 'memories', name))).size).toBeGreaterThan(0);
      }
    } finally {
      await rm(file, { force: true });
      await cleanup();
    }
  });
});
