// `memories read-path`: the developer-instructions block an agent loads at start, from the folder of the
// layout in use (stderr says which and why, so stdout stays the block alone).
import { loadMemoriesConfig } from '../../services/config.ts';
import { existingCodexHome } from '../../services/config/codex-home.ts';
import { CODEX_HOME_HELP } from './options.ts';
import { resolveLayout } from '../../services/memory-folder/layout.ts';
import { buildReadPathInstructions } from '../../services/memory-folder/read-path.ts';
import type { Command } from 'commander';

export async function readPathCommand(flags: { codexHome?: string }): Promise<void> {
  const codexHome = existingCodexHome(flags.codexHome);
  const layout = resolveLayout(codexHome, await loadMemoriesConfig(codexHome));
  process.stderr.write(`memories: layout ${layout.version} at ${layout.root} (${layout.reason})\n`);
  const text = await buildReadPathInstructions(codexHome, layout);
  if (text === null) {
    process.stderr.write('memories: no memory_summary.md yet; nothing to load\n');
    process.exitCode = 1;
    return;
  }
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function registerReadPath(program: Command): void {
  program
    .command('read-path')
    .option('--codex-home <dir>', CODEX_HOME_HELP)
    .addHelpText(
      'after',
      '\nExits 1 when there is no memory_summary.md yet.\n\nExample:\n  $ memories read-path > /tmp/memory-instructions.md\n',
    )
    .action(readPathCommand);
}
