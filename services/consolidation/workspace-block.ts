// The prompt's account of what changed in the memory folder since its last baseline, and the mode it implies.
import type { BaselineDiff } from '../memory-history/history.ts';
import { oneLine } from '../memory-folder/artifacts.ts';
import { type FolderRole, roleOf } from '../memory-folder/folder-roles.ts';
import { loadTemplate, renderTemplate } from '../templates.ts';

export type ConsolidationMode = 'INIT' | 'INCREMENTAL';

/** No baseline means no consolidation has succeeded: the agent builds the memory files from scratch. */
export const modeOf = (diff: BaselineDiff | null): ConsolidationMode => (diff?.baseline ? 'INCREMENTAL' : 'INIT');

export async function renderWorkspaceBlock(diff: BaselineDiff | null): Promise<string> {
  if (diff === null) return '';
  const template = await loadTemplate('consolidation_workspace');
  const shown = diff.truncated ? 'some of the changes are not shown' : '';
  return renderTemplate(template, [
    ['baseline', diff.baseline ? `revision ${diff.baseline.slice(0, 12)}` : 'none (this is the first consolidation)'],
    ['hand_edits', statusList(diff, (role) => role === 'maintained' || role === 'other')],
    ['notes', statusList(diff, (role) => role === 'note')],
    ['pipeline_changes', statusList(diff, (role) => role === 'evidence' || role === 'extension')],
    ['patch', diff.patch === '' ? '(no text changes)' : fenced(diff.patch)],
    [
      'cut_note',
      shown &&
        `\n**The diff above was cut to stay within the prompt budget: ${shown}. Read the listed files themselves ` +
          'for the rest.**',
    ],
  ]).trimEnd();
}

function statusList(diff: BaselineDiff, wanted: (role: FolderRole) => boolean): string {
  const lines = diff.changes.filter((c) => wanted(roleOf(c.path))).map((c) => `- ${c.status}: ${oneLine(c.path)}`);
  return lines.length > 0 ? lines.join('\n') : '- none';
}

// A memory file may quote a fenced block itself; the fence must be longer than any backtick run inside.
function fenced(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return `${fence}diff\n${text.endsWith('\n') ? text : `${text}\n`}${fence}`;
}
