// How the person's newest edit to a file changes what is protected in it: their newer edit wins over an older one.
// A line they added and later removed stays removed; a fact they removed and later wrote again stays in.
import { type AddedLine, anchorsIn, editOf, type HandEdit, isFact, type LineEdit, normalizeLine } from './hand-edit-merge.ts';
import type { FileProtections } from './hand-edit-ledger.ts';

const NONE: FileProtections = { added: [], removed: [], deleted: false };

/** The protections of `path` once the person's edit since the last baseline is taken in. */
export function foldEdit(path: string, before: FileProtections | undefined, edit: HandEdit): FileProtections {
  const old = before ?? NONE;
  // Deleting MEMORY.md or memory_summary.md asks for it to be rebuilt: the lines they wrote in it go with it, the
  // facts they removed stay out of the new one.
  if (edit.edited === null && !isSkill(path)) return { ...NONE, removed: old.removed };
  const { removed, added } = editOf(edit);
  const written = new Set(added.map(({ line }) => normalizeLine(line)));
  const stillAdded = old.added.filter(({ line }) => !removed.has(normalizeLine(line)) && !written.has(normalizeLine(line)));
  const stillRemoved = old.removed.filter((fact) => !written.has(fact) && !removed.has(fact));
  return {
    // A skill they deleted takes their lines in it along.
    added: edit.edited === null ? [] : [...stillAdded, ...added],
    removed: [...stillRemoved, ...removed],
    deleted: edit.edited === null,
  };
}

/** The protections as the merge applies them. */
export const asLineEdit = (p: FileProtections): LineEdit => ({ removed: new Set(p.removed), added: p.added });

/**
 * The protections as kept for later runs: each added line anchored where it sits in the file committed now, so it
 * follows the agent's rewrites; a removed line too short to state a fact (a rule, a version line) is structure and
 * kept out of this run only. Null when nothing is left to keep.
 */
export function toKeep(p: FileProtections, committed: string | null): FileProtections | null {
  const anchors =
    committed === null
      ? new Map<string, string | null>()
      : anchorsIn(
          committed,
          p.added.map((a) => a.line),
        );
  const added = p.added.map(({ line, anchor }): AddedLine => {
    const now = anchors.get(normalizeLine(line));
    return { line, anchor: now === undefined ? anchor : now };
  });
  const removed = p.removed.filter(isFact);
  return added.length === 0 && removed.length === 0 && !p.deleted ? null : { added, removed, deleted: p.deleted };
}

export const hasProtections = (p: FileProtections | undefined) =>
  p !== undefined && (p.added.length > 0 || p.removed.length > 0 || p.deleted);

const isSkill = (path: string) => path.startsWith('skills/');
