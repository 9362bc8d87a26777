// Crash-safe file writes for the memory folder. The consolidation agent and the read path read these
// files at any moment, so a reader must see either the previous content or the new content, never a
// prefix of it. Files hold private conversation-derived text, hence owner-only modes.
import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { narrowedMode } from './narrowed-mode.ts';

const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

/**
 * Replace `path` with `data` atomically: fsync a temp file in the same directory (rename is atomic
 * only within one file system), then rename it over `path`, replacing even a symlink there.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await (await stageFileAtomic(path, data)).commit();
}

/** A written, synced temp file waiting to replace its target: `commit` renames it over it, `discard` drops it. */
export interface StagedFile {
  commit(): Promise<void>;
  discard(): Promise<void>;
}

/**
 * The first half of writeFileAtomic, for a change that spans files: stage each, and commit only once all are
 * staged, so that a full disk (the write is where it fails) changes none of them instead of some.
 */
export async function stageFileAtomic(path: string, data: string | Uint8Array): Promise<StagedFile> {
  const dir = dirname(path);
  // Dot-prefixed and not ending in ".md", so the summary pruner and the agent's globs ignore it.
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomUUID()}.tmp`);
  const discard = () => unlink(tmp).catch(() => undefined);
  // 'wx' = O_CREAT|O_EXCL: never reuse or follow something already sitting at the temp name.
  const handle = await open(tmp, 'wx', FILE_MODE);
  try {
    try {
      // The umask may only remove bits; chmod makes the mode exact regardless.
      await handle.chmod(FILE_MODE);
      await handle.writeFile(data, typeof data === 'string' ? 'utf8' : undefined);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    await discard();
    throw error;
  }
  return {
    async commit() {
      try {
        await rename(tmp, path);
      } catch (error) {
        await discard();
        throw error;
      }
      await syncDirectory(dir);
    },
    discard,
  };
}

/**
 * Create `path` and missing parents with mode 0700, and take group and other access from an existing `path`. Its
 * owner's bits stay as they are: a folder the person made read-only stays so, and a write in it fails.
 * Fails if `path` is not a directory; a symlink there is refused unless `followLink`.
 */
export async function ensureDir(path: string, options: { followLink?: boolean } = {}): Promise<void> {
  await mkdir(path, { recursive: true, mode: DIR_MODE });
  const nofollow = options.followLink ? 0 : constants.O_NOFOLLOW;
  const handle = await open(path, constants.O_RDONLY | constants.O_DIRECTORY | nofollow).catch(async (error: unknown) => {
    // Linux reports a symlink opened this way as ENOTDIR, other systems as ELOOP.
    throw (await lstat(path)).isSymbolicLink()
      ? Object.assign(new Error(`${path} is a symlink (refusing to follow it)`), { code: 'ELOOP' })
      : error;
  });
  try {
    const narrowed = narrowedMode((await handle.stat()).mode, DIR_MODE);
    if (narrowed !== null) await handle.chmod(narrowed);
  } finally {
    await handle.close();
  }
}

// Persists the rename against a power loss; best effort, as some file systems refuse it.
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r').catch(() => null);
  await handle?.sync().catch(() => undefined);
  await handle?.close().catch(() => undefined);
}

// A writer killed before its rename leaves `.<name>.<pid>.<id>.tmp`, a private copy nothing else
// removes. Swept when its pid is not alive here AND it is older than ORPHAN_AGE_MS (a writer on
// another host sharing the folder may reuse a pid; its temp lives for ms).
const TEMP_NAME = /^\..+\.(\d+)\.[0-9a-f-]+\.tmp$/;
const ORPHAN_AGE_MS = 60_000;

export function processAlive(pid: number): boolean {
  try {
    return pid === process.pid || process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // alive, owned by someone else
  }
}

/** Removes temp files left by dead writers in `dir` (and below, with `recursive`). Best effort. */
export async function sweepOrphanedTemps(dir: string, options: { recursive?: boolean } = {}): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: options.recursive ?? false }).catch(() => []);
  const cutoff = Date.now() - ORPHAN_AGE_MS;
  for (const entry of entries) {
    const match = TEMP_NAME.exec(entry.name);
    if (!match || !entry.isFile() || processAlive(Number(match[1]))) continue;
    const path = join(entry.parentPath, entry.name);
    // Gone already, or not ours to remove: leave it.
    const orphaned = await lstat(path).then(
      (info) => info.mtimeMs <= cutoff,
      () => false,
    );
    if (orphaned) await unlink(path).catch(() => undefined);
  }
}
