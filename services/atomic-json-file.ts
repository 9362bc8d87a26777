// A lowdb Adapter that survives crashes and concurrent writers.
//
// lowdb's own JSONFile (through steno) writes a *fixed* temp name (`.<name>.tmp`) and never
// fsyncs, so two processes writing the same store tear each other's temp file, and a power cut can
// leave an empty target. Here every write goes to a temp file unique to this process and write,
// is fsynced, renamed over the target (atomic on POSIX) and the directory is fsynced so the rename
// itself is durable. A reader therefore sees either the old or the new document, never a mix.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Adapter } from 'lowdb';
import { sweepOrphanedTemps } from './atomic-write.ts';
import { StoreCorruptError } from './errors.ts';

/** Store files hold leases and memories of the user's sessions: owner-only. */
export const FILE_MODE = 0o600;
export const DIR_MODE = 0o700;

export class AtomicJsonFile<T> implements Adapter<T> {
  constructor(readonly file: string) {}

  /** null when the file does not exist yet; StoreCorruptError when it exists but is not JSON. */
  async read(): Promise<T | null> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      // Never fall back to defaults: that would silently wipe every job and memory on next write.
      throw new StoreCorruptError(this.file, error);
    }
  }

  async write(data: T): Promise<void> {
    const dir = path.dirname(this.file);
    await mkdir(dir, { recursive: true, mode: DIR_MODE });
    // Temp files of writers killed mid-write would otherwise stay forever (full copies of the store).
    await sweepOrphanedTemps(dir);
    // Compact JSON: every RMW re-serialises the whole document, and cost is linear in bytes.
    const text = JSON.stringify(data);
    const temp = path.join(
      dir,
      `.${path.basename(this.file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`,
    );
    try {
      const handle = await open(temp, 'wx', FILE_MODE);
      try {
        await handle.writeFile(text, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, this.file);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
    await syncDir(dir);
  }
}

/** Makes a rename durable. Some filesystems refuse fsync on a directory; that only costs durability. */
async function syncDir(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM' && code !== 'ENOTSUP') throw error;
  } finally {
    await handle?.close();
  }
}
