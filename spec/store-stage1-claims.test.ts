// Stage-1 batch claims on the lowdb store: locks and writes (spec §5.3). The store-independent claim behaviour is in
// the store contract (store-contract.ts).
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LEASE, makeTestStore, thread, type TestStore } from './support/store-fixtures.ts';

let t: TestStore;
beforeEach(async () => {
  t = await makeTestStore();
});
afterEach(async () => {
  await t.cleanup();
});

const ids = (n: number, prefix = 'thread') => Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(4, '0')}`);

describe('claiming a startup batch', () => {
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
