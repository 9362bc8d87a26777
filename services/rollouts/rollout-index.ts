// A cache of rollout metadata keyed by path, so that a rerun over thousands of unchanged rollouts stats
// them but opens none. Every entry can be rebuilt, so a corrupt index file is ignored, never an error.
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../files/atomic-write.ts';
import type { SessionMetaModes } from '../codex-state/session-meta-modes.ts';
import type { RolloutMeta } from './rollout-reader.ts';

export const ROLLOUT_INDEX_FILE = 'rollout_index.json';

export interface RolloutIndexEntry {
  mtimeMs: number;
  size: number;
  meta: RolloutMeta;
  /** Read only for threads whose opt-out depends on them; valid for the same mtime and size as meta. */
  sessionMetaModes?: SessionMetaModes;
}

export interface RolloutIndex {
  get(path: string): RolloutIndexEntry | undefined;
  set(path: string, entry: RolloutIndexEntry): void;
  /** Drops entries whose path fails `keep` (files that no longer exist). */
  prune(keep: (path: string) => boolean): void;
  save(): Promise<void>;
}

function validEntry(value: unknown): value is RolloutIndexEntry {
  const e = value as Partial<RolloutIndexEntry> | null;
  const m: Partial<RolloutMeta> | null | undefined = e?.meta;
  return (
    typeof e?.mtimeMs === 'number' &&
    typeof e.size === 'number' &&
    typeof m?.threadId === 'string' &&
    typeof m.cwd === 'string' &&
    typeof m.source === 'string' &&
    (m.createdAt === null || typeof m.createdAt === 'number') &&
    typeof m.hasUserMessage === 'boolean' &&
    (e.sessionMetaModes === undefined || validModes(e.sessionMetaModes))
  );
}

function validModes(value: unknown): value is SessionMetaModes {
  const m = value as Partial<SessionMetaModes> | null;
  const modeOrNull = (v: unknown) => v === null || typeof v === 'string';
  return typeof m === 'object' && m !== null && modeOrNull(m.atCreation) && modeOrNull(m.lastSet);
}

async function load(file: string): Promise<Map<string, RolloutIndexEntry>> {
  // Missing or corrupt: start empty, the next save rewrites it.
  const raw = await readFile(file, 'utf8')
    .then((text) => JSON.parse(text)?.entries)
    .catch(() => undefined);
  const entries = new Map<string, RolloutIndexEntry>();
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
        if (!keep(path)) dirty = entries.delete(path) || dirty;
      }
    },
    async save() {
      if (!dirty) return;
      await mkdir(stateDir, { recursive: true, mode: 0o700 });
      await writeFileAtomic(file, JSON.stringify({ version: 1, entries: Object.fromEntries(entries) }));
      dirty = false;
    },
  };
}
