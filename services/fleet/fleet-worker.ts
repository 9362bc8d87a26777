// A fleet worker: takes work from the shared queue of every namespace until stopped. Extraction comes first; a
// namespace is consolidated once its queue is empty, or during a long backlog at most every `consolidateEverySeconds`.
// A database outage only pauses it: it retries with a growing delay and goes on when the server is back.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { CoordinatorOutput } from '../../machines/coordinator.ts';
import type { RetryPolicy } from '../../machines/retry-policy.ts';
import type { MemoriesConfig } from '../config.ts';
import { DEFAULT_CONFIG } from '../config.ts';
import { errorMessage } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { ModelClient } from '../model/model-client.ts';
import type { PipelineDeps } from '../pipeline-deps.ts';
import type { PgDatabase } from '../store/postgres/connection.ts';
import { type NamespacePass, startNamespacePass } from './namespace-pass.ts';
import { type NamespaceWork, namespacesWithWork } from './rollout-queue.ts';
import { listenForWork } from './work-signal.ts';

export interface FleetWorkerOptions {
  db: PgDatabase;
  /** The database URL, for the connection that listens for new work. */
  url: string;
  workDir: string;
  model: ModelClient;
  log: Logger;
  concurrency?: number;
  /** Lease of every job this worker takes; heartbeats renew it every third of it (default 60 s). */
  leaseSeconds?: number;
  /** Longest idle wait between looks at the queue (default 2,000 ms; a notification ends it sooner). */
  pollMs?: number;
  consolidateEverySeconds?: number;
  workerId?: string;
  config?: Partial<MemoriesConfig>;
  retryPolicy?: Partial<RetryPolicy>;
  agent?: Partial<PipelineDeps['agent']>;
}

export interface FleetWorker {
  readonly workerId: string;
  /** Resolves when the worker has stopped. */
  readonly done: Promise<void>;
  /** Finishes nothing new, gives back the leases of the pass in flight, and resolves once stopped. */
  stop(): Promise<void>;
}

const MAX_OUTAGE_WAIT_MS = 10_000;
const MAX_CONSOLIDATION_PAUSE_MS = 60_000;

function pauseAfter(last: { ms: number } | undefined): { until: number; ms: number } {
  const ms = Math.min(MAX_CONSOLIDATION_PAUSE_MS, last ? last.ms * 2 : 1_000);
  return { until: Date.now() + ms, ms };
}
const CONTENDED_WAIT_MS = 100;

type ConsolidationPauses = Map<string, { until: number; ms: number }>;

function passOptions(options: FleetWorkerOptions, work: NamespaceWork, phase: '1' | '2', workerId: string) {
  return {
    db: options.db,
    namespace: work.namespace,
    layout: work.layout,
    workDir: options.workDir,
    model: options.model,
    phase,
    concurrency: options.concurrency ?? 8,
    leaseSeconds: options.leaseSeconds ?? 60,
    workerId,
    log: options.log,
    config: options.config,
    retryPolicy: options.retryPolicy,
    agent: options.agent,
  };
}

/** The passes a namespace needs now: extraction while there is work, consolidation when due and not paused. */
function phasesOf(work: NamespaceWork, pauses: ConsolidationPauses, everySeconds: number): Array<'1' | '2'> {
  const paused = (pauses.get(work.namespace)?.until ?? 0) > Date.now();
  // Once the backlog has drained (nothing to claim, nobody extracting), or now and then during a long one.
  const drained = !work.extract && !work.extracting;
  const due = !paused && (drained || (work.lastConsolidatedAt !== null && work.now - work.lastConsolidatedAt >= everySeconds));
  return [...(work.extract ? (['1'] as const) : []), ...(work.consolidate && due ? (['2'] as const) : [])];
}

/** Logs a pass's outcome and keeps the namespace's consolidation pause up to date. */
function notePass(output: CoordinatorOutput | undefined, namespace: string, pauses: ConsolidationPauses, log: Logger): void {
  if (output?.phase1?.error) log.warn({ namespace, error: output.phase1.error }, 'phase 1 pass failed');
  const p2 = output?.phase2;
  if (p2) log.info({ namespace, status: p2.status, reason: p2.reason, attempts: p2.attempts }, 'phase 2 pass');
  // A consolidation that failed before claiming recorded nothing, so the queue still offers it: back off here.
  if (p2?.status === 'failed' && p2.attempts === 0) pauses.set(namespace, pauseAfter(pauses.get(namespace)));
  else if (p2) pauses.delete(namespace);
}

export function startFleetWorker(options: FleetWorkerOptions): FleetWorker {
  const workerId = options.workerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const log = options.log;
  const signal = listenForWork(options.url, log);
  const maxAgeDays = options.config?.maxRolloutAgeDays ?? DEFAULT_CONFIG.maxRolloutAgeDays;
  const every = options.consolidateEverySeconds ?? 300;
  let stopping = false;
  let current: NamespacePass | null = null;

  /** Per namespace: no consolidation before `until` (ms), after `ms` of pause last time. */
  const consolidationPause: ConsolidationPauses = new Map();

  /** Runs one pass; true when it did something (a phase-1 pass that claimed nothing lost every race). */
  async function runPass(work: NamespaceWork, phase: '1' | '2'): Promise<boolean> {
    current = startNamespacePass(passOptions(options, work, phase, workerId));
    try {
      // A pass stopped from outside (shutdown) ends without an output.
      const output = (await current.done) as CoordinatorOutput | undefined;
      notePass(output, work.namespace, consolidationPause, log);
      return phase === '2' || (output?.phase1?.claimed ?? 0) > 0;
    } finally {
      current = null;
    }
  }

  async function loop(): Promise<void> {
    let outages = 0;
    while (!stopping) {
      let work: NamespaceWork[];
      try {
        work = await namespacesWithWork(options.db, maxAgeDays);
        outages = 0;
      } catch (error) {
        outages += 1;
        log.warn({ err: errorMessage(error), outages }, 'fleet worker: database unavailable, retrying');
        await signal.wait(Math.min(MAX_OUTAGE_WAIT_MS, 250 * 2 ** outages));
        continue;
      }
      const passes = work.flatMap((w) => phasesOf(w, consolidationPause, every).map((phase) => ({ work: w, phase })));
      if (passes.length === 0) {
        await signal.wait(options.pollMs ?? 2_000);
        continue;
      }
      let busy = false;
      for (const { work: w, phase } of passes) {
        if (stopping) break;
        busy =
          (await runPass(w, phase).catch((error) => {
            log.error({ err: errorMessage(error), namespace: w.namespace }, 'pass crashed');
            return false;
          })) || busy;
      }
      // Other workers took everything this one saw: let them get on before looking again.
      if (!busy) await signal.wait(CONTENDED_WAIT_MS);
    }
  }

  const done = loop().finally(() => signal.close());
  return {
    workerId,
    done,
    async stop() {
      stopping = true;
      await signal.close();
      await (current as NamespacePass | null)?.stop();
      await done;
    },
  };
}
