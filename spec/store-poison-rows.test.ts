// Poison inputs at the store boundary: odd ids are stored like any other or refused loudly, and one
// bad row is skipped with a logged reason while everything else goes on.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Logger } from '../services/logger.ts';
import { createLowdbStore } from '../services/store/lowdb-store.ts';
import { extract, LEASE, makeTestStore, thread, type TestStore } from './support/store-fixtures.ts';

let t: TestStore;
beforeEach(async () => {
  t = await makeTestStore();
});
afterEach(async () => {
  await t.cleanup();
});

function capturingLog() {
  const warn = vi.fn();
  const log = { debug: () => {}, info: () => {}, warn, error: () => {} } as unknown as Logger;
  return { log, warned: () => warn.mock.calls.map((call) => JSON.stringify(call)) };
}

function outputRow(threadId: string, rawMemory: unknown = `memory of ${threadId}`) {
  return {
    threadId,
    sourceUpdatedAt: 100,
    rawMemory,
    rolloutSummary: `summary of ${threadId}`,
    rolloutSlug: null,
    cwd: '/work',
    rolloutPath: `/sessions/${threadId}.jsonl`,
    generatedAt: 100,
    usageCount: 0,
    lastUsage: null,
  };
}

describe('thread ids at the store boundary', () => {
  it('stores a session whose id is __proto__ like any other, and finds it up to date afterwards', async () => {
    await extract(t.store, thread('__proto__', 100));
    const other = t.reopen();
    expect((await other.status()).outputs.map((o) => o.threadId)).toEqual(['__proto__']);
    expect(await other.tryClaimStage1Job(thread('__proto__', 100), 'w', LEASE, 64)).toEqual({ kind: 'skippedUpToDate' });
  });

  it('refuses an id too long for a file name with an error that says why, and claims the rest of a pass', async () => {
    const long = 'a'.repeat(232);
    await expect(t.store.tryClaimStage1Job(thread(long, 100), 'w', LEASE, 64)).rejects.toThrow(/thread id .* 128 characters/);

    const { log, warned } = capturingLog();
    const store = createLowdbStore({ dir: t.dir, now: () => t.now() * 1000, log });
    const pass = await store.claimStage1Jobs({
      candidates: [thread(long, 100), thread('ok', 100)],
      workerId: 'w',
      maxClaimed: 8,
      leaseSeconds: LEASE,
    });
    expect(pass.claims.map((c) => c.thread.threadId)).toEqual(['ok']);
    expect(warned().some((line) => line.includes(long))).toBe(true);
  });
});

describe('a bad row', () => {
  it('in outputs.json is skipped with a reason naming its thread, and phase 2 selects the others', async () => {
    await mkdir(t.dir, { recursive: true });
    const outputs = { good: outputRow('good'), bad: outputRow('bad', 5) };
    await writeFile(path.join(t.dir, 'outputs.json'), JSON.stringify({ version: 1, outputs }));
    const { log, warned } = capturingLog();
    const store = createLowdbStore({ dir: t.dir, now: () => t.now() * 1000, log });

    const selection = await store.getPhase2Selection(10, 0);
    expect(selection.selected.map((o) => o.threadId)).toEqual(['good']);
    expect(await store.listStage1OutputsForGlobal(10)).toHaveLength(1);
    expect(warned().some((line) => line.includes('"thread":"bad"') && line.includes('rawMemory'))).toBe(true);
  });

  it('in jobs.json is skipped with a reason naming its thread, and the thread can be claimed again', async () => {
    await extract(t.store, thread('good', 100));
    const jobsFile = path.join(t.dir, 'jobs.json');
    const jobs = JSON.parse(await readFile(jobsFile, 'utf8'));
    jobs.stage1.bad = { jobKey: 'bad', status: 7 };
    await writeFile(jobsFile, JSON.stringify(jobs));
    const { log, warned } = capturingLog();
    const store = createLowdbStore({ dir: t.dir, now: () => t.now() * 1000, log });

    expect((await store.status()).jobs.map((j) => j.jobKey)).toEqual(['good']);
    expect(warned().some((line) => line.includes('"thread":"bad"'))).toBe(true);
    expect((await store.tryClaimStage1Job(thread('bad', 100), 'w', LEASE, 64)).kind).toBe('claimed');
    expect(await store.tryClaimStage1Job(thread('good', 100), 'w', LEASE, 64)).toEqual({ kind: 'skippedUpToDate' });
  });
});
