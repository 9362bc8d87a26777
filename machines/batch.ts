// Phase 1 in batch mode (`memories run --batch`): requests go through the OpenAI Batch API at half price
// and a later run collects the answers. It replaces the coordinator's phase 1; phase 2 is unchanged.
//
//   collecting ─▶ scanning ─▶ claiming ─▶ submitting ─▶ done
//       └───────────┴────────────┴─────(error)──────────▲
//
// Collecting comes first, so a rollout whose answer just arrived is up to date when claims are made.
// Answers are written with their claim's ownership token, so a late answer after a lost lease is dropped.
import { assign, setup } from 'xstate';
import type { BatchCollectResult } from '../services/batch/collect.ts';
import type { BatchSubmitResult } from '../services/batch/submit.ts';
import { errorMessage } from '../services/errors.ts';
import type { ClaimStage1Batch } from '../services/store/port.ts';
import type { SkipCounts, Stage1Claim, ThreadInfo } from '../services/types.ts';
import { ZERO_USAGE } from '../services/usage.ts';
import type { DiscoveryResult } from './coordinator.ts';
import { placeholder } from './placeholder.ts';

export interface BatchPhase1Summary {
  collected: BatchCollectResult;
  filesSeen: number;
  eligible: number;
  ineligible: number;
  unreadable: number;
  claimed: number;
  skipped: SkipCounts;
  submitted: BatchSubmitResult;
  error: string | null;
}

export interface BatchContext {
  collected: BatchCollectResult;
  discovery: DiscoveryResult | null;
  claims: Stage1Claim[];
  skipped: SkipCounts;
  submitted: BatchSubmitResult;
  error: string | null;
}

const NOTHING_COLLECTED: BatchCollectResult = {
  batches: [],
  jobs: [],
  succeeded: 0,
  succeededNoOutput: 0,
  failed: 0,
  stale: 0,
  pending: 0,
  usage: ZERO_USAGE,
};
const NOTHING_SUBMITTED: BatchSubmitResult = { batches: [], submitted: 0, failed: [], released: [], error: null };

export const batchMachine = setup({
  types: { context: {} as BatchContext, output: {} as BatchPhase1Summary },
  actors: {
    collect: placeholder<BatchCollectResult, void>('batch', 'collect'),
    discover: placeholder<DiscoveryResult, void>('batch', 'discover'),
    claim: placeholder<ClaimStage1Batch, { candidates: ThreadInfo[] }>('batch', 'claim'),
    submit: placeholder<BatchSubmitResult, { claims: Stage1Claim[] }>('batch', 'submit'),
  },
  actions: {
    recordError: assign({ error: ({ event }) => errorMessage((event as { error?: unknown }).error) }),
  },
}).createMachine({
  id: 'batch',
  context: {
    collected: NOTHING_COLLECTED,
    discovery: null,
    claims: [],
    skipped: { upToDate: 0, running: 0, retryBackoff: 0, retryExhausted: 0 },
    submitted: NOTHING_SUBMITTED,
    error: null,
  },
  initial: 'collecting',
  states: {
    collecting: {
      description: 'Reads every recorded batch: finished ones finalise their jobs, running ones keep their leases.',
      invoke: {
        id: 'collect',
        src: 'collect',
        onDone: { target: 'scanning', actions: assign({ collected: ({ event }) => event.output }) },
        onError: { target: 'done', actions: 'recordError' },
      },
    },
    scanning: {
      description: 'Finds the rollouts eligible for phase 1, as the coordinator does.',
      invoke: {
        id: 'discover',
        src: 'discover',
        onDone: { target: 'claiming', actions: assign({ discovery: ({ event }) => event.output }) },
        onError: { target: 'done', actions: 'recordError' },
      },
    },
    claiming: {
      description: 'Claims stage-1 jobs for the eligible rollouts, as the coordinator does.',
      invoke: {
        id: 'claim',
        src: 'claim',
        input: ({ context }) => ({ candidates: context.discovery?.candidates ?? [] }),
        onDone: {
          target: 'submitting',
          actions: assign({ claims: ({ event }) => event.output.claims, skipped: ({ event }) => event.output.skipped }),
        },
        onError: { target: 'done', actions: 'recordError' },
      },
    },
    submitting: {
      description: 'Uploads the claimed requests as one batch and holds their leases for the batch window.',
      invoke: {
        id: 'submit',
        src: 'submit',
        input: ({ context }) => ({ claims: context.claims }),
        onDone: { target: 'done', actions: assign({ submitted: ({ event }) => event.output }) },
        onError: { target: 'done', actions: 'recordError' },
      },
    },
    done: { type: 'final', description: 'Phase 1 of this run is over; answers still out are collected by a later run.' },
  },
  output: ({ context }) => ({
    collected: context.collected,
    filesSeen: context.discovery?.filesSeen ?? 0,
    eligible: context.discovery?.candidates.length ?? 0,
    ineligible: context.discovery?.ineligible ?? 0,
    unreadable: context.discovery?.unreadable ?? 0,
    claimed: context.claims.length,
    skipped: context.skipped,
    submitted: context.submitted,
    error: context.error,
  }),
});
