// A memory folder as a list of files: read (without its git history), digested, and written back.
import { createHash } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { writeFileAtomic } from '../files/atomic-write.ts';
import { GIT_DIR } from '../memory-history/git-dir.ts';

export interface FolderFile {
  /** Relative, with `/` separators. */
  path: string;
  content: Buffer;
}

/** Every regular file under `root` except the git history and writers' temp files, sorted by path. */
export async function readFolderFiles(root: string): Promise<FolderFile[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  const files: FolderFile[] = [];
  for (const entry of entries) {
    if (!entry.isFile() || entry.name.endsWith('.tmp')) continue;
    const path = relative(root, join(entry.parentPath, entry.name)).split(sep).join('/');
    if (path === GIT_DIR || path.startsWith(`${GIT_DIR}/`)) continue;
    files.push({ path, content: await readFile(join(root, path)) });
  }
  return files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** One hash of the whole folder: equal folders, equal digests. */
export function folderDigest(files: FolderFile[]): string {
  const hash = createHash('sha256');
  for (const file of files) hash.update(`${file.path}\0${createHash('sha256').update(file.content).digest('hex')}\n`);
  return hash.digest('hex');
}

/** A path a folder file may have: relative, no `..`, no empty or dot segments, not inside the git history. */
export function isSafeFolderPath(path: string): boolean {
  const parts = path.split('/');
  return (
    path.length > 0 &&
    path.length <= 512 &&
    !path.includes('\0') &&
    !path.includes('\\') &&
    parts.every((part) => part !== '' && part !== '.' && part !== '..') &&
    parts[0] !== GIT_DIR
  );
}

/** Makes `root` hold exactly `files` (its git history aside): changed files written atomically, others removed. */
export async function syncFolder(root: string, files: FolderFile[]): Promise<void> {
  const wanted = new Map(files.map((file) => [file.path, file.content]));
  for (const current of await readFolderFiles(root)) {
    const next = wanted.get(current.path);
    if (next === undefined) await rm(join(root, current.path), { force: true });
    else if (next.equals(current.content)) wanted.delete(current.path);
  }
  for (const [path, content] of wanted) {
    if (!isSafeFolderPath(path)) throw new Error(`refused folder path ${JSON.stringify(path)}`);
    const target = join(root, path);
    await mkdir(dirname(target), { recursive: true, mode: 0o700 });
    const st = await lstat(target).catch(() => null);
    if (st?.isDirectory()) await rm(target, { recursive: true, force: true });
    await writeFileAtomic(target, content);
  }
}
