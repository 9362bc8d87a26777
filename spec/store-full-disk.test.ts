// A store change that spans both documents (a job's success and its output) on a full disk: neither file changes,
// so the store never holds a memory whose job still reads as running, or a done job without its memory.
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { claim, makeTestStore, reply, type TestStore, thread } from './support/store-fixtures.ts';

// The disk fills up for the temp files whose names match (the write is where a full disk fails).
const full = vi.hoisted(() => ({ names: null as RegExp | null }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const open = (async (path: Parameters<typeof real.open>[0], ...rest: unknown[]) => {
    if (full.names?.test(String(path))) {
      throw Object.assign(new Error(`ENOSPC: no space left on device, open '${String(path)}'`), { code: 'ENOSPC' });
    }
    return (real.open as (...args: unknown[]) => ReturnType<typeof real.open>)(path, ...rest);
  }) as typeof real.open;
  return { ...real, open, default: { ...real, open } };
});

let t: TestStore;
beforeEach(async () => {
  t = await makeTestStore();
});
afterEach(async () => {
  full.names = null;
  await t.cleanup();
});

it('a full disk while a job and its output are recorded changes neither, and the same success goes through later', async () => {
  const a = thread('a', 100);
  const token = await claim(t.store, a);
  full.names = /\.jobs\.json\.[^/]*\.tmp$/; // the output's temp file fits, the job's does not
  await expect(t.store.markStage1Succeeded(a, token, reply('the memory'), null)).rejects.toMatchObject({ code: 'ENOSPC' });
  full.names = null;

  const after = await t.reopen().status();
  expect(after.outputs).toEqual([]);
  expect(after.jobs).toEqual([expect.objectContaining({ jobKey: 'a', status: 'running' })]);
  // Space again: the worker still holds its lease, and its success is recorded whole.
  expect(await t.store.markStage1Succeeded(a, token, reply('the memory'), null)).toBe(true);
  const done = await t.reopen().status();
  expect(done.outputs).toEqual([expect.objectContaining({ threadId: 'a', rawMemory: 'the memory' })]);
  expect(done.jobs).toEqual([expect.objectContaining({ jobKey: 'a', status: 'done' })]);
});
