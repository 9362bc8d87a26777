// The files a person writes in the memory folder (their notes and their edits to the maintained files) pass the
// secret redactor before the run records or shows them: a key pasted into a note must reach neither the model nor
// the folder's history.
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { writeFileAtomic } from '../files/atomic-write.ts';
import { redactSecrets } from '../redaction/redact.ts';
import { EXTENSIONS_DIR, roleOf } from './folder-roles.ts';

/** Rewrites each person-written file that holds a secret; returns the paths it rewrote. */
export async function redactHandWritten(root: string): Promise<string[]> {
  const rewritten: string[] = [];
  for (const path of await handWrittenFiles(root)) {
    const text = await readFile(join(root, path), 'utf8').catch(() => null);
    if (text === null || text.includes('\0')) continue;
    const clean = redactSecrets(text);
    if (clean === text) continue;
    await writeFileAtomic(join(root, path), clean);
    rewritten.push(path);
  }
  return rewritten;
}

/** MEMORY.md, memory_summary.md and every skill file: the files the agent and the person share (relative paths). */
export async function maintainedFiles(root: string): Promise<string[]> {
  return ['MEMORY.md', 'memory_summary.md', ...(await filesUnder(root, 'skills'))];
}

// Every note file, dotted ones included: a file git records must be redacted whatever its name.
async function handWrittenFiles(root: string): Promise<string[]> {
  const notes = (await filesUnder(root, EXTENSIONS_DIR)).filter((p) => roleOf(p) === 'note');
  return [...(await maintainedFiles(root)), ...notes];
}

async function filesUnder(root: string, dir: string): Promise<string[]> {
  const entries = await readdir(join(root, dir), { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => relative(root, join(e.parentPath, e.name)));
}
