// The person's edits to the maintained files, kept across consolidations: once a consolidation commits, their
// edit is part of the baseline and no diff shows it any more, so what they added and removed is recorded here and
// enforced on every later run. A plain file beside git's own (as the unfinished-run marker): git ignores it, and it
// is never part of a snapshot, a diff or the agent's sandbox.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../files/atomic-write.ts';
import { roleOf } from '../memory-folder/folder-roles.ts';
import { GIT_DIR } from './git-dir.ts';
import type { AddedLine } from './hand-edit-merge.ts';
import type { Repo } from './repo.ts';

const LEDGER = 'memories-hand-edits.json';
const FORMAT = 1;

/** What the person asked of one maintained file. */
export interface FileProtections {
  /** Lines they wrote, each after the line it follows. */
  added: AddedLine[];
  /** Facts (normalized lines) they removed. */
  removed: string[];
  /** A skill file they deleted: if the agent writes it again with nothing left of its own, it goes again. */
  deleted: boolean;
}

/** Path (relative to the memory root) to what the person asked of it. */
export type Ledger = Map<string, FileProtections>;

export interface LedgerRead {
  ledger: Ledger;
  /** Why the file on disk could not be used (it is then taken as empty); null when it could, or there was none. */
  damaged: string | null;
}

const ledgerPath = (repo: Repo) => join(repo.dir, GIT_DIR, LEDGER);

/** The ledger on disk; a missing one is empty, and so is a damaged one, with the reason. */
export async function readLedger(repo: Repo): Promise<LedgerRead> {
  let text: string;
  try {
    text = await readFile(ledgerPath(repo), 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { ledger: new Map(), damaged: code === 'ENOENT' ? null : `unreadable (${code ?? String(error)})` };
  }
  try {
    return { ledger: parseLedger(JSON.parse(text)), damaged: null };
  } catch (error) {
    return { ledger: new Map(), damaged: `not a ledger (${(error as Error).message})` };
  }
}

export async function writeLedger(repo: Repo, ledger: Ledger): Promise<void> {
  const files = Object.fromEntries([...ledger].sort(([a], [b]) => (a < b ? -1 : 1)));
  await writeFileAtomic(ledgerPath(repo), `${JSON.stringify({ format: FORMAT, files }, null, 1)}\n`);
}

function parseLedger(json: unknown): Ledger {
  const { format, files } = (json ?? {}) as { format?: unknown; files?: unknown };
  if (format !== FORMAT || typeof files !== 'object' || files === null) throw new Error(`format ${String(format)}`);
  const ledger: Ledger = new Map();
  for (const [path, value] of Object.entries(files)) {
    // Paths the run writes to: only a maintained file inside the folder, whatever the file says.
    if (roleOf(path) !== 'maintained' || path.split('/').some((s) => s === '' || s === '.' || s === '..'))
      throw new Error(`not a maintained file: ${path}`);
    const { added, removed, deleted } = (value ?? {}) as Partial<Record<keyof FileProtections, unknown>>;
    if (!Array.isArray(added) || !added.every(isAddedLine)) throw new Error(`lines added to ${path}`);
    if (!Array.isArray(removed) || !removed.every((f) => typeof f === 'string')) throw new Error(`facts removed from ${path}`);
    ledger.set(path, { added, removed, deleted: deleted === true });
  }
  return ledger;
}

function isAddedLine(value: unknown): value is AddedLine {
  const { line, anchor } = (value ?? {}) as Record<string, unknown>;
  return typeof line === 'string' && (anchor === null || typeof anchor === 'string');
}
