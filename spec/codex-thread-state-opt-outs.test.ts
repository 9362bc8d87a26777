// Which threads Codex's thread state lets phase 1 see: memory_mode 'enabled', and 'disabled' only where
// generate_memories = false marked the thread at creation (the user handing generation to us). A thread the user
// turned memories off for, an archived one, and a polluted one while disable_on_external_context is on stay out.
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { THREAD_DB_FILE } from '../services/codex-state/thread-db.ts';
import { type Discovery, discoverRollouts } from '../services/rollouts/discovery.ts';
import { memories } from './support/cli.ts';
import { openRolloutIndex } from '../services/rollouts/rollout-index.ts';
import {
  appendMemoryModeChoice,
  createThreadDb,
  markCreatedWithMemoriesOff,
  type ThreadRowSpec,
} from './support/codex-thread-db.ts';

const dirs: string[] = [];
async function tempHome(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'codex-opt-outs-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

const MTIME = 1_770_000_000;

function uuid(n: number): string {
  return `0199${String(n).padStart(4, '0')}-0000-7000-8000-${String(n).padStart(12, '0')}`;
}

/** A small Codex rollout in which the user spoke; returns its path. */
async function rollout(home: string, n: number): Promise<string> {
  const dir = join(home, 'sessions', '2026', '02', '02');
  await mkdir(dir, { recursive: true });
  const id = uuid(n);
  const path = join(dir, `rollout-2026-02-02T10-00-00-${id}.jsonl`);
  const lines = [
    { timestamp: '2026-02-02T10:00:00.000Z', type: 'session_meta', payload: { id, cwd: `/rollout/${n}`, source: 'cli' } },
    { timestamp: '2026-02-02T10:00:01.000Z', type: 'event_msg', payload: { type: 'user_message', message: 'fix it' } },
  ];
  await writeFile(path, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
  await utimes(path, MTIME, MTIME);
  return path;
}

/** Rollouts 1..count, and a state_5.sqlite with the given rows (closed, as when Codex is not running). */
async function codexHome(count: number, rows: (paths: string[]) => ThreadRowSpec[]) {
  const home = await tempHome();
  const paths: string[] = [];
  for (let n = 1; n <= count; n++) paths.push(await rollout(home, n));
  (await createThreadDb(join(home, THREAD_DB_FILE), rows(paths))).close();
  return { home, paths };
}

const row = (n: number, path: string, extra: Partial<ThreadRowSpec> = {}): ThreadRowSpec => ({
  id: uuid(n),
  rolloutPath: path,
  updatedAt: MTIME,
  ...extra,
});
const ids = (d: Discovery) => d.threads.map((t) => t.threadId).sort();
const withheld = (d: Discovery) => Object.fromEntries((d.withheld ?? []).map((w) => [w.threadId, w.reason]));

describe('discovery with Codex thread state', () => {
  it("keeps enabled threads and those generate_memories = false marked at creation, with Codex's values", async () => {
    const { home, paths } = await codexHome(2, (p) => [
      row(1, p[0], { source: 'vscode', cwd: '/codex/1', updatedAt: MTIME - 3600, gitBranch: 'feature' }),
      row(2, p[1], { memoryMode: 'disabled' }),
    ]);
    await markCreatedWithMemoriesOff(paths[1]);
    const found = await discoverRollouts(home);
    expect(found.threadDb).toBe('read');
    expect(ids(found)).toEqual([uuid(1), uuid(2)]);
    expect(found.withheld).toEqual([]);
    const first = found.threads.find((t) => t.threadId === uuid(1));
    expect(first).toMatchObject({ source: 'vscode', cwd: '/codex/1', updatedAt: MTIME - 3600, gitBranch: 'feature' });
    // No branch in the row: the rollout's own session_meta says, and it records none.
    expect(found.threads.find((t) => t.threadId === uuid(2))).toMatchObject({ cwd: '/work', updatedAt: MTIME });
    expect(found.threads.find((t) => t.threadId === uuid(2))?.gitBranch).toBeNull();
  });

  it('withholds a thread the user turned memories off for, even after web search polluted it', async () => {
    const { home, paths } = await codexHome(3, (p) => [
      row(1, p[0], { memoryMode: 'disabled' }),
      row(2, p[1], { memoryMode: 'polluted' }),
      row(3, p[2], { memoryMode: 'disabled' }),
    ]);
    await appendMemoryModeChoice(paths[0], 'disabled');
    await appendMemoryModeChoice(paths[1], 'disabled');
    // Created with generate_memories = false, turned on by the user, then off again.
    await markCreatedWithMemoriesOff(paths[2]);
    await appendMemoryModeChoice(paths[2], 'enabled');
    await appendMemoryModeChoice(paths[2], 'disabled');
    const found = await discoverRollouts(home);
    expect(ids(found)).toEqual([]);
    const why = 'memories turned off for this thread by the user';
    const polluted = 'polluted by web search or MCP output while disable_on_external_context was on';
    expect(withheld(found)).toEqual({ [uuid(1)]: why, [uuid(2)]: polluted, [uuid(3)]: why });
  });

  it('withholds a disabled thread its rollout does not show generate_memories = false created', async () => {
    const { home, paths } = await codexHome(2, (p) => [
      row(1, p[0], { memoryMode: 'disabled' }),
      row(2, p[1], { memoryMode: 'disabled' }),
    ]);
    // The user's last word was "on", yet the row says disabled: not the creation-time mark, so not ours to extract.
    await appendMemoryModeChoice(paths[1], 'enabled');
    const found = await discoverRollouts(home);
    expect(ids(found)).toEqual([]);
    const why = 'memory_mode disabled, not by generate_memories = false at creation';
    expect(withheld(found)).toEqual({ [uuid(1)]: why, [uuid(2)]: why });
  });

  it('withholds a polluted thread whatever disable_on_external_context says now, as Codex does', async () => {
    const { home } = await codexHome(1, (p) => [row(1, p[0], { memoryMode: 'polluted' })]);
    const polluted = { [uuid(1)]: 'polluted by web search or MCP output while disable_on_external_context was on' };
    expect(withheld(await discoverRollouts(home))).toEqual(polluted);
    // Through a run too, with the key off in config.toml (it was on when Codex marked the thread).
    await writeFile(join(home, 'config.toml'), '[memories]\ndisable_on_external_context = false\n');
    const { code, stdout } = await memories([
      'run',
      '--codex-home',
      home,
      '--phase',
      '1',
      '--json',
      '--base-url',
      'http://127.0.0.1:1/v1',
    ]);
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ claimed: 0 });
  });

  it('withholds archived threads and memory modes it does not know', async () => {
    const { home } = await codexHome(3, (p) => [
      row(1, p[0], { archived: true }),
      row(2, p[1], { memoryMode: 'read_only' }),
      row(3, p[2]),
    ]);
    const found = await discoverRollouts(home);
    expect(ids(found)).toEqual([uuid(3)]);
    expect(withheld(found)).toEqual({ [uuid(1)]: 'archived in Codex', [uuid(2)]: "memory_mode 'read_only'" });
  });

  it("lets only the rollout's own lines opt out a thread Codex has no row for yet", async () => {
    const { home, paths } = await codexHome(3, (p) => [row(3, p[2])]);
    await appendMemoryModeChoice(paths[0], 'disabled');
    await markCreatedWithMemoriesOff(paths[1]);
    const found = await discoverRollouts(home);
    expect(ids(found)).toEqual([uuid(2), uuid(3)]);
    expect(withheld(found)).toEqual({ [uuid(1)]: 'memories turned off for this thread by the user' });
    expect(found.threads.find((t) => t.threadId === uuid(2))?.cwd).toBe('/rollout/2');
  });

  it("keeps the session_meta modes in the rollout index, under the rollout's mtime and size", async () => {
    const { home, paths } = await codexHome(2, (p) => [row(1, p[0], { memoryMode: 'disabled' }), row(2, p[1])]);
    await markCreatedWithMemoriesOff(paths[0]);
    const state = join(home, 'memories_state');
    const index = await openRolloutIndex(state);
    await discoverRollouts(home, { cache: index });
    await index.save();
    const reopened = await openRolloutIndex(state);
    expect(reopened.get(paths[0])?.sessionMetaModes).toEqual({ atCreation: 'disabled', lastSet: null });
    // An enabled row needs no look at its rollout.
    expect(reopened.get(paths[1])?.sessionMetaModes).toBeUndefined();
    await appendMemoryModeChoice(paths[0], 'disabled');
    const changed = await discoverRollouts(home, { cache: reopened });
    expect(withheld(changed)).toEqual({ [uuid(1)]: 'memories turned off for this thread by the user' });
  });

  it('returns no thread, and says why, when state_5.sqlite is there but cannot be read', async () => {
    const home = await tempHome();
    await rollout(home, 1);
    await writeFile(join(home, THREAD_DB_FILE), 'not a database, just some bytes '.repeat(200));
    const found = await discoverRollouts(home);
    expect(found.threads).toEqual([]);
    expect(found.threadDb).toBe('unreadable');
    expect(found.unreadable).toEqual([
      {
        path: join(home, THREAD_DB_FILE),
        reason: "Codex's thread database could not be read (file is not a database); no thread is extracted until it can be",
      },
    ]);
  });

  it('without state_5.sqlite, answers as it always did, disabled marks and all', async () => {
    const home = await tempHome();
    const path = await rollout(home, 1);
    await appendMemoryModeChoice(path, 'disabled');
    const found = await discoverRollouts(home);
    expect(ids(found)).toEqual([uuid(1)]);
    expect(found).not.toHaveProperty('threadDb');
    expect(found).not.toHaveProperty('withheld');
  });
});
