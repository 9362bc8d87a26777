// The folder's files as git sees them: the working tree read into blobs, a tree object read back into files, and
// the working tree put back to a tree. Only regular files count: links and special files are never followed.
import { lstat, readdir, readFile, rm, rmdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import git, { type TreeEntry } from 'isomorphic-git';
import { ensureDir, writeFileAtomic } from '../files/atomic-write.ts';
import { GIT_DIR } from './git-dir.ts';
import type { Repo } from './repo.ts';

/** Path (with "/") to blob id. */
export type FileMap = Map<string, string>;

/** The working tree's regular files and their blob ids; `store` also writes the blobs into the repository. */
export async function workingTreeFiles(repo: Repo, store = false): Promise<FileMap> {
  const files: FileMap = new Map();
  for (const path of await listFiles(repo.dir, '')) {
    const blob = await readFile(join(repo.dir, path));
    const oid = store ? await git.writeBlob({ ...repo, blob }) : (await git.hashBlob({ object: blob })).oid;
    files.set(path, oid);
  }
  return files;
}

/** The working tree as a tree object in the repository, without touching the index or any ref. */
export async function snapshotWorkingTree(repo: Repo): Promise<string> {
  return writeTreeOf(repo, await workingTreeFiles(repo, true));
}

/** The files of a tree object, recursively. */
export async function treeFiles(repo: Repo, tree: string, prefix = ''): Promise<FileMap> {
  const files: FileMap = new Map();
  for (const entry of (await git.readTree({ ...repo, oid: tree })).tree) {
    const path = `${prefix}${entry.path}`;
    if (entry.type === 'tree') for (const [p, oid] of await treeFiles(repo, entry.oid, `${path}/`)) files.set(p, oid);
    else if (entry.type === 'blob') files.set(path, entry.oid);
  }
  return files;
}

/** Makes the working tree hold exactly the tree's files: others are deleted, changed ones rewritten. */
export async function restoreWorkingTree(repo: Repo, tree: string): Promise<void> {
  const wanted = await treeFiles(repo, tree);
  const present = await workingTreeFiles(repo);
  for (const path of present.keys()) if (!wanted.has(path)) await rm(join(repo.dir, path), { force: true });
  for (const [path, oid] of wanted) {
    if (present.get(path) === oid) continue;
    const { blob } = await git.readBlob({ ...repo, oid });
    // Private and whole, as every write to the memory folder: the agent may read it at any moment.
    // The root itself may be a link the person set up; only the folders inside it are made here.
    if (path.includes('/')) await ensureDir(dirname(join(repo.dir, path)));
    await writeFileAtomic(join(repo.dir, path), blob);
  }
  await pruneEmptyDirs(repo.dir, '');
}

async function listFiles(root: string, rel: string): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(join(root, rel), { withFileTypes: true }).catch(() => []);
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (rel === '' && entry.name === GIT_DIR) continue;
    const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
    if (entry.isDirectory()) out.push(...(await listFiles(root, path)));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

async function writeTreeOf(repo: Repo, files: FileMap): Promise<string> {
  const direct: TreeEntry[] = [];
  const nested = new Map<string, FileMap>();
  for (const [path, oid] of files) {
    const slash = path.indexOf('/');
    if (slash < 0) {
      direct.push({ mode: '100644', path, oid, type: 'blob' });
      continue;
    }
    const dir = path.slice(0, slash);
    if (!nested.has(dir)) nested.set(dir, new Map());
    nested.get(dir)!.set(path.slice(slash + 1), oid);
  }
  for (const [dir, inner] of nested)
    direct.push({ mode: '040000', path: dir, oid: await writeTreeOf(repo, inner), type: 'tree' });
  return git.writeTree({ ...repo, tree: direct });
}

// A restore that deletes a skill's last file leaves no empty folder behind for the agent to wonder about.
async function pruneEmptyDirs(root: string, rel: string): Promise<boolean> {
  const entries = await readdir(join(root, rel), { withFileTypes: true }).catch(() => []);
  let empty = true;
  for (const entry of entries) {
    if (rel === '' && entry.name === GIT_DIR) {
      empty = false;
      continue;
    }
    const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
    if (entry.isDirectory() && (await pruneEmptyDirs(root, path))) await rmdir(join(root, path));
    else empty = false;
  }
  return empty && rel !== '' && (await lstat(join(root, rel))).isDirectory();
}
