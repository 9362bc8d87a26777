// `memories pull --init` sets up the Codex on the host to read what it pulled: after it, `memories doctor` finds
// features.memories on and Codex's own generation off, on a new home and on one whose config.toml has other settings
// (kept as they were, comments too). A key the person set stays as set.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { tempCodexHome } from './support/codex-home.ts';
import { memories } from './support/cli.ts';
import { fleetApi } from './support/fleet-api.ts';

const api = fleetApi();
const homes: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of homes) await cleanup();
});

async function newHome(): Promise<string> {
  const made = await tempCodexHome();
  homes.push(made.cleanup);
  await mkdir(join(made.home, 'sessions'));
  return made.home;
}

const NO_CODEX = { PATH: '/nonexistent' };
/** doctor's hand-off line: `ok` once Codex reads the folder and its own generation is off. */
const handoff = async (home: string) =>
  (await memories(['doctor', '--codex-home', home], NO_CODEX)).stdout.split('\n').find((line) => / hand-off /.test(line));

it('writes a config.toml with which the Codex of a new home reads the pulled memory', async () => {
  const home = join(await newHome(), 'runner');
  const pulled = await memories(['pull', ...api.client, '--init', '--codex-home', home], NO_CODEX);
  expect(pulled.code, pulled.stderr).toBe(0);
  expect(await readFile(join(home, 'config.toml'), 'utf8')).toBe(
    '[features]\nmemories = true\n\n[memories]\nversion = "v2"\ngenerate_memories = false\n',
  );
  expect(pulled.stderr).toBe(
    `${join(home, 'config.toml')}: added features.memories = true, memories.version = "v2", memories.generate_memories = false\n`,
  );
  await mkdir(join(home, 'sessions'));
  expect(await handoff(home)).toMatch(/^ok +hand-off +Codex reads the v2 layout .*; its own generation is off$/);
});

it('adds the missing keys to an existing config.toml under its tables, keeping every other line', async () => {
  const home = await newHome();
  const before = 'model = "o4"   # mine\n\n[features]\nweb_search = true\n\n[memories]\nuse_memories = true\n';
  await writeFile(join(home, 'config.toml'), before);
  const pulled = await memories(['pull', ...api.client, '--init', '--codex-home', home], NO_CODEX);
  expect(pulled.code, pulled.stderr).toBe(0);
  expect(await readFile(join(home, 'config.toml'), 'utf8')).toBe(
    'model = "o4"   # mine\n\n[features]\nmemories = true\nweb_search = true\n\n' +
      '[memories]\nversion = "v2"\ngenerate_memories = false\nuse_memories = true\n',
  );
  expect(await handoff(home)).toMatch(/^ok +hand-off +Codex reads the v2 layout .*; its own generation is off$/);
  // A second pull finds everything set and adds nothing.
  const again = await memories(['pull', ...api.client, '--init', '--codex-home', home], NO_CODEX);
  expect(again.stderr).toBe('');
});

it('keeps a hand-off key the person set, even to another value', async () => {
  const home = await newHome();
  await writeFile(join(home, 'config.toml'), '[features]\nmemories = false\n');
  const pulled = await memories(['pull', ...api.client, '--init', '--codex-home', home], NO_CODEX);
  expect(pulled.code, pulled.stderr).toBe(0);
  expect(await readFile(join(home, 'config.toml'), 'utf8')).toBe(
    '[features]\nmemories = false\n\n[memories]\nversion = "v2"\ngenerate_memories = false\n',
  );
});
