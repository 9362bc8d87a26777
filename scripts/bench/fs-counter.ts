// Counts file opens and bytes read in this process by wrapping the fs entry points the pipeline uses.
// Imported first by a bench child: `syncBuiltinESMExports` makes ESM named imports of node:fs see the wrappers.
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

export interface FileReadRecord {
  path: string;
  opens: number;
  bytes: number;
}

const reads = new Map<string, FileReadRecord>();
// The store and the rollout reader read synchronously by descriptor.
const fdPaths = new Map<number, string>();

function record(path: unknown, data: unknown, open: boolean): void {
  if (typeof path !== 'string' && !(path instanceof URL) && !Buffer.isBuffer(path)) return; // an fd: counted where opened
  const key = path instanceof URL ? path.pathname : String(path);
  const r = reads.get(key) ?? { path: key, opens: 0, bytes: 0 };
  reads.set(key, r);
  if (open) r.opens++;
  if (typeof data === 'number') r.bytes += data;
  else if (typeof data === 'string') r.bytes += Buffer.byteLength(data);
  else if (data instanceof Uint8Array) r.bytes += data.byteLength;
}

const isWrite = (flags: unknown) => typeof flags === 'string' && /[wa+x]/.test(flags);

const { createReadStream, openSync, readFileSync, readSync, closeSync } = fs;
const { readFile, open } = fs.promises;

fs.createReadStream = ((path: any, options?: any) => {
  const stream = createReadStream.call(fs, path, options);
  record(path, 0, true);
  stream.once('close', () => record(path, stream.bytesRead, false));
  return stream;
}) as typeof fs.createReadStream;

fs.promises.readFile = (async (path: any, options?: any) => {
  const data = await readFile.call(fs.promises, path, options);
  record(path, data, true);
  return data;
}) as typeof fs.promises.readFile;

fs.promises.open = (async (path: any, flags?: any, mode?: any) => {
  const handle: any = await open.call(fs.promises, path, flags, mode);
  if (isWrite(flags)) return handle;
  record(path, 0, true);
  for (const method of ['read', 'readFile'] as const) {
    const inner = handle[method].bind(handle);
    handle[method] = async (...args: any[]) => {
      const result = await inner(...args);
      record(path, method === 'read' ? result.bytesRead : result, false);
      return result;
    };
  }
  return handle;
}) as typeof fs.promises.open;

fs.openSync = ((path: any, flags?: any, mode?: any) => {
  const fd = openSync.call(fs, path, flags, mode);
  if (!isWrite(flags) && typeof path === 'string' && !fs.fstatSync(fd).isDirectory()) {
    fdPaths.set(fd, path);
    record(path, 0, true);
  }
  return fd;
}) as typeof fs.openSync;

fs.readFileSync = ((path: any, options?: any) => {
  const data = readFileSync.call(fs, path, options);
  if (typeof path === 'number') record(fdPaths.get(path), data, false);
  else record(path, data, true);
  return data;
}) as typeof fs.readFileSync;

fs.readSync = ((fd: number, ...args: any[]) => {
  const n = (readSync as any).call(fs, fd, ...args) as number;
  record(fdPaths.get(fd), n, false);
  return n;
}) as typeof fs.readSync;

fs.closeSync = ((fd: number) => {
  fdPaths.delete(fd);
  return closeSync.call(fs, fd);
}) as typeof fs.closeSync;

syncBuiltinESMExports();

/** Starts a new measurement window. */
export const resetFsCounts = () => reads.clear();
export const fsCounts = (): FileReadRecord[] => [...reads.values()].map((r) => ({ ...r }));

/** Bytes this process has read through any read syscall (files, pipes, sockets), from /proc. */
export function procReadChars(): number | null {
  try {
    const m = /^rchar:\s*(\d+)$/m.exec(readFileSync.call(fs, '/proc/self/io', 'utf8') as string);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}
