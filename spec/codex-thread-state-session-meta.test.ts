// A rollout's session_meta lines are found as bytes and only they are decoded: the first tells how the thread was
// created, the last later one with a memory_mode the user's latest choice, wherever the lines fall in the file.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { readSessionMetaModes } from '../services/codex-state/session-meta-modes.ts';

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function file(text: string): Promise<{ path: string; size: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'session-meta-'));
  dirs.push(dir);
  const path = join(dir, 'rollout.jsonl');
  await writeFile(path, text);
  return { path, size: Buffer.byteLength(text) };
}

const meta = (mode?: string, pad = 0) =>
  JSON.stringify({
    timestamp: '2026-02-02T10:00:00.000Z',
    ordinal: 0,
    type: 'session_meta',
    payload: { id: 't', base_instructions: { text: 'x'.repeat(pad) }, ...(mode ? { memory_mode: mode } : {}) },
  });
const item = (text: string) =>
  JSON.stringify({ timestamp: '2026-02-02T10:00:01.000Z', type: 'response_item', payload: { type: 'message', text } });

it('reads the creation mode and the last later choice across lines longer than a read', async () => {
  const big = 'y'.repeat(3 * 1024 * 1024);
  const text = [
    meta('disabled', 2 * 1024 * 1024),
    item(big),
    meta('enabled'),
    item('z'),
    meta(),
    meta('disabled', 1536 * 1024),
  ].join('\n');
  const { path, size } = await file(`${text}\n`);
  expect(await readSessionMetaModes(path, size)).toEqual({ atCreation: 'disabled', lastSet: 'disabled' });
});

it('ignores the words "type":"session_meta" inside another line, and reads no further than the size given', async () => {
  const quoted = JSON.stringify({
    timestamp: 't',
    type: 'event_msg',
    payload: { nested: { type: 'session_meta', memory_mode: 'disabled' } },
  });
  const first = `${meta()}\n${quoted}\n${item('"type":"session_meta"')}\n`;
  const { path, size } = await file(`${first}${meta('disabled')}\n`);
  expect(await readSessionMetaModes(path, size)).toEqual({ atCreation: null, lastSet: 'disabled' });
  expect(await readSessionMetaModes(path, Buffer.byteLength(first))).toEqual({ atCreation: null, lastSet: null });
});

it('takes a byte-order mark, CRLF breaks, a torn line and a last line with no break', async () => {
  const { path, size } = await file(`\uFEFF${meta('disabled')}\r\n${meta('enabled').slice(0, 90)}\r\n${meta('disabled')}`);
  expect(await readSessionMetaModes(path, size)).toEqual({ atCreation: 'disabled', lastSet: 'disabled' });
});
