// Applies Codex's thread state to the threads found on disk: the rows of state_5.sqlite, matched by thread id,
// decide which threads phase 1 may see, and fill in what Codex records about them. Codex's claim query reads these
// columns, so its values win; what the rollout file says stays the fallback for a thread with no row.
import type { ThreadInfo } from '../types.ts';
import { needsSessionMetaModes, threadVerdict } from './opt-out.ts';
import type { SessionMetaModes } from './session-meta-modes.ts';
import type { CodexThreadRow } from './thread-db.ts';

export interface Withheld {
  threadId: string;
  rolloutPath: string;
  reason: string;
}

export interface ThreadStateResult {
  threads: ThreadInfo[];
  withheld: Withheld[];
}

/** `modesOf` reads a rollout's session_meta modes (null when it cannot); called only for threads that need them. */
export async function applyThreadState(
  threads: readonly ThreadInfo[],
  rows: ReadonlyMap<string, CodexThreadRow>,
  modesOf: (thread: ThreadInfo) => Promise<SessionMetaModes | null>,
): Promise<ThreadStateResult> {
  const kept: ThreadInfo[] = [];
  const withheld: Withheld[] = [];
  for (const thread of threads) {
    const row = rows.get(thread.threadId);
    const modes = needsSessionMetaModes(row) ? await modesOf(thread) : null;
    const verdict = threadVerdict(row, modes);
    if (verdict.eligible) kept.push(row ? withRow(thread, row) : thread);
    else withheld.push({ threadId: thread.threadId, rolloutPath: thread.rolloutPath, reason: verdict.reason });
  }
  return { threads: kept, withheld };
}

function withRow(thread: ThreadInfo, row: CodexThreadRow): ThreadInfo {
  const merged = {
    ...thread,
    source: row.source ?? thread.source,
    cwd: row.cwd ?? thread.cwd,
    updatedAt: row.updatedAt ?? thread.updatedAt,
  };
  // Left unset otherwise: an absent branch tells the request builder to read it from the rollout.
  if (row.gitBranch !== null) merged.gitBranch = row.gitBranch;
  return merged;
}
