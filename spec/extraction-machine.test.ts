// The extraction statechart on its own: the host's actors are swapped for scripted ones (the design's
// seam), time is a SimulatedClock.
import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, SimulatedClock, waitFor } from 'xstate';
import { extractionMachine, type ExtractionReply, type ExtractionResult } from '../machines/extraction.ts';
import { DEFAULT_RETRY_POLICY } from '../machines/retry-policy.ts';
import { BadInputError, LeaseLostError, RetryableError } from '../services/errors.ts';
import type { Stage1Claim } from '../services/types.ts';

const claim: Stage1Claim = {
  ownershipToken: 'token-1',
  thread: {
    threadId: '019a0000-0000-7000-8000-000000000001',
    rolloutPath: '/tmp/rollout.jsonl',
    cwd: '/repo',
    source: 'cli',
    updatedAt: 1_000,
    createdAt: 900,
    hasUserMessage: true,
    sizeBytes: 10,
  },
};

const tick = () => new Promise((resolve) => setImmediate(resolve));

const answer: ExtractionReply = {
  reply: { rawMemory: 'memory', rolloutSummary: 'summary', rolloutSlug: null },
  usage: null,
  notes: { truncated: false, droppedItems: 0, citedThreadIds: [] },
};

function run(script: {
  /** The model call (default: answers at once). */
  request?: (attempt: number) => Promise<ExtractionReply>;
  /** The fenced write of the answer (default: an output was stored). */
  record?: (reply: ExtractionReply) => Promise<ExtractionResult>;
  renew?: () => Promise<boolean>;
  heartbeatMs?: number;
}) {
  const clock = new SimulatedClock();
  const failures: string[] = [];
  const states: string[] = [];
  const machine = extractionMachine.provide({
    actors: {
      confirmLease: fromPromise(async () => true),
      request: fromPromise(async ({ input }) => (script.request ? script.request(input.attempt) : answer)),
      record: fromPromise(async ({ input }) =>
        script.record ? script.record(input.reply) : { kind: 'output' as const, usage: null },
      ),
      renewLease: fromPromise(async () => (script.renew ? script.renew() : true)),
      recordFailure: fromPromise(async ({ input }) => {
        failures.push(`${input.reason} (retry in ${input.retryDelaySeconds}s)`);
        return true;
      }),
    },
  });
  const actor = createActor(machine, {
    clock,
    input: { claim, policy: DEFAULT_RETRY_POLICY, heartbeatMs: script.heartbeatMs ?? 90_000 },
  });
  actor.subscribe((snapshot) => states.push(JSON.stringify(snapshot.value)));
  actor.start();
  return { actor, clock, failures, states };
}

describe('an extraction actor', () => {
  it('goes leased → running → succeeded and reports the usage', async () => {
    const usage = { input: 10, cachedInput: 0, output: 5, reasoningOutput: 0, total: 15 };
    const { actor, states } = run({ record: async () => ({ kind: 'output', usage }) });
    const done = await waitFor(actor, (s) => s.status === 'done');
    expect(done.output).toEqual({ threadId: claim.thread.threadId, outcome: 'succeeded', attempts: 1, error: null, usage });
    expect(states[0]).toBe('"leased"');
    expect(states.some((s) => s.includes('running'))).toBe(true);
  });

  it('ends in succeededNoOutput when the model found nothing worth remembering', async () => {
    const { actor } = run({ record: async () => ({ kind: 'noOutput', usage: null }) });
    expect((await waitFor(actor, (s) => s.status === 'done')).output?.outcome).toBe('succeededNoOutput');
  });

  it('backs off after a transient failure and succeeds on the next attempt', async () => {
    const { actor, clock, states } = run({
      request: async (attempt) => {
        if (attempt === 1) throw new RetryableError('HTTP 503 from model');
        return answer;
      },
    });
    await tick();
    await tick();
    expect(actor.getSnapshot().value).toBe('backoff');
    clock.increment(DEFAULT_RETRY_POLICY.initialDelayMs - 1);
    await tick();
    expect(actor.getSnapshot().value).toBe('backoff');
    clock.increment(1);
    const done = await waitFor(actor, (s) => s.status === 'done');
    expect(done.output).toMatchObject({ outcome: 'succeeded', attempts: 2 });
    expect(states).toContain('"backoff"');
  });

  it('records the failure durably once its in-process attempts are spent', async () => {
    const { actor, clock, failures } = run({
      request: async () => {
        throw new RetryableError('HTTP 429 rate limited');
      },
    });
    for (let i = 0; i < 20 && actor.getSnapshot().status !== 'done'; i++) {
      await tick();
      await tick();
      clock.increment(60_000);
    }
    const done = actor.getSnapshot();
    expect(done.output).toMatchObject({
      outcome: 'gaveUp',
      attempts: DEFAULT_RETRY_POLICY.maxAttempts,
      error: 'HTTP 429 rate limited',
    });
    expect(failures).toEqual([`HTTP 429 rate limited (retry in ${DEFAULT_RETRY_POLICY.durableRetryDelaySeconds}s)`]);
  });

  it('does not retry in process when the input is bad', async () => {
    const { actor, failures } = run({
      request: async () => {
        throw new BadInputError('empty session file');
      },
    });
    const done = await waitFor(actor, (s) => s.status === 'done');
    expect(done.output).toMatchObject({ outcome: 'gaveUp', attempts: 1 });
    expect(failures).toHaveLength(1);
  });

  it('stops without recording anything when its fenced write finds the lease taken', async () => {
    const { actor, failures } = run({
      record: async () => {
        throw new LeaseLostError();
      },
    });
    expect((await waitFor(actor, (s) => s.status === 'done')).output?.outcome).toBe('leaseLost');
    expect(failures).toEqual([]);
  });

  it('renews its lease while a long extraction runs, and stops when a heartbeat finds it lost', async () => {
    let renewals = 0;
    const { actor, clock } = run({
      heartbeatMs: 90_000,
      request: () => new Promise(() => {}),
      renew: async () => ++renewals < 3,
    });
    for (let i = 0; i < 4; i++) {
      await tick();
      clock.increment(90_000);
      await tick();
    }
    const done = await waitFor(actor, (s) => s.status === 'done');
    expect(renewals).toBe(3);
    expect(done.output?.outcome).toBe('leaseLost');
  });
});
