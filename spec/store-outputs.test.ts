// Stage-1 outputs and phase-2 input selection (spec §5.4, §5.7, §4.6; upstream state tests 34, 35).
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AtomicJsonFile } from '../services/store/atomic-json-file.ts';
import type { SelectionEntry } from '../services/store/port.ts';
import type { Stage1Output } from '../services/types.ts';
import { claim, extract, LEASE, makeTestStore, reply, thread, type TestStore } from './support/store-fixtures.ts';

let t: TestStore;
beforeEach(async () => {
  t = await makeTestStore();
});
afterEach(async () => {
  await t.cleanup();
});

const DAY = 86_400;

/** Writes outputs directly: the port has no method to record citations (usage_count/last_usage). */
async function seedOutputs(rows: Array<Partial<Stage1Output> & Pick<Stage1Output, 'threadId' | 'sourceUpdatedAt'>>) {
  const outputs: Record<string, Stage1Output> = {};
  for (const row of rows) {
    outputs[row.threadId] = {
      rawMemory: `memory of ${row.threadId}`,
      rolloutSummary: `summary of ${row.threadId}`,
      rolloutSlug: null,
      cwd: '/work',
      rolloutPath: `/sessions/${row.threadId}.jsonl`,
      generatedAt: row.sourceUpdatedAt,
      usageCount: 0,
      lastUsage: null,
      ...row,
    };
  }
  await new AtomicJsonFile(path.join(t.dir, 'outputs.json'), (raw) => raw).write({ version: 1, outputs });
}

/** One successful phase-2 run that consumed exactly `selected`. */
async function succeedPhase2(selected: SelectionEntry[]) {
  await t.store.enqueueGlobalConsolidation(t.now());
  const claimed = await t.store.claimGlobalJob('w', LEASE);
  if (claimed.kind !== 'claimed') throw new Error(claimed.kind);
  const entries = selected.map(({ threadId, sourceUpdatedAt }) => ({ threadId, sourceUpdatedAt }));
  expect(await t.store.markGlobalSucceeded(claimed.ownershipToken, claimed.inputWatermark, entries, null)).toBe(true);
}

describe('stage-1 outputs', () => {
  it('are listed for phase 2 newest first, then by thread id descending, with their cwd (34)', async () => {
    await extract(t.store, thread('a', 100, { cwd: '/repo/a' }));
    await extract(t.store, thread('b', 200, { cwd: '/repo/b' }));
    await extract(t.store, thread('c', 200, { cwd: '/repo/c' }));
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

  it('with blank memory and summary are stored but not listed for phase 2 (35)', async () => {
    await extract(t.store, thread('full', 100));
    const token = await claim(t.store, thread('blank', 200));
    await t.store.markStage1Succeeded(thread('blank', 200), token, reply('  \n', '\t'), null);
    expect((await t.store.status()).outputs).toHaveLength(2);
    expect((await t.store.listStage1OutputsForGlobal(10)).map((o) => o.threadId)).toEqual(['full']);
  });

  it('are never overwritten by an older snapshot', async () => {
    await extract(t.store, thread('a', 200), 'newer memory');
    // A worker holding stale thread info (updatedAt 150) finishes a claim of a later snapshot.
    const token = await claim(t.store, thread('a', 300));
    expect(await t.store.markStage1Succeeded(thread('a', 150), token, reply('older memory'), null)).toBe(true);
    const [output] = (await t.store.status()).outputs;
    expect(output).toMatchObject({ rawMemory: 'newer memory', sourceUpdatedAt: 200 });
  });

  it('are not written by a worker whose lease was stolen', async () => {
    const oldToken = await claim(t.store, thread('a', 100), 'worker-a');
    t.advance(LEASE);
    await claim(t.store, thread('a', 100), 'worker-b');
    expect(await t.store.markStage1Succeeded(thread('a', 100), oldToken, reply('late'), null)).toBe(false);
    expect((await t.store.status()).outputs).toEqual([]);
    expect(await t.store.claimGlobalJob('w', LEASE)).toEqual({ kind: 'skippedNotDirty' });
  });

  it('keep their usage when a refreshed snapshot replaces them', async () => {
    await seedOutputs([{ threadId: 'a', sourceUpdatedAt: 100, usageCount: 7, lastUsage: 150 }]);
    await extract(t.store, thread('a', 200), 'refreshed');
    expect((await t.store.status()).outputs[0]).toMatchObject({ rawMemory: 'refreshed', usageCount: 7, lastUsage: 150 });
  });

  it('are forgotten on request without being re-extracted until the rollout changes', async () => {
    await extract(t.store, thread('a', 100));
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

describe('the phase-2 selection', () => {
  it('reports added, retained and removed inputs across three successive runs', async () => {
    const base = t.now() - 1_000; // inside the 30-day window
    await extract(t.store, thread('a', base + 100));
    await extract(t.store, thread('b', base + 200));

    // Run 1: everything is new.
    let selection = await t.store.getPhase2Selection(2, 30);
    expect(selection.selected.map((o) => o.threadId)).toEqual(['b', 'a']);
    expect(selection.retainedThreadIds).toEqual([]);
    expect(selection.removed).toEqual([]);
    await succeedPhase2(selection.selected);

    // Run 2: a newer thread pushes out the oldest one, which is reported with its row.
    await extract(t.store, thread('c', base + 300));
    selection = await t.store.getPhase2Selection(2, 30);
    expect(selection.selected.map((o) => o.threadId)).toEqual(['c', 'b']);
    expect(selection.retainedThreadIds).toEqual(['b']);
    expect(selection.removed).toEqual([expect.objectContaining({ threadId: 'a', rawMemory: 'memory of a' })]);
    await succeedPhase2(selection.selected);

    // Run 3: c is forgotten (only its id is left) and b got a new snapshot, so b counts as added.
    await t.store.forgetThread('c');
    await extract(t.store, thread('b', base + 400), 'memory of b, refreshed');
    selection = await t.store.getPhase2Selection(2, 30);
    expect(selection.selected.map((o) => o.threadId)).toEqual(['b', 'a']);
    expect(selection.retainedThreadIds).toEqual([]);
    expect(selection.removed).toEqual([{ threadId: 'c' }]);
  });

  it('drops memories unused for max_unused_days, keeping old ones that were used recently', async () => {
    const now = t.now();
    await seedOutputs([
      { threadId: 'recent', sourceUpdatedAt: now - 2 * DAY },
      { threadId: 'stale', sourceUpdatedAt: now - 40 * DAY },
      { threadId: 'old-but-cited', sourceUpdatedAt: now - 40 * DAY, usageCount: 1, lastUsage: now - DAY },
      { threadId: 'cited-long-ago', sourceUpdatedAt: now - 10 * DAY, usageCount: 3, lastUsage: now - 31 * DAY },
    ]);
    const selection = await t.store.getPhase2Selection(10, 30);
    expect(selection.selected.map((o) => o.threadId).sort()).toEqual(['old-but-cited', 'recent']);

    // 0 disables the age filter instead of forgetting everything.
    expect((await t.store.getPhase2Selection(10, 0)).selected).toHaveLength(4);
  });

  it('ranks by usage count, then last use (or snapshot), then snapshot, then thread id', async () => {
    const now = t.now();
    await seedOutputs([
      { threadId: 'fresh-unused', sourceUpdatedAt: now - 1 },
      { threadId: 'popular', sourceUpdatedAt: now - 20 * DAY, usageCount: 5, lastUsage: now - 10 * DAY },
      { threadId: 'used-recently', sourceUpdatedAt: now - 20 * DAY, usageCount: 2, lastUsage: now - 100 },
      { threadId: 'used-earlier', sourceUpdatedAt: now - 5 * DAY, usageCount: 2, lastUsage: now - 200 },
      { threadId: 'tie-a', sourceUpdatedAt: now - 300 },
      { threadId: 'tie-b', sourceUpdatedAt: now - 300 },
      { threadId: 'empty', sourceUpdatedAt: now, rawMemory: '', rolloutSummary: ' ', usageCount: 9 },
    ]);
    const selection = await t.store.getPhase2Selection(10, 30);
    expect(selection.selected.map((o) => o.threadId)).toEqual([
      'popular',
      'used-recently',
      'used-earlier',
      'fresh-unused',
      'tie-b',
      'tie-a',
    ]);
    expect((await t.store.getPhase2Selection(2, 30)).selected.map((o) => o.threadId)).toEqual(['popular', 'used-recently']);
  });
});
