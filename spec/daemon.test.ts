// `memories watch` as a user runs it: a child process over a temp CODEX_HOME, real files, the
// bundled local model server, and signals.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { appendFile, mkdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { type Handler, startLocalOpenAIServer } from '../services/local-model/local-openai-server.ts';
import { createLowdbStore } from '../services/store/lowdb-store.ts';
import { scriptedHandler } from '../services/local-model/scripted-model.ts';
import { STAGE1_SCHEMA_NAME } from '../services/extraction/stage-one-schema.ts';
import { FIXTURE_DIR, installFixtureRollouts } from '../scripts/fixture-corpus.ts';
import { tempCodexHome } from './support/codex-home.ts';

const BIN = join(import.meta.dirname, '..', 'scripts', 'memories.js');
const IDLE_SECONDS = 2;

interface Daemon {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the first stdout line matching, or rejects after timeoutMs. */
  line(pattern: RegExp, timeoutMs?: number): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

const running = new Set<ChildProcessWithoutNullStreams>();

function startDaemon(home: string, url: string, extra: string[] = []): Daemon {
  const child = spawn(
    process.execPath,
    [BIN, 'watch', '--codex-home', home, '--base-url', url, '--idle-seconds', String(IDLE_SECONDS), ...extra],
    { env: { ...process.env, OPENAI_API_KEY: '', OPENAI_BASE_URL: '', CODEX_HOME: '' } },
  );
  running.add(child);
  let out = '';
  let err = '';
  const waiters: Array<() => void> = [];
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    for (const w of waiters.splice(0)) w();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    child.on('exit', (code, signal) => {
      running.delete(child);
      for (const w of waiters.splice(0)) w();
      resolve({ code, signal, at: Date.now() });
    }),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    line(pattern, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = out.split('\n').find((l) => pattern.test(l));
          if (found !== undefined) return resolve(found);
          if (child.exitCode !== null || Date.now() > deadline) {
            return reject(new Error(`no line matching ${pattern}; stdout:\n${out}\nstderr:\n${err}`));
          }
          waiters.push(check);
          setTimeout(check, Math.max(0, deadline - Date.now()) + 1).unref();
        };
        check();
      });
    },
  };
}

function isStage1(body: any): boolean {
  return body?.text?.format?.name === STAGE1_SCHEMA_NAME || body?.response_format?.json_schema?.name === STAGE1_SCHEMA_NAME;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let home: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ home, cleanup } = await tempCodexHome());
});
afterEach(async () => {
  for (const child of running) child.kill('SIGKILL');
  await cleanup();
});

it('extracts a rollout written in pieces once, after it has gone idle', async () => {
  const stage1: Array<{ at: number; body: string }> = [];
  const scripted = scriptedHandler();
  const handler: Handler = (req) => {
    if (isStage1(req.body)) stage1.push({ at: Date.now(), body: JSON.stringify(req.body) });
    return scripted(req);
  };
  const server = await startLocalOpenAIServer({ handler });
  try {
    // A torn file beside it is skipped, and counted in the run's line, without stopping the daemon.
    await mkdir(join(home, 'sessions'), { recursive: true });
    const torn = join(home, 'sessions', 'rollout-2026-01-01T00-00-00-torn.jsonl');
    await writeFile(torn, '{"torn":');
    const longAgo = new Date(Date.now() - 8 * 3_600_000);
    await utimes(torn, longAgo, longAgo); // idle before the daemon starts: its catch-up run meets it
    const daemon = startDaemon(home, server.url);
    await daemon.line(/^watching /);
    expect(await daemon.line(/^run 1 /)).toMatch(
      /startup catch-up.*claimed 0.*1 rollout file\(s\) unreadable \(reasons in the log\)/,
    );
    // The banner comes first: the catch-up run's lines wait for it.
    expect(daemon.stdout().split('\n')[0]).toMatch(/^watching /);

    // A Codex session appending to its rollout: a piece every 200 ms for ~1.6 s.
    const threadId = '019c8a70-dda7-7f33-98ea-f30553347399';
    const original = '019c8a70-dda7-7f33-98ea-f30553347322';
    const text = (await readFile(join(FIXTURE_DIR, 'vscode-localpush-short.jsonl'), 'utf8')).replaceAll(original, threadId);
    const marker = 'LAST-PIECE-7c1e: also remember to rotate the logs';
    const lines = [
      ...text.split('\n').filter(Boolean),
      JSON.stringify({
        timestamp: new Date().toISOString(),
        type: 'response_item',
        payload: { type: 'message', role: 'user', content: [{ type: 'input_text', text: marker }] },
      }),
    ];
    const day = new Date().toISOString().slice(0, 10).split('-');
    const dir = join(home, 'sessions', day[0]!, day[1]!, day[2]!);
    await mkdir(dir, { recursive: true });
    const file = join(dir, `rollout-${new Date().toISOString().slice(0, 19).replaceAll(':', '-')}-${threadId}.jsonl`);
    const pieces = 8;
    const size = Math.ceil(lines.length / pieces);
    for (let i = 0; i < lines.length; i += size) {
      await appendFile(file, `${lines.slice(i, i + size).join('\n')}\n`);
      await sleep(200);
    }
    const lastWrite = (await stat(file)).mtimeMs;

    expect(await daemon.line(/^run 2 /)).toMatch(/claimed 1 of 1 eligible: 1 with output/);
    // Each job is said as it finishes, before its run's summary line.
    const out = daemon.stdout().split('\n');
    const job = out.findIndex((line) => new RegExp(`^run 2: {3}\\[1/1\\] succeeded +${threadId} {2}\\d+ tokens$`).test(line));
    expect(job).toBeGreaterThan(-1);
    expect(job).toBeLessThan(out.findIndex((line) => line.startsWith('run 2 (')));
    await sleep(IDLE_SECONDS * 1000 + 1500); // long enough for a second (wrong) extraction to show up

    expect(stage1).toHaveLength(1);
    expect(stage1[0]!.at).toBeGreaterThanOrEqual(lastWrite + IDLE_SECONDS * 1000);
    expect(stage1[0]!.body).toContain('LAST-PIECE-7c1e'); // it read the whole rollout
    expect(daemon.stdout().match(/^run \d+ /gm)).toHaveLength(2);

    const status = await createLowdbStore({ dir: join(home, 'memories_state') }).status();
    expect(status.jobs).toEqual([expect.objectContaining({ jobKey: threadId, status: 'done', leaseUntil: null })]);
    expect(status.outputs).toEqual([
      expect.objectContaining({ threadId, sourceUpdatedAt: Math.floor(lastWrite / 1000), rolloutPath: file }),
    ]);

    daemon.child.kill('SIGTERM');
    const { code } = await daemon.exited;
    expect(code).toBe(0);
    expect(daemon.stdout()).toMatch(/^stopped after 2 run\(s\)$/m);
    expect(daemon.stderr()).not.toMatch(/exiting without waiting/);
  } finally {
    await server.close();
  }
});

it("prints its banner before the first run's lines, also while the sessions folder does not exist yet", async () => {
  const server = await startLocalOpenAIServer({ handler: scriptedHandler() });
  try {
    await rm(join(home, 'sessions'), { recursive: true, force: true });
    const daemon = startDaemon(home, server.url);
    await daemon.line(/^run 1 /);
    expect(daemon.stdout().split('\n')[0]).toMatch(/^watching /);
    daemon.child.kill('SIGTERM');
    expect((await daemon.exited).code).toBe(0);
  } finally {
    await server.close();
  }
});

it('SIGTERM mid-run exits promptly, releases the in-flight leases, and a restart finishes the work', async () => {
  await installFixtureRollouts(home); // five eligible rollouts, idle for hours: the catch-up run takes them
  const slow = await startLocalOpenAIServer({ handler: scriptedHandler(), latencyMs: 60_000 });
  try {
    const daemon = startDaemon(home, slow.url);
    const deadline = Date.now() + 15_000;
    while (slow.requests.filter((r) => isStage1(r.body)).length < 5) {
      if (Date.now() > deadline || daemon.child.exitCode !== null) throw new Error(`no requests in flight:\n${daemon.stderr()}`);
      await sleep(20);
    }
    const before = await createLowdbStore({ dir: join(home, 'memories_state') }).status();
    expect(before.jobs.filter((j) => j.status === 'running')).toHaveLength(5);

    daemon.child.kill('SIGTERM');
    const { code } = await daemon.exited;
    expect(code).toBe(0); // by itself, not by the grace period's forced exit (checked below)
    expect(daemon.stderr()).toMatch(/stopping: run 1 is releasing its in-flight jobs/);
    expect(daemon.stderr()).not.toMatch(/exiting without waiting/);
    expect(daemon.stdout()).toMatch(/^stopped after 1 run\(s\)$/m);

    const { jobs, outputs } = await createLowdbStore({ dir: join(home, 'memories_state') }).status();
    expect(jobs).toHaveLength(5);
    for (const job of jobs) {
      // Released, not failed: claimable at once, no retry spent.
      expect(job).toMatchObject({ kind: 'memory_stage1', status: 'pending', leaseUntil: null, retryRemaining: 3 });
    }
    expect(outputs).toHaveLength(0);
  } finally {
    await slow.close();
  }

  const fast = await startLocalOpenAIServer({ handler: scriptedHandler() });
  try {
    const daemon = startDaemon(home, fast.url);
    expect(await daemon.line(/^run 1 /)).toMatch(
      /claimed 5 of 5 eligible: 5 with output, 0 no output, 0 failed.*phase 2 succeeded/,
    );
    const { jobs, outputs, globalJob } = await createLowdbStore({ dir: join(home, 'memories_state') }).status();
    expect(jobs.every((j) => j.status === 'done' && j.leaseUntil === null)).toBe(true);
    expect(new Set(outputs.map((o) => o.threadId))).toEqual(new Set(jobs.map((j) => j.jobKey)));
    expect(globalJob).toMatchObject({ status: 'done' });

    daemon.child.kill('SIGINT');
    expect((await daemon.exited).code).toBe(0);
  } finally {
    await fast.close();
  }
});

it('exits after the grace period, saying so, when a store lock held elsewhere keeps the leases from being released', async () => {
  await installFixtureRollouts(home);
  let inFlight!: () => void;
  const fiveInFlight = new Promise<void>((resolve) => (inFlight = resolve));
  const slow = await startLocalOpenAIServer({ handler: ({ index }) => (index === 4 && inFlight(), { hangMs: 600_000 }) });
  try {
    const daemon = startDaemon(home, slow.url);
    await fiveInFlight;
    // A live holder: the lock is fresh, so the releases wait for it longer than the grace period.
    await mkdir(join(home, 'memories_state', 'jobs.json.lock'));
    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toMatchObject({ code: null, signal: 'SIGTERM' });
    expect(daemon.stderr()).toMatch(/still stopping 5 s after SIGTERM: exiting without waiting/);
  } finally {
    await slow.close();
  }
});
