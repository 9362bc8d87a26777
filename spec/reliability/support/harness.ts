// Shared helpers for the reliability suite: throwaway Codex homes with synthetic rollouts, a seeded
// PRNG, the CLI and a worker as real child processes, and readers for what the pipeline left on disk.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STAGE1_SCHEMA_NAME } from '../../../services/extraction/stage-one-schema.ts';

export const ROOT = join(import.meta.dirname, '..', '..', '..');
export const BIN = join(ROOT, 'scripts', 'memories.js');
export const WORKER = join(import.meta.dirname, 'worker.ts');
export const HOUR = 3_600_000;

/** mulberry32: a tiny deterministic PRNG, so every "random" kill point is reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A deterministic UUID-shaped id from a PRNG (thread ids must look like Codex's). */
export function seededUuid(next: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(next() * 16).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export async function tempHome(prefix = 'memories-rel-'): Promise<{ home: string; cleanup(): Promise<void> }> {
  const home = await mkdtemp(join(tmpdir(), prefix));
  return { home, cleanup: () => rm(home, { recursive: true, force: true }) };
}

export interface RolloutSpec {
  threadId?: string;
  /** What the user typed (one message per entry). */
  user?: string[];
  assistant?: string[];
  cwd?: string;
  source?: string;
  /** Raw text replacing the whole file (for hostile inputs). */
  raw?: string | Buffer;
  /** Extra raw JSONL lines appended after the conversation. */
  extraLines?: string[];
  idleHours?: number;
  /** Name override (must still match rollout-*.jsonl to be discovered). */
  fileName?: string;
}

/** Writes one rollout into $CODEX_HOME/sessions/YYYY/MM/DD with an idle mtime; returns its path. */
export async function writeRollout(
  home: string,
  spec: RolloutSpec,
  now = Date.now(),
): Promise<{ path: string; threadId: string }> {
  const threadId = spec.threadId ?? randomUUID();
  const mtime = new Date(now - (spec.idleHours ?? 7) * HOUR);
  const [y, m, d] = mtime.toISOString().slice(0, 10).split('-');
  const dir = join(home, 'sessions', y!, m!, d!);
  await mkdir(dir, { recursive: true });
  const path = join(dir, spec.fileName ?? `rollout-${mtime.toISOString().slice(0, 19).replaceAll(':', '-')}-${threadId}.jsonl`);
  let body: string | Buffer;
  if (spec.raw !== undefined) body = spec.raw;
  else {
    const ts = mtime.toISOString();
    const lines = [
      JSON.stringify({
        timestamp: ts,
        type: 'session_meta',
        payload: {
          id: threadId,
          timestamp: ts,
          cwd: spec.cwd ?? '/work/project',
          originator: 'codex_cli_rs',
          cli_version: '0.58.0',
          source: spec.source ?? 'cli',
        },
      }),
    ];
    for (const [i, text] of (spec.user ?? ['please fix the flaky build']).entries()) {
      lines.push(
        JSON.stringify({
          timestamp: ts,
          type: 'response_item',
          payload: { type: 'message', role: 'user', content: [{ type: 'input_text', text }] },
        }),
      );
      const answer = spec.assistant?.[i] ?? 'Done: I changed the retry loop.';
      lines.push(
        JSON.stringify({
          timestamp: ts,
          type: 'response_item',
          payload: { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: answer }] },
        }),
      );
    }
    lines.push(...(spec.extraLines ?? []));
    body = `${lines.join('\n')}\n`;
  }
  await writeFile(path, body);
  await utimes(path, mtime, mtime);
  return { path, threadId };
}

/** `count` ordinary rollouts with seeded thread ids; returns the ids. */
export async function writeCorpus(home: string, count: number, seed: number, now = Date.now()): Promise<string[]> {
  const next = rng(seed);
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const threadId = seededUuid(next);
    await writeRollout(home, { threadId, user: [`task ${i}: make the parser handle case ${i} in module m${i % 7}`] }, now);
    ids.push(threadId);
  }
  return ids;
}

export function isStage1(body: any): boolean {
  return body?.text?.format?.name === STAGE1_SCHEMA_NAME || body?.response_format?.json_schema?.name === STAGE1_SCHEMA_NAME;
}

export function isAgent(body: any): boolean {
  return Array.isArray(body?.tools) && body.tools.length > 0;
}

/** The thread id of a stage-1 request, read from the rollout path the prompt names. */
export function threadOfStage1(body: any): string | null {
  const m = /rollout-[^"\\\s]*?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.jsonl/.exec(JSON.stringify(body));
  return m ? m[1]! : null;
}

/** The first turn of an agent conversation has exactly one input item/message from the user. */
export function isFirstAgentTurn(body: any): boolean {
  if (Array.isArray(body.input)) return body.input.length === 1;
  if (Array.isArray(body.messages)) return body.messages.filter((m: any) => m.role !== 'system').length === 1;
  return false;
}

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Spawned {
  child: ChildProcess;
  done: Promise<ChildResult>;
  kill9(): Promise<ChildResult>;
}

function track(child: ChildProcess): Spawned {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<ChildResult>((resolve) => {
    child.once('exit', (code, signal) => {
      // Let the pipes drain before reporting.
      setImmediate(() => resolve({ code, signal, stdout, stderr }));
    });
  });
  return {
    child,
    done,
    async kill9() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      return done;
    },
  };
}

const CLEAN_ENV = { OPENAI_API_KEY: '', OPENAI_BASE_URL: '', NODE_OPTIONS: '' };

/** The `memories` bin as a user runs it. */
export function spawnMemories(args: string[], env: NodeJS.ProcessEnv = {}): Spawned {
  return track(
    spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...CLEAN_ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }),
  );
}

export async function runMemories(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 120_000): Promise<ChildResult> {
  const spawned = spawnMemories(args, env);
  const timer = setTimeout(() => void spawned.kill9(), timeoutMs);
  try {
    return await spawned.done;
  } finally {
    clearTimeout(timer);
  }
}

export interface WorkerArgs {
  home: string;
  baseUrl: string;
  /** Added to the wall clock, so a later "run" sees earlier leases expired. */
  offsetMs: number;
  maxRollouts: number;
  concurrency: number;
  phase?: '1' | '2' | 'all';
}

/** The pipeline in its own process, like `memories run`, but with a shifted wall clock. */
export function spawnWorker(args: WorkerArgs): Spawned {
  return track(
    spawn(process.execPath, ['--import', 'tsx', WORKER, JSON.stringify(args)], {
      env: { ...process.env, ...CLEAN_ENV },
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: ROOT,
    }),
  );
}

/**
 * What a SIGKILLed process leaves: proper-lockfile lock directories and atomic-write temp files.
 * Both are only taken over / swept once they are old (10 s stale window; 60 s for temp files), so
 * they are aged here as if that time had passed (spec/store-crash.test.ts proves the real wait;
 * here it would only cost wall time).
 */
export async function ageLeftovers(home: string): Promise<void> {
  const old = new Date(Date.now() - 120_000);
  for (const e of await walk(home)) {
    if (/\.lock$|\.tmp$/.test(e.path) && !e.path.includes(`${join(home, 'sessions')}/`)) {
      await utimes(e.path, old, old).catch(() => undefined);
    }
  }
}

export interface Entry {
  path: string;
  mode: number;
  kind: 'file' | 'dir' | 'other';
}

/** Every entry under `dir` (not following links), with its permission bits. */
export async function walk(dir: string): Promise<Entry[]> {
  const out: Entry[] = [];
  if (!existsSync(dir)) return out;
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const path = join(e.parentPath, e.name);
    const info = await lstat(path);
    out.push({ path, mode: info.mode & 0o777, kind: info.isDirectory() ? 'dir' : info.isFile() ? 'file' : 'other' });
  }
  return out;
}

export async function readJson(path: string): Promise<any> {
  return JSON.parse(await readFile(path, 'utf8'));
}

/** Every file's text under `dir`, binary-safe enough for substring searches. */
export async function allText(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const e of await walk(dir)) if (e.kind === 'file') files.set(e.path, await readFile(e.path, 'utf8'));
  return files;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every `everyMs` until it is truthy or `timeoutMs` passes. */
export async function waitFor<T>(check: () => T | Promise<T>, timeoutMs: number, everyMs = 2): Promise<T | null> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const value = await check();
    if (value) return value;
    await sleep(everyMs);
  }
  return null;
}
