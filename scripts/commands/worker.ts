// `memories worker --store URL`: extraction and consolidation from the shared queue, without HTTP. Any number of
// workers (and `serve` processes) on any number of hosts share one database.
import type { Command } from 'commander';
import type { WorkerFlags } from '../../services/fleet/fleet-runtime.ts';
import type { FleetWorker } from '../../services/fleet/fleet-worker.ts';
import { defaultWorkDir, STORE_HELP, storeUrl } from '../../services/fleet/store-url.ts';
import { fileLogger } from '../../services/logger.ts';
import type { PgDatabase } from '../../services/store/postgres/connection.ts';
import { BASE_URL_HELP, positiveInteger, WIRE_API_HELP } from './options.ts';
import { handleStopSignals } from './stop-signals.ts';

export interface WorkerCommandFlags extends WorkerFlags {
  store?: string;
}

/** The options `worker` and `serve` share. */
export function addWorkerOptions(command: Command): Command {
  return command
    .option('--store <url>', STORE_HELP)
    .option('--work-dir <dir>', `rollout copies and working memory folders (default ${defaultWorkDir()})`)
    .option('--concurrency <n>', 'extraction model calls in flight (default 8)', positiveInteger('--concurrency'))
    .option(
      '--lease-seconds <n>',
      "lease of each job; a killed worker's jobs come back after it (default 60)",
      positiveInteger('--lease-seconds'),
    )
    .option('--model <model>', 'phase-1 model (default gpt-5.3-codex-spark)')
    .option('--phase2-model <model>', 'phase-2 model (default gpt-5.3-codex)')
    .option('--base-url <url>', BASE_URL_HELP)
    .option('--wire-api <api>', WIRE_API_HELP)
    .option('--timeout-ms <n>', 'per-request model timeout', positiveInteger('--timeout-ms'))
    .option('--max-turns <n>', 'consolidation agent turn cap (default 40)', positiveInteger('--max-turns'));
}

export function registerWorker(program: Command): void {
  addWorkerOptions(program.command('worker'))
    .addHelpText(
      'after',
      '\nThe model key comes from OPENAI_API_KEY (and OPENAI_BASE_URL). SIGINT/SIGTERM give the leases in hand back.\n' +
        '\nExample:\n  $ MEMORIES_STORE=postgres://memories@db/memories memories worker --concurrency 16\n',
    )
    .action(workerCommand);
}

/** Stops the worker on the first SIGINT/SIGTERM, giving its leases back, then closes the database. */
function stopOnSignal(worker: FleetWorker, db: PgDatabase): void {
  handleStopSignals(() => {
    void worker.stop().then(() => db.close());
  });
}

async function workerCommand(flags: WorkerCommandFlags): Promise<void> {
  const url = storeUrl(flags.store);
  const workDir = flags.workDir ?? defaultWorkDir();
  const log = fileLogger(workDir);
  // Loaded when a worker starts: the driver and the pipeline are not for every command line.
  const { startWorkerFromFlags } = await import('../../services/fleet/fleet-runtime.ts');
  const { openDatabase } = await import('../../services/store/postgres/open-database.ts');
  const db = await openDatabase(url, log);
  const worker = startWorkerFromFlags(db, url, { ...flags, workDir }, log);
  stopOnSignal(worker, db);
  process.stderr.write(`memories worker ${worker.workerId}: working (log: ${workDir}/log/memories.log)\n`);
  await worker.done;
}
