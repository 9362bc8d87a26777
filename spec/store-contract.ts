// The store contract: what every MemoryStore must do (shared spec §4.6, §5; upstream state tests 22–39), written
// against the port alone and run on each store (store-contract-lowdb.test.ts, store-contract-postgres.test.ts).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MemoryStore, SelectionEntry } from '../services/store/port.ts';
import type { Stage1Reply, ThreadInfo } from '../services/types.ts';
import { LEASE, reply, START_SECONDS, thread } from './support/store-fixtures.ts';

export { START_SECONDS };

const DAY = 86_400;

/** A store on a fresh, empty state with a hand-driven clock. */
export interface ContractStore {
  store: MemoryStore;
  /** Another handle on the same state, as a second process would have. */
  reopen(): MemoryStore;
  advance(seconds: number): void;
  /** Current fake time in Unix seconds. */
  now(): number;
  cleanup(): Promise<void>;
}

const ids = (n: number, prefix = 'thread') => Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(4, '0')}`);

export function describeStoreContract(label: string, open: () => Promise<ContractStore>): void {
  let t: ContractStore;
  beforeEach(async () => {
    t = await open();
  });
  afterEach(async () => {
    await t.cleanup();
  });

  async function claim(store: MemoryStore, th: ThreadInfo, worker = 'worker-a', maxRunning = 64): Promise<string> {
    const result = await store.tryClaimStage1Job(th, worker, LEASE, maxRunning);
    if (result.kind !== 'claimed') throw new Error(`expected a claim of ${th.threadId}, got ${result.kind}`);
    return result.ownershipToken;
  }
  async function extract(th: ThreadInfo, memory = `memory of ${th.threadId}`, answer = reply(memory)): Promise<void> {
    const token = await claim(t.store, th);
    if (!(await t.store.markStage1Succeeded(th, token, answer, null))) throw new Error('success refused');
  }
  async function claimGlobal(worker = 'worker-a') {
    const result = await t.store.claimGlobalJob(worker, LEASE);
    if (result.kind !== 'claimed') throw new Error(`expected a global claim, got ${result.kind}`);
    return result;
  }
  async function succeedPhase2(selected: SelectionEntry[]) {
    await t.store.enqueueGlobalConsolidation(t.now());
    const claimed = await claimGlobal('w');
    const entries = selected.map(({ threadId, sourceUpdatedAt }) => ({ threadId, sourceUpdatedAt }));
    expect(await t.store.markGlobalSucceeded(claimed.ownershipToken, claimed.inputWatermark, entries, null)).toBe(true);
  }
  /** usageCount = `times` and lastUsage = `at`, through citations from as many sessions. */
  async function cite(threadId: string, times: number, at: number) {
    for (let i = 0; i < times; i++) await t.store.recordCitations(`citing-${threadId}-${i}`, [threadId], at);
  }

  describe(`${label}: claiming one stage-1 job`, () => {
    it('skips a thread whose memory is up to date and claims it again once the rollout advances (22)', async () => {
      await extract(thread('a', 100));
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
      expect(await t.store.heartbeatStage1Job('a', oldToken, LEASE)).toBe(false);
      expect(await t.store.markStage1Failed('a', oldToken, 'late', 60)).toBe(false);
      expect(await t.store.markStage1Succeeded(thread('a', 100), oldToken, reply('late'), null)).toBe(false);
      expect((await t.store.status()).jobs[0]).toMatchObject({ status: 'running', workerId: 'worker-b' });
    });

    it('lets exactly one of two racing claims for the same thread win, from two store handles (24)', async () => {
      const results = await Promise.all([
        t.store.tryClaimStage1Job(thread('a', 100), 'worker-a', LEASE, 64),
        t.reopen().tryClaimStage1Job(thread('a', 100), 'worker-b', LEASE, 64),
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
      await extract(thread('a', 90));
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

    it('refuses a thread id that could not be a file name or a key', async () => {
      await expect(t.store.tryClaimStage1Job(thread('../x', 100), 'w', LEASE, 64)).rejects.toThrow(/refused/);
      const batch = await t.store.claimStage1Jobs({
        candidates: [thread('a/b', 1)],
        workerId: 'w',
        maxClaimed: 8,
        leaseSeconds: LEASE,
      });
      expect(batch.claims).toEqual([]);
    });
  });

  describe(`${label}: claiming a startup batch`, () => {
    it('reaches a stale thread behind up-to-date ones, which do not use up claims (27)', async () => {
      await extract(thread('new-1', 300));
      await extract(thread('new-2', 200));
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
      await extract(thread('done', 100));
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
      expect((await t.store.status()).jobs.filter((j) => j.status === 'running')).toHaveLength(64);
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

    it('claims 1,000 candidates in one pass, then skips all 1,000 as up to date', async () => {
      const params = {
        candidates: ids(1_000).map((id) => thread(id, 100)),
        workerId: 'w',
        maxClaimed: 1_000,
        leaseSeconds: LEASE,
      };
      const batch = await t.store.claimStage1Jobs(params);
      expect(batch.claims).toHaveLength(1_000);
      await Promise.all(batch.claims.map((c) => t.store.markStage1SucceededNoOutput(c.thread.threadId, c.ownershipToken, null)));
      expect((await t.store.claimStage1Jobs(params)).skipped.upToDate).toBe(1_000);
    });

    it('gives each of 120 threads to exactly one of four claimers racing from their own handles', async () => {
      const candidates = ids(120).map((id) => thread(id, 100));
      const handles = [t.store, t.reopen(), t.reopen(), t.reopen()];
      const batches = await Promise.all(
        handles.map((store, i) => store.claimStage1Jobs({ candidates, workerId: `w${i}`, maxClaimed: 40, leaseSeconds: LEASE })),
      );
      const claimed = batches.flatMap((b) => b.claims.map((c) => c.thread.threadId));
      expect(new Set(claimed).size).toBe(claimed.length);
      const running = (await t.store.status()).jobs.filter((j) => j.status === 'running');
      expect(running).toHaveLength(claimed.length);
    });
  });

  describe(`${label}: the global consolidation job`, () => {
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
      await extract(thread('a', 100));
      await extract(thread('b', 101));
      expect(await t.store.claimGlobalJob('w', LEASE)).toMatchObject({ kind: 'claimed', inputWatermark: 101 });
    });

    it('allows only one fresh runner, even among racing handles (37)', async () => {
      await t.store.enqueueGlobalConsolidation(100);
      const results = await Promise.all([
        t.store.claimGlobalJob('worker-a', LEASE),
        t.reopen().claimGlobalJob('worker-b', LEASE),
      ]);
      expect(results.map((r) => r.kind).sort()).toEqual(['claimed', 'skippedRunning']);
      const winner = results[0]!.kind === 'claimed' ? 'worker-a' : 'worker-b';
      expect((await t.store.status()).globalJob).toMatchObject({ status: 'running', workerId: winner });
      // And unraced: a second worker is refused while the first one's lease is fresh.
      expect(await t.store.claimGlobalJob('worker-c', LEASE)).toEqual({ kind: 'skippedRunning' });
      expect((await t.store.status()).globalJob).toMatchObject({ status: 'running', workerId: winner });
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
      expect((await claimGlobal()).inputWatermark).toBeGreaterThan(500);
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
      for (let i = 0; i < 3; i += 1)
        await t.store.markGlobalFailed((await claimGlobal()).ownershipToken, 'failed_spawn_agent', 0);
      expect(await t.store.claimGlobalJob('w', LEASE)).toEqual({ kind: 'skippedNotDirty' });
      await t.store.enqueueGlobalConsolidation(100);
      expect((await t.store.status()).globalJob).toMatchObject({ retryRemaining: 3, status: 'pending', retryAt: null });
      expect(await t.store.claimGlobalJob('w', LEASE)).toMatchObject({ kind: 'claimed', inputWatermark: 101 });
    });

    it('gives a released job back, still dirty, for an immediate claim', async () => {
      await t.store.enqueueGlobalConsolidation(100);
      const { ownershipToken } = await claimGlobal('worker-a');
      expect(await t.store.releaseGlobalJob(ownershipToken)).toBe(true);
      expect(await t.store.markGlobalSucceeded(ownershipToken, 100, [], null)).toBe(false);
      expect(await t.store.claimGlobalJob('worker-b', LEASE)).toMatchObject({ kind: 'claimed', inputWatermark: 100 });
    });

    it('never lowers the success watermark and records the selection and usage of a success', async () => {
      await t.store.enqueueGlobalConsolidation(300);
      const first = await claimGlobal();
      const usage = { input: 10, cachedInput: 2, output: 5, reasoningOutput: 1, total: 15 };
      await t.store.markGlobalSucceeded(first.ownershipToken, 300, [{ threadId: 'a', sourceUpdatedAt: 100 }], usage);
      expect((await t.store.status()).globalJob).toMatchObject({ lastSuccessWatermark: 300, usage });
      expect((await t.store.status()).lastSelection).toEqual([{ threadId: 'a', sourceUpdatedAt: 100 }]);
      await t.store.enqueueGlobalConsolidation(200);
      await t.store.markGlobalSucceeded((await claimGlobal()).ownershipToken, 250, [], null);
      const status = await t.store.status();
      expect(status.globalJob).toMatchObject({ status: 'done', lastSuccessWatermark: 300, usage: null });
      expect(status.lastSelection).toEqual([]);
      expect(await t.store.claimGlobalJob('w', LEASE)).toMatchObject({ kind: 'claimed', inputWatermark: 301 });
    });
  });

  describeOutputs(label, () => ({ t, claim, extract, succeedPhase2, cite }));
}

type Helpers = {
  t: ContractStore;
  claim(store: MemoryStore, th: ThreadInfo, worker?: string): Promise<string>;
  extract(th: ThreadInfo, memory?: string, answer?: Stage1Reply): Promise<void>;
  succeedPhase2(selected: SelectionEntry[]): Promise<void>;
  cite(threadId: string, times: number, at: number): Promise<void>;
};

function describeOutputs(label: string, helpers: () => Helpers): void {
  describe(`${label}: stage-1 outputs`, () => {
    it('are listed for phase 2 newest first, then by thread id descending, with their cwd (34)', async () => {
      const { t, extract } = helpers();
      await extract(thread('a', 100, { cwd: '/repo/a' }));
      await extract(thread('b', 200, { cwd: '/repo/b' }));
      await extract(thread('c', 200, { cwd: '/repo/c' }));
      const listed = await t.store.listStage1OutputsForGlobal(10);
      expect(listed.map((o) => [o.threadId, o.sourceUpdatedAt, o.cwd])).toEqual([
        ['c', 200, '/repo/c'],
        ['b', 200, '/repo/b'],
        ['a', 100, '/repo/a'],
      ]);
      expect(listed[0]).toMatchObject({ rawMemory: 'memory of c', generatedAt: t.now(), usageCount: 0, lastUsage: null });
      expect((await t.store.listStage1OutputsForGlobal(2)).map((o) => o.threadId)).toEqual(['c', 'b']);
      expect(await t.store.listStage1OutputsForGlobal(0)).toEqual([]);
    });

    it('order thread ids by bytes, not by locale', async () => {
      const { t, extract } = helpers();
      for (const id of ['b', 'B', 'a_1', 'a-1']) await extract(thread(id, 100));
      expect((await t.store.listStage1OutputsForGlobal(10)).map((o) => o.threadId)).toEqual(['b', 'a_1', 'a-1', 'B']);
    });

    it('with blank memory and summary are stored but not listed for phase 2 (35)', async () => {
      const { t, extract } = helpers();
      await extract(thread('full', 100));
      await extract(thread('blank', 200), '', reply('  \n', '\t'));
      expect((await t.store.status()).outputs).toHaveLength(2);
      expect((await t.store.listStage1OutputsForGlobal(10)).map((o) => o.threadId)).toEqual(['full']);
    });

    it('are never overwritten by an older snapshot', async () => {
      const { t, claim, extract } = helpers();
      await extract(thread('a', 200), 'newer memory');
      const token = await claim(t.store, thread('a', 300));
      expect(await t.store.markStage1Succeeded(thread('a', 150), token, reply('older memory'), null)).toBe(true);
      expect((await t.store.status()).outputs[0]).toMatchObject({ rawMemory: 'newer memory', sourceUpdatedAt: 200 });
    });

    it('are not written by a worker whose lease was stolen', async () => {
      const { t, claim } = helpers();
      const oldToken = await claim(t.store, thread('a', 100), 'worker-a');
      t.advance(LEASE);
      await claim(t.store, thread('a', 100), 'worker-b');
      expect(await t.store.markStage1Succeeded(thread('a', 100), oldToken, reply('late'), null)).toBe(false);
      expect((await t.store.status()).outputs).toEqual([]);
      expect(await t.store.claimGlobalJob('w', LEASE)).toEqual({ kind: 'skippedNotDirty' });
    });

    it('keep their usage and citations when a refreshed snapshot replaces them, and count each citing session once', async () => {
      const { t, extract, cite } = helpers();
      await extract(thread('a', 100));
      await cite('a', 7, 150);
      expect(await t.store.recordCitations('citing-a-0', ['a', 'a'], 160)).toBe(0);
      expect(await t.store.recordCitations('a', ['a'], 160)).toBe(0);
      await extract(thread('a', 200), 'refreshed');
      expect((await t.store.status()).outputs[0]).toMatchObject({ rawMemory: 'refreshed', usageCount: 7, lastUsage: 150 });
    });

    it('are forgotten on request without being re-extracted until the rollout changes', async () => {
      const { t, extract } = helpers();
      await extract(thread('a', 100));
      const { ownershipToken } = (await t.store.claimGlobalJob('w', LEASE)) as { ownershipToken: string };
      await t.store.markGlobalSucceeded(ownershipToken, 100, [], null);
      expect(await t.store.forgetThread('a')).toBe(true);
      expect(await t.store.forgetThread('a')).toBe(false);
      expect((await t.store.status()).outputs).toEqual([]);
      expect((await t.store.claimGlobalJob('w', LEASE)).kind).toBe('claimed');
      expect(await t.store.tryClaimStage1Job(thread('a', 100), 'w', LEASE, 64)).toEqual({ kind: 'skippedUpToDate' });
      expect((await t.store.tryClaimStage1Job(thread('a', 101), 'w', LEASE, 64)).kind).toBe('claimed');
    });
  });

  describe(`${label}: retrying failed stage-1 jobs now`, () => {
    it('makes jobs in backoff or out of budget claimable at once, leaving done, running and released jobs alone', async () => {
      const { t, claim, extract } = helpers();
      await extract(thread('done', 100));
      await claim(t.store, thread('running', 100));
      await t.store.releaseStage1Job('released', await claim(t.store, thread('released', 100)));
      await t.store.markStage1Failed('backoff', await claim(t.store, thread('backoff', 100)), 'x', 3_600);
      for (let i = 0; i < 3; i++) await t.store.markStage1Failed('spent', await claim(t.store, thread('spent', 100)), 'x', 0);
      const others = async () => (await t.store.status()).jobs.filter((j) => !['backoff', 'spent'].includes(j.jobKey));
      const before = await others();
      expect(await t.store.retryFailedStage1Jobs()).toBe(2);
      expect(await others()).toEqual(before);
      expect((await t.store.status()).jobs.find((j) => j.jobKey === 'backoff')).toMatchObject({
        retryAt: null,
        retryRemaining: 2,
      });
      expect((await t.store.status()).jobs.find((j) => j.jobKey === 'spent')).toMatchObject({ retryAt: null, retryRemaining: 3 });
      expect(await t.store.retryFailedStage1Jobs()).toBe(0);
      expect((await t.store.tryClaimStage1Job(thread('spent', 100), 'w', LEASE, 64)).kind).toBe('claimed');
    });
  });

  describe(`${label}: the phase-2 selection`, () => {
    it('reports added, retained and removed inputs across three successive runs', async () => {
      const { t, extract, succeedPhase2 } = helpers();
      const base = t.now() - 1_000;
      await extract(thread('a', base + 100));
      await extract(thread('b', base + 200));
      let selection = await t.store.getPhase2Selection(2, 30);
      expect(selection.selected.map((o) => o.threadId)).toEqual(['b', 'a']);
      expect(selection.retainedThreadIds).toEqual([]);
      expect(selection.removed).toEqual([]);
      await succeedPhase2(selection.selected);

      await extract(thread('c', base + 300));
      selection = await t.store.getPhase2Selection(2, 30);
      expect(selection.selected.map((o) => o.threadId)).toEqual(['c', 'b']);
      expect(selection.retainedThreadIds).toEqual(['b']);
      expect(selection.removed).toEqual([expect.objectContaining({ threadId: 'a', rawMemory: 'memory of a' })]);
      await succeedPhase2(selection.selected);

      await t.store.forgetThread('c');
      await extract(thread('b', base + 400), 'memory of b, refreshed');
      selection = await t.store.getPhase2Selection(2, 30);
      expect(selection.selected.map((o) => o.threadId)).toEqual(['b', 'a']);
      expect(selection.retainedThreadIds).toEqual([]);
      expect(selection.removed).toEqual([{ threadId: 'c' }]);
    });

    it('drops memories unused for max_unused_days, keeping old ones that were used recently', async () => {
      const { t, extract, cite } = helpers();
      const now = t.now();
      await extract(thread('recent', now - 2 * DAY));
      await extract(thread('stale', now - 40 * DAY));
      await extract(thread('old-but-cited', now - 40 * DAY));
      await cite('old-but-cited', 1, now - DAY);
      await extract(thread('cited-long-ago', now - 10 * DAY));
      await cite('cited-long-ago', 3, now - 31 * DAY);
      const selection = await t.store.getPhase2Selection(10, 30);
      expect(selection.selected.map((o) => o.threadId).sort()).toEqual(['old-but-cited', 'recent']);
      expect((await t.store.getPhase2Selection(10, 0)).selected).toHaveLength(4);
    });

    it('ranks by usage count, then last use (or snapshot), then snapshot, then thread id', async () => {
      const { t, extract, cite } = helpers();
      const now = t.now();
      await extract(thread('fresh-unused', now - 1));
      await extract(thread('popular', now - 20 * DAY));
      await cite('popular', 5, now - 10 * DAY);
      await extract(thread('used-recently', now - 20 * DAY));
      await cite('used-recently', 2, now - 100);
      await extract(thread('used-earlier', now - 5 * DAY));
      await cite('used-earlier', 2, now - 200);
      await extract(thread('tie-a', now - 300));
      await extract(thread('tie-b', now - 300));
      await extract(thread('empty', now), '', reply('', ' '));
      await cite('empty', 9, now);
      const ranked = ['popular', 'used-recently', 'used-earlier', 'fresh-unused', 'tie-b', 'tie-a'];
      expect((await t.store.getPhase2Selection(10, 30)).selected.map((o) => o.threadId)).toEqual(ranked);
      expect((await t.store.getPhase2Selection(2, 30)).selected.map((o) => o.threadId)).toEqual(ranked.slice(0, 2));
    });
  });
}
