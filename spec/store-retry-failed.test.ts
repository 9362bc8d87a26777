// `run --retry-failed`: failed stage-1 jobs become claimable now, whatever their backoff or budget.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { claim, extract, LEASE, makeTestStore, thread, type TestStore } from './support/store-fixtures.ts';

let t: TestStore;
beforeEach(async () => {
  t = await makeTestStore();
});
afterEach(async () => {
  await t.cleanup();
});

async function failOnce(threadId: string, updatedAt = 100): Promise<void> {
  const token = await claim(t.store, thread(threadId, updatedAt));
  expect(await t.store.markStage1Failed(threadId, token, 'model unreachable', 3_600)).toBe(true);
}

describe('retrying failed stage-1 jobs now', () => {
  it('makes a job in retry backoff claimable at once and keeps its remaining budget', async () => {
    await failOnce('a');
    expect(await t.store.tryClaimStage1Job(thread('a', 100), 'w', LEASE, 64)).toEqual({ kind: 'skippedRetryBackoff' });

    expect(await t.store.retryFailedStage1Jobs()).toBe(1);
    expect((await t.store.status()).jobs[0]).toMatchObject({ retryAt: null, retryRemaining: 2 });
    expect((await t.store.tryClaimStage1Job(thread('a', 100), 'w', LEASE, 64)).kind).toBe('claimed');
  });

  it('restores the default budget of a job whose retries are exhausted', async () => {
    for (let i = 0; i < 3; i++) {
      await failOnce('a');
      t.advance(3_600);
    }
    expect(await t.store.tryClaimStage1Job(thread('a', 100), 'w', LEASE, 64)).toEqual({ kind: 'skippedRetryExhausted' });

    expect(await t.store.retryFailedStage1Jobs()).toBe(1);
    expect((await t.store.status()).jobs[0]).toMatchObject({ retryAt: null, retryRemaining: 3 });
    expect((await t.store.tryClaimStage1Job(thread('a', 100), 'w', LEASE, 64)).kind).toBe('claimed');
  });

  it('leaves done, running and released jobs alone and counts only the jobs it changed', async () => {
    await extract(t.store, thread('done', 100));
    await claim(t.store, thread('running', 100));
    const released = await claim(t.store, thread('released', 100));
    await t.store.releaseStage1Job('released', released);
    await failOnce('failed-1');
    await failOnce('failed-2');
    const before = (await t.store.status()).jobs.filter((j) => !j.jobKey.startsWith('failed'));

    expect(await t.store.retryFailedStage1Jobs()).toBe(2);
    expect((await t.store.status()).jobs.filter((j) => !j.jobKey.startsWith('failed'))).toEqual(before);
    expect(await t.store.retryFailedStage1Jobs()).toBe(0);
  });
});
