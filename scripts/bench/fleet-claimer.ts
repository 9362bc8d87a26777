// One claimer of the fleet bench's claim-latency row, in a process of its own as a worker is: reads the queue, claims
// a batch (timed), finishes it, until the queue is empty; prints its claim times (ms) as JSON on stdout.
import { claimableThreads } from '../../services/fleet/rollout-queue.ts';
import { connectPostgres } from '../../services/store/postgres/connection.ts';
import { createPostgresStore } from '../../services/store/postgres/postgres-store.ts';

const { url, namespace, workDir, id, batch } = JSON.parse(process.argv[2]!) as {
  url: string;
  namespace: string;
  workDir: string;
  id: string;
  batch: number;
};
const db = connectPostgres(url);
const store = createPostgresStore({ db, namespace, runningCap: Number.POSITIVE_INFINITY });
const latencies: number[] = [];
for (;;) {
  const queued = await claimableThreads(db, namespace, workDir, { limit: batch * 4, maxAgeDays: 30 });
  if (queued.length === 0) break;
  const started = performance.now();
  const claimed = await store.claimStage1Jobs({
    candidates: queued.map((q) => q.thread),
    workerId: id,
    maxClaimed: batch,
    leaseSeconds: 60,
  });
  latencies.push(performance.now() - started);
  for (const c of claimed.claims) await store.markStage1SucceededNoOutput(c.thread.threadId, c.ownershipToken, null);
}
await db.close();
process.stdout.write(`${JSON.stringify(latencies)}\n`);
