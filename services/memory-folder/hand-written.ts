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

async function handWrittenFiles(root: string): Promise<string[]> {
  const nested = async (dir: string) =>
    (await readdir(join(root, dir), { recursive: true, withFileTypes: true }).catch(() => []))
      .filter((e) => e.isFile())
      .map((e) => relative(root, join(e.parentPath, e.name)));
  const all = ['MEMORY.md', 'memory_summary.md', ...(await nested('skills')), ...(await nested(EXTENSIONS_DIR))];
  return all.filter((p) => roleOf(p) === 'maintained' || roleOf(p) === 'note');
}
