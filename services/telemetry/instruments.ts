// The five instruments of Codex's memories module (spec §2.9, §4.5, §10), named byte for byte so a dashboard
// built on Codex's metrics reads ours unchanged. Codex builds them with no unit, so these have none either: a
// unit would also rename them in Prometheus (a `_tokens` suffix).

export const PHASE1_JOBS = 'codex.memory.phase1';
export const PHASE1_OUTPUT = 'codex.memory.phase1.output';
export const PHASE1_TOKEN_USAGE = 'codex.memory.phase1.token_usage';
export const PHASE2_JOBS = 'codex.memory.phase2';
export const PHASE2_INPUT = 'codex.memory.phase2.input';

export type InstrumentName =
  | typeof PHASE1_JOBS
  | typeof PHASE1_OUTPUT
  | typeof PHASE1_TOKEN_USAGE
  | typeof PHASE2_JOBS
  | typeof PHASE2_INPUT;

export const INSTRUMENTS: ReadonlyArray<{ name: InstrumentName; kind: 'counter' | 'histogram'; description: string }> = [
  { name: PHASE1_JOBS, kind: 'counter', description: 'Phase-1 extraction jobs of a run, by status' },
  { name: PHASE1_OUTPUT, kind: 'counter', description: 'Raw memories phase 1 produced' },
  {
    name: PHASE1_TOKEN_USAGE,
    kind: 'histogram',
    description: "Tokens of one run's phase-1 jobs, summed field-wise, by token_type",
  },
  { name: PHASE2_JOBS, kind: 'counter', description: 'Phase-2 consolidation jobs, by status' },
  { name: PHASE2_INPUT, kind: 'counter', description: 'Stage-1 memories a consolidation took as input' },
];

export type Phase1Status = 'claimed' | 'succeeded' | 'succeeded_no_output' | 'failed' | 'skipped_no_candidates' | 'failed_claim';

export type Phase2Status =
  | 'claimed'
  | 'failed_claim'
  | 'failed_sandbox_policy'
  | 'failed_load_stage1_outputs'
  | 'failed_sync_artifacts'
  | 'failed_rebuild_raw_memories'
  | 'succeeded_no_input'
  | 'failed_spawn_agent'
  | 'agent_spawned'
  | 'failed_subscribe_status'
  | 'succeeded'
  | 'failed_agent';

export type TokenType = 'total' | 'input' | 'cached_input' | 'output' | 'reasoning_output';

/** One value recorded on one instrument, with its tags (Codex's word for attributes). */
export interface Measurement {
  instrument: InstrumentName;
  value: number;
  tags: { status?: Phase1Status | Phase2Status; token_type?: TokenType };
}
