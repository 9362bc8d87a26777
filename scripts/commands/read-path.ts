// `memories read-path`: the developer-instructions block an agent loads at start, from the folder of the
// layout in use (stderr says which and why, so stdout stays the block alone).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadCodexConfig } from '../../services/config/codex-config.ts';
import { MEMORY_SUMMARY_FILE } from '../../services/memory-folder/artifacts.ts';
import { existingCodexHome } from '../../services/config/codex-home.ts';
import { CODEX_HOME_HELP } from './options.ts';
import { resolveLayout } from '../../services/memory-folder/layout.ts';
import { buildReadPathInstructions } from '../../services/memory-folder/read-path.ts';
import type { Command } from 'commander';

export async function readPathCommand(flags: { codexHome?: string }): Promise<void> {
  const codexHome = existingCodexHome(flags.codexHome);
  const codex = await loadCodexConfig(codexHome);
  const config = codex.memories;
  const layout = resolveLayout(codexHome, config);
  process.stderr.write(`memories: layout ${layout.version} at ${layout.root} (${layout.reason})\n`);
  const nothing = (why: string) => {
    process.stderr.write(`memories: ${why}; nothing to load\n`);
    process.exitCode = 1;
  };
  // As Codex: use_memories gates the injection, whatever the folder holds.
  if (!config.useMemories) return nothing('use_memories = false in config.toml, so Codex loads no memory');
  const text = await buildReadPathInstructions(codexHome, layout);
  if (text === null) {
    const exists = existsSync(join(layout.root, MEMORY_SUMMARY_FILE));
    return nothing(exists ? 'memory_summary.md holds nothing but white space' : 'no memory_summary.md yet');
  }
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  // The block stands (another agent may load it), but Codex itself injects it only with the feature on.
  if (!codex.featuresMemories.value) {
    const where = codex.featuresMemories.source === 'default' ? 'off by default' : `false in ${codex.featuresMemories.source}`;
    process.stderr.write(`memories: warning: Codex loads this only with [features] memories = true (${where})\n`);
  }
}

export function registerReadPath(program: Command): void {
  program
    .command('read-path')
    .option('--codex-home <dir>', CODEX_HOME_HELP)
    .addHelpText(
      'after',
      '\nExits 1 when there is nothing to load: no memory_summary.md yet, an empty one, or use_memories = false.\n\nExample:\n  $ memories read-path > /tmp/memory-instructions.md\n',
    )
    .action(readPathCommand);
}
