// Synthetic stage-1 outputs for the phase-2 benchmarks, written through the real store.
import { join } from 'node:path';
import type { MemoryStore } from '../../services/store/port.ts';
import type { Stage1Reply, ThreadInfo } from '../../services/types.ts';

/** A realistic stage-1 output: a few hundred words of summary, a dozen memory bullets. */
export function benchReply(i: number, revision = 0): Stage1Reply {
  const rev = revision ? ` (rev ${revision})` : '';
  const fact = (k: number) => `- fact ${k} of session ${i}${rev}: run \`npm test -- spec/x${k}.test.ts\` before pushing`;
  const front = `---\nrollout_summary_file: session-${i}.md\ndescription: benchmark session ${i}\nkeywords: bench, s${i}\n---`;
  return {
    rawMemory: `${front}\n${Array.from({ length: 12 }, (_, k) => fact(k)).join('\n')}`,
    rolloutSummary: `Session ${i}: ${'the user fixed a flaky test and documented the cause. '.repeat(40)}`,
    rolloutSlug: `bench session ${i}`,
  };
}

/** Claims and completes `count` synthetic threads, so the store holds `count` outputs. */
export async function seedStage1Outputs(store: MemoryStore, home: string, count: number): Promise<ThreadInfo[]> {
  const now = Math.floor(Date.now() / 1000);
  const pad = (i: number, n: number) => String(i).padStart(n, '0');
  const threads: ThreadInfo[] = Array.from({ length: count }, (_, i) => ({
    threadId: `0195${pad(i, 4)}-0000-7000-8000-${pad(i, 12)}`,
    rolloutPath: join(home, 'sessions', `rollout-${i}.jsonl`),
    cwd: `/home/user/project-${i % 17}`,
    source: 'cli',
    updatedAt: now - 7 * 3_600 - i,
    createdAt: now - 8 * 3_600 - i,
    hasUserMessage: true,
    sizeBytes: 1,
  }));
  const claimed = await store.claimStage1Jobs({ candidates: threads, workerId: 'bench', maxClaimed: count, leaseSeconds: 3_600 });
  await Promise.all(claimed.claims.map((c, i) => store.markStage1Succeeded(c.thread, c.ownershipToken, benchReply(i), null)));
  return threads;
}
