// Keeps the person's edits through a consolidation: the maintained files they changed since the last baseline
// (as the snapshot taken before the run recorded them) are compared with what the agent left, and their edit wins.
import { readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import git from 'isomorphic-git';
import { writeFileAtomic } from '../files/atomic-write.ts';
import { readRegularFile } from '../files/regular-file.ts';
import { ROLLOUT_SUMMARIES_DIR } from '../memory-folder/artifacts.ts';
import { roleOf } from '../memory-folder/folder-roles.ts';
import { maintainedFiles } from '../memory-folder/hand-written.ts';
import { type HandEdit, isFact, normalizeLine, reapplyHandEdit, saysSomething } from './hand-edit-merge.ts';
import { headCommit, type Repo, treeOf } from './repo.ts';
import { type FileMap, treeFiles } from './tree-files.ts';

/** Puts back what the agent undid of the person's edits; returns the files it had to change. */
export async function reapplyHandEdits(repo: Repo, snapshot: string): Promise<string[]> {
  const edited = await treeFiles(repo, snapshot);
  const base = await editBase(repo, [...edited.keys()].some(isSummary));
  if (base === null) return [];
  const paths = [...new Set([...base.keys(), ...edited.keys()])].filter(
    (p) => roleOf(p) === 'maintained' && base.get(p) !== edited.get(p),
  );
  const changed: string[] = [];
  for (const path of paths) {
    const edit = { base: await blobText(repo, base, path), edited: await blobText(repo, edited, path) };
    if (await reapplyOne(repo.dir, path, edit, await otherLines(repo.dir, path))) changed.push(path);
  }
  return changed;
}

/** Whether a maintained file holds something the person wrote since the last baseline (a file they deleted holds nothing). */
export async function holdsHandEdits(repo: Repo): Promise<boolean> {
  const summaries = await readdir(join(repo.dir, ROLLOUT_SUMMARIES_DIR)).catch(() => []);
  const base = await editBase(
    repo,
    summaries.some((name) => name.endsWith('.md')),
  );
  if (base === null) return false;
  for (const path of await maintainedFiles(repo.dir)) {
    const blob = await readRegularFile(join(repo.dir, path)).catch(() => null);
    if (blob !== null && (await git.hashBlob({ object: blob })).oid !== base.get(path)) return true;
  }
  return false;
}

/**
 * What the person's edits are measured against: the last baseline. Without one, no pipeline wrote maintained files
 * that have no rollout summary beside them (ours and Codex's delete them with the last summary), so all of them are
 * the person's; beside summaries, an edit cannot be told apart from what a history-less earlier version wrote (null).
 */
async function editBase(repo: Repo, besideSummaries: boolean): Promise<FileMap | null> {
  const head = await headCommit(repo);
  if (head !== null) return treeFiles(repo, await treeOf(repo, head));
  return besideSummaries ? null : new Map();
}

const isSummary = (path: string) => path.startsWith(`${ROLLOUT_SUMMARIES_DIR}/`) && path.endsWith('.md');

async function reapplyOne(root: string, path: string, edit: HandEdit, elsewhere: Set<string>): Promise<boolean> {
  const file = join(root, path);
  const now = await readFile(file, 'utf8').catch(() => null);
  if (now === null) {
    // The agent deleted a file the person wrote to: it comes back as they left it, unless it moved elsewhere.
    if (edit.edited === null || !saysSomething(edit.edited)) return false;
    const moved = edit.edited.split('\n').every((l) => !isFact(l) || elsewhere.has(normalizeLine(l)));
    if (moved) return false;
    await writeFileAtomic(file, edit.edited);
    return true;
  }
  // The person deleting a required file asks for it to be rebuilt, not for an empty one.
  if (edit.edited === null && !path.startsWith('skills/')) return false;
  const merged = reapplyHandEdit(edit, now, elsewhere);
  if (merged === now) return false;
  if (edit.edited === null && !saysSomething(merged)) await unlink(file);
  else await writeFileAtomic(file, merged);
  return true;
}

async function blobText(repo: Repo, files: FileMap, path: string): Promise<string | null> {
  const oid = files.get(path);
  if (oid === undefined) return null;
  return new TextDecoder().decode((await git.readBlob({ ...repo, oid })).blob);
}

// The lines of the other maintained files as the agent left them: where it may have moved one of the person's.
async function otherLines(root: string, path: string): Promise<Set<string>> {
  const lines = new Set<string>();
  for (const other of (await maintainedFiles(root)).filter((o) => o !== path)) {
    const text = await readFile(join(root, other), 'utf8').catch(() => '');
    for (const line of text.split('\n')) lines.add(normalizeLine(line));
  }
  return lines;
}
