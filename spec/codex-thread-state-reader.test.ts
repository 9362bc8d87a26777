// Codex's thread database is read without ever being written: a running Codex's WAL is joined as one more reader,
// files a killed Codex left are read where they are, and anything else is read from a private copy, so no file,
// -wal or -shm next to Codex's is created or changed.
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { readThreadDb, THREAD_DB_FILE } from '../services/codex-state/thread-db.ts';
import { createThreadDb, type ThreadRowSpec, sqliteFiles } from './support/codex-thread-db.ts';

const dirs: string[] = [];
async function home(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'codex-state-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

const ROWS: ThreadRowSpec[] = [
  { id: 'thread-a', rolloutPath: '/h/sessions/a.jsonl', memoryMode: 'disabled', gitBranch: 'main', updatedAt: 1_770_000_100 },
  { id: 'thread-b', rolloutPath: '/h/sessions/b.jsonl', archived: true, source: 'vscode', cwd: '/work/b' },
];

function rowsOf(db: Awaited<ReturnType<typeof readThreadDb>>) {
  if (db.kind !== 'read') throw new Error(`not read: ${JSON.stringify(db)}`);
  return db.threads;
}

describe('reading state_5.sqlite', () => {
  it('sees rows a writer still holds in its WAL, leaving the file, its -wal and the folder as they were', async () => {
    const dir = await home();
    const writer = await createThreadDb(join(dir, THREAD_DB_FILE), ROWS, { walOnly: true });
    try {
      const before = await sqliteFiles(dir);
      expect(Object.keys(before)).toEqual([THREAD_DB_FILE, `${THREAD_DB_FILE}-shm`, `${THREAD_DB_FILE}-wal`]);
      const db = await readThreadDb(dir);
      expect(db).toMatchObject({ kind: 'read', via: 'shared' });
      expect(rowsOf(db).get('thread-a')).toEqual({
        threadId: 'thread-a',
        rolloutPath: '/h/sessions/a.jsonl',
        source: 'cli',
        cwd: '/work',
        gitBranch: 'main',
        updatedAt: 1_770_000_100,
        archived: false,
        memoryMode: 'disabled',
      });
      expect(rowsOf(db).get('thread-b')).toMatchObject({ archived: true, source: 'vscode', cwd: '/work/b', gitBranch: null });
      const after = await sqliteFiles(dir);
      expect(Object.keys(after)).toEqual(Object.keys(before));
      expect(after[THREAD_DB_FILE]).toBe(before[THREAD_DB_FILE]);
      expect(after[`${THREAD_DB_FILE}-wal`]).toBe(before[`${THREAD_DB_FILE}-wal`]);
    } finally {
      writer.close();
    }
  });

  it('reads the -wal and -shm a killed Codex left where they are, changing neither the file nor the -wal', async () => {
    const live = await home();
    const left = await home();
    const writer = await createThreadDb(join(live, THREAD_DB_FILE), ROWS, { walOnly: true });
    for (const suffix of ['', '-wal', '-shm']) {
      await copyFile(join(live, `${THREAD_DB_FILE}${suffix}`), join(left, `${THREAD_DB_FILE}${suffix}`));
    }
    writer.close();
    const before = await sqliteFiles(left);
    const db = await readThreadDb(left);
    expect(db).toMatchObject({ kind: 'read', via: 'shared' });
    expect([...rowsOf(db).keys()].sort()).toEqual(['thread-a', 'thread-b']);
    const after = await sqliteFiles(left);
    expect(Object.keys(after)).toEqual(Object.keys(before));
    expect(after[THREAD_DB_FILE]).toBe(before[THREAD_DB_FILE]);
    expect(after[`${THREAD_DB_FILE}-wal`]).toBe(before[`${THREAD_DB_FILE}-wal`]);
  });

  it('reads a -wal left without its -shm from a private copy, creating no -shm beside it', async () => {
    const live = await home();
    const left = await home();
    const writer = await createThreadDb(join(live, THREAD_DB_FILE), ROWS, { walOnly: true });
    for (const suffix of ['', '-wal']) {
      await copyFile(join(live, `${THREAD_DB_FILE}${suffix}`), join(left, `${THREAD_DB_FILE}${suffix}`));
    }
    writer.close();
    const before = await sqliteFiles(left);
    const db = await readThreadDb(left);
    expect(db).toMatchObject({ kind: 'read', via: 'copy' });
    expect(rowsOf(db).get('thread-a')?.memoryMode).toBe('disabled');
    expect(await sqliteFiles(left)).toEqual(before);
  });

  it('reads a database no one has open from a private copy, creating no -wal or -shm beside it', async () => {
    const dir = await home();
    (await createThreadDb(join(dir, THREAD_DB_FILE), ROWS)).close();
    const before = await sqliteFiles(dir);
    expect(Object.keys(before)).toEqual([THREAD_DB_FILE]);
    const db = await readThreadDb(dir);
    expect(db).toMatchObject({ kind: 'read', via: 'copy' });
    expect(rowsOf(db).size).toBe(2);
    expect(await sqliteFiles(dir)).toEqual(before);
  });

  it('is absent when Codex has no thread database', async () => {
    expect(await readThreadDb(await home())).toEqual({ kind: 'absent' });
  });

  it('is unreadable, with the reason, for a file that is not a database or has no threads table', async () => {
    const garbage = await home();
    await writeFile(join(garbage, THREAD_DB_FILE), 'not a database, just some bytes '.repeat(200));
    expect(await readThreadDb(garbage)).toMatchObject({ kind: 'unreadable', reason: 'file is not a database' });

    const empty = await home();
    const db = new Database(join(empty, THREAD_DB_FILE));
    db.exec('CREATE TABLE other (x)');
    db.close();
    expect(await readThreadDb(empty)).toMatchObject({ kind: 'unreadable', reason: 'no threads table' });

    const folder = await home();
    await mkdir(join(folder, THREAD_DB_FILE));
    expect(await readThreadDb(folder)).toMatchObject({ kind: 'unreadable', reason: 'not a regular file' });
  });

  it('takes a database from before memory modes and millisecond times as all enabled, timed by updated_at', async () => {
    const dir = await home();
    const db = new Database(join(dir, THREAD_DB_FILE));
    db.exec(`CREATE TABLE threads (id TEXT PRIMARY KEY, rollout_path TEXT NOT NULL, updated_at INTEGER NOT NULL,
      source TEXT NOT NULL, cwd TEXT NOT NULL, archived INTEGER NOT NULL DEFAULT 0)`);
    db.prepare('INSERT INTO threads VALUES (?, ?, ?, ?, ?, 0)').run('old', '/h/old.jsonl', 1_700_000_000, 'cli', '/w');
    db.close();
    expect(rowsOf(await readThreadDb(dir)).get('old')).toEqual({
      threadId: 'old',
      rolloutPath: '/h/old.jsonl',
      source: 'cli',
      cwd: '/w',
      gitBranch: null,
      updatedAt: 1_700_000_000,
      archived: false,
      memoryMode: 'enabled',
    });
  });

  it('prefers updated_at_ms, in whole seconds, to updated_at', async () => {
    const dir = await home();
    const db = await createThreadDb(join(dir, THREAD_DB_FILE), [
      { id: 't', rolloutPath: '/h/t.jsonl', updatedAt: 1_770_000_000 },
    ]);
    db.prepare('UPDATE threads SET updated_at_ms = ? WHERE id = ?').run(1_770_000_123_999, 't');
    db.close();
    expect(rowsOf(await readThreadDb(dir)).get('t')?.updatedAt).toBe(1_770_000_123);
  });
});
