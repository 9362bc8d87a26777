// The `memories` command line.
import { Command } from 'commander';
import { ConfigError } from '../services/errors.ts';
import { readPathCommand } from './commands/read-path.ts';
import { integer } from './commands/options.ts';
import { runCommand } from './commands/run.ts';
import { statusCommand } from './commands/status.ts';

const program = new Command()
  .name('memories')
  .description('Long-term memory for coding agents: extract memories from Codex rollouts and consolidate them.')
  .showHelpAfterError();

program
  .command('run')
  .description('run the pipeline once: phase 1 (extract), phase 2 (consolidate), or both')
  .option('--codex-home <dir>', 'Codex home (default $CODEX_HOME or ~/.codex)')
  .option('--phase <phase>', "'1', '2' or 'all'", 'all')
  .option('--model <model>', 'phase-1 model (default from config.toml, else gpt-5.3-codex-spark)')
  .option('--phase2-model <model>', 'phase-2 model (default from config.toml, else gpt-5.3-codex)')
  .option('--base-url <url>', 'OpenAI-compatible endpoint (default $OPENAI_BASE_URL or api.openai.com)')
  .option('--wire-api <api>', "'responses' or 'chat'", 'responses')
  .option('--concurrency <n>', 'phase-1 jobs in flight (default 8)', integer('--concurrency'))
  .option('--max-rollouts <n>', 'claim at most this many rollouts (max_rollouts_per_startup)', integer('--max-rollouts'))
  .option('--idle-minutes <n>', 'idle time before a rollout is eligible, overriding min_rollout_idle_hours', integer('--idle-minutes'))
  .option('--max-turns <n>', 'consolidation agent turn cap (default 40)', integer('--max-turns'))
  .option('--max-agent-tokens <n>', 'consolidation agent token cap (default 400000)', integer('--max-agent-tokens'))
  .option('--timeout-ms <n>', 'per-request model timeout', integer('--timeout-ms'))
  .option('--json', 'print one JSON summary object')
  .action(runCommand);

program
  .command('status')
  .description('list jobs, stage-1 outputs and the consolidation state')
  .option('--codex-home <dir>', 'Codex home (default $CODEX_HOME or ~/.codex)')
  .option('--json', 'print JSON')
  .action(statusCommand);

program
  .command('read-path')
  .description('print the memory instructions an agent loads at start (memory_summary.md cut to 5,000 tokens)')
  .option('--codex-home <dir>', 'Codex home (default $CODEX_HOME or ~/.codex)')
  .action(readPathCommand);

// Further commands register themselves here: `registerX(program)` from scripts/commands/x.ts.

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`memories: ${error.message}\n`);
    process.exit(2);
  }
  throw error;
}
