// `memories watch`: the daemon. Watches $CODEX_HOME/sessions and runs the pipeline whenever rollouts
// have gone idle, one line per run on stdout (failures on stderr). SIGINT/SIGTERM stop it (see stop-signals.ts).
import { join } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { toPromise } from 'xstate';
import type { RunReport, RunTrigger } from '../../machines/daemon.ts';
import { existingCodexHome } from '../../services/config/codex-home.ts';
import { refuseIfPulled } from '../../services/fleet/pull.ts';
import { createDaemon, type DaemonOptions } from '../../services/daemon/actors.ts';
import { ConfigError } from '../../services/errors.ts';
import { fileLogger } from '../../services/logger.ts';
import { guessedLayoutWarning, type MemoryLayout, resolveLayout } from '../../services/memory-folder/layout.ts';
import { modelClientFromEndpoint } from '../../services/model/model-endpoint.ts';
import { writeLastRun } from '../../services/telemetry/last-run.ts';
import { measurementsJson, measureRun } from '../../services/telemetry/run-measurements.ts';
import { startTelemetry } from '../../services/telemetry/setup.ts';
import {
  BASE_URL_HELP,
  CODEX_HOME_HELP,
  INIT_HELP,
  integer,
  minutes,
  PROFILE_HELP,
  type PipelineFlags,
  positiveInteger,
  settingsWithFlags,
  WIRE_API_HELP,
} from './options.ts';
import { followProgress } from './progress.ts';
import { formatDuration, phase2Words, runFailures, skippedTotal, unclaimed, unfinishedRunLine } from './run-summary.ts';
import { handleStopSignals } from './stop-signals.ts';
import { addStoreOptions, type StoreFlags, usesPostgres, withStore } from './store-option.ts';

interface WatchFlags extends PipelineFlags, StoreFlags {
  idleSeconds?: number;
  rescanMinutes?: number;
  metricsPort?: number;
  metricsHost: string;
  init?: boolean;
  quiet?: boolean;
}

/** setTimeout cannot wait longer than this (a longer delay fires at once). */
const MAX_TIMER_MS = 2_147_483_647;

function positiveNumber(name: string) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a number > 0`);
    return n;
  };
}

export function registerWatchCommand(program: Command): void {
  const watch = program
    .command('watch')
    .option('--codex-home <dir>', CODEX_HOME_HELP)
    .option('--init', INIT_HELP)
    .option('--profile <name>', PROFILE_HELP)
    .option('--model <model>', 'phase-1 model (default from config.toml, else gpt-5.3-codex-spark)')
    .option('--phase2-model <model>', 'phase-2 model (default from config.toml, else gpt-5.3-codex)')
    .option('--base-url <url>', BASE_URL_HELP)
    .option('--wire-api <api>', WIRE_API_HELP)
    .option('--concurrency <n>', 'phase-1 jobs in flight (default 8)', positiveInteger('--concurrency'))
    .option(
      '--max-rollouts <n>',
      'claim at most this many rollouts per run (max_rollouts_per_startup)',
      positiveInteger('--max-rollouts'),
    )
    .option(
      '--idle-minutes <n>',
      'idle time before a rollout is extracted, overriding min_rollout_idle_hours (fractions allowed)',
      minutes('--idle-minutes'),
    )
    .addOption(
      new Option('--idle-seconds <n>', 'idle window in seconds (tests)').argParser(positiveNumber('--idle-seconds')).hideHelp(),
    )
    .option(
      '--rescan-minutes <n>',
      'also run after this long without one: takes rollouts that went idle with no file event, and failed jobs whose retry delay (1 h) has passed (default 60)',
      positiveNumber('--rescan-minutes'),
    )
    .option('--max-turns <n>', 'consolidation agent turn cap', positiveInteger('--max-turns'))
    .option('--timeout-ms <n>', 'per-request model timeout', positiveInteger('--timeout-ms'))
    .option(
      '--metrics-port <n>',
      "serve Codex's memory metrics for Prometheus at http://HOST:N/metrics (0: any free port)",
      integer('--metrics-port'),
    )
    .option('--metrics-host <address>', 'the address --metrics-port listens on', '127.0.0.1')
    .option('--quiet', 'one line per run: no line per job or phase, no live counter');
  addStoreOptions(watch).action(watchCommand);
}

async function watchCommand(flags: WatchFlags): Promise<void> {
  // Checked first: a malformed --store is a usage error whatever else the command line says.
  usesPostgres(flags);
  const codexHome = existingCodexHome(flags.codexHome, { init: flags.init });
  const { config, endpoint, codex } = await settingsWithFlags(codexHome, flags);
  const idleMinutes =
    flags.idleSeconds !== undefined ? flags.idleSeconds / 60 : (flags.idleMinutes ?? config.minRolloutIdleHours * 60);
  const idleMs = Math.round(idleMinutes * 60_000);
  if (idleMs > MAX_TIMER_MS) throw new ConfigError('the idle window must be under 24 days');
  const log = fileLogger(codexHome);
  // Resolved once for the daemon's runs (as it would itself), so the last-run file lands in their state dir.
  const layout = resolveLayout(codexHome, config);
  await refuseIfPulled(layout.root, 'watch');
  const guessed = guessedLayoutWarning(codexHome, layout);
  if (guessed) err(guessed);
  const prometheus = flags.metricsPort === undefined ? null : { host: flags.metricsHost, port: flags.metricsPort };
  const telemetry = await startTelemetry({ otel: codex.otel, prometheus, notice: err });
  if (telemetry?.metricsUrl) out(`metrics: ${telemetry.metricsUrl}`);
  try {
    // One store for the daemon's life: with PostgreSQL, one connection pool for all its runs.
    await withStore(flags, { codexHome, layout, log }, (store) =>
      watchWith(flags, idleMs, {
        codexHome,
        model: modelClientFromEndpoint(endpoint, flags.timeoutMs),
        config,
        layout,
        store,
        concurrency: flags.concurrency,
        agent: { maxTurns: flags.maxTurns },
        log,
        telemetry,
      }),
    );
  } finally {
    await telemetry?.shutdown();
  }
}

const out = (line: string) => process.stdout.write(`${line}\n`);
const err = (line: string) => process.stderr.write(`memories: ${line}\n`);

/** Runs the daemon until SIGINT/SIGTERM: a line per run on stdout, failures on stderr. */
async function watchWith(
  flags: WatchFlags,
  idleMs: number,
  pipeline: DaemonOptions['pipeline'] & { layout: MemoryLayout },
): Promise<void> {
  const rescanMs = Math.min(MAX_TIMER_MS, Math.round((flags.rescanMinutes ?? 60) * 60_000));
  const counter = process.stderr.isTTY && !flags.quiet ? process.stderr : null;
  // The catch-up run starts beside the watcher: its lines wait for the banner, which waits for the watcher.
  let waiting: string[] | null = [];
  const say = (line: string) => (waiting ? waiting.push(line) : out(line));
  const release = () => {
    for (const line of waiting ?? []) out(line);
    waiting = null;
  };
  const onPipeline: DaemonOptions['onPipeline'] = (actor, { run }) =>
    followProgress(actor, { lines: !flags.quiet, counter, prefix: `run ${run}: `, write: say });
  const daemon = createDaemon({ pipeline, idleMs, rescanMs, onPipeline });
  daemon.on('watch.ready', () => {
    out(
      `watching ${join(pipeline.codexHome, 'sessions')} (pid ${process.pid}): a rollout is extracted once idle for ${formatDuration(idleMs)}`,
    );
    release();
  });
  daemon.on('watch.error', ({ message }) => {
    err(`watcher: ${message}`);
    release();
  });
  daemon.on('run.finished', ({ report }) => {
    say(formatRun(report));
    // As `run` does: a failed job has had its line from the progress; phase 1 or 2 failing as a whole has its own.
    for (const line of runFailures(report.output)) err(`run ${report.run}: ${line}`);
    const lastRun = {
      finishedAt: new Date().toISOString(),
      command: 'watch',
      metrics: measurementsJson(measureRun(report.output)),
    };
    void writeLastRun(pipeline.layout.stateDir, lastRun).catch((error: Error) =>
      err(`could not record run ${report.run}'s counts: ${error.message}`),
    );
  });
  daemon.on('run.failed', ({ run, trigger, error }) => err(`run ${run} (${describeTrigger(trigger)}) failed: ${error}`));
  daemon.on('stopping', ({ runInFlight }) => {
    const releasing =
      runInFlight === null ? '' : `: run ${runInFlight} is releasing its in-flight jobs (signal again to exit at once)`;
    err(`stopping${releasing}`);
  });

  handleStopSignals(() => daemon.send({ type: 'STOP' }));
  const result = await toPromise(daemon);
  release(); // stopped before the watcher was ready
  out(`stopped after ${result.runs} run(s)`);
}

function describeTrigger(trigger: RunTrigger): string {
  switch (trigger.kind) {
    case 'startup':
      return 'startup catch-up';
    case 'idle':
      return trigger.paths.length === 1
        ? `idle: ${trigger.paths[0]!.split(/[\\/]/).pop()}`
        : `${trigger.paths.length} rollouts idle`;
    case 'backlog':
      return 'backlog';
    case 'rescan':
      return 'periodic rescan';
  }
}

function formatRun(report: RunReport): string {
  const parts: string[] = [];
  const p1 = report.output.phase1;
  if (p1) {
    let text =
      `phase 1 claimed ${p1.claimed} of ${p1.eligible} eligible: ${p1.succeeded} with output, ` +
      `${p1.succeededNoOutput} no output, ${p1.failed} failed, ${skippedTotal(p1.skipped)} skipped`;
    if (p1.usage.total > 0) text += `, ${p1.usage.total} tokens`;
    if (p1.unreadable > 0) text += `, ${p1.unreadable} rollout file(s) unreadable (reasons in the log)`;
    if (p1.error) text += ` (error: ${p1.error})`;
    parts.push(text);
  }
  const p2 = report.output.phase2;
  if (p2) {
    let text = `phase 2 ${phase2Words(p2.status)}`;
    if (p2.status === 'succeeded' || p2.status === 'succeededNoInput') {
      text += `: ${p2.selected} selected, ${p2.added} added, ${p2.retained} retained, ${p2.removed} removed`;
    } else if (p2.reason) {
      text += ` (${p2.reason})`;
    }
    parts.push(text);
    const undone = unfinishedRunLine(p2);
    if (undone) parts.push(undone);
  }
  const waiting = p1 ? unclaimed(p1) : 0;
  const more = waiting > 0 ? `; ${waiting} more eligible, the next run takes them` : report.backlog ? '; more waiting' : '';
  const took = report.elapsedMs < 10_000 ? `${report.elapsedMs} ms` : `${(report.elapsedMs / 1000).toFixed(1)} s`;
  return `run ${report.run} (${describeTrigger(report.trigger)}): ${parts.join('; ')}; ${took}${more}`;
}
