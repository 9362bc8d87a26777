// Revisions of the memory folder: a commit per successful consolidation (a baseline) or revert. What `memories log`
// shows travels in the commit message as trailers, so the history alone tells it and plain `git log` shows it too.
import git from 'isomorphic-git';
import { AUTHOR, type Repo } from './repo.ts';
import { markFinished } from './unfinished-run.ts';

/** `edits`: a person's edits recorded before a revert, so reverting never loses them. */
export type RevisionKind = 'consolidation' | 'revert' | 'edits';

export interface RevisionFacts {
  kind: RevisionKind;
  added: number;
  retained: number;
  removed: number;
  /** Ad-hoc notes new or edited since the previous revision, absorbed by this consolidation. */
  notes: number;
  /** MEMORY.md's size in bytes; null where the layout (v2) or the folder has none. */
  memoryBytes: number | null;
  /** For a revert: the revision the folder went back to. */
  revertedTo?: string;
}

export interface Revision extends RevisionFacts {
  id: string;
  /** Unix seconds, as git records it. */
  time: number;
  subject: string;
}

const TRAILERS = {
  kind: 'Memories-Kind',
  added: 'Memories-Added',
  retained: 'Memories-Retained',
  removed: 'Memories-Removed',
  notes: 'Memories-Notes',
  memoryBytes: 'Memories-Memory-Bytes',
  revertedTo: 'Memories-Reverted-To',
} as const;

/** Paths recorded as another tree has them (blob id, or absent) instead of as the working tree has them. */
export interface PinnedPaths {
  files: ReadonlyMap<string, string>;
  pinned: (path: string) => boolean;
}

/** Records the working tree as it is, except `pins`, as a new revision on top of the last one. */
export async function commitRevision(repo: Repo, subject: string, facts: RevisionFacts, pins?: PinnedPaths): Promise<string> {
  // The index follows the working tree, so a `git status` where git is installed shows a clean folder afterwards.
  for (const [path, head, work, stage] of await git.statusMatrix({ ...repo })) {
    if (pins?.pinned(path)) {
      const oid = pins.files.get(path);
      if (oid !== undefined) await git.updateIndex({ ...repo, filepath: path, oid, add: true });
      else if (head !== 0 || stage !== 0) await git.remove({ ...repo, filepath: path });
    } else if (work === 0) await git.remove({ ...repo, filepath: path });
    else if (head !== work || work !== stage) await git.add({ ...repo, filepath: path });
  }
  const revision = await git.commit({ ...repo, message: `${subject}\n\n${renderTrailers(facts)}\n`, author: AUTHOR });
  // A revision decides what the folder holds: an unfinished run's snapshot no longer says how to put it back.
  await markFinished(repo);
  return revision;
}

/** Newest first. */
export async function readRevisions(repo: Repo): Promise<Revision[]> {
  let entries: Awaited<ReturnType<typeof git.log>>;
  try {
    entries = await git.log({ ...repo });
  } catch {
    return [];
  }
  return entries.map(({ oid, commit }) => ({
    id: oid,
    time: commit.committer.timestamp,
    subject: commit.message.split('\n')[0],
    ...parseTrailers(commit.message),
  }));
}

function renderTrailers(facts: RevisionFacts): string {
  const lines = [
    `${TRAILERS.kind}: ${facts.kind}`,
    `${TRAILERS.added}: ${facts.added}`,
    `${TRAILERS.retained}: ${facts.retained}`,
    `${TRAILERS.removed}: ${facts.removed}`,
    `${TRAILERS.notes}: ${facts.notes}`,
    `${TRAILERS.memoryBytes}: ${facts.memoryBytes ?? 'none'}`,
  ];
  if (facts.revertedTo) lines.push(`${TRAILERS.revertedTo}: ${facts.revertedTo}`);
  return lines.join('\n');
}

function parseTrailers(message: string): RevisionFacts {
  const value = (key: string) => new RegExp(`^${key}: (.*)$`, 'm').exec(message)?.[1]?.trim();
  const count = (key: string) => Number(value(key) ?? 0) || 0;
  const bytes = value(TRAILERS.memoryBytes);
  const revertedTo = value(TRAILERS.revertedTo);
  return {
    kind: kindOf(value(TRAILERS.kind)),
    added: count(TRAILERS.added),
    retained: count(TRAILERS.retained),
    removed: count(TRAILERS.removed),
    notes: count(TRAILERS.notes),
    memoryBytes: bytes === undefined || bytes === 'none' ? null : Number(bytes),
    ...(revertedTo ? { revertedTo } : {}),
  };
}

function kindOf(value: string | undefined): RevisionKind {
  return value === 'revert' || value === 'edits' ? value : 'consolidation';
}
