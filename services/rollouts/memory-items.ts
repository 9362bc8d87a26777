// What of a rollout phase 1 shows the model (spec §2.4): the conversation and tool traffic, without reasoning,
// scaffolding, bookkeeping or the instruction files Codex pastes into user messages (they would dominate the budget).
import { BadInputError } from '../errors.ts';
import {
  isObject,
  type LineCounts,
  newLineCounts,
  type ReadOptions,
  readRolloutLines,
  responseItemOf,
  type RolloutLine,
} from './rollout-reader.ts';

/** Response item kinds that carry what was said and done. Everything else is dropped. */
export const KEPT_KINDS: ReadonlySet<string> = new Set([
  ...'message local_shell_call function_call function_call_output custom_tool_call custom_tool_call_output'.split(' '),
  ...'web_search_call tool_search_call tool_search_output'.split(' '),
]);

/** Injected instruction blocks that may sit in a user message next to what the user typed. */
function isInjectedInstructions(text: string): boolean {
  const t = text.trim();
  return (
    (t.startsWith('# AGENTS.md instructions') && t.endsWith('</INSTRUCTIONS>')) ||
    (t.startsWith('<user_instructions>') && t.endsWith('</user_instructions>')) ||
    (t.startsWith('<skill>') && t.endsWith('</skill>'))
  );
}

function sanitizeUserMessage(item: Record<string, unknown>): Record<string, unknown> | null {
  if (!Array.isArray(item.content)) return item;
  const parts = item.content.filter(
    (part) => !(isObject(part) && typeof part.text === 'string' && isInjectedInstructions(part.text)),
  );
  if (parts.length === 0) return null;
  return parts.length === item.content.length ? item : { ...item, content: parts };
}

/** The response item to keep from one parsed line, or null; an envelope gives its payload, never its `metadata`. */
export function memoryItemOf(line: unknown): Record<string, unknown> | null {
  if (!isObject(line)) return null;
  const item = responseItemOf(line as RolloutLine);
  if (item === null || typeof item.type !== 'string' || !KEPT_KINDS.has(item.type)) return null;
  if (item.type === 'message' && item.role === 'developer') return null;
  return item.type === 'message' && item.role === 'user' ? sanitizeUserMessage(item) : item;
}

export interface MemoryItems {
  items: Record<string, unknown>[];
  /** Non-blank lines read. */
  lines: number;
  /** Lines skipped because they were not JSON objects. */
  corruptLines: number;
}

/** The kept items one at a time (a huge rollout is never held whole); no parsable line is an error (spec §2.3). */
export async function* readMemoryItems(
  path: string,
  counts: LineCounts = newLineCounts(),
  options: Omit<ReadOptions, 'responseItemsOnly'> = {},
): AsyncGenerator<Record<string, unknown>> {
  for await (const line of readRolloutLines(path, counts, { ...options, responseItemsOnly: true })) {
    const item = memoryItemOf(line);
    if (item !== null) yield item;
  }
  if (counts.lines - counts.corruptLines - counts.oversizedLines === 0) throw new BadInputError(`empty session file: ${path}`);
}

/** All kept items of a rollout. */
export async function loadMemoryItems(path: string): Promise<MemoryItems> {
  const counts = newLineCounts();
  const items: Record<string, unknown>[] = [];
  for await (const item of readMemoryItems(path, counts)) items.push(item);
  return { items, lines: counts.lines, corruptLines: counts.corruptLines };
}
