// The run summary, as the JSON object of `--json` and as a few human lines.
import { join } from 'node:path';
import type { CoordinatorOutput, Phase1Summary } from '../../machines/coordinator.ts';
import type { ExtractionOutput } from '../../machines/extraction.ts';
import type { MeasurementsJson } from '../../services/telemetry/run-measurements.ts';

export const jobFailed = (job: ExtractionOutput) => job.outcome === 'gaveUp' || job.outcome === 'leaseLost';
const phase2Failed = (result: CoordinatorOutput) => result.phase2?.status === 'failed' || result.phase2?.status === 'leaseLost';

/** Exit status 1 when anything failed (a job, phase 1 as a whole, or phase 2). */
export const failedAnything = (result: CoordinatorOutput) =>
  Boolean(result.phase1?.error || result.phase1?.jobs.some(jobFailed) || phase2Failed(result));

/** One stderr line for a failed job. */
export const jobFailure = (job: ExtractionOutput) => `${job.threadId} failed (${job.outcome}): ${job.error ?? 'no reason given'}`;

/** The stderr lines for run-wide failures (each failed job has had its own line). */
export function runFailures(result: CoordinatorOutput): string[] {
  const lines = result.phase1?.error ? [`phase 1 failed: ${result.phase1.error}`] : [];
  if (phase2Failed(result)) lines.push(`phase 2 ${result.phase2?.status}: ${result.phase2?.reason ?? 'no reason given'}`);
  return lines;
}

/** Phase 2's outcome in words; `--json` keeps the status names. */
export function phase2Words(status: NonNullable<CoordinatorOutput['phase2']>['status']): string {
  if (status === 'skippedNotDirty') return 'nothing new to consolidate';
  if (status === 'skippedRunning') return 'skipped, another run is consolidating';
  if (status === 'leaseLost') return 'lost its lease';
  if (status === 'succeededNoInput') return 'succeeded, with no memories to consolidate';
  return status;
}

/** The line for a consolidation killed mid-run (kill -9, power loss) that this run undid first; null when none was. */
export function unfinishedRunLine(p2: { unfinishedRunUndone: string | null } | null): string | null {
  if (!p2?.unfinishedRunUndone) return null;
  return (
    'a consolidation killed before it finished had left the memory folder half-written: put back as it was before ' +
    `that run (what it had written is kept in the folder's .git as tree ${p2.unfinishedRunUndone.slice(0, 12)})`
  );
}

/** A span in the largest unit that states it exactly: 6 h, 90 min, 30 s, 0 s (tenths of a second at most). */
export function formatDuration(ms: number): string {
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${Math.round(ms / 100) / 10} s`;
}

/** Phase-1 jobs skipped for any reason. */
export const skippedTotal = (s: Phase1Summary['skipped']) => s.upToDate + s.running + s.retryBackoff + s.retryExhausted;

/** Eligible rollouts this run did not reach: the claim stops at the cap (--max-rollouts, max_rollouts_per_startup),
 * and what it passed over as up to date, running or backing off is counted in `skipped`. */
export const unclaimed = (p1: Phase1Summary) => Math.max(0, p1.eligible - p1.claimed - skippedTotal(p1.skipped));

/** `metrics`: the run's counts under Codex's instrument names, as the exporters record them (measureRun). */
export function summaryJson(result: CoordinatorOutput, elapsedMs: number, phase2Ms: number, metrics: MeasurementsJson) {
  const p1 = result.phase1;
  return {
    claimed: p1?.claimed ?? 0,
    succeeded: p1?.succeeded ?? 0,
    succeededNoOutput: p1?.succeededNoOutput ?? 0,
    failed: p1?.failed ?? 0,
    skipped: p1 ? skippedTotal(p1.skipped) : 0,
    skippedBy: p1?.skipped ?? null,
    rollouts: p1
      ? {
          seen: p1.filesSeen,
          eligible: p1.eligible,
          ineligible: p1.ineligible,
          unreadable: p1.unreadable,
          unclaimed: unclaimed(p1),
          // seen = eligible + ineligible + withheld + unreadable (less a copied rollout's older file).
          withheld: p1.withheld ?? 0,
          // Of the ineligible: eligible once idle long enough.
          notIdleYet: p1.notIdleYet ?? 0,
        }
      : null,
    tokens: p1?.usage ?? null,
    phase1Error: p1?.error ?? null,
    failures: (p1?.jobs ?? [])
      .filter(jobFailed)
      .map((j) => ({ threadId: j.threadId, outcome: j.outcome, attempts: j.attempts, reason: j.error })),
    // Every finished job, in the order they finished; `reason` is null for a success.
    jobs: (p1?.jobs ?? []).map((j) => ({
      threadId: j.threadId,
      outcome: j.outcome,
      attempts: j.attempts,
      reason: j.error,
      tokens: j.usage?.total ?? 0,
    })),
    phase2: result.phase2
      ? {
          status: result.phase2.status,
          reason: result.phase2.reason,
          selected: result.phase2.selected,
          added: result.phase2.added,
          retained: result.phase2.retained,
          removed: result.phase2.removed,
          tokens: result.phase2.usage,
          turns: result.phase2.turns,
          unfinishedRunUndone: result.phase2.unfinishedRunUndone,
          elapsedMs: phase2Ms,
        }
      : null,
    metrics,
    elapsedMs,
  };
}

/** Why rollouts seen were not eligible, a line per reason that has any; `idleMs` is the idle window the run used. */
export function ineligibleLines(p1: Phase1Summary, idleMs?: number): string[] {
  const lines: string[] = [];
  const notIdleYet = p1.notIdleYet ?? 0;
  if (notIdleYet > 0) {
    const window = idleMs === undefined ? '' : ` for ${formatDuration(idleMs)}`;
    lines.push(
      `${notIdleYet} rollout(s) not idle yet: a rollout is eligible once idle${window} (min_rollout_idle_hours, or --idle-minutes)`,
    );
  }
  const other = p1.ineligible - notIdleYet;
  if (other > 0) {
    lines.push(`${other} rollout(s) not eligible: too old (max_rollout_age_days), not interactive, or no user message`);
  }
  const withheld = p1.withheld ?? 0;
  if (withheld > 0)
    lines.push(`${withheld} thread(s) withheld by Codex: archived, or memories off for them (reasons in the log)`);
  return lines;
}

/** `root` is the memory folder of the layout in use (MemoryLayout.root); without it, the v1 folder. */
export function formatSummary(
  result: CoordinatorOutput,
  elapsedMs: number,
  codexHome: string,
  root = join(codexHome, 'memories'),
  idleMs?: number,
  batches: { jobs: number; batches: number } = { jobs: 0, batches: 0 },
): string {
  const lines: string[] = [];
  const p1 = result.phase1;
  if (p1) {
    lines.push(
      `phase 1: ${p1.claimed} job(s) claimed, ${p1.succeeded + p1.succeededNoOutput} succeeded ` +
        `(${p1.succeeded} with output, ${p1.succeededNoOutput} no output), ${p1.failed} failed; ` +
        `${p1.filesSeen} rollout(s) seen, ${p1.eligible} eligible` +
        (p1.skipped.upToDate > 0 ? ` (${p1.skipped.upToDate} already extracted)` : '') +
        (p1.unreadable > 0 ? `, ${p1.unreadable} unreadable (reasons in the log)` : '') +
        `; ${p1.usage.total} tokens`,
    );
    lines.push(...ineligibleLines(p1, idleMs));
  }
  const p2 = result.phase2;
  if (p2) {
    // A failure's reason goes to stderr (runFailures); other reasons say why phase 2 had nothing to do.
    const detail = p2.reason && !phase2Failed(result) ? ` (${p2.reason})` : '';
    lines.push(
      `phase 2: ${phase2Words(p2.status)}${detail}; ${p2.selected} selected, ${p2.added} added, ${p2.retained} retained, ${p2.removed} removed` +
        (p2.usage ? `; ${p2.usage.total} tokens` : ''),
    );
    const undone = unfinishedRunLine(p2);
    if (undone) lines.push(undone);
  }
  // Why eligible rollouts were left, each with what to do; nothing of the sort when phase 1 itself failed.
  if (p1 && !p1.error) {
    const { retryBackoff, retryExhausted } = p1.skipped;
    // A submitted batch leases its jobs for the provider's window; those are not another run's.
    const inBatches = Math.min(p1.skipped.running, batches.jobs);
    const running = p1.skipped.running - inBatches;
    if (inBatches > 0) {
      lines.push(
        `${inBatches} eligible rollout(s) wait in ${batches.batches} pending batch(es) (the Batch API answers within 24 h); ` +
          '`memories run --batch` collects them',
      );
    }
    if (running > 0) {
      lines.push(
        `${running} eligible rollout(s) held by another run's lease (a run killed outright holds them until it lapses, within the hour)`,
      );
    }
    if (retryBackoff > 0)
      lines.push(`${retryBackoff} rollout(s) wait out a retry delay after failing; --retry-failed retries them now`);
    if (retryExhausted > 0)
      lines.push(`${retryExhausted} rollout(s) failed every retry and are no longer tried; --retry-failed makes them claimable`);
    const waiting = unclaimed(p1);
    if (waiting > 0) lines.push(`${waiting} eligible rollout(s) wait; run again or raise --max-rollouts`);
  }
  lines.push(`memory folder: ${root}`, `done in ${elapsedMs} ms`);
  return `${lines.join('\n')}\n`;
}
