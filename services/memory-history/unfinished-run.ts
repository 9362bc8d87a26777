// A consolidation's snapshot, recorded in the repository while it runs: a run killed outright (kill -9, power loss)
// cannot put the folder back itself, so the next run finds the snapshot here and does it. Without it, what the
// killed agent half-wrote would be served to Codex and taken for the person's own edits.
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import git from 'isomorphic-git';
import { writeFileAtomic } from '../files/atomic-write.ts';
import { GIT_DIR } from './git-dir.ts';
import type { Repo } from './repo.ts';

/** A plain file beside git's own: git ignores it, and no ref points at a tree for `git log --all` to trip on. */
const MARKER = 'memories-unfinished-run';

const markerPath = (repo: Repo) => join(repo.dir, GIT_DIR, MARKER);

export async function markRunning(repo: Repo, snapshot: string): Promise<void> {
  await writeFileAtomic(markerPath(repo), `${snapshot}\n`);
}

export async function markFinished(repo: Repo): Promise<void> {
  await rm(markerPath(repo), { force: true });
}

/** The snapshot of a run that never finished, when its tree is still in the repository; else null. */
export async function unfinishedSnapshot(repo: Repo): Promise<string | null> {
  const oid = (await readFile(markerPath(repo), 'utf8').catch(() => '')).trim();
  if (!/^[0-9a-f]{40}$/.test(oid)) return null;
  return git.readTree({ ...repo, oid }).then(
    () => oid,
    () => null,
  );
}
