// Whether Codex's thread state lets phase 1 extract a thread. Codex extracts only memory_mode 'enabled'; we also
// extract the threads its config alone marked, because `generate_memories = false` is how a user hands memory
// generation over to this tool. How each value arises in Codex:
// - 'enabled': the default for a new thread.
// - 'disabled' at creation: generate_memories was false; the first session_meta line says so too.
// - 'disabled' later: the user turned memories off for that thread (or toggled generate_memories inside it);
//   Codex appends a session_meta line with the new mode. That is an opt-out, never extracted.
// - 'polluted': web search or MCP output entered the thread while disable_on_external_context was on. The person
//   wanted such a thread kept out when it was recorded; turning the key off later does not change that (nor in Codex).
import type { SessionMetaModes } from './session-meta-modes.ts';
import type { CodexThreadRow } from './thread-db.ts';

export type Verdict = { eligible: true } | { eligible: false; reason: string };

const ELIGIBLE: Verdict = { eligible: true };

/** Threads whose verdict depends on their rollout's session_meta lines; a row-less thread's too. */
export function needsSessionMetaModes(row: CodexThreadRow | undefined): boolean {
  if (row === undefined) return true;
  return !row.archived && row.memoryMode === 'disabled';
}

/** `modes` is null when the rollout could not be read for them (then only a row saying 'enabled' is trusted). */
export function threadVerdict(row: CodexThreadRow | undefined, modes: SessionMetaModes | null): Verdict {
  if (row?.archived) return { eligible: false, reason: 'archived in Codex' };
  if (row?.memoryMode === 'enabled') return ELIGIBLE;
  if (row?.memoryMode === 'polluted') {
    return { eligible: false, reason: 'polluted by web search or MCP output while disable_on_external_context was on' };
  }
  if (row !== undefined && row.memoryMode !== 'disabled') {
    return { eligible: false, reason: `memory_mode '${row.memoryMode}'` };
  }
  if (modes === null) return { eligible: false, reason: 'memory mode unknown: its rollout could not be read' };
  if (modes.lastSet === 'disabled') return { eligible: false, reason: 'memories turned off for this thread by the user' };
  if (row?.memoryMode === 'disabled' && !(modes.atCreation === 'disabled' && modes.lastSet === null)) {
    // Not the creation-time mark of generate_memories = false, so possibly the user's: leave it out.
    return { eligible: false, reason: 'memory_mode disabled, not by generate_memories = false at creation' };
  }
  return ELIGIBLE;
}
