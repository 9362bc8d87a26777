// Which memory folder we write: the [memories] version key, else the default of the Codex on PATH (0.169
// reads v2), else v1. A real `codex` script on a PATH of the test's making stands in for the CLI.
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLayoutResolver, parseCodexVersion, resolveLayout } from '../services/memory-folder/layout.ts';

let dir: string;
const home = '/home/dev/.codex';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'layout-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A PATH holding only a `codex` that prints `output` (and counts its runs in a file). */
async function fakeCodex(output: string): Promise<NodeJS.ProcessEnv> {
  const script = join(dir, 'codex');
  await writeFile(script, `#!/bin/sh\necho run >> "${join(dir, 'runs')}"\necho "${output}"\n`);
  await chmod(script, 0o755);
  return { PATH: dir };
}

describe('with the key set', () => {
  it('uses v1 or v2 as written, without asking any Codex', async () => {
    const env = await fakeCodex('codex-cli 0.169.0');
    const v1 = resolveLayout(home, { version: 'v1' }, env);
    expect(v1).toEqual({
      version: 'v1',
      root: join(home, 'memories'),
      stateDir: join(home, 'memories_state'),
      reason: '[memories] version = "v1" in config.toml',
    });
    const v2 = resolveLayout(home, { version: 'v2' }, env);
    expect(v2).toMatchObject({ version: 'v2', root: join(home, 'memories_v2'), stateDir: join(home, 'memories_v2_state') });
    expect(v2.reason).toBe('[memories] version = "v2" in config.toml');
  });
});

describe('with the key absent', () => {
  it('writes v2 when the Codex on PATH is 0.169', async () => {
    const layout = resolveLayout(home, { version: null }, await fakeCodex('codex-cli 0.169.0'));
    expect(layout).toMatchObject({ version: 'v2', root: join(home, 'memories_v2') });
    expect(layout.reason).toBe('no [memories] version; codex-cli 0.169.0 on PATH reads v2 by default');
  });

  it('writes v1 when the Codex on PATH is older than 0.169', async () => {
    const layout = resolveLayout(home, { version: null }, await fakeCodex('codex-cli 0.168.2'));
    expect(layout).toMatchObject({ version: 'v1', root: join(home, 'memories') });
    expect(layout.reason).toContain('codex-cli 0.168.2 on PATH reads v1 by default');
  });

  it('writes v1 when no codex is on PATH', () => {
    const layout = resolveLayout(home, { version: null }, { PATH: dir });
    expect(layout).toMatchObject({ version: 'v1', root: join(home, 'memories'), stateDir: join(home, 'memories_state') });
    expect(layout.reason).toBe('no [memories] version and no codex on PATH: v1');
  });

  it('writes v1 when codex prints no version', async () => {
    const layout = resolveLayout(home, { version: null }, await fakeCodex('something else'));
    expect(layout.version).toBe('v1');
    expect(layout.reason).toMatch(/codex --version gave no version/);
  });

  it('asks Codex once per resolver, however often it resolves', async () => {
    const resolve = createLayoutResolver(await fakeCodex('codex-cli 0.170.1'));
    expect(resolve(home, { version: null }).version).toBe('v2');
    expect(resolve('/other/home', { version: null }).root).toBe('/other/home/memories_v2');
    expect((await readFile(join(dir, 'runs'), 'utf8')).trim().split('\n')).toHaveLength(1);
  });
});

it('reads the version out of what codex --version prints', () => {
  expect(parseCodexVersion('codex-cli 0.169.0')).toEqual([0, 169, 0]);
  expect(parseCodexVersion('codex-cli 1.2.3-alpha.1\n')).toEqual([1, 2, 3]);
  expect(parseCodexVersion('codex')).toBeNull();
});
