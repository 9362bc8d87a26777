// A cache of rollout metadata keyed by path, so that a rerun over thousands of unchanged
// rollouts stats them but opens none. It is only a cache: every entry can be rebuilt from the
// rollout itself, so an unreadable or corrupt index file is ignored and replaced, never an error.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { RolloutMeta } from './rollout-reader.ts';

export const ROLLOUT_INDEX_FILE = 'rollout_index.json';

export interface RolloutIndexEntry {
  mtimeMs: number;
  size: number;
  meta: RolloutMeta;
}

export interface RolloutIndex {
  get(path: string): RolloutIndexEntry | undefined;
  set(path: string, entry: RolloutIndexEntry): void;
  /** Drops entries whose path fails `keep` (files that no longer exist). */
  prune(keep: (path: string) => boolean): void;
  save(): Promise<void>;
}

function validEntry(value: unknown): value is RolloutIndexEntry {
  if (value === null || typeof value !== 'object') return false;
  const e = value as Record<string, unknown>;
  const m = e.meta as Record<string, unknown> | null;
  return (
    typeof e.mtimeMs === 'number' &&
    typeof e.size === 'number' &&
    m !== null &&
    typeof m === 'object' &&
    typeof m.threadId === 'string' &&
    typeof m.cwd === 'string' &&
    typeof m.source === 'string' &&
    (m.createdAt === null || typeof m.createdAt === 'number') &&
    typeof m.hasUserMessage === 'boolean'
  );
}

async function load(file: string): Promise<Map<string, RolloutIndexEntry>> {
  const entries = new Map<string, RolloutIndexEntry>();
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    return entries; // missing or corrupt: start empty, the next save rewrites it
  }
  const raw = (parsed as { entries?: unknown } | null)?.entries;
  if (raw === null || typeof raw !== 'object') return entries;
  for (const [path, entry] of Object.entries(raw as Record<string, unknown>)) {
    if (validEntry(entry)) entries.set(path, entry);
  }
  return entries;
}

export async function openRolloutIndex(stateDir: string): Promise<RolloutIndex> {
  const file = join(stateDir, ROLLOUT_INDEX_FILE);
  const entries = await load(file);
  let dirty = false;
  return {
    get: (path) => entries.get(path),
    set(path, entry) {
      entries.set(path, entry);
      dirty = true;
    },
    prune(keep) {
      for (const path of [...entries.keys()]) {
        if (!keep(path)) {
          entries.delete(path);
          dirty = true;
        }
      }
    },
    async save() {
      if (!dirty) return;
      await mkdir(stateDir, { recursive: true, mode: 0o700 });
      // A unique temp file in the same directory, then rename: readers and concurrent savers
      // (another process) only ever see a complete old or complete new file, never a torn one.
      const tmp = join(stateDir, `.${ROLLOUT_INDEX_FILE}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
      const body = JSON.stringify({ version: 1, entries: Object.fromEntries(entries) });
      try {
        const handle = await open(tmp, 'wx', 0o600);
        try {
          await handle.writeFile(body, 'utf8');
          await handle.sync();
        } finally {
          await handle.close();
        }
        await rename(tmp, file);
      } catch (error) {
        await unlink(tmp).catch(() => undefined);
        throw error;
      }
      dirty = false;
    },
  };
}
