// Reads Codex's thread database, $CODEX_HOME/state_5.sqlite, without ever writing it: Codex may be running.
// Codex keeps it in WAL mode, so committed rows can still sit in the -wal file. While Codex has the database
// open (its -wal and -shm files exist), a read-only connection joins the WAL as one more reader: it sees every
// committed row, and its O_RDONLY file cannot be written, checkpointed or locked exclusively. Otherwise a
// read-only open would create -wal and -shm files of its own next to Codex's, so a private copy is read.
import { copyFile, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { errorMessage } from '../errors.ts';

export const THREAD_DB_FILE = 'state_5.sqlite';

/** What phase 1 needs from one row of Codex's threads table. */
export interface CodexThreadRow {
  threadId: string;
  rolloutPath: string | null;
  source: string | null;
  cwd: string | null;
  gitBranch: string | null;
  /** updated_at_ms (else updated_at) in whole Unix seconds, as Codex's claim query compares it. */
  updatedAt: number | null;
  archived: boolean;
  /** 'enabled' for a database older than the column (Codex had no per-thread opt-out then). */
  memoryMode: string;
}

export type ThreadDb =
  | { kind: 'absent' }
  | { kind: 'read'; path: string; threads: Map<string, CodexThreadRow>; via: 'shared' | 'copy' }
  | { kind: 'unreadable'; path: string; reason: string };

const COLUMNS = ['id', 'rollout_path', 'source', 'cwd', 'git_branch', 'updated_at', 'updated_at_ms', 'archived', 'memory_mode'];

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    (error) => (error?.code === 'ENOENT' ? false : Promise.reject(error)),
  );
}

export async function readThreadDb(codexHome: string): Promise<ThreadDb> {
  const path = join(codexHome, THREAD_DB_FILE);
  try {
    const st = await stat(path).catch((error) => (error?.code === 'ENOENT' ? null : Promise.reject(error)));
    if (st === null) return { kind: 'absent' };
    if (!st.isFile()) throw new Error('not a regular file');
    const [wal, shm] = await Promise.all([exists(`${path}-wal`), exists(`${path}-shm`)]);
    if (wal && shm) return { kind: 'read', path, threads: readShared(path), via: 'shared' };
    return { kind: 'read', path, threads: await readCopy(path, wal), via: 'copy' };
  } catch (error) {
    return { kind: 'unreadable', path, reason: errorMessage(error) };
  }
}

/** One statement, so one read snapshot; no transaction is held and the connection is closed at once. */
function readShared(path: string): Map<string, CodexThreadRow> {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return queryThreads(db);
  } finally {
    db.close();
  }
}

/**
 * No -shm means no process has the database open, so copying it (and a -wal left by a crash) cannot race a
 * writer; the copy may then create its own -wal and -shm, in a folder of ours.
 */
async function readCopy(path: string, withWal: boolean): Promise<Map<string, CodexThreadRow>> {
  const dir = await mkdtemp(join(tmpdir(), 'memories-codex-state-'));
  try {
    const copy = join(dir, THREAD_DB_FILE);
    await copyFile(path, copy);
    // A -wal gone since it was seen means a Codex opened and closed the file meanwhile: fail rather than read a
    // main file copied before the checkpoint that emptied the -wal into it.
    if (withWal) await copyFile(`${path}-wal`, `${copy}-wal`);
    const db = new Database(copy, { fileMustExist: true });
    try {
      return queryThreads(db);
    } finally {
      db.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function queryThreads(db: Database.Database): Map<string, CodexThreadRow> {
  const present = new Set((db.pragma('table_info(threads)') as Array<{ name: string }>).map((c) => c.name));
  if (!present.has('id')) throw new Error('no threads table');
  const select = COLUMNS.map((c) => (present.has(c) ? c : `NULL AS ${c}`)).join(', ');
  const rows = db.prepare(`SELECT ${select} FROM threads`).all() as Array<Record<string, unknown>>;
  const threads = new Map<string, CodexThreadRow>();
  for (const row of rows) {
    if (typeof row.id !== 'string') continue;
    threads.set(row.id, {
      threadId: row.id,
      rolloutPath: text(row.rollout_path),
      source: text(row.source),
      cwd: text(row.cwd),
      gitBranch: text(row.git_branch),
      updatedAt: seconds(row.updated_at_ms, 1000) ?? seconds(row.updated_at, 1),
      archived: Number(row.archived) !== 0,
      memoryMode: present.has('memory_mode') ? String(row.memory_mode) : 'enabled',
    });
  }
  return threads;
}

function text(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

function seconds(value: unknown, perSecond: number): number | null {
  const n = typeof value === 'bigint' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) ? Math.floor(n / perSecond) : null;
}
