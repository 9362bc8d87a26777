// `memories status`: what the store holds — stage-1 jobs by state, the next durable retry, who holds
// leases, the stage-1 outputs, the last consolidation and the watermark — as a table or as JSON.
import { mkdir, readdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { loadMemoriesConfig } from '../../services/config.ts';
import { existingCodexHome } from '../../services/config/codex-home.ts';
import { CODEX_HOME_HELP, integer } from './options.ts';
import { StoreCorruptError } from '../../services/errors.ts';
import { type MemoryLayout, resolveLayout } from '../../services/memory-folder/layout.ts';
import type { MemoryStore, StoreStatus } from '../../services/store/port.ts';
import { type LastRun, readLastRun } from '../../services/telemetry/last-run.ts';
import type { JobRow, JobStatus } from '../../services/types.ts';
import type { Command } from 'commander';
import { addStoreOptions, type StoreFlags, usesPostgres, withStore } from './store-option.ts';

const STATES: JobStatus[] = ['pending', 'running', 'done', 'error'];

const iso = (seconds: number | null | undefined) =>
  seconds ? new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') : null;

/** The `--json` shape. Derived times are ISO 8601; `stage1.jobs` are the store rows as stored (Unix seconds). */
export type StatusReport = ReturnType<typeof statusReport>;

export function statusReport(
  status: StoreStatus,
  location: string,
  layout: MemoryLayout,
  lastRun: LastRun | null,
  nowMs = Date.now(),
) {
  const now = Math.floor(nowMs / 1000);
  const byState = Object.fromEntries(STATES.map((s) => [s, 0])) as Record<JobStatus, number>;
  for (const job of status.jobs) byState[job.status] += 1;

  const retries = status.jobs
    .filter((j) => j.status === 'error' && j.retryRemaining > 0 && j.retryAt !== null)
    .map((j) => j.retryAt as number);
  // Per worker: its running jobs and the latest lease end among them.
  const owners = new Map<string, { jobs: number; until: number }>();
  for (const { status: state, workerId, leaseUntil } of status.jobs) {
    if (state !== 'running' || !workerId) continue;
    const o = owners.get(workerId) ?? { jobs: 0, until: 0 };
    owners.set(workerId, { jobs: o.jobs + 1, until: Math.max(o.until, leaseUntil ?? 0) });
  }

  const g = status.globalJob;
  const consolidation = g
    ? {
        status: g.status,
        // Inputs changed since the last successful consolidation: the next phase 2 runs.
        dirty: (g.inputWatermark ?? 0) > (g.lastSuccessWatermark ?? 0),
        inputWatermark: g.inputWatermark ?? 0,
        lastSuccessWatermark: g.lastSuccessWatermark ?? 0,
        lastFinishedAt: iso(g.finishedAt),
        lastError: g.lastError,
        nextRetryAt: g.status === 'error' && g.retryRemaining > 0 ? iso(g.retryAt) : null,
        retriesLeft: g.retryRemaining,
        leaseOwner: g.status === 'running' ? g.workerId : null,
        leaseUntil: g.status === 'running' ? iso(g.leaseUntil) : null,
        lastSelected: status.lastSelection.length,
      }
    : null;

  const outputs = [...status.outputs];
  outputs.sort((a, b) => b.sourceUpdatedAt - a.sourceUpdatedAt || a.threadId.localeCompare(b.threadId));
  return {
    store: location,
    layout: { version: layout.version, root: layout.root, reason: layout.reason },
    now: iso(now) as string,
    stage1: {
      total: status.jobs.length,
      byState,
      nextRetryAt: retries.length > 0 ? iso(Math.min(...retries)) : null,
      retryExhausted: status.jobs.filter((j) => j.status === 'error' && j.retryRemaining <= 0).length,
      // expired: every lease of the owner ran out (a crashed or stopped worker).
      leaseOwners: [...owners].map(([id, o]) => ({
        workerId: id,
        jobs: o.jobs,
        leaseUntil: iso(o.until) ?? '-',
        expired: o.until <= now,
      })),
      // Rows needing attention first (see byAttention); `--limit N` keeps the first N.
      jobs: [...status.jobs].sort(byAttention(now)),
    },
    outputs: {
      count: outputs.length,
      withContent: outputs.filter((o) => o.rawMemory.trim() !== '' || o.rolloutSummary.trim() !== '').length,
      newestSourceUpdatedAt: iso(outputs[0]?.sourceUpdatedAt),
      threads: outputs.map((o) => ({
        threadId: o.threadId,
        slug: o.rolloutSlug,
        sourceUpdatedAt: iso(o.sourceUpdatedAt) as string,
        generatedAt: iso(o.generatedAt) as string,
        usageCount: o.usageCount,
      })),
    },
    consolidation,
    // Submitted by `run --batch` and not collected yet: their jobs show as running, leased for the batch window.
    pendingBatches: (status.batches ?? []).map((b) => ({
      batchId: b.batchId,
      jobs: b.jobs.length,
      model: b.model,
      submittedAt: iso(b.submittedAt) as string,
      expiresAt: iso(b.expiresAt),
    })),
    // The last `run` or `watch` run's counts under Codex's instrument names (what an exporter received).
    lastRun,
  };
}

/** Failed jobs, then running ones whose lease ran out (a crashed worker), then the rest by state; by key within. */
function byAttention(now: number) {
  const rank = (job: JobRow) =>
    job.status === 'error' ? 0 : job.status === 'running' && (job.leaseUntil ?? 0) <= now ? 1 : 2 + STATES.indexOf(job.status);
  return (a: JobRow, b: JobRow) => rank(a) - rank(b) || a.jobKey.localeCompare(b.jobKey);
}

/** "2026-03-01T10:00:00Z (in 58m)"; a time up to `roundedUpBy` seconds ahead of now is now. */
function when(at: string | null, nowIso: string, roundedUpBy = 0): string {
  if (!at) return '-';
  const ahead = Math.round((Date.parse(at) - Date.parse(nowIso)) / 1000);
  const delta = ahead > 0 && ahead <= roundedUpBy ? 0 : ahead;
  return `${at} (${delta > 0 ? `in ${span(delta)}` : delta === 0 ? 'now' : `${span(-delta)} ago`})`;
}

function span(seconds: number): string {
  if (seconds < 90) return `${seconds}s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)}h`;
  return `${Math.round(seconds / 86_400)}d`;
}

/** Control characters (ANSI escapes, bidi overrides) shown as `\u{…}` so stored text cannot drive the terminal. */
const visible = (text: string) =>
  text.replace(/[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);

/** Left-aligned columns separated by two spaces; the last column is not padded. Every cell made visible. */
function table(cells: string[][]): string[] {
  const rows = cells.map((row) => row.map(visible));
  const widths: number[] = [];
  for (const row of rows) for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length);
  const pad = (row: string[]) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!)));
  return rows.map((row) => pad(row).join('  ').trimEnd());
}

export function formatStatus(report: StatusReport, limit = DEFAULT_LIMIT): string {
  const s = report.stage1;
  const c = report.consolidation;
  const owner = (o: (typeof s.leaseOwners)[number]) =>
    `${o.workerId} (${o.jobs} job${o.jobs === 1 ? '' : 's'}, ${o.expired ? 'lease expired' : `until ${when(o.leaseUntil, report.now)}`})`;
  const owners = s.leaseOwners.map(owner).join('; ') || '-';
  const dirty = c?.dirty ? '(dirty: the next phase 2 consolidates)' : '(clean)';
  const byState = STATES.map((st) => `${st} ${s.byState[st]}`).join(', ');
  const outputs = report.outputs.count;

  const lines = table([
    ['layout', `${report.layout.version} at ${report.layout.root} (${report.layout.reason})`],
    ['store', report.store],
    ['stage-1 jobs', `${s.total} total: ${byState}${s.retryExhausted ? ` (${s.retryExhausted} out of retries)` : ''}`],
    ['next retry', when(s.nextRetryAt, report.now)],
    ['lease owners', owners],
    ...batchRows(report),
    ['outputs', `${outputs} stage-1 output${outputs === 1 ? '' : 's'} (${report.outputs.withContent} with content)`],
    ['last consolidation', c ? describeConsolidation(c, report.now) : 'never (nothing enqueued yet)'],
    [
      'watermark',
      c
        ? `input ${watermark(c.inputWatermark, report.now)}, consolidated ${watermark(c.lastSuccessWatermark, report.now)} ${dirty}`
        : '-',
    ],
    ['last run', report.lastRun ? describeLastRun(report.lastRun, report.now) : '-'],
  ]);
  lines.push(...jobTable(s.jobs, report.now, limit));
  return `${lines.join('\n')}\n`;
}

/** One row per pending batch, after the lease owners (none without batches, so plain homes read as before). */
function batchRows(report: StatusReport): string[][] {
  const batches = report.pendingBatches.map(
    (b) => `${b.batchId} (${b.jobs} job${b.jobs === 1 ? '' : 's'}, submitted ${when(b.submittedAt, report.now)})`,
  );
  if (batches.length === 0) return [];
  return [['pending batches', `${batches.join('; ')}; \`memories run --batch\` collects them`]];
}

/** The job rows (already in attention order), at most `limit` of them, and how many were left out. */
function jobTable(jobs: JobRow[], nowIso: string, limit: number): string[] {
  if (jobs.length === 0) return [];
  const now = Date.parse(nowIso) / 1000;
  const rows = [['THREAD', 'STATE', 'RETRIES LEFT', 'LEASE OWNER', 'LEASE UNTIL', 'RETRY AT', 'LAST ERROR']];
  for (const job of jobs.slice(0, limit)) {
    const running = job.status === 'running';
    rows.push([
      job.jobKey,
      running && (job.leaseUntil ?? 0) <= now ? 'running (lease expired)' : job.status,
      String(job.retryRemaining),
      running ? (job.workerId ?? '-') : '-',
      running ? when(iso(job.leaseUntil), nowIso) : '-',
      job.status === 'error' ? when(iso(job.retryAt), nowIso) : '-',
      job.lastError ? oneLine(job.lastError, 80) : '-',
    ]);
  }
  const hidden = jobs.length - Math.min(limit, jobs.length);
  const more = hidden > 0 ? [`… ${hidden} more job(s): --limit ${jobs.length} shows them all, --json lists them`] : [];
  return limit === 0 ? more : ['', ...table(rows), ...more];
}

/**
 * A watermark is the newest input time consolidated (Unix seconds); 0 means none yet. A note's is rounded up to the
 * next second (noteWatermark, so that it outranks a rollout of the same second), and `now` down: up to 1 s ahead is now.
 */
const watermark = (seconds: number, nowIso: string) => (seconds > 0 ? when(iso(seconds), nowIso, 1) : 'none');

function describeConsolidation(c: NonNullable<StatusReport['consolidation']>, now: string): string {
  const error = c.lastError ? `: ${oneLine(c.lastError, 120)}` : '';
  switch (c.status) {
    case 'running':
      return `running, lease held by ${c.leaseOwner} until ${when(c.leaseUntil, now)}`;
    case 'done':
      return `succeeded at ${when(c.lastFinishedAt, now)}, ${c.lastSelected} memor${c.lastSelected === 1 ? 'y' : 'ies'} consolidated`;
    case 'error':
      if (c.nextRetryAt) return `failed at ${when(c.lastFinishedAt, now)}${error}; retry ${when(c.nextRetryAt, now)}`;
      return `failed at ${when(c.lastFinishedAt, now)}${error}; ${c.retriesLeft <= 0 ? 'out of retries until new input arrives' : 'retry due'}`;
    case 'pending':
      return `queued; ${c.lastFinishedAt ? `previous run ended at ${when(c.lastFinishedAt, now)}${error}` : 'never run'}`;
  }
}

/** "2026-03-01T10:00:00Z (5m ago) (run): codex.memory.phase1 claimed=3 succeeded=2 failed=1; codex.memory.phase1.output=2" */
function describeLastRun({ finishedAt, command, metrics }: LastRun, now: string): string {
  const parts = Object.entries(metrics)
    .filter(([name]) => !name.endsWith('.token_usage'))
    .map(([name, value]) =>
      typeof value === 'number'
        ? `${name}=${value}`
        : `${name} ${Object.entries(value)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ')}`,
    );
  const at = when(new Date(finishedAt).toISOString().replace(/\.\d{3}Z$/, 'Z'), now);
  return `${at} by ${command}: ${parts.join('; ') || 'nothing recorded'}`;
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** Job rows in the table when --limit is not given: enough to see what needs attention, not a page per hundred jobs. */
const DEFAULT_LIMIT = 20;

export async function statusCommand(flags: StoreFlags & { codexHome?: string; json?: boolean; limit?: number }): Promise<void> {
  usesPostgres(flags);
  const codexHome = existingCodexHome(flags.codexHome);
  // Each layout keeps its own store: report the one for the folder Codex reads.
  const layout = resolveLayout(codexHome, await loadMemoriesConfig(codexHome));
  await withStore(flags, { codexHome, layout }, (store) => printStatus(flags, layout, store));
}

/**
 * The lowdb store's status. A store folder with nothing in it is empty without loading the store, its lock and its
 * schemas: on a new home, status costs little more than starting node. The folder is created, as the store's lock does.
 */
async function lowdbStatus(dir: string): Promise<StoreStatus> {
  const entries = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  if (entries.length === 0) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    return { jobs: [], globalJob: null, outputs: [], lastSelection: [], batches: [] };
  }
  const { createLowdbStore } = await import('../../services/store/lowdb-store.ts');
  return createLowdbStore({ dir }).status();
}

async function printStatus(
  flags: { json?: boolean; limit?: number },
  layout: MemoryLayout,
  store: MemoryStore | undefined,
): Promise<void> {
  const location = store?.location ?? resolve(layout.stateDir);
  const status = await (store ? store.status() : lowdbStatus(location)).catch((error: unknown) => {
    if (!(error instanceof StoreCorruptError)) throw error;
    process.stderr.write(`memories: ${error.message}\n`);
    process.exitCode = 1;
  });
  if (!status) return;
  const report = statusReport(status, location, layout, await readLastRun(layout.stateDir));
  if (!flags.json) return void process.stdout.write(formatStatus(report, flags.limit));
  // --json keeps every row unless --limit is given; `stage1.total` still counts them all.
  if (flags.limit !== undefined) report.stage1.jobs = report.stage1.jobs.slice(0, flags.limit);
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

export function registerStatus(program: Command): void {
  const status = program
    .command('status')
    .option('--codex-home <dir>', CODEX_HOME_HELP)
    .option('--json', 'print one JSON object (derived times ISO 8601; job rows as stored, Unix seconds)')
    .option(
      '--limit <n>',
      `job rows to show, those needing attention first (default ${DEFAULT_LIMIT}; with --json, all unless given)`,
      integer('--limit'),
    );
  addStoreOptions(status)
    .addHelpText(
      'after',
      '\nExamples:\n  $ memories status\n  $ memories status --limit 100\n  $ memories status --json | jq .consolidation\n',
    )
    .action(statusCommand);
}
