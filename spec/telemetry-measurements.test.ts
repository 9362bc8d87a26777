// What a run records on Codex's instruments, from its output alone (spec §2.9, §4.1, §4.5): the rules of when a
// count is recorded and how our consolidation outcomes map onto Codex's phase-2 statuses.
import { describe, expect, it } from 'vitest';
import type { Phase1Summary } from '../machines/coordinator.ts';
import type { ConsolidationOutput } from '../machines/consolidation.ts';
import type { ExtractionOutput } from '../machines/extraction.ts';
import { measurementsJson, measurePhase1, measurePhase2, measureRun } from '../services/telemetry/run-measurements.ts';
import type { TokenUsage } from '../services/types.ts';
import { sumFinishedUsage } from '../services/usage.ts';

const usage = (input: number, output: number, cachedInput = 0, reasoningOutput = 0): TokenUsage => ({
  input,
  output,
  cachedInput,
  reasoningOutput,
  total: input + output,
});

const job = (outcome: ExtractionOutput['outcome'], tokens: TokenUsage | null = null): ExtractionOutput => ({
  threadId: `t-${outcome}`,
  outcome,
  attempts: 1,
  error: null,
  usage: tokens,
});

function phase1(jobs: ExtractionOutput[], extra: Partial<Phase1Summary> = {}): Phase1Summary {
  const count = (o: string) => jobs.filter((j) => j.outcome === o).length;
  return {
    filesSeen: jobs.length,
    eligible: jobs.length,
    ineligible: 0,
    unreadable: 0,
    claimed: jobs.length,
    succeeded: count('succeeded'),
    succeededNoOutput: count('succeededNoOutput'),
    failed: count('gaveUp') + count('leaseLost'),
    skipped: { upToDate: 0, running: 0, retryBackoff: 0, retryExhausted: 0 },
    usage: sumFinishedUsage(jobs),
    error: null,
    jobs,
    ...extra,
  };
}

/** Only the fields the measurements read; the rest of the output (history, workspace) is not theirs to know. */
function phase2(status: ConsolidationOutput['status'], extra: Partial<ConsolidationOutput> = {}): ConsolidationOutput {
  const output: Partial<ConsolidationOutput> = {
    status,
    reason: null,
    selected: 4,
    added: 4,
    retained: 0,
    removed: 0,
    attempts: 1,
    usage: null,
    turns: 3,
    revision: null,
    workspace: null,
    ...extra,
  };
  return output as ConsolidationOutput;
}

const statuses = (output: ConsolidationOutput) => measurementsJson(measurePhase2(output));

describe('phase-1 measurements', () => {
  it('count a claim that failed, or a claim that found nothing, once and nothing else', () => {
    expect(measurementsJson(measurePhase1(phase1([], { error: 'store locked' })))).toEqual({
      'codex.memory.phase1': { failed_claim: 1 },
    });
    expect(measurementsJson(measurePhase1(phase1([])))).toEqual({ 'codex.memory.phase1': { skipped_no_candidates: 1 } });
  });

  it('leave out a status whose count is 0, and the usage of failed jobs', () => {
    const jobs = [job('succeeded', usage(10, 2)), job('gaveUp', usage(1_000, 1_000)), job('leaseLost')];
    expect(measurementsJson(measurePhase1(phase1(jobs)))).toEqual({
      'codex.memory.phase1': { claimed: 3, succeeded: 1, failed: 2 },
      'codex.memory.phase1.output': 1,
      'codex.memory.phase1.token_usage': { total: 12, input: 10, cached_input: 0, output: 2, reasoning_output: 0 },
    });
  });

  it('record no token usage when no finished job reported any, and clamp negative counts to 0', () => {
    expect(measurementsJson(measurePhase1(phase1([job('succeededNoOutput')])))).toEqual({
      'codex.memory.phase1': { claimed: 1, succeeded_no_output: 1 },
    });
    const negative = { input: -5, output: 3, cachedInput: -1, reasoningOutput: 0, total: -2 };
    const recorded = measurementsJson(measurePhase1(phase1([job('succeeded', negative)])));
    expect(recorded['codex.memory.phase1.token_usage']).toEqual({
      total: 0,
      input: 0,
      cached_input: 0,
      output: 3,
      reasoning_output: 0,
    });
  });
});

describe("phase-2 measurements, on Codex's statuses", () => {
  it('count a skip (nothing new, or another process consolidating) as failed_claim, as the target does', () => {
    expect(statuses(phase2('skippedNotDirty', { attempts: 0 }))).toEqual({ 'codex.memory.phase2': { failed_claim: 1 } });
    expect(statuses(phase2('skippedRunning', { attempts: 0 }))).toEqual({ 'codex.memory.phase2': { failed_claim: 1 } });
    expect(statuses(phase2('failed', { attempts: 0, reason: 'store locked' }))).toEqual({
      'codex.memory.phase2': { failed_claim: 1 },
    });
  });

  it('count the input only when the agent ran', () => {
    expect(statuses(phase2('succeeded'))).toEqual({
      'codex.memory.phase2': { claimed: 1, agent_spawned: 1, succeeded: 1 },
      'codex.memory.phase2.input': 4,
    });
    expect(statuses(phase2('succeededNoInput', { selected: 0, turns: 0 }))).toEqual({
      'codex.memory.phase2': { claimed: 1, succeeded_no_input: 1 },
    });
  });

  it("take the status from a failure's Codex reason, and count the folder checks after the agent as failed_agent", () => {
    const failed = (reason: string, turns = 0) => statuses(phase2('failed', { reason, turns }))['codex.memory.phase2'];
    expect(failed('failed_sync_artifacts: cannot list rollout_summaries')).toEqual({ claimed: 1, failed_sync_artifacts: 1 });
    expect(failed('failed_rebuild_raw_memories: disk full')).toEqual({ claimed: 1, failed_rebuild_raw_memories: 1 });
    expect(failed('failed_agent: model request failed (503)')).toEqual({ claimed: 1, agent_spawned: 1, failed_agent: 1 });
    expect(failed('failed_invalid_artifacts: MEMORY.md is empty', 3)).toEqual({ claimed: 1, agent_spawned: 1, failed_agent: 1 });
  });

  it('count other failures as failed_agent once the agent had run, else as failed_sync_artifacts', () => {
    const failed = (turns: number) => statuses(phase2('failed', { reason: 'ENOSPC: no space left on device', turns }));
    expect(failed(3)['codex.memory.phase2']).toEqual({ claimed: 1, agent_spawned: 1, failed_agent: 1 });
    expect(failed(0)['codex.memory.phase2']).toEqual({ claimed: 1, failed_sync_artifacts: 1 });
  });

  it('count a lost lease as failed_agent, with the agent spawned only when there were inputs', () => {
    expect(statuses(phase2('leaseLost'))['codex.memory.phase2']).toEqual({ claimed: 1, agent_spawned: 1, failed_agent: 1 });
    expect(statuses(phase2('leaseLost', { selected: 0, turns: 0 }))['codex.memory.phase2']).toEqual({
      claimed: 1,
      failed_agent: 1,
    });
  });
});

describe('a whole run', () => {
  it('records nothing for a phase it did not run', () => {
    expect(measureRun({ phase1: null, phase2: null })).toEqual([]);
    expect(measurementsJson(measureRun({ phase1: null, phase2: phase2('skippedNotDirty') }))).toEqual({
      'codex.memory.phase2': { failed_claim: 1 },
    });
  });
});
