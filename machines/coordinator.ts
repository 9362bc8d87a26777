// The run supervisor: scan → claim → extract with a concurrency cap → one consolidation.
//
//   starting ─▶ scanning ─▶ claiming ─▶ extracting ─▶ phase1Finished ─▶ consolidating ─▶ done
//   starting (phase 2 only), scanning or claiming (error) ─▶ phase1Finished ─(phase 1 only)─▶ done
//
// Phase 2 runs even when phase 1 found nothing or failed to claim: as in Codex, the global job's dirty
// flag decides. The cap is on model calls. A few children beyond it (`ahead`) read their rollout and
// build their request first; a built child (`ready`) takes the next free slot (`active`), so a slot never
// waits on a rollout being read. A child whose model has replied moves from `active` to `finishing` while
// its result is written, and its slot goes to the next built child.
import { assign, emit, enqueueActions, setup } from 'xstate';
import { errorMessage } from '../services/errors.ts';
import type { ClaimStage1Batch } from '../services/store/port.ts';
import type { SkipCounts, Stage1Claim, ThreadInfo, TokenUsage } from '../services/types.ts';
import { sumFinishedUsage } from '../services/usage.ts';
import { consolidationMachine, type ConsolidationOutput } from './consolidation.ts';
import { extractionMachine, type ExtractionOutput, type ExtractionParentEvent } from './extraction.ts';
import { placeholder } from './placeholder.ts';
import type { RetryPolicy } from './retry-policy.ts';

export interface DiscoveryResult {
  candidates: ThreadInfo[]; // newest first
  filesSeen: number;
  /** Rollouts seen but not eligible (age, idle, source, no user message). */
  ineligible: number;
  /** Of the ineligible, those that miss only the idle window. Absent where the fleet queue decides eligibility. */
  notIdleYet?: number;
  /** Threads Codex's state_5.sqlite keeps out (archived, memory mode); not among the ineligible. */
  withheld?: number;
  /** Rollout files that could not be read or held no parsable line (each logged with its reason). */
  unreadable: number;
}

export interface CoordinatorInput {
  phases: { extract: boolean; consolidate: boolean };
  concurrency: number;
  policy: RetryPolicy;
  heartbeatMs: number;
  /** Phase-2 lease heartbeat (Codex: 90 s). */
  consolidationHeartbeatMs: number;
}

export interface Phase1Summary {
  filesSeen: number;
  eligible: number;
  ineligible: number;
  /** As in DiscoveryResult. */
  notIdleYet?: number;
  withheld?: number;
  unreadable: number;
  claimed: number;
  succeeded: number;
  succeededNoOutput: number;
  failed: number;
  skipped: SkipCounts;
  usage: TokenUsage;
  error: string | null;
  jobs: ExtractionOutput[];
}

export interface CoordinatorOutput {
  phase1: Phase1Summary | null;
  phase2: ConsolidationOutput | null;
  /** Set when the run was stopped (stopPipeline) before it ended: the summary says what it did until then. */
  stopped?: true;
}

export type CoordinatorEmitted =
  | { type: 'phase1.claimed'; claims: Stage1Claim[] }
  | { type: 'job.started'; threadId: string }
  | { type: 'job.finished'; output: ExtractionOutput }
  | { type: 'phase2.finished'; output: ConsolidationOutput };

export interface CoordinatorContext extends CoordinatorInput {
  discovery: DiscoveryResult | null;
  skipped: SkipCounts;
  pending: Stage1Claim[];
  /** Children building their request without a slot yet; `ready` are those that have built it, oldest first. */
  ahead: string[];
  ready: string[];
  /** Children holding a model slot (these count against the cap); `finishing` ones write their result. */
  active: string[];
  finishing: string[];
  spawned: number;
  outcomes: ExtractionOutput[];
  phase1Error: string | null;
  phase2: ConsolidationOutput | null;
}

const NO_SKIPS: SkipCounts = { upToDate: 0, running: 0, retryBackoff: 0, retryExhausted: 0 };

/**
 * Children building ahead of a free slot: enough to keep the slots fed (at 16 slots and a 300 ms model a quarter
 * of the cap left slots idle while requests were still being built), few enough to bound the rollouts held.
 */
export function buildAhead(concurrency: number): number {
  return Math.max(1, Math.ceil(concurrency / 2));
}

const without = (ids: string[], id: string) => ids.filter((x) => x !== id);

function isExtractionOutput(value: unknown): value is ExtractionOutput {
  const shape = value as Partial<ExtractionOutput> | null;
  return typeof shape?.threadId === 'string' && typeof shape.outcome === 'string';
}

export function summarizePhase1(context: CoordinatorContext): Phase1Summary | null {
  if (!context.phases.extract) return null;
  const count = (outcome: ExtractionOutput['outcome']) => context.outcomes.filter((o) => o.outcome === outcome).length;
  return {
    filesSeen: context.discovery?.filesSeen ?? 0,
    eligible: context.discovery?.candidates.length ?? 0,
    ineligible: context.discovery?.ineligible ?? 0,
    notIdleYet: context.discovery?.notIdleYet ?? 0,
    withheld: context.discovery?.withheld ?? 0,
    unreadable: context.discovery?.unreadable ?? 0,
    // Every claim this run made: when it ends they have all finished; a run stopped early still holds some.
    claimed: context.spawned + context.pending.length,
    succeeded: count('succeeded'),
    succeededNoOutput: count('succeededNoOutput'),
    // A lost lease is a failure of this worker's attempt (Codex records it so for metrics).
    failed: count('gaveUp') + count('leaseLost'),
    skipped: context.skipped,
    usage: sumFinishedUsage(context.outcomes),
    error: context.phase1Error,
    jobs: context.outcomes,
  };
}

export const coordinatorMachine = setup({
  types: {
    input: {} as CoordinatorInput,
    context: {} as CoordinatorContext,
    output: {} as CoordinatorOutput,
    emitted: {} as CoordinatorEmitted,
  },
  actors: {
    discover: placeholder<DiscoveryResult, void>('coordinator', 'discover'),
    claim: placeholder<ClaimStage1Batch, { candidates: ThreadInfo[] }>('coordinator', 'claim'),
    extraction: extractionMachine,
    consolidation: consolidationMachine,
  },
  guards: {
    extractsFirst: ({ context }) => context.phases.extract,
    consolidates: ({ context }) => context.phases.consolidate,
    allJobsFinished: ({ context }) =>
      context.pending.length === 0 && context.ahead.length === 0 && context.active.length === 0 && context.finishing.length === 0,
  },
  actions: {
    // Gives free slots to built children, then starts new children up to the cap plus those building ahead.
    fillSlots: enqueueActions(({ context, enqueue }) => {
      const granted = context.ready.slice(0, Math.max(0, context.concurrency - context.active.length));
      for (const id of granted) enqueue.sendTo(id, { type: 'extraction.go' });
      const active = [...context.active, ...granted];
      const ahead = context.ahead.filter((id) => !granted.includes(id));
      const room = context.concurrency + buildAhead(context.concurrency) - active.length - ahead.length;
      const next = context.pending.slice(0, Math.max(0, room));
      const ids = next.map((claim, offset) => {
        const id = `extraction-${context.spawned + offset + 1}`;
        const input = { claim, policy: context.policy, heartbeatMs: context.heartbeatMs, gated: true };
        enqueue.spawnChild('extraction', { id, input });
        enqueue.emit({ type: 'job.started', threadId: claim.thread.threadId });
        return id;
      });
      enqueue.assign({
        pending: context.pending.slice(next.length),
        ready: context.ready.slice(granted.length),
        active,
        ahead: [...ahead, ...ids],
        spawned: context.spawned + next.length,
      });
    }),
    recordPhase1Error: assign({ phase1Error: ({ event }) => errorMessage((event as { error?: unknown }).error) }),
  },
}).createMachine({
  id: 'coordinator',
  context: ({ input }) => ({
    ...input,
    discovery: null,
    skipped: { ...NO_SKIPS },
    pending: [],
    ahead: [],
    ready: [],
    active: [],
    finishing: [],
    spawned: 0,
    outcomes: [],
    phase1Error: null,
    phase2: null,
  }),
  initial: 'starting',
  states: {
    starting: {
      description: 'Chooses the first phase: scan for rollouts, or go straight to consolidation.',
      always: [{ guard: 'extractsFirst', target: 'scanning' }, { target: 'phase1Finished' }],
    },
    scanning: {
      description: 'Discovers rollouts and keeps the idle, eligible ones, newest first.',
      invoke: {
        id: 'discover',
        src: 'discover',
        onDone: { target: 'claiming', actions: assign({ discovery: ({ event }) => event.output }) },
        onError: { target: 'phase1Finished', actions: 'recordPhase1Error' },
      },
    },
    claiming: {
      description: 'Takes stage-1 leases on the candidates that need extraction.',
      invoke: {
        id: 'claim',
        src: 'claim',
        input: ({ context }) => ({ candidates: context.discovery?.candidates ?? [] }),
        onDone: {
          target: 'extracting',
          actions: [
            assign({ pending: ({ event }) => event.output.claims, skipped: ({ event }) => event.output.skipped }),
            emit(({ event }) => ({ type: 'phase1.claimed' as const, claims: event.output.claims })),
          ],
        },
        onError: { target: 'phase1Finished', actions: 'recordPhase1Error' },
      },
    },
    extracting: {
      description: 'Runs extraction children, at most `concurrency` of them waiting on the model, a few more building ahead.',
      entry: 'fillSlots',
      on: {
        'extraction.built': {
          actions: enqueueActions(({ context, event, enqueue }) => {
            const { actorId } = event as ExtractionParentEvent;
            // A retried call of a child that kept its slot goes on at once.
            if (context.active.includes(actorId)) enqueue.sendTo(actorId, { type: 'extraction.go' });
            else if (context.ahead.includes(actorId) && !context.ready.includes(actorId)) {
              enqueue.assign({ ready: [...context.ready, actorId] });
              enqueue('fillSlots');
            }
          }),
        },
        'extraction.replied': {
          actions: enqueueActions(({ context, event, enqueue }) => {
            const { actorId } = event as ExtractionParentEvent;
            if (!context.active.includes(actorId)) return;
            enqueue.assign({ active: without(context.active, actorId), finishing: [...context.finishing, actorId] });
            enqueue('fillSlots');
          }),
        },
        'xstate.done.actor.*': {
          actions: enqueueActions(({ context, event, enqueue }) => {
            const { actorId, output } = event as unknown as { actorId: string; output: unknown };
            const ours = [context.ahead, context.active, context.finishing].some((ids) => ids.includes(actorId));
            if (!ours || !isExtractionOutput(output)) return;
            enqueue.assign({
              ahead: without(context.ahead, actorId),
              ready: without(context.ready, actorId),
              active: without(context.active, actorId),
              finishing: without(context.finishing, actorId),
              outcomes: [...context.outcomes, output],
            });
            enqueue.emit({ type: 'job.finished', output });
            // Finished children linger in the system until stopped.
            enqueue.stopChild(actorId);
            enqueue('fillSlots');
          }),
        },
      },
      always: { guard: 'allJobsFinished', target: 'phase1Finished' },
    },
    phase1Finished: {
      description: 'Phase 1 is over (or skipped); consolidates next if phase 2 was asked for.',
      always: [{ guard: 'consolidates', target: 'consolidating' }, { target: 'done' }],
    },
    consolidating: {
      description: 'Runs the phase-2 consolidation machine once.',
      invoke: {
        id: 'consolidation',
        src: 'consolidation',
        input: ({ context }) => ({ policy: context.policy, heartbeatMs: context.consolidationHeartbeatMs }),
        onDone: {
          target: 'done',
          actions: [
            assign({ phase2: ({ event }) => event.output }),
            emit(({ event }) => ({ type: 'phase2.finished' as const, output: event.output })),
          ],
        },
      },
    },
    done: { type: 'final', description: 'Both phases are over; the output summarises them.' },
  },
  output: ({ context }) => ({ phase1: summarizePhase1(context), phase2: context.phase2 }),
});
