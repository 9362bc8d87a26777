// The memory folder as a git repository, written with isomorphic-git so a user's machine needs no `git` binary;
// the objects and refs are plain git, so `git log` reads them where git is installed.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import git from 'isomorphic-git';
import { ensureDir } from '../files/atomic-write.ts';
import { GIT_DIR } from './git-dir.ts';
import { privateFs } from './private-fs.ts';

/** Who the commits are by: the pipeline, not the person (their own edits are what the diffs show). */
export const AUTHOR = { name: 'memories-pipeline', email: 'memories-pipeline@localhost' };

export interface Repo {
  fs: typeof privateFs;
  dir: string;
}

/**
 * The repository at `root`, created (with an empty history) the first time unless `create` is false: reading
 * the history of a home that has none must not create a memory folder in it.
 */
export async function openRepo(root: string, create = true): Promise<Repo> {
  const repo = { fs: privateFs, dir: root };
  if (!create || existsSync(`${root}/${GIT_DIR}`)) return repo;
  await ensureDir(root, { followLink: true });
  await git.init({ ...repo, defaultBranch: 'main' });
  return repo;
}

/**
 * The last baseline commit, or null before the first successful consolidation. A damaged history is an error,
 * never "none yet": taken for none, the next consolidation would start a new history over the old one.
 */
export async function headCommit(repo: Repo): Promise<string | null> {
  try {
    return await git.resolveRef({ ...repo, ref: 'HEAD' });
  } catch (error) {
    if ((error as { code?: string }).code !== 'NotFoundError') throw error;
    await refusedIfDamaged(repo);
    return null;
  }
}

/** Whether any revision was ever committed; a damaged repository is an error, never "no". */
export async function hasBaseline(repo: Repo): Promise<boolean> {
  return (await headCommit(repo)) !== null;
}

/** isomorphic-git says "not found" of an emptied or garbled branch file too: a file there means damage. */
async function refusedIfDamaged(repo: Repo): Promise<void> {
  const head = await readFile(join(repo.dir, GIT_DIR, 'HEAD'), 'utf8').catch(() => '');
  const branch = /^ref: (refs\/heads\/[^\s]+)\s*$/.exec(head)?.[1];
  if (branch === undefined) return;
  const file = join(repo.dir, GIT_DIR, ...branch.split('/'));
  if (!existsSync(file)) return;
  throw new Error(
    `the memory folder's history is damaged: ${file} holds no revision; repair it with git (git fsck lists the lost ` +
      `revisions) or move ${join(repo.dir, GIT_DIR)} aside to start a new history`,
  );
}

/** A revision as a user types it (`HEAD`, `HEAD~2`, a full or abbreviated id) as a full commit id. */
export async function resolveRevision(repo: Repo, rev: string): Promise<string> {
  const back = /^(.*)~(\d+)$/.exec(rev);
  let oid = back ? await resolveRevision(repo, back[1]) : await resolveBase(repo, rev);
  for (let n = back ? Number(back[2]) : 0; n > 0; n--) {
    const parent = (await git.readCommit({ ...repo, oid })).commit.parent[0];
    if (!parent) throw new Error(`revision ${rev} goes back past the first one`);
    oid = parent;
  }
  return oid;
}

async function resolveBase(repo: Repo, rev: string): Promise<string> {
  if (rev === 'HEAD') {
    const head = await headCommit(repo);
    if (!head) throw new Error('the memory folder has no revision yet');
    return head;
  }
  if (!/^[0-9a-f]{4,40}$/i.test(rev)) throw new Error(`not a revision: ${JSON.stringify(rev)} (use an id from \`memories log\`)`);
  try {
    const oid = await git.expandOid({ ...repo, oid: rev.toLowerCase() });
    await git.readCommit({ ...repo, oid });
    return oid;
  } catch {
    throw new Error(`no revision ${rev} in the memory folder's history`);
  }
}

/** The commit's parent, or null for the first revision. */
export async function parentOf(repo: Repo, oid: string): Promise<string | null> {
  return (await git.readCommit({ ...repo, oid })).commit.parent[0] ?? null;
}

export async function treeOf(repo: Repo, commit: string): Promise<string> {
  return (await git.readCommit({ ...repo, oid: commit })).commit.tree;
}
