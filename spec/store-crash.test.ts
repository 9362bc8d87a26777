// The store survives processes killed mid-write, dead lock holders and corrupt files, and keeps
// its files private.
import { fork, type ChildProcess } from 'node:child_process';
import { readdir, readFile, stat, utimes, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreCorruptError } from '../services/errors.ts';
import { createTransact } from '../services/store/transaction.ts';
import { makeTestStore, START_SECONDS, thread, type TestStore } from './support/store-fixtures.ts';

const WORKER = fileURLToPath(new URL('./support/store-crash-worker.ts', import.meta.url));

let t: TestStore;
beforeEach(async () => {
  t = await makeTestStore();
});
afterEach(async () => {
  await t.cleanup();
});

function start(args: string[]): ChildProcess {
  return fork(WORKER, [t.dir, ...args], { execArgv: ['--import', 'tsx'], stdio: 'inherit' });
}

async function kill(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/** Makes locks left by a killed process look as old as they would be after the stale window. */
async function ageLeftoverLocks(): Promise<void> {
  const old = new Date(Date.now() - 60_000);
  for (const name of await readdir(t.dir)) {
    if (name.endsWith('.lock')) await utimes(path.join(t.dir, name), old, old);
  }
}

describe('a store written by a process killed with SIGKILL', () => {
  it('still parses and keeps every completed write, at several random kill moments', async () => {
    let next = 0;
    for (let round = 0; round < 4; round += 1) {
      const child = start(['loop', String(next)]);
      let lastDone = -1;
      child.on('message', (message) => {
        lastDone = (message as { done: number }).done;
      });
      // Let it complete a few writes, then kill it at a random moment.
      while (lastDone < next + 2) await new Promise((resolve) => setTimeout(resolve, 5));
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 300));
      await kill(child);

      // Both files are whole JSON documents, whatever the kill interrupted.
      const jobs = JSON.parse(await readFile(path.join(t.dir, 'jobs.json'), 'utf8'));
      const outputs = JSON.parse(await readFile(path.join(t.dir, 'outputs.json'), 'utf8'));
      const id = `thread-${String(lastDone).padStart(5, '0')}`;
      expect(jobs.stage1[id]).toMatchObject({ status: 'done', lastSuccessWatermark: 1_000 + lastDone });
      expect(outputs.outputs[id].rawMemory.startsWith(`${lastDone} `)).toBe(true);

      await ageLeftoverLocks();
      next = lastDone + 2; // past the one the kill may have left claimed
    }
    const status = await t.store.status();
    expect(status.outputs.length).toBeGreaterThanOrEqual(12);
  });

  it('waits on a lock left by a dead process while it looks fresh, and takes it over once stale', async () => {
    const child = start(['hold']);
    await new Promise((resolve) => child.once('message', resolve));
    await kill(child);

    let finished = false;
    const enqueued = t.store.enqueueGlobalConsolidation(100).then(() => {
      finished = true;
    });
    // A fresh lock cannot be told from a live holder's, so the store keeps waiting rather than
    // breaking in. (Timed in a short window: a wall-clock step on the machine could age the lock.)
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(finished).toBe(false);

    // Once its mtime is past the stale window, as it would be 10 s later, it is taken over.
    await ageLeftoverLocks();
    await enqueued;
    expect((await t.store.status()).globalJob?.inputWatermark).toBe(100);
  });
});

describe('a corrupt store file', () => {
  it('gives StoreCorruptError naming the file and is left untouched', async () => {
    await mkdir(t.dir, { recursive: true });
    const file = path.join(t.dir, 'jobs.json');
    await writeFile(file, '{"version":1,"stage1":{"a":');

    const error = await t.store.tryClaimStage1Job(thread('a', 100), 'w', 60, 8).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreCorruptError);
    expect((error as StoreCorruptError).file).toBe(file);
    expect((error as Error).message).toContain(`mv ${file} ${file}.bad`);
    await expect(t.store.enqueueGlobalConsolidation(1)).rejects.toBeInstanceOf(StoreCorruptError);
    expect(await readFile(file, 'utf8')).toBe('{"version":1,"stage1":{"a":');
  });

  it('that is valid JSON of the wrong shape is refused the same way', async () => {
    await mkdir(t.dir, { recursive: true });
    await writeFile(path.join(t.dir, 'outputs.json'), '[]');
    await expect(t.store.listStage1OutputsForGlobal(5)).rejects.toBeInstanceOf(StoreCorruptError);
  });
});

describe('store files', () => {
  it('are private: files 0600 in a 0700 directory, with no lock or temp file left behind', async () => {
    await t.store.tryClaimStage1Job(thread('a', 100), 'w', 60, 8).then((claim) => {
      if (claim.kind !== 'claimed') throw new Error(claim.kind);
      return t.store.markStage1Succeeded(
        thread('a', 100),
        claim.ownershipToken,
        { rawMemory: 'm', rolloutSummary: 's', rolloutSlug: null },
        null,
      );
    });
    expect((await stat(t.dir)).mode & 0o777).toBe(0o700);
    expect((await stat(path.join(t.dir, 'jobs.json'))).mode & 0o777).toBe(0o600);
    expect((await stat(path.join(t.dir, 'outputs.json'))).mode & 0o777).toBe(0o600);
    expect((await readdir(t.dir)).sort()).toEqual(['jobs.json', 'outputs.json']);
  });
});

describe('a store that keeps the documents it last read or wrote', () => {
  it('sees what another handle wrote since', async () => {
    const other = t.reopen();
    expect((await t.store.tryClaimStage1Job(thread('a', 100), 'w', 60, 8)).kind).toBe('claimed');
    expect((await other.tryClaimStage1Job(thread('b', 100), 'w', 60, 8)).kind).toBe('claimed');
    expect((await t.store.status()).jobs.map((j) => j.jobKey).sort()).toEqual(['a', 'b']);
  });

  it('keeps nothing of a transaction that failed after changing the document', async () => {
    await t.store.tryClaimStage1Job(thread('a', 100), 'w', 60, 8);
    const transact = createTransact(t.dir, () => START_SECONDS * 1000);
    await transact(false, (tx) => tx.jobs.stage1.a); // the document is now kept
    const failing = transact(false, (tx) => {
      delete tx.jobs.stage1.a;
      tx.jobsDirty = true;
      throw new Error('mutator failed');
    });
    await expect(failing).rejects.toThrow('mutator failed');
    expect(await transact(false, (tx) => Object.keys(tx.jobs.stage1))).toEqual(['a']);
  });
});
