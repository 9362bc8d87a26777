// `memories status`: what the store holds.
import { join } from 'node:path';
import { defaultCodexHome } from '../../services/config.ts';
import { createLowdbStore } from '../../services/lowdb-store.ts';

export async function statusCommand(flags: { codexHome?: string; json?: boolean }): Promise<void> {
  const codexHome = flags.codexHome ?? defaultCodexHome();
  const store = createLowdbStore({ dir: join(codexHome, 'memories_state') });
  const status = await store.status();
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
    return;
  }
  const byStatus = new Map<string, number>();
  for (const job of status.jobs) byStatus.set(job.status, (byStatus.get(job.status) ?? 0) + 1);
  const lines = [`store: ${store.location}`];
  lines.push(`stage-1 jobs: ${status.jobs.length}${[...byStatus].map(([s, n]) => `, ${s} ${n}`).join('')}`);
  for (const job of status.jobs) {
    const when = (t: number | null) => (t ? new Date(t * 1000).toISOString() : '-');
    lines.push(
      `  ${job.jobKey}  ${job.status.padEnd(7)}  retries left ${job.retryRemaining}  lease ${when(job.leaseUntil)}  retry ${when(job.retryAt)}${job.lastError ? `  error: ${job.lastError}` : ''}`,
    );
  }
  lines.push(`stage-1 outputs: ${status.outputs.length}`);
  const g = status.globalJob;
  lines.push(
    g
      ? `consolidation: ${g.status}, watermark ${g.inputWatermark ?? 0} (last success ${g.lastSuccessWatermark ?? 0})${g.lastError ? `, last error: ${g.lastError}` : ''}`
      : 'consolidation: never enqueued',
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}
