// The I/O behind the consolidation actor: select inputs, sync the memory folder, run the sandboxed
// agent, validate what it wrote, and record the outcome on the global job.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fromPromise } from 'xstate';
import type { AgentRunResult, GlobalClaim, PreparedConsolidation } from '../../machines/consolidation.ts';
import { runAgentLoop } from './agent-loop.ts';
import { rebuildRawMemories, rolloutSummaryStem, syncArtifacts, validateConsolidation } from '../memory-folder/artifacts.ts';
import { PHASE2_LEASE_SECONDS } from '../constants.ts';
import { releaseDeadLocalGlobalLease } from '../store/dead-holder.ts';
import {
  listNotes,
  NOTES_QUEUED_FILE,
  noteChangedSince,
  noteWatermark,
  touch,
  writeNotesInstructions,
} from '../memory-folder/notes.ts';
import { buildConsolidationPrompt, renderSelectionBlock } from './prompt.ts';
import type { PipelineDeps } from '../pipeline-deps.ts';
import { historyActors } from '../memory-history/actors.ts';
import type { BaselineDiff } from '../memory-history/history.ts';
import { redactSecrets } from '../redaction/redact.ts';
import type { SelectionEntry } from '../store/port.ts';
import type { GlobalClaimResult, Stage1Output, TokenUsage } from '../types.ts';

type ClaimInput = { claim: GlobalClaim };

/** What later steps need from the run's selection: kept in the machine's context, not shared between runs. */
interface PreparedRun extends PreparedConsolidation {
  selectionBlock: string;
  consumed: SelectionEntry[];
}
type PreparedInput = ClaimInput & { prepared: PreparedConsolidation };
type AgentInput = PreparedInput & { workspace: BaselineDiff | null };

/** The machine hands back what syncArtifacts returned, typed as the part it knows. */
function runOf(prepared: PreparedConsolidation): PreparedRun {
  if (!('consumed' in prepared)) throw new Error('the run has no prepared selection');
  return prepared as PreparedRun;
}

export function consolidationActors(deps: PipelineDeps) {
  const { store } = deps;
  const { root, version } = deps.layout;

  return {
    ...historyActors(root, deps.log),

    claimGlobal: fromPromise<GlobalClaimResult, void>(async () => {
      // A note dropped in by hand makes consolidation due once; a failed run's backoff then stands.
      const queued = join(deps.layout.stateDir, NOTES_QUEUED_FILE);
      const since = await stat(queued).then(
        (s) => s.mtimeMs,
        () => 0,
      );
      const changed = await noteChangedSince(root, since);
      if (changed !== null) {
        await store.enqueueGlobalConsolidation(noteWatermark(changed));
        await touch(queued);
      }
      const claim = await store.claimGlobalJob(deps.workerId, PHASE2_LEASE_SECONDS);
      if (claim.kind !== 'skippedRunning' || !(await releaseDeadLocalGlobalLease(store))) return claim;
      deps.log.warn({}, 'the consolidation lease was held by a run on this host whose process is gone: taken over');
      return store.claimGlobalJob(deps.workerId, PHASE2_LEASE_SECONDS);
    }),

    renewLease: fromPromise(({ input }: { input: ClaimInput }) =>
      store.heartbeatGlobalJob(input.claim.ownershipToken, PHASE2_LEASE_SECONDS),
    ),

    syncArtifacts: fromPromise<PreparedConsolidation, ClaimInput>(({ input }) => prepareRun(deps, input.claim)),

    runAgent: fromPromise<AgentRunResult, AgentInput>(({ input, signal }) => runAgent(deps, input, signal)),

    validateArtifacts: fromPromise<void, void>(async () => {
      const verdict = await validateConsolidation(root, version);
      if (!verdict.ok) throw new Error(`failed_invalid_artifacts: ${verdict.reason}`);
      for (const warning of verdict.warnings) deps.log.warn({ root }, warning);
    }),

    recordSuccess: fromPromise(({ input }: { input: PreparedInput & { usage: TokenUsage | null } }) => {
      const { claim, prepared, usage } = input;
      return store.markGlobalSucceeded(claim.ownershipToken, prepared.newWatermark, runOf(prepared).consumed, usage);
    }),

    recordFailure: fromPromise(async ({ input }: { input: ClaimInput & { reason: string; retryDelaySeconds: number } }) => {
      const reason = redactSecrets(input.reason);
      deps.log.warn({ reason }, 'phase 2 failed');
      return store.markGlobalFailed(input.claim.ownershipToken, reason, input.retryDelaySeconds);
    }),
  };
}

/** Selects the run's inputs and brings the memory folder's evidence in line with them. */
async function prepareRun(deps: PipelineDeps, claim: GlobalClaim): Promise<PreparedRun> {
  const { store, config } = deps;
  const { root, version } = deps.layout;
  const selection = await store.getPhase2Selection(config.maxRawMemoriesForGlobal, config.maxUnusedDays);
  const { retainedThreadIds, removed } = selection;
  // Codex 0.169 hands its inputs over in stable ascending thread-id order (byte order, as SQLite).
  const selected = [...selection.selected].sort((a, b) => (a.threadId < b.threadId ? -1 : a.threadId > b.threadId ? 1 : 0));
  // With nothing selected Codex deletes the consolidated memory (§3.5 step 5), unless the person wrote in it: notes
  // alone are worth a run (the agent absorbs them even before any session was extracted), and so is what the person
  // wrote when the last input goes (the agent drops what the removed threads contributed, not their lines). Asked
  // only then: a run with inputs pays for no diff.
  const personal = selected.length === 0 && ((await holdsPersonsWriting(root)) || (await noteChangedSince(root)) !== null);
  const noInputs = selected.length === 0 && !personal;
  // Removed threads' evidence stays on disk while the agent runs, so it can forget deliberately; no agent, no evidence.
  const keepAlso = noInputs ? [] : removed.filter((r): r is Stage1Output => typeof r.rawMemory === 'string');
  await syncArtifacts(root, { retained: selected, keepAlso, keepConsolidated: personal });
  await writeNotesInstructions(root);
  // v2 has no raw_memories.md: its agent reads the rollout summaries themselves.
  if (version === 'v1') await rebuildRawMemories(root, selected);
  return {
    newWatermark: Math.max(claim.inputWatermark, ...selected.map((o) => o.sourceUpdatedAt)),
    selected: selected.length,
    added: selected.length - retainedThreadIds.length,
    retained: retainedThreadIds.length,
    removed: removed.length,
    noInputs,
    selectionBlock: renderSelectionBlock({ selected, retainedThreadIds, removed, stemOf: rolloutSummaryStem }),
    consumed: selected.map((o) => ({ threadId: o.threadId, sourceUpdatedAt: o.sourceUpdatedAt })),
  } satisfies PreparedRun;
}

/** Whether the memory holds anything the person wrote: a note, or an edit to a maintained file since the baseline. */
async function holdsPersonsWriting(root: string): Promise<boolean> {
  if ((await listNotes(root)).length > 0) return true;
  return (await import('../memory-history/history.ts')).handEditedSinceBaseline(root);
}

/** The sandboxed agent over the memory folder; whatever it writes passes the redactor first. */
async function runAgent(deps: PipelineDeps, input: AgentInput, signal: AbortSignal): Promise<AgentRunResult> {
  const { config } = deps;
  const { root, version } = deps.layout;
  const { selectionBlock } = runOf(input.prepared);
  const prompt = await buildConsolidationPrompt(root, selectionBlock, version, input.workspace);
  // Loaded only when an agent runs: the tools' schemas load zod, which most runs never need.
  const { createMemoryTools } = await import('./agent-tools.ts');
  const tools = createMemoryTools(root, {
    onViolation: (tool, path, reason) => deps.log.warn({ tool, path, reason }, 'agent tool refused'),
  }).map(redactingTool);
  const result = await runAgentLoop(deps.model, {
    model: config.phase2Model,
    instructions: 'You are the memory consolidation agent. Follow the user message exactly.',
    prompt,
    tools,
    maxTurns: deps.agent.maxTurns,
    maxTotalTokens: deps.agent.maxTotalTokens,
    signal,
  }).catch((error: Error) => {
    error.message = `failed_agent: ${error.message}`;
    throw error;
  });
  deps.log.info({ turns: result.turns, toolCalls: result.toolCalls, stop: result.stopReason }, 'agent finished');
  return { usage: result.usage, turns: result.turns, toolCalls: result.toolCalls };
}

/** Whatever the agent writes passes the secret redactor first: transcripts are untrusted. */
function redactingTool<T extends { execute(args: unknown): Promise<string> }>(tool: T): T {
  return { ...tool, execute: (args: unknown) => tool.execute(redactArgs(args)) };
}

function redactArgs(args: unknown): unknown {
  if (!args || typeof args !== 'object') return args;
  const copy: Record<string, unknown> = { ...(args as Record<string, unknown>) };
  for (const key of ['content', 'new_text', 'patch']) {
    if (typeof copy[key] === 'string') copy[key] = redactSecrets(copy[key] as string);
  }
  return copy;
}
