// `npm run bench`: one Markdown report (stdout and bench/results.md) on tokens, incremental work, throughput,
// peak RSS, consolidation cost and redaction. Phase-1 scenarios run in fresh child processes so their RSS and
// reads are the pipeline's alone; the model server always runs in a process of its own.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { DEFAULT_CONFIG } from '../services/config.ts';
import { installFixtureRollouts } from './fixture-corpus.ts';
import { runChild } from './bench/child.ts';
import { consolidationCost, type ConsolidationRun } from './bench/consolidation-section.ts';
import { redactionSection } from './bench/redaction-section.ts';
import { fleetSection } from './bench/fleet-section.ts';
import { telemetrySection } from './bench/telemetry-section.ts';
import { cliSection } from './bench/cli-section.ts';
import { eligibleFixtureDir, REPO_ROOT, sharedRollouts, threadOf, writeBigRollout } from './bench/corpus.ts';
import { cpuCheckMs, gitRevision } from './bench/machine.ts';
import { int, kb, ms, pct, secs, table, verdict, yes } from './bench/markdown.ts';
import type { ReadFigures, RunFigures } from './bench/phase1-child.ts';
import { BIG_BATCH, peakRssSection } from './bench/peak-rss-section.ts';
import { withServer } from './bench/server-process.ts';
import { throughputSection } from './bench/throughput-section.ts';
import { effectiveWindow, MODEL_WINDOWS, rolloutTokens, type RolloutTokens } from './bench/tokens-section.ts';

const PHASE1_MODEL = DEFAULT_CONFIG.phase1Model;
const PHASE2_MODEL = DEFAULT_CONFIG.phase2Model;
const INCREMENTAL_ROLLOUTS = Number(process.env.BENCH_ROLLOUTS ?? 1_000);
const BIG_ROLLOUT_BYTES = 50 * 1024 * 1024;
const CONSOLIDATION_OUTPUTS = 1_024;
/** The corpus's phase-1 tokens before issue 11 replaced the token bound with plain truncation. */
const TOKENS_BEFORE_SIMPLIFICATION = 358_376;

const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);
const startedAt = new Date();
const speedAtStart = cpuCheckMs();
const tmp = await mkdtemp(join(tmpdir(), 'memories-bench-'));
const sections: string[] = [];
const summary: string[][] = [];

try {
  const fixtures = join(tmp, 'eligible-fixtures');
  const fixtureNames = await eligibleFixtureDir(fixtures);

  // ---- 4 (prepared first: its 50 MB rollout also gets a row in the token table) ----------------
  const bigHome = join(tmp, 'big');
  const bigBatch = await installFixtureRollouts(bigHome, { count: BIG_BATCH - 1, sourceDir: fixtures });
  const big = await writeBigRollout(dirname(bigBatch[0]!), BIG_ROLLOUT_BYTES, new Date(Date.now() - 7.5 * 3_600_000));
  const baselineHome = join(tmp, 'big-baseline');
  await installFixtureRollouts(baselineHome, { count: BIG_BATCH - 1, sourceDir: fixtures });

  // ---- 1. Tokens per rollout --------------------------------------------------------------------
  log('tokens per rollout (shared corpus)');
  const rows: RolloutTokens[] = [];
  for (const r of await sharedRollouts()) rows.push(await rolloutTokens(`${r.folder}/${r.name}`, r.thread, PHASE1_MODEL));
  const bigLabel = 'generated 50 MB rollout (not in the shared corpus)';
  const bigTokens = await rolloutTokens(bigLabel, await threadOf(big.path), PHASE1_MODEL);
  const window = MODEL_WINDOWS[PHASE1_MODEL]!;
  const usable = effectiveWindow(window);
  const all = [...rows, bigTokens];
  const oursTotal = rows.reduce((n, r) => n + r.ours.total, 0);
  const codexTotal = rows.reduce((n, r) => n + r.codex.total, 0);
  const instrTotal = rows.reduce((n, r) => n + r.ours.instructions, 0);
  const oursOverflow = all.filter((r) => r.ours.total > window).length;
  const codexOverflow = all.filter((r) => r.codex.total > window);
  const codexOverUsable = all.filter((r) => r.codex.total > usable);
  const codexOverBudget = all.filter((r) => r.codex.rollout > r.tokenLimit);
  sections.push(
    [
      `## 1. Phase-1 input tokens per rollout (${PHASE1_MODEL}: window ${int(window)}, usable ${int(usable)} at 95 %, rollout limit ${int(rows[0]!.tokenLimit)} tokens)`,
      '',
      'Ours: real o200k tokens of what `buildStageOneRequest` returns. Codex (`scripts/bench/codex-target.ts`): same items plus ' +
        'AGENTS.md / `<user_instructions>`, no redaction, truncated at 4 bytes/token of its limit, same tokenizer; "rollout vs budget" ' +
        'compares that truncated rollout with the limit. Cacheable share = instruction tokens / total (the instructions are a constant prefix).',
      '',
      table(
        'Rollout | Source | Size | Ours: instr + input = total | Ours truncated | Cacheable share | Ours fits window | Codex total (real) | Codex rollout vs budget | Codex fits window | Ours vs Codex (tokens)',
        all.map((r) => [
          r.label,
          r.source,
          kb(r.bytes),
          `${int(r.ours.instructions)} + ${int(r.ours.input)} = ${int(r.ours.total)}`,
          yes(r.ours.truncated),
          pct(r.ours.instructions / r.ours.total),
          yes(r.ours.total <= window),
          int(r.codex.total),
          `${int(r.codex.rollout)} / ${int(r.tokenLimit)}${r.codex.rollout > r.tokenLimit ? ` (**+${pct(r.codex.rollout / r.tokenLimit - 1)}**)` : ''}`,
          r.codex.total > window ? '**no: overflow**' : r.codex.total > usable ? 'only the raw window (over 95 %)' : 'yes',
          r.ours.total === r.codex.total
            ? 'same'
            : `${r.ours.total < r.codex.total ? '−' : '+'}${int(Math.abs(r.ours.total - r.codex.total))} (${pct(Math.abs(1 - r.ours.total / r.codex.total))})`,
        ]),
      ),
      '',
      `Shared corpus (${rows.length} rollouts): ours ${int(oursTotal)} tokens, Codex ${int(codexTotal)} tokens ` +
        `(${pct(1 - oursTotal / codexTotal)} fewer); cacheable share overall ${pct(instrTotal / oursTotal)}.`,
    ].join('\n'),
  );
  summary.push(
    [
      'Phase-1 input tokens, shared corpus (12 rollouts)',
      `≤ Codex's target and ≤ ${int(TOKENS_BEFORE_SIMPLIFICATION)}`,
      `ours ${int(oursTotal)} vs Codex ${int(codexTotal)} (${pct(1 - oursTotal / codexTotal)} fewer)`,
      verdict(oursTotal <= codexTotal && oursTotal <= TOKENS_BEFORE_SIMPLIFICATION),
    ],
    [
      `Context-overflow failures (request > ${int(window)}-token window, real count, ${all.length} rollouts incl. 50 MB)`,
      '0',
      `ours ${oursOverflow}; Codex ${codexOverflow.length} (${codexOverUsable.length} over the 95 % usable window, ${codexOverBudget.length} over its own rollout budget)`,
      verdict(oursOverflow === 0),
    ],
    [
      'Cacheable share of phase-1 input (instructions / total)',
      'report',
      `${pct(instrTotal / oursTotal)} overall; ${pct(Math.min(...rows.map((r) => r.ours.instructions / r.ours.total)))}–${pct(Math.max(...rows.map((r) => r.ours.instructions / r.ours.total)))} per rollout`,
      '—',
    ],
  );

  // ---- 2. Incremental work + zero-latency throughput over 1,000 rollouts ------------------------
  log(`incremental work over ${INCREMENTAL_ROLLOUTS} rollouts (child process)`);
  const incHome = join(tmp, 'incremental');
  const incPaths = await installFixtureRollouts(incHome, { count: INCREMENTAL_ROLLOUTS, sourceDir: fixtures });
  const changePath = incPaths[Math.floor(incPaths.length / 2)]!;
  const inc = await withServer(0, (url) =>
    runChild({ scenario: 'incremental', home: incHome, url, concurrency: 8, maxRollouts: INCREMENTAL_ROLLOUTS, changePath }),
  );
  const changedSize = (await readFile(changePath)).byteLength;
  const readRow = (label: string, f: RunFigures & { reads: ReadFigures }) => [
    label,
    ms(f.wallMs),
    f.claimed,
    f.extractRequests,
    f.agentRequests,
    `${f.reads.rolloutFilesOpened} (${f.reads.rolloutOpens} opens)`,
    kb(f.reads.rolloutBytes),
    `${f.reads.stateFilesOpened} / ${kb(f.reads.stateBytes)}`,
    `${f.reads.memoryFilesOpened} / ${kb(f.reads.memoryBytes)}`,
    `${f.reads.otherFilesOpened} / ${kb(f.reads.otherBytes)}`,
    f.reads.rchar == null ? 'n/a' : kb(f.reads.rchar),
  ];
  sections.push(
    [
      `## 2. Incremental work (${INCREMENTAL_ROLLOUTS} claimable rollouts, fixture corpus cycled, in a fresh process)`,
      '',
      'Reads: `fs` stream/open/read calls wrapped in the pipeline process (`scripts/bench/fs-counter.ts`); rchar: `/proc/self/io`. ' +
        'State = `memories_state/`, memory = `memories/`, other = anything else. Times are in-process `runPipeline` time.',
      '',
      table(
        'Run | Time | Claimed | Extraction requests | Agent requests | Rollout files opened | Rollout bytes read | State files / bytes | Memory files / bytes | Other files / bytes | rchar',
        [
          readRow('first run, phase 1 (all new)', inc.first),
          readRow('phase 2 (consolidate them)', inc.consolidate),
          readRow('rerun, nothing new (phase all)', inc.noop),
          readRow(`rerun after one rollout changed (${kb(changedSize)}; phase all)`, inc.changed),
        ],
      ),
      '',
      `The changed rollout was opened ${inc.changed.reads.changedRolloutOpens} times (discovery re-reads its first lines because its mtime/size changed — one 64 KB chunk — then the extraction reads it whole); ` +
        'no other rollout was opened. The phase-2 part of that rerun compares every rollout summary it syncs with the file on disk (`memories/`). ' +
        `State files read — nothing new: ${inc.noop.reads.stateDetail || 'none'}; one changed: ${inc.changed.reads.stateDetail || 'none'}.`,
    ].join('\n'),
  );
  const onlyChanged =
    inc.changed.reads.rolloutFilesOpened === 1 && inc.changed.reads.changedRolloutOpens > 0 && inc.changed.extractRequests === 1;
  summary.push(
    [
      'Rerun after one rollout changed',
      're-read and re-extract only that rollout',
      `${inc.changed.reads.rolloutFilesOpened} rollout file opened (${inc.changed.reads.rolloutOpens}×), ${kb(inc.changed.reads.rolloutBytes)} of rollouts read (file is ${kb(changedSize)}); ${inc.changed.extractRequests} extraction request`,
      verdict(onlyChanged),
    ],
    [
      `Rerun with nothing new, ${INCREMENTAL_ROLLOUTS} rollouts (in-process time)`,
      '0 model requests, ≤ 300 ms',
      `${inc.noop.extractRequests + inc.noop.agentRequests} requests, ${ms(inc.noop.wallMs)}, ${inc.noop.reads.rolloutFilesOpened} rollouts opened`,
      verdict(inc.noop.extractRequests + inc.noop.agentRequests === 0 && inc.noop.wallMs <= 300),
    ],
  );

  // ---- 3. Throughput ------------------------------------------------------------------------------
  const throughput = await throughputSection(log, {
    tmp,
    fixtures,
    fixtureCount: fixtureNames.length,
    firstRunOfSection2: inc.first,
  });
  sections.push(throughput.section);
  summary.push(...throughput.summary);
  // ---- 4. Peak RSS with a 50 MB rollout in the batch ----
  const rss = await peakRssSection(log, { bigHome, baselineHome, big, model: PHASE1_MODEL, window });
  sections.push(rss.section);
  summary.push(rss.summary);
  // ---- 5. Consolidation cost ------------------------------------------------------------------------
  log(`consolidation cost: ${CONSOLIDATION_OUTPUTS} stage-1 outputs`);
  const runs = await consolidationCost(join(tmp, 'consolidation'), CONSOLIDATION_OUTPUTS);
  const phase2Window = MODEL_WINDOWS[PHASE2_MODEL]!;
  const phase2Usable = effectiveWindow(phase2Window);
  sections.push(
    [
      `## 5. Consolidation cost (${CONSOLIDATION_OUTPUTS} stage-1 outputs shaped like scripts/bench-phase2.ts; ${PHASE2_MODEL}: usable window ${int(phase2Usable)})`,
      '',
      'Diff-based (ours): the prompt names each input file tagged `[added]`/`[retained]`; the agent reads them through its tools. ' +
        'Inline (bench-only): the same prompt plus all of `raw_memories.md`; at least 2 turns each resend it, so 2 × prompt is a lower bound. ' +
        "Agent tokens: real o200k tokens sent over all turns, and the server's chars/4 usage; the agent reads `raw_memories.md` once (64 KB cap).",
      '',
      table(
        'Run | Selected / added / retained | Diff prompt | Inline prompt | Inline fits window | Inline lower bound (2 turns) | Agent turns | Agent input tokens (real, all turns) | Server-reported usage | Phase 2 time',
        runs.map((r: ConsolidationRun) => [
          r.label,
          `${r.selected} / ${r.added} / ${r.retained}`,
          int(r.diffPromptTokens),
          `${int(r.inlinePromptTokens)} (raw_memories.md ${kb(r.rawMemoriesBytes)})`,
          r.inlinePromptTokens <= phase2Usable ? 'yes' : '**no**',
          int(2 * r.inlinePromptTokens),
          r.turns,
          int(r.agentInputTokens),
          int(r.serverUsageTotal),
          ms(r.wallMs),
        ]),
      ),
    ].join('\n'),
  );
  const first = runs[0]!;
  const rerun = runs[1]!;
  summary.push(
    [
      `Consolidation prompt, ${CONSOLIDATION_OUTPUTS} memories (first run / 1 changed)`,
      'smaller than inline',
      `diff ${int(first.diffPromptTokens)} / ${int(rerun.diffPromptTokens)} vs inline ${int(first.inlinePromptTokens)} / ${int(rerun.inlinePromptTokens)} tokens`,
      verdict(first.diffPromptTokens < first.inlinePromptTokens && rerun.diffPromptTokens < rerun.inlinePromptTokens),
    ],
    [
      'Consolidation agent tokens per run (scripted agent)',
      'report',
      `${int(first.agentInputTokens)} / ${int(rerun.agentInputTokens)} real input tokens over ${first.turns} / ${rerun.turns} turns (server usage ${int(first.serverUsageTotal)} / ${int(rerun.serverUsageTotal)}); inline ≥ ${int(2 * first.inlinePromptTokens)}`,
      '—',
    ],
  );

  // ---- 6. Redaction ----------------------------------------------------------------------------------
  log('redaction: generated secrets and benign strings');
  const red = await redactionSection();
  sections.push(
    [
      '## 6. Redaction (spec/support/secret-corpus.ts)',
      '',
      'Leaks: random secrets of every rule family planted in user text, tool output and call arguments, still present after redaction. ' +
        'False positives: strings of ../shared/real-rollouts, ../shared/codex-0.169-rollouts and benign code that redaction changed.',
      '',
      table('Planted secrets | Leaks | Benign strings | False positives', [
        [int(red.planted), red.leaks, int(red.stringsChecked), red.falsePositives],
      ]),
    ].join('\n'),
  );
  summary.push([
    'Redaction: leaks / false positives',
    '0 / 0',
    `${red.leaks} of ${int(red.planted)} planted secrets; ${red.falsePositives} of ${int(red.stringsChecked)} benign strings`,
    verdict(red.leaks === 0 && red.falsePositives === 0),
  ]);

  // ---- 7. Telemetry overhead --------------------------------------------------------------------------
  const telemetry = await telemetrySection(log, { tmp, fixtures, baselineRates: throughput.zeroLatencyRates });
  sections.push(telemetry.section);
  summary.push(...telemetry.summary);

  // ---- 8. CLI start-up and install size ------------------------------------------------------------
  const cli = await cliSection(log, tmp);
  sections.push(cli.section);
  summary.push(...cli.summary);

  // ---- 9. Fleet memory on PostgreSQL -------------------------------------------------------------
  const fleet = await fleetSection(log, tmp);
  sections.push(fleet.section);
  summary.push(...fleet.summary);

  // ---- Report ------------------------------------------------------------------------------------------
  const report = [
    '# memories-pipeline benchmark',
    '',
    `- date: ${startedAt.toISOString()} (took ${secs(Date.now() - startedAt.getTime())})`,
    `- machine: ${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), ${(totalmem() / 1024 ** 3).toFixed(1)} GB memory, node ${process.version}, ${process.platform}/${process.arch}`,
    `- speed check: a fixed loop took ${speedAtStart.toFixed(0)} ms at the start and ${cpuCheckMs().toFixed(0)} ms at the end (on a shared VM it varies with the host's load; times in this report scale with it)`,
    `- command: \`npm run bench\` (tsx scripts/bench.ts) at ${gitRevision()}`,
    `- corpus: ${rows.length} rollouts of ../shared/real-rollouts and ../shared/codex-0.169-rollouts; generated rollouts in a temp CODEX_HOME`,
    '',
    '## Summary',
    '',
    table('Figure | Target | Measured | Verdict', summary),
    '',
    ...sections.flatMap((s) => [s, '']),
  ].join('\n');
  process.stdout.write(`${report}\n`);
  await mkdir(join(REPO_ROOT, 'bench'), { recursive: true });
  await writeFile(join(REPO_ROOT, 'bench', 'results.md'), report);
  log('written to bench/results.md');
} finally {
  await rm(tmp, { recursive: true, force: true });
}
