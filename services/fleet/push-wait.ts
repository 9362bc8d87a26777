// `push --wait`: polls the fleet until every pushed rollout is in a memory revision, or says why it never will be.
import { setTimeout as sleep } from 'node:timers/promises';
import type { FleetClient } from './fleet-client.ts';

export interface WaitOutcome {
  /** The revision that holds everything pushed. */
  revision: number;
  consolidated: number;
  ineligible: number;
}

export class PushWaitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PushWaitError';
  }
}

export async function waitUntilConsolidated(
  client: FleetClient,
  hashes: string[],
  options: { timeoutMs: number; pollMs?: number; onProgress?: (line: string) => void },
): Promise<WaitOutcome> {
  const deadline = Date.now() + options.timeoutMs;
  let last = '';
  for (;;) {
    const { rollouts, consolidation } = await client.rolloutStatus(hashes);
    const count = (state: string) => rollouts.filter((r) => r.state === state).length;
    const failed = rollouts.find((r) => r.state === 'failed' || r.state === 'unknown');
    if (failed) throw new PushWaitError(`rollout ${failed.sessionId ?? failed.sha256}: ${failed.reason}`);
    const waiting = count('pending') + count('extracted');
    if (waiting === 0)
      return { revision: consolidation.revision, consolidated: count('consolidated'), ineligible: count('ineligible') };
    if (count('extracted') > 0 && consolidation.status === 'error' && consolidation.dirty) {
      const retry = consolidation.retryAt ? `; next try at ${new Date(consolidation.retryAt * 1000).toISOString()}` : '';
      throw new PushWaitError(`consolidation failed: ${consolidation.lastError ?? 'no reason recorded'}${retry}`);
    }
    const line = `waiting: ${count('pending')} to extract, ${count('extracted')} to consolidate (revision ${consolidation.revision})`;
    if (line !== last) options.onProgress?.(line);
    last = line;
    if (Date.now() >= deadline)
      throw new PushWaitError(`not consolidated within ${Math.round(options.timeoutMs / 1000)} s (${line})`);
    await sleep(options.pollMs ?? 1_000);
  }
}
