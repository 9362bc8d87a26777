// What one run records on Codex's five instruments, decided from the run's output alone, so `run --json`, the
// last-run file `status --json` reads and the exporters always agree. Codex's rules (spec §2.9, §4.1): once per
// run, a count only when it is > 0, token usage summed field-wise over the jobs that reported it, negatives
// clamped to 0.
//
// Phase 2 maps our consolidation outcome onto Codex's statuses:
//   skippedNotDirty, skippedRunning       → failed_claim (the target counts both skips so; later Codex splits them)
//   succeededNoInput                      → claimed, succeeded_no_input
//   succeeded                             → claimed, agent_spawned, succeeded; phase2.input += selected memories
//   leaseLost                             → claimed, agent_spawned (if it had inputs), failed_agent (Codex: ownership
//                                           lost in a heartbeat)
//   failed, never an attempt (attempts 0) → failed_claim (the claim itself failed, or the step before any sync)
//   failed with a Codex reason prefix     → claimed, that status (failed_agent also agent_spawned and the input)
//   failed_invalid_artifacts              → as failed_agent: the agent's work did not pass the check
//   any other failure                     → claimed, failed_agent once the agent had run, else failed_sync_artifacts
//     (the folder-history steps and store writes around the agent, which Codex's target does not have)
import type { CoordinatorOutput, Phase1Summary } from '../../machines/coordinator.ts';
import type { ConsolidationOutput } from '../../machines/consolidation.ts';
import type { TokenUsage } from '../types.ts';
import { sumFinishedUsage } from '../usage.ts';
import {
  type InstrumentName,
  type Measurement,
  PHASE1_JOBS,
  PHASE1_OUTPUT,
  PHASE1_TOKEN_USAGE,
  PHASE2_INPUT,
  PHASE2_JOBS,
  type Phase1Status,
  type Phase2Status,
  type TokenType,
} from './instruments.ts';

const TOKEN_FIELDS: Array<[TokenType, keyof TokenUsage]> = [
  ['total', 'total'],
  ['input', 'input'],
  ['cached_input', 'cachedInput'],
  ['output', 'output'],
  ['reasoning_output', 'reasoningOutput'],
];

const CODEX_FAILURES: ReadonlySet<string> = new Set<Phase2Status>([
  'failed_sandbox_policy',
  'failed_load_stage1_outputs',
  'failed_sync_artifacts',
  'failed_rebuild_raw_memories',
  'failed_spawn_agent',
  'failed_subscribe_status',
  'failed_agent',
]);

export function measureRun(output: CoordinatorOutput): Measurement[] {
  return [...(output.phase1 ? measurePhase1(output.phase1) : []), ...(output.phase2 ? measurePhase2(output.phase2) : [])];
}

export function measurePhase1(p1: Phase1Summary): Measurement[] {
  const jobs = (status: Phase1Status, value: number): Measurement => ({ instrument: PHASE1_JOBS, value, tags: { status } });
  // The discovery scan and the claim together are Codex's claim query: either failing is its failed_claim.
  if (p1.error !== null) return [jobs('failed_claim', 1)];
  if (p1.claimed === 0) return [jobs('skipped_no_candidates', 1)];
  const out: Measurement[] = [
    jobs('claimed', p1.claimed),
    jobs('succeeded', p1.succeeded),
    jobs('succeeded_no_output', p1.succeededNoOutput),
    jobs('failed', p1.failed),
    { instrument: PHASE1_OUTPUT, value: p1.succeeded, tags: {} } satisfies Measurement,
  ].filter((m) => m.value > 0);
  // Like Codex, usage is recorded when at least one finished job reported it, even if every field is 0.
  const reported = p1.jobs.some((j) => j.usage !== null && (j.outcome === 'succeeded' || j.outcome === 'succeededNoOutput'));
  if (reported) {
    const usage = sumFinishedUsage(p1.jobs);
    for (const [tokenType, field] of TOKEN_FIELDS) {
      out.push({ instrument: PHASE1_TOKEN_USAGE, value: Math.max(0, usage[field]), tags: { token_type: tokenType } });
    }
  }
  return out;
}

export function measurePhase2(p2: ConsolidationOutput): Measurement[] {
  const statuses = phase2Statuses(p2);
  const out: Measurement[] = statuses.map((status) => ({ instrument: PHASE2_JOBS, value: 1, tags: { status } }));
  if (statuses.includes('agent_spawned') && p2.selected > 0) out.push({ instrument: PHASE2_INPUT, value: p2.selected, tags: {} });
  return out;
}

function phase2Statuses(p2: ConsolidationOutput): Phase2Status[] {
  switch (p2.status) {
    case 'skippedNotDirty':
    case 'skippedRunning':
      return ['failed_claim'];
    case 'succeededNoInput':
      return ['claimed', 'succeeded_no_input'];
    case 'succeeded':
      return ['claimed', 'agent_spawned', 'succeeded'];
    case 'leaseLost':
      // With nothing selected no agent ran: the lease went while the empty folder was being recorded.
      return p2.selected > 0 ? ['claimed', 'agent_spawned', 'failed_agent'] : ['claimed', 'failed_agent'];
    case 'failed':
      return failedStatuses(p2);
  }
}

function failedStatuses(p2: ConsolidationOutput): Phase2Status[] {
  const prefix = /^(failed_[a-z0-9_]+):/.exec(p2.reason ?? '')?.[1];
  if (prefix === undefined && p2.attempts === 0) return ['failed_claim'];
  const status: Phase2Status =
    prefix === 'failed_invalid_artifacts'
      ? 'failed_agent'
      : prefix !== undefined && CODEX_FAILURES.has(prefix)
        ? (prefix as Phase2Status)
        : p2.turns > 0
          ? 'failed_agent'
          : 'failed_sync_artifacts';
  return status === 'failed_agent' ? ['claimed', 'agent_spawned', status] : ['claimed', status];
}

/** The `--json` shape: each instrument by name; a counter's values by status, the histogram's by token_type. */
export type MeasurementsJson = Partial<Record<InstrumentName, number | Record<string, number>>>;

export function measurementsJson(measurements: Measurement[]): MeasurementsJson {
  const json: MeasurementsJson = {};
  for (const { instrument, value, tags } of measurements) {
    const tag = tags.status ?? tags.token_type;
    if (tag === undefined) {
      json[instrument] = ((json[instrument] as number | undefined) ?? 0) + value;
      continue;
    }
    const byTag = (json[instrument] as Record<string, number> | undefined) ?? {};
    byTag[tag] = (byTag[tag] ?? 0) + value;
    json[instrument] = byTag;
  }
  return json;
}
