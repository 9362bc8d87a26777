// A relative --codex-home or CODEX_HOME is taken from the current directory and written out absolute: the memory
// files and read-path's text are read later by agents that run in other directories.
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, expect, it } from 'vitest';
import { installFixtureRollouts } from '../scripts/fixture-corpus.ts';
import { BIN } from './support/cli.ts';
import { memoryHomePerFile } from './support/memory-home.ts';

const exec = promisify(execFile);
const t = memoryHomePerFile();
beforeAll(() => installFixtureRollouts(t.home));

/** The bin run from the home's parent directory, naming the home by its bare name. */
const fromParent = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  exec(process.execPath, [BIN, ...args], {
    cwd: dirname(t.home),
    env: { ...process.env, OPENAI_API_KEY: '', OPENAI_BASE_URL: '', CODEX_HOME: '', ...env },
  });

it('writes absolute rollout paths, and read-path names the folder absolutely, for a relative Codex home', async () => {
  await fromParent(['run', '--codex-home', basename(t.home), '--base-url', t.server.url]);
  const dir = join(t.home, 'memories', 'rollout_summaries');
  const summaries = await readdir(dir);
  expect(summaries.length).toBeGreaterThan(0);
  for (const name of summaries) {
    expect(await readFile(join(dir, name), 'utf8')).toMatch(new RegExp(`^rollout_path: ${t.home}/sessions/`, 'm'));
  }
  const { stdout } = await fromParent(['read-path'], { CODEX_HOME: basename(t.home) });
  expect(stdout).toContain(`\`${join(t.home, 'memories')}\``);
});
