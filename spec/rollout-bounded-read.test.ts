// Reading a rollout costs memory bounded by a cap, whatever its lines: a line over the cap is
// skipped unread and counted, and the rest of the rollout is still sent. A rollout appended to
// after discovery is read only as far as discovery saw it.
import { createWriteStream } from 'node:fs';
import { appendFile, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { buildStageOneRequest } from '../services/extraction/stage-one-prompt.ts';
import { MAX_LINE_BYTES } from '../services/rollouts/rollout-reader.ts';
import { thread } from './support/store-fixtures.ts';
import type { ThreadInfo } from '../services/types.ts';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function rolloutPath(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rollout-bounded-'));
  dirs.push(dir);
  return join(dir, 'rollout-2026-03-01T10-00-00-0199aaaa-0000-7000-8000-00000000000e.jsonl');
}

const user = (text: string) =>
  `${JSON.stringify({ timestamp: '2026-03-01T10:00:01Z', type: 'response_item', payload: { type: 'message', role: 'user', content: [{ type: 'input_text', text }] } })}\n`;

async function threadOf(path: string): Promise<ThreadInfo> {
  const { size } = await stat(path);
  return thread('0199aaaa-0000-7000-8000-00000000000e', 1, { rolloutPath: path, cwd: '/w', createdAt: null, sizeBytes: size });
}

describe('reading a rollout', () => {
  it('skips and counts a line over the cap, and still sends the lines around it', async () => {
    const path = await rolloutPath();
    const out = createWriteStream(path);
    out.write(user('BEFORE the huge output'));
    out.write(
      '{"timestamp":"2026-03-01T10:00:02Z","type":"response_item","payload":{"type":"function_call_output","call_id":"c","output":"',
    );
    const block = 'x'.repeat(1024 * 1024);
    for (let mb = 0; mb <= MAX_LINE_BYTES / block.length; mb++) out.write(block);
    out.write('"}}\n');
    out.end(user('AFTER the huge output'));
    await once(out, 'close');
    expect((await stat(path)).size).toBeGreaterThan(MAX_LINE_BYTES);

    const request = await buildStageOneRequest({ thread: await threadOf(path), model: 'gpt-5' });
    expect(request).toMatchObject({ items: 2, oversizedLines: 1, corruptLines: 0, truncated: false });
    expect(request.droppedItems).toBe(1);
    expect(request.input).toContain('BEFORE the huge output');
    expect(request.input).toContain('AFTER the huge output');
    expect(request.input).not.toContain('xxxxxxxx');
  });

  it('stops at the size seen at discovery when the session is appended to afterwards', async () => {
    const path = await rolloutPath();
    await writeFile(path, user('seen at discovery'));
    const thread = await threadOf(path);
    await appendFile(path, user('APPENDED LATER').repeat(1_000));
    const request = await buildStageOneRequest({ thread, model: 'gpt-5' });
    expect(request.items).toBe(1);
    expect(request.input).toContain('seen at discovery');
    expect(request.input).not.toContain('APPENDED LATER');
  });
});
