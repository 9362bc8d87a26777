// `memories run`: one pass of the pipeline, with a progress line per job and a summary.
import { existsSync } from 'node:fs';
import { existingCodexHome } from '../../services/config/codex-home.ts';
import { refuseIfPulled } from '../../services/fleet/pull.ts';
import type { EffectiveSettings } from '../../services/config/effective-settings.ts';
import { ConfigError } from '../../services/errors.ts';
import { fileLogger, type Logger } from '../../services/logger.ts';
import { guessedLayoutWarning, type MemoryLayout, resolveLayout } from '../../services/memory-folder/layout.ts';
import { createInspection } from '../../services/inspect/inspector.ts';
import { writeLastRun } from '../../services/telemetry/last-run.ts';
import { type MeasurementsJson, measurementsJson, measureRun } from '../../services/telemetry/run-measurements.ts';
import { startTelemetry } from '../../services/telemetry/setup.ts';
import type { Telemetry } from '../../services/telemetry/telemetry.ts';
import { modelClientFromEndpoint, type ModelEndpoint } from '../../services/model/model-endpoint.ts';
import type { BatchPhase1Summary } from '../../machines/batch.ts';
import type { CoordinatorOutput } from '../../machines/coordinator.ts';
import {
  type MemoriesPipeline,
  type Phase,
  type PipelineOptions,
  pipelineDeps,
  runPipeline,
  stopPipeline,
} from '../../services/pipeline.ts';
import { type PipelineFlags, settingsWithFlags } from './options.ts';
import { addStoreOptions, type StoreFlags, type StorePlace, usesPostgres, withStore } from './store-option.ts';
import type { MemoryStore } from '../../services/store/port.ts';
import { batchFailureLines, batchJobsJson, formatBatchPhase1 } from './batch-summary.ts';
import { followProgress, onceConsolidating } from './progress.ts';
import { failedAnything, formatSummary, runFailures, summaryJson } from './run-summary.ts';
import { exitOnSignal, handleStopSignals, signalExitCode } from './stop-signals.ts';
import type { Command } from 'commander';
import {
  BASE_URL_HELP,
  CODEX_HOME_HELP,
  INIT_HELP,
  integer,
  minutes,
  PROFILE_HELP,
  positiveInteger,
  unwritable,
  WIRE_API_HELP,
} from './options.ts';

interface RunFlags extends PipelineFlags, StoreFlags {
  phase: string;
  maxAgentTokens?: number;
  json?: boolean;
  inspect?: boolean;
  inspectWait?: number;
  events?: string;
  batch?: boolean;
  retryFailed?: boolean;
  init?: boolean;
  quiet?: boolean;
}

const warn = (line: string) => process.stderr.write(`memories: ${line}\n`);

export async function runCommand(flags: RunFlags): Promise<void> {
  // Checked first: a malformed --store is a usage error whatever else the command line says.
  const postgres = usesPostgres(flags);
  if (!['1', '2', 'all'].includes(flags.phase)) throw new ConfigError(`--phase must be 1, 2 or all, not '${flags.phase}'`);
  if (flags.batch && flags.phase === '2') throw new ConfigError('--batch applies to phase 1; use --phase 1 or all');
  const codexHome = existingCodexHome(flags.codexHome, { init: flags.init });
  const { config, endpoint, codex } = await settingsWithFlags(codexHome, flags);
  if (flags.batch && endpoint.wireApi.value !== 'responses') {
    throw new ConfigError(`--batch needs the responses wire, not ${endpoint.wireApi.value} (${endpoint.wireApi.source})`);
  }
  // Said before connecting: the PostgreSQL store has no table for submitted batches.
  if (postgres && flags.batch) {
    throw new ConfigError(
      '--batch needs the lowdb store: the PostgreSQL store (--store, MEMORIES_STORE) does not record batches',
    );
  }
  // Resolved once: it may run `codex --version`, and the store's namespace, --retry-failed, --batch and the summary need it.
  const layout = resolveLayout(codexHome, config);
  await refuseIfPulled(layout.root, 'run');
  const guessed = guessedLayoutWarning(codexHome, layout);
  if (guessed) warn(guessed);
  const log = fileLogger(codexHome);
  // Loaded only when an exporter is configured; exported before exit, also after a failure or a signal.
  const telemetry = await startTelemetry({ otel: codex.otel, notice: warn });
  try {
    await withStore(flags, { codexHome, layout, log }, (store) =>
      runWith(flags, { codexHome, layout, log, store }, { config, endpoint }, telemetry),
    );
  } finally {
    await telemetry?.shutdown();
  }
}

async function runWith(
  flags: RunFlags,
  { codexHome, layout, log, store }: StorePlace & { log: Logger; store: MemoryStore | undefined },
  { config, endpoint }: Pick<EffectiveSettings, 'config' | 'endpoint'>,
  telemetry: Telemetry | undefined,
): Promise<void> {
  const model = modelClientFromEndpoint(endpoint, flags.timeoutMs);
  const started = performance.now();
  let phase2Started: number | undefined;
  let phase2Ms = 0;
  let actor: MemoriesPipeline | undefined;
  let stopped: Promise<void> | undefined;
  let endProgress: (() => void) | undefined;
  const signal = handleStopSignals((received) => {
    // Before the pipeline starts this process holds no lease, so there is nothing to give back.
    if (!actor) return exitOnSignal(received);
    warn(`${received}: stopping, releasing in-flight jobs (signal again to exit at once)`);
    stopped = stopPipeline(actor);
  });

  const inspection = await openInspection(flags);
  const options: PipelineOptions = {
    inspect: inspection.inspect,
    telemetry,
    codexHome,
    model,
    config,
    layout,
    store,
    phase: flags.phase as Phase,
    concurrency: flags.concurrency,
    minIdleMinutes: flags.idleMinutes,
    agent: { maxTurns: flags.maxTurns, maxTotalTokens: flags.maxAgentTokens },
    log,
  };
  if (flags.retryFailed) {
    options.store = pipelineDeps(options).store;
    const retried = await options.store.retryFailedStage1Jobs();
    if (!flags.json && !flags.quiet) process.stdout.write(`--retry-failed: ${retried} failed job(s) claimable now\n`);
  }
  // --batch: phase 1 goes through the Batch API; the coordinator then runs phase 2 only.
  const batch = flags.batch ? await batchPhase1(options, flags, endpoint, inspection.inspect) : null;
  const result: CoordinatorOutput =
    flags.batch && flags.phase === '1'
      ? await inspection.close().then(() => ({ phase1: null, phase2: null }))
      : await runPipeline(options, (pipeline) => {
          actor = pipeline;
          onceConsolidating(actor, () => {
            phase2Started = performance.now();
          });
          actor.on('phase2.finished', () => {
            phase2Ms = Math.round(performance.now() - (phase2Started ?? started));
          });
          const counter = process.stderr.isTTY && !flags.quiet ? process.stderr : null;
          endProgress = followProgress(actor, { lines: !flags.json && !flags.quiet, counter });
        }).finally(() => {
          endProgress?.();
          return inspection.close();
        });
  const received = signal();
  if (received) {
    await stopped;
    warn('stopped; in-flight jobs released');
    process.exitCode = signalExitCode(received);
    return;
  }
  const elapsedMs = Math.round(performance.now() - started);
  const idleMs = flags.idleMinutes !== undefined ? flags.idleMinutes * 60_000 : config.minRolloutIdleHours * 3_600_000;
  // Rollouts a plain run found leased: held by a batch `run --batch` submitted, or by another run.
  const batches =
    !flags.batch && (result.phase1?.skipped.running ?? 0) > 0
      ? await import('../../services/batch/batch-mode.ts').then((m) =>
          m.heldByBatches(options.store ?? pipelineDeps(options).store),
        )
      : undefined;
  await report(flags, result, { elapsedMs, phase2Ms, batch, codexHome, layout, idleMs, batches });
}

/** --inspect and --events; an events file that cannot be opened is a usage error of its own. */
function openInspection(flags: RunFlags) {
  const waitForViewerMs = (flags.inspectWait ?? 0) * 1000;
  return createInspection({ inspect: flags.inspect, eventsFile: flags.events, waitForViewerMs }).catch(
    (error: NodeJS.ErrnoException) => {
      throw flags.events !== undefined && error.path === flags.events ? unwritable('--events', flags.events, error) : error;
    },
  );
}

/** The summary on stdout, failures on stderr, the counts for `memories status`, and the exit status. */
async function report(
  flags: RunFlags,
  result: CoordinatorOutput,
  run: {
    elapsedMs: number;
    phase2Ms: number;
    batch: BatchPhase1Summary | null;
    codexHome: string;
    layout: MemoryLayout;
    /** The idle window phase 1 used, for the summary's line on rollouts not idle yet. */
    idleMs: number;
    /** Jobs that pending batches hold, for the summary's line on leased rollouts. */
    batches?: { jobs: number; batches: number };
  },
): Promise<void> {
  const metrics = measurementsJson(measureRun(result));
  // A report, not the run's outcome: a write that fails is said and the run's exit status stands.
  await writeLastRun(run.layout.stateDir, { finishedAt: new Date().toISOString(), command: 'run', metrics }).catch(
    (error: Error) => warn(`could not record the run's counts for \`memories status\`: ${error.message}`),
  );
  const { elapsedMs, batch } = run;
  const batchFailures = batch ? batchFailureLines(batch) : [];
  if (flags.json) process.stdout.write(`${JSON.stringify(runJson(result, run, metrics))}\n`);
  else {
    // Every job failed, or nothing was eligible yet: say so rather than point at a folder that is not there.
    const folder = existsSync(run.layout.root) ? run.layout.root : `${run.layout.root} (nothing written yet)`;
    process.stdout.write(formatSummary(result, elapsedMs, run.codexHome, folder, run.idleMs, run.batches));
  }
  for (const line of [...batchFailures, ...runFailures(result)]) warn(line);
  // Any failure fails a cron job or CI step, so a dead endpoint or a bad key never goes unnoticed.
  if (failedAnything(result) || batchFailures.length > 0) process.exitCode = 1;
}

/** `--json`: the run's summary; with --batch, the batch's jobs join `jobs` and its failed ones `failures`. */
function runJson(
  result: CoordinatorOutput,
  run: { elapsedMs: number; phase2Ms: number; batch: BatchPhase1Summary | null },
  metrics: MeasurementsJson,
) {
  const summary = summaryJson(result, run.elapsedMs, run.phase2Ms, metrics);
  if (!run.batch) return summary;
  const jobs = batchJobsJson(run.batch);
  const failures = jobs.filter((j) => j.outcome === 'gaveUp').map(({ tokens: _, ...failure }) => failure);
  return { ...summary, jobs: [...jobs, ...summary.jobs], failures: [...failures, ...summary.failures], batch: run.batch };
}

/** Collects earlier batches and submits new ones; then points `options` at phase 2 on the same store and worker id. */
async function batchPhase1(
  options: PipelineOptions,
  flags: RunFlags,
  endpoint: ModelEndpoint,
  inspect: PipelineOptions['inspect'],
) {
  // Imported lazily: the Batch API client loads the openai SDK, which a plain run may never need.
  const { createBatchApi } = await import('../../services/batch/batch-api.ts');
  const { runBatchPhase1 } = await import('../../services/batch/batch-mode.ts');
  const deps = pipelineDeps(options);
  const api = createBatchApi({ apiKey: endpoint.apiKey.value, baseURL: endpoint.baseURL.value, timeoutMs: flags.timeoutMs });
  const batch: BatchPhase1Summary = await runBatchPhase1(deps, api, inspect);
  if (!flags.json) for (const line of formatBatchPhase1(batch)) process.stdout.write(`${line}\n`);
  Object.assign(options, { phase: '2', store: deps.store, workerId: deps.workerId });
  return batch;
}

export function registerRun(program: Command): void {
  const run = program
    .command('run')
    .option('--codex-home <dir>', CODEX_HOME_HELP)
    .option('--init', INIT_HELP)
    .option('--profile <name>', PROFILE_HELP)
    .option('--phase <phase>', "'1', '2' or 'all'", 'all')
    .option('--model <model>', 'phase-1 model (default from config.toml, else gpt-5.3-codex-spark)')
    .option('--phase2-model <model>', 'phase-2 model (default from config.toml, else gpt-5.3-codex)')
    .option('--base-url <url>', BASE_URL_HELP)
    .option('--wire-api <api>', WIRE_API_HELP)
    .option('--concurrency <n>', 'phase-1 jobs in flight (default 8)', positiveInteger('--concurrency'))
    .option(
      '--max-rollouts <n>',
      'claim at most this many rollouts (max_rollouts_per_startup)',
      positiveInteger('--max-rollouts'),
    )
    .option(
      '--idle-minutes <n>',
      'idle time before a rollout is eligible, overriding min_rollout_idle_hours (fractions allowed)',
      minutes('--idle-minutes'),
    )
    .option('--max-turns <n>', 'consolidation agent turn cap (default 40)', positiveInteger('--max-turns'))
    .option('--max-agent-tokens <n>', 'consolidation agent token cap (default 400000)', positiveInteger('--max-agent-tokens'))
    .option('--timeout-ms <n>', 'per-request model timeout', positiveInteger('--timeout-ms'))
    .option('--json', 'print one JSON summary object (every job with its outcome and reason under `jobs`)')
    .option('--quiet', 'no line per job or phase, no live counter: only the summary (and failures on stderr)')
    .option('--inspect', 'relay actor events to the Stately inspector (page on 127.0.0.1; the viewer needs internet)')
    .option('--inspect-wait <seconds>', 'with --inspect, wait this long for the page to connect first', integer('--inspect-wait'))
    .option('--events <file>', 'write every actor event as JSONL (mode 0600, secrets redacted)')
    .option('--batch', 'phase 1 through the OpenAI Batch API (half price): collect finished batches, submit new ones')
    .option('--retry-failed', 'make failed phase-1 jobs claimable now instead of after their retry delay');
  addStoreOptions(run)
    .addHelpText(
      'after',
      '\nExit status: 0 all fine, 1 a job or phase failed (reasons on stderr) or the --store database cannot be used,\n' +
        '2 usage or configuration error, 128+n stopped by signal n (SIGINT/SIGTERM; in-flight jobs are released).\n' +
        '\nExamples:\n  $ memories run                                # both phases, with the provider and key Codex uses\n' +
        '  $ memories run --phase 1 --base-url http://localhost:11434/v1 --wire-api chat --model qwen3\n' +
        '  $ memories run --phase 2 --json               # consolidate only, one JSON summary\n' +
        '  $ memories run --store postgres://memories@db.internal/memories   # jobs and memories in PostgreSQL\n',
    )
    .action(runCommand);
}
