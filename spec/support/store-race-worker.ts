// A separate process racing other copies of itself for the stage-1 jobs of one store.
// Started by spec/store-race.test.ts with `fork(…, { execArgv: ['--import', 'tsx'] })`.
// argv: <store dir> <mode: batch|single> <candidate count> <worker id>
// Waits for 'go' (so all workers start together), claims, finalises what it claimed with an
// output, and reports { claims: threadIds[], errors: string[] }.
import { createLowdbStore } from '../../services/store/lowdb-store.ts';
import type { ThreadInfo } from '../../services/types.ts';

const [dir, mode, countText, workerId] = process.argv.slice(2);
const store = createLowdbStore({ dir: dir! });
const candidates: ThreadInfo[] = Array.from({ length: Number(countText) }, (_, i) => ({
  threadId: `thread-${String(i).padStart(4, '0')}`,
  rolloutPath: `/sessions/${i}.jsonl`,
  cwd: '/work',
  source: 'cli',
  updatedAt: 1_000 + i,
  createdAt: null,
  hasUserMessage: true,
  sizeBytes: 1,
}));

function shuffled<T>(items: T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i -= 1) {
    const j = Math.floor(Math.random() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy;
}

async function race(): Promise<Array<{ thread: ThreadInfo; token: string }>> {
  const won: Array<{ thread: ThreadInfo; token: string }> = [];
  if (mode === 'single') {
    for (const thread of shuffled(candidates)) {
      const result = await store.tryClaimStage1Job(thread, workerId!, 3_600, 10_000);
      if (result.kind === 'claimed') won.push({ thread, token: result.ownershipToken });
    }
  } else {
    // Many overlapping batch passes over random windows, all with a large cap.
    for (let pass = 0; pass < 40; pass += 1) {
      const window = shuffled(candidates).slice(0, 25);
      const batch = await store.claimStage1Jobs({
        candidates: window,
        workerId: workerId!,
        maxClaimed: 10_000,
        leaseSeconds: 3_600,
      });
      for (const c of batch.claims) won.push({ thread: c.thread, token: c.ownershipToken });
    }
    const rest = await store.claimStage1Jobs({ candidates, workerId: workerId!, maxClaimed: 10_000, leaseSeconds: 3_600 });
    for (const c of rest.claims) won.push({ thread: c.thread, token: c.ownershipToken });
  }
  return won;
}

process.on('message', async (message) => {
  if (message !== 'go') return;
  const errors: string[] = [];
  const claims: string[] = [];
  try {
    for (const { thread, token } of await race()) {
      claims.push(thread.threadId);
      const ok = await store.markStage1Succeeded(
        thread,
        token,
        { rawMemory: `memory by ${workerId}`, rolloutSummary: 'summary', rolloutSlug: null },
        null,
      );
      if (!ok) errors.push(`success refused for ${thread.threadId}`);
    }
  } catch (error) {
    errors.push(error instanceof Error ? (error.stack ?? error.message) : String(error));
  }
  process.send!({ claims, errors }, () => process.exit(0));
});
process.send!('ready');
