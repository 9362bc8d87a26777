// The `memories` command line.
import { Command } from 'commander';
import { ConfigError } from '../services/errors.ts';
import { readPathCommand } from './commands/read-path.ts';
import { BASE_URL_HELP, integer, PROFILE_HELP, WIRE_API_HELP } from './commands/options.ts';
import { registerMachinesCommand } from './commands/machines.ts';
import { runCommand } from './commands/run.ts';
import { statusCommand } from './commands/status.ts';
import { registerWatchCommand } from './commands/watch.ts';
import { registerDoctor } from './commands/doctor.ts';
import { registerForget } from './commands/forget.ts';
import { registerHistoryCommands } from './commands/history.ts';
import { registerConsolidate } from './commands/consolidate.ts';
import { registerNote } from './commands/note.ts';
import { registerServe } from './commands/serve.ts';
import { registerWorker } from './commands/worker.ts';
import { registerPush } from './commands/push.ts';
import { registerPull } from './commands/pull.ts';
import { registerToken } from './commands/token.ts';

const program = new Command()
  .name('memories')
  .description('Long-term memory for coding agents: extract memories from Codex rollouts and consolidate them.')
  .showHelpAfterError()
  .addHelpText(
    'after',
    "\nRun `memories <command> --help` for a command's options and examples.\n" +
      'Structured logs (JSON lines) go to $CODEX_HOME/log/memories.log; the terminal gets human output.\n',
  );

program
  .command('run')
  .description('run the pipeline once: phase 1 (extract), phase 2 (consolidate), or both')
  .option('--codex-home <dir>', 'Codex home (default $CODEX_HOME or ~/.codex)')
  .option('--profile <name>', PROFILE_HELP)
  .option('--phase <phase>', "'1', '2' or 'all'", 'all')
  .option('--model <model>', 'phase-1 model (default from config.toml, else gpt-5.3-codex-spark)')
  .option('--phase2-model <model>', 'phase-2 model (default from config.toml, else gpt-5.3-codex)')
  .option('--base-url <url>', BASE_URL_HELP)
  .option('--wire-api <api>', WIRE_API_HELP)
  .option('--concurrency <n>', 'phase-1 jobs in flight (default 8)', integer('--concurrency'))
  .option('--max-rollouts <n>', 'claim at most this many rollouts (max_rollouts_per_startup)', integer('--max-rollouts'))
  .option(
    '--idle-minutes <n>',
    'idle time before a rollout is eligible, overriding min_rollout_idle_hours',
    integer('--idle-minutes'),
  )
  .option('--max-turns <n>', 'consolidation agent turn cap (default 40)', integer('--max-turns'))
  .option('--max-agent-tokens <n>', 'consolidation agent token cap (default 400000)', integer('--max-agent-tokens'))
  .option('--timeout-ms <n>', 'per-request model timeout', integer('--timeout-ms'))
  .option('--json', 'print one JSON summary object')
  .option('--inspect', 'relay actor events to the Stately inspector (page on 127.0.0.1; the viewer needs internet)')
  .option('--inspect-wait <seconds>', 'with --inspect, wait this long for the page to connect first', integer('--inspect-wait'))
  .option('--events <file>', 'write every actor event as JSONL (mode 0600, secrets redacted)')
  .option('--batch', 'phase 1 through the OpenAI Batch API (half price): collect finished batches, submit new ones')
  .option('--retry-failed', 'make failed phase-1 jobs claimable now instead of after their retry delay')
  .addHelpText(
    'after',
    '\nExit status: 0 all fine, 1 a job or phase failed (reasons on stderr), 2 usage or configuration error,\n' +
      '128+n stopped by signal n (SIGINT/SIGTERM; in-flight jobs are released).\n' +
      '\nExamples:\n  $ memories run                                # both phases, with the provider and key Codex uses\n' +
      '  $ memories run --phase 1 --base-url http://localhost:11434/v1 --wire-api chat --model qwen3\n' +
      '  $ memories run --phase 2 --json               # consolidate only, one JSON summary\n',
  )
  .action(runCommand);

program
  .command('status')
  .description('jobs by state, next retry, lease owners, outputs, last consolidation, watermark')
  .option('--codex-home <dir>', 'Codex home (default $CODEX_HOME or ~/.codex)')
  .option('--json', 'print one JSON object (derived times ISO 8601; job rows as stored, Unix seconds)')
  .addHelpText('after', '\nExamples:\n  $ memories status\n  $ memories status --json | jq .consolidation\n')
  .action(statusCommand);

program
  .command('read-path')
  .description('print the memory instructions an agent loads at start (memory_summary.md cut to 5,000 tokens)')
  .option('--codex-home <dir>', 'Codex home (default $CODEX_HOME or ~/.codex)')
  .addHelpText(
    'after',
    '\nExits 1 when there is no memory_summary.md yet.\n\nExample:\n  $ memories read-path > /tmp/memory-instructions.md\n',
  )
  .action(readPathCommand);

// Further commands register themselves here: `registerX(program)` from scripts/commands/x.ts.
registerMachinesCommand(program);
registerWatchCommand(program);
registerForget(program);
registerDoctor(program);
registerConsolidate(program);
registerHistoryCommands(program);
registerNote(program);
registerServe(program);
registerWorker(program);
registerPush(program);
registerPull(program);
registerToken(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`memories: ${error.message}\n`);
    process.exit(2);
  }
  throw error;
}
