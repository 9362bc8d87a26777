// `read-path` and `status` say which layout is in use and why, and read-path loads the summary of that layout.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { layoutOf } from '../services/memory-folder/layout.ts';
import { buildReadPathInstructions } from '../services/memory-folder/read-path.ts';
import { memories } from './support/cli.ts';
import { tempCodexHome } from './support/codex-home.ts';

let home: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ home, cleanup } = await tempCodexHome());
  for (const [dir, text] of [
    ['memories', 'v1\n\n## User Profile\n\nfrom the v1 folder\n'],
    ['memories_v2', 'v1\n\n## User Profile\n\nfrom the v2 folder\n'],
  ]) {
    await mkdir(join(home, dir!), { recursive: true });
    await writeFile(join(home, dir!, 'memory_summary.md'), text!);
  }
});
afterEach(async () => {
  await cleanup();
});

describe('the read path of each layout', () => {
  it('loads memories_v2/memory_summary.md for v2, pointing at rollout summaries rather than MEMORY.md', async () => {
    const text = (await buildReadPathInstructions(home, layoutOf(home, 'v2', 'test')))!;
    expect(text).toContain('from the v2 folder');
    expect(text).not.toContain('from the v1 folder');
    expect(text).toContain(`${join(home, 'memories_v2')}/rollout_summaries/`);
    expect(text).not.toContain('MEMORY.md');
  });

  it('loads memories/memory_summary.md for v1', async () => {
    const text = (await buildReadPathInstructions(home, layoutOf(home, 'v1', 'test')))!;
    expect(text).toContain('from the v1 folder');
    expect(text).toContain(`${join(home, 'memories')}/MEMORY.md`);
  });
});

describe('the commands', () => {
  it('read-path and status name the layout from config.toml and why', async () => {
    await writeFile(join(home, 'config.toml'), '[memories]\nversion = "v2"\n');
    const readPath = await memories(['read-path', '--codex-home', home], { PATH: '/nonexistent' });
    expect(readPath.code).toBe(0);
    expect(readPath.stdout).toContain('from the v2 folder');
    expect(readPath.stderr).toContain(`layout v2 at ${join(home, 'memories_v2')} ([memories] version = "v2" in config.toml)`);
    const status = await memories(['status', '--codex-home', home, '--json'], { PATH: '/nonexistent' });
    expect(JSON.parse(status.stdout).layout).toEqual({
      version: 'v2',
      root: join(home, 'memories_v2'),
      reason: '[memories] version = "v2" in config.toml',
    });
    expect(JSON.parse(status.stdout).store).toBe(join(home, 'memories_v2_state'));
    // Codex injects nothing while its memories feature is off, its default: said, not hidden.
    expect(readPath.stderr).toContain(
      'memories: warning: Codex loads this only with [features] memories = true (off by default)',
    );
    await writeFile(join(home, 'config.toml'), '[features]\nmemories = true\n[memories]\nversion = "v2"\n');
    const on = await memories(['read-path', '--codex-home', home], { PATH: '/nonexistent' });
    expect(on.code).toBe(0);
    expect(on.stdout).toBe(readPath.stdout);
    expect(on.stderr).not.toContain('warning');
  });

  it('read-path loads nothing, saying why, for use_memories = false, an empty summary or none', async () => {
    const readPath = () => memories(['read-path', '--codex-home', home], { PATH: '/nonexistent' });
    await writeFile(join(home, 'config.toml'), '[memories]\nversion = "v1"\nuse_memories = false\n');
    const off = await readPath();
    expect({ code: off.code, stdout: off.stdout }).toEqual({ code: 1, stdout: '' });
    expect(off.stderr).toContain('memories: use_memories = false in config.toml, so Codex loads no memory; nothing to load');

    await writeFile(join(home, 'config.toml'), '[memories]\nversion = "v1"\n');
    await writeFile(join(home, 'memories', 'memory_summary.md'), '  \n\n');
    const blank = await readPath();
    expect(blank.code).toBe(1);
    expect(blank.stderr).toContain('memories: memory_summary.md holds nothing but white space; nothing to load');

    await rm(join(home, 'memories', 'memory_summary.md'));
    expect((await readPath()).stderr).toContain('memories: no memory_summary.md yet; nothing to load');
  });

  it('says v1 and why when the key is absent and no codex is on PATH', async () => {
    const status = await memories(['status', '--codex-home', home], { PATH: '/nonexistent' });
    expect(status.stdout).toMatch(/^layout\s+v1 at \S+ \(no \[memories\] version and no codex on PATH: v1\)$/m);
  });
});
