// The package entry: `await pipelineOutput(createMemoriesPipeline({ codexHome, model }))`. The statecharts come
// unprovided (for hosts wiring their own services) and provided (`providedCoordinator`); a host may bring its own
// ModelClient, MemoryStore, Logger or clocks.
import type { PipelineOptions } from './services/pipeline.ts';

// ---- The statecharts ------------------------------------------------------------------------------
export {
  coordinatorMachine,
  summarizePhase1,
  type CoordinatorEmitted,
  type CoordinatorInput,
  type CoordinatorOutput,
  type DiscoveryResult,
  type Phase1Summary,
} from './machines/coordinator.ts';
export {
  extractionMachine,
  type ExtractionInput,
  type ExtractionOutcome,
  type ExtractionOutput,
  type ExtractionResult,
} from './machines/extraction.ts';
export {
  consolidationMachine,
  type AgentRunResult,
  type ConsolidationInput,
  type ConsolidationOutput,
  type ConsolidationStatus,
  type GlobalClaim,
  type PreparedConsolidation,
} from './machines/consolidation.ts';
export { backoffDelayMs, DEFAULT_RETRY_POLICY, type RetryPolicy } from './machines/retry-policy.ts';

// ---- The runtime ------------------------------------------------------------------------------------
export {
  createMemoriesPipeline,
  pipelineDeps,
  pipelineOutput,
  providedCoordinator,
  runPipeline,
  stopPipeline,
  type MemoriesPipeline,
  type Phase,
  type PipelineOptions,
} from './services/pipeline.ts';
export type { PipelineDeps } from './services/pipeline-deps.ts';

// ---- Service interfaces a host may implement, and the default implementations ------------------

/** Wall clock in milliseconds (`PipelineOptions.now`). */
export type WallClock = () => number;
/** Timer clock for the machines' delays and heartbeats (`PipelineOptions.clock`), e.g. XState's SimulatedClock. */
export type TimerClock = NonNullable<PipelineOptions['clock']>;

export type {
  AgentMessage,
  AgentToolCall,
  AgentToolSpec,
  AgentTurnRequest,
  AgentTurnResult,
  ModelClient,
  ModelClientOptions,
  Stage1Request,
  Stage1Result,
  WireApi,
} from './services/model/model-client.ts';
export { createModelClient } from './services/model/model-client.ts';
export { modelClientFromEnvironment, type EndpointOptions } from './services/model/model-endpoint.ts';

export type {
  ClaimStage1Batch,
  ClaimStage1Params,
  MemoryStore,
  Phase2Selection,
  SelectionEntry,
  StoreStatus,
} from './services/store/port.ts';
export { createLowdbStore, type LowdbStoreOptions } from './services/store/lowdb-store.ts';

export { fileLogger, silentLogger, type Logger } from './services/logger.ts';

// Telemetry for hosts: the same exporters the CLI configures from OTEL_* and [otel], or the host's own providers.
export { startTelemetry } from './services/telemetry/setup.ts';
export { telemetryFromProviders } from './services/telemetry/run-telemetry.ts';
export type { Telemetry } from './services/telemetry/telemetry.ts';

export {
  DEFAULT_CONFIG,
  DEFAULT_PHASE1_MODEL,
  DEFAULT_PHASE2_MODEL,
  defaultCodexHome,
  loadMemoriesConfig,
  parseMemoriesTable,
  type MemoriesConfig,
} from './services/config.ts';

export type {
  GlobalClaimResult,
  JobKind,
  JobRow,
  JobStatus,
  SkipCounts,
  Stage1Claim,
  Stage1ClaimResult,
  Stage1Output,
  Stage1Reply,
  ThreadInfo,
  TokenUsage,
} from './services/types.ts';

export {
  BadInputError,
  ConfigError,
  LeaseLostError,
  MalformedReplyError,
  RetryableError,
  StoreCorruptError,
  describeFailure,
  type Failure,
} from './services/errors.ts';

// ---- The read path and the memory folder ------------------------------------------------------------
export { buildReadPathInstructions, READ_PATH_SUMMARY_TOKEN_LIMIT } from './services/memory-folder/read-path.ts';
export {
  MEMORY_FILE,
  MEMORY_SUMMARY_FILE,
  memoryRoot,
  RAW_MEMORIES_FILE,
  ROLLOUT_SUMMARIES_DIR,
} from './services/memory-folder/artifacts.ts';
export {
  createLayoutResolver,
  type LayoutVersion,
  layoutOf,
  type MemoryLayout,
  resolveLayout,
} from './services/memory-folder/layout.ts';
export { redactSecrets } from './services/redaction/redact.ts';
