// Domain types shared by machines and services. Machines import these type-only.

/** One rollout file found under $CODEX_HOME/sessions, with what its session_meta says. */
export interface ThreadInfo {
  threadId: string;
  rolloutPath: string;
  cwd: string;
  /** Session source as Codex stores it: 'cli', 'vscode', 'exec', 'subagent', … */
  source: string;
  /** File mtime in whole Unix seconds (Codex's threads.updated_at). */
  updatedAt: number;
  /** session_meta timestamp in Unix seconds, when known. */
  createdAt: number | null;
  /** Whether the user said anything (Codex's first_user_message <> ''). */
  hasUserMessage: boolean;
  sizeBytes: number;
  /** session_meta's git.branch (or Codex's threads.git_branch); null or absent when unknown. */
  gitBranch?: string | null;
}

export interface TokenUsage {
  input: number;
  cachedInput: number;
  output: number;
  reasoningOutput: number;
  total: number;
}

/** What the stage-1 model returns, after validation and redaction. */
export interface Stage1Reply {
  rawMemory: string;
  rolloutSummary: string;
  rolloutSlug: string | null;
}

/** A persisted stage-1 output (Codex's stage1_outputs row). */
export interface Stage1Output extends Stage1Reply {
  threadId: string;
  sourceUpdatedAt: number;
  cwd: string;
  rolloutPath: string;
  /** The thread's git branch, for the summary file's `git_branch:` header; absent when unknown. */
  gitBranch?: string | null;
  generatedAt: number;
  usageCount: number;
  lastUsage: number | null;
  /** Threads whose sessions cited this memory (each counted once in usageCount). */
  citedBy?: string[];
}

export type JobKind = 'memory_stage1' | 'memory_consolidate_global';
export type JobStatus = 'pending' | 'running' | 'done' | 'error';

/** Codex's jobs row. Times are Unix seconds. */
export interface JobRow {
  kind: JobKind;
  jobKey: string;
  status: JobStatus;
  workerId: string | null;
  ownershipToken: string | null;
  startedAt: number | null;
  finishedAt: number | null;
  leaseUntil: number | null;
  retryAt: number | null;
  retryRemaining: number;
  lastError: string | null;
  inputWatermark: number | null;
  lastSuccessWatermark: number | null;
  /** Token usage of the last successful attempt (stage 1) or run (phase 2). */
  usage?: TokenUsage | null;
  /**
   * How a done stage-1 job ended: with an output, with none (succeeded_no_output), or forgotten by
   * the user. Only an `output` job whose output went missing is extracted again.
   */
  outcome?: 'output' | 'noOutput' | 'forgotten';
}

export interface Stage1Claim {
  thread: ThreadInfo;
  ownershipToken: string;
}

export type Stage1ClaimResult =
  | { kind: 'claimed'; ownershipToken: string }
  | { kind: 'skippedUpToDate' }
  | { kind: 'skippedRunning' }
  | { kind: 'skippedRetryBackoff' }
  | { kind: 'skippedRetryExhausted' };

export type GlobalClaimResult =
  | { kind: 'claimed'; ownershipToken: string; inputWatermark: number }
  | { kind: 'skippedNotDirty' }
  | { kind: 'skippedRunning' };

export interface SkipCounts {
  upToDate: number;
  running: number;
  retryBackoff: number;
  retryExhausted: number;
}
