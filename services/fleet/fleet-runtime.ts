// What the fleet commands share once they run: a migrated database, the model, and a worker wired from flags.
import { errorMessage, StoreUnavailableError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { modelClientFromEnvironment } from '../model/model-endpoint.ts';
import type { PgDatabase } from '../store/postgres/connection.ts';
import { openDatabase } from '../store/postgres/open-database.ts';
import { redactUrl } from '../store/postgres/url.ts';
import { defaultWorkDir } from './store-url.ts';
import { type FleetWorker, startFleetWorker } from './fleet-worker.ts';

/** Connects and brings the schema up to date; a database that cannot be reached is a one-line error. */
export async function openFleetDatabase(url: string, log?: Logger): Promise<PgDatabase> {
  return openDatabase(url, log).catch((error: unknown) => {
    throw new StoreUnavailableError(`cannot use the store at ${redactUrl(url)}: ${errorMessage(error)}`, { cause: error });
  });
}

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
