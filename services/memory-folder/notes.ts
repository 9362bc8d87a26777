// A person's ad-hoc notes (Codex 0.169's `extensions/ad_hoc/`): written by `memories note` or dropped in by hand,
// absorbed by the next consolidation. A note holds what the person typed, so it is redacted like a transcript.
import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ensureDir, writeFileAtomic } from '../files/atomic-write.ts';
import { GIT_DIR } from '../memory-history/git-dir.ts';
import { redactSecrets } from '../redaction/redact.ts';
import { loadTemplate } from '../templates.ts';
import { EXTENSION_INSTRUCTIONS, NOTES_DIR } from './folder-roles.ts';

/** In the state folder: when notes were last found changed and consolidation queued for them. */
export const NOTES_QUEUED_FILE = 'notes-queued';

/** Writes `text` (redacted) as a new note; returns its path relative to the memory root. */
export async function addNote(root: string, text: string, now = new Date()): Promise<string> {
  if (text.trim() === '') throw new Error('the note is empty');
  await ensureDir(root, { followLink: true });
  await ensureDir(join(root, NOTES_DIR));
  await writeNotesInstructions(root);
  // Sortable by time; the random tail keeps two notes of the same second apart.
  const name = `${now.toISOString().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}.md`;
  const body = redactSecrets(text.trimEnd());
  await writeFileAtomic(join(root, NOTES_DIR, name), `${body}\n`);
  return `${NOTES_DIR}/${name}`;
}

/** The extension's instructions, as the agent (ours or Codex's) reads them; rewritten only when they differ. */
export async function writeNotesInstructions(root: string): Promise<void> {
  const path = join(root, NOTES_DIR, EXTENSION_INSTRUCTIONS);
  const text = await loadTemplate('ad_hoc_instructions');
  const current = await readFile(path, 'utf8').catch(() => null);
  if (current === text) return;
  await ensureDir(join(root, NOTES_DIR));
  await writeFileAtomic(path, text);
}

/** The note files (paths relative to the root), newest change last. */
export async function listNotes(root: string): Promise<{ path: string; changedMs: number }[]> {
  const entries = await readdir(join(root, NOTES_DIR), { withFileTypes: true }).catch(() => []);
  const notes = [];
  for (const entry of entries) {
    if (!entry.isFile() || entry.name === EXTENSION_INSTRUCTIONS || entry.name.startsWith('.')) continue;
    const info = await stat(join(root, NOTES_DIR, entry.name)).catch(() => null);
    // ctime: a note moved in with its old mtime kept (`cp -p`, `mv`) is still new here.
    if (info) notes.push({ path: `${NOTES_DIR}/${entry.name}`, changedMs: Math.max(info.mtimeMs, info.ctimeMs) });
  }
  return notes.sort((a, b) => a.changedMs - b.changedMs);
}

/**
 * When a note last changed, if after both the last baseline and `sinceMs`: the next consolidation then has
 * something to absorb. The baseline's time is its ref file's, so this needs no git library.
 */
export async function noteChangedSince(root: string, sinceMs = 0): Promise<number | null> {
  const newest = (await listNotes(root)).at(-1);
  if (newest === undefined) return null;
  const baseline = await stat(join(root, GIT_DIR, 'refs', 'heads', 'main')).then(
    (s) => s.mtimeMs,
    () => 0,
  );
  return newest.changedMs > Math.max(baseline, sinceMs) ? newest.changedMs : null;
}

/** A watermark (Unix seconds, as sessions' `updated_at`) that makes consolidation due for a note changed at `ms`. */
export const noteWatermark = (ms: number) => Math.ceil(ms / 1000);

/** Marks `path` (a state file) as touched now: when notes were last queued for a consolidation. */
export async function touch(path: string): Promise<void> {
  const now = new Date();
  await ensureDir(dirname(path), { followLink: true });
  await utimes(path, now, now).catch(() => writeFile(path, '', { mode: 0o600 }));
}
