// The I/O behind machines/daemon.ts: the rollout watcher, one pipeline run, and the drain shutdown waits for.
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { type Actor, createActor, fromCallback, fromPromise } from 'xstate';
import { daemonMachine, type DaemonEvent, type RunReport, type RunRequest } from '../../machines/daemon.ts';
import { DEFAULT_CONFIG } from '../config.ts';
import { errorMessage } from '../errors.ts';
import { silentLogger } from '../logger.ts';
import { createLayoutResolver } from '../memory-folder/layout.ts';
import { Inflight } from '../pipeline-deps.ts';
import {
  createMemoriesPipeline,
  type MemoriesPipeline,
  type PipelineOptions,
  pipelineOutput,
  stopPipeline,
} from '../pipeline.ts';
import { watchRollouts } from './watcher.ts';

export interface DaemonOptions {
  pipeline: Omit<PipelineOptions, 'minIdleMinutes'>;
  /** The idle window: the scheduler's wait after a rollout's last write, and each run's minIdleMinutes. */
  idleMs: number;
  /** Run even without file events this often (failed jobs are retried once their backoff ends). */
  rescanMs?: number;
  /** After a rollout goes idle, wait this long for others so they share a run (default 1 s). */
  coalesceMs?: number;
  /** Sees each run's pipeline actor (per-job progress lines). */
  onPipeline?: (actor: MemoriesPipeline, run: RunRequest) => void;
  /** awaitWriteFinish threshold for the watcher (default min(2 s, idle window / 2)). */
  stabilityMs?: number;
}

export const DEFAULT_RESCAN_MS = 3_600_000;
export const DEFAULT_COALESCE_MS = 1_000;

export function daemonActors(options: DaemonOptions) {
  const log = options.pipeline.log ?? silentLogger;
  const now = options.pipeline.now ?? Date.now;
  const maxClaimed = options.pipeline.config?.maxRolloutsPerStartup ?? DEFAULT_CONFIG.maxRolloutsPerStartup;
  // Clean-up still running after the machine stopped an actor: lease releases, closing the watcher.
  const inflight = new Inflight();
  // At most one `codex --version` per daemon, not one per run: its config does not change while it runs.
  const layoutOf = createLayoutResolver();

  return {
    watchRollouts: fromCallback<DaemonEvent>(({ sendBack }) => {
      const watcher = watchRollouts({
        sessionsDir: join(options.pipeline.codexHome, 'sessions'),
        idleMs: options.idleMs,
        stabilityMs: options.stabilityMs,
        now,
        onIdle: (path, mtimeMs) => {
          log.info({ path, mtimeMs }, 'rollout idle');
          sendBack({ type: 'ROLLOUT_IDLE', path });
        },
        onReady: () => sendBack({ type: 'WATCH_READY' }),
        onError: (error) => {
          log.warn({ err: error }, 'watcher error');
          sendBack({ type: 'WATCH_ERROR', message: errorMessage(error) });
        },
      });
      return () => inflight.track(watcher.close());
    }),

    runPipeline: fromPromise<RunReport, RunRequest>(async ({ input, signal }) => {
      const started = performance.now();
      log.info({ run: input.run, trigger: input.trigger }, 'daemon run started');
      const { codexHome, config } = options.pipeline;
      const layout = options.pipeline.layout ?? layoutOf(codexHome, { version: config?.version ?? null });
      const actor = createMemoriesPipeline({ ...options.pipeline, layout, minIdleMinutes: options.idleMs / 60_000 });
      // The daemon is stopping: abort the model calls and give the leases back before it exits.
      const halt = () => inflight.track(stopPipeline(actor));
      if (signal.aborted) halt();
      else signal.addEventListener('abort', halt, { once: true });
      options.onPipeline?.(actor, input);
      const output = await pipelineOutput(actor);
      signal.removeEventListener('abort', halt);
      const claimed = output.phase1?.claimed ?? 0;
      const report: RunReport = {
        ...input,
        output,
        elapsedMs: Math.round(performance.now() - started),
        backlog: maxClaimed > 0 && claimed >= maxClaimed,
      };
      log.info({ run: input.run, elapsedMs: report.elapsedMs, claimed, backlog: report.backlog }, 'daemon run finished');
      return report;
    }),

    drain: fromPromise<void, void>(async () => {
      // Stopping the run and the watcher happened in this same step; let their clean-up register.
      await nextTurn();
      await inflight.settle();
    }),
  };
}

export type Daemon = Actor<typeof daemonMachine>;

/** Creates and starts the daemon actor; send it `{ type: 'STOP' }` and await `toPromise(actor)`. */
export function createDaemon(options: DaemonOptions): Daemon {
  const log = options.pipeline.log ?? silentLogger;
  const actor = createActor(daemonMachine.provide({ actors: daemonActors(options) }), {
    input: { rescanMs: options.rescanMs ?? DEFAULT_RESCAN_MS, coalesceMs: options.coalesceMs ?? DEFAULT_COALESCE_MS },
  });
  actor.subscribe({ error: (error) => log.error({ err: error }, 'daemon actor failed') });
  actor.start();
  return actor;
}
