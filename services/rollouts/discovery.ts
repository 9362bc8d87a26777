// Finds rollouts under $CODEX_HOME/sessions and picks those eligible for phase 1. We walk the day folders and read
// first lines, with a (path, mtime, size) cache so unchanged rollouts are never reopened; where Codex's threads table
// (state_5.sqlite) exists, its rows then withhold archived and opted-out threads and supply Codex's own values.
import type { Dirent } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { applyThreadState, type Withheld } from '../codex-state/thread-state.ts';
import { readSessionMetaModes, type SessionMetaModes } from '../codex-state/session-meta-modes.ts';
import { readThreadDb, type ThreadDb } from '../codex-state/thread-db.ts';
import { errorMessage } from '../errors.ts';
import type { RolloutIndex } from './rollout-index.ts';
import { type RolloutMeta, readRolloutMeta } from './rollout-reader.ts';
import type { ThreadInfo } from '../types.ts';
import { pool } from '../pool.ts';

export interface Discovery {
  threads: ThreadInfo[];
  /** Rollout files found. */
  filesSeen: number;
  /** Files that had to be opened because the cache had nothing current for them. */
  metaReads: number;
  unreadable: Array<{ path: string; reason: string }>;
  /** Only when $CODEX_HOME/state_5.sqlite exists (without it the answer is what it always was): read, or unreadable. */
  threadDb?: Exclude<ThreadDb['kind'], 'absent'>;
  /** Threads Codex's thread state keeps out of phase 1 (archived, opted out of memories), with why. */
  withheld?: Withheld[];
}

export interface DiscoveryOptions {
  cache?: RolloutIndex;
}

/** Enough parallel stats to hide latency, few enough to stay far from the fd limit. */
const POOL_SIZE = 32;
const ROLLOUT_NAME = /^rollout-.*\.jsonl$/;

async function entries(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch {
    return []; // a missing sessions folder simply means no rollouts yet
  }
}

async function rolloutFiles(sessionsDir: string): Promise<string[]> {
  const files: string[] = [];
  const top = await entries(sessionsDir);
  const rollouts = (list: Dirent[], dir: string) => {
    for (const e of list) if (e.isFile() && ROLLOUT_NAME.test(e.name)) files.push(join(dir, e.name));
  };
  rollouts(top, sessionsDir);
  const subdirs = (list: Dirent[], dir: string, shape: RegExp) =>
    list.filter((e) => e.isDirectory() && shape.test(e.name)).map((e) => join(dir, e.name));
  const years = subdirs(top, sessionsDir, /^\d{4}$/);
  const months = (await Promise.all(years.map(async (y) => subdirs(await entries(y), y, /^\d{2}$/)))).flat();
  const days = (await Promise.all(months.map(async (m) => subdirs(await entries(m), m, /^\d{2}$/)))).flat();
  await Promise.all(days.map(async (d) => rollouts(await entries(d), d)));
  return files;
}

export async function discoverRollouts(codexHome: string, opts: DiscoveryOptions = {}): Promise<Discovery> {
  const sessionsDir = join(codexHome, 'sessions');
  const files = await rolloutFiles(sessionsDir);
  const found: ThreadInfo[] = [];
  const unreadable: Discovery['unreadable'] = [];
  let metaReads = 0;
  const { cache } = opts;
  const stats = new Map<string, { mtimeMs: number; size: number }>();

  await pool(files, POOL_SIZE, async (path) => {
    try {
      const st = await lstat(path);
      // Swapped since readdir (a FIFO would block the read, a link leads elsewhere): not a rollout.
      if (!st.isFile()) return void unreadable.push({ path, reason: 'not a regular file' });
      const cached = cache?.get(path);
      let meta = cached && cached.mtimeMs === st.mtimeMs && cached.size === st.size ? cached.meta : null;
      if (meta === null) {
        metaReads++;
        meta = await readRolloutMeta(path);
        if (meta === null) return void unreadable.push({ path, reason: 'no parsable line' });
        cache?.set(path, { mtimeMs: st.mtimeMs, size: st.size, meta });
      }
      stats.set(path, { mtimeMs: st.mtimeMs, size: st.size });
      found.push(threadInfoOf(path, meta, st));
    } catch (error) {
      unreadable.push({ path, reason: errorMessage(error) });
    }
  });

  // Forget cached rollouts of this sessions folder that are gone, so the index does not grow forever.
  const seen = new Set(files);
  cache?.prune((path) => !path.startsWith(sessionsDir + sep) || seen.has(path));

  // One thread per id (a copied rollout must not be processed twice): keep the newest file.
  const byId = new Map<string, ThreadInfo>();
  for (const t of found) {
    const prev = byId.get(t.threadId);
    if (!prev || t.updatedAt > prev.updatedAt || (t.updatedAt === prev.updatedAt && t.rolloutPath > prev.rolloutPath)) {
      byId.set(t.threadId, t);
    }
  }
  const result: Discovery = { threads: [...byId.values()], filesSeen: files.length, metaReads, unreadable };
  const db = await readThreadDb(codexHome);
  if (db.kind === 'unreadable') {
    // Opt-outs live in that file, so extracting without it could send a thread its user kept out.
    unreadable.push({
      path: db.path,
      reason: `Codex's thread database could not be read (${db.reason}); no thread is extracted until it can be`,
    });
    Object.assign(result, { threads: [], threadDb: db.kind, withheld: [] });
  } else if (db.kind === 'read') {
    const modesOf = (t: ThreadInfo) => cachedSessionMetaModes(t.rolloutPath, stats.get(t.rolloutPath), cache);
    const state = await applyThreadState(result.threads, db.threads, modesOf);
    Object.assign(result, { threads: state.threads, threadDb: db.kind, withheld: state.withheld });
  }
  result.threads.sort(byRecency);
  unreadable.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return result;
}

/** A rollout's session_meta modes, cached in the index under the same (mtime, size) as its meta. */
async function cachedSessionMetaModes(
  path: string,
  st: { mtimeMs: number; size: number } | undefined,
  cache: RolloutIndex | undefined,
): Promise<SessionMetaModes | null> {
  if (st === undefined) return null;
  const entry = cache?.get(path);
  const current = entry && entry.mtimeMs === st.mtimeMs && entry.size === st.size ? entry : undefined;
  if (current?.sessionMetaModes) return current.sessionMetaModes;
  try {
    const modes = await readSessionMetaModes(path, st.size);
    if (current) cache?.set(path, { ...current, sessionMetaModes: modes });
    return modes;
  } catch {
    return null; // withheld as unknown: an unreadable rollout could not be extracted anyway
  }
}

function byRecency(a: ThreadInfo, b: ThreadInfo): number {
  if (a.updatedAt !== b.updatedAt) return b.updatedAt - a.updatedAt;
  return a.threadId < b.threadId ? 1 : a.threadId > b.threadId ? -1 : 0;
}

export interface EligibilityOptions {
  nowSeconds: number;
  maxAgeDays: number;
  minIdleHours: number;
  /** Overrides minIdleHours when given (a daemon option works in minutes). */
  minIdleMinutes?: number;
  /** Default: the interactive sources Codex uses, 'cli' and 'vscode'. */
  allowedSources?: readonly string[];
  /** Default 5,000, Codex's THREAD_SCAN_LIMIT. */
  scanLimit?: number;
  /** The current session's thread, which must not summarise itself. */
  excludeThreadId?: string;
}

/** Threads phase 1 may claim, newest first: user-spoken, interactive, written between maxAgeDays and the idle window ago. */
export function selectEligible(threads: readonly ThreadInfo[], opts: EligibilityOptions): ThreadInfo[] {
  const { passesAllButIdle, idle } = eligibilityRules(opts);
  const scanLimit = opts.scanLimit ?? 5_000;
  return threads
    .filter((t) => passesAllButIdle(t) && idle(t))
    .sort(byRecency)
    .slice(0, Math.max(0, scanLimit));
}

/** Threads that miss only the idle window: eligible once idle long enough, so a run can say why it took none. */
export function countNotIdleYet(threads: readonly ThreadInfo[], opts: EligibilityOptions): number {
  const { passesAllButIdle, idle } = eligibilityRules(opts);
  return threads.filter((t) => passesAllButIdle(t) && !idle(t)).length;
}

function eligibilityRules(opts: EligibilityOptions) {
  const allowed = new Set(opts.allowedSources ?? ['cli', 'vscode']);
  const idleSeconds = opts.minIdleMinutes !== undefined ? opts.minIdleMinutes * 60 : opts.minIdleHours * 3600;
  const newest = opts.nowSeconds - idleSeconds;
  const oldest = opts.nowSeconds - opts.maxAgeDays * 86_400;
  return {
    passesAllButIdle: (t: ThreadInfo) =>
      t.hasUserMessage && allowed.has(t.source) && t.updatedAt >= oldest && t.threadId !== opts.excludeThreadId,
    idle: (t: ThreadInfo) => t.updatedAt <= newest,
  };
}

/** A rollout's ThreadInfo from its meta and stat: updatedAt is the mtime in whole seconds, as Codex. */
export function threadInfoOf(path: string, meta: RolloutMeta, st: { mtimeMs: number; size: number }): ThreadInfo {
  return {
    threadId: meta.threadId,
    rolloutPath: path,
    cwd: meta.cwd,
    source: meta.source,
    updatedAt: Math.floor(st.mtimeMs / 1000),
    createdAt: meta.createdAt,
    hasUserMessage: meta.hasUserMessage,
    sizeBytes: st.size,
    // Known from the header read here, so the request builder need not open the rollout again for it.
    ...(meta.gitBranch !== undefined ? { gitBranch: meta.gitBranch } : {}),
  };
}
