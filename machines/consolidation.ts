// The single global consolidation (phase 2): the global job's lease keeps it to one at a time across processes.
// The memory folder is a git repository: the folder as the person left it is recorded before anything changes, the
// agent is shown what changed since the last baseline, a success commits a new baseline, and a failure puts the
// folder back to the recorded state, so nothing of a failed run stays and none of the person's edits is lost.
//
//   claiming ─▶ snapshottingFolder ─▶ syncingArtifacts ─▶ diffingWorkspace ─▶ runningAgent ─▶ keepingHandEdits
//      │                                    │ (no inputs)                                          │
//      ▼                                    ▼                                                      ▼
//   skipped                          committingBaseline ◀─────────────────────────────────────  validating
//                                           ▼
//                                    recordingSuccess ─▶ succeeded
//                                           ├──▶ leaseLost (also from the lease heartbeat beside the agent)
//                                           └──▶ failed on a store error (the committed baseline stands: no restore)
//   any step from snapshotting to committing fails ─▶ restoringOnFailure ─▶ failed ─▶ backoff ─▶ syncingArtifacts
//                                                                              └──▶ recordingFailure ─▶ gaveUp
import { assign, setup } from 'xstate';
import { describeFailure, type Failure } from '../services/errors.ts';
import type { BaselineDiff } from '../services/memory-history/history.ts';
import type { GlobalClaimResult, TokenUsage } from '../services/types.ts';
import { leaseRegion } from './lease-region.ts';
import { placeholder } from './placeholder.ts';
import { backoffDelayMs, type RetryPolicy, retryStates } from './retry-policy.ts';

export interface GlobalClaim {
  ownershipToken: string;
  inputWatermark: number;
}

export interface PreparedConsolidation {
  /** The watermark a success will record: never below the claimed one (spec §4.1 step 4). */
  newWatermark: number;
  selected: number;
  added: number;
  retained: number;
  removed: number;
  /** Nothing to consolidate: success without running the agent. */
  noInputs: boolean;
}

export interface AgentRunResult {
  usage: TokenUsage | null;
  turns: number;
  toolCalls: number;
}

export type ConsolidationStatus =
  | 'succeeded'
  | 'succeededNoInput'
  | 'skippedNotDirty'
  | 'skippedRunning'
  | 'failed'
  | 'leaseLost';

export interface ConsolidationOutput {
  status: ConsolidationStatus;
  reason: string | null;
  selected: number;
  added: number;
  retained: number;
  removed: number;
  attempts: number;
  usage: TokenUsage | null;
  turns: number;
  /** The baseline this run committed; null when it committed none. */
  revision: string | null;
  /** The folder's changes since the previous baseline that the agent was shown. */
  workspace: BaselineDiff | null;
  /** Maintained files where the agent undid a person's edit and the edit was put back. */
  handEditsRestored: string[];
  /** When an earlier run was killed mid-consolidation: the git tree of what it had left, undone before this run. */
  unfinishedRunUndone: string | null;
}

/** The folder as the person left it (a git tree id), and what an earlier killed run had left, if it was undone. */
export interface FolderSnapshot {
  snapshot: string;
  unfinishedRunUndone: string | null;
}

export interface ConsolidationInput {
  policy: RetryPolicy;
  heartbeatMs: number;
}

export interface ConsolidationContext extends ConsolidationInput {
  claim: GlobalClaim | null;
  prepared: PreparedConsolidation | null;
  agent: AgentRunResult | null;
  attempt: number;
  error: string | null;
  failure: Failure | null;
  status: ConsolidationStatus | null;
  /** The folder before this run changed it (a git tree id): what a failure restores. */
  snapshot: string | null;
  workspace: BaselineDiff | null;
  revision: string | null;
  handEditsRestored: string[];
  unfinishedRunUndone: string | null;
}

const NOT_STARTED = {
  claim: null,
  prepared: null,
  agent: null,
  attempt: 0,
  error: null,
  failure: null,
  status: null,
  snapshot: null,
  workspace: null,
  revision: null,
  handEditsRestored: [] as string[],
  unfinishedRunUndone: null,
};
type ClaimInput = { claim: GlobalClaim };
type SuccessInput = ClaimInput & { prepared: PreparedConsolidation; usage: TokenUsage | null };
type FailureInput = ClaimInput & { reason: string; retryDelaySeconds: number };

export const consolidationMachine = setup({
  types: { input: {} as ConsolidationInput, context: {} as ConsolidationContext, output: {} as ConsolidationOutput },
  actors: {
    claimGlobal: placeholder<GlobalClaimResult, void>('consolidation', 'claimGlobal'),
    syncArtifacts: placeholder<PreparedConsolidation, ClaimInput>('consolidation', 'syncArtifacts'),
    snapshotFolder: placeholder<FolderSnapshot, void>('consolidation', 'snapshotFolder'),
    diffWorkspace: placeholder<BaselineDiff, void>('consolidation', 'diffWorkspace'),
    runAgent: placeholder<AgentRunResult, ClaimInput & { prepared: PreparedConsolidation; workspace: BaselineDiff | null }>(
      'consolidation',
      'runAgent',
    ),
    keepHandEdits: placeholder<string[], { snapshot: string | null }>('consolidation', 'keepHandEdits'),
    commitBaseline: placeholder<string, { prepared: PreparedConsolidation; workspace: BaselineDiff | null; snapshot: string }>(
      'consolidation',
      'commitBaseline',
    ),
    restoreFolder: placeholder<void, { snapshot: string | null }>('consolidation', 'restoreFolder'),
    renewLease: placeholder<boolean, ClaimInput>('consolidation', 'renewLease'),
    validateArtifacts: placeholder<void, void>('consolidation', 'validateArtifacts'),
    recordSuccess: placeholder<boolean, SuccessInput>('consolidation', 'recordSuccess'),
    recordFailure: placeholder<boolean, FailureInput>('consolidation', 'recordFailure'),
  },
  delays: {
    heartbeat: ({ context }) => context.heartbeatMs,
    retryDelay: ({ context }) => backoffDelayMs(context.policy, context.attempt, context.failure?.retryAfterMs ?? null),
  },
  guards: {
    claimed: (_, result: GlobalClaimResult) => result.kind === 'claimed',
    notDirty: (_, result: GlobalClaimResult) => result.kind === 'skippedNotDirty',
    hasNoInputs: (_, prepared: PreparedConsolidation) => prepared.noInputs,
    leaseHeld: (_, held: boolean) => held,
    hasRetriesLeft: ({ context }) => context.failure?.retryable === true && context.attempt < context.policy.maxAttempts,
  },
  actions: {
    noteLeaseLost: assign({ error: 'lost the global consolidation lease during heartbeat' }),
    recordError: assign(({ event }) => {
      const failure = describeFailure((event as { error?: unknown }).error);
      return { failure, error: failure.message };
    }),
  },
}).createMachine({
  id: 'consolidation',
  context: ({ input }) => ({ ...input, ...NOT_STARTED }),
  initial: 'claiming',
  states: {
    claiming: {
      description: 'Claims the global job; skips when it is not dirty or another process runs it.',
      invoke: {
        id: 'claimGlobal',
        src: 'claimGlobal',
        onDone: [
          {
            guard: { type: 'claimed', params: ({ event }) => event.output },
            target: 'snapshottingFolder',
            actions: assign({
              claim: ({ event }) =>
                event.output.kind === 'claimed'
                  ? { ownershipToken: event.output.ownershipToken, inputWatermark: event.output.inputWatermark }
                  : null,
            }),
          },
          {
            guard: { type: 'notDirty', params: ({ event }) => event.output },
            target: 'skipped',
            actions: assign({ status: 'skippedNotDirty' as const }),
          },
          { target: 'skipped', actions: assign({ status: 'skippedRunning' as const }) },
        ],
        onError: { target: 'skipped', actions: ['recordError', assign({ status: 'failed' as const })] },
      },
    },
    snapshottingFolder: {
      description: 'Records the memory folder as the person left it (a git tree), so a failure can put it back.',
      invoke: {
        id: 'snapshotFolder',
        src: 'snapshotFolder',
        onDone: {
          target: 'syncingArtifacts',
          actions: assign({
            snapshot: ({ event }) => event.output.snapshot,
            unfinishedRunUndone: ({ event }) => event.output.unfinishedRunUndone,
          }),
        },
        onError: { target: 'restoringOnFailure', actions: 'recordError' },
      },
    },
    syncingArtifacts: {
      description: 'Selects the memories and writes raw_memories.md and rollout_summaries/.',
      entry: assign({ attempt: ({ context }) => context.attempt + 1 }),
      invoke: {
        id: 'syncArtifacts',
        src: 'syncArtifacts',
        input: ({ context }) => ({ claim: context.claim! }),
        onDone: [
          {
            guard: { type: 'hasNoInputs', params: ({ event }) => event.output },
            target: 'committingBaseline',
            actions: assign({ prepared: ({ event }) => event.output }),
          },
          { target: 'diffingWorkspace', actions: assign({ prepared: ({ event }) => event.output }) },
        ],
        onError: { target: 'restoringOnFailure', actions: 'recordError' },
      },
    },
    diffingWorkspace: {
      description: "Diffs the folder against the last baseline (the person's edits and the synced inputs); none is INIT.",
      invoke: {
        id: 'diffWorkspace',
        src: 'diffWorkspace',
        onDone: { target: 'runningAgent', actions: assign({ workspace: ({ event }) => event.output }) },
        onError: { target: 'restoringOnFailure', actions: 'recordError' },
      },
    },
    runningAgent: {
      description: 'The agent edits the memory folder while the lease heartbeat runs.',
      type: 'parallel',
      states: {
        agent: {
          description: 'Runs the consolidation agent to its last turn.',
          invoke: {
            id: 'runAgent',
            src: 'runAgent',
            input: ({ context }) => ({ claim: context.claim!, prepared: context.prepared!, workspace: context.workspace }),
            onDone: { target: '#consolidation.keepingHandEdits', actions: assign({ agent: ({ event }) => event.output }) },
            onError: { target: '#consolidation.restoringOnFailure', actions: 'recordError' },
          },
        },
        lease: leaseRegion('consolidation', (context: ConsolidationContext) => context.claim!),
      },
    },
    keepingHandEdits: {
      description: "Puts back any of the person's edits since the baseline that the agent undid: their edit wins.",
      invoke: {
        id: 'keepHandEdits',
        src: 'keepHandEdits',
        input: ({ context }) => ({ snapshot: context.snapshot }),
        onDone: { target: 'validating', actions: assign({ handEditsRestored: ({ event }) => event.output }) },
        onError: { target: 'restoringOnFailure', actions: 'recordError' },
      },
    },
    validating: {
      description: 'Checks MEMORY.md and memory_summary.md.',
      invoke: {
        id: 'validateArtifacts',
        src: 'validateArtifacts',
        onDone: { target: 'committingBaseline' },
        onError: { target: 'restoringOnFailure', actions: 'recordError' },
      },
    },
    committingBaseline: {
      description: 'Commits the consolidated folder as the new baseline the next run diffs against.',
      invoke: {
        id: 'commitBaseline',
        src: 'commitBaseline',
        input: ({ context }) => ({ prepared: context.prepared!, workspace: context.workspace, snapshot: context.snapshot! }),
        onDone: { target: 'recordingSuccess', actions: assign({ revision: ({ event }) => event.output }) },
        onError: { target: 'restoringOnFailure', actions: 'recordError' },
      },
    },
    recordingSuccess: {
      // The baseline is committed by now and the folder matches it, so a store error here restores nothing.
      description: 'Records the new watermark, if the lease is still ours.',
      invoke: {
        id: 'recordSuccess',
        src: 'recordSuccess',
        input: ({ context }) => ({ claim: context.claim!, prepared: context.prepared!, usage: context.agent?.usage ?? null }),
        onDone: [
          { guard: { type: 'leaseHeld', params: ({ event }) => event.output }, target: 'succeeded' },
          { target: 'leaseLost', actions: assign({ error: 'lost the global consolidation lease before recording success' }) },
        ],
        onError: { target: 'failed', actions: 'recordError' },
      },
    },
    restoringOnFailure: {
      description: 'Puts the folder back as the person left it: the last baseline plus their edits, nothing of this run.',
      invoke: {
        id: 'restoreFolder',
        src: 'restoreFolder',
        input: ({ context }) => ({ snapshot: context.snapshot }),
        onDone: { target: 'failed' },
        onError: { target: 'failed' },
      },
    },
    failed: {
      description: 'Decides: retry after a backoff, or record the failure.',
      always: [{ guard: 'hasRetriesLeft', target: 'backoff' }, { target: 'recordingFailure' }],
    },
    ...retryStates('syncingArtifacts', (context: ConsolidationContext) => context.claim!, 'failed_agent'),
    skipped: { type: 'final', description: 'Nothing to do now (not dirty, already running, or the claim failed).' },
    succeeded: {
      type: 'final',
      description: 'The memory folder is consolidated.',
      entry: assign({
        status: ({ context }) => (context.prepared?.noInputs ? ('succeededNoInput' as const) : ('succeeded' as const)),
        error: null,
      }),
    },
    gaveUp: { type: 'final', description: 'Attempts spent; a later run retries.', entry: assign({ status: 'failed' as const }) },
    leaseLost: {
      type: 'final',
      description: 'Another process took the global lease; its result stands.',
      entry: assign({ status: 'leaseLost' as const }),
    },
  },
  output: ({ context }) => ({
    status: context.status ?? 'failed',
    reason: context.error,
    selected: context.prepared?.selected ?? 0,
    added: context.prepared?.added ?? 0,
    retained: context.prepared?.retained ?? 0,
    removed: context.prepared?.removed ?? 0,
    attempts: context.attempt,
    usage: context.agent?.usage ?? null,
    turns: context.agent?.turns ?? 0,
    revision: context.revision,
    workspace: context.workspace,
    handEditsRestored: context.handEditsRestored,
    unfinishedRunUndone: context.unfinishedRunUndone,
  }),
});
