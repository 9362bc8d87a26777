// Phase 1 shows the model the conversation and its tool traffic only (spec §2.4): real rollout
// lines of every kind are kept or dropped as the spec says, and injected instruction files are cut
// out of user messages.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { loadMemoryItems, memoryItemOf } from '../services/rollouts/memory-items.ts';
import { REAL_ROLLOUTS, V169_ROLLOUTS } from './support/shared.ts';

const REAL = REAL_ROLLOUTS;
const V169 = V169_ROLLOUTS;
const OLD = `${REAL}/AcidicSoil__codex-session-viewer__example.jsonl`;
const SESSION_VIEW = `${REAL}/AcidicSoil__codex-session-view__rollout-2025-11-17T15-30-28-019a93b9-f380-7600-98ff-940e6b99603c.jsonl`;
const CODEMIE_CLI = `${REAL}/codemie-ai__codemie-code__rollout-2026-05-11T11-26-55-019e1625-789d-76c0-80ab-3724b5ddb799.jsonl`;
const CODEMIE_EXEC = `${REAL}/codemie-ai__codemie-code__rollout-2026-01-02T18-39-45-019b7f94-51b4-7593-922e-ba12b5b73b52.jsonl`;
const LOCALPUSH = `${REAL}/madshn__localpush__rollout-2026-02-23T12-54-34-019c8a59-e9dd-71f0-9ae3-4079fe9726a9.jsonl`;
const SINGLE = `${V169}/single-turn-with-tool-call.jsonl`;
const GPT55 = `${V169}/function-call-tools-gpt-5.5.jsonl`;

type Line = Record<string, any>;
const cache = new Map<string, Line[]>();
async function linesOf(path: string): Promise<Line[]> {
  if (!cache.has(path)) {
    const text = await readFile(path, 'utf8');
    cache.set(
      path,
      text
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l)),
    );
  }
  return cache.get(path)!;
}
async function firstLine(path: string, match: (line: Line) => boolean): Promise<Line> {
  const line = (await linesOf(path)).find(match);
  if (!line) throw new Error(`fixture ${path} has no such line`);
  return line;
}
const envelope = (type: string) => (l: Line) => l.type === type;
const item = (type: string, role?: string) => (l: Line) =>
  l.type === 'response_item' && l.payload?.type === type && (role === undefined || l.payload.role === role);
const bare = (type: string, role?: string) => (l: Line) =>
  l.type === type && !('payload' in l) && (role === undefined || l.role === role);

describe('kept: the conversation and its tool traffic', () => {
  it.each([
    ['assistant message (0.169)', SINGLE, item('message', 'assistant')],
    [
      'user prompt (0.169)',
      SINGLE,
      (l: Line) => item('message', 'user')(l) && l.payload.content[0].text.startsWith('MOCK-PROMPT'),
    ],
    [
      'environment context user message',
      SINGLE,
      (l: Line) => item('message', 'user')(l) && l.payload.content[0].text.startsWith('<environment_context>'),
    ],
    ['custom_tool_call', SINGLE, item('custom_tool_call')],
    ['custom_tool_call_output', SINGLE, item('custom_tool_call_output')],
    ['function_call', GPT55, item('function_call')],
    ['function_call_output', GPT55, item('function_call_output')],
    ['web_search_call', CODEMIE_CLI, item('web_search_call')],
  ])('%s is kept as its payload, without the line-level metadata', async (_name, path, match) => {
    const line = await firstLine(path, match);
    const kept = memoryItemOf(line);
    expect(kept).toEqual(line.payload);
    expect(JSON.stringify(kept)).not.toContain('history_sequence');
  });

  it.each([
    ['old-format assistant message', bare('message', 'assistant')],
    ['old-format function_call', bare('function_call')],
    ['old-format function_call_output', bare('function_call_output')],
  ])('%s (a bare item) is kept as is', async (_name, match) => {
    const line = await firstLine(OLD, match);
    expect(memoryItemOf(line)).toEqual(line);
  });

  it.each([
    [
      'local_shell_call',
      { type: 'local_shell_call', call_id: 'c1', status: 'completed', action: { type: 'exec', command: ['ls'] } },
    ],
    ['tool_search_call', { type: 'tool_search_call', call_id: 'c2', arguments: { query: 'x' } }],
    ['tool_search_output', { type: 'tool_search_output', call_id: 'c2', tools: [] }],
    ['system message', { type: 'message', role: 'system', content: [{ type: 'input_text', text: 'hi' }] }],
  ])('%s (no fixture has one) is kept', (_name, payload) => {
    expect(memoryItemOf({ type: 'response_item', payload })).toEqual(payload);
  });
});

describe('dropped: scaffolding, reasoning and bookkeeping', () => {
  it.each([
    ['session_meta', SINGLE, envelope('session_meta')],
    ['turn_context', SINGLE, envelope('turn_context')],
    ['world_state', SINGLE, envelope('world_state')],
    ['token_usage_record', SINGLE, envelope('token_usage_record')],
    ['event_msg item_completed', SINGLE, envelope('event_msg')],
    ['developer message', SINGLE, item('message', 'developer')],
    ['additional_tools', SINGLE, item('additional_tools')],
    ['reasoning', SINGLE, item('reasoning')],
    ['ghost_snapshot', SESSION_VIEW, item('ghost_snapshot')],
    ['event_msg user_message', SESSION_VIEW, (l: Line) => l.type === 'event_msg' && l.payload.type === 'user_message'],
    ['compacted', LOCALPUSH, envelope('compacted')],
    ['old-format header', OLD, (l: Line) => !('type' in l) && 'instructions' in l],
    ['old-format record_type line', OLD, (l: Line) => 'record_type' in l],
    ['old-format reasoning', OLD, bare('reasoning')],
  ])('%s is dropped', async (_name, path, match) => {
    expect(memoryItemOf(await firstLine(path, match))).toBeNull();
  });

  it.each(['image_generation_call', 'compaction', 'context_compaction', 'compaction_trigger', 'ghost_snapshot', 'something_new'])(
    'a %s response item is dropped',
    (type) => {
      expect(memoryItemOf({ type: 'response_item', payload: { type, id: 'x' } })).toBeNull();
    },
  );

  it('values that are not objects are dropped', () => {
    for (const v of [null, 1, 'message', [], [{ type: 'message' }]]) expect(memoryItemOf(v)).toBeNull();
  });
});

describe('user messages lose injected instructions', () => {
  it('AGENTS.md instructions are cut from a user message; the rest of it stays', async () => {
    const line = await firstLine(
      CODEMIE_EXEC,
      (l) => item('message', 'user')(l) && l.payload.content.some((p: Line) => p.text?.startsWith('# AGENTS.md instructions')),
    );
    const kept = memoryItemOf(line);
    const texts = ((kept?.content as Line[] | undefined) ?? []).map((p) => p.text);
    expect(texts.some((t) => t.startsWith('# AGENTS.md instructions'))).toBe(false);
    expect(line.payload.content.length - texts.length).toBe(1);
    // The fixture line itself is not modified.
    expect(line.payload.content[0].text.startsWith('# AGENTS.md instructions')).toBe(true);
  });

  it('an old-format message holding only <user_instructions> disappears', async () => {
    const line = await firstLine(OLD, (l) => bare('message', 'user')(l) && l.content[0].text.startsWith('<user_instructions>'));
    expect(line.content).toHaveLength(1);
    expect(memoryItemOf(line)).toBeNull();
  });

  it('<skill> payloads are cut and a message left empty is dropped', () => {
    const skill = { type: 'input_text', text: '<skill>\n<name>pdf</name>\nUse pdftotext.\n</skill>' };
    const typed = { type: 'input_text', text: 'convert report.pdf' };
    const mixed = { type: 'response_item', payload: { type: 'message', role: 'user', content: [skill, typed] } };
    expect(memoryItemOf(mixed)).toEqual({ type: 'message', role: 'user', content: [typed] });
    expect(memoryItemOf({ type: 'response_item', payload: { type: 'message', role: 'user', content: [skill] } })).toBeNull();
  });

  it('no kept item of any fixture still carries AGENTS.md or user_instructions blocks', async () => {
    for (const path of [OLD, CODEMIE_EXEC, CODEMIE_CLI]) {
      const { items } = await loadMemoryItems(path);
      for (const it of items.filter((i) => i.type === 'message' && i.role === 'user')) {
        for (const part of it.content as Line[]) {
          expect(
            String(part.text ?? '')
              .trimStart()
              .startsWith('# AGENTS.md instructions'),
          ).toBe(false);
          expect(
            String(part.text ?? '')
              .trimStart()
              .startsWith('<user_instructions>'),
          ).toBe(false);
        }
      }
    }
  });
});

describe('a whole 0.169 rollout', () => {
  it('keeps exactly the user, tool and assistant items, in order', async () => {
    const { items } = await loadMemoryItems(SINGLE);
    expect(items.map((i) => (i.type === 'message' ? `message:${i.role}` : i.type))).toEqual([
      'message:user',
      'message:user',
      'custom_tool_call',
      'custom_tool_call_output',
      'message:assistant',
    ]);
  });
});
