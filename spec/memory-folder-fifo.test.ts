// A FIFO, a link or a second hard link in the memory folder is refused at once by every reader:
// the agent's tools, the read path and the pipeline's own comparison never wait on it or follow it.
import { execFileSync } from 'node:child_process';
import { link, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createMemoryTools } from '../services/consolidation/agent-tools.ts';
import { memoryRoot, validateConsolidation } from '../services/memory-folder/artifacts.ts';
import { buildReadPathInstructions } from '../services/memory-folder/read-path.ts';

let home: string;
let root: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'memory-fifo-'));
  root = memoryRoot(home);
  await mkdir(root, { recursive: true });
  await writeFile(join(home, 'outside.md'), 'OUTSIDE SECRET\n');
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

const mkfifo = (path: string) => execFileSync('mkfifo', [path]);

it('the agent gets an error, not a hang, for read_file and edit_file on a FIFO', async () => {
  mkfifo(join(root, 'MEMORY.md'));
  const tools = Object.fromEntries(createMemoryTools(root).map((t) => [t.name, t]));
  await expect(tools.read_file.execute({ path: 'MEMORY.md' })).rejects.toThrow(/not a regular file/);
  await expect(tools.edit_file.execute({ path: 'MEMORY.md', old_text: 'a', new_text: 'b' })).rejects.toThrow(
    /not a regular file/,
  );
});

it('the read path and the validator refuse a FIFO memory summary without waiting', async () => {
  mkfifo(join(root, 'memory_summary.md'));
  await writeFile(join(root, 'MEMORY.md'), 'fact\n');
  expect(await buildReadPathInstructions(home)).toBeNull();
  expect(await validateConsolidation(root)).toEqual({ ok: false, reason: 'memory_summary.md is not a regular file' });
});

it('the read path does not inject an outside file through a symlinked or hard-linked summary', async () => {
  await symlink(join(home, 'outside.md'), join(root, 'memory_summary.md'));
  expect(await buildReadPathInstructions(home)).toBeNull();
  await rm(join(root, 'memory_summary.md'));
  await link(join(home, 'outside.md'), join(root, 'memory_summary.md'));
  expect(await buildReadPathInstructions(home)).toBeNull();
  expect(await readFile(join(home, 'outside.md'), 'utf8')).toBe('OUTSIDE SECRET\n');
});
