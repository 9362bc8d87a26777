// A lease held by a run on this host whose process is gone (kill -9, a crash): nothing will renew or release it, so
// its work would wait out the whole lease (an hour for phase 2, with a half-written memory folder served to Codex
// meanwhile). Worker ids are `host:pid:uuid` (pipeline.ts); a holder on another host, or alive, is left alone.
import { hostname } from 'node:os';
import { processAlive } from '../files/atomic-write.ts';
import type { MemoryStore } from './port.ts';

/** Whether `workerId` names a process of this host that is no longer running. */
export function isDeadLocalWorker(workerId: string | null): boolean {
  const [host, pid] = (workerId ?? '').split(':');
  return host === hostname() && /^\d+$/.test(pid ?? '') && !processAlive(Number(pid));
}

/** Gives back the global job's lease when its holder is a dead process of this host; true when it did. */
export async function releaseDeadLocalGlobalLease(store: MemoryStore): Promise<boolean> {
  const job = (await store.status()).globalJob;
  if (job?.status !== 'running' || job.ownershipToken === null || !isDeadLocalWorker(job.workerId)) return false;
  await store.releaseGlobalJob(job.ownershipToken);
  return true;
}
