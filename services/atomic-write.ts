// Crash-safe file writes for the memory folder. The consolidation agent and the read path read these
// files at any moment, so a reader must see either the previous content or the new content, never a
// prefix of it. Files hold private conversation-derived text, hence owner-only modes.
import { randomUUID } from 'node:crypto';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
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
