// The deterministic "model" behind the demo and benchmarks: it answers the pipeline's two request kinds from the
// request alone, so a run without an API key still yields a memory folder checkable against the fixture rollouts.
import { STAGE1_SCHEMA_NAME } from '../extraction/stage-one-schema.ts';
import type { Handler, HandlerRequest, Reply } from './local-openai-server.ts';

const QUOTE_LIMIT = 200;
const HARNESS_PREFIXES = ['<environment_context>', '<user_instructions>', '# AGENTS.md'];
const STOPWORDS = new Set([
  ...'the and for with that this from into your you are was were have has had not but can could would should'.split(' '),
  ...'please about there their them then than what when where which while will just also some make more'.split(' '),
  ...'need want like does done using use'.split(' '),
]);

export const CONSOLIDATION_DONE_TEXT = 'Consolidation complete.';
const NOTE_TAG = '[ad-hoc note]';

export function scriptedHandler(): Handler {
  return (req) => {
    if (isStage1(req.body)) return stage1Reply(userText(req), asksForRawMemory(req.body));
    if (Array.isArray(req.body.tools) && req.body.tools.length > 0) return consolidationTurn(req);
    return { text: 'This scripted model only answers memory extraction and consolidation requests.' };
  };
}

function isStage1(body: any): boolean {
  return body?.text?.format?.name === STAGE1_SCHEMA_NAME || body?.response_format?.json_schema?.name === STAGE1_SCHEMA_NAME;
}

/** v1's schema has a raw_memory property; v2's (Codex 0.169's default) has not. */
function asksForRawMemory(body: any): boolean {
  const schema = body?.text?.format?.schema ?? body?.response_format?.json_schema?.schema;
  return schema?.properties?.raw_memory !== undefined;
}

/** All user-authored text of the request, whichever wire it came over. */
function userText({ wire, body }: HandlerRequest): string {
  if (wire === 'responses' && typeof body.input === 'string') return body.input;
  const items: any[] = wire === 'chat' ? body.messages : body.input;
  const texts = items.filter((item) => item?.role === 'user').map((item) => contentText(item.content));
  return texts.join('\n');
}

function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.flatMap((part) => (typeof part?.text === 'string' ? [part.text as string] : [])).join('\n');
}

function stage1Reply(input: string, withRawMemory: boolean): Reply {
  const requests = rolloutUserRequests(input);
  const first = requests[0];
  const empty = withRawMemory
    ? { rollout_summary: '', rollout_slug: '', raw_memory: '' }
    : { rollout_summary: '', rollout_slug: '' };
  if (first === undefined) return { text: JSON.stringify(empty) };

  // v1 names the line rollout_cwd, v2 rollout_primary_cwd_hint.
  const cwd = /^- rollout_(?:primary_)?cwd(?:_hint)?:\s*(.*)$/m.exec(input)?.[1]?.trim() || 'unknown';
  const request = quote(first);
  const slug = slugify(first);
  const summary = [`User asked: "${request}"`, '', `Rollout context: worked in ${cwd}.`, `User messages: ${requests.length}.`];
  if (!withRawMemory) return { text: JSON.stringify({ rollout_summary: summary.join('\n'), rollout_slug: slug }) };
  const rawMemory = [
    '---',
    `rollout_summary_file: ${slug}.md`,
    `description: ${request}`,
    `keywords: ${keywordsOf(requests.join(' ')).join(', ')}`,
    '---',
    `- User request: "${request}"`,
    `- Working directory: ${cwd}`,
    ...requests.slice(1).map((r) => `- Follow-up request: "${quote(r)}"`),
  ];
  return { text: JSON.stringify({ rollout_summary: summary.join('\n'), rollout_slug: slug, raw_memory: rawMemory.join('\n') }) };
}

/** The user's own requests in the rendered rollout, without the harness-injected context messages. */
function rolloutUserRequests(input: string): string[] {
  const found: string[] = [];
  for (const item of [...responseItems(input), ...labelledItems(input)]) {
    const payload = item?.type === 'response_item' ? item.payload : item;
    if (payload?.type !== 'message' || payload.role !== 'user') continue;
    const text = contentText(payload.content).trim();
    if (text !== '' && !HARNESS_PREFIXES.some((prefix) => text.startsWith(prefix))) found.push(text);
  }
  return found;
}

/** v2 input: one JSON item per line, each under a `[speaker]` label line. */
function labelledItems(input: string): any[] {
  const items: any[] = [];
  const lines = input.split('\n');
  for (let i = 0; i + 1 < lines.length; i++) {
    if (!/^\[[a-z ]+\]$/.test(lines[i]!)) continue;
    try {
      items.push(JSON.parse(lines[i + 1]!));
    } catch {
      // a label-like line of prose
    }
  }
  return items;
}

/** The rollout JSON array in the input: each line opening with `[` tried against the last `]`s (prose may hold more). */
function responseItems(input: string): any[] {
  const closers: number[] = [];
  for (let at = input.lastIndexOf(']'); at >= 0 && closers.length < 32; at = input.lastIndexOf(']', at - 1)) closers.push(at);
  for (const { index: start } of input.matchAll(/^\[/gm)) {
    for (const end of closers) {
      if (end <= start) break;
      try {
        const parsed: unknown = JSON.parse(input.slice(start, end + 1));
        if (Array.isArray(parsed)) return parsed;
      } catch {
        // not this pair
      }
    }
  }
  return [];
}

function quote(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > QUOTE_LIMIT ? `${flat.slice(0, QUOTE_LIMIT - 1)}…` : flat;
}

function slugify(text: string): string {
  const words = text.toLowerCase().match(/[a-z0-9]+/g) ?? [];
  return words.slice(0, 6).join('-').slice(0, 60).replace(/-+$/, '') || 'rollout';
}

function keywordsOf(text: string): string[] {
  const counts = new Map<string, number>();
  for (const word of text.toLowerCase().match(/[a-z][a-z0-9_-]{3,}/g) ?? []) {
    if (!STOPWORDS.has(word)) counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  const ranked = [...counts.entries()].sort((a, b) => b[1] - a[1]);
  return ranked.slice(0, 5).map(([word]) => word);
}

/** The tool calls made so far, and their results by call id, read back from the conversation. */
function transcriptOf({ wire, body }: HandlerRequest) {
  const calls: { id: string; name: string }[] = [];
  const outputs = new Map<string, string>();
  const items = wire === 'responses' ? body.input : body.messages;
  for (const item of Array.isArray(items) ? items : []) {
    if (item?.type === 'function_call') calls.push({ id: item.call_id, name: item.name });
    if (item?.type === 'function_call_output') outputs.set(item.call_id, String(item.output));
    for (const call of item?.tool_calls ?? []) calls.push({ id: call.id, name: call.function?.name });
    if (item?.role === 'tool') outputs.set(item.tool_call_id, contentText(item.content));
  }
  return { calls, outputs };
}

/**
 * Reads raw_memories.md first, with the notes the prompt lists as new or edited and, in INCREMENTAL mode, the memory
 * files (to carry earlier notes forward). Finding raw_memories.md (v1), writes MEMORY.md and memory_summary.md; not
 * finding it (v2, which has none), writes memory_summary.md alone from the inputs the prompt lists. Both in Codex
 * 0.169's shapes, with what came from notes tagged `[ad-hoc note]` as data, never obeyed.
 */
function consolidationTurn(req: HandlerRequest): Reply {
  const { calls, outputs } = transcriptOf(req);
  if (calls.some((c) => c.name === 'write_file')) return { text: CONSOLIDATION_DONE_TEXT };
  const call = (id: string, name: string, args: object) => ({ id, name, arguments: JSON.stringify(args) });
  const prompt = userText(req);
  const read = calls.find((c) => c.name === 'read_file');
  if (!read) {
    const memoryFiles = prompt.includes('**INCREMENTAL** mode') ? ['MEMORY.md', 'memory_summary.md'] : [];
    const reads = [
      ...memoryFiles.map((path) => ['call_read_memory', path]),
      ...listedNotes(prompt).map((path) => ['call_read_note', path]),
    ];
    return {
      toolCalls: [
        call('call_read_raw_memories', 'read_file', { path: 'raw_memories.md' }),
        ...reads.map(([kind, path], i) => call(`${kind}_${i}`, 'read_file', { path })),
      ],
    };
  }
  const raw = outputs.get(read.id) ?? '';
  const readBack = (kind: string) => calls.filter((c) => c.id.startsWith(kind)).map((c) => outputs.get(c.id) ?? '');
  const noted = notedLines(readBack('call_read_memory'), readBack('call_read_note'));
  const threads = raw.startsWith('# Raw Memories') ? parseThreads(raw) : promptInputs(prompt);
  const writeSummary = call('call_write_summary', 'write_file', { path: 'memory_summary.md', content: summary(threads, noted) });
  if (!raw.startsWith('# Raw Memories')) return { toolCalls: [writeSummary] };
  const memory = handbook(threads) + (noted.length > 0 ? ['', '## Ad-hoc notes', '', ...noted, ''].join('\n') : '');
  return { toolCalls: [call('call_write_memory', 'write_file', { path: 'MEMORY.md', content: memory }), writeSummary] };
}

/** The notes the prompt's workspace block lists as new or edited. */
function listedNotes(prompt: string): string[] {
  const section = /^Ad-hoc notes new or edited[^\n]*\n((?:- [^\n]*\n?)*)/m.exec(prompt)?.[1] ?? '';
  return [...section.matchAll(/^- (?:added|modified): (\S+)$/gm)].map((m) => m[1]!);
}

/** Earlier notes' lines carried forward, then one line per new note: its text quoted as data, tagged. */
function notedLines(memoryFiles: string[], notes: string[]): string[] {
  const lines = new Set<string>();
  for (const text of memoryFiles) for (const line of text.split('\n')) if (line.endsWith(NOTE_TAG)) lines.add(line);
  for (const note of notes) if (note.trim() !== '') lines.add(`- The person noted: "${quote(note)}" ${NOTE_TAG}`);
  return [...lines];
}

type ThreadMemory = {
  threadId: string;
  cwd: string;
  summaryFile: string;
  description: string;
  keywords: string;
  bullets: string[];
};

/** Splits raw_memories.md into its `## Thread` blocks. */
function parseThreads(raw: string): ThreadMemory[] {
  const blocks = raw.split(/^## Thread `([^`]+)`[ \t]*$/m);
  const threads: ThreadMemory[] = [];
  for (let i = 1; i + 1 < blocks.length; i += 2) {
    const body = blocks[i + 1] ?? '';
    const field = (name: string) => new RegExp(`^${name}:[ \\t]*(.*)$`, 'm').exec(body)?.[1]?.trim() ?? '';
    const bullets = body.split('\n').filter((line) => line.startsWith('- '));
    const [cwd, summaryFile, description, keywords] = [
      field('cwd'),
      field('rollout_summary_file'),
      field('description'),
      field('keywords'),
    ];
    threads.push({ threadId: blocks[i] ?? '', cwd, summaryFile, description, keywords, bullets });
  }
  return threads;
}

/** v2: the current inputs the prompt's selection block lists (`thread_id=…, rollout_summary_file=…`). */
function promptInputs(prompt: string): ThreadMemory[] {
  const found = prompt.matchAll(/^- \[(?:added|retained)\] thread_id=(\S+), rollout_summary_file=rollout_summaries\/(\S+)$/gm);
  return [...found].map(([, threadId = '', summaryFile = '']) => ({
    threadId,
    cwd: '',
    summaryFile,
    description: 'session summary',
    keywords: '',
    bullets: [],
  }));
}

const pointer = (t: ThreadMemory) => `rollout_summaries/${t.summaryFile || `${t.threadId}.md`}`;

/** MEMORY.md in Codex 0.169's structure: a task group per cwd, a task per thread. */
function handbook(threads: ThreadMemory[]): string {
  const lines: string[] = [];
  const groups = new Map<string, ThreadMemory[]>();
  for (const t of threads) groups.set(t.cwd || 'unknown', [...(groups.get(t.cwd || 'unknown') ?? []), t]);
  if (threads.length === 0) lines.push('# Task Group: none', '', 'No memories yet.', '');
  let task = 0;
  for (const [cwd, members] of groups) {
    lines.push(`# Task Group: ${cwd}`, '', `scope: sessions the scripted model consolidated in ${cwd}`);
    lines.push(`applies_to: cwd=${cwd}; reuse_rule=only for work in this directory`, '');
    for (const t of members) {
      lines.push(`## Task ${++task}: ${t.description || `thread ${t.threadId}`}`, '', `cwd: ${cwd}`, '');
      lines.push('### rollout_summary_files', '', `- ${pointer(t)} (thread_id=${t.threadId})`, '');
      lines.push('### keywords', '', `- ${t.keywords || 'none'}`, '');
      lines.push('### reusable knowledge', '', ...(t.bullets.length > 0 ? t.bullets : ['- (no details recorded)']), '');
    }
  }
  return lines.join('\n');
}

/** memory_summary.md in Codex 0.169's shape: the line `v1`, then its four sections. */
function summary(threads: ThreadMemory[], noted: string[] = []): string {
  const entries = threads.map((t) => `- ${pointer(t)} — ${t.description || 'session summary'}; thread_id=${t.threadId}`);
  return [
    'v1',
    '## User Profile',
    `A developer with ${threads.length} remembered session(s).`,
    '## User preferences',
    '- none recorded',
    '## General Tips',
    ['- Look up the matching rollout summary before repeating past work.', ...noted].join('\n'),
    "## What's in Memory",
    `### scripted workspace\n\n${entries.join('\n') || '- Nothing yet.'}`,
  ]
    .join('\n\n')
    .concat('\n');
}
