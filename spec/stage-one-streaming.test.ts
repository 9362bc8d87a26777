// The phase-1 request is built by streaming the rollout: items are read, redacted and serialized
// one at a time, and only a head window and a tail ring of the text are held. The request is
// exactly the one built from the whole rollout in memory, and a rollout of any size costs memory
// bounded by the token limit.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadMemoryItems } from '../services/rollouts/memory-items.ts';
import { redactDeep } from '../services/redaction/redact.ts';
import { buildStageOneRequest, stageOneTokenLimit } from '../services/extraction/stage-one-prompt.ts';
import { loadTemplate, renderTemplate } from '../services/templates.ts';
import { truncateToTokens } from '../services/tokens/truncation.ts';
import type { ThreadInfo } from '../services/types.ts';
import { REAL_ROLLOUTS, V169_ROLLOUTS } from './support/shared.ts';

/** The size discovery would record: the reader reads no further. */
const sizeOf = (path: string) => (existsSync(path) ? statSync(path).size : 0);

const tiktoken = createRequire(import.meta.url)('tiktoken') as typeof import('tiktoken');
const enc = tiktoken.get_encoding('o200k_base');
const realCount = (text: string) => enc.encode(text, [], []).length;

const BROKEN_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const SHARED = [REAL_ROLLOUTS, V169_ROLLOUTS].flatMap((dir) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .map((f) => `${dir}/${f}`),
);
const LARGEST_SHARED = `${REAL_ROLLOUTS}/AcidicSoil__codex-session-viewer__example.jsonl`;

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

function threadFor(path: string): ThreadInfo {
  return {
    threadId: '0199aaaa-0000-7000-8000-000000000002',
    rolloutPath: path,
    cwd: '/home/me/project',
    source: 'cli',
    updatedAt: 1_770_000_000,
    createdAt: null,
    hasUserMessage: true,
    sizeBytes: sizeOf(path),
  };
}

/** The request as it was built before streaming: every item in memory, joined, then truncated. */
async function builtInMemory(thread: ThreadInfo, tokenLimit: number) {
  const loaded = await loadMemoryItems(thread.rolloutPath);
  const parts: string[] = [];
  let droppedItems = 0;
  for (const item of loaded.items) {
    try {
      parts.push(JSON.stringify(redactDeep(item)));
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      droppedItems++;
    }
  }
  const whole = `[${parts.join(',')}]`;
  const truncation = truncateToTokens(whole, tokenLimit);
  const input = renderTemplate(await loadTemplate('stage_one_input'), [
    ['rollout_path', thread.rolloutPath],
    ['rollout_cwd', thread.cwd],
    ['rollout_contents', truncation.text],
  ]);
  return {
    input,
    wholeBytes: Buffer.byteLength(whole),
    truncated: truncation.truncated,
    items: parts.length,
    droppedItems,
    corruptLines: loaded.corruptLines,
  };
}

/** The serialized rollout inside a rendered input. */
function contentsOf(input: string): string {
  const start = input.indexOf('as one JSON array):\n\n') + 'as one JSON array):\n\n'.length;
  return input.slice(start, input.lastIndexOf('\n\nIMPORTANT:'));
}

const HEAD_SENTINEL = 'STREAM-HEAD-SENTINEL-51d2';
const TAIL_SENTINEL = 'STREAM-TAIL-SENTINEL-a07c';

/** Deterministic build-log text with hashes, a little CJK and emoji, and a base64 blob. */
function toolOutput(i: number, bytes: number): string {
  let x = i + 1;
  const next = () => (x = (x * 1103515245 + 12345) & 0x7fffffff);
  const lines: string[] = [];
  let size = 0;
  for (let n = 0; size < bytes / 2; n++) {
    const line = `[${String(n).padStart(5, '0')}] step ${i}.${n} compile src/模块_${n % 97}.ts ${n % 50 === 0 ? '✅ ' : ''}ok sha=${next().toString(16)}${next().toString(16)} ${next() % 1000} ms`;
    lines.push(line);
    size += Buffer.byteLength(line) + 1;
  }
  const blob = Buffer.from(Array.from({ length: Math.floor((bytes - size) * 0.74) }, () => next() & 0xff)).toString('base64');
  return `${lines.join('\n')}\nartifact.bin (base64):\n${blob}`;
}

/** A rollout of `outputs` tool calls with 64–128 KB outputs, sentinels first and last, and a secret at each end. */
async function writeBigRollout(outputs: number): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'stage-one-streaming-'));
  dirs.push(dir);
  const item = (payload: unknown) => JSON.stringify({ timestamp: '2026-03-01T10:00:00Z', type: 'response_item', payload });
  const lines = [
    JSON.stringify({
      timestamp: '2026-03-01T10:00:00Z',
      type: 'session_meta',
      payload: { id: '0199aaaa-0000-7000-8000-000000000002', cwd: '/home/me/project', source: 'cli' },
    }),
  ];
  lines.push(
    item({
      type: 'message',
      role: 'user',
      content: [
        {
          type: 'input_text',
          text: `${HEAD_SENTINEL}: the build fails; my key is sk-proj-AbC_dEf-0123456789abcdefghijKLMNOPqrst`,
        },
      ],
    }),
  );
  for (let i = 0; i < outputs; i++) {
    lines.push(
      item({
        type: 'function_call',
        name: 'shell',
        call_id: `call_${i}`,
        arguments: JSON.stringify({ command: ['bash', '-lc', `cat logs/build-${i}.log`] }),
      }),
    );
    lines.push(
      item({ type: 'function_call_output', call_id: `call_${i}`, output: toolOutput(i, 64 * 1024 + ((i * 7919) % (64 * 1024))) }),
    );
  }
  lines.push(
    item({
      type: 'message',
      role: 'assistant',
      content: [
        {
          type: 'output_text',
          text: `set GITHUB_TOKEN=ghp_0123456789abcdefghijklmnopqrstuvwxyzAB; ${TAIL_SENTINEL}: module_42 fails when the cache is cold.`,
        },
      ],
    }),
  );
  const path = join(dir, 'rollout-2026-03-01T10-00-00-0199aaaa-0000-7000-8000-000000000002.jsonl');
  await writeFile(path, `${lines.join('\n')}\n`);
  return path;
}

describe('the streamed phase-1 request', () => {
  it.each(SHARED)('is the one built in memory, at 2,000 and 20,000 tokens and at the real model limits, for %s', async (path) => {
    const thread = threadFor(path);
    const limits = [
      2_000,
      20_000,
      ...new Set(['gpt-5.3-codex-spark', 'gpt-5.3-codex', 'gpt-4.1', 'some-local-model'].map(stageOneTokenLimit)),
    ];
    for (const tokenLimit of limits) {
      const req = await buildStageOneRequest({ thread, model: 'gpt-5', tokenLimit });
      const expected = await builtInMemory(thread, tokenLimit);
      expect(req.input).toBe(expected.input);
      expect({
        truncated: req.truncated,
        items: req.items,
        droppedItems: req.droppedItems,
        corruptLines: req.corruptLines,
      }).toEqual({
        truncated: expected.truncated,
        items: expected.items,
        droppedItems: expected.droppedItems,
        corruptLines: expected.corruptLines,
      });
    }
  });

  it('builds the largest shared rollout at 2,000 tokens without holding its whole text', async () => {
    const thread = threadFor(LARGEST_SHARED);
    const req = await buildStageOneRequest({ thread, model: 'gpt-5', tokenLimit: 2_000 });
    const expected = await builtInMemory(thread, 2_000);
    expect(req.input).toBe(expected.input);
    expect(req.retainedBytes).toBeGreaterThan(0);
    expect(req.retainedBytes).toBeLessThan(expected.wholeBytes * 0.75);
  });

  it('cuts a 12 MB rollout to the limit from a window of under 2 MB, keeping its first and last items and no secret', async () => {
    const path = await writeBigRollout(120);
    const fileBytes = (await stat(path)).size;
    expect(fileBytes).toBeGreaterThan(11_000_000);
    const req = await buildStageOneRequest({ thread: threadFor(path), model: 'gpt-5', tokenLimit: 8_000 });
    expect(req.truncated).toBe(true);
    expect(req.items).toBe(242);
    const contents = contentsOf(req.input);
    expect(realCount(contents)).toBeLessThanOrEqual(8_000);
    expect(realCount(contents)).toBeGreaterThan(7_800);
    expect(contents).toMatch(/…\d+ tokens truncated…/);
    expect(contents.startsWith(`[{"type":"message","role":"user","content":[{"type":"input_text","text":"${HEAD_SENTINEL}`)).toBe(
      true,
    );
    expect(contents).toContain(TAIL_SENTINEL);
    expect(contents.endsWith('when the cache is cold."}]}]')).toBe(true);
    expect(contents).not.toMatch(BROKEN_SURROGATE);
    for (const secret of ['sk-proj-AbC_dEf-0123456789abcdefghijKLMNOPqrst', 'ghp_0123456789abcdefghijklmnopqrstuvwxyzAB'])
      expect(req.input).not.toContain(secret);
    // The serialized text held at once: a head window and a tail ring sized by the limit.
    expect(req.retainedBytes).toBeLessThan(2_000_000);
    expect(req.retainedBytes).toBeLessThan(fileBytes / 5);
    expect(req.input).toBe((await builtInMemory(threadFor(path), 8_000)).input);
  });

  it('drops an item nested too deeply to serialize and counts it, keeping the others', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stage-one-streaming-'));
    dirs.push(dir);
    const path = join(dir, 'rollout-deep.jsonl');
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
    const user = (text: string) =>
      JSON.stringify({
        type: 'response_item',
        payload: { type: 'message', role: 'user', content: [{ type: 'input_text', text }] },
      });
    await writeFile(
      path,
      [
        user('before'),
        `{"type":"response_item","payload":{"type":"function_call_output","call_id":"c","output":${deep}}}`,
        user('after'),
      ].join('\n'),
    );
    const req = await buildStageOneRequest({ thread: threadFor(path), model: 'gpt-5' });
    expect(req).toMatchObject({ items: 2, droppedItems: 1, truncated: false });
    expect(contentsOf(req.input)).toMatch(/^\[\{.*"before".*\},\{.*"after".*\}\]$/);
  });
});
