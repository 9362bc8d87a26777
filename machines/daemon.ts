// The `memories watch` daemon: one catch-up run at startup, then a run whenever rollouts go idle.
//
//   active ─STOP─▶ stopping ─▶ stopped      (the rollout watcher runs throughout `active`)
//   inside active:
//     catchingUp ─▶ settled ─(more to do)─▶ running ─▶ settled
//                   settled ─(nothing to do)─▶ idle ─ROLLOUT_IDLE─▶ gathering ─(coalesce)─▶ running
//                                              idle ─(rescan)─▶ running
//
// Runs never overlap: a ROLLOUT_IDLE during a run only queues the file, so a burst coalesces into one
// more run. A run that hit max_rollouts_per_startup reports a backlog, which also runs again.
import { assign, emit, enqueueActions, fromCallback, setup } from 'xstate';
import { errorMessage } from '../services/errors.ts';
import type { CoordinatorOutput } from './coordinator.ts';
import { placeholder } from './placeholder.ts';

export interface DaemonInput {
  /** Run anyway after this long without one, so failed jobs are retried once their backoff ends. */
  rescanMs: number;
  /** After the first rollout goes idle, wait this long for others before running (default 1 s). */
  coalesceMs: number;
}

export type RunTrigger = { kind: 'startup' } | { kind: 'idle'; paths: string[] } | { kind: 'backlog' } | { kind: 'rescan' };

export interface RunRequest {
  run: number;
  trigger: RunTrigger;
}

export interface RunReport extends RunRequest {
  output: CoordinatorOutput;
  elapsedMs: number;
  /** Phase 1 claimed as many rollouts as one run may: there may be more waiting. */
  backlog: boolean;
}

export type DaemonEvent =
  | { type: 'ROLLOUT_IDLE'; path: string }
  | { type: 'WATCH_READY' }
  | { type: 'WATCH_ERROR'; message: string }
  | { type: 'STOP' };

export type DaemonEmitted =
  | { type: 'watch.ready' }
  | { type: 'watch.error'; message: string }
  | { type: 'run.started'; run: number; trigger: RunTrigger }
  | { type: 'run.finished'; report: RunReport }
  | { type: 'run.failed'; run: number; trigger: RunTrigger; error: string }
  | { type: 'stopping'; runInFlight: number | null };

export interface DaemonOutput {
  runs: number;
  lastRun: RunReport | null;
}

export interface DaemonContext extends DaemonInput {
  runs: number;
  /** Rollouts that went idle since the current run's scan may have started. */
  queued: string[];
  backlog: boolean;
  current: RunRequest | null;
  lastRun: RunReport | null;
}

function triggerFor(context: DaemonContext, startup: boolean): RunTrigger {
  if (startup) return { kind: 'startup' };
  if (context.queued.length > 0) return { kind: 'idle', paths: context.queued };
  if (context.backlog) return { kind: 'backlog' };
  return { kind: 'rescan' };
}

const runInvoke = {
  id: 'run',
  src: 'runPipeline',
  input: ({ context }: { context: DaemonContext }) => context.current!,
  onDone: { target: 'settled', actions: 'recordRun' },
  onError: { target: 'settled', actions: 'reportRunFailure' },
} as const;

export const daemonMachine = setup({
  types: {
    input: {} as DaemonInput,
    context: {} as DaemonContext,
    events: {} as DaemonEvent,
    emitted: {} as DaemonEmitted,
    output: {} as DaemonOutput,
  },
  actors: {
    watchRollouts: fromCallback<DaemonEvent>(() => {
      throw new Error("daemon actor 'watchRollouts' was not provided");
    }),
    runPipeline: placeholder<RunReport, RunRequest>('daemon', 'runPipeline'),
    /** Resolves once the stopped run and watcher have finished their clean-up. */
    drain: placeholder<void, void>('daemon', 'drain'),
  },
  delays: {
    rescan: ({ context }) => context.rescanMs,
    coalesce: ({ context }) => context.coalesceMs,
  },
  guards: {
    moreToDo: ({ context }) => context.queued.length > 0 || context.backlog,
  },
  actions: {
    beginRun: enqueueActions(({ context, enqueue }, params: { startup: boolean }) => {
      const current: RunRequest = { run: context.runs + 1, trigger: triggerFor(context, params.startup) };
      enqueue.assign({ runs: current.run, current, queued: [], backlog: false });
      enqueue.emit({ type: 'run.started', run: current.run, trigger: current.trigger });
    }),
    recordRun: enqueueActions(({ enqueue, event }) => {
      const report = (event as unknown as { output: RunReport }).output;
      enqueue.assign({ lastRun: report, backlog: report.backlog, current: null });
      enqueue.emit({ type: 'run.finished', report });
    }),
    reportRunFailure: enqueueActions(({ context, enqueue, event }) => {
      const error = errorMessage((event as unknown as { error: unknown }).error);
      enqueue.emit({ type: 'run.failed', run: context.current!.run, trigger: context.current!.trigger, error });
      enqueue.assign({ current: null });
    }),
    queue: assign({
      queued: ({ context, event }) => {
        const path = (event as Extract<DaemonEvent, { type: 'ROLLOUT_IDLE' }>).path;
        return context.queued.includes(path) ? context.queued : [...context.queued, path];
      },
    }),
  },
}).createMachine({
  id: 'daemon',
  context: ({ input }) => ({ ...input, runs: 0, queued: [], backlog: false, current: null, lastRun: null }),
  initial: 'active',
  states: {
    active: {
      description: 'Watches the sessions folder and runs the pipeline, one run at a time.',
      invoke: { id: 'watcher', src: 'watchRollouts' },
      on: {
        STOP: 'stopping',
        WATCH_READY: { actions: emit({ type: 'watch.ready' as const }) },
        WATCH_ERROR: { actions: emit(({ event }) => ({ type: 'watch.error' as const, message: event.message })) },
      },
      initial: 'catchingUp',
      states: {
        catchingUp: {
          description: 'The startup run over everything already idle.',
          entry: { type: 'beginRun', params: { startup: true } },
          invoke: runInvoke,
          on: { ROLLOUT_IDLE: { actions: 'queue' } },
        },
        idle: {
          description: 'Waits for a rollout to go idle, or for the rescan timer.',
          on: { ROLLOUT_IDLE: { target: 'gathering', actions: 'queue' } },
          after: { rescan: { target: 'running' } },
        },
        gathering: {
          description: 'Collects rollouts that go idle together into one run.',
          on: { ROLLOUT_IDLE: { actions: 'queue' } },
          after: { coalesce: { target: 'running' } },
        },
        running: {
          description: 'One pipeline run; rollouts that go idle meanwhile are queued.',
          entry: { type: 'beginRun', params: { startup: false } },
          invoke: runInvoke,
          on: { ROLLOUT_IDLE: { actions: 'queue' } },
        },
        settled: {
          description: 'A run ended; runs again if rollouts were queued or a backlog remains.',
          always: [{ guard: 'moreToDo', target: 'running' }, { target: 'idle' }],
        },
      },
    },
    stopping: {
      description: 'Waits for the stopped run and watcher to release leases and close.',
      entry: emit(({ context }) => ({ type: 'stopping' as const, runInFlight: context.current?.run ?? null })),
      invoke: { id: 'drain', src: 'drain', onDone: 'stopped', onError: 'stopped' },
    },
    stopped: { type: 'final', description: 'The daemon has stopped.' },
  },
  output: ({ context }) => ({ runs: context.runs, lastRun: context.lastRun }),
});
