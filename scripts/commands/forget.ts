// `memories forget <thread-id>`: drop a stage-1 output and mark consolidation dirty, so the next phase 2
// drops its memory. The job row (and its watermark) stays, so the rollout is not re-extracted unless it changes.
import type { Command } from 'commander';
import { loadMemoriesConfig } from '../../services/config.ts';
import { existingCodexHome } from '../../services/config/codex-home.ts';
import { CODEX_HOME_HELP } from './options.ts';
import { StoreCorruptError } from '../../services/errors.ts';
import { fileLogger } from '../../services/logger.ts';
import { resolveLayout } from '../../services/memory-folder/layout.ts';
import { createLowdbStore } from '../../services/store/lowdb-store.ts';
import type { MemoryStore } from '../../services/store/port.ts';
import { addStoreOptions, type StoreFlags, usesPostgres, withStore } from './store-option.ts';

interface ForgetFlags extends StoreFlags {
  codexHome?: string;
  json?: boolean;
}

export function registerForget(program: Command): void {
  const forget = program
    .command('forget')
    .argument('<thread-id>', "the rollout's thread id (see `memories status`)")
    .option('--codex-home <dir>', CODEX_HOME_HELP)
    .option('--json', 'print one JSON object')
    .addHelpText('after', '\nExample:\n  $ memories forget 019a0c3e-7b4f-7d21-9c55-2f1e0b6a4d10 && memories run --phase 2\n');
  addStoreOptions(forget).action(forgetCommand);
}

async function forgetCommand(threadId: string, flags: ForgetFlags): Promise<void> {
  usesPostgres(flags);
  const codexHome = existingCodexHome(flags.codexHome);
  const layout = resolveLayout(codexHome, await loadMemoriesConfig(codexHome));
  // The store the runs use: a v2 memory lives in the v2 store, and --store (or MEMORIES_STORE) names PostgreSQL.
  await withStore(flags, { codexHome, layout }, (store) =>
    forgetIn(store ?? createLowdbStore({ dir: layout.stateDir }), threadId, codexHome, flags),
  );
}

async function forgetIn(store: MemoryStore, threadId: string, codexHome: string, flags: ForgetFlags): Promise<void> {
  const fail = (message: string) => {
    process.stderr.write(`memories: ${message}\n`);
    process.exitCode = 1;
  };
  const id = threadId.trim();
  if (id === '') return fail('forget needs a thread id');

  let removed: boolean;
  try {
    removed = await store.forgetThread(id);
  } catch (error) {
    if (error instanceof StoreCorruptError) return fail(error.message);
    throw error;
  }
  if (!removed) {
    const job = (await store.status()).jobs.find((j) => j.jobKey === id);
    return fail(
      job
        ? `thread ${id} has no stage-1 output to forget (${job.status === 'done' ? 'already forgotten, or its rollout yielded no memory' : `its stage-1 job is ${job.status}`})`
        : `no stage-1 output for thread ${id} in ${store.location} (see \`memories status\` for known threads)`,
    );
  }
  try {
    fileLogger(codexHome).info({ threadId: id }, 'forgot stage-1 output; consolidation marked dirty');
  } catch {
    // The log is a convenience; the store change already happened.
  }
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ forgotten: id, consolidationDirty: true })}\n`);
  } else {
    process.stdout.write(
      `forgot thread ${id}: stage-1 output removed, consolidation marked dirty; ` +
        'the next `memories run` (or `run --phase 2`) removes it from the memory folder\n',
    );
  }
}
