// One rollout's extraction, spawned by the coordinator for each claimed job.
//
//   leased ──▶ running ──────────────────────────────────────────────────────────▶ succeeded | succeededNoOutput
//     ▲  │       work: starting ─▶ building ─▶ awaitingSlot ─▶ requesting ─▶ recording
//     │  │       lease: held ⇄ renewing (lease gone ─▶ leaseLost)
//     │  ├─(not ours)─▶ leaseLost ◀──────────┐
//     │  ▼                                   │
//   backoff ◀── failed ──────────────────────┘
//                 └──▶ recordingFailure ──▶ gaveUp
//
// The request is built before a model slot is taken (`extraction.built`, answered by `extraction.go`), so a
// slot is never held while a rollout is read. Once the model has replied the parent is told
// (`extraction.replied`): the coordinator caps model calls in flight, so the next job starts while this one's
// result is written. The reply is kept, so a failed write is retried without paying for the model again and
// a job never returns to its model call; a built request is kept too, so a retried call is not built again.
import { assign, enqueueActions, fromPromise, setup } from 'xstate';
import { describeFailure, type Failure } from '../services/errors.ts';
import type { StageOneRequest } from '../services/extraction/stage-one-prompt.ts';
import type { Stage1Claim, Stage1Reply, TokenUsage } from '../services/types.ts';
import { leaseRegion } from './lease-region.ts';
import { placeholder } from './placeholder.ts';
import { backoffDelayMs, type RetryPolicy, retryStates } from './retry-policy.ts';

export type ExtractionOutcome = 'succeeded' | 'succeededNoOutput' | 'gaveUp' | 'leaseLost';

export interface ExtractionResult {
  kind: 'output' | 'noOutput';
  usage: TokenUsage | null;
}

/** What the model answered, with notes from building the request for the record step's log. */
export interface ExtractionReply {
  reply: Stage1Reply;
  usage: TokenUsage | null;
  notes: { truncated: boolean; droppedItems: number; citedThreadIds: string[]; gitBranch?: string | null };
}

export type ExtractionParentEvent = { type: 'extraction.built' | 'extraction.replied'; actorId: string };

/** What the request actor gets: `built` is null when nothing was built ahead (it then builds the request). */
export type ExtractionRequestInput = { claim: Stage1Claim; attempt: number; built: StageOneRequest | null };

export interface ExtractionInput {
  claim: Stage1Claim;
  policy: RetryPolicy;
  heartbeatMs: number;
  /** Waits for `extraction.go` from the parent before each model call (the coordinator's cap); else calls at once. */
  gated?: boolean;
}

export interface ExtractionOutput {
  threadId: string;
  outcome: ExtractionOutcome;
  attempts: number;
  error: string | null;
  usage: TokenUsage | null;
}

export interface ExtractionContext extends ExtractionInput {
  attempt: number;
  error: string | null;
  failure: Failure | null;
  usage: TokenUsage | null;
  outcome: ExtractionOutcome | null;
  reply: ExtractionReply | null;
  /** The request built for the model call; null when the request actor builds its own. */
  built: StageOneRequest | null;
}

type FailureInput = { claim: Stage1Claim; reason: string; retryDelaySeconds: number };

export const extractionMachine = setup({
  types: {
    input: {} as ExtractionInput,
    context: {} as ExtractionContext,
    output: {} as ExtractionOutput,
    events: {} as { type: 'extraction.go' },
  },
  actors: {
    confirmLease: placeholder<boolean, { claim: Stage1Claim; attempt: number }>('extraction', 'confirmLease'),
    // Optional: by default nothing is built ahead and the request actor builds the request itself.
    build: fromPromise<StageOneRequest | null, { claim: Stage1Claim; attempt: number }>(async () => null),
    request: placeholder<ExtractionReply, ExtractionRequestInput>('extraction', 'request'),
    record: placeholder<ExtractionResult, { claim: Stage1Claim; reply: ExtractionReply }>('extraction', 'record'),
    renewLease: placeholder<boolean, { claim: Stage1Claim }>('extraction', 'renewLease'),
    recordFailure: placeholder<boolean, FailureInput>('extraction', 'recordFailure'),
  },
  delays: {
    heartbeat: ({ context }) => context.heartbeatMs,
    retryDelay: ({ context }) => backoffDelayMs(context.policy, context.attempt, context.failure?.retryAfterMs ?? null),
  },
  guards: {
    leaseHeld: (_, held: boolean) => held,
    producedOutput: (_, result: ExtractionResult) => result.kind === 'output',
    hasReply: ({ context }) => context.reply !== null,
    hasBuilt: ({ context }) => context.built !== null,
    ungated: ({ context }) => context.gated !== true,
    leaseWasLost: ({ context }) => context.failure?.leaseLost === true,
    hasRetriesLeft: ({ context }) => context.failure?.retryable === true && context.attempt < context.policy.maxAttempts,
  },
  actions: {
    recordError: assign(({ event }) => {
      const failure = describeFailure((event as { error?: unknown }).error);
      return { failure, error: failure.message };
    }),
    noteLeaseLost: assign({ error: 'lease lost to another worker' }),
    // Standalone (a test, a host running one extraction) there is no parent to tell.
    askForSlot: enqueueActions(({ context, enqueue, self }) => {
      if (context.gated && self._parent)
        enqueue.sendParent({ type: 'extraction.built', actorId: self.id } satisfies ExtractionParentEvent);
    }),
    releaseSlot: enqueueActions(({ enqueue, self }) => {
      if (self._parent) enqueue.sendParent({ type: 'extraction.replied', actorId: self.id } satisfies ExtractionParentEvent);
    }),
  },
}).createMachine({
  id: 'extraction',
  context: ({ input }) => ({
    ...input,
    attempt: 0,
    error: null,
    failure: null,
    usage: null,
    outcome: null,
    reply: null,
    built: null,
  }),
  initial: 'leased',
  states: {
    leased: {
      description: 'Confirms the claim is still ours before an attempt.',
      invoke: {
        id: 'confirmLease',
        src: 'confirmLease',
        input: ({ context }) => ({ claim: context.claim, attempt: context.attempt }),
        onDone: [
          { guard: { type: 'leaseHeld', params: ({ event }) => event.output }, target: 'running' },
          { target: 'leaseLost' },
        ],
        // A store error while confirming still spends an attempt, so it cannot loop forever.
        onError: { target: 'failed', actions: [assign({ attempt: ({ context }) => context.attempt + 1 }), 'recordError'] },
      },
    },
    running: {
      description: 'One attempt: the work and the lease heartbeat side by side.',
      type: 'parallel',
      entry: assign({ attempt: ({ context }) => context.attempt + 1 }),
      states: {
        work: {
          description: 'Builds the request, asks the model, then writes its reply.',
          initial: 'starting',
          states: {
            starting: {
              description: 'Skips what an earlier attempt kept: its reply (straight to the write) or its built request.',
              always: [
                { guard: 'hasReply', target: 'recording' },
                { guard: 'hasBuilt', target: 'awaitingSlot' },
                { target: 'building' },
              ],
            },
            building: {
              description: 'Reads the rollout and builds the model request, before taking a model slot.',
              invoke: {
                id: 'build',
                src: 'build',
                input: ({ context }) => ({ claim: context.claim, attempt: context.attempt }),
                onDone: { target: 'awaitingSlot', actions: assign({ built: ({ event }) => event.output }) },
                onError: { target: '#extraction.failed', actions: 'recordError' },
              },
            },
            awaitingSlot: {
              description: 'Waits for the coordinator to give it one of its model slots (at once when standalone).',
              entry: 'askForSlot',
              always: { guard: 'ungated', target: 'requesting' },
              on: { 'extraction.go': 'requesting' },
            },
            requesting: {
              description: 'Waits for the model to reply to the built request.',
              invoke: {
                id: 'request',
                src: 'request',
                input: ({ context }) => ({ claim: context.claim, attempt: context.attempt, built: context.built }),
                onDone: { target: 'recording', actions: assign({ reply: ({ event }) => event.output, built: null }) },
                onError: { target: '#extraction.failed', actions: 'recordError' },
              },
            },
            recording: {
              description: 'Writes the memory (or its absence) to the store, fenced by the lease.',
              // Again on a retried write: the coordinator ignores a job it no longer counts.
              entry: 'releaseSlot',
              invoke: {
                id: 'record',
                src: 'record',
                input: ({ context }) => ({ claim: context.claim, reply: context.reply! }),
                onDone: [
                  {
                    guard: { type: 'producedOutput', params: ({ event }) => event.output },
                    target: '#extraction.succeeded',
                    actions: assign({ usage: ({ event }) => event.output.usage }),
                  },
                  { target: '#extraction.succeededNoOutput', actions: assign({ usage: ({ event }) => event.output.usage }) },
                ],
                onError: { target: '#extraction.failed', actions: 'recordError' },
              },
            },
          },
        },
        lease: leaseRegion('extraction', (context: ExtractionContext) => context.claim),
      },
    },
    failed: {
      description: 'Decides: stop (lease lost), retry after a backoff, or record the failure.',
      always: [
        { guard: 'leaseWasLost', target: 'leaseLost' },
        { guard: 'hasRetriesLeft', target: 'backoff' },
        { target: 'recordingFailure' },
      ],
    },
    ...retryStates('leased', (context: ExtractionContext) => context.claim, 'unknown error'),
    succeeded: {
      type: 'final',
      description: 'The memory is stored.',
      entry: assign({ outcome: 'succeeded' as const, error: null }),
    },
    succeededNoOutput: {
      type: 'final',
      description: 'The model found nothing worth remembering; the job is done.',
      entry: assign({ outcome: 'succeededNoOutput' as const, error: null }),
    },
    gaveUp: { type: 'final', description: 'Attempts spent; a later run retries.', entry: assign({ outcome: 'gaveUp' as const }) },
    leaseLost: {
      type: 'final',
      description: 'Another worker owns the job; stopped without writing.',
      entry: assign({ outcome: 'leaseLost' as const }),
    },
  },
  output: ({ context }) => ({
    threadId: context.claim.thread.threadId,
    outcome: context.outcome ?? 'gaveUp',
    attempts: context.attempt,
    error: context.error,
    usage: context.usage,
  }),
});
