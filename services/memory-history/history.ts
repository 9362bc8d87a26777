// The history operations the consolidation and the commands use, each on the memory folder's root.
import { existsSync } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { roleOf } from '../memory-folder/folder-roles.ts';
import { redactHandWritten } from '../memory-folder/hand-written.ts';
import { GIT_DIR } from './git-dir.ts';
import { holdsHandEdits, reapplyHandEdits, recordHandEdits, type Warn } from './hand-edits.ts';
import { hasBaseline, headCommit, openRepo, parentOf, type Repo, resolveRevision, treeOf } from './repo.ts';
import { commitRevision, type PinnedPaths, type RevisionFacts } from './revisions.ts';
import { restoreWorkingTree, snapshotWorkingTree, treeFiles, workingTreeFiles } from './tree-files.ts';
import { markFinished, markRunning, unfinishedSnapshot } from './unfinished-run.ts';
import { diffSides, treeSide, type WorkspaceDiff, workingSide } from './workspace-diff.ts';

export interface BaselineDiff extends WorkspaceDiff {
  /** The last baseline, or null: no consolidation has succeeded yet (the agent's INIT mode). */
  baseline: string | null;
}

/**
 * The folder as the person left it, recorded before a run changes anything, so a failure can put it back; and
 * recorded as running, so that a run killed outright is put back by the next one (recoverUnfinishedRun).
 */
export async function snapshotFolder(root: string): Promise<string> {
  const repo = await openRepo(root);
  const snapshot = await snapshotWorkingTree(repo);
  // Best effort: a folder the marker cannot be written to (read-only, full) is one the agent cannot half-write
  // either, and the run then fails where Codex's does, syncing the artifacts.
  await markRunning(repo, snapshot).catch(() => undefined);
  return snapshot;
}

/**
 * When a run was killed before it committed or put the folder back: the folder back as it was before that run.
 * What the killed run left is kept as a tree in the repository (its id is returned for the log); null when no
 * run was left unfinished.
 */
export async function recoverUnfinishedRun(root: string): Promise<{ snapshot: string; leftBehind: string } | null> {
  if (!existsSync(join(root, GIT_DIR))) return null;
  const repo = await openRepo(root, false);
  const snapshot = await unfinishedSnapshot(repo);
  if (snapshot === null) return null;
  const leftBehind = await snapshotWorkingTree(repo);
  await restoreWorkingTree(repo, snapshot);
  await markFinished(repo);
  return { snapshot, leftBehind };
}

/** Puts the folder back to a snapshot: the baseline plus the person's edits, nothing of a failed run. */
export async function restoreFolder(root: string, snapshot: string): Promise<void> {
  const repo = await openRepo(root);
  await restoreWorkingTree(repo, snapshot);
  await markFinished(repo);
}

/**
 * Removes a repository no consolidation ever committed to: it holds nothing but this failed run's snapshot,
 * so a first run that fails leaves the folder as it found it.
 */
export async function dropHistoryWithoutBaseline(root: string): Promise<void> {
  if (!existsSync(join(root, GIT_DIR))) return;
  if (!(await hasBaseline(await openRepo(root, false)))) await rm(join(root, GIT_DIR), { recursive: true, force: true });
}

/** After the agent: the person's edits, this run's and earlier ones', put back where it undid them; the files changed. */
export async function keepHandEdits(root: string, snapshot: string, warn: Warn): Promise<string[]> {
  return reapplyHandEdits(await openRepo(root), snapshot, warn);
}

/** Whether MEMORY.md, memory_summary.md or a skill holds a line of the person's, from an edit since the baseline or before. */
export async function handEditedSinceBaseline(root: string): Promise<boolean> {
  return holdsHandEdits(await openRepo(root, false));
}

/** The working tree against the last baseline. */
export async function diffSinceBaseline(root: string): Promise<BaselineDiff> {
  const repo = await openRepo(root);
  const baseline = await headCommit(repo);
  return { baseline, ...(await diffAgainst(repo, baseline)) };
}

/**
 * A successful consolidation's baseline. The notes go in as the snapshot taken before the run holds them, as the
 * agent was shown them: one written or changed while it ran stays an edit since the baseline, for the next run.
 * The person's edits since the last baseline are recorded first: once committed, no diff shows them any more.
 */
export async function commitBaseline(
  root: string,
  counts: { added: number; retained: number; removed: number; notes: number },
  snapshot: string,
  warn: Warn = () => {},
) {
  const repo = await openRepo(root);
  await recordHandEdits(repo, snapshot, warn);
  const notes = { files: await treeFiles(repo, snapshot), pinned: (path: string) => roleOf(path) === 'note' };
  return recordRevision(repo, 'Consolidate memory', { kind: 'consolidation', ...counts }, notes);
}

/** `rev` against its parent; without `rev`, the working tree against the last baseline. */
export async function diffRevision(root: string, rev?: string): Promise<BaselineDiff & { revision: string | null }> {
  const repo = await openRepo(root, false);
  if (rev === undefined) {
    const baseline = await headCommit(repo);
    return { revision: null, baseline, ...(await diffAgainst(repo, baseline, Number.POSITIVE_INFINITY)) };
  }
  const revision = await resolveRevision(repo, rev);
  const parent = await parentOf(repo, revision);
  const after = treeSide(repo, await treeFiles(repo, await treeOf(repo, revision)));
  const before = treeSide(repo, parent ? await treeFiles(repo, await treeOf(repo, parent)) : new Map());
  return { revision, baseline: parent, ...(await diffSides(before, after, Number.POSITIVE_INFINITY)) };
}

export interface RevertResult {
  /** null when the folder already was `revertedTo`, unedited: nothing is recorded. */
  revision: string | null;
  revertedTo: string;
  /** The revision recording the edits made since the last one, when there were any. */
  savedEdits: string | null;
}

/**
 * The folder back to `rev`, recorded as a new revision: the revisions after it stay in the history, and edits
 * made since the last revision are first recorded as one of their own, so a revert never loses anything.
 */
export async function revertTo(root: string, rev: string): Promise<RevertResult> {
  const repo = await openRepo(root, false);
  const target = await resolveRevision(repo, rev);
  const head = await headCommit(repo);
  const pending = await diffAgainst(repo, head, 0);
  // Already there, with no edit to put aside: a revision would record nothing.
  if (pending.changes.length === 0 && head !== null && (await treeOf(repo, head)) === (await treeOf(repo, target)))
    return { revision: null, revertedTo: target, savedEdits: null };
  const none = { added: 0, retained: 0, removed: 0, notes: 0 };
  const savedEdits =
    pending.changes.length > 0
      ? await recordRevision(repo, 'Record hand edits before a revert', { kind: 'edits', ...none })
      : null;
  await restoreWorkingTree(repo, await treeOf(repo, target));
  const facts = { kind: 'revert' as const, ...none, revertedTo: target };
  const revision = await recordRevision(repo, `Revert memory to ${target.slice(0, 7)}`, facts);
  return { revision, revertedTo: target, savedEdits };
}

/**
 * The working tree as a new revision, the person's files redacted first: a secret typed into a note or a maintained
 * file (before a revert, or while the agent ran) must reach no revision. A revision made before redaction existed
 * may hold one, so a revert to it is redacted too.
 */
async function recordRevision(
  repo: Repo,
  subject: string,
  facts: Omit<RevisionFacts, 'memoryBytes'>,
  pins?: PinnedPaths,
): Promise<string> {
  await redactHandWritten(repo.dir);
  return commitRevision(repo, subject, { ...facts, memoryBytes: await memoryBytes(repo.dir) }, pins);
}

async function diffAgainst(repo: Repo, baseline: string | null, maxChars?: number) {
  const before = treeSide(repo, baseline ? await treeFiles(repo, await treeOf(repo, baseline)) : new Map());
  return diffSides(before, workingSide(repo, await workingTreeFiles(repo)), maxChars);
}

async function memoryBytes(root: string): Promise<number | null> {
  return stat(join(root, 'MEMORY.md')).then(
    (s) => s.size,
    () => null,
  );
}
