// The human lines of a batch-mode phase 1 (`memories run --batch`); `--json` prints the summary itself.
import type { BatchPhase1Summary } from '../../machines/batch.ts';

export function formatBatchPhase1(summary: BatchPhase1Summary): string[] {
  const c = summary.collected;
  const s = summary.submitted;
  const lines = c.batches.map(
    (b) =>
      `  batch ${b.batchId}: ${b.outcome}${b.status ? ` (${b.status})` : ''}, ${b.jobs} job(s)${b.detail ? ` — ${b.detail}` : ''}`,
  );
  for (const job of c.jobs.filter((j) => j.outcome !== 'stale')) {
    lines.push(
      `  ${job.outcome.padEnd(17)} ${job.threadId}${job.usage ? ` ${job.usage.total} tokens` : ''}${job.reason ? ` — ${job.reason}` : ''}`,
    );
  }
  lines.push(
    `phase 1 (batch): collected ${c.succeeded + c.succeededNoOutput} succeeded (${c.succeededNoOutput} without output), ` +
      `${c.failed} failed from ${c.batches.filter((b) => b.outcome === 'collected').length} batch(es); ` +
      `${c.pending} batch(es) still running; ${c.usage.total} tokens`,
    `phase 1 (batch): ${summary.claimed} job(s) claimed, ${s.submitted} submitted in ${s.batches.length} batch(es)` +
      (s.batches.length > 0 ? ` (${s.batches.map((b) => b.batchId).join(', ')})` : '') +
      (s.failed.length > 0 ? `, ${s.failed.length} failed` : '') +
      (s.released.length > 0 ? `, ${s.released.length} released` : ''),
  );
  for (const error of [s.error, summary.error]) if (error) lines.push(`phase 1 (batch): ${error}`);
  return lines;
}

/** The stderr lines for what failed in a batch-mode phase 1: each failed job, each batch not collected, and why. */
export function batchFailureLines(summary: BatchPhase1Summary): string[] {
  const lines = summary.collected.jobs
    .filter((job) => job.outcome === 'failed')
    .map((job) => `${job.threadId} failed (batch): ${job.reason ?? 'no reason given'}`);
  for (const job of summary.submitted.failed) lines.push(`${job.threadId} failed (batch request not built): ${job.reason}`);
  for (const b of summary.collected.batches.filter((b) => b.outcome === 'error')) {
    lines.push(`batch ${b.batchId} not collected: ${b.detail ?? 'no reason given'}`);
  }
  for (const error of [summary.submitted.error, summary.error]) if (error) lines.push(`phase 1 (batch): ${error}`);
  return lines;
}

/** The batch's finished jobs as `--json` lists the run's (a batch answer is one attempt; a failure, `gaveUp`). */
export function batchJobsJson(summary: BatchPhase1Summary) {
  const unbuilt = summary.submitted.failed.map((job) => ({ ...job, outcome: 'failed' as const, usage: null }));
  return [...summary.collected.jobs.filter((job) => job.outcome !== 'stale'), ...unbuilt].map((job) => ({
    threadId: job.threadId,
    outcome: job.outcome === 'failed' ? ('gaveUp' as const) : job.outcome,
    attempts: 1,
    reason: job.reason,
    tokens: job.usage?.total ?? 0,
  }));
}
