// The store port (lowdb-store.ts implements it): Codex's state DB semantics (shared spec §5), each method one
// atomic read-modify-write under an inter-process lock.
import type {
  GlobalClaimResult,
  JobRow,
  SkipCounts,
  Stage1Claim,
  Stage1ClaimResult,
  Stage1Output,
  Stage1Reply,
  ThreadInfo,
  TokenUsage,
} from '../types.ts';

export interface ClaimStage1Params {
  /** Eligible threads (age, idle, source, user message already checked), newest first. */
  candidates: ThreadInfo[];
  workerId: string;
  /** Claim at most this many; also the cap of live running stage-1 jobs across processes. */
  maxClaimed: number;
  leaseSeconds: number;
}

export interface ClaimStage1Batch {
  claims: Stage1Claim[];
  skipped: SkipCounts;
}

/** One entry of what a successful phase 2 consumed (Codex's selected_for_phase2 flags). */
export interface SelectionEntry {
  threadId: string;
  sourceUpdatedAt: number;
}

export interface Phase2Selection {
  /** Current inputs, ranked, at most n. */
  selected: Stage1Output[];
  /** Thread ids of `selected` that the last successful run consumed at the same snapshot. */
  retainedThreadIds: string[];
  /** Outputs the last successful run consumed that are no longer selected (may be deleted rows: then only ids). */
  removed: Array<Pick<Stage1Output, 'threadId'> & Partial<Stage1Output>>;
}

export interface StoreStatus {
  jobs: JobRow[];
  globalJob: JobRow | null;
  outputs: Stage1Output[];
  lastSelection: SelectionEntry[];
  /** Submitted phase-1 batches not collected yet (batch mode; absent for stores without it). */
  batches?: BatchRecord[];
}

/** One stage-1 job a submitted batch holds: enough to finalise it without re-reading the rollout. */
export interface BatchJobRef {
  /** The request's `custom_id` in the batch input file. */
  customId: string;
  /** The thread as it was claimed; `thread.updatedAt` is the job's source_updated_at. */
  thread: ThreadInfo;
  /** The claim's ownership token; every finalisation presents it. */
  ownershipToken: string;
}

/** Which provider batch holds which stage-1 jobs. */
export interface BatchRecord {
  batchId: string;
  inputFileId: string;
  /** `/v1/responses`. */
  endpoint: string;
  model: string;
  workerId: string;
  /** Unix seconds, as is `expiresAt` (the provider's deadline, when it told us). */
  submittedAt: number;
  expiresAt: number | null;
  jobs: BatchJobRef[];
}

export interface PendingBatch extends Omit<BatchRecord, 'jobs'> {
  /** `owned`: still running under its token (false: finalised already, or its lease was taken). */
  jobs: Array<BatchJobRef & { owned: boolean }>;
}

export interface RecordBatchResult {
  /** Thread ids whose lease now covers the batch window; only these are recorded. */
  held: string[];
  /** Thread ids no longer owned under the given token (their batch results will be ignored). */
  lost: string[];
}

/** The store side of batch mode; apart from MemoryStore so a host's own store keeps compiling. */
export interface BatchStore {
  /** Records a batch and extends its still-owned jobs' leases to `leaseSeconds`; nothing recorded when none is held. */
  recordBatch(record: BatchRecord, leaseSeconds: number): Promise<RecordBatchResult>;
  /** Every recorded batch, oldest first, each job annotated with whether its token still owns it. */
  pendingBatches(): Promise<PendingBatch[]>;
  /** Forgets a collected (or abandoned) batch; false when it was not recorded (already finished). */
  finishBatch(batchId: string): Promise<boolean>;
}

export function isBatchStore(store: object): store is BatchStore {
  const s = store as Partial<BatchStore>;
  return [s.recordBatch, s.pendingBatches, s.finishBatch].every((method) => typeof method === 'function');
}

export interface MemoryStore {
  /** Where the store keeps its files (for messages). */
  readonly location: string;

  claimStage1Jobs(params: ClaimStage1Params): Promise<ClaimStage1Batch>;
  tryClaimStage1Job(thread: ThreadInfo, workerId: string, leaseSeconds: number, maxRunning: number): Promise<Stage1ClaimResult>;
  /** Extends the lease of an owned running job; false when ownership was lost. */
  heartbeatStage1Job(threadId: string, token: string, leaseSeconds: number): Promise<boolean>;
  markStage1Succeeded(thread: ThreadInfo, token: string, reply: Stage1Reply, usage: TokenUsage | null): Promise<boolean>;
  markStage1SucceededNoOutput(threadId: string, token: string, usage: TokenUsage | null): Promise<boolean>;
  markStage1Failed(threadId: string, token: string, reason: string, retryDelaySeconds: number): Promise<boolean>;
  /** Gives an owned running job back untouched (graceful shutdown): claimable again at once, no retry spent. */
  releaseStage1Job(threadId: string, token: string): Promise<boolean>;
  /** `run --retry-failed`: every failed stage-1 job claimable now, exhausted budgets restored; returns the count. */
  retryFailedStage1Jobs(): Promise<number>;

  enqueueGlobalConsolidation(watermark: number): Promise<void>;
  claimGlobalJob(workerId: string, leaseSeconds: number): Promise<GlobalClaimResult>;
  /** Gives an owned running global job back (graceful shutdown): still dirty, claimable at once. */
  releaseGlobalJob(token: string): Promise<boolean>;
  heartbeatGlobalJob(token: string, leaseSeconds: number): Promise<boolean>;
  markGlobalSucceeded(token: string, watermark: number, selection: SelectionEntry[], usage: TokenUsage | null): Promise<boolean>;
  markGlobalFailed(token: string, reason: string, retryDelaySeconds: number): Promise<boolean>;

  /** Non-empty outputs, `source_updated_at` desc then thread id desc, at most n (spec §5.7). */
  listStage1OutputsForGlobal(n: number): Promise<Stage1Output[]>;
  /** Diff-based selection (spec §4.6): drops outputs unused for maxUnusedDays, ranks by usage then recency. */
  getPhase2Selection(n: number, maxUnusedDays: number): Promise<Phase2Selection>;
  /** Removes a thread's output (and marks consolidation dirty when one existed). */
  forgetThread(threadId: string): Promise<boolean>;
  /** usage_count + 1 and last_usage for each cited memory, once per citing session; returns how many changed. */
  recordCitations(citingThreadId: string, citedThreadIds: string[], atSeconds: number): Promise<number>;

  status(): Promise<StoreStatus>;
}
