// Phase 1 finds rollouts in the day folders under $CODEX_HOME/sessions, picks the idle,
// interactive sessions in which the user said something, and on a rerun opens no unchanged file.
import { mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { discoverRollouts, selectEligible } from '../services/rollouts/discovery.ts';
import { openRolloutIndex, ROLLOUT_INDEX_FILE } from '../services/rollouts/rollout-index.ts';
import type { ThreadInfo } from '../services/types.ts';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'discovery-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

function uuid(n: number): string {
  return `0199${String(n).padStart(4, '0')}-0000-7000-8000-${String(n).padStart(12, '0')}`;
}

/** Writes a small envelope-format rollout and sets its mtime. */
async function writeRollout(
  home: string,
  day: string,
  n: number,
  opts: { source?: string; user?: boolean; mtime?: number; cwd?: string; branch?: string } = {},
): Promise<string> {
  const dir = join(home, 'sessions', ...day.split('/'));
  await mkdir(dir, { recursive: true });
  const id = uuid(n);
  const path = join(dir, `rollout-${day.replaceAll('/', '-')}T10-00-00-${id}.jsonl`);
  const lines: unknown[] = [
    {
      timestamp: '2026-03-01T10:00:00.000Z',
      type: 'session_meta',
      payload: {
        id,
        timestamp: '2026-03-01T10:00:00.000Z',
        cwd: opts.cwd ?? `/work/${n}`,
        source: opts.source ?? 'cli',
        ...(opts.branch ? { git: { branch: opts.branch, commit_hash: 'abc123' } } : {}),
      },
    },
    {
      timestamp: '2026-03-01T10:00:01.000Z',
      type: 'response_item',
      payload: {
        type: 'message',
        role: 'user',
        content: [{ type: 'input_text', text: `<environment_context>\n  <cwd>/work/${n}</cwd>\n</environment_context>` }],
      },
    },
  ];
  if (opts.user !== false) {
    lines.push({
      timestamp: '2026-03-01T10:00:02.000Z',
      type: 'event_msg',
      payload: { type: 'user_message', message: 'run the tests' },
    });
  }
  await writeFile(path, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
  const mtime = opts.mtime ?? 1_770_000_000;
  await utimes(path, mtime, mtime);
  return path;
}

describe('discoverRollouts', () => {
  it('walks sessions/YYYY/MM/DD, tolerates rollouts directly in sessions/, and ignores everything else', async () => {
    const home = await tempDir();
    const a = await writeRollout(home, '2026/03/01', 1, { mtime: 1_770_000_000.9 });
    const b = await writeRollout(home, '2025/12/31', 2, { source: 'vscode', cwd: '/srv/b' });
    // A rollout directly in sessions/.
    const flat = join(home, 'sessions', `rollout-flat-${uuid(3)}.jsonl`);
    await writeFile(flat, `${JSON.stringify({ type: 'session_meta', payload: { id: uuid(3), cwd: '/c', source: 'exec' } })}\n`);
    // Not day folders, or not rollout names: ignored.
    for (const p of [
      'sessions/notes/rollout-x.jsonl',
      'sessions/2026/3/01/rollout-x.jsonl',
      'sessions/2026/03/1/rollout-x.jsonl',
      'sessions/2026/03/01/notes.jsonl',
      'sessions/2026/03/01/rollout-x.json',
    ]) {
      await mkdir(join(home, p, '..'), { recursive: true });
      await writeFile(join(home, p), `${JSON.stringify({ type: 'session_meta', payload: { id: 'bogus' } })}\n`);
    }
    // A rollout with no parsable line is reported, not fatal.
    const broken = join(home, 'sessions', '2026', '03', '01', 'rollout-broken.jsonl');
    await writeFile(broken, 'garbage\n');

    const found = await discoverRollouts(home);
    expect(found.filesSeen).toBe(4);
    expect(found.metaReads).toBe(4);
    expect(found.unreadable).toEqual([{ path: broken, reason: 'no parsable line' }]);
    const byId = Object.fromEntries(found.threads.map((t) => [t.threadId, t]));
    expect(Object.keys(byId).sort()).toEqual([uuid(1), uuid(2), uuid(3)]);
    const size = (await stat(a)).size;
    expect(byId[uuid(1)]).toEqual({
      threadId: uuid(1),
      rolloutPath: a,
      cwd: '/work/1',
      source: 'cli',
      updatedAt: 1_770_000_000, // whole seconds, rounded down
      createdAt: Math.floor(Date.parse('2026-03-01T10:00:00.000Z') / 1000),
      hasUserMessage: true,
      sizeBytes: size,
      gitBranch: null, // session_meta records no git
    });
    expect(byId[uuid(2)]).toMatchObject({ rolloutPath: b, source: 'vscode', cwd: '/srv/b' });
    expect(byId[uuid(3)]).toMatchObject({ rolloutPath: flat, source: 'exec', hasUserMessage: false });
  });

  it("carries session_meta's git branch, from the first read and from the index, for the summary header", async () => {
    const home = await tempDir();
    const state = await tempDir();
    const onBranch = await writeRollout(home, '2026/03/01', 1, { branch: 'feature/login' });
    await writeRollout(home, '2026/03/01', 2);
    const branches = (d: Awaited<ReturnType<typeof discoverRollouts>>) =>
      Object.fromEntries(d.threads.map((t) => [t.threadId, t.gitBranch]));
    const index = await openRolloutIndex(state);
    const cold = await discoverRollouts(home, { cache: index });
    expect(branches(cold)).toEqual({ [uuid(1)]: 'feature/login', [uuid(2)]: null });
    await index.save();
    const warm = await discoverRollouts(home, { cache: await openRolloutIndex(state) });
    expect(warm.metaReads).toBe(0);
    expect(branches(warm)).toEqual(branches(cold));
    expect(warm.threads.find((t) => t.rolloutPath === onBranch)?.gitBranch).toBe('feature/login');
  });

  it('finds nothing, without failing, when there is no sessions folder', async () => {
    const found = await discoverRollouts(await tempDir());
    expect(found).toEqual({ threads: [], filesSeen: 0, metaReads: 0, unreadable: [] });
  });

  it('a cached rerun opens no rollout, and a changed rollout is read again', async () => {
    const home = await tempDir();
    const state = join(await tempDir(), 'state');
    const paths: string[] = [];
    for (let i = 0; i < 20; i++) paths.push(await writeRollout(home, `2026/03/${String((i % 5) + 1).padStart(2, '0')}`, i));

    const first = await openRolloutIndex(state);
    const cold = await discoverRollouts(home, { cache: first });
    expect(cold.metaReads).toBe(20);
    await first.save();

    const warm = await discoverRollouts(home, { cache: await openRolloutIndex(state) });
    expect(warm.metaReads).toBe(0);
    expect(warm.threads).toEqual(cold.threads);

    await utimes(paths[7]!, 1_780_000_000, 1_780_000_000);
    const changed = await discoverRollouts(home, { cache: await openRolloutIndex(state) });
    expect(changed.metaReads).toBe(1);
    expect(changed.threads.find((t) => t.rolloutPath === paths[7])!.updatedAt).toBe(1_780_000_000);
  });

  it('a no-op rerun over 1,000 rollouts opens none of them (its time is a bench row)', async () => {
    const home = await tempDir();
    const state = await tempDir();
    const writes: Promise<string>[] = [];
    for (let i = 0; i < 1000; i++)
      writes.push(writeRollout(home, `2026/${String((i % 3) + 1).padStart(2, '0')}/${String((i % 28) + 1).padStart(2, '0')}`, i));
    await Promise.all(writes);
    const index = await openRolloutIndex(state);
    await discoverRollouts(home, { cache: index });
    await index.save();

    const rerun = await discoverRollouts(home, { cache: await openRolloutIndex(state) });
    expect(rerun.metaReads).toBe(0);
    expect(rerun.threads).toHaveLength(1000);
  });
});

describe('the rollout index', () => {
  it('is ignored and rebuilt when its file is corrupt', async () => {
    const home = await tempDir();
    const state = await tempDir();
    await writeRollout(home, '2026/03/01', 1);
    await writeFile(join(state, ROLLOUT_INDEX_FILE), '{"entries": {"x": ');
    const index = await openRolloutIndex(state);
    const found = await discoverRollouts(home, { cache: index });
    expect(found.threads).toHaveLength(1);
    await index.save();
    expect(Object.keys(JSON.parse(await readFile(join(state, ROLLOUT_INDEX_FILE), 'utf8')).entries)).toHaveLength(1);
  });

  it('is private to the user and never torn by two saving processes', async () => {
    const home = await tempDir();
    const state = join(await tempDir(), 'state');
    for (let i = 0; i < 30; i++) await writeRollout(home, '2026/03/01', i);
    const a = await openRolloutIndex(state);
    const b = await openRolloutIndex(state);
    await discoverRollouts(home, { cache: a });
    await discoverRollouts(home, { cache: b });
    const saves: Promise<void>[] = [];
    const reads: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) {
      a.set(`/x/a${i}`, {
        mtimeMs: i,
        size: i,
        meta: { threadId: `a${i}`, cwd: '/', source: 'cli', createdAt: null, hasUserMessage: true },
      });
      b.set(`/x/b${i}`, {
        mtimeMs: i,
        size: i,
        meta: { threadId: `b${i}`, cwd: '/', source: 'cli', createdAt: null, hasUserMessage: true },
      });
      saves.push(a.save(), b.save());
      reads.push(
        readFile(join(state, ROLLOUT_INDEX_FILE), 'utf8').then(
          (t) => void JSON.parse(t),
          () => undefined,
        ),
      );
    }
    await Promise.all([...saves, ...reads]);
    const text = await readFile(join(state, ROLLOUT_INDEX_FILE), 'utf8');
    expect(() => JSON.parse(text)).not.toThrow();
    expect((await stat(join(state, ROLLOUT_INDEX_FILE))).mode & 0o777).toBe(0o600);
    expect((await stat(state)).mode & 0o077).toBe(0);
  });
});

describe('selectEligible', () => {
  const now = 1_780_000_000;
  const hour = 3600;
  const day = 86_400;
  const thread = (id: string, updatedAt: number, extra: Partial<ThreadInfo> = {}): ThreadInfo => ({
    threadId: id,
    rolloutPath: `/s/${id}.jsonl`,
    cwd: '/w',
    source: 'cli',
    updatedAt,
    createdAt: null,
    hasUserMessage: true,
    sizeBytes: 100,
    ...extra,
  });
  const base = { nowSeconds: now, maxAgeDays: 30, minIdleHours: 6 };
  const ids = (ts: ThreadInfo[]) => ts.map((t) => t.threadId);

  it('keeps threads idle long enough but not too old, with both ends inclusive', () => {
    const threads = [
      thread('too-recent', now - 6 * hour + 1),
      thread('just-idle', now - 6 * hour),
      thread('middle', now - 10 * day),
      thread('oldest-allowed', now - 30 * day),
      thread('too-old', now - 30 * day - 1),
    ];
    expect(ids(selectEligible(threads, base))).toEqual(['just-idle', 'middle', 'oldest-allowed']);
  });

  it('accepts the idle window in minutes, overriding hours', () => {
    const threads = [thread('five-min', now - 300), thread('one-min', now - 60)];
    expect(ids(selectEligible(threads, { ...base, minIdleMinutes: 5 }))).toEqual(['five-min']);
    expect(ids(selectEligible(threads, { ...base, minIdleMinutes: 0 }))).toEqual(['one-min', 'five-min']);
  });

  it('keeps only cli and vscode sessions by default, or the sources asked for', () => {
    const threads = [
      thread('cli', now - day, { source: 'cli' }),
      thread('vscode', now - day - 1, { source: 'vscode' }),
      thread('exec', now - day - 2, { source: 'exec' }),
      thread('subagent', now - day - 3, { source: 'subagent' }),
    ];
    expect(ids(selectEligible(threads, base))).toEqual(['cli', 'vscode']);
    expect(ids(selectEligible(threads, { ...base, allowedSources: ['exec'] }))).toEqual(['exec']);
  });

  it('skips sessions where the user said nothing, and the excluded current thread', () => {
    const threads = [
      thread('silent', now - day, { hasUserMessage: false }),
      thread('current', now - day),
      thread('other', now - day),
    ];
    expect(ids(selectEligible(threads, { ...base, excludeThreadId: 'current' }))).toEqual(['other']);
  });

  it('orders newest first, ties by thread id descending, and stops at the scan limit', () => {
    const threads = [thread('b', now - 2 * day), thread('a', now - day), thread('c', now - day), thread('d', now - 3 * day)];
    expect(ids(selectEligible(threads, base))).toEqual(['c', 'a', 'b', 'd']);
    expect(ids(selectEligible(threads, { ...base, scanLimit: 2 }))).toEqual(['c', 'a']);
    const many = Array.from({ length: 6000 }, (_, i) => thread(`t${i}`, now - day - i));
    expect(selectEligible(many, base)).toHaveLength(5000);
  });
});
