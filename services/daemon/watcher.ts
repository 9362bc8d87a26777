// Reports each $CODEX_HOME/sessions/YYYY/MM/DD/rollout-*.jsonl once idle. Chokidar 5 has no globs: `ignored` drops
// other files, depth 3 reaches the day folders; awaitWriteFinish turns an appending session into a few events.
import { mkdir } from 'node:fs/promises';
import { basename } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { Stats } from 'node:fs';
import { IdleScheduler, idleDueAt } from './idle-scheduler.ts';

export interface RolloutWatcherOptions {
  sessionsDir: string;
  idleMs: number;
  onIdle: (path: string, mtimeMs: number) => void;
  /** The initial scan is done. */
  onReady?: () => void;
  onError?: (error: unknown) => void;
  /** awaitWriteFinish's stability threshold; default min(2 s, idle window / 2). */
  stabilityMs?: number;
  now?: () => number;
}

export interface RolloutWatcher {
  /** Stops the idle timers and the file watcher; resolves when chokidar has let go. */
  close(): Promise<void>;
}

const isRolloutPath = (path: string) => /^rollout-.*\.jsonl$/.test(basename(path));

export function watchRollouts(options: RolloutWatcherOptions): RolloutWatcher {
  const now = options.now ?? Date.now;
  // Files already idle when watching starts are left to the daemon's catch-up run.
  const coveredUntil = now();
  const scheduler = new IdleScheduler({
    idleMs: options.idleMs,
    now,
    onIdle: options.onIdle,
    onError: (_path, error) => options.onError?.(error),
  });
  const stabilityMs = options.stabilityMs ?? Math.max(50, Math.min(2_000, Math.floor(options.idleMs / 2)));
  let ready = false;
  let closed = false;
  let watcher: FSWatcher | null = null;

  const touched = (path: string, stats?: Stats) => {
    if (!isRolloutPath(path) || !stats?.isFile()) return;
    // Before 'ready' these are the files already there (awaitWriteFinish does not apply to them).
    if (!ready && idleDueAt(stats.mtimeMs, options.idleMs) <= coveredUntil) return;
    scheduler.touch(path, stats.mtimeMs);
  };

  const started = (async () => {
    // Nothing to watch in a fresh Codex home yet; Codex creates this folder itself anyway.
    await mkdir(options.sessionsDir, { recursive: true });
    if (closed) return;
    watcher = watch(options.sessionsDir, {
      ignored: (path: string, stats?: Stats) => stats?.isFile() === true && !isRolloutPath(path),
      depth: 3,
      alwaysStat: true,
      ignoreInitial: false,
      awaitWriteFinish: { stabilityThreshold: stabilityMs, pollInterval: Math.min(100, stabilityMs) },
    });
    watcher
      .on('add', touched)
      .on('change', touched)
      .on('unlink', (path: string) => scheduler.forget(path))
      .on('error', (error: unknown) => options.onError?.(error))
      .on('ready', () => {
        ready = true;
        options.onReady?.();
      });
  })().catch((error: unknown) => options.onError?.(error));

  return {
    async close() {
      closed = true;
      scheduler.close();
      await started;
      await watcher?.close();
    },
  };
}
