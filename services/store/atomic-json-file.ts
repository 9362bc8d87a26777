// A lowdb Adapter that survives crashes and concurrent writers, and does not re-read what it wrote.
//
// lowdb's JSONFile writes a fixed temp name and never fsyncs: two processes tear each other's temp
// file, and a power cut can leave an empty target. Here each write goes to a temp file unique to
// the process and write, is fsynced, renamed over the target and the directory fsynced: a reader
// sees the old or the new document, never a mix.
//
// Every transaction reads fresh (another process may have written), but re-parsing what this
// process last read or wrote costs megabytes of garbage per commit. So that document is kept,
// decoded, with its file's identity (inode, size, mtime), and one stat tells whether the file is
// still that one. Its descriptor stays open so the inode cannot be reused by another file (every
// writer replaces by rename). With MEMORIES_STORE_AUDIT=1 (the test suites) auditKept checks that
// nothing changed the kept document unwritten. Quick system calls are synchronous; only fsyncs and
// the temp file's creation, which can wait on the device, go to the thread pool.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Adapter } from 'lowdb';
import { sweepOrphanedTemps } from '../files/atomic-write.ts';
import { StoreCorruptError } from '../errors.ts';

/** Store files hold leases and memories of the user's sessions: owner-only. */
export const FILE_MODE = 0o600;
export const DIR_MODE = 0o700;

// Plain descriptors rather than FileHandles: a kept FileHandle warns when garbage-collected.
const fsyncFd = promisify(fs.fsync);
const openFd = promisify(fs.open);

function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // already closed, or nothing more to lose
  }
}

interface Kept {
  fd: number;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  doc: unknown;
  /** The file's text, kept only to audit the document against. */
  text: string | null;
}

const AUDIT = process.env.MEMORIES_STORE_AUDIT === '1';

/** One kept document per store file path in this process (store instances on one dir share it). */
const kept = new Map<string, Kept>();

function keep(file: string, next: Kept): void {
  const previous = kept.get(file);
  kept.set(file, next);
  if (previous) closeQuietly(previous.fd);
}

/** Drops the kept document of `file`: the next read goes to the disk. */
export function forgetKept(file: string): void {
  const previous = kept.get(file);
  if (!previous) return;
  kept.delete(file);
  closeQuietly(previous.fd);
}

/** With MEMORIES_STORE_AUDIT=1: throws if the kept document of `file` differs from the file. */
export function auditKept(file: string): void {
  const known = kept.get(path.resolve(file));
  if (!AUDIT || !known || known.text === null) return;
  if (JSON.stringify(known.doc) !== known.text)
    throw new Error(`store document ${file} was changed in memory without being written`);
}

function sameFile(a: { ino: bigint; size: bigint; mtimeNs: bigint }, b: Kept): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs;
}

export class AtomicJsonFile<T> implements Adapter<T> {
  readonly file: string;
  /** Checks a parsed document; throws StoreCorruptError when it is not one we wrote. */
  private readonly decode: (raw: unknown) => T;
  constructor(file: string, decode: (raw: unknown) => T) {
    this.file = path.resolve(file);
    this.decode = decode;
  }

  /**
   * null only when the file does not exist; StoreCorruptError when it is not a store document. The
   * document may be the one kept from the last read or write: change it only to write it.
   */
  async read(): Promise<T | null> {
    const known = kept.get(this.file);
    if (known) {
      const now = fs.statSync(this.file, { bigint: true, throwIfNoEntry: false });
      if (now !== undefined && sameFile(now, known)) return known.doc as T;
      forgetKept(this.file);
      if (now === undefined) return null;
    }
    let fd: number;
    try {
      fd = fs.openSync(this.file, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    try {
      const st = fs.fstatSync(fd, { bigint: true });
      const text = fs.readFileSync(fd, 'utf8');
      let raw: unknown;
      try {
        raw = JSON.parse(text);
      } catch (error) {
        // Never fall back to defaults: that would silently wipe every job and memory on next write.
        throw new StoreCorruptError(this.file, error);
      }
      const doc = this.decode(raw);
      keep(this.file, { fd, ino: st.ino, size: st.size, mtimeNs: st.mtimeNs, doc, text: AUDIT ? JSON.stringify(doc) : null });
      return doc;
    } catch (error) {
      closeQuietly(fd);
      throw error;
    }
  }

  async write(data: T): Promise<void> {
    const dir = path.dirname(this.file);
    fs.mkdirSync(dir, { recursive: true, mode: DIR_MODE });
    // Temp files of writers killed mid-write would otherwise stay forever (full copies of the store).
    await sweepOrphanedTemps(dir);
    // Compact JSON: every RMW re-serialises the whole document, and cost is linear in bytes.
    const text = JSON.stringify(data);
    const temp = path.join(dir, `.${path.basename(this.file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    // Whatever happens next, the kept document may no longer be the file's.
    forgetKept(this.file);
    // Creating a file can wait for the journal while another fsync runs: off the main thread.
    const fd = await openFd(temp, 'wx', FILE_MODE);
    try {
      fs.writeFileSync(fd, text, 'utf8');
      await fsyncFd(fd);
      const st = fs.fstatSync(fd, { bigint: true });
      fs.renameSync(temp, this.file);
      keep(this.file, { fd, ino: st.ino, size: st.size, mtimeNs: st.mtimeNs, doc: data, text: AUDIT ? text : null });
    } catch (error) {
      closeQuietly(fd);
      try {
        fs.unlinkSync(temp);
      } catch {
        // never created, or already renamed
      }
      throw error;
    }
    await syncDir(dir);
  }
}

/** Makes a rename durable. Some filesystems refuse fsync on a directory; that only costs durability. */
async function syncDir(dir: string): Promise<void> {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    await fsyncFd(fd);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM' && code !== 'ENOTSUP') throw error;
  } finally {
    if (fd !== undefined) closeQuietly(fd);
  }
}
