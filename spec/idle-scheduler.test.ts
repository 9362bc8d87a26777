// The per-rollout idle timer: due from the file's mtime, reset by every touch, re-checked with stat.
import { appendFile, mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { IdleScheduler, idleDueAt } from '../services/daemon/idle-scheduler.ts';
import { selectEligible } from '../services/rollouts/discovery.ts';
import type { ThreadInfo } from '../services/types.ts';
import { arrivals } from './support/arrivals.ts';

const IDLE = 60_000;
const T0 = 1_800_000_000_000; // a whole second
const PAST = 1_600_000_000_000; // before any real file's mtime

describe('IdleScheduler (fake clock, scripted stat)', () => {
  let mtimes: Map<string, number | null>;
  let idle: Array<{ path: string; mtimeMs: number; at: number }>;
  let scheduler: IdleScheduler;

  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
    mtimes = new Map();
    idle = [];
    scheduler = new IdleScheduler({
      idleMs: IDLE,
      onIdle: (path, mtimeMs) => idle.push({ path, mtimeMs, at: Date.now() }),
      statMtime: async (path) => mtimes.get(path) ?? null,
    });
  });
  afterEach(() => {
    scheduler.close();
    vi.useRealTimers();
  });

  it('is due exactly when a run would first claim the file: not earlier, and not after', () => {
    expect(idleDueAt(T0, IDLE)).toBe(T0 + IDLE);
    expect(idleDueAt(T0 + 999, IDLE)).toBe(T0 + IDLE); // updated_at is the mtime in whole seconds
    const thread = (mtimeMs: number): ThreadInfo => ({
      threadId: 't',
      rolloutPath: '/s/rollout-t.jsonl',
      cwd: '/w',
      source: 'cli',
      updatedAt: Math.floor(mtimeMs / 1000),
      createdAt: null,
      hasUserMessage: true,
      sizeBytes: 1,
    });
    // As the daemon's runs decide (services/daemon/actors.ts: minIdleMinutes = idleMs / 60,000).
    const claimable = (mtimeMs: number, idleMs: number, nowMs: number) =>
      selectEligible([thread(mtimeMs)], {
        nowSeconds: Math.floor(nowMs / 1000),
        maxAgeDays: 30,
        minIdleHours: 6,
        minIdleMinutes: idleMs / 60_000,
      }).length === 1;
    for (const idleMs of [1_000, 1_500, 2_000, 2_500, 7_000, IDLE, 6 * 3_600_000]) {
      for (const mtimeMs of [T0, T0 + 1, T0 + 499, T0 + 999]) {
        const due = idleDueAt(mtimeMs, idleMs);
        expect(claimable(mtimeMs, idleMs, due), `${idleMs} ms window, mtime ${mtimeMs}`).toBe(true);
        expect(claimable(mtimeMs, idleMs, due - 1), `${idleMs} ms window, mtime ${mtimeMs}`).toBe(false);
      }
    }
  });

  it('fires once, when the file has been idle for the window counted from its mtime', async () => {
    mtimes.set('a', T0 - 10_000); // written 10 s before we heard of it
    scheduler.touch('a', T0 - 10_000);
    await vi.advanceTimersByTimeAsync(IDLE - 10_000 - 1); // a millisecond before mtime + window: not yet
    expect(idle).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(idle).toEqual([{ path: 'a', mtimeMs: T0 - 10_000, at: T0 + IDLE - 10_000 }]);
    await vi.advanceTimersByTimeAsync(10 * IDLE);
    expect(idle).toHaveLength(1);
    expect(scheduler.size).toBe(0);
  });

  it('re-stats when the timer fires: an append it was not told about postpones it', async () => {
    mtimes.set('a', T0);
    scheduler.touch('a', T0);
    // Appended 30 s later; the watcher's change event is still held back (awaitWriteFinish).
    mtimes.set('a', T0 + 30_000);
    await vi.advanceTimersByTimeAsync(IDLE + 1_000);
    expect(idle).toEqual([]); // the mtime moved, so the timer was rescheduled instead
    expect(scheduler.dueAt('a')).toBe(T0 + 30_000 + IDLE);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(idle).toEqual([{ path: 'a', mtimeMs: T0 + 30_000, at: T0 + 30_000 + IDLE }]);
  });

  it('a touch resets the timer, and the late event for the same mtime does not fire it twice', async () => {
    mtimes.set('a', T0);
    scheduler.touch('a', T0);
    await vi.advanceTimersByTimeAsync(IDLE / 2);
    mtimes.set('a', T0 + IDLE / 2);
    scheduler.touch('a', T0 + IDLE / 2);
    await vi.advanceTimersByTimeAsync(IDLE / 2 + 1_000);
    expect(idle).toEqual([]); // the first deadline passed, but the file was written since
    await vi.advanceTimersByTimeAsync(IDLE / 2);
    expect(idle).toHaveLength(1);
    scheduler.touch('a', T0 + IDLE / 2); // a duplicate event for the write already handled
    await vi.advanceTimersByTimeAsync(0);
    expect(idle).toHaveLength(2); // due in the past: fires again at once — the daemon's run is idempotent
  });

  it('drops a file that is gone when its timer fires, or that was forgotten', async () => {
    scheduler.touch('gone', T0); // stat answers null
    mtimes.set('forgotten', T0);
    scheduler.touch('forgotten', T0);
    scheduler.forget('forgotten');
    await vi.advanceTimersByTimeAsync(2 * IDLE);
    expect(idle).toEqual([]);
    expect(scheduler.size).toBe(0);
  });

  it('ignores a fire whose stat was overtaken by a newer touch', async () => {
    let release!: () => void;
    const slowStat = new Promise<void>((resolve) => (release = resolve));
    const seen: string[] = [];
    const s = new IdleScheduler({
      idleMs: IDLE,
      onIdle: (path) => seen.push(path),
      statMtime: async () => {
        await slowStat;
        return T0;
      },
    });
    s.touch('a', T0);
    await vi.advanceTimersByTimeAsync(IDLE + 1_000); // fired; its stat is pending
    s.touch('a', T0 + IDLE); // written again meanwhile
    release();
    await vi.advanceTimersByTimeAsync(0);
    expect(seen).toEqual([]);
    expect(s.dueAt('a')).toBe(T0 + 2 * IDLE);
    s.close();
  });
});

describe('IdleScheduler on a real file', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'idle-scheduler-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('postpones the idle event when the file is appended to after it was scheduled', async () => {
    const file = join(dir, 'rollout-x.jsonl');
    await writeFile(file, '{"a":1}\n');
    // Backdated, so that the append below surely moves the mtime.
    await utimes(file, new Date(PAST), new Date(PAST));
    const mtime0 = (await stat(file)).mtimeMs;
    // A simulated clock over the real file: the test sets the time and runs the pending timer, and each
    // run ends in an explicit outcome, a new timer or the idle event.
    let now = mtime0;
    let pending: (() => void) | undefined;
    let outcome = arrivals();
    const fired: Array<{ mtimeMs: number; at: number }> = [];
    const scheduler = new IdleScheduler({
      idleMs: 1_000,
      now: () => now,
      setTimer: (fn) => {
        pending = fn;
        outcome.signal();
      },
      clearTimer: () => {
        pending = undefined;
      },
      onIdle: (_p, mtimeMs) => {
        fired.push({ mtimeMs, at: now });
        outcome.signal();
      },
    });
    const runTimerAt = async (at: number) => {
      const run = pending;
      if (!run) throw new Error('no timer pending');
      now = at;
      outcome = arrivals();
      run();
      await outcome.all;
    };
    scheduler.touch(file, mtime0);
    await appendFile(file, '{"b":2}\n'); // nobody tells the scheduler
    const mtime1 = (await stat(file)).mtimeMs;
    expect(mtime1).toBeGreaterThan(mtime0);
    expect(idleDueAt(mtime0, 1_000)).toBeLessThan(idleDueAt(mtime1, 1_000));
    await runTimerAt(idleDueAt(mtime0, 1_000));
    expect(fired).toEqual([]); // the first deadline passed, but the re-stat saw the append
    expect(scheduler.dueAt(file)).toBe(idleDueAt(mtime1, 1_000));
    await runTimerAt(idleDueAt(mtime1, 1_000));
    expect(fired).toEqual([{ mtimeMs: mtime1, at: idleDueAt(mtime1, 1_000) }]);
    scheduler.close();
  });
});
