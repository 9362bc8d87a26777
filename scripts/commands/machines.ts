// `memories machines`: the pipeline's statecharts for reading offline — Mermaid text, the JSON
// definition (importable into Stately Studio later), or a page that renders them in a browser.
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { ConfigError } from '../../services/errors.ts';
import { unwritable } from './options.ts';
import { offlinePage, PIPELINE_MACHINES, toDefinition, toMermaid } from '../../services/inspect/machine-export.ts';

export function registerMachinesCommand(program: Command): void {
  program
    .command('machines')
    .option('--format <format>', "'mermaid' (one stateDiagram-v2 per machine) or 'json' (definitions)", 'mermaid')
    .option('--html <file>', 'also write a self-contained page that renders the diagrams without network')
    .action(machinesCommand);
}

async function machinesCommand(flags: { format: string; html?: string }): Promise<void> {
  if (flags.format !== 'mermaid' && flags.format !== 'json') {
    throw new ConfigError(`--format must be mermaid or json, not '${flags.format}'`);
  }
  // The page first: an unwritable path is one line and exit 2, with nothing half-printed on stdout.
  if (flags.html) {
    const path = flags.html;
    const page = await offlinePage();
    await writeFile(path, page).catch((error: unknown) => {
      throw unwritable('--html', path, error);
    });
  }
  if (flags.format === 'json') {
    const definitions = Object.fromEntries(PIPELINE_MACHINES.map(({ name, machine }) => [name, toDefinition(machine)]));
    process.stdout.write(`${JSON.stringify(definitions, null, 2)}\n`);
  } else {
    // Mermaid drops `%%` comment lines, so each block still pastes into any Mermaid viewer as is.
    const blocks = PIPELINE_MACHINES.map(({ name, machine }) => `%% machine: ${name}\n${toMermaid(machine)}`);
    process.stdout.write(blocks.join('\n'));
  }
  if (flags.html) {
    process.stderr.write(`memories: wrote ${flags.html}; open it in a browser (no network needed)\n`);
  }
}
