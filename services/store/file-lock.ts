// Inter-process lock held for one read-modify-write (long work is covered by JSON leases); a dead holder's
// stale `<file>.lock` is taken over, and in-process callers queue first so they do not poll against each other.
import fs, { mkdirSync } from 'node:fs';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { DIR_MODE } from './atomic-json-file.ts';

export interface HeldLock {
  /** Throws when the lock was lost while held: call right before committing a write. */
  assertHeld(): void;
}

/** A lock older than this was left by a dead process. */
const STALE_MS = 10_000;

type Callback = (error: NodeJS.ErrnoException | null, value?: unknown) => void;

/** Runs a quick system call now and answers on the next tick, as an async fs call would later. */
function now(call: () => unknown, callback: Callback): void {
  try {
    process.nextTick(callback, null, call());
  } catch (error) {
    process.nextTick(callback, error as NodeJS.ErrnoException);
  }
}

// Synchronous fs for proper-lockfile, so its microsecond calls do not wait behind the event loop on every commit.
// One object per process: proper-lockfile caches the mtime precision on it.
const quickFs = {
  mkdir: (p: string, callback: Callback) => now(() => fs.mkdirSync(p), callback),
  rmdir: (p: string, callback: Callback) => now(() => fs.rmdirSync(p), callback),
  rmdirSync: (p: string) => fs.rmdirSync(p),
  stat: (p: string, callback: Callback) => now(() => fs.statSync(p), callback),
  utimes: (p: string, atime: Date, mtime: Date, callback: Callback) => now(() => fs.utimesSync(p, atime, mtime), callback),
  realpath: (p: string, callback: Callback) => now(() => fs.realpathSync(p), callback),
};

/** Tail of the in-process queue for each lock path. */
const queues = new Map<string, Promise<unknown>>();

export async function withFileLock<T>(file: string, fn: (lock: HeldLock) => Promise<T>): Promise<T> {
  const key = path.resolve(file);
  const previous = queues.get(key) ?? Promise.resolve();
  // `previous` never rejects: the queue goes on whatever happens to a caller; the tail drops its entry.
  const run = previous.then(() => lockAndRun(key, fn));
  const tail = run.catch(() => undefined);
  queues.set(key, tail);
  try {
    return await run;
  } finally {
    if (queues.get(key) === tail) queues.delete(key);
  }
}

async function lockAndRun<T>(file: string, fn: (lock: HeldLock) => Promise<T>): Promise<T> {
  // realpath:false: the store file may not exist yet, but its directory must (synchronous, as quickFs).
  mkdirSync(path.dirname(file), { recursive: true, mode: DIR_MODE });
  let compromised: Error | null = null;
  const release = await lockfile.lock(file, {
    realpath: false,
    fs: quickFs,
    stale: STALE_MS,
    // Short waits (an RMW takes milliseconds), enough of them to outlive a dead holder's stale window.
    retries: { retries: Math.ceil((STALE_MS * 2.5) / 50), minTimeout: 5, maxTimeout: 50, factor: 2 },
    // The default handler throws from a timer and kills the process; assertHeld reports it instead.
    onCompromised: (error) => {
      compromised = error;
    },
  });
  const held: HeldLock = {
    assertHeld() {
      if (compromised) throw new Error(`lock on ${file} was lost: ${compromised.message}`, { cause: compromised });
    },
  };
  try {
    return await fn(held);
  } finally {
    // After a compromise the lock may already belong to someone else; releasing would fail.
    await release().catch((error: unknown) => {
      if (!compromised) throw error;
    });
  }
}
