// The read path (shared spec §6.5): turn the agent-written memory_summary.md into the developer
// instructions a new session starts with. No memory, or an empty one, means no instructions at all.
import { realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { readRegularFile } from '../files/regular-file.ts';
import { MEMORY_SUMMARY_FILE, memoryRoot } from './artifacts.ts';
import type { MemoryLayout } from './layout.ts';
import { loadTemplate, renderTemplate } from '../templates.ts';
import { truncateToTokens } from '../tokens/truncation.ts';

/** Codex's MEMORY_TOOL_DEVELOPER_INSTRUCTIONS_SUMMARY_TOKEN_LIMIT: keeps the prompt overhead bounded. */
export const READ_PATH_SUMMARY_TOKEN_LIMIT = 5_000;

/**
 * Developer instructions pointing the agent at its memory folder, or null when there is no usable
 * memory summary. A missing or unreadable summary is not an error: memory is optional for a session.
 * Only a single-link regular file counts: a planted link or FIFO would inject an outside file, or hang.
 */
export async function buildReadPathInstructions(
  codexHome: string,
  layout?: Pick<MemoryLayout, 'root' | 'version'>,
): Promise<string | null> {
  const root = layout?.root ?? memoryRoot(codexHome);
  let raw: string;
  try {
    const file = join(root, MEMORY_SUMMARY_FILE);
    raw = (await readRegularFile(file, { singleLink: true, within: await realpath(root) })).toString('utf8');
  } catch {
    return null;
  }
  const summary = truncateToTokens(raw.trim(), READ_PATH_SUMMARY_TOKEN_LIMIT).text;
  if (summary.trim() === '') return null;
  // v2 has no MEMORY.md to search: its instructions point at the rollout summaries instead.
  const template = await loadTemplate(layout?.version === 'v2' ? 'read_path_v2' : 'read_path');
  // The summary goes last so that template-like text inside it (e.g. "{{ base_path }}") stays literal.
  return renderTemplate(template, [
    ['base_path', root],
    ['memory_summary', summary],
  ]);
}
