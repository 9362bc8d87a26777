// Who owns each file of the memory folder, by its path relative to the root. The pipeline rebuilds the evidence
// every run; the agent and the person share the maintained files; notes and extensions are the person's alone.

export const EXTENSIONS_DIR = 'extensions';
/** Codex 0.169's ad-hoc notes extension: a person's notes beside the extension's instructions. */
export const NOTES_DIR = `${EXTENSIONS_DIR}/ad_hoc`;
export const EXTENSION_INSTRUCTIONS = 'instructions.md';

export type FolderRole = 'maintained' | 'note' | 'extension' | 'evidence' | 'other';

export function roleOf(path: string): FolderRole {
  if (path === 'MEMORY.md' || path === 'memory_summary.md' || path.startsWith('skills/')) return 'maintained';
  if (path.startsWith(`${NOTES_DIR}/`) && path !== `${NOTES_DIR}/${EXTENSION_INSTRUCTIONS}`) return 'note';
  if (path.startsWith(`${EXTENSIONS_DIR}/`)) return 'extension';
  if (path === 'raw_memories.md' || path.startsWith('rollout_summaries/')) return 'evidence';
  return 'other';
}
