// Disk faults on real file systems (a tmpfs remounted read-only, a tiny tmpfs filled to the last
// byte), corrupt and truncated store files, and clocks that misbehave (a lease expiring during a long
// job under XState's SimulatedClock, a wall clock that jumps backwards).
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SimulatedClock, toPromise } from 'xstate';
import { createLowdbStore } from '../../services/store/lowdb-store.ts';
import { fileLogger } from '../../services/logger.ts';
import { startLocalOpenAIServer, type LocalOpenAIServer } from '../../services/local-model/local-openai-server.ts';
import { createModelClient } from '../../services/model/model-client.ts';
import { createMemoriesPipeline, runPipeline } from '../../services/pipeline.ts';
import { scriptedHandler } from '../../services/local-model/scripted-model.ts';
import { arrivals } from '../support/arrivals.ts';
import { HOUR, isStage1, runMemories, tempHome, threadOfStage1, writeCorpus } from './support/harness.ts';

let server: LocalOpenAIServer;
const scripted = scriptedHandler();
let holdStage1: Promise<void> | null = null;
const stage1Seen: string[] = [];
let stage1Arrived = arrivals();
beforeAll(async () => {
  server = await startLocalOpenAIServer({
    handler: async (req) => {
      if (isStage1(req.body)) {
        stage1Seen.push(threadOfStage1(req.body)!);
        stage1Arrived.signal();
        if (holdStage1) await holdStage1;
      }
      return scripted(req);
    },
  });
});
afterAll(() => server?.close());

const model = () => createModelClient({ apiKey: 'x', baseURL: server.url, wireApi: 'responses', timeoutMs: 30_000 });
const retryPolicy = { initialDelayMs: 10, maxDelayMs: 50 };
const mounts: string[] = [];
const homes: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const dir of mounts.splice(0)) execFileSync('umount', ['-l', dir]);
  for (const cleanup of homes.splice(0)) await cleanup();
});

async function home(): Promise<string> {
  const t = await tempHome('memories-disk-');
  homes.push(t.cleanup);
  return t.home;
}

function tmpfs(dir: string, size: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir]);
  mounts.push(dir);
}

/** Fills the file system holding `dir` until a write fails with ENOSPC. */
async function fill(dir: string): Promise<void> {
  const chunk = Buffer.alloc(4096, 120);
  const { openSync, writeSync, closeSync } = await import('node:fs');
  const fd = openSync(join(dir, 'filler'), 'w');
  try {
    for (;;) writeSync(fd, chunk);
  } catch (error) {
    expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
  } finally {
    closeSync(fd);
  }
}

const state = (h: string) => createLowdbStore({ dir: join(h, 'memories_state') });

describe('disk', () => {
  it('a read-only memory folder fails phase 2 with EROFS in the reason; outputs stay; it recovers once writable', async () => {
    const h = await home();
    tmpfs(join(h, 'memories'), '4m');
    await writeCorpus(h, 3, 1);
    expect((await runPipeline({ codexHome: h, model: model(), retryPolicy })).phase2?.status).toBe('succeeded');
    const before = await readFile(join(h, 'memories', 'MEMORY.md'), 'utf8');

    await writeCorpus(h, 2, 2);
    execFileSync('mount', ['-o', 'remount,ro', join(h, 'memories')]);
    const out = await runPipeline({ codexHome: h, model: model(), retryPolicy, log: fileLogger(h) });
    expect(out.phase1?.succeeded).toBe(2);
    expect(out.phase2?.status).toBe('failed');
    expect(out.phase2?.reason).toMatch(/failed_sync_artifacts: .*EROFS/);
    expect(await readFile(join(h, 'memories', 'MEMORY.md'), 'utf8')).toBe(before);
    expect((await state(h).status()).outputs).toHaveLength(5);
    expect(await readFile(join(h, 'log', 'memories.log'), 'utf8')).toMatch(
      /"reason":"failed_sync_artifacts: [^"]*EROFS[^"]*","msg":"phase 2 failed"/,
    );
    // A note cannot be saved either: one line naming the folder (Node's EROFS message for fchmod names none).
    const note = await runMemories(['note', '--codex-home', h, 'The API listens on port 8443']);
    expect(note.code).toBe(1);
    expect(note.stderr).toBe(
      `memories: the note was not saved in ${join(h, 'memories', 'extensions', 'ad_hoc')}: ${/EROFS[^\n]*/.exec(note.stderr)?.[0]}\n`,
    );

    execFileSync('mount', ['-o', 'remount,rw', join(h, 'memories')]);
    const later = await runPipeline({ codexHome: h, model: model(), now: () => Date.now() + 2 * HOUR });
    expect(later.phase2?.status).toBe('succeeded');
    expect(later.phase2?.selected).toBe(5);
  });

  it('a full disk under the store: the run ends with ENOSPC reported, nothing stored is lost, and it recovers', async () => {
    const h = await home();
    tmpfs(join(h, 'memories_state'), '256k');
    await writeCorpus(h, 3, 3);
    await runPipeline({ codexHome: h, model: model(), retryPolicy, phase: '1' });
    const jobsBefore = await readFile(join(h, 'memories_state', 'jobs.json'), 'utf8');
    const outputsBefore = await readFile(join(h, 'memories_state', 'outputs.json'), 'utf8');

    await writeCorpus(h, 3, 4);
    await fill(join(h, 'memories_state'));
    const cli = await runMemories(['run', '--codex-home', h, '--base-url', server.url, '--json']);
    // No crash: one JSON summary saying what went wrong.
    expect(cli.stderr).not.toMatch(/at .*\.ts:\d+/);
    const summary = JSON.parse(cli.stdout);
    expect(JSON.stringify(summary)).toMatch(/ENOSPC/);
    // Both documents are exactly as before: a failed write never replaces them.
    expect(await readFile(join(h, 'memories_state', 'jobs.json'), 'utf8')).toBe(jobsBefore);
    expect(await readFile(join(h, 'memories_state', 'outputs.json'), 'utf8')).toBe(outputsBefore);

    await rm(join(h, 'memories_state', 'filler'));
    const later = await runPipeline({ codexHome: h, model: model(), retryPolicy, now: () => Date.now() + 2 * HOUR });
    expect(later.phase2?.status).toBe('succeeded');
    expect((await state(h).status()).outputs).toHaveLength(6);
  });

  it('a full disk under the memory folder fails phase 2 with ENOSPC and leaves no partial file', async () => {
    const h = await home();
    tmpfs(join(h, 'memories'), '128k');
    await writeCorpus(h, 3, 5);
    await runPipeline({ codexHome: h, model: model(), retryPolicy, phase: '1' });
    await fill(join(h, 'memories'));
    const out = await runPipeline({ codexHome: h, model: model(), retryPolicy });
    expect(out.phase2?.status).toBe('failed');
    expect(out.phase2?.reason).toMatch(/ENOSPC/);
    const { readdir } = await import('node:fs/promises');
    const left = (await readdir(join(h, 'memories'), { recursive: true })).filter(
      (n) => n !== 'filler' && !n.endsWith('rollout_summaries'),
    );
    expect(left).toEqual([]);
  });
});

describe('corrupt store files', () => {
  for (const [name, file, text] of [
    ['a truncated jobs.json', 'jobs.json', null],
    ['a corrupt outputs.json', 'outputs.json', '\u0000\u0000garbage'],
    ['an empty jobs.json', 'jobs.json', ''],
  ] as const) {
    it(`${name}: run and status exit non-zero naming the file and how to recover; nothing is reset`, async () => {
      const h = await home();
      await writeCorpus(h, 3, 6);
      await runPipeline({ codexHome: h, model: model(), retryPolicy });
      const path = join(h, 'memories_state', file);
      const original = await readFile(path, 'utf8');
      const broken = text ?? original.slice(0, Math.floor(original.length / 2));
      await writeFile(path, broken);
      const other = join(h, 'memories_state', file === 'jobs.json' ? 'outputs.json' : 'jobs.json');
      const otherText = await readFile(other, 'utf8');

      await writeCorpus(h, 1, 7);
      const codes: Record<string, number | null> = {};
      for (const args of [['run', '--base-url', server.url], ['status']]) {
        const r = await runMemories([...args, '--codex-home', h]);
        codes[args[0]!] = r.code;
        const said = r.stdout + r.stderr;
        expect(said, args[0]).toContain(path);
        expect(said, args[0]).toContain(`mv ${path} ${path}.bad`);
        expect(r.stderr, args[0]).not.toMatch(/^\s+at /m); // a message, not a stack trace
      }
      // Never silently reset: both files are exactly as they were.
      expect(await readFile(path, 'utf8')).toBe(broken);
      expect(await readFile(other, 'utf8')).toBe(otherText);
      // A cron job or CI step must see the failure too. KNOWN BUG (scripts/commands/run.ts): `run`
      // prints the reason in its summary but exits 0 when the store cannot be read.
      expect(codes, 'exit codes').toEqual({ run: 1, status: expect.any(Number) });
      expect(codes.status).not.toBe(0);
    });
  }
});

describe('clock', () => {
  it('a stage-1 lease outlives a long extraction through heartbeats (SimulatedClock), so no second worker takes it', async () => {
    const h = await home();
    const [id] = await writeCorpus(h, 1, 8);
    let release!: () => void;
    holdStage1 = new Promise<void>((r) => (release = r));
    const start = Date.now();
    const clock = new SimulatedClock();
    const now = () => start + clock.now();
    const inner = createLowdbStore({ dir: join(h, 'memories_state'), now });
    // Each heartbeat's write is awaited before the clock moves on, so none is skipped however slow the disk.
    let renewed = arrivals();
    const store: typeof inner = {
      ...inner,
      heartbeatStage1Job: async (...args) => {
        const held = await inner.heartbeatStage1Job(...args);
        renewed.signal();
        return held;
      },
    };
    stage1Arrived = arrivals();
    try {
      const actor = createMemoriesPipeline({ codexHome: h, model: model(), phase: '1', clock, now, store });
      await stage1Arrived.all;
      for (let elapsed = 0; elapsed < 3 * HOUR; elapsed += 90_000) {
        renewed = arrivals();
        clock.increment(90_000);
        await renewed.all;
        // Lets the machine take in the renewal and schedule the next heartbeat (no timer involved).
        await new Promise((r) => setImmediate(r));
      }
      const rival = createLowdbStore({ dir: join(h, 'memories_state'), now });
      const { jobs } = await rival.status();
      expect(jobs[0]!.leaseUntil!).toBeGreaterThan(Math.floor(now() / 1000));
      const thread = {
        threadId: id!,
        rolloutPath: '',
        cwd: '',
        source: 'cli',
        updatedAt: jobs[0]!.inputWatermark!,
        createdAt: null,
        hasUserMessage: true,
        sizeBytes: 1,
      };
      expect((await rival.tryClaimStage1Job(thread, 'rival', 3_600, 64)).kind).toBe('skippedRunning');
      release();
      const out = await toPromise(actor);
      expect(out.phase1?.succeeded).toBe(1);
    } finally {
      holdStage1 = null;
      release();
    }
  });

  it('a lease that expires during a long extraction (no heartbeat) is taken over; the late result is discarded, the output stored once', async () => {
    const h = await home();
    await writeCorpus(h, 1, 9);
    let release!: () => void;
    holdStage1 = new Promise<void>((r) => (release = r));
    const start = Date.now();
    const clock = new SimulatedClock();
    const now = () => start + clock.now();
    stage1Arrived = arrivals();
    try {
      // The slow worker never renews (heartbeat far beyond the lease).
      const slow = createMemoriesPipeline({
        codexHome: h,
        model: model(),
        phase: '1',
        clock,
        now,
        heartbeatMs: 10 * HOUR,
        workerId: 'slow',
      });
      await stage1Arrived.all;
      clock.increment(2 * HOUR);
      holdStage1 = null; // the rival's request is answered at once
      const rival = await runPipeline({
        codexHome: h,
        model: model(),
        phase: '1',
        now: () => start + 2 * HOUR,
        workerId: 'rival',
      });
      expect(rival.phase1?.succeeded).toBe(1);
      release();
      const late = await toPromise(slow);
      expect(late.phase1?.jobs[0]?.outcome).not.toBe('succeeded');
      const status = await state(h).status();
      expect(status.outputs).toHaveLength(1);
      expect(status.jobs[0]).toMatchObject({ status: 'done', workerId: 'rival' });
    } finally {
      holdStage1 = null;
      release();
    }
  });

  it('a wall clock that jumps backwards mid-run neither crashes nor re-extracts anything', async () => {
    const h = await home();
    const ids = await writeCorpus(h, 6, 10);
    let calls = 0;
    // After a few readings the clock jumps back 3 days (NTP correction, VM restore).
    const now = () => (++calls > 4 ? Date.now() - 72 * HOUR : Date.now());
    const seenBefore = stage1Seen.length;
    const out = await runPipeline({ codexHome: h, model: model(), now, retryPolicy });
    expect(out.phase1?.failed).toBe(0);
    expect(['succeeded', 'skippedNotDirty']).toContain(out.phase2?.status);
    const status = await state(h).status();
    expect(status.outputs.map((o) => o.threadId).sort()).toEqual([...ids].sort());
    // Back to normal time: nothing is extracted again, consolidation catches up if it has to.
    const again = await runPipeline({ codexHome: h, model: model() });
    expect(again.phase1?.claimed).toBe(0);
    expect(stage1Seen.length - seenBefore).toBe(6);
    expect((await state(h).status()).globalJob?.status).toBe('done');
  });
});
