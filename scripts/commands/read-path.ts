// `memories read-path`: the developer-instructions block an agent loads at start.
import { defaultCodexHome } from '../../services/config.ts';
import { buildReadPathInstructions } from '../../services/memory-folder/read-path.ts';

export async function readPathCommand(flags: { codexHome?: string }): Promise<void> {
  const text = await buildReadPathInstructions(flags.codexHome ?? defaultCodexHome());
  if (text === null) {
    process.stderr.write('memories: no memory_summary.md yet; nothing to load\n');
    process.exitCode = 1;
    return;
  }
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}
