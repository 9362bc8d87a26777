// Counts file opens and bytes read in this process, by wrapping the fs entry points the pipeline
// and its libraries use (createReadStream, fs/promises open/readFile, openSync with readFileSync or
// readSync). Imported first by a bench child process: `syncBuiltinESMExports` makes the ESM named
// imports of node:fs and node:fs/promises (`import { openSync } from 'node:fs'`) see the wrappers.
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

export interface FileReadRecord {
  path: string;
  opens: number;
  bytes: number;
}

const reads = new Map<string, FileReadRecord>();
let writeOpens = 0;

function record(path: unknown, bytes: number, open: boolean): void {
  if (typeof path !== 'string' && !(path instanceof URL) && !Buffer.isBuffer(path)) return; // a FileHandle or fd: counted where it was opened
  const key = path instanceof URL ? path.pathname : String(path);
  let r = reads.get(key);
  if (r === undefined) reads.set(key, (r = { path: key, opens: 0, bytes: 0 }));
  if (open) r.opens++;
  r.bytes += bytes;
}

function lengthOf(data: unknown): number {
  if (typeof data === 'string') return Buffer.byteLength(data);
  if (data instanceof Uint8Array) return data.byteLength;
  return 0;
}

function isWriteFlag(flags: unknown): boolean {
  return typeof flags === 'string' && /[wa+x]/.test(flags);
}

const origCreateReadStream = fs.createReadStream;
fs.createReadStream = function (path: any, options?: any) {
  const stream = origCreateReadStream.call(fs, path, options);
  record(path, 0, true);
  stream.once('close', () => record(path, stream.bytesRead, false));
  return stream;
} as typeof fs.createReadStream;

const origReadFile = fs.promises.readFile;
fs.promises.readFile = async function (path: any, options?: any) {
  const data = await origReadFile.call(fs.promises, path, options);
  record(path, lengthOf(data), true);
  return data;
} as typeof fs.promises.readFile;

const origOpen = fs.promises.open;
fs.promises.open = async function (path: any, flags?: any, mode?: any) {
  const handle = await origOpen.call(fs.promises, path, flags, mode);
  if (isWriteFlag(flags)) {
    writeOpens++;
    return handle;
  }
  record(path, 0, true);
  const read = handle.read.bind(handle);
  (handle as any).read = async (...args: any[]) => {
    const result = await (read as any)(...args);
    record(path, result.bytesRead, false);
    return result;
  };
  const readFile = handle.readFile.bind(handle);
  (handle as any).readFile = async (...args: any[]) => {
    const data = await (readFile as any)(...args);
    record(path, lengthOf(data), false);
    return data;
  };
  return handle;
} as typeof fs.promises.open;

// The store opens and reads its files synchronously by descriptor.
const fdPaths = new Map<number, string>();
const origOpenSync = fs.openSync;
fs.openSync = function (path: any, flags?: any, mode?: any) {
  const fd = origOpenSync.call(fs, path, flags, mode);
  if (isWriteFlag(flags)) writeOpens++;
  else if (typeof path === 'string' && !fs.fstatSync(fd).isDirectory()) {
    fdPaths.set(fd, path);
    record(path, 0, true);
  }
  return fd;
} as typeof fs.openSync;

const origReadFileSync = fs.readFileSync;
fs.readFileSync = function (path: any, options?: any) {
  const data = origReadFileSync.call(fs, path, options);
  if (typeof path === 'number') {
    const opened = fdPaths.get(path);
    if (opened !== undefined) record(opened, lengthOf(data), false);
  } else record(path, lengthOf(data), true);
  return data;
} as typeof fs.readFileSync;

// Rollouts are read synchronously by descriptor too, in chunks (services/rollouts/rollout-reader.ts).
const origReadSync = fs.readSync;
fs.readSync = function (fd: number, ...args: any[]) {
  const n = (origReadSync as any).call(fs, fd, ...args) as number;
  const opened = fdPaths.get(fd);
  if (opened !== undefined) record(opened, n, false);
  return n;
} as typeof fs.readSync;

const origCloseSync = fs.closeSync;
fs.closeSync = function (fd: number) {
  fdPaths.delete(fd);
  return origCloseSync.call(fs, fd);
} as typeof fs.closeSync;

syncBuiltinESMExports();

/** Starts a new measurement window. */
export function resetFsCounts(): void {
  reads.clear();
  writeOpens = 0;
}

export function fsCounts(): { reads: FileReadRecord[]; writeOpens: number } {
  return { reads: [...reads.values()].map((r) => ({ ...r })), writeOpens };
}

/** Bytes this process has read through any read syscall (files, pipes, sockets), from /proc. */
export function procReadChars(): number | null {
  try {
    const m = /^rchar:\s*(\d+)$/m.exec(origReadFileSync.call(fs, '/proc/self/io', 'utf8') as string);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}
