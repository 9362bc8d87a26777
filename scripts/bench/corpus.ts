// Rollout corpora for the bench: the shared corpus (../shared), the fixture rollouts phase 1 claims,
// a generated big rollout, and an in-place "the user came back to this session" change.
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { appendFile, copyFile, mkdir, readdir, stat, utimes } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { INTERACTIVE_SOURCES } from '../../services/constants.ts';
import { readRolloutMeta } from '../../services/rollouts/rollout-reader.ts';
import type { ThreadInfo } from '../../services/types.ts';
import { FIXTURE_DIR } from '../fixture-corpus.ts';
import { threadInfoOf } from '../../services/rollouts/discovery.ts';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
const SHARED_DIR = resolve(REPO_ROOT, '..', 'shared');
const SHARED_FOLDERS = ['real-rollouts', 'codex-0.169-rollouts'] as const;

/** Every rollout of both shared folders, as the ThreadInfo phase 1 would build the request from. */
export async function sharedRollouts() {
  const out: { folder: string; name: string; thread: ThreadInfo }[] = [];
  for (const folder of SHARED_FOLDERS) {
    const dir = join(SHARED_DIR, folder);
    for (const name of (await readdir(dir)).filter((n) => n.endsWith('.jsonl')).sort()) {
      out.push({ folder, name, thread: await threadOf(join(dir, name)) });
    }
  }
  return out;
}

export async function threadOf(path: string): Promise<ThreadInfo> {
  const [meta, st] = await Promise.all([readRolloutMeta(path), stat(path)]);
  if (meta === null) throw new Error(`unreadable rollout ${path}`);
  return threadInfoOf(path, meta, st);
}

/** Copies only the fixture rollouts phase 1 claims (interactive, with a user message) into `into`. */
export async function eligibleFixtureDir(into: string): Promise<string[]> {
  await mkdir(into, { recursive: true });
  const names: string[] = [];
  for (const name of (await readdir(FIXTURE_DIR)).filter((n) => n.endsWith('.jsonl')).sort()) {
    const meta = await readRolloutMeta(join(FIXTURE_DIR, name));
    if (meta === null || !meta.hasUserMessage || !INTERACTIVE_SOURCES.includes(meta.source)) continue;
    await copyFile(join(FIXTURE_DIR, name), join(into, name));
    names.push(name);
  }
  return names;
}

export const HEAD_SENTINEL = 'BENCH-HEAD-SENTINEL-7f3a';
export const TAIL_SENTINEL = 'BENCH-TAIL-SENTINEL-9c1e';

/** Deterministic pseudo-random bytes (xorshift), so every bench run writes the same big rollout. */
function pseudoRandom(seed: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** One large tool output: build-log lines with hashes, and a base64 artifact dump (dense text). */
function toolOutput(i: number, bytes: number): string {
  const lines: string[] = [];
  let size = 0;
  for (let n = 0; size < bytes / 2; n++) {
    const hash = pseudoRandom(i * 100_003 + n, 20).toString('hex');
    const step = `[${String(n).padStart(5, '0')}] step ${i}.${n}`;
    const line = `${step} compile src/module_${n % 97}.ts ok sha1=${hash} ${(n * 7) % 1000} ms`;
    lines.push(line);
    size += line.length + 1;
  }
  const blob = pseudoRandom(i + 1, Math.floor((bytes - size) * 0.74)).toString('base64');
  return `${lines.join('\n')}\nartifact.bin (base64):\n${blob}`;
}

const message = (ts: string, role: 'user' | 'assistant', text: string) => ({
  timestamp: ts,
  type: 'response_item',
  payload: { type: 'message', role, content: [{ type: role === 'user' ? 'input_text' : 'output_text', text }] },
});
const item = (ts: string, payload: object) => ({ timestamp: ts, type: 'response_item', payload });

/** A valid interactive rollout of about `targetBytes` of large tool outputs; both sentinels must survive truncation. */
export async function writeBigRollout(dir: string, targetBytes: number, mtime: Date) {
  const threadId = randomUUID();
  const path = join(dir, `rollout-${mtime.toISOString().slice(0, 19).replaceAll(':', '-')}-${threadId}.jsonl`);
  const out = createWriteStream(path);
  let bytes = 0;
  const write = async (value: unknown) => {
    const line = `${JSON.stringify(value)}\n`;
    bytes += Buffer.byteLength(line);
    if (!out.write(line)) await once(out, 'drain');
  };
  const ts = mtime.toISOString();
  const meta = {
    id: threadId,
    timestamp: ts,
    cwd: '/home/user/big-build',
    originator: 'codex_cli_rs',
    cli_version: '0.169.0',
    source: 'cli',
  };
  await write({ timestamp: ts, type: 'session_meta', payload: meta });
  await write(message(ts, 'user', `${HEAD_SENTINEL}: the nightly build is flaky, find out which module fails and why.`));
  const perOutput = 128 * 1024;
  for (let i = 0; bytes < targetBytes - perOutput; i++) {
    const call_id = `call_big_${i}`;
    const args = JSON.stringify({ command: ['bash', '-lc', `cat logs/build-${i}.log`] });
    await write(item(ts, { type: 'function_call', name: 'shell', arguments: args, call_id }));
    await write(item(ts, { type: 'function_call_output', call_id, output: toolOutput(i, perOutput) }));
  }
  await write(message(ts, 'assistant', `${TAIL_SENTINEL}: module_42 fails when the cache is cold; pinned the cache key.`));
  out.end();
  await once(out, 'close');
  await utimes(path, mtime, mtime);
  return { path, threadId, bytes };
}

/** The user came back to a session: two more lines, and a newer mtime that is still idle. */
export async function touchRollout(path: string, mtime: Date): Promise<void> {
  const ts = mtime.toISOString();
  const lines = [
    message(ts, 'user', 'One more thing: also add a regression test for the fix.'),
    message(ts, 'assistant', 'Added spec/regression.test.ts; it fails before the fix and passes after.'),
  ];
  await appendFile(path, lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
  await utimes(path, mtime, mtime);
}
