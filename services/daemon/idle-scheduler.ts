// One timer per rollout, due at mtime + idle window (so a restarted daemon agrees with a running one). When it
// fires the file is stat'ed again: an append not reported yet (awaitWriteFinish holds events) reschedules it.
import { stat } from 'node:fs/promises';

export interface IdleSchedulerOptions {
  /** The idle window in ms (min_rollout_idle_hours, or the daemon's override). */
  idleMs: number;
  onIdle: (path: string, mtimeMs: number) => void;
  /** The file's current mtime, or null when it is gone. Default: fs.stat. */
  statMtime?: (path: string) => Promise<number | null>;
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (timer: unknown) => void;
  /** A stat that failed for another reason than "gone"; the file is dropped. */
  onError?: (path: string, error: unknown) => void;
}

interface Entry {
  mtimeMs: number;
  dueAt: number;
  timer: unknown;
  /** Bumped on every (re)schedule, so a stat that was in flight meanwhile is ignored. */
  generation: number;
}

/**
 * The first instant at which a run would claim the file: the pipeline's rule (selectEligible) in whole seconds,
 * mtime rounded down, with the window in seconds computed as the daemon hands it over (minutes × 60). Any later,
 * and a run started for another rollout meanwhile takes this one first, so its own event starts a run with
 * nothing left to do; any earlier, and its run would pass it over.
 */
export function idleDueAt(mtimeMs: number, idleMs: number): number {
  const idleSeconds = (idleMs / 60_000) * 60;
  return (Math.floor(mtimeMs / 1000) + Math.ceil(idleSeconds)) * 1000;
}

async function fsMtime(path: string): Promise<number | null> {
  try {
    return (await stat(path)).mtimeMs;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

export class IdleScheduler {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;
  private readonly statMtime: (path: string) => Promise<number | null>;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (timer: unknown) => void;
  private closed = false;

  constructor(private readonly options: IdleSchedulerOptions) {
    this.now = options.now ?? Date.now;
    this.statMtime = options.statMtime ?? fsMtime;
    this.setTimer = options.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = options.clearTimer ?? ((timer) => clearTimeout(timer as NodeJS.Timeout));
  }

  /** A file was added or changed: (re)start its timer from this mtime. */
  touch(path: string, mtimeMs: number): void {
    if (this.closed) return;
    const previous = this.entries.get(path);
    if (previous) this.clearTimer(previous.timer);
    const dueAt = idleDueAt(mtimeMs, this.options.idleMs);
    const generation = (previous?.generation ?? 0) + 1;
    const timer = this.setTimer(() => void this.fire(path, generation), Math.max(0, dueAt - this.now()));
    this.entries.set(path, { mtimeMs, dueAt, timer, generation });
  }

  /** The file is gone (or no longer ours): drop its timer. */
  forget(path: string): void {
    const entry = this.entries.get(path);
    if (entry) this.clearTimer(entry.timer);
    this.entries.delete(path);
  }

  /** When the file's timer is due, or undefined when none is pending. */
  dueAt(path: string): number | undefined {
    return this.entries.get(path)?.dueAt;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Cancels every timer; later touches are ignored. */
  close(): void {
    this.closed = true;
    for (const entry of this.entries.values()) this.clearTimer(entry.timer);
    this.entries.clear();
  }

  private async fire(path: string, generation: number): Promise<void> {
    const entry = this.entries.get(path);
    if (!entry || entry.generation !== generation || this.closed) return;
    let mtimeMs: number | null;
    try {
      mtimeMs = await this.statMtime(path);
    } catch (error) {
      if (this.entries.get(path)?.generation === generation) this.entries.delete(path);
      this.options.onError?.(path, error);
      return;
    }
    // Touched, forgotten or closed while the stat ran: that newer decision stands.
    if (this.closed || this.entries.get(path)?.generation !== generation) return;
    if (mtimeMs !== null && (mtimeMs !== entry.mtimeMs || this.now() < entry.dueAt)) {
      // Written again since it was scheduled (or the timer ran early): wait for the new deadline.
      this.touch(path, mtimeMs);
      return;
    }
    this.entries.delete(path); // gone, or idle
    if (mtimeMs !== null) this.options.onIdle(path, mtimeMs);
  }
}
