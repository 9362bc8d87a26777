// `memories serve --store URL --port N`: the fleet's HTTP API (ingest, memory, status) and, unless --no-worker,
// a worker on the shared queue in the same process.
import type { Command } from 'commander';
import { defaultWorkDir, storeUrl } from '../../services/fleet/store-url.ts';
import { fileLogger } from '../../services/logger.ts';
import { integer, positiveInteger } from './options.ts';
import { handleStopSignals } from './stop-signals.ts';
import { addWorkerOptions, type WorkerCommandFlags } from './worker.ts';

interface ServeFlags extends WorkerCommandFlags {
  port: number;
  host: string;
  worker: boolean;
  maxRolloutMb?: number;
}

/** Why `listen` failed, for the errors a host gives about the address asked for. */
const LISTEN_FAILURES: Record<string, string> = {
  EADDRINUSE: 'the address is in use (another process listens there; choose another --port)',
  EADDRNOTAVAIL: 'cannot assign that address (no interface of this host has it; check --host)',
  EACCES: 'permission denied (ports below 1024 need privileges; choose another --port)',
  ENOTFOUND: 'no such host (check --host)',
};

export function registerServe(program: Command): void {
  addWorkerOptions(program.command('serve'))
    .requiredOption('--port <n>', 'TCP port (0: any free one, printed)', integer('--port'))
    .option('--host <address>', 'address to listen on; put a TLS proxy in front for anything but loopback', '127.0.0.1')
    .option('--no-worker', 'only the API: extraction and consolidation run in `memories worker` processes')
    .option('--max-rollout-mb <n>', 'largest rollout accepted (default 64)', positiveInteger('--max-rollout-mb'))
    .addHelpText(
      'after',
      '\nThe first stdout line is `listening on http://HOST:PORT`. Plain HTTP: terminate TLS in front (README, Fleet memory).\n' +
        '\nExample:\n  $ memories serve --store postgres://memories@db/memories --port 8080\n',
    )
    .action(serveCommand);
}

async function serveCommand(flags: ServeFlags): Promise<void> {
  const url = storeUrl(flags.store);
  const workDir = flags.workDir ?? defaultWorkDir();
  const log = fileLogger(workDir);
  // Loaded when the service starts: the driver, the framework and the pipeline are not for every command line.
  const { startWorkerFromFlags } = await import('../../services/fleet/fleet-runtime.ts');
  const { openDatabase } = await import('../../services/store/postgres/open-database.ts');
  const { createFleetServer } = await import('../../services/fleet/http-server.ts');
  const db = await openDatabase(url, log);
  const maxRolloutBytes = flags.maxRolloutMb === undefined ? undefined : flags.maxRolloutMb * 1024 * 1024;
  const app = createFleetServer({ db, workDir, log, maxRolloutBytes });
  const address = await app.listen({ port: flags.port, host: flags.host }).catch(async (error: NodeJS.ErrnoException) => {
    await db.close();
    const reason = LISTEN_FAILURES[error.code ?? ''];
    if (!reason) throw error;
    // The command line was right, the host was not (as with an unreachable store): one line, exit 1.
    process.stderr.write(`memories: cannot listen on ${flags.host}:${flags.port}: ${reason}\n`);
    process.exitCode = 1;
    return null;
  });
  if (address === null) return;
  const worker = flags.worker ? startWorkerFromFlags(db, url, { ...flags, workDir }, log) : null;
  handleStopSignals(() => {
    void (async () => {
      await app.close();
      await worker?.stop();
      await db.close();
    })();
  });
  process.stdout.write(`listening on ${address}\n`);
  process.stderr.write(
    `memories serve: ${worker ? `worker ${worker.workerId} on the queue` : 'no worker'}; log: ${workDir}/log/memories.log\n`,
  );
  await worker?.done;
}
