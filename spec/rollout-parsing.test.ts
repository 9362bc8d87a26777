// Every real rollout we have — old pre-envelope CLI files, envelope files of several Codex
// versions, and Codex 0.169 files — yields the thread facts phase 1 depends on.
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadMemoryItems, memoryItemOf } from '../services/rollouts/memory-items.ts';
import { newLineCounts, readRolloutLines, readRolloutMeta } from '../services/rollouts/rollout-reader.ts';
import { REAL_ROLLOUTS, V169_ROLLOUTS } from './support/shared.ts';

const REAL = REAL_ROLLOUTS;
const V169 = V169_ROLLOUTS;

// Values read by hand from each file's first lines (session_meta / old header, user messages).
const FIXTURES = [
  [
    `${REAL}/AcidicSoil__codex-session-view__rollout-2025-11-17T15-30-28-019a93b9-f380-7600-98ff-940e6b99603c.jsonl`,
    '019a93b9-f380-7600-98ff-940e6b99603c',
    '/home/user/projects/temp/chatbot-ui',
    'cli',
  ],
  // Old pre-envelope format: no source (→ cli), cwd only inside <environment_context>.
  [
    `${REAL}/AcidicSoil__codex-session-viewer__example.jsonl`,
    'cf4def41-21e0-4b91-adb4-5397c1492084',
    '/home/user/projects/codex-session-viewer',
    'cli',
  ],
  [
    `${REAL}/codemie-ai__codemie-code__rollout-2026-01-02T18-39-45-019b7f94-51b4-7593-922e-ba12b5b73b52.jsonl`,
    '019b7f94-51b4-7593-922e-ba12b5b73b52',
    '/Users/Nikita_Levyankov/repos/EPMCDME/codemie-ai/codemie-code',
    'exec',
  ],
  [
    `${REAL}/codemie-ai__codemie-code__rollout-2026-05-11T11-26-55-019e1625-789d-76c0-80ab-3724b5ddb799.jsonl`,
    '019e1625-789d-76c0-80ab-3724b5ddb799',
    '/Users/Sample_User/repos/codemie-ai/codemie-code',
    'cli',
  ],
  // No response-item user message at all: the user_message events say the user spoke.
  [
    `${REAL}/codemie-ai__codemie-code__rollout-2026-05-11T13-28-45-019e1695-0522-7c83-8b39-0dd379793f80.jsonl`,
    '019e1695-0522-7c83-8b39-0dd379793f80',
    '/Users/Sample_User/naya',
    'vscode',
  ],
  [
    `${REAL}/kvsankar__agent-history__session-01.jsonl`,
    '019e9625-802f-7e91-840a-cfe88d14117a',
    '/tmp/agent-history-real-agent/codex/workspace',
    'exec',
  ],
  [
    `${REAL}/madshn__localpush__rollout-2026-02-23T12-54-34-019c8a59-e9dd-71f0-9ae3-4079fe9726a9.jsonl`,
    '019c8a59-e9dd-71f0-9ae3-4079fe9726a9',
    '/redacted/path/59b923df4d',
    'vscode',
  ],
  [
    `${REAL}/madshn__localpush__rollout-2026-02-23T13-19-38-019c8a70-dda7-7f33-98ea-f30553347322.jsonl`,
    '019c8a70-dda7-7f33-98ea-f30553347322',
    '/redacted/path/da0ba47443',
    'vscode',
  ],
  [`${V169}/exec-source-session.jsonl`, '01a20de4-90c2-7ea0-9b2b-c7efc03a069a', '/tmp/codex-anchor.r6gsL3/v1/work', 'exec'],
  [
    `${V169}/function-call-tools-gpt-5.5.jsonl`,
    '01a20de4-8f6e-7540-8b1e-bc0cd3501fc8',
    '/tmp/codex-anchor.r6gsL3/v1/work',
    'vscode',
  ],
  [
    `${V169}/single-turn-with-tool-call.jsonl`,
    '01a20de4-84d9-7002-a6b8-430537eb75c6',
    '/tmp/codex-anchor.r6gsL3/v1/work',
    'vscode',
  ],
  [
    `${V169}/two-turns-with-tool-calls.jsonl`,
    '01a20de4-884e-78b3-9214-06e8a8c089a0',
    '/tmp/codex-anchor.r6gsL3/v1/work',
    'vscode',
  ],
] as const;

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rollout-parsing-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('every fixture rollout parses', () => {
  it.each(FIXTURES)('%s gives its thread id, cwd, source and a user message', async (path, threadId, cwd, source) => {
    const meta = await readRolloutMeta(path);
    expect(meta).not.toBeNull();
    expect(meta!.threadId).toBe(threadId);
    expect(meta!.cwd).toBe(cwd);
    expect(meta!.source).toBe(source);
    expect(meta!.hasUserMessage).toBe(true);
    expect(meta!.createdAt).toBeGreaterThan(1_700_000_000);

    const counts = newLineCounts();
    let parsed = 0;
    for await (const _line of readRolloutLines(path, counts)) parsed++;
    expect(counts.corruptLines).toBe(0);
    expect(parsed).toBe(counts.lines);
    const loaded = await loadMemoryItems(path);
    expect(loaded.items.length).toBeGreaterThan(0);
  });

  it('the old-format example takes its id and start time from the bare header line', async () => {
    const meta = await readRolloutMeta(`${REAL}/AcidicSoil__codex-session-viewer__example.jsonl`);
    expect(meta!.createdAt).toBe(Math.floor(Date.parse('2025-09-10T18:58:38.331Z') / 1000));
  });
});

describe('damaged rollouts', () => {
  it('a corrupt line in the middle is counted and skipped, and the rest still loads', async () => {
    const source = `${V169}/two-turns-with-tool-calls.jsonl`;
    const original = await loadMemoryItems(source);
    const lines = (await readFile(source, 'utf8')).split('\n');
    const middle = Math.floor(lines.length / 2);
    lines.splice(middle, 0, '{"type":"response_item","payload":{"type":"mess', '', '   ', '[1,2,3]', '42');
    const path = join(await tempDir(), 'rollout-2026-01-01T00-00-00-01a20de4-884e-78b3-9214-06e8a8c089a0.jsonl');
    await writeFile(path, lines.join('\n'));

    const damaged = await loadMemoryItems(path);
    expect(damaged.corruptLines).toBe(3);
    expect(damaged.items).toEqual(original.items);
    expect(damaged.lines).toBe(original.lines + 3);
  });

  it('a file with no parsable line has no meta and cannot be loaded', async () => {
    const dir = await tempDir();
    const empty = join(dir, 'rollout-empty.jsonl');
    await writeFile(empty, '  \n\n \t\n');
    const garbage = join(dir, 'rollout-garbage.jsonl');
    await writeFile(garbage, 'not json\n{"unterminated":\n');
    expect(await readRolloutMeta(empty)).toBeNull();
    expect(await readRolloutMeta(garbage)).toBeNull();
    await expect(loadMemoryItems(empty)).rejects.toThrow(`empty session file: ${empty}`);
    await expect(loadMemoryItems(garbage)).rejects.toMatchObject({ name: 'BadInputError' });
  });

  it('without a session_meta line, the thread id comes from the file name and the source defaults to cli', async () => {
    const path = join(await tempDir(), 'rollout-2026-02-02T10-00-00-0199aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee.jsonl');
    await writeFile(
      path,
      `${JSON.stringify({
        type: 'response_item',
        payload: {
          type: 'message',
          role: 'user',
          content: [{ type: 'input_text', text: '<environment_context>\n  <cwd>/srv/app</cwd>\n</environment_context>' }],
        },
      })}\n`,
    );
    let meta = await readRolloutMeta(path);
    expect(meta).toEqual({
      threadId: '0199aaaa-bbbb-7ccc-8ddd-eeeeeeeeeeee',
      cwd: '/srv/app',
      source: 'cli',
      createdAt: null,
      hasUserMessage: false,
      gitBranch: null,
    });
    await appendFile(
      path,
      `${JSON.stringify({
        type: 'response_item',
        payload: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'fix the build' }] },
      })}\n`,
    );
    meta = await readRolloutMeta(path);
    expect(meta!.hasUserMessage).toBe(true);
  });

  it('a sub-agent source object reads as "subagent"', async () => {
    const path = join(await tempDir(), 'rollout-sub.jsonl');
    await writeFile(
      path,
      `${JSON.stringify({
        timestamp: '2026-01-01T00:00:00Z',
        type: 'session_meta',
        payload: { id: 't-1', cwd: '/w', timestamp: '2026-01-01T00:00:00Z', source: { subagent: 'review' } },
      })}\n`,
    );
    expect((await readRolloutMeta(path))!.source).toBe('subagent');
  });
});

describe('line splitting', () => {
  // Lines are cut in raw bytes read in chunks (64 KB first, then up to 1 MB), so lines and
  // multi-byte characters that straddle a chunk boundary must come out whole.
  it('gives the same lines as splitting the whole text, across chunk boundaries and line-break styles', async () => {
    const line = (i: number, pad: number) => JSON.stringify({ i, text: `é日本👍🏽 ${'x'.repeat(pad)}` });
    const lines = [line(0, 10), line(1, 65_530), line(2, 3), line(3, 2_500_000), line(4, 1), line(5, 131_000), line(6, 7)];
    const breaks = ['\n', '\r\n', '\n', '\r', '\n\n  \n', '\r\n'];
    const text = `\uFEFF${lines.map((l, i) => l + (breaks[i] ?? '')).join('')}`; // BOM first; no break after the last line
    const path = join(await tempDir(), 'rollout-chunks.jsonl');
    await writeFile(path, text);
    const counts = newLineCounts();
    const read: unknown[] = [];
    for await (const value of readRolloutLines(path, counts)) read.push(value);
    expect(read).toEqual(lines.map((l) => JSON.parse(l)));
    expect(counts).toEqual({ lines: 7, corruptLines: 0, oversizedLines: 0 });
  });

  it('gives each of several interleaved readers its own lines', async () => {
    // Lines of 3 KB over 3 MB: every reader goes through every chunk size, a turn of the event
    // loop after each MB, while the others read theirs.
    const dir = await tempDir();
    const files = await Promise.all(
      ['a', 'b', 'c'].map(async (name) => {
        const path = join(dir, `interleaved-${name}.jsonl`);
        await writeFile(
          path,
          Array.from({ length: 1_000 }, (_, i) => JSON.stringify({ name, i, pad: name.repeat(3_000) })).join('\n'),
        );
        return path;
      }),
    );
    const readers = files.map((path) => readRolloutLines(path));
    const seen: Array<Array<{ name: string; i: number; pad: string }>> = files.map(() => []);
    for (let _step = 0, done = 0; done < readers.length; _step++) {
      done = 0;
      for (const [k, reader] of readers.entries()) {
        const next = await reader.next();
        if (next.done) done++;
        else seen[k]!.push(next.value as { name: string; i: number; pad: string });
      }
    }
    for (const [k, name] of ['a', 'b', 'c'].entries()) {
      expect(seen[k]!.map((v) => v.i)).toEqual(Array.from({ length: 1_000 }, (_, i) => i));
      expect(seen[k]!.every((v) => v.name === name && v.pad === name.repeat(3_000))).toBe(true);
    }
  });

  it('stops reading and closes the file when the reader breaks early', async () => {
    const path = join(await tempDir(), 'rollout-early.jsonl');
    await writeFile(path, Array.from({ length: 50_000 }, (_, i) => JSON.stringify({ i, pad: 'y'.repeat(40) })).join('\n'));
    const openFiles = () => readdirSync('/proc/self/fd').length;
    const before = openFiles();
    const counts = newLineCounts();
    for await (const value of readRolloutLines(path, counts)) if ((value as { i: number }).i === 3) break;
    // The first 64 KB chunk holds ~1,100 of these lines; the 3.4 MB file is not read through.
    expect(counts.lines).toBeLessThan(2_000);
    expect(openFiles()).toBe(before);
  });
});

describe('responseItemsOnly', () => {
  // Memory items are read with the envelope lines that cannot hold one skipped unparsed; the
  // items must be exactly those a full parse gives, for every shared rollout (both envelope
  // shapes: with and without an ordinal, and the old bare-item format).
  it.each(FIXTURES.map(([path]) => path))('gives the same items as parsing every line: %s', async (path) => {
    const all = newLineCounts();
    const expected: unknown[] = [];
    for await (const line of readRolloutLines(path, all)) {
      const item = memoryItemOf(line);
      if (item !== null) expected.push(item);
    }
    const loaded = await loadMemoryItems(path);
    expect(loaded.items).toEqual(expected);
    expect(loaded.lines).toBe(all.lines);
  });

  it('skips a torn event line unparsed, but still reads a torn response item as corrupt', async () => {
    const path = join(await tempDir(), 'rollout-torn.jsonl');
    const item = {
      timestamp: '2026-01-01T00:00:00Z',
      type: 'response_item',
      payload: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'hi' }] },
    };
    await writeFile(
      path,
      [
        JSON.stringify(item),
        '{"timestamp":"2026-01-01T00:00:01Z","type":"event_msg","payload":{"ty',
        '{"timestamp":"2026-01-01T00:00:02Z","type":"response_item","payload":{"ty',
      ].join('\n'),
    );
    const loaded = await loadMemoryItems(path);
    expect(loaded.items).toEqual([item.payload]);
    expect(loaded).toMatchObject({ lines: 3, corruptLines: 1 });
  });
});
