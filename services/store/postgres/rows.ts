// Database rows ↔ the port's types, and the lease rules both job kinds share (as services/store/job-rows.ts).
import type { JobRow, Stage1Output, TokenUsage } from '../../types.ts';

export const STAGE1 = 'memory_stage1';
export const GLOBAL = 'memory_consolidate_global';

export interface JobRecord {
  kind: JobRow['kind'];
  job_key: string;
  status: JobRow['status'];
  worker_id: string | null;
  ownership_token: string | null;
  started_at: number | null;
  finished_at: number | null;
  lease_until: number | null;
  retry_at: number | null;
  retry_remaining: number;
  last_error: string | null;
  input_watermark: number | null;
  last_success_watermark: number | null;
  usage: TokenUsage | null;
  outcome: JobRow['outcome'] | null;
}

export const JOB_COLUMNS =
  'kind, job_key, status, worker_id, ownership_token, started_at, finished_at, lease_until, retry_at, retry_remaining, ' +
  'last_error, input_watermark, last_success_watermark, usage, outcome';

export function jobOf(row: JobRecord): JobRow {
  return {
    kind: row.kind,
    jobKey: row.job_key,
    status: row.status,
    workerId: row.worker_id,
    ownershipToken: row.ownership_token,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    leaseUntil: row.lease_until,
    retryAt: row.retry_at,
    retryRemaining: row.retry_remaining,
    lastError: row.last_error,
    inputWatermark: row.input_watermark,
    lastSuccessWatermark: row.last_success_watermark,
    usage: row.usage,
    ...(row.outcome ? { outcome: row.outcome } : {}),
  };
}

export interface OutputRecord {
  thread_id: string;
  source_updated_at: number;
  raw_memory: string;
  rollout_summary: string;
  rollout_slug: string | null;
  cwd: string;
  rollout_path: string;
  git_branch: string | null;
  generated_at: number;
  usage_count: number;
  last_usage: number | null;
  cited_by: string[] | null;
}

export const OUTPUT_COLUMNS =
  'thread_id, source_updated_at, raw_memory, rollout_summary, rollout_slug, cwd, rollout_path, git_branch, generated_at, ' +
  'usage_count, last_usage, cited_by';

export function outputOf(row: OutputRecord): Stage1Output {
  return {
    threadId: row.thread_id,
    sourceUpdatedAt: row.source_updated_at,
    rawMemory: row.raw_memory,
    rolloutSummary: row.rollout_summary,
    rolloutSlug: row.rollout_slug,
    cwd: row.cwd,
    rolloutPath: row.rollout_path,
    ...(row.git_branch ? { gitBranch: row.git_branch } : {}),
    generatedAt: row.generated_at,
    usageCount: row.usage_count,
    lastUsage: row.last_usage,
    ...(row.cited_by ? { citedBy: row.cited_by } : {}),
  };
}

/** §5.7: rows whose memory or summary is blank are stored but never consolidated (JavaScript's idea of blank). */
export const hasContent = (rawMemory: string, rolloutSummary: string) => rawMemory.trim() !== '' || rolloutSummary.trim() !== '';

/** A running row whose lease is in the future (`now`: the parameter holding the time, e.g. `$2`). */
export const live = (alias: string, now: string) =>
  `(${alias}.status = 'running' AND ${alias}.lease_until IS NOT NULL AND ${alias}.lease_until > ${now})`;

/** The same question in JavaScript. */
export const isLive = (job: JobRow, now: number) => job.status === 'running' && job.leaseUntil !== null && job.leaseUntil > now;

/** The WHERE clause of an owned running row; `$1` namespace, `$2` kind, `$3` key, `$4` token. */
export const OWNED = `namespace = $1 AND kind = $2 AND job_key = $3 AND status = 'running' AND ownership_token = $4`;

/** §5.5 / §5.8: an owned running job failed; retried after the delay, one retry spent. `$5` now, `$6` delay, `$7` reason. */
export const FAIL_SET =
  "status = 'error', finished_at = $5, lease_until = NULL, retry_at = $5::bigint + $6::bigint, retry_remaining = retry_remaining - 1, last_error = $7";

/** Graceful shutdown: claimable at once, budget and watermark kept; the cleared token stops the old worker. `$5` now. */
export const RELEASE_SET =
  "status = 'pending', ownership_token = NULL, finished_at = $5, lease_until = NULL, retry_at = NULL, last_error = 'released'";

/** The retry delay as whole seconds, never negative (Codex: max(delay, 0)). */
export const delaySeconds = (seconds: number) => Math.max(0, Math.ceil(seconds));
