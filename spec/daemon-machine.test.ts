// The daemon statechart alone, with scripted actors and a SimulatedClock: runs never overlap, idle
// rollouts coalesce into one run, STOP stops the run in flight and waits for the drain.
import { describe, expect, it } from 'vitest';
import { createActor, fromCallback, fromPromise, SimulatedClock, toPromise } from 'xstate';
import { daemonMachine, type DaemonEmitted, type DaemonEvent, type RunReport, type RunRequest } from '../machines/daemon.ts';

interface PendingRun {
  request: RunRequest;
  finish(backlog?: boolean): void;
  fail(error: Error): void;
  signal: AbortSignal;
}

function harness() {
  const clock = new SimulatedClock();
  const runs: PendingRun[] = [];
  const log: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let sendBack: ((event: DaemonEvent) => void) | null = null;
  let watcherStopped = false;

  const machine = daemonMachine.provide({
    actors: {
      watchRollouts: fromCallback<DaemonEvent>(({ sendBack: send }) => {
        sendBack = send;
        return () => {
          watcherStopped = true;
          log.push('watcher closed');
        };
      }),
      runPipeline: fromPromise<RunReport, RunRequest>(
        ({ input, signal }) =>
          new Promise<RunReport>((resolve, reject) => {
            inFlight += 1;
            maxInFlight = Math.max(maxInFlight, inFlight);
            const done = () => (inFlight -= 1);
            signal.addEventListener('abort', () => {
              done();
              log.push(`run ${input.run} aborted`);
            });
            runs.push({
              request: input,
              signal,
              finish: (backlog = false) => {
                done();
                resolve({ ...input, output: { phase1: null, phase2: null }, elapsedMs: 1, backlog });
              },
              fail: (error) => {
                done();
                reject(error);
              },
            });
          }),
      ),
      drain: fromPromise<void, void>(async () => {
        log.push('drain');
      }),
    },
  });
  const actor = createActor(machine, { clock, input: { rescanMs: 3_600_000, coalesceMs: 1_000 } });
  const emitted: DaemonEmitted[] = [];
  for (const type of ['run.started', 'run.finished', 'run.failed', 'stopping', 'watch.ready'] as const) {
    actor.on(type, (e) => emitted.push(e));
  }
  actor.start();
  const tick = () => new Promise((r) => setImmediate(r));
  return {
    actor,
    clock,
    runs,
    log,
    emitted,
    tick,
    idle: (path: string) => sendBack!({ type: 'ROLLOUT_IDLE', path }),
    get maxInFlight() {
      return maxInFlight;
    },
    get watcherStopped() {
      return watcherStopped;
    },
    state: () => actor.getSnapshot().value,
  };
}

describe('daemon statechart', () => {
  it('catches up at startup, then runs once per burst of idle rollouts, never two runs at a time', async () => {
    const h = harness();
    expect(h.state()).toEqual({ active: 'catchingUp' });
    expect(h.runs.map((r) => r.request)).toEqual([{ run: 1, trigger: { kind: 'startup' } }]);

    // Rollouts going idle during the catch-up only queue.
    h.idle('/s/a.jsonl');
    h.idle('/s/b.jsonl');
    h.idle('/s/a.jsonl');
    await h.tick();
    expect(h.runs).toHaveLength(1);

    h.runs[0]!.finish();
    await h.tick();
    expect(h.runs.map((r) => r.request)).toEqual([
      { run: 1, trigger: { kind: 'startup' } },
      { run: 2, trigger: { kind: 'idle', paths: ['/s/a.jsonl', '/s/b.jsonl'] } },
    ]);
    h.runs[1]!.finish();
    await h.tick();
    expect(h.state()).toEqual({ active: 'idle' });

    // A burst: the first idle file opens a short gathering window, the rest join it.
    h.idle('/s/c.jsonl');
    h.clock.increment(400);
    h.idle('/s/d.jsonl');
    await h.tick();
    expect(h.state()).toEqual({ active: 'gathering' });
    h.clock.increment(600);
    await h.tick();
    expect(h.runs).toHaveLength(3);
    expect(h.runs[2]!.request.trigger).toEqual({ kind: 'idle', paths: ['/s/c.jsonl', '/s/d.jsonl'] });

    // A run that hit max_rollouts_per_startup runs again for the rest.
    h.runs[2]!.finish(true);
    await h.tick();
    expect(h.runs[3]!.request.trigger).toEqual({ kind: 'backlog' });
    h.runs[3]!.fail(new Error('model unreachable'));
    await h.tick();
    expect(h.emitted).toContainEqual({ type: 'run.failed', run: 4, trigger: { kind: 'backlog' }, error: 'model unreachable' });
    expect(h.state()).toEqual({ active: 'idle' }); // a failed run does not stop the daemon

    // With no file events, a rescan picks up jobs whose retry backoff has ended.
    h.clock.increment(3_600_000);
    await h.tick();
    expect(h.runs[4]!.request.trigger).toEqual({ kind: 'rescan' });
    h.runs[4]!.finish();
    await h.tick();

    expect(h.maxInFlight).toBe(1);
    expect(h.emitted.filter((e) => e.type === 'run.finished')).toHaveLength(4);
    h.actor.send({ type: 'STOP' });
    expect(await toPromise(h.actor)).toMatchObject({ runs: 5 });
  });

  it('STOP mid-run stops the run and the watcher, then waits for the drain before finishing', async () => {
    const h = harness();
    h.idle('/s/late.jsonl');
    h.actor.send({ type: 'STOP' });
    expect(h.runs[0]!.signal.aborted).toBe(true);
    expect(h.watcherStopped).toBe(true);
    expect(h.emitted).toContainEqual({ type: 'stopping', runInFlight: 1 });
    const output = await toPromise(h.actor);
    expect(output).toEqual({ runs: 1, lastRun: null });
    // The drain (which awaits lease releases) starts only after the run and watcher were stopped.
    expect(h.log.indexOf('drain')).toBeGreaterThan(h.log.indexOf('run 1 aborted'));
    expect(h.log.indexOf('drain')).toBeGreaterThan(h.log.indexOf('watcher closed'));
    // Nothing queued before STOP is started afterwards.
    expect(h.runs).toHaveLength(1);
  });

  it('STOP while idle finishes without a run', async () => {
    const h = harness();
    h.runs[0]!.finish();
    await h.tick();
    h.actor.send({ type: 'STOP' });
    expect(h.emitted).toContainEqual({ type: 'stopping', runInFlight: null });
    expect(await toPromise(h.actor)).toMatchObject({ runs: 1 });
  });
});
