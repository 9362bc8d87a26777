// Inter-process mutual exclusion for one store file, held only for the milliseconds of one
// read-modify-write (never across a model call: long work is protected by the logical lease in
// the JSON itself).
//
// proper-lockfile creates `<file>.lock` with mkdir (atomic) and keeps its mtime fresh while held;
// a lock whose mtime is older than `stale` belongs to a dead process (SIGKILL, power cut) and is
// taken over. Inside one process we queue callers first, so they do not poll the lock directory
// against each other.
import fs, { mkdirSync } from 'node:fs';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { DIR_MODE } from './atomic-json-file.ts';

export interface FileLockOptions {
  /** A lock older than this is considered left by a dead process. proper-lockfile's minimum is 2 s. */
  staleMs?: number;
  /** Called when the lock was lost while held (its mtime could not be refreshed, or it was taken over). */
  onCompromised?: (error: Error) => void;
}

export interface HeldLock {
  /** Throws when the lock was lost while held: call right before committing a write. */
  assertHeld(): void;
}

export const DEFAULT_STALE_MS = 10_000;

type Callback = (error: NodeJS.ErrnoException | null, value?: unknown) => void;

/** Runs a quick system call now and answers on the next tick, as an async fs call would later. */
function now(call: () => unknown, callback: Callback): void {
  let value: unknown;
  let error: NodeJS.ErrnoException | null = null;
  try {
    value = call();
  } catch (caught) {
    error = caught as NodeJS.ErrnoException;
  }
  process.nextTick(callback, error, value);
}

/**
 * The fs that proper-lockfile is given. Its calls (mkdir, stat, utimes, rmdir of the lock
 * directory) take microseconds; as thread-pool calls each would wait for the event loop to come
 * round, behind whatever else the process is doing, and a store commit takes and releases the
 * lock every time. One object for the process: proper-lockfile caches the mtime precision on it.
 */
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

export async function withFileLock<T>(
  file: string,
  fn: (lock: HeldLock) => Promise<T>,
  options: FileLockOptions = {},
): Promise<T> {
  const key = path.resolve(file);
  const previous = queues.get(key) ?? Promise.resolve();
  const run = previous.then(
    () => lockAndRun(key, fn, options),
    () => lockAndRun(key, fn, options),
  );
  // Keep the queue going whatever happens to this caller; drop the entry when we are the tail.
  const tail = run.catch(() => undefined);
  queues.set(key, tail);
  try {
    return await run;
  } finally {
    if (queues.get(key) === tail) queues.delete(key);
  }
}

async function lockAndRun<T>(file: string, fn: (lock: HeldLock) => Promise<T>, options: FileLockOptions): Promise<T> {
  const staleMs = options.staleMs ?? DEFAULT_STALE_MS;
  // realpath:false because the store file may not exist yet; the directory must, for mkdir of the
  // lock. (Synchronous: microseconds, where an await would wait behind the rest of the process.)
  mkdirSync(path.dirname(file), { recursive: true, mode: DIR_MODE });
  let compromised: Error | null = null;
  const release = await lockfile.lock(file, {
    realpath: false,
    fs: quickFs,
    stale: staleMs,
    // Short waits: an RMW holds the lock for milliseconds. Enough retries (~2.5 × stale at 50 ms
    // each) that a waiter outlives a dead holder's stale window instead of giving up first.
    retries: { retries: Math.ceil((staleMs * 2.5) / 50), minTimeout: 5, maxTimeout: 50, factor: 2 },
    // The default handler throws from a timer and kills the process. Losing the lock mid-RMW is
    // reported to the caller instead (assertHeld before writing, and an error after).
    onCompromised: (error) => {
      compromised = error;
      options.onCompromised?.(error);
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
