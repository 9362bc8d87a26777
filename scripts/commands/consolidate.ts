// `memories consolidate --now`: phase 2 at once, whether or not anything made it due, and what it absorbed.
import type { Command } from 'commander';
import type { ConsolidationOutput } from '../../machines/consolidation.ts';
import { existingCodexHome } from '../../services/config/codex-home.ts';
import { refuseIfPulled } from '../../services/fleet/pull.ts';
import { fileLogger } from '../../services/logger.ts';
import { notesAbsorbed } from '../../services/memory-history/notes-absorbed.ts';
import { resolveLayout } from '../../services/memory-folder/layout.ts';
import { modelClientFromEndpoint } from '../../services/model/model-endpoint.ts';
import { type PipelineOptions, pipelineDeps, runPipeline } from '../../services/pipeline.ts';
import {
  BASE_URL_HELP,
  CODEX_HOME_HELP,
  PROFILE_HELP,
  type PipelineFlags,
  positiveInteger,
  settingsWithFlags,
  WIRE_API_HELP,
} from './options.ts';
import { phase2Words, unfinishedRunLine } from './run-summary.ts';
import { addStoreOptions, type StoreFlags, usesPostgres, withStore } from './store-option.ts';

interface ConsolidateFlags extends PipelineFlags, StoreFlags {
  now?: boolean;
  json?: boolean;
}

export function registerConsolidate(program: Command): void {
  const consolidate = program
    .command('consolidate')
    .option('--now', 'consolidate at once: bypass the dirty flag and the retry delay')
    .option('--codex-home <dir>', CODEX_HOME_HELP)
    .option('--profile <name>', PROFILE_HELP)
    .option('--phase2-model <model>', 'phase-2 model (default from config.toml, else gpt-5.3-codex)')
    .option('--base-url <url>', BASE_URL_HELP)
    .option('--wire-api <api>', WIRE_API_HELP)
    .option('--max-turns <n>', 'consolidation agent turn cap (default 40)', positiveInteger('--max-turns'))
    .option('--timeout-ms <n>', 'per-request model timeout', positiveInteger('--timeout-ms'))
    .option('--json', 'print one JSON object')
    .addHelpText(
      'after',
      '\nExit status: 0 consolidated or nothing to do, 1 it failed (the folder is back as you left it).\n' +
        '\nExamples:\n  $ memories consolidate --now\n  $ memories consolidate --now --json | jq .changes\n',
    );
  addStoreOptions(consolidate).action(consolidateCommand);
}

async function consolidateCommand(flags: ConsolidateFlags): Promise<void> {
  usesPostgres(flags);
  const codexHome = existingCodexHome(flags.codexHome);
  const { config, endpoint } = await settingsWithFlags(codexHome, flags);
  const layout = resolveLayout(codexHome, config);
  await refuseIfPulled(layout.root, 'consolidate');
  const log = fileLogger(codexHome);
  const options: PipelineOptions = {
    codexHome,
    model: modelClientFromEndpoint(endpoint, flags.timeoutMs),
    config,
    layout,
    phase: '2',
    agent: { maxTurns: flags.maxTurns },
    log,
  };
  await withStore(flags, { codexHome, layout, log }, (store) => consolidateWith({ ...options, store }, flags));
}

async function consolidateWith(options: PipelineOptions, flags: ConsolidateFlags): Promise<void> {
  if (flags.now) {
    options.store ??= pipelineDeps(options).store;
    // Raising the watermark makes the job dirty and clears a retry time; a run holding the lease still wins.
    await options.store.enqueueGlobalConsolidation(1);
  }
  const phase2 = (await runPipeline(options)).phase2;
  if (!phase2) throw new Error('phase 2 did not run');
  const summary = consolidateJson(phase2);
  if (flags.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
  else process.stdout.write(humanLines(summary, options.layout!.root));
  if (phase2.status === 'failed' || phase2.status === 'leaseLost') {
    process.stderr.write(`memories: consolidation ${phase2.status}: ${phase2.reason ?? 'no reason given'}\n`);
    process.exitCode = 1;
  }
}

/** A run that did not succeed put the folder back: it absorbed nothing. */
const absorbedAnything = (status: ConsolidationOutput['status']) => status === 'succeeded' || status === 'succeededNoInput';

function consolidateJson(p2: ConsolidationOutput) {
  return {
    status: p2.status,
    reason: p2.reason,
    revision: p2.revision,
    mode: p2.workspace ? (p2.workspace.baseline ? 'INCREMENTAL' : 'INIT') : null,
    baseline: p2.workspace?.baseline ?? null,
    inputs: { selected: p2.selected, added: p2.added, retained: p2.retained, removed: p2.removed },
    changes: p2.workspace?.changes ?? [],
    notes: absorbedAnything(p2.status) ? notesAbsorbed(p2.workspace) : [],
    handEditsRestored: p2.handEditsRestored,
    unfinishedRunUndone: p2.unfinishedRunUndone,
    tokens: p2.usage,
    turns: p2.turns,
  };
}

function humanLines(s: ReturnType<typeof consolidateJson>, root: string): string {
  const lines = [
    `consolidation: ${phase2Words(s.status)}${s.reason && s.status !== 'failed' ? ` (${s.reason})` : ''}` +
      (s.revision ? `; new revision ${s.revision.slice(0, 7)}` : ''),
    `inputs: ${s.inputs.selected} selected, ${s.inputs.added} added, ${s.inputs.retained} retained, ${s.inputs.removed} removed`,
  ];
  if (s.mode && absorbedAnything(s.status)) {
    lines.push(`absorbed (${s.mode}, ${s.changes.length} changed file(s) since the last revision):`);
    for (const change of s.changes) lines.push(`  ${change.status.padEnd(8)} ${change.path}`);
  }
  if (s.notes.length > 0) lines.push(`notes absorbed: ${s.notes.length}`);
  const undone = unfinishedRunLine(s);
  if (undone) lines.push(undone);
  if (s.handEditsRestored.length > 0) {
    lines.push(`your edits the agent undid were put back in: ${s.handEditsRestored.join(', ')}`);
  }
  lines.push(`memory folder: ${root}`);
  return `${lines.join('\n')}\n`;
}
