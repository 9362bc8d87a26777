// What changed in the memory folder since its last baseline: a status list and a unified diff of the text files,
// cut to a size the agent can read. The files a person edits by hand come first, so a cut never hides their edits.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createTwoFilesPatch } from 'diff';
import git from 'isomorphic-git';
import type { FileMap } from './tree-files.ts';
import type { Repo } from './repo.ts';

export type ChangeStatus = 'added' | 'modified' | 'deleted';

export interface FileChange {
  path: string;
  status: ChangeStatus;
}

/** One side of a comparison: its files and how to read one. */
export interface TreeSide {
  files: FileMap;
  read(path: string): Promise<Uint8Array>;
}

export interface WorkspaceDiff {
  changes: FileChange[];
  /** The unified diff of the changed text files, possibly cut (see `truncated`). */
  patch: string;
  truncated: boolean;
}

/** Enough for a few hand edits and new summaries; beyond it the agent reads the files themselves. */
export const MAX_PATCH_CHARS = 40_000;
const BINARY_PROBE_BYTES = 8_000;

export function workingSide(repo: Repo, files: FileMap): TreeSide {
  return { files, read: (path) => readFile(join(repo.dir, path)) };
}

export function treeSide(repo: Repo, files: FileMap): TreeSide {
  return { files, read: async (path) => (await git.readBlob({ ...repo, oid: files.get(path)! })).blob };
}

export async function diffSides(before: TreeSide, after: TreeSide, maxChars = MAX_PATCH_CHARS): Promise<WorkspaceDiff> {
  const changes = changedFiles(before.files, after.files);
  const patches: string[] = [];
  let used = 0;
  let truncated = false;
  for (const change of changes) {
    const patch = await filePatch(change, before, after);
    if (used + patch.length > maxChars) {
      truncated = true;
      break;
    }
    patches.push(patch);
    used += patch.length;
  }
  return { changes, patch: patches.join(''), truncated };
}

function changedFiles(before: FileMap, after: FileMap): FileChange[] {
  const changes: FileChange[] = [];
  for (const [path, oid] of after) {
    const old = before.get(path);
    if (old === undefined) changes.push({ path, status: 'added' });
    else if (old !== oid) changes.push({ path, status: 'modified' });
  }
  for (const path of before.keys()) if (!after.has(path)) changes.push({ path, status: 'deleted' });
  return changes.sort((a, b) => rank(a.path) - rank(b.path) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

// The maintained files first, then other hand-made files, the pipeline's evidence last (raw_memories.md is rebuilt).
function rank(path: string): number {
  if (path === 'MEMORY.md' || path === 'memory_summary.md') return 0;
  if (path.startsWith('skills/') || path.startsWith('extensions/')) return 1;
  if (path.startsWith('rollout_summaries/')) return 3;
  if (path === 'raw_memories.md') return 4;
  return 2;
}

async function filePatch(change: FileChange, before: TreeSide, after: TreeSide): Promise<string> {
  const old = change.status === 'added' ? '' : asText(await before.read(change.path));
  const now = change.status === 'deleted' ? '' : asText(await after.read(change.path));
  if (old === null || now === null) return `Binary file ${change.path} ${change.status}\n`;
  const from = change.status === 'added' ? '/dev/null' : `a/${change.path}`;
  const to = change.status === 'deleted' ? '/dev/null' : `b/${change.path}`;
  return createTwoFilesPatch(from, to, old, now, '', '', { context: 3 }).replace(/^=+\n/m, '');
}

function asText(bytes: Uint8Array): string | null {
  if (bytes.subarray(0, BINARY_PROBE_BYTES).includes(0)) return null;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}
