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
