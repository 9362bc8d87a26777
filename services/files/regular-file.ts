// Opens files for reading without blocking and without following a final symlink. open(2) on a
// FIFO waits for a writer forever, so a FIFO planted where a file is expected would hang the
// reader; O_NONBLOCK makes that open return at once and fstat then refuses anything not regular.
import { constants } from 'node:fs';
import { type FileHandle, open, readlink, realpath, stat } from 'node:fs/promises';
import path from 'node:path';

const READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW;

export interface RegularFileOptions {
  /** Refuse a file with more than one hard link: another name of it may lie outside the folder. */
  singleLink?: boolean;
  maxBytes?: number;
  /** Refuse unless the opened file's real path lies inside this directory (give its realpath). */
  within?: string;
}

/** A file refused by openRegularFile. The message names no path, so it is safe to show anyone. */
export class UnsafeFileError extends Error {
  constructor(
    readonly code: 'ELOOP' | 'ENOTREG' | 'EISDIR' | 'EMLINK' | 'EFBIG' | 'EXDEV',
    message: string,
  ) {
    super(message);
    this.name = 'UnsafeFileError';
  }
}

/** Opens `file` read-only once it is proven to be a regular file meeting `options`; caller closes. */
export async function openRegularFile(file: string, options: RegularFileOptions = {}): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await open(file, READ_FLAGS);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') throw new UnsafeFileError('ELOOP', 'is a symlink');
    throw error;
  }
  try {
    const info = await handle.stat();
    if (info.isDirectory()) throw new UnsafeFileError('EISDIR', 'is a directory');
    if (!info.isFile()) throw new UnsafeFileError('ENOTREG', 'is not a regular file');
    if (options.singleLink && info.nlink !== 1) throw new UnsafeFileError('EMLINK', `has ${info.nlink} hard links`);
    if (options.maxBytes !== undefined && info.size > options.maxBytes) {
      throw new UnsafeFileError('EFBIG', `is too large (${info.size} bytes)`);
    }
    if (options.within !== undefined && !isInside(options.within, await openedPath(handle, file, info.ino))) {
      throw new UnsafeFileError('EXDEV', 'lies outside its folder');
    }
    return handle;
  } catch (error) {
    await handle.close();
    throw error;
  }
}

/** The whole content of a regular file (see openRegularFile). */
export async function readRegularFile(file: string, options: RegularFileOptions = {}): Promise<Buffer> {
  const handle = await openRegularFile(file, options);
  try {
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/** Whether `candidate` is `root` or lies below it (both absolute, symlink-free). */
export function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

// Where the descriptor really points, whatever happened to the path's directories since open.
async function openedPath(handle: FileHandle, file: string, ino: number): Promise<string> {
  try {
    return await readlink(`/proc/self/fd/${handle.fd}`);
  } catch {
    // No /proc (macOS): the path's realpath counts only if it still names the opened file.
    const real = await realpath(file);
    if ((await stat(real)).ino !== ino) throw new UnsafeFileError('EXDEV', 'moved while being opened');
    return real;
  }
}
