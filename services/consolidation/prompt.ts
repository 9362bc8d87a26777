// Builds the phase-2 agent prompt: the consolidation template plus a block telling the agent which
// inputs are new, which it already consolidated, and which it must now forget (spec §4.6).
import { MEMORY_MD_BUDGET_BYTES, MEMORY_SUMMARY_BUDGET_BYTES, oneLine } from '../memory-folder/artifacts.ts';
import type { LayoutVersion } from '../memory-folder/layout.ts';
import type { BaselineDiff } from '../memory-history/history.ts';
import { loadTemplate, renderTemplate } from '../templates.ts';
import type { Stage1Output } from '../types.ts';
import { modeOf, renderWorkspaceBlock } from './workspace-block.ts';

export interface SelectionInput {
  /** The current inputs, in the order phase 2 uses them. */
  selected: Stage1Output[];
  /** Threads whose current snapshot was already consumed by the last successful phase 2. */
  retainedThreadIds: string[];
  /** Previously consolidated threads that are no longer selected. */
  removed: Array<StemInput>;
  /** File stem of a thread's rollout summary (services/memory-folder/artifacts.ts rolloutSummaryStem). */
  stemOf(output: { threadId: string; sourceUpdatedAt: number; rolloutSlug: string | null }): string;
}

type StemInput = { threadId: string; sourceUpdatedAt?: number; rolloutSlug?: string | null };

export function renderSelectionBlock(input: SelectionInput): string {
  const retained = new Set(input.retainedThreadIds);
  const current = input.selected.map((o) => ({
    tag: retained.has(o.threadId) ? 'retained' : 'added',
    line: describe(o.threadId, stemOf(input, o)),
  }));
  const added = current.filter((c) => c.tag === 'added').length;
  const removed = input.removed.map((r) => describe(r.threadId, stemOf(input, r)));

  return [
    '### Inputs for this run',
    '',
    `- selected inputs this run: ${current.length}`,
    `- newly added since the last successful consolidation: ${added}`,
    `- retained from the last successful consolidation: ${current.length - added}`,
    `- removed since the last successful consolidation: ${removed.length}`,
    '',
    'Current inputs (`[added]` = new or changed: integrate it; `[retained]` = already in memory: revisit only if needed):',
    ...(current.length > 0 ? current.map((c) => `- [${c.tag}] ${c.line}`) : ['- none']),
    '',
    'Removed inputs (no longer part of memory; their summary files may remain on disk for reference):',
    ...(removed.length > 0 ? removed.map((line) => `- ${line}`) : ['- none']),
    '',
    removed.length > 0
      ? 'Forget the removed inputs: delete or rewrite anything in the memory files you maintain that only they support, ' +
        'and drop their pointers and `rollout_summary_files` entries. Keep what a current input still supports.'
      : 'Nothing was removed, so nothing needs to be forgotten.',
  ].join('\n');
}

/**
 * The full prompt for the layout: v1 maintains MEMORY.md and memory_summary.md, v2 memory_summary.md only.
 * The memory root and budgets are trusted and go first; the workspace diff (null: none computed, INIT) and
 * the selection block go last.
 */
export async function buildConsolidationPrompt(
  memoryRoot: string,
  selectionBlock: string,
  version: LayoutVersion = 'v1',
  workspace: BaselineDiff | null = null,
): Promise<string> {
  const template = await loadTemplate(version === 'v2' ? 'consolidation_v2' : 'consolidation');
  return renderTemplate(template, [
    ['memory_root', memoryRoot],
    ['memory_budget_bytes', String(MEMORY_MD_BUDGET_BYTES)],
    ['summary_budget_bytes', String(MEMORY_SUMMARY_BUDGET_BYTES)],
    ['mode', modeOf(workspace)],
    ['workspace', await renderWorkspaceBlock(workspace)],
    ['selection', selectionBlock],
  ]);
}

// A removed thread whose output is gone has no snapshot time; its stem then only matters for UUIDv7 ids.
function stemOf(input: SelectionInput, o: StemInput): string {
  return input.stemOf({ threadId: o.threadId, sourceUpdatedAt: o.sourceUpdatedAt ?? 0, rolloutSlug: o.rolloutSlug ?? null });
}

// Ids and stems come from stored data; a newline in one must not forge extra list items.
function describe(threadId: string, stem: string): string {
  return `thread_id=${oneLine(threadId)}, rollout_summary_file=rollout_summaries/${oneLine(stem)}.md`;
}
