// A person's edit to a maintained memory file outranks the agent's: after the agent ran, the lines they wrote are in
// the file and the lines they removed are not. A line that occurs more than once in the baseline (blank lines, the
// headings every task repeats) is structure, not a fact, so removing it removes nothing.
import { diffArrays } from 'diff';

export interface HandEdit {
  /** The file at the last baseline; null when the person created it. */
  base: string | null;
  /** The file as the person left it; null when they deleted it. */
  edited: string | null;
}

/** A line the person wrote, and the line it follows (null: the top of the file). */
export interface AddedLine {
  line: string;
  anchor: string | null;
}

/** What an edit asks of the agent's text: facts kept out (normalized) and lines kept in. */
export interface LineEdit {
  removed: ReadonlySet<string>;
  added: readonly AddedLine[];
}

/** A line as a fact: list markers and spacing do not change what it says. */
export const normalizeLine = (line: string) =>
  line
    .trim()
    .replace(/^([-*+]|\d+\.)\s+/, '')
    .replace(/\s+/g, ' ');

const MIN_ADDED_CHARS = 4;
const VERSION_LINE = /^v\d+$/;

/** A line long enough to state something; shorter ones (a rule, a stray marker) are structure. */
export const isFact = (line: string) => normalizeLine(line).length >= MIN_ADDED_CHARS;

/**
 * The agent's text of the file with the person's edit put back. `elsewhere` holds the normalized lines of the
 * other maintained files: a line the agent moved there is kept, not duplicated.
 */
export function reapplyHandEdit(edit: HandEdit, agent: string, elsewhere: ReadonlySet<string>): string {
  return applyLineEdit(editOf(edit), agent, elsewhere);
}

/** The agent's text with the facts kept out and the lines kept in, each after its anchor. */
export function applyLineEdit({ removed, added }: LineEdit, agent: string, elsewhere: ReadonlySet<string>): string {
  const out = linesOf(agent).filter((line) => !removed.has(normalizeLine(line)));
  // memory_summary.md opens with its format's version line (`v1`), which Codex checks: nothing goes above it.
  const top = VERSION_LINE.test(out[0] ?? '') ? 1 : 0;
  for (const { line, anchor } of added) {
    const fact = normalizeLine(line);
    if (elsewhere.has(fact) || out.some((l) => normalizeLine(l) === fact)) continue;
    const at = anchor === null ? top : out.indexOf(anchor) + 1;
    // An anchor the agent rewrote away: the line goes last rather than nowhere.
    out.splice(anchor !== null && at === 0 ? out.length : at, 0, line);
  }
  const text = out.join('\n');
  return text === '' || !agent.endsWith('\n') ? text : `${text}\n`;
}

/** Whether the text still says anything once structure is set aside. */
export const saysSomething = (text: string) => linesOf(text).some(isFact);

/**
 * The facts the person removed (and did not keep elsewhere in the file), and the lines they added, each after the
 * nearest unique line before it.
 */
export function editOf(edit: HandEdit): LineEdit {
  const base = linesOf(edit.base);
  const edited = linesOf(edit.edited);
  const baseCount = countOf(base);
  const editedCount = countOf(edited);
  const removed = new Set<string>();
  const added: AddedLine[] = [];
  let anchor: string | null = null;
  for (const part of diffArrays(base, edited)) {
    for (const line of part.value) {
      const fact = normalizeLine(line);
      if (part.removed) {
        if (fact !== '' && baseCount.get(fact) === 1 && !editedCount.has(fact)) removed.add(fact);
        continue;
      }
      if (part.added && isFact(line)) added.push({ line, anchor });
      if (editedCount.get(fact) === 1 && (!part.added || isFact(line))) anchor = line;
    }
  }
  return { removed, added };
}

/** Where each of `lines` sits in `text` now: after the nearest line before it that is unique in the file. */
export function anchorsIn(text: string, lines: readonly string[]): Map<string, string | null> {
  const all = linesOf(text);
  const counts = countOf(all);
  const wanted = new Set(lines.map(normalizeLine));
  const anchors = new Map<string, string | null>();
  let anchor: string | null = null;
  for (const line of all) {
    const fact = normalizeLine(line);
    if (wanted.has(fact) && !anchors.has(fact)) anchors.set(fact, anchor);
    if (counts.get(fact) === 1 && isFact(line)) anchor = line;
  }
  return anchors;
}

function linesOf(text: string | null): string[] {
  if (!text) return [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

function countOf(lines: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of lines) counts.set(normalizeLine(line), (counts.get(normalizeLine(line)) ?? 0) + 1);
  return counts;
}
