// The ad-hoc notes a consolidation absorbs: those new or edited since the last baseline, as its diff shows them.
import { roleOf } from '../memory-folder/folder-roles.ts';
import type { WorkspaceDiff } from './workspace-diff.ts';

export function notesAbsorbed(workspace: WorkspaceDiff | null): string[] {
  return (workspace?.changes ?? []).filter((c) => c.status !== 'deleted' && roleOf(c.path) === 'note').map((c) => c.path);
}
