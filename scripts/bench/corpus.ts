// Rollout corpora for the bench: the shared corpus (../shared relative to the repo root), a source
// folder of the fixture rollouts phase 1 will take (interactive, with a user message), a generated
// 50 MB rollout, and an in-place "the user came back to this session" change.
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
export const SHARED_DIR = resolve(REPO_ROOT, '..', 'shared');
export const SHARED_FOLDERS = ['real-rollouts', 'codex-0.169-rollouts'] as const;

export interface SharedRollout {
  folder: string;
  name: string;
  thread: ThreadInfo;
}

/** Every rollout of both shared folders, as the ThreadInfo phase 1 would build the request from. */
export async function sharedRollouts(): Promise<SharedRollout[]> {
  const out: SharedRollout[] = [];
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

/**
 * A folder holding only the fixture rollouts phase 1 claims (interactive source, the user said
 * something), so that `installFixtureRollouts(home, { count: N, sourceDir })` gives N claimable rollouts.
 */
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
  let n = 0;
  while (size < bytes / 2) {
    const hash = pseudoRandom(i * 100_003 + n, 20).toString('hex');
    const line = `[${String(n).padStart(5, '0')}] step ${i}.${n} compile src/module_${n % 97}.ts ok sha1=${hash} ${(n * 7) % 1000} ms`;
    lines.push(line);
    size += line.length + 1;
    n++;
  }
  const blob = pseudoRandom(i + 1, Math.floor((bytes - size) * 0.74)).toString('base64');
  return `${lines.join('\n')}\nartifact.bin (base64):\n${blob}`;
}

/**
 * Writes a valid interactive rollout of about `targetBytes` made of many large tool outputs, with
 * sentinels in the first user message and the last assistant message (both must survive truncation).
 */
export async function writeBigRollout(dir: string, targetBytes: number, mtime: Date): Promise<{ path: string; threadId: string; bytes: number }> {
  const threadId = randomUUID();
  const stamp = mtime.toISOString().slice(0, 19).replaceAll(':', '-');
  const path = join(dir, `rollout-${stamp}-${threadId}.jsonl`);
  const out = createWriteStream(path);
  let bytes = 0;
  const write = async (value: unknown) => {
    const line = `${JSON.stringify(value)}\n`;
    bytes += Buffer.byteLength(line);
    if (!out.write(line)) await once(out, 'drain');
  };
  const ts = mtime.toISOString();
  const cwd = '/home/user/big-build';
  await write({ timestamp: ts, type: 'session_meta', payload: { id: threadId, timestamp: ts, cwd, originator: 'codex_cli_rs', cli_version: '0.169.0', source: 'cli' } });
  await write({
    timestamp: ts,
    type: 'response_item',
    payload: { type: 'message', role: 'user', content: [{ type: 'input_text', text: `${HEAD_SENTINEL}: the nightly build is flaky, find out which module fails and why.` }] },
  });
  const perOutput = 128 * 1024;
  for (let i = 0; bytes < targetBytes - perOutput; i++) {
    const callId = `call_big_${i}`;
    await write({ timestamp: ts, type: 'response_item', payload: { type: 'function_call', name: 'shell', arguments: JSON.stringify({ command: ['bash', '-lc', `cat logs/build-${i}.log`] }), call_id: callId } });
    await write({ timestamp: ts, type: 'response_item', payload: { type: 'function_call_output', call_id: callId, output: toolOutput(i, perOutput) } });
  }
  await write({
    timestamp: ts,
    type: 'response_item',
    payload: { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: `${TAIL_SENTINEL}: module_42 fails when the cache is cold; pinned the cache key.` }] },
  });
  out.end();
  await once(out, 'close');
  await utimes(path, mtime, mtime);
  return { path, threadId, bytes };
}

/** The user came back to a session: two more lines, and a newer mtime that is still idle. */
export async function touchRollout(path: string, mtime: Date): Promise<void> {
  const ts = mtime.toISOString();
  const lines = [
    { timestamp: ts, type: 'response_item', payload: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'One more thing: also add a regression test for the fix.' }] } },
    { timestamp: ts, type: 'response_item', payload: { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Added spec/regression.test.ts; it fails before the fix and passes after.' }] } },
  ];
  await appendFile(path, lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
  await utimes(path, mtime, mtime);
}
