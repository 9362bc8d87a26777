// What the fleet commands share once they run: the model and a worker wired from flags.
import type { Logger } from '../logger.ts';
import { modelClientFromEnvironment } from '../model/model-endpoint.ts';
import type { PgDatabase } from '../store/postgres/connection.ts';
import { defaultWorkDir } from './store-url.ts';
import { type FleetWorker, startFleetWorker } from './fleet-worker.ts';

export interface WorkerFlags {
  workDir?: string;
  concurrency?: number;
  leaseSeconds?: number;
  model?: string;
  phase2Model?: string;
  baseUrl?: string;
  wireApi?: string;
  timeoutMs?: number;
  maxTurns?: number;
}

export function startWorkerFromFlags(db: PgDatabase, url: string, flags: WorkerFlags, log: Logger): FleetWorker {
  const model = modelClientFromEnvironment({ baseUrl: flags.baseUrl, wireApi: flags.wireApi, timeoutMs: flags.timeoutMs });
  return startFleetWorker({
    db,
    url,
    workDir: flags.workDir ?? defaultWorkDir(),
    model,
    log,
    concurrency: flags.concurrency,
    leaseSeconds: flags.leaseSeconds,
    config: {
      ...(flags.model ? { phase1Model: flags.model } : {}),
      ...(flags.phase2Model ? { phase2Model: flags.phase2Model } : {}),
    },
    agent: { maxTurns: flags.maxTurns },
  });
}
