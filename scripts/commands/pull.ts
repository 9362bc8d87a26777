// `memories pull`: the namespace's newest memory folder into this Codex home, swapped in atomically.
import { join } from 'node:path';
import type { Command } from 'commander';
import { existingCodexHome } from '../../services/config/codex-home.ts';
import { pullMemory } from '../../services/fleet/pull.ts';
import { INIT_HELP } from './options.ts';
import { addClientOptions, clientOf, failWith, type FleetClientFlags } from './push.ts';

interface PullFlags extends FleetClientFlags {
  init?: boolean;
}

export function registerPull(program: Command): void {
  addClientOptions(program.command('pull'))
    .option('--init', INIT_HELP)
    .addHelpText(
      'after',
      '\nThe folder is the one the Codex here reads (memories/ or memories_v2/), swapped in whole: a session starting\n' +
        'meanwhile sees the old memory or the new one. A folder that was not pulled is moved aside, never deleted.\n' +
        '\nExample (start of a CI job, on a runner without a Codex home yet):\n' +
        '  $ memories pull --server https://memories.internal --namespace ci --init\n',
    )
    .action((flags: PullFlags) => pullCommand(flags).catch(failWith));
}

async function pullCommand(flags: PullFlags): Promise<void> {
  // A new host (a CI runner) pulls into a home it creates with --init; a mistyped --codex-home is an error.
  const codexHome = existingCodexHome(flags.codexHome, { init: flags.init });
  const result = await pullMemory(clientOf(flags), flags.namespace, codexHome, { init: flags.init });
  if (flags.json) return void process.stdout.write(`${JSON.stringify(result)}\n`);
  const what =
    result.revision === 0
      ? `namespace ${flags.namespace} has no memory yet`
      : result.unchanged
        ? `revision ${result.revision} is already here`
        : `revision ${result.revision}: ${result.files} file(s)`;
  process.stdout.write(`${what} (${result.root})\n`);
  const config = join(codexHome, 'config.toml');
  if (result.configured.added.length > 0) process.stderr.write(`${config}: added ${result.configured.added.join(', ')}\n`);
  for (const key of result.configured.manual) {
    process.stderr.write(`memories: ${config}: add ${key} by hand (its table is not written as [table] lines)\n`);
  }
}
