// The `memories` command line. Only the command that runs is loaded: `memories --help` needs the names and
// descriptions below and nothing else, so it starts as fast as node itself.
import { Command, CommanderError } from 'commander';
import { ConfigError, StoreUnavailableError } from '../services/errors.ts';
import { packageVersion } from '../services/package-version.ts';

type Register = (program: Command) => void;

/** Each command's one-line description and the module that defines its options and runs it. */
const COMMANDS: Record<string, [description: string, load: () => Promise<Register>]> = {
  run: [
    'run the pipeline once: phase 1 (extract), phase 2 (consolidate), or both',
    async () => (await import('./commands/run.ts')).registerRun,
  ],
  status: [
    'jobs by state, next retry, lease owners, outputs, last consolidation, watermark',
    async () => (await import('./commands/status.ts')).registerStatus,
  ],
  'read-path': [
    'print the memory instructions an agent loads at start (memory_summary.md cut to 5,000 tokens)',
    async () => (await import('./commands/read-path.ts')).registerReadPath,
  ],
  watch: [
    'run as a daemon: extract each rollout once it has been idle, consolidate after each run',
    async () => (await import('./commands/watch.ts')).registerWatchCommand,
  ],
  consolidate: [
    'run phase 2 (consolidation) now; --now also when nothing made it due or a failure set a retry time',
    async () => (await import('./commands/consolidate.ts')).registerConsolidate,
  ],
  note: [
    'add an ad-hoc note to memory: facts the next consolidation absorbs and tags [ad-hoc note]',
    async () => (await import('./commands/note.ts')).registerNote,
  ],
  log: [
    'one line per revision of the memory folder: consolidations and reverts, newest first',
    async () => (await import('./commands/history.ts')).registerHistoryCommands,
  ],
  diff: [
    'what changed: the folder against its last revision, or REV against the revision before it',
    async () => (await import('./commands/history.ts')).registerHistoryCommands,
  ],
  revert: [
    'put the memory folder back to REV, recorded as a new revision (later ones stay in the history)',
    async () => (await import('./commands/history.ts')).registerHistoryCommands,
  ],
  forget: [
    "remove a thread's stage-1 output and mark consolidation dirty (the next phase 2 drops its memory)",
    async () => (await import('./commands/forget.ts')).registerForget,
  ],
  doctor: [
    'check CODEX_HOME, sessions, config.toml, the model endpoint, the hand-off to Codex and the store; one line per check',
    async () => (await import('./commands/doctor.ts')).registerDoctor,
  ],
  machines: [
    'print the coordinator, extraction, consolidation, batch and daemon statecharts (works offline)',
    async () => (await import('./commands/machines.ts')).registerMachinesCommand,
  ],
  serve: [
    'serve the fleet memory API and run a worker on the shared queue',
    async () => (await import('./commands/serve.ts')).registerServe,
  ],
  worker: [
    'run fleet extraction and consolidation workers from the shared queue',
    async () => (await import('./commands/worker.ts')).registerWorker,
  ],
  push: [
    "upload this host's idle rollouts (redacted here) to the fleet",
    async () => (await import('./commands/push.ts')).registerPush,
  ],
  pull: [
    "write the namespace's memory folder into this Codex home",
    async () => (await import('./commands/pull.ts')).registerPull,
  ],
  token: ['fleet access tokens', async () => (await import('./commands/token.ts')).registerToken],
};

/** The optional packages a command needs as a whole: its install line names them all, not the first one missing. */
const OPTIONAL_PACKAGES: Record<string, string[]> = { serve: ['pg', 'fastify'], worker: ['pg'], token: ['pg'] };

/** The line for a command whose module, or a feature it loads, needs an optional package that is not installed. */
async function missingPackagesLine(command: string | undefined, error: unknown): Promise<string | undefined> {
  // Loaded on this path only: a command that starts reads no package.json for it.
  const optional = await import('../services/optional-module.ts');
  const feature = `\`memories ${command}\``;
  const needs = command === undefined ? undefined : OPTIONAL_PACKAGES[command];
  if (needs && optional.isMissingModule(error, needs)) return optional.missingPackagesLine(feature, needs);
  const peer = optional.missingOptionalPeer(error);
  return peer === undefined ? undefined : optional.missingPackagesLine(feature, [peer]);
}

// `memories log | head -1` closes the pipe before all is written: stop quietly, as other command-line tools do.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const program = new Command()
  .name('memories')
  .description('Long-term memory for coding agents: extract memories from Codex rollouts and consolidate them.')
  .version(packageVersion(), '-V, --version', 'print the version')
  .addHelpText(
    'after',
    "\nRun `memories <command> --help` for a command's options and examples.\n" +
      'Structured logs (JSON lines) go to $CODEX_HOME/log/memories.log; the terminal gets human output.\n',
  )
  // A usage error is one line on stderr and exit status 2, never a page of help.
  .configureOutput({ outputError: (text, write) => write(`memories: ${text.replace(/^error: /, '')}`) })
  .exitOverride();

const words = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));
// `memories help run` shows run's options, so it loads run too.
const requested = words[0] === 'help' ? words[1] : words[0];
const entry = requested === undefined ? undefined : COMMANDS[requested];

try {
  // Inside the try: a command module that imports an optional package fails here when it is not installed.
  if (entry) (await entry[1]())(program);
  for (const [name, [description]] of Object.entries(COMMANDS)) {
    const command = program.commands.find((c) => c.name() === name) ?? program.command(name);
    command.description(description);
  }
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : 2);
  if (error instanceof ConfigError) {
    process.stderr.write(`memories: ${error.message}\n`);
    process.exit(2);
  }
  // Like an unreachable model: the command line was right, the world was not.
  if (error instanceof StoreUnavailableError) {
    process.stderr.write(`memories: ${error.message}\n`);
    process.exit(1);
  }
  const missing = await missingPackagesLine(requested, error);
  if (missing) {
    process.stderr.write(`memories: ${missing}\n`);
    process.exit(2);
  }
  throw error;
}
