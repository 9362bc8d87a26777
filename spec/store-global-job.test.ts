// The global consolidation job (spec §5.6, §5.8, §5.9; upstream state tests 33, 36–39).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { extract, LEASE, makeTestStore, thread, type TestStore } from './support/store-fixtures.ts';

let t: TestStore;
beforeEach(async () => {
  t = await makeTestStore();
});
afterEach(async () => {
  await t.cleanup();
});

async function claimGlobal(worker = 'worker-a') {
  const result = await t.store.claimGlobalJob(worker, LEASE);
  if (result.kind !== 'claimed') throw new Error(`expected a global claim, got ${result.kind}`);
  return result;
}

describe('the global consolidation job', () => {
  it('is not dirty before anything was enqueued', async () => {
    expect(await t.store.claimGlobalJob('w', LEASE)).toEqual({ kind: 'skippedNotDirty' });
  });

  it('runs again only when the watermark advances past the last success (33)', async () => {
    await t.store.enqueueGlobalConsolidation(100);
    const { ownershipToken, inputWatermark } = await claimGlobal();
    expect(inputWatermark).toBe(100);
    expect(await t.store.markGlobalSucceeded(ownershipToken, 100, [], null)).toBe(true);
    expect(await t.store.claimGlobalJob('w', LEASE)).toEqual({ kind: 'skippedNotDirty' });

    await t.store.enqueueGlobalConsolidation(101);
    expect(await t.store.claimGlobalJob('w', LEASE)).toMatchObject({ kind: 'claimed', inputWatermark: 101 });
  });

  it('is enqueued by a stage-1 success with the newest source watermark (36)', async () => {
    await extract(t.store, thread('a', 100));
    await extract(t.store, thread('b', 101));
    expect(await t.store.claimGlobalJob('w', LEASE)).toMatchObject({ kind: 'claimed', inputWatermark: 101 });
  });

  it('allows only one fresh runner (37)', async () => {
    await t.store.enqueueGlobalConsolidation(100);
    await claimGlobal('worker-a');
    expect(await t.store.claimGlobalJob('worker-b', LEASE)).toEqual({ kind: 'skippedRunning' });
    expect((await t.store.status()).globalJob).toMatchObject({ status: 'running', workerId: 'worker-a' });
  });

  it('is taken over with a new token once the lease is stale, and the old owner can no longer finish it (38)', async () => {
    await t.store.enqueueGlobalConsolidation(100);
    const old = await claimGlobal('worker-a');
    t.advance(LEASE);
    const fresh = await claimGlobal('worker-b');
    expect(fresh.ownershipToken).not.toBe(old.ownershipToken);

    expect(await t.store.heartbeatGlobalJob(old.ownershipToken, LEASE)).toBe(false);
    expect(await t.store.markGlobalSucceeded(old.ownershipToken, 100, [], null)).toBe(false);
    expect(await t.store.markGlobalFailed(old.ownershipToken, 'late', 60)).toBe(false);
    expect((await t.store.status()).globalJob).toMatchObject({ status: 'running', workerId: 'worker-b' });
    expect(await t.store.markGlobalSucceeded(fresh.ownershipToken, 100, [], null)).toBe(true);
  });

  it('becomes dirty for back-filled inputs older than the last success (39)', async () => {
    await t.store.enqueueGlobalConsolidation(500);
    const { ownershipToken } = await claimGlobal();
    await t.store.markGlobalSucceeded(ownershipToken, 500, [], null);

    await t.store.enqueueGlobalConsolidation(400);
    const again = await claimGlobal();
    expect(again.inputWatermark).toBeGreaterThan(500);
  });

  it('raises the watermark strictly on every enqueue', async () => {
    const watermarks: number[] = [];
    for (const w of [100, 50, 50, 200, 10]) {
      await t.store.enqueueGlobalConsolidation(w);
      watermarks.push((await t.store.status()).globalJob!.inputWatermark!);
    }
    expect(watermarks).toEqual([100, 101, 102, 200, 201]);
  });

  it('keeps a running job running (lease and owner untouched) when enqueued meanwhile', async () => {
    await t.store.enqueueGlobalConsolidation(100);
    const { ownershipToken } = await claimGlobal();
    const before = (await t.store.status()).globalJob!;
    await t.store.enqueueGlobalConsolidation(150);
    const after = (await t.store.status()).globalJob!;
    expect(after).toMatchObject({ status: 'running', ownershipToken, leaseUntil: before.leaseUntil, inputWatermark: 150 });

    // The run consumed watermark 100, so the job is dirty again right after it succeeds.
    await t.store.markGlobalSucceeded(ownershipToken, 100, [], null);
    expect(await t.store.claimGlobalJob('w', LEASE)).toMatchObject({ kind: 'claimed', inputWatermark: 150 });
  });

  it('extends an owned lease on heartbeat so nobody can take it over', async () => {
    await t.store.enqueueGlobalConsolidation(100);
    const { ownershipToken } = await claimGlobal('worker-a');
    t.advance(LEASE - 10);
    expect(await t.store.heartbeatGlobalJob(ownershipToken, LEASE)).toBe(true);
    expect((await t.store.status()).globalJob!.leaseUntil).toBe(t.now() + LEASE);
    t.advance(20);
    expect(await t.store.claimGlobalJob('worker-b', LEASE)).toEqual({ kind: 'skippedRunning' });
    expect(await t.store.heartbeatGlobalJob('someone-else', LEASE)).toBe(false);
  });

  it('looks not dirty during the retry backoff after a failure, then runs again', async () => {
    await t.store.enqueueGlobalConsolidation(100);
    const { ownershipToken } = await claimGlobal();
    expect(await t.store.markGlobalFailed(ownershipToken, 'failed_agent', 3_600)).toBe(true);
    expect((await t.store.status()).globalJob).toMatchObject({
      status: 'error',
      retryRemaining: 2,
      retryAt: t.now() + 3_600,
      lastError: 'failed_agent',
      leaseUntil: null,
    });
    expect(await t.store.claimGlobalJob('w', LEASE)).toEqual({ kind: 'skippedNotDirty' });
    t.advance(3_600);
    expect((await t.store.claimGlobalJob('w', LEASE)).kind).toBe('claimed');
  });

  it('stops after 3 failures until an enqueue restores the retry budget', async () => {
    await t.store.enqueueGlobalConsolidation(100);
    for (let i = 0; i < 3; i += 1) {
      const { ownershipToken } = await claimGlobal();
      await t.store.markGlobalFailed(ownershipToken, 'failed_spawn_agent', 0);
    }
    expect(await t.store.claimGlobalJob('w', LEASE)).toEqual({ kind: 'skippedNotDirty' });

    await t.store.enqueueGlobalConsolidation(100);
    expect((await t.store.status()).globalJob).toMatchObject({ retryRemaining: 3, status: 'pending', retryAt: null });
    expect(await t.store.claimGlobalJob('w', LEASE)).toMatchObject({ kind: 'claimed', inputWatermark: 101 });
  });

  it('never lowers the success watermark and records the selection and usage of a success', async () => {
    await t.store.enqueueGlobalConsolidation(300);
    const first = await claimGlobal();
    const usage = { input: 10, cachedInput: 2, output: 5, reasoningOutput: 1, total: 15 };
    await t.store.markGlobalSucceeded(first.ownershipToken, 300, [{ threadId: 'a', sourceUpdatedAt: 100 }], usage);
    expect((await t.store.status()).globalJob).toMatchObject({ lastSuccessWatermark: 300, usage });
    expect((await t.store.status()).lastSelection).toEqual([{ threadId: 'a', sourceUpdatedAt: 100 }]);
    await t.store.enqueueGlobalConsolidation(200);
    const second = await claimGlobal();
    await t.store.markGlobalSucceeded(second.ownershipToken, 250, [], null);

    const status = await t.store.status();
    expect(status.globalJob).toMatchObject({ status: 'done', lastSuccessWatermark: 300, usage: null });
    expect(status.lastSelection).toEqual([]);
    // 301 (the back-filled enqueue) is still above the success watermark: it stays dirty.
    expect(await t.store.claimGlobalJob('w', LEASE)).toMatchObject({ kind: 'claimed', inputWatermark: 301 });
  });
});
