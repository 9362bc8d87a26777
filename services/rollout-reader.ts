// Streaming access to rollout JSONL files. Rollouts reach tens of MB, and discovery only needs
// the first few lines, so files are read line by line and never held whole in memory.
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';

export type RolloutLine = Record<string, unknown>;

export interface LineCounts {
  /** Non-blank lines seen. */
  lines: number;
  /** Lines that were not a JSON object; skipped, never fatal (a crash can leave a torn line). */
  corruptLines: number;
}

export function newLineCounts(): LineCounts {
  return { lines: 0, corruptLines: 0 };
}

/**
 * Parsed lines of a rollout, in order. Blank lines are skipped; lines that are not a JSON object
 * are counted in `counts.corruptLines` and skipped. Breaking out of the loop closes the file.
 */
export async function* readRolloutLines(path: string, counts: LineCounts = newLineCounts()): AsyncGenerator<RolloutLine> {
  const stream = createReadStream(path, { encoding: 'utf8' });
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  let first = true;
  try {
    for await (let line of lines) {
      if (first) {
        line = line.replace(/^\uFEFF/, ''); // tolerate a UTF-8 BOM written by editors
        first = false;
      }
      if (line.trim() === '') continue;
      counts.lines++;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        counts.corruptLines++;
        continue;
      }
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        counts.corruptLines++;
        continue;
      }
      yield value as RolloutLine;
    }
  } finally {
    lines.close();
    stream.destroy();
  }
}

/** What discovery needs to know about one rollout (Codex keeps the same in its threads table). */
export interface RolloutMeta {
  threadId: string;
  cwd: string;
  source: string;
  /** Session start in Unix seconds, when the file says. */
  createdAt: number | null;
  hasUserMessage: boolean;
}

const UUID_IN_NAME = /([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.jsonl$/i;

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function toSeconds(value: unknown): number | null {
  if (typeof value !== 'string') return null;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : null;
}

/** Session sources are strings ('cli', 'exec', …) or, for sub-agents, an object like {subagent: …}. */
function sourceOf(value: unknown): string | null {
  if (typeof value === 'string' && value !== '') return value;
  if (isObject(value)) {
    const keys = Object.keys(value);
    if ('subagent' in value || keys.length === 0) return 'subagent';
    return keys[0]!;
  }
  return null;
}

/** Text of each content part of a message (input_text / output_text / text). */
export function partTexts(item: Record<string, unknown>): Array<string | null> {
  const content = item.content;
  if (typeof content === 'string') return [content];
  if (!Array.isArray(content)) return [];
  return content.map((part) => (isObject(part) && typeof part.text === 'string' ? part.text : null));
}

/** Context that Codex injects as a user message, which the user did not type. */
export function isInjectedUserText(text: string): boolean {
  const t = text.trim();
  return (
    (t.startsWith('<environment_context>') && t.endsWith('</environment_context>')) ||
    (t.startsWith('<user_instructions>') && t.endsWith('</user_instructions>')) ||
    t.startsWith('# AGENTS.md instructions')
  );
}

/** The response item carried by a line: an envelope's payload, or an old-format bare item. */
export function responseItemOf(line: RolloutLine): Record<string, unknown> | null {
  if ('payload' in line) {
    return line.type === 'response_item' && isObject(line.payload) ? line.payload : null;
  }
  return typeof line.type === 'string' ? line : null;
}

function isRealUserMessage(line: RolloutLine): boolean {
  if (line.type === 'event_msg' && isObject(line.payload)) {
    const p = line.payload;
    if (p.type === 'user_message') return true;
    if (p.type === 'item_completed' && isObject(p.item) && p.item.type === 'UserMessage') return true;
    return false;
  }
  const item = responseItemOf(line);
  if (item === null || item.type !== 'message' || item.role !== 'user') return false;
  const content = Array.isArray(item.content) ? item.content : [];
  if (typeof item.content === 'string') return item.content.trim() !== '' && !isInjectedUserText(item.content);
  return content.some((part) => {
    if (!isObject(part)) return false;
    if (typeof part.text === 'string') return part.text.trim() !== '' && !isInjectedUserText(part.text);
    return part.type === 'input_image'; // a pasted image is something the user said too
  });
}

function cwdFromEnvironmentContext(line: RolloutLine): string | null {
  const item = responseItemOf(line);
  if (item === null || item.type !== 'message' || item.role !== 'user') return null;
  for (const text of partTexts(item)) {
    if (text === null || !text.includes('<environment_context>')) continue;
    const m = /<cwd>([^<]*)<\/cwd>/.exec(text);
    if (m) return m[1]!.trim();
  }
  return null;
}

/**
 * Reads only as much of a rollout as it takes to know its thread id, cwd, source, start time and
 * whether the user said anything. Returns null when no line of the file parses.
 */
export async function readRolloutMeta(path: string): Promise<RolloutMeta | null> {
  let threadId: string | null = null;
  let cwd: string | null = null;
  let envCwd: string | null = null;
  let source: string | null = null;
  let createdAt: number | null = null;
  let headerSeen = false;
  let hasUserMessage = false;
  let parsed = 0;

  for await (const line of readRolloutLines(path)) {
    parsed++;
    if (!headerSeen && line.type === 'session_meta' && isObject(line.payload)) {
      headerSeen = true;
      const p = line.payload;
      if (typeof p.id === 'string' && p.id !== '') threadId = p.id;
      if (typeof p.cwd === 'string' && p.cwd !== '') cwd = p.cwd;
      source = sourceOf(p.source);
      createdAt = toSeconds(p.timestamp) ?? toSeconds(line.timestamp);
    } else if (!headerSeen && parsed === 1 && !('type' in line) && typeof line.id === 'string') {
      // Pre-envelope format: a bare header {id, timestamp, instructions, git}. Only CLI builds
      // wrote it, and it has no cwd (that comes from the first environment context).
      headerSeen = true;
      threadId = line.id;
      createdAt = toSeconds(line.timestamp);
    }
    if (cwd === null && envCwd === null) envCwd = cwdFromEnvironmentContext(line);
    if (!hasUserMessage) hasUserMessage = isRealUserMessage(line);
    if (headerSeen && hasUserMessage && (cwd !== null || envCwd !== null)) break;
  }
  if (parsed === 0) return null;
  return {
    threadId: threadId ?? UUID_IN_NAME.exec(basename(path))?.[1] ?? basename(path).replace(/\.jsonl$/, ''),
    cwd: cwd ?? envCwd ?? '',
    // Rollouts without a recorded source come from old CLI builds, the only writers back then.
    source: source ?? 'cli',
    createdAt,
    hasUserMessage,
  };
}
