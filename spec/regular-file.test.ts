// A FIFO, device or link where a file is expected must be refused at once, never waited on.
import { execFileSync } from 'node:child_process';
import { link, mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { readRegularFile } from '../services/files/regular-file.ts';

let dir: string;
beforeEach(async () => {
  dir = await realpath(await mkdtemp(join(tmpdir(), 'regular-file-')));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('reads a regular file', async () => {
  await writeFile(join(dir, 'a.md'), 'hello');
  expect((await readRegularFile(join(dir, 'a.md'), { singleLink: true, within: dir })).toString()).toBe('hello');
});

it('refuses a FIFO without waiting for a writer', async () => {
  execFileSync('mkfifo', [join(dir, 'fifo')]);
  await expect(readRegularFile(join(dir, 'fifo'))).rejects.toMatchObject({ code: 'ENOTREG' });
});

it('refuses a final symlink, even to a file inside the folder', async () => {
  await writeFile(join(dir, 'a.md'), 'hello');
  await symlink(join(dir, 'a.md'), join(dir, 'link.md'));
  await expect(readRegularFile(join(dir, 'link.md'))).rejects.toMatchObject({ code: 'ELOOP' });
});

it('refuses a file with a second hard link when asked to', async () => {
  await writeFile(join(dir, 'a.md'), 'hello');
  await link(join(dir, 'a.md'), join(dir, 'b.md'));
  await expect(readRegularFile(join(dir, 'b.md'), { singleLink: true })).rejects.toMatchObject({ code: 'EMLINK' });
});

it('refuses a file whose real path lies outside the given folder', async () => {
  await mkdir(join(dir, 'inner'));
  await writeFile(join(dir, 'outside.md'), 'secret');
  await symlink(dir, join(dir, 'inner', 'up'));
  const opened = readRegularFile(join(dir, 'inner', 'up', 'outside.md'), { within: join(dir, 'inner') });
  await expect(opened).rejects.toMatchObject({ code: 'EXDEV' });
});
