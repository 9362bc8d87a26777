// `memories log`, `memories diff [REV]` and `memories revert REV`: the memory folder's history, read and corrected.
import type { Command } from 'commander';
import { loadMemoriesConfig } from '../../services/config.ts';
import { ConfigError } from '../../services/errors.ts';
import { existingCodexHome } from '../../services/config/codex-home.ts';
import { CODEX_HOME_HELP } from './options.ts';
import { resolveLayout } from '../../services/memory-folder/layout.ts';
import { diffRevision, revertTo } from '../../services/memory-history/history.ts';
import { openRepo } from '../../services/memory-history/repo.ts';
import { isLive } from '../../services/store/job-rows.ts';
import { createLowdbStore } from '../../services/store/lowdb-store.ts';
import type { MemoryStore } from '../../services/store/port.ts';
import { type Revision, readRevisions } from '../../services/memory-history/revisions.ts';
import { addStoreOptions, type StoreFlags, usesPostgres, withStore } from './store-option.ts';

interface HistoryFlags {
  codexHome?: string;
  json?: boolean;
}

export function registerHistoryCommands(program: Command): void {
  program
    .command('log')
    .option('--codex-home <dir>', CODEX_HOME_HELP)
    .option('--json', 'print one JSON object (times ISO 8601)')
    .addHelpText('after', '\nExamples:\n  $ memories log\n  $ memories log --json | jq ".revisions[0]"\n')
    .action(guarded(logCommand));
  program
    .command('diff')
    .argument('[rev]', 'a revision id from `memories log` (abbreviated is fine), HEAD or HEAD~n')
    .option('--codex-home <dir>', CODEX_HOME_HELP)
    .option('--json', 'print one JSON object')
    .addHelpText(
      'after',
      '\nExamples:\n  $ memories diff            # hand edits since the last consolidation\n  $ memories diff HEAD\n',
    )
    .action(guarded(diffCommand));
  const revert = program
    .command('revert')
    .argument('<rev>', 'a revision id from `memories log` (abbreviated is fine), HEAD or HEAD~n')
    .option('--codex-home <dir>', CODEX_HOME_HELP)
    .option('--json', 'print one JSON object')
    .addHelpText('after', '\nExample:\n  $ memories revert HEAD~1 && memories consolidate --now\n');
  addStoreOptions(revert).action(guarded(revertCommand));
}

async function layoutOf(flags: HistoryFlags) {
  const codexHome = existingCodexHome(flags.codexHome);
  return resolveLayout(codexHome, await loadMemoriesConfig(codexHome));
}

const memoryRoot = async (flags: HistoryFlags) => (await layoutOf(flags)).root;

// A consolidation running now would commit on top of the revert, or put its own snapshot back over it on failure.
async function refuseWhileConsolidating(store: MemoryStore): Promise<void> {
  const job = (await store.status()).globalJob;
  if (job && isLive(job, Math.floor(Date.now() / 1000))) {
    throw new Error('a consolidation is running on this memory folder; revert when it has finished');
  }
}

// A bad revision is the user's mistake: one line on stderr and exit 1, not a stack trace.
function guarded<A extends unknown[]>(command: (...args: A) => Promise<void>) {
  return async (...args: A) => {
    try {
      await command(...args);
    } catch (error) {
      // A missing Codex home or a bad config.toml is a usage error (exit 2), decided in cli.ts.
      if (error instanceof ConfigError) throw error;
      process.stderr.write(`memories: ${(error as Error).message}\n`);
      process.exitCode = 1;
    }
  };
}

async function logCommand(flags: HistoryFlags): Promise<void> {
  const root = await memoryRoot(flags);
  const revisions = await readRevisions(await openRepo(root, false));
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ root, revisions: revisions.map(revisionJson) })}\n`);
    return;
  }
  if (revisions.length === 0) process.stdout.write(`no revisions yet in ${root}: no consolidation has succeeded\n`);
  for (const r of revisions) process.stdout.write(`${logLine(r)}\n`);
}

function revisionJson(r: Revision) {
  return { ...r, time: new Date(r.time * 1000).toISOString() };
}

function logLine(r: Revision): string {
  const size = r.memoryBytes === null ? 'no MEMORY.md' : `MEMORY.md ${r.memoryBytes} bytes`;
  const what =
    r.kind === 'revert'
      ? `revert to ${r.revertedTo?.slice(0, 7) ?? '?'}`
      : r.kind === 'edits'
        ? 'hand edits'
        : `consolidation +${r.added} added, ${r.retained} retained, -${r.removed} removed, ${r.notes} note(s)`;
  return `${r.id.slice(0, 7)}  ${new Date(r.time * 1000).toISOString()}  ${what}  ${size}`;
}

async function diffCommand(rev: string | undefined, flags: HistoryFlags): Promise<void> {
  const diff = await diffRevision(await memoryRoot(flags), rev);
  if (flags.json) {
    const { revision, baseline, changes, patch } = diff;
    process.stdout.write(`${JSON.stringify({ revision, against: baseline, changes, patch })}\n`);
    return;
  }
  const against = diff.baseline ? diff.baseline.slice(0, 7) : 'nothing (first revision)';
  process.stdout.write(`${diff.revision ? diff.revision.slice(0, 7) : 'working folder'} against ${against}\n`);
  if (diff.changes.length === 0) process.stdout.write('no changes\n');
  for (const change of diff.changes) process.stdout.write(`${change.status.padEnd(8)} ${change.path}\n`);
  if (diff.patch !== '') process.stdout.write(`\n${diff.patch}`);
}

async function revertCommand(rev: string, flags: HistoryFlags & StoreFlags): Promise<void> {
  usesPostgres(flags);
  const codexHome = existingCodexHome(flags.codexHome);
  const layout = resolveLayout(codexHome, await loadMemoriesConfig(codexHome));
  // The consolidation to wait for is the one in the store the runs use (--store, MEMORIES_STORE).
  await withStore(flags, { codexHome, layout }, (store) =>
    refuseWhileConsolidating(store ?? createLowdbStore({ dir: layout.stateDir })),
  );
  const result = await revertTo(layout.root, rev);
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  if (result.revision === null) {
    process.stdout.write(
      `memory folder is already at ${result.revertedTo.slice(0, 7)}, with no edits since: nothing to revert\n`,
    );
    return;
  }
  const saved = result.savedEdits
    ? `your edits since the last revision were recorded first as ${result.savedEdits.slice(0, 7)}; `
    : '';
  process.stdout.write(
    `memory folder back to ${result.revertedTo.slice(0, 7)}, recorded as ${result.revision.slice(0, 7)}; ${saved}` +
      'run `memories consolidate --now` to fold current inputs into it\n',
  );
}
