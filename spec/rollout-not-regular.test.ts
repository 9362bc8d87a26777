// A FIFO (or anything but a regular file) swapped in for a rollout after discovery fails that job
// with a non-retryable BadInputError at once, instead of blocking the process in open(2) or read.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BadInputError } from '../services/errors.ts';
import { buildStageOneRequest } from '../services/extraction/stage-one-prompt.ts';
import { readRolloutMeta } from '../services/rollouts/rollout-reader.ts';
import { thread } from './support/store-fixtures.ts';
import type { ThreadInfo } from '../services/types.ts';

const dirs: string[] = [];
const writers: ChildProcess[] = [];
afterAll(async () => {
  for (const writer of writers) writer.kill('SIGKILL');
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

const ROLLOUT = [
  {
    timestamp: '2026-03-01T10:00:00Z',
    type: 'session_meta',
    payload: { id: '0199aaaa-0000-7000-8000-00000000000f', cwd: '/w', source: 'cli' },
  },
  {
    timestamp: '2026-03-01T10:00:01Z',
    type: 'response_item',
    payload: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'fix the build' }] },
  },
]
  .map((line) => JSON.stringify(line))
  .join('\n');

/** A rollout as discovery saw it, then replaced by a FIFO at the same path. */
async function swappedForFifo(): Promise<ThreadInfo> {
  const dir = await mkdtemp(join(tmpdir(), 'rollout-fifo-'));
  dirs.push(dir);
  const path = join(dir, 'rollout-2026-03-01T10-00-00-0199aaaa-0000-7000-8000-00000000000f.jsonl');
  await writeFile(path, ROLLOUT);
  const { size } = await stat(path);
  await unlink(path);
  execFileSync('mkfifo', [path]);
  // Should a reader block on the FIFO after all, this writer frees it after a while, so that the
  // test fails on a wrong answer instead of hanging.
  writers.push(spawn('sh', ['-c', `sleep 5; echo > "${path}"`], { stdio: 'ignore' }));
  return thread('0199aaaa-0000-7000-8000-00000000000f', 1, { rolloutPath: path, cwd: '/w', createdAt: null, sizeBytes: size });
}

describe('a rollout that is not a regular file', () => {
  it('fails the phase-1 request with a BadInputError when a FIFO replaced it after discovery', async () => {
    const thread = await swappedForFifo();
    const request = buildStageOneRequest({ thread, model: 'gpt-5' });
    await expect(request).rejects.toBeInstanceOf(BadInputError);
    await expect(request).rejects.toThrow(/not a regular file/);
  });

  it('is refused by discovery reads too', async () => {
    const thread = await swappedForFifo();
    await expect(readRolloutMeta(thread.rolloutPath)).rejects.toThrow(/not a regular file/);
  });

  it('is not followed when it is a symlink', async () => {
    const thread = await swappedForFifo();
    const link = `${thread.rolloutPath}.link.jsonl`;
    await symlink(thread.rolloutPath, link);
    await expect(buildStageOneRequest({ thread: { ...thread, rolloutPath: link }, model: 'gpt-5' })).rejects.toThrow(/symlink/);
  });
});
