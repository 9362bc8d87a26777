// `memories note "text"`: an ad-hoc note for the memory, absorbed by the next consolidation (Codex 0.169's
// `extensions/ad_hoc/`). The note is redacted before it is written; consolidation is marked due.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadMemoriesConfig } from '../../services/config.ts';
import { existingCodexHome } from '../../services/config/codex-home.ts';
import { CODEX_HOME_HELP, unreadable } from './options.ts';
import { StoreCorruptError } from '../../services/errors.ts';
import { refuseIfPulled } from '../../services/fleet/pull.ts';
import { NOTES_DIR } from '../../services/memory-folder/folder-roles.ts';
import { resolveLayout } from '../../services/memory-folder/layout.ts';
import { addNote, noteWatermark } from '../../services/memory-folder/notes.ts';
import { createLowdbStore } from '../../services/store/lowdb-store.ts';
import { addStoreOptions, type StoreFlags, usesPostgres, withStore } from './store-option.ts';

interface NoteFlags extends StoreFlags {
  codexHome?: string;
  file?: string;
  json?: boolean;
}

export function registerNote(program: Command): void {
  const note = program
    .command('note')
    .argument('[text...]', 'the note; or use --file, or pipe it on stdin')
    .option('--file <path>', 'read the note from a file ("-" for stdin)')
    .option('--codex-home <dir>', CODEX_HOME_HELP)
    .option('--json', 'print one JSON object')
    .addHelpText(
      'after',
      '\nA note is information, never an instruction to the agent; secrets in it are redacted.\n' +
        'It lands in <memory folder>/extensions/ad_hoc/ (you may also drop .md files there yourself).\n' +
        '\nExamples:\n  $ memories note "The staging database moved to db-stage-7"\n' +
        '  $ memories note "Prefer pnpm over npm in this repo" && memories consolidate --now\n',
    );
  addStoreOptions(note).action(noteCommand);
}

async function noteCommand(words: string[], flags: NoteFlags): Promise<void> {
  usesPostgres(flags);
  const codexHome = existingCodexHome(flags.codexHome);
  const layout = resolveLayout(codexHome, await loadMemoriesConfig(codexHome));
  // A note in a pulled revision would be absorbed by no run here and lost at the next pull.
  await refuseIfPulled(layout.root, 'note');
  let path = '';
  try {
    const text = await noteText(words, flags);
    // Marked due in the store the runs use (--store, MEMORIES_STORE), or the next run would not absorb it.
    await withStore(flags, { codexHome, layout }, async (store) => {
      path = await addNote(layout.root, text).catch((error: NodeJS.ErrnoException) => {
        // A read-only, full or odd folder: the person must know the note is nowhere, in one line.
        // Some of Node's messages name no file (`EROFS: read-only file system, fchmod`): the folder is named here.
        throw typeof error.code === 'string' ? new NoteNotSavedError(join(layout.root, NOTES_DIR), error.message) : error;
      });
      await (store ?? createLowdbStore({ dir: layout.stateDir })).enqueueGlobalConsolidation(noteWatermark(Date.now()));
    });
  } catch (error) {
    const known = error instanceof StoreCorruptError || error instanceof NoteNotSavedError;
    if (!known && !/^the note is empty/.test((error as Error).message)) throw error;
    process.stderr.write(`memories: ${(error as Error).message}\n`);
    process.exitCode = 1;
    return;
  }
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ note: path, root: layout.root, consolidationDirty: true })}\n`);
    return;
  }
  process.stdout.write(
    `noted in ${layout.root}/${path}; the next consolidation absorbs it (\`memories consolidate --now\` to do it now)\n`,
  );
}

class NoteNotSavedError extends Error {
  constructor(folder: string, reason: string) {
    super(`the note was not saved in ${folder}: ${reason}`);
  }
}

async function noteText(words: string[], flags: NoteFlags): Promise<string> {
  if (flags.file === '-' || (words.length === 0 && flags.file === undefined && !process.stdin.isTTY)) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }
  const file = flags.file;
  if (file !== undefined)
    return readFile(file, 'utf8').catch((error: unknown) => {
      throw unreadable('--file', file, error);
    });
  return words.join(' ');
}
