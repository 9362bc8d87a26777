// Keeps the person's edits through every consolidation. The maintained files they changed since the last baseline
// (as the snapshot taken before the run recorded them) are folded into the ledger of what they ever added and
// removed; after the agent ran the whole ledger is enforced on what it left, and the ledger is kept with the baseline.
import { readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import git from 'isomorphic-git';
import { writeFileAtomic } from '../files/atomic-write.ts';
import { readRegularFile } from '../files/regular-file.ts';
import { ROLLOUT_SUMMARIES_DIR } from '../memory-folder/artifacts.ts';
import { roleOf } from '../memory-folder/folder-roles.ts';
import { maintainedFiles } from '../memory-folder/hand-written.ts';
import { type FileProtections, type Ledger, readLedger, writeLedger } from './hand-edit-ledger.ts';
import { applyLineEdit, type HandEdit, isFact, normalizeLine, saysSomething } from './hand-edit-merge.ts';
import { asLineEdit, foldEdit, hasProtections, toKeep } from './hand-edit-protections.ts';
import { headCommit, type Repo, treeOf } from './repo.ts';
import { type FileMap, treeFiles } from './tree-files.ts';

/** Where a ledger that could not be read or written is reported: the run goes on without it. */
export type Warn = (fields: Record<string, unknown>, message: string) => void;

/** Puts back what the agent undid of the person's edits, this run's and earlier ones'; returns the files it changed. */
export async function reapplyHandEdits(repo: Repo, snapshot: string, warn: Warn): Promise<string[]> {
  const { ledger, edits, before } = await protections(repo, snapshot, warn);
  const texts = await maintainedTexts(repo.dir, ledger.keys());
  const changed: string[] = [];
  for (const [path, kept] of ledger) {
    const person = await blobText(repo, before, path);
    if (await enforceOne(repo.dir, path, { kept, person, editedNow: edits.has(path) }, elsewhere(texts, path)))
      changed.push(path);
  }
  return changed.sort();
}

/** Keeps the ledger, with this run's edits in it, for the next runs; called as the baseline is committed. */
export async function recordHandEdits(repo: Repo, snapshot: string, warn: Warn): Promise<void> {
  const { ledger } = await protections(repo, snapshot, warn);
  const kept: Ledger = new Map();
  for (const [path, p] of ledger) {
    const left = toKeep(p, await readFile(join(repo.dir, path), 'utf8').catch(() => null));
    if (left !== null) kept.set(path, left);
  }
  // A ledger that cannot be written costs later runs the protection of these edits, not this run its baseline.
  await writeLedger(repo, kept).catch((error: Error) =>
    warn({ error: error.message }, "could not record the person's edits for later consolidations"),
  );
}

/**
 * Whether a maintained file holds something the person wrote: a line kept from an earlier edit, or an edit since
 * the last baseline (a file they deleted holds nothing).
 */
export async function holdsHandEdits(repo: Repo): Promise<boolean> {
  if ([...(await readLedger(repo)).ledger.values()].some((p) => p.added.length > 0)) return true;
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

/** The ledger with this run's edits folded in (an unusable ledger is reported and taken as empty), and those edits. */
async function protections(repo: Repo, snapshot: string, warn: Warn) {
  const { ledger, damaged } = await readLedger(repo);
  if (damaged !== null)
    warn({ reason: damaged }, "the record of the person's earlier edits is unusable: only this run's edits are kept");
  const before = await treeFiles(repo, snapshot);
  const edits = await editsSince(repo, before);
  for (const [path, edit] of edits) ledger.set(path, foldEdit(path, ledger.get(path), edit));
  return { ledger, edits, before };
}

/** The maintained files the person changed since the last baseline: each as the baseline and the snapshot have it. */
async function editsSince(repo: Repo, edited: FileMap): Promise<Map<string, HandEdit>> {
  const base = await editBase(repo, [...edited.keys()].some(isSummary));
  const edits = new Map<string, HandEdit>();
  if (base === null) return edits;
  for (const path of new Set([...base.keys(), ...edited.keys()])) {
    if (roleOf(path) !== 'maintained' || base.get(path) === edited.get(path)) continue;
    edits.set(path, { base: await blobText(repo, base, path), edited: await blobText(repo, edited, path) });
  }
  return edits;
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

interface Enforced {
  kept: FileProtections;
  /** The file as the person left it before the run. */
  person: string | null;
  /** Whether the person changed it since the last baseline. */
  editedNow: boolean;
}

async function enforceOne(root: string, path: string, { kept, person, editedNow }: Enforced, elsewhere: Set<string>) {
  if (!editedNow && !hasProtections(kept)) return false;
  const file = join(root, path);
  const now = await readFile(file, 'utf8').catch(() => null);
  const edit = asLineEdit(kept);
  if (now === null) {
    // The agent deleted a file holding the person's lines: it comes back as they left it, unless they moved elsewhere.
    if (person === null || !saysSomething(person)) return false;
    const theirs = editedNow ? person.split('\n').filter(isFact) : kept.added.map((a) => a.line);
    if (theirs.every((l) => elsewhere.has(normalizeLine(l)))) return false;
    await writeFileAtomic(file, applyLineEdit(edit, person, elsewhere));
    return true;
  }
  const merged = applyLineEdit(edit, now, elsewhere);
  if (merged === now) return false;
  if (kept.deleted && !saysSomething(merged)) await unlink(file);
  else await writeFileAtomic(file, merged);
  return true;
}

async function blobText(repo: Repo, files: FileMap, path: string): Promise<string | null> {
  const oid = files.get(path);
  if (oid === undefined) return null;
  return new TextDecoder().decode((await git.readBlob({ ...repo, oid })).blob);
}

/** The maintained files as the agent left them, before any is put right: where it may have moved a person's line. */
async function maintainedTexts(root: string, also: Iterable<string>): Promise<Map<string, string>> {
  const texts = new Map<string, string>();
  for (const path of new Set([...(await maintainedFiles(root)), ...also])) {
    const text = await readFile(join(root, path), 'utf8').catch(() => null);
    if (text !== null) texts.set(path, text);
  }
  return texts;
}

function elsewhere(texts: Map<string, string>, path: string): Set<string> {
  const lines = new Set<string>();
  for (const [other, text] of texts) if (other !== path) for (const line of text.split('\n')) lines.add(normalizeLine(line));
  return lines;
}
