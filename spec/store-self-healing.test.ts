// No silent loss: a store file that is not what we wrote is refused, never reset, and a memory that
// went missing is extracted again — but not one that never existed or that the user forgot.
import { chmod, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkStore } from '../services/doctor/checks.ts';
import { StoreCorruptError } from '../services/errors.ts';
import { claim, extract, LEASE, makeTestStore, thread, type TestStore } from './support/store-fixtures.ts';

let t: TestStore;
beforeEach(async () => {
  t = await makeTestStore();
});
afterEach(async () => {
  await t.cleanup();
});

describe('a store file that is not a store document', () => {
  for (const file of ['jobs.json', 'outputs.json']) {
    for (const text of ['0', 'null', '[]', '"x"', '{}']) {
      it(`${file} holding ${text} is a StoreCorruptError and is left untouched`, async () => {
        await mkdir(t.dir, { recursive: true });
        await writeFile(path.join(t.dir, file), text);
        await expect(t.store.status()).rejects.toBeInstanceOf(StoreCorruptError);
        await expect(t.store.forgetThread('a')).rejects.toBeInstanceOf(StoreCorruptError);
        expect(await readFile(path.join(t.dir, file), 'utf8')).toBe(text);
      });
    }
  }

  it('makes doctor fail its store check', async () => {
    await mkdir(t.dir, { recursive: true });
    await writeFile(path.join(t.dir, 'outputs.json'), 'null');
    const result = await checkStore(path.dirname(t.dir), true);
    expect(result.status).toBe('fail');
    expect(result.message).toContain('outputs.json');
  });

  it('is reported with a recovery that loses nothing, and that recovery works', async () => {
    await extract(t.store, thread('a', 100));
    await extract(t.store, thread('b', 100));
    const outputs = path.join(t.dir, 'outputs.json');
    await writeFile(outputs, 'null');
    const error = await t.store.status().catch((e: unknown) => e);
    expect((error as Error).message).toContain(`mv ${outputs} ${outputs}.bad`);
    expect((error as Error).message).toContain('nothing is lost');

    await rename(outputs, `${outputs}.bad`);
    const pass = await t.store.claimStage1Jobs({
      candidates: [thread('a', 100), thread('b', 100)],
      workerId: 'w',
      maxClaimed: 8,
      leaseSeconds: LEASE,
    });
    expect(pass.claims.map((c) => c.thread.threadId).sort()).toEqual(['a', 'b']);
  });
});

describe('a stage-1 job marked done', () => {
  it('whose output went missing goes back to extraction', async () => {
    await extract(t.store, thread('a', 100));
    await rename(path.join(t.dir, 'outputs.json'), path.join(t.dir, 'outputs.json.bad'));
    expect((await t.store.tryClaimStage1Job(thread('a', 100), 'w', LEASE, 64)).kind).toBe('claimed');
  });

  it('that finished with no output stays done', async () => {
    const token = await claim(t.store, thread('a', 100));
    expect(await t.store.markStage1SucceededNoOutput('a', token, null)).toBe(true);
    expect(await t.store.tryClaimStage1Job(thread('a', 100), 'w', LEASE, 64)).toEqual({ kind: 'skippedUpToDate' });
  });

  it('whose thread the user forgot stays forgotten until the rollout changes', async () => {
    await extract(t.store, thread('a', 100));
    expect(await t.store.forgetThread('a')).toBe(true);
    expect(await t.store.tryClaimStage1Job(thread('a', 100), 'w', LEASE, 64)).toEqual({ kind: 'skippedUpToDate' });
    expect((await t.store.tryClaimStage1Job(thread('a', 101), 'w', LEASE, 64)).kind).toBe('claimed');
  });
});

describe('opening a store', () => {
  it('tightens a state directory with looser modes to 0700 and its files to 0600', async () => {
    await extract(t.store, thread('a', 100));
    await chmod(t.dir, 0o755);
    await chmod(path.join(t.dir, 'jobs.json'), 0o644);
    await chmod(path.join(t.dir, 'outputs.json'), 0o666);
    t.reopen();
    expect((await stat(t.dir)).mode & 0o777).toBe(0o700);
    expect((await stat(path.join(t.dir, 'jobs.json'))).mode & 0o777).toBe(0o600);
    expect((await stat(path.join(t.dir, 'outputs.json'))).mode & 0o777).toBe(0o600);
  });
});
