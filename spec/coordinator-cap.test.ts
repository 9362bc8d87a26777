// The coordinator's concurrency cap is on model calls in flight: a job whose model has replied
// gives its slot to the next job while its result is written, and the run ends only when every
// write has finished.
import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, toPromise } from 'xstate';
import { coordinatorMachine } from '../machines/coordinator.ts';
import {
  extractionMachine,
  type ExtractionReply,
  type ExtractionRequestInput,
  type ExtractionResult,
} from '../machines/extraction.ts';
import { DEFAULT_RETRY_POLICY } from '../machines/retry-policy.ts';
import { RetryableError } from '../services/errors.ts';
import type { StageOneRequest } from '../services/extraction/stage-one-prompt.ts';
import type { Stage1Claim, ThreadInfo } from '../services/types.ts';
import { arrivals } from './support/arrivals.ts';

function thread(i: number): ThreadInfo {
  return {
    threadId: `t${i}`,
    rolloutPath: `/r/${i}.jsonl`,
    cwd: '/w',
    source: 'cli',
    updatedAt: 1_000 + i,
    createdAt: null,
    hasUserMessage: true,
    sizeBytes: 1,
  };
}

const answer: ExtractionReply = {
  reply: { rawMemory: 'm', rolloutSummary: 's', rolloutSlug: null },
  usage: null,
  notes: { truncated: false, droppedItems: 0, citedThreadIds: [] },
};
/** What the fake model call and the fake write wait for: explicit events of the test, never a timer. */
interface Gates {
  build?: () => void;
  request?: () => Promise<void>;
  record?: () => Promise<void>;
  failFirstRecordOf?: string;
}

function coordinator(jobs: number, concurrency: number, gates: Gates = {}) {
  let failed = false;
  const claims: Stage1Claim[] = Array.from({ length: jobs }, (_, i) => ({ thread: thread(i), ownershipToken: `k${i}` }));
  const trace = {
    requestsOf: new Map<string, number>(),
    requesting: 0,
    maxRequesting: 0,
    recording: 0,
    maxRecording: 0,
    maxLive: 0,
    requestStartsWhileRecording: 0,
    builds: 0,
    requestsWithoutBuild: 0,
  };
  const extraction = extractionMachine.provide({
    actors: {
      confirmLease: fromPromise(async () => true),
      renewLease: fromPromise(async () => true),
      recordFailure: fromPromise(async () => true),
      build: fromPromise<StageOneRequest | null, { claim: Stage1Claim; attempt: number }>(async ({ input }) => {
        trace.builds++;
        gates.build?.();
        return { input: `request of ${input.claim.thread.threadId}` } as StageOneRequest;
      }),
      request: fromPromise<ExtractionReply, ExtractionRequestInput>(async ({ input }) => {
        const id = input.claim.thread.threadId;
        if (input.built?.input !== `request of ${id}`) trace.requestsWithoutBuild++;
        trace.requestsOf.set(id, (trace.requestsOf.get(id) ?? 0) + 1);
        trace.requesting++;
        trace.maxRequesting = Math.max(trace.maxRequesting, trace.requesting);
        if (trace.recording > 0) trace.requestStartsWhileRecording++;
        trace.maxLive = Math.max(trace.maxLive, trace.requesting + trace.recording);
        await gates.request?.();
        trace.requesting--;
        return answer;
      }),
      record: fromPromise<ExtractionResult, { claim: Stage1Claim; reply: ExtractionReply }>(async ({ input }) => {
        trace.recording++;
        trace.maxRecording = Math.max(trace.maxRecording, trace.recording);
        trace.maxLive = Math.max(trace.maxLive, trace.requesting + trace.recording);
        await gates.record?.();
        trace.recording--;
        if (input.claim.thread.threadId === gates.failFirstRecordOf && !failed) {
          failed = true;
          throw new RetryableError('store busy');
        }
        return { kind: 'output', usage: null };
      }),
    },
  });
  const machine = coordinatorMachine.provide({
    actors: {
      discover: fromPromise(async () => ({
        candidates: claims.map((c) => c.thread),
        filesSeen: jobs,
        ineligible: 0,
        unreadable: 0,
      })),
      claim: fromPromise(async () => ({ claims, skipped: { upToDate: 0, running: 0, retryBackoff: 0, retryExhausted: 0 } })),
      extraction,
    },
  });
  const actor = createActor(machine, {
    input: {
      phases: { extract: true, consolidate: false },
      concurrency,
      policy: { ...DEFAULT_RETRY_POLICY, initialDelayMs: 5 },
      heartbeatMs: 90_000,
      consolidationHeartbeatMs: 90_000,
    },
  });
  return { actor, trace };
}

describe('the coordinator', () => {
  it('never has more model calls in flight than its cap', async () => {
    // The first three calls wait for each other, so the cap is reached; a fourth in flight would break it.
    const firstThree = arrivals(3);
    const { actor, trace } = coordinator(12, 3, {
      request: () => {
        firstThree.signal();
        return firstThree.all;
      },
    });
    actor.start();
    const out = await toPromise(actor);
    expect(out.phase1?.succeeded).toBe(12);
    expect(trace.maxRequesting).toBe(3);
  });

  it('starts the next job while earlier results are still being written, and waits for every write', async () => {
    // No write finishes before all six model calls were made: with slots held until a write is done,
    // the run would never get past the second call.
    const requested = arrivals(6);
    const { actor, trace } = coordinator(6, 2, { request: async () => requested.signal(), record: () => requested.all });
    let finished = 0;
    actor.on('job.finished', () => finished++);
    actor.start();
    const out = await toPromise(actor);
    // Slow writes did not hold the slots: requests went on while results were written.
    expect(trace.requestStartsWhileRecording).toBeGreaterThan(0);
    expect(trace.maxLive).toBeGreaterThan(2);
    expect(trace.maxRequesting).toBeLessThanOrEqual(2);
    // The run ended after the last write, with every outcome collected.
    expect(trace.recording).toBe(0);
    expect(finished).toBe(6);
    expect(out.phase1).toMatchObject({ claimed: 6, succeeded: 6, failed: 0 });
  });

  it('builds the next request while every slot waits on the model, and sends each job its own built request', async () => {
    // Both model calls wait until a third request is built: with building inside a slot, that build
    // could only start after a reply, and the run would never end.
    const thirdBuilt = arrivals(3);
    const { actor, trace } = coordinator(7, 2, { build: () => thirdBuilt.signal(), request: () => thirdBuilt.all });
    actor.start();
    const out = await toPromise(actor);
    expect(out.phase1).toMatchObject({ claimed: 7, succeeded: 7, failed: 0 });
    expect(trace.maxRequesting).toBeLessThanOrEqual(2);
    expect(trace.builds).toBe(7);
    expect(trace.requestsWithoutBuild).toBe(0);
  });

  it('retries a failed write with the reply it has, without calling the model again', async () => {
    const { actor, trace } = coordinator(30, 2, { failFirstRecordOf: 't0' });
    actor.start();
    const out = await toPromise(actor);
    expect(out.phase1).toMatchObject({ claimed: 30, succeeded: 30, failed: 0 });
    expect(out.phase1?.jobs.find((j) => j.threadId === 't0')?.attempts).toBe(2);
    expect(trace.requestsOf.get('t0')).toBe(1);
    expect(trace.maxRequesting).toBeLessThanOrEqual(2);
  });
});
