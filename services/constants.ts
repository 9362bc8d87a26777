// Codex's constants (shared spec §10), in one place.

export const STAGE1_LEASE_SECONDS = 3_600;
export const STAGE1_RETRY_DELAY_SECONDS = 3_600;
/** Our addition: Codex's stage-1 jobs have no heartbeat; ours renew the lease like phase 2 does. */
export const STAGE1_HEARTBEAT_MS = 90_000;
export const THREAD_SCAN_LIMIT = 5_000;
export const PHASE1_CONCURRENCY = 8;
export const PHASE2_LEASE_SECONDS = 3_600;
export const PHASE2_RETRY_DELAY_SECONDS = 3_600;
export const PHASE2_HEARTBEAT_MS = 90_000;
export const INTERACTIVE_SOURCES = ['cli', 'vscode'];
/** Agent-loop caps for consolidation: enough for a large memory folder, bounded for cost. */
export const DEFAULT_AGENT_MAX_TURNS = 40;
export const DEFAULT_AGENT_MAX_TOTAL_TOKENS = 400_000;
