// Crash-safe file writes for the memory folder. The consolidation agent and the read path read these
// files at any moment, so a reader must see either the previous content or the new content, never a
// prefix of it. Files hold private conversation-derived text, hence owner-only modes.
import { randomUUID } from 'node:crypto';
import { lstat, mkdir, open, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

/**
 * Replace `path` with `data` atomically: write a uniquely named temp file in the same directory
 * (rename is only atomic within one file system), fsync it, then rename it over the target.
 * A symlink at `path` is replaced by a regular file, never written through.
 * The parent directory must exist.
 */
export async function writeFileAtomic(path: string, data: string): Promise<void> {
  const dir = dirname(path);
  // Dot-prefixed and not ending in ".md", so the summary pruner and the agent's globs ignore it.
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomUUID()}.tmp`);
  // 'wx' = O_CREAT|O_EXCL: never reuse or follow something already sitting at the temp name.
  const handle = await open(tmp, 'wx', FILE_MODE);
  try {
    try {
      // The umask may only remove bits; chmod makes the mode exact regardless.
      await handle.chmod(FILE_MODE);
      await handle.writeFile(data, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    throw error;
  }
  await syncDirectory(dir);
}

/** Create `path` and missing parents with mode 0700. Fails if `path` exists and is not a directory. */
export async function ensureDir(path: string): Promise<void> {
  await mkdir(path, { recursive: true, mode: DIR_MODE });
}

// Persist the rename itself; without it a power loss can bring back the old directory entry.
// Best effort: some file systems and platforms refuse fsync on a directory handle.
async function syncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // ignored on purpose, see above
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

// A process killed between creating its temp file and renaming it (kill -9, OOM, power cut) leaves
// `.<name>.<pid>.<id>.tmp` behind: a full private copy of a store document or memory file that
// nothing would ever remove, so a year of crashes would pile them up. They are swept once per
// directory and process, but only when their writer is certainly gone: the pid is not a live
// process here AND the file is older than ORPHAN_AGE_MS (a write holds its temp for milliseconds;
// the age check keeps a writer on another host sharing the folder safe from a pid mismatch).
const TEMP_NAME = /^\..+\.(\d+)\.[0-9a-f-]+\.tmp$/;
const ORPHAN_AGE_MS = 60_000;
const swept = new Set<string>();

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // alive, owned by someone else
  }
}

/** Removes temp files left by dead writers in `dir` (and below, with `recursive`). Best effort. */
export async function sweepOrphanedTemps(dir: string, options: { recursive?: boolean; force?: boolean } = {}): Promise<number> {
  const key = `${dir}\0${options.recursive ? 'r' : ''}`;
  if (swept.has(key) && !options.force) return 0;
  swept.add(key);
  let removed = 0;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true, recursive: options.recursive ?? false });
  } catch {
    return 0;
  }
  const cutoff = Date.now() - ORPHAN_AGE_MS;
  for (const entry of entries) {
    const match = TEMP_NAME.exec(entry.name);
    if (!match || !entry.isFile() || processAlive(Number(match[1]))) continue;
    const path = join(entry.parentPath, entry.name);
    try {
      if ((await lstat(path)).mtimeMs > cutoff) continue;
      await unlink(path);
      removed += 1;
    } catch {
      // gone already, or not ours to remove: leave it
    }
  }
  return removed;
}
