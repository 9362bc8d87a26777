// The store port. The lowdb implementation lives in lowdb-store.ts; a SQL backend can implement
// the same interface later. Semantics follow Codex's state DB (shared spec §5); every method is
// one atomic read-modify-write under an inter-process lock.
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
} from './types.ts';

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
}

export interface MemoryStore {
  /** Where the store keeps its files (for messages). */
  readonly location: string;

  claimStage1Jobs(params: ClaimStage1Params): Promise<ClaimStage1Batch>;
  tryClaimStage1Job(
    thread: ThreadInfo,
    workerId: string,
    leaseSeconds: number,
    maxRunning: number,
  ): Promise<Stage1ClaimResult>;
  /** Extends the lease of an owned running job; false when ownership was lost. */
  heartbeatStage1Job(threadId: string, token: string, leaseSeconds: number): Promise<boolean>;
  markStage1Succeeded(
    thread: ThreadInfo,
    token: string,
    reply: Stage1Reply,
    usage: TokenUsage | null,
  ): Promise<boolean>;
  markStage1SucceededNoOutput(threadId: string, token: string, usage: TokenUsage | null): Promise<boolean>;
  markStage1Failed(threadId: string, token: string, reason: string, retryDelaySeconds: number): Promise<boolean>;
  /** Gives an owned running job back untouched (graceful shutdown): claimable again at once, no retry spent. */
  releaseStage1Job(threadId: string, token: string): Promise<boolean>;

  enqueueGlobalConsolidation(watermark: number): Promise<void>;
  claimGlobalJob(workerId: string, leaseSeconds: number): Promise<GlobalClaimResult>;
  heartbeatGlobalJob(token: string, leaseSeconds: number): Promise<boolean>;
  markGlobalSucceeded(
    token: string,
    watermark: number,
    selection: SelectionEntry[],
    usage: TokenUsage | null,
  ): Promise<boolean>;
  markGlobalFailed(token: string, reason: string, retryDelaySeconds: number): Promise<boolean>;

  /** Non-empty outputs, `source_updated_at` desc then thread id desc, at most n (spec §5.7). */
  listStage1OutputsForGlobal(n: number): Promise<Stage1Output[]>;
  /** Diff-based selection (spec §4.6): drops outputs unused for maxUnusedDays, ranks by usage then recency. */
  getPhase2Selection(n: number, maxUnusedDays: number): Promise<Phase2Selection>;
  /** Removes a thread's output (and marks consolidation dirty when one existed). */
  forgetThread(threadId: string): Promise<boolean>;

  status(): Promise<StoreStatus>;
}
