// The agent's file tools must not read outside the memory root through a directory swapped for a
// symlink mid-call, nor through a hard link, and no tool message may reveal an absolute path.
import { spawn } from 'node:child_process';
import { link, mkdir, mkdtemp, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { type AgentTool, createMemoryTools } from '../services/consolidation/agent-tools.ts';

let base: string;
let root: string;
let outside: string;
let tools: Record<string, AgentTool>;
const run = (tool: string, args: unknown) => tools[tool].execute(args);
const outcome = (tool: string, args: unknown) => run(tool, args).catch((error: Error) => `error: ${error.message}`);

beforeEach(async () => {
  base = await realpath(await mkdtemp(path.join(tmpdir(), 'agent-escapes-')));
  root = path.join(base, 'memories');
  outside = path.join(base, 'outside');
  await mkdir(path.join(root, 'sub'), { recursive: true });
  await mkdir(outside);
  await writeFile(path.join(root, 'sub', 'x.md'), 'inside\n');
  await writeFile(path.join(outside, 'x.md'), 'OUTSIDE SECRET\n');
  tools = Object.fromEntries(createMemoryTools(root).map((t) => [t.name, t]));
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

// Flips root/sub between the real directory and a symlink to the outside folder until told to stop.
const SWAPPER = `
const fs = require('node:fs');
const [root, outside, stop] = process.argv.slice(1);
const sub = root + '/sub', real = root + '/sub.real', tmp = root + '/sub.tmp';
for (let i = 0; i < 2_000_000 && (i % 64 !== 0 || !fs.existsSync(stop)); i++) {
  fs.symlinkSync(outside, tmp);
  fs.renameSync(sub, real);
  fs.renameSync(tmp, sub);
  fs.unlinkSync(sub);
  fs.renameSync(real, sub);
}`;

it('never returns an outside file while a directory on the path is swapped for a symlink', async () => {
  const stop = path.join(base, 'stop');
  const swapper = spawn(process.execPath, ['-e', SWAPPER, root, outside, stop], { stdio: 'ignore' });
  const exited = new Promise((resolve) => swapper.on('exit', resolve));
  const results: string[] = [];
  try {
    for (let i = 0; i < 3000; i++) results.push(await outcome('read_file', { path: 'sub/x.md' }));
  } finally {
    await writeFile(stop, '');
    await exited;
  }
  expect(results.filter((r) => r.includes('OUTSIDE'))).toEqual([]);
  expect(results.some((r) => r === 'inside\n')).toBe(true);
});

it('refuses to read or edit a hard link to an outside file', async () => {
  await link(path.join(outside, 'x.md'), path.join(root, 'hard.md'));
  await expect(run('read_file', { path: 'hard.md' })).rejects.toThrow(/hard link/);
  await expect(run('edit_file', { path: 'hard.md', old_text: 'OUTSIDE', new_text: 'x' })).rejects.toThrow(/hard link/);
  await expect(
    run('apply_patch', { patch: '*** Begin Patch\n*** Update File: hard.md\n@@\n-OUTSIDE SECRET\n+x\n*** End Patch' }),
  ).rejects.toThrow(/hard link/);
  expect(await readFile(path.join(outside, 'x.md'), 'utf8')).toBe('OUTSIDE SECRET\n');
});

it('keeps absolute paths out of the message when a name is too long', async () => {
  const long = `${'a'.repeat(300)}.md`;
  for (const [tool, args] of [
    ['read_file', { path: long }],
    ['write_file', { path: long, content: 'x' }],
    ['write_file', { path: `${long}/x.md`, content: 'x' }],
    ['edit_file', { path: long, old_text: 'a', new_text: 'b' }],
    ['delete_file', { path: long }],
    ['list_dir', { path: long }],
  ] as const) {
    const message = await outcome(tool, args);
    expect(message, tool).toMatch(/^error: /);
    expect(message, tool).not.toContain(base);
    expect(message, tool).not.toMatch(/(^|[\s'"(])\/[^\s]/);
  }
});
