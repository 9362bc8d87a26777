// Streaming reads of rollout JSONL files (tens of MB; discovery needs only the first lines), in chunks.
// Reads are synchronous with a turn of the event loop per MB: thread-pool round trips cost more CPU than
// the reads with eight extractions on two cores. Lines are cut in raw bytes, then decoded one at a time.
import { readSync } from 'node:fs';
import { basename } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { BadInputError } from '../errors.ts';
import { openRegularFile, UnsafeFileError } from '../files/regular-file.ts';

export type RolloutLine = Record<string, unknown>;

export interface LineCounts {
  /** Non-blank lines seen. */
  lines: number;
  /** Lines that were not a JSON object; skipped, never fatal (a crash can leave a torn line). */
  corruptLines: number;
  /** Lines longer than the cap (ReadOptions.maxLineBytes); skipped without being held. */
  oversizedLines: number;
}

export function newLineCounts(): LineCounts {
  return { lines: 0, corruptLines: 0, oversizedLines: 0 };
}

/** The first read is small (discovery stops after a few lines); later ones double up to the max. */
const FIRST_CHUNK = 64 * 1024;
const MAX_CHUNK = 1024 * 1024;
const NEWLINE = 0x0a;
/** Longest line parsed: a line is decoded and parsed whole, at several times its size in memory. */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;

export interface ReadOptions {
  /** Skip undecoded the envelope lines that hold no response item (a third of the bytes); they still count in `lines`. */
  responseItemsOnly?: boolean;
  /** Read no further than this many bytes (the size seen at discovery). */
  maxBytes?: number;
}

/** Opens without blocking or following links (a FIFO swapped in would block for good); not a regular file is bad input. */
async function openRollout(path: string) {
  try {
    return await openRegularFile(path);
  } catch (error) {
    if (error instanceof UnsafeFileError) throw new BadInputError(`rollout ${basename(path)} ${error.message}`, { cause: error });
    throw error;
  }
}

/** Parsed lines in order; non-object and oversized lines are counted and skipped. Breaks: \n, \r\n or a lone \r. */
export async function* readRolloutLines(
  path: string,
  counts: LineCounts = newLineCounts(),
  options: ReadOptions = {},
): AsyncGenerator<RolloutLine> {
  const handle = await openRollout(path);
  const end = options.maxBytes ?? Number.POSITIVE_INFINITY;
  let buffer = Buffer.allocUnsafeSlow(FIRST_CHUNK);
  let position = 0;
  let lastTurn = 0;
  // The start of a line continuing in the next chunk, copied as the buffer is reused.
  let carry: Buffer[] = [];
  let carryBytes = 0;
  let oversized = false; // the current line passed the cap: its rest is skipped
  let first = true;
  const parsed: RolloutLine[] = [];
  const take = (bytes: Buffer) => {
    if (oversized) {
      counts.lines++;
      counts.oversizedLines++;
      oversized = false;
      return;
    }
    if (options.responseItemsOnly && NON_ITEM_TYPES.has(envelopeType(bytes) ?? '')) {
      counts.lines++;
      return;
    }
    let line = bytes.toString('utf8');
    if (first) {
      first = false;
      if (line.charCodeAt(0) === 0xfeff) line = line.slice(1); // a UTF-8 BOM written by editors
    }
    parseInto(line, counts, parsed);
  };
  try {
    while (position < end) {
      const n = readSync(handle.fd, buffer, 0, Math.min(buffer.length, end - position), position);
      if (n === 0) break;
      position += n;
      const chunk = buffer.subarray(0, n);
      let start = 0;
      for (let nl = chunk.indexOf(NEWLINE); nl !== -1; nl = chunk.indexOf(NEWLINE, start)) {
        const rest = chunk.subarray(start, nl);
        if (carryBytes + rest.length > MAX_LINE_BYTES) oversized = true;
        take(carry.length === 0 || oversized ? rest : Buffer.concat([...carry, rest], carryBytes + rest.length));
        carry = [];
        carryBytes = 0;
        start = nl + 1;
        if (parsed.length > 0) {
          yield* parsed;
          parsed.length = 0;
        }
      }
      if (start < n && !oversized) {
        carry.push(Buffer.from(chunk.subarray(start)));
        carryBytes += n - start;
        if (carryBytes > MAX_LINE_BYTES) {
          oversized = true;
          carry = [];
          carryBytes = 0;
        }
      }
      if (n < buffer.length) continue; // the end of the file (or of maxBytes), as far as it is written
      if (buffer.length < MAX_CHUNK) buffer = Buffer.allocUnsafeSlow(buffer.length * 2);
      // A turn per MB: small rollouts are read in one go, so concurrent jobs finish one by one, not all late.
      if (position - lastTurn >= MAX_CHUNK) {
        lastTurn = position;
        await nextTurn();
      }
    }
    if (carry.length > 0 || oversized) take(Buffer.concat(carry)); // a last line without a line break
    yield* parsed;
  } finally {
    await handle.close();
  }
}

/** Envelope types (Codex's RolloutItem variants) other than response_item. */
const NON_ITEM_TYPES: ReadonlySet<string> = new Set(['session_meta', 'event_msg', 'turn_context', 'compacted']);
const ENVELOPE_START = Buffer.from('{"timestamp":"');
const TYPE_KEY = Buffer.from('"type":"');
/** How far into a line its top-level type is looked for (after a timestamp and an ordinal). */
const TYPE_WITHIN = 128;

/**
 * The `type` of an envelope line from its first bytes (`{"timestamp":"…",` maybe `"ordinal":3,` then `"type":"…"`).
 * With no backslash, brace or bracket before it, the key is top-level (a quote in a string is escaped).
 */
function envelopeType(line: Buffer): string | null {
  if (
    line.length < ENVELOPE_START.length ||
    line.compare(ENVELOPE_START, 0, ENVELOPE_START.length, 0, ENVELOPE_START.length) !== 0
  )
    return null;
  const head = line.subarray(0, TYPE_WITHIN);
  const at = head.indexOf(TYPE_KEY, ENVELOPE_START.length);
  if (at === -1) return null;
  for (let i = ENVELOPE_START.length; i < at; i++) {
    const b = head[i];
    if (b === 0x5c || b === 0x7b || b === 0x5b) return null; // \ { [
  }
  const start = at + TYPE_KEY.length;
  const end = head.indexOf(0x22, start);
  return end === -1 ? null : head.toString('latin1', start, end);
}

/** Parses one line into `out`; a \r inside it (an old-Mac or torn \r\n break) splits it further. */
function parseInto(line: string, counts: LineCounts, out: RolloutLine[]): void {
  // Only a break can hold a raw \r: JSON escapes it inside strings.
  if (line.includes('\r')) {
    for (const part of line.split(/\r\n?/)) parseInto(part, counts, out);
    return;
  }
  if (line.length === 0) return;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    if (line.trim() === '') return; // blank
    value = undefined;
  }
  counts.lines++;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    counts.corruptLines++;
    return;
  }
  out.push(value as RolloutLine);
}

/** What discovery needs to know about one rollout (Codex keeps the same in its threads table). */
export interface RolloutMeta {
  threadId: string;
  cwd: string;
  source: string;
  /** Session start in Unix seconds, when the file says. */
  createdAt: number | null;
  hasUserMessage: boolean;
  /** session_meta's git.branch; absent in index entries written before it was read. */
  gitBranch?: string | null;
}

const UUID_IN_NAME = /([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.jsonl$/i;

export function isObject(value: unknown): value is Record<string, unknown> {
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
  if (!isObject(value)) return null;
  return 'subagent' in value ? 'subagent' : (Object.keys(value)[0] ?? 'subagent');
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
  if ('payload' in line) return line.type === 'response_item' && isObject(line.payload) ? line.payload : null;
  return typeof line.type === 'string' ? line : null;
}

function isRealUserMessage(line: RolloutLine): boolean {
  if (line.type === 'event_msg' && isObject(line.payload)) {
    const p = line.payload;
    return p.type === 'user_message' || (p.type === 'item_completed' && isObject(p.item) && p.item.type === 'UserMessage');
  }
  const item = responseItemOf(line);
  if (item === null || item.type !== 'message' || item.role !== 'user') return false;
  if (typeof item.content === 'string') return item.content.trim() !== '' && !isInjectedUserText(item.content);
  return (Array.isArray(item.content) ? item.content : []).some((part) => {
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

/** Reads only as far as it takes to know the rollout's meta; null when no line of the file parses. */
export async function readRolloutMeta(path: string): Promise<RolloutMeta | null> {
  let threadId: string | null = null;
  let cwd: string | null = null;
  let envCwd: string | null = null;
  let source: string | null = null;
  let createdAt: number | null = null;
  let gitBranch: string | null = null;
  let headerSeen = false;
  let hasUserMessage = false;
  let parsed = 0;
  const counts = newLineCounts();

  for await (const line of readRolloutLines(path, counts)) {
    parsed++;
    if (!headerSeen && line.type === 'session_meta' && isObject(line.payload)) {
      headerSeen = true;
      const p = line.payload;
      if (typeof p.id === 'string' && p.id !== '') threadId = p.id;
      if (typeof p.cwd === 'string' && p.cwd !== '') cwd = p.cwd;
      source = sourceOf(p.source);
      createdAt = toSeconds(p.timestamp) ?? toSeconds(line.timestamp);
      gitBranch = branchOf(p.git);
    } else if (!headerSeen && parsed === 1 && !('type' in line) && typeof line.id === 'string') {
      // Pre-envelope bare header {id, timestamp, instructions, git}, written by CLI builds only; no cwd.
      headerSeen = true;
      threadId = line.id;
      createdAt = toSeconds(line.timestamp);
    }
    if (cwd === null && envCwd === null) envCwd = cwdFromEnvironmentContext(line);
    if (!hasUserMessage) hasUserMessage = isRealUserMessage(line);
    if (headerSeen && hasUserMessage && (cwd !== null || envCwd !== null)) break;
  }
  if (parsed === 0) return null;
  // Said out loud: otherwise a session whose only message was too long to read would vanish silently.
  if (!hasUserMessage && counts.oversizedLines > 0) {
    throw new BadInputError(
      `no user message left after skipping ${counts.oversizedLines} line(s) over ${MAX_LINE_BYTES / 2 ** 20} MB`,
    );
  }
  return {
    threadId: threadId ?? UUID_IN_NAME.exec(basename(path))?.[1] ?? basename(path).replace(/\.jsonl$/, ''),
    cwd: cwd ?? envCwd ?? '',
    // Rollouts without a recorded source come from old CLI builds, the only writers back then.
    source: source ?? 'cli',
    createdAt,
    hasUserMessage,
    gitBranch,
  };
}

function branchOf(git: unknown): string | null {
  return isObject(git) && typeof git.branch === 'string' && git.branch !== '' ? git.branch : null;
}

/** The git branch session_meta records (Codex's threads.git_branch); reads no further than that line. */
export async function readRolloutGitBranch(path: string): Promise<string | null> {
  for await (const line of readRolloutLines(path)) {
    if (line.type === 'session_meta' && isObject(line.payload)) return branchOf(line.payload.git);
    // Old bare headers carry {git} at the top level; anything else means there is no header.
    return 'type' in line ? null : branchOf(line.git);
  }
  return null;
}
