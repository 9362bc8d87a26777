// Stage-1 claims (spec §5.2, §5.3, §5.5; upstream state tests 22–29, 31, 32).
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { claim, extract, LEASE, makeTestStore, reply, thread, type TestStore } from './support/store-fixtures.ts';

let t: TestStore;
beforeEach(async () => {
  t = await makeTestStore();
});
afterEach(async () => {
  await t.cleanup();
});

const ids = (n: number, prefix = 'thread') => Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(4, '0')}`);

describe('claiming one stage-1 job', () => {
  it('skips a thread whose memory is up to date and claims it again once the rollout advances (22)', async () => {
    await extract(t.store, thread('a', 100));
    expect(await t.store.tryClaimStage1Job(thread('a', 100), 'w', LEASE, 64)).toEqual({ kind: 'skippedUpToDate' });
    expect((await t.store.tryClaimStage1Job(thread('a', 101), 'w', LEASE, 64)).kind).toBe('claimed');
  });

  it('skips a freshly running job but lets another worker steal it once its lease expired (23)', async () => {
    const oldToken = await claim(t.store, thread('a', 100), 'worker-a');
    expect(await t.store.tryClaimStage1Job(thread('a', 100), 'worker-b', LEASE, 64)).toEqual({ kind: 'skippedRunning' });

    t.advance(LEASE);
    const stolen = await t.store.tryClaimStage1Job(thread('a', 100), 'worker-b', LEASE, 64);
    expect(stolen.kind).toBe('claimed');
    expect(stolen.kind === 'claimed' && stolen.ownershipToken).not.toBe(oldToken);

    // The old owner's token now fails every finalisation.
    expect(await t.store.heartbeatStage1Job('a', oldToken, LEASE)).toBe(false);
    expect(await t.store.markStage1Failed('a', oldToken, 'late', 60)).toBe(false);
    expect(await t.store.markStage1Succeeded(thread('a', 100), oldToken, reply('late'), null)).toBe(false);
    const job = (await t.store.status()).jobs[0];
    expect(job).toMatchObject({ status: 'running', workerId: 'worker-b' });
  });

  it('lets exactly one of two racing claims for the same thread win, even from two store handles (24)', async () => {
    const other = t.reopen();
    const results = await Promise.all([
      t.store.tryClaimStage1Job(thread('a', 100), 'worker-a', LEASE, 64),
      other.tryClaimStage1Job(thread('a', 100), 'worker-b', LEASE, 64),
    ]);
    expect(results.map((r) => r.kind).sort()).toEqual(['claimed', 'skippedRunning']);
  });

  it('refuses a new claim when the running cap is reached (25)', async () => {
    expect((await t.store.tryClaimStage1Job(thread('a', 100), 'w', LEASE, 1)).kind).toBe('claimed');
    expect(await t.store.tryClaimStage1Job(thread('b', 100), 'w', LEASE, 1)).toEqual({ kind: 'skippedRunning' });
  });

  it('backs off after a failure until retry_at, spending one retry', async () => {
    const token = await claim(t.store, thread('a', 100));
    expect(await t.store.markStage1Failed('a', token, 'model timeout', 3_600)).toBe(true);
    expect((await t.store.status()).jobs[0]).toMatchObject({
      status: 'error',
      retryAt: t.now() + 3_600,
      retryRemaining: 2,
      lastError: 'model timeout',
      leaseUntil: null,
    });

    t.advance(3_599);
    expect(await t.store.tryClaimStage1Job(thread('a', 100), 'w', LEASE, 64)).toEqual({ kind: 'skippedRetryBackoff' });
    t.advance(1);
    expect((await t.store.tryClaimStage1Job(thread('a', 100), 'w', LEASE, 64)).kind).toBe('claimed');
    expect((await t.store.status()).jobs[0]).toMatchObject({ retryRemaining: 2, retryAt: null, lastError: null });
  });

  it('ignores the backoff when the rollout advanced and resets the retry budget to 3', async () => {
    const token = await claim(t.store, thread('a', 100));
    await t.store.markStage1Failed('a', token, 'boom', 3_600);
    expect((await t.store.tryClaimStage1Job(thread('a', 101), 'w', LEASE, 64)).kind).toBe('claimed');
    expect((await t.store.status()).jobs[0]).toMatchObject({ retryRemaining: 3, inputWatermark: 101 });
  });

  it('stops after 3 failures of one input but claims a newer input with a fresh budget (32)', async () => {
    for (let i = 0; i < 3; i += 1) {
      const token = await claim(t.store, thread('a', 100));
      expect(await t.store.markStage1Failed('a', token, `failure ${i}`, 0)).toBe(true);
    }
    expect(await t.store.tryClaimStage1Job(thread('a', 100), 'w', LEASE, 64)).toEqual({ kind: 'skippedRetryExhausted' });

    expect((await t.store.tryClaimStage1Job(thread('a', 101), 'w', LEASE, 64)).kind).toBe('claimed');
    expect((await t.store.status()).jobs[0]).toMatchObject({ retryRemaining: 3, inputWatermark: 101, status: 'running' });
  });

  it('tracks the watermark of a success without output, and dirties phase 2 only when a memory was deleted (31)', async () => {
    await extract(t.store, thread('a', 90));
    const token = await claim(t.store, thread('a', 100));
    expect(await t.store.markStage1SucceededNoOutput('a', token, null)).toBe(true);

    const status = await t.store.status();
    expect(status.outputs).toEqual([]);
    expect(status.jobs[0]).toMatchObject({ status: 'done', lastSuccessWatermark: 100 });
    expect(await t.store.tryClaimStage1Job(thread('a', 100), 'w', LEASE, 64)).toEqual({ kind: 'skippedUpToDate' });
    expect(await t.store.claimGlobalJob('w', LEASE)).toMatchObject({ kind: 'claimed', inputWatermark: 100 });
  });

  it('does not dirty phase 2 for a success without output when there was no memory to delete', async () => {
    const token = await claim(t.store, thread('a', 100));
    expect(await t.store.markStage1SucceededNoOutput('a', token, null)).toBe(true);
    expect(await t.store.claimGlobalJob('w', LEASE)).toEqual({ kind: 'skippedNotDirty' });
  });

  it('extends an owned lease on heartbeat so nobody can steal it', async () => {
    const token = await claim(t.store, thread('a', 100));
    t.advance(LEASE - 10);
    expect(await t.store.heartbeatStage1Job('a', token, LEASE)).toBe(true);
    t.advance(20);
    expect(await t.store.tryClaimStage1Job(thread('a', 100), 'worker-b', LEASE, 64)).toEqual({ kind: 'skippedRunning' });
    expect(await t.store.heartbeatStage1Job('a', 'not-the-token', LEASE)).toBe(false);
  });

  it('gives a released job back for an immediate claim without spending a retry', async () => {
    const token = await claim(t.store, thread('a', 100));
    expect(await t.store.releaseStage1Job('a', token)).toBe(true);
    expect((await t.store.status()).jobs[0]).toMatchObject({ status: 'pending', lastError: 'released', retryRemaining: 3 });
    expect(await t.store.markStage1Succeeded(thread('a', 100), token, reply('late'), null)).toBe(false);
    expect((await t.store.tryClaimStage1Job(thread('a', 100), 'worker-b', LEASE, 64)).kind).toBe('claimed');
    expect((await t.store.status()).jobs[0]).toMatchObject({ retryRemaining: 3, workerId: 'worker-b' });
  });
});

describe('claiming a startup batch', () => {
  it('reaches a stale thread behind up-to-date ones, which do not use up claims (27)', async () => {
    await extract(t.store, thread('new-1', 300));
    await extract(t.store, thread('new-2', 200));
    const batch = await t.store.claimStage1Jobs({
      candidates: [thread('new-1', 300), thread('new-2', 200), thread('stale', 100)],
      workerId: 'w',
      maxClaimed: 1,
      leaseSeconds: LEASE,
    });
    expect(batch.claims.map((c) => c.thread.threadId)).toEqual(['stale']);
    expect(batch.skipped).toEqual({ upToDate: 2, running: 0, retryBackoff: 0, retryExhausted: 0 });
  });

  it('counts every skip reason', async () => {
    await extract(t.store, thread('done', 100));
    await claim(t.store, thread('busy', 100), 'worker-b');
    await t.store.markStage1Failed('backoff', await claim(t.store, thread('backoff', 100)), 'x', 3_600);
    for (let i = 0; i < 3; i += 1) await t.store.markStage1Failed('spent', await claim(t.store, thread('spent', 100)), 'x', 0);

    const batch = await t.store.claimStage1Jobs({
      candidates: ['done', 'busy', 'backoff', 'spent', 'fresh'].map((id) => thread(id, 100)),
      workerId: 'worker-a',
      maxClaimed: 8,
      leaseSeconds: LEASE,
    });
    expect(batch.claims.map((c) => c.thread.threadId)).toEqual(['fresh']);
    expect(batch.skipped).toEqual({ upToDate: 1, running: 1, retryBackoff: 1, retryExhausted: 1 });
  });

  it('enforces the running cap across workers: 10 running + 80 eligible with max 64 claims 54 (28)', async () => {
    const first = await t.store.claimStage1Jobs({
      candidates: ids(10, 'other').map((id) => thread(id, 100)),
      workerId: 'worker-b',
      maxClaimed: 64,
      leaseSeconds: LEASE,
    });
    expect(first.claims).toHaveLength(10);

    const params = {
      candidates: ids(80).map((id) => thread(id, 100)),
      workerId: 'worker-a',
      maxClaimed: 64,
      leaseSeconds: LEASE,
    };
    const batch = await t.store.claimStage1Jobs(params);
    expect(batch.claims).toHaveLength(54);
    const running = (await t.store.status()).jobs.filter((j) => j.status === 'running');
    expect(running).toHaveLength(64);

    const again = await t.store.claimStage1Jobs(params);
    expect(again.claims).toHaveLength(0);
    expect(again.skipped.running).toBeGreaterThan(0);
  });

  it('processes two full batches across startup passes (29)', async () => {
    const params = { candidates: ids(200).map((id) => thread(id, 100)), workerId: 'w', maxClaimed: 64, leaseSeconds: LEASE };
    const first = await t.store.claimStage1Jobs(params);
    expect(first.claims).toHaveLength(64);
    for (const c of first.claims) {
      expect(await t.store.markStage1Succeeded(c.thread, c.ownershipToken, reply(`m ${c.thread.threadId}`), null)).toBe(true);
    }

    const second = await t.store.claimStage1Jobs(params);
    expect(second.claims).toHaveLength(64);
    expect(second.skipped.upToDate).toBe(64);
    const firstIds = new Set(first.claims.map((c) => c.thread.threadId));
    expect(second.claims.some((c) => firstIds.has(c.thread.threadId))).toBe(false);
  });

  it('claims nothing and writes nothing when maxClaimed is 0', async () => {
    const batch = await t.store.claimStage1Jobs({
      candidates: [thread('a', 100)],
      workerId: 'w',
      maxClaimed: 0,
      leaseSeconds: LEASE,
    });
    expect(batch.claims).toEqual([]);
    expect((await t.store.status()).jobs).toEqual([]);
  });

  it('claims 1,000 candidates in one transaction, and skips 1,000 up-to-date ones without writing', async () => {
    const candidates = ids(1_000).map((id) => thread(id, 100));
    const params = { candidates, workerId: 'w', maxClaimed: 1_000, leaseSeconds: LEASE };
    const mkdirs = vi.spyOn(fs, 'mkdirSync');
    // A lock is taken by creating `jobs.json.lock`; a write replaces jobs.json by a new inode.
    const locks = () => mkdirs.mock.calls.filter(([dir]) => String(dir).endsWith('.lock')).length;
    const inode = () => fs.statSync(path.join(t.dir, 'jobs.json'), { throwIfNoEntry: false })?.ino;

    const batch = await t.store.claimStage1Jobs(params);
    expect(batch.claims).toHaveLength(1_000);
    expect(locks()).toBe(1);
    expect((await t.store.status()).jobs).toHaveLength(1_000);

    // Finalised concurrently: group commit lets them share locks and writes.
    await Promise.all(batch.claims.map((c) => t.store.markStage1SucceededNoOutput(c.thread.threadId, c.ownershipToken, null)));
    mkdirs.mockClear();
    const before = inode();
    const noop = await t.store.claimStage1Jobs(params);
    expect(noop.skipped.upToDate).toBe(1_000);
    expect(locks()).toBe(1);
    expect(inode()).toBe(before);
    vi.restoreAllMocks();
  });
});
