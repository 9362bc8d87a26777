// A real $CODEX_HOME/state_5.sqlite for tests: the schema Codex 0.169 created (../shared/codex-0.169-home-sample),
// in WAL mode as Codex keeps it, with thread rows, plus the rollout lines Codex writes when memory modes change.
import { createHash } from 'node:crypto';
import { readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SHARED } from './shared.ts';

export const STATE_SCHEMA = join(SHARED, 'codex-0.169-home-sample', 'state_5.schema.sql');

export interface ThreadRowSpec {
  id: string;
  rolloutPath: string;
  source?: string;
  cwd?: string;
  memoryMode?: string;
  archived?: boolean;
  /** Unix seconds. */
  updatedAt?: number;
  gitBranch?: string | null;
}

/**
 * Creates the database and returns its writer, still open. `walOnly` stops checkpoints, so the rows stay in the
 * -wal file while the writer is open (as in a running Codex); closing the last connection empties it into the file.
 */
export async function createThreadDb(path: string, rows: ThreadRowSpec[], opts: { walOnly?: boolean } = {}) {
  // sqlite_sequence is SQLite's own table: a dump lists it, but it cannot be created by hand.
  const schema = (await readFile(STATE_SCHEMA, 'utf8')).replace('CREATE TABLE sqlite_sequence(name,seq);', '');
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec(schema);
  if (opts.walOnly) db.pragma('wal_autocheckpoint = 0');
  insertThreads(db, rows);
  return db;
}

export function insertThreads(db: Database.Database, rows: ThreadRowSpec[]): void {
  const insert = db.prepare(
    `INSERT INTO threads (id, rollout_path, created_at, updated_at, source, model_provider, cwd, title, sandbox_policy,
       approval_mode, archived, git_branch, first_user_message, preview, memory_mode)
     VALUES (@id, @rolloutPath, @updatedAt, @updatedAt, @source, 'openai', @cwd, 'a thread', 'workspace-write',
       'on-request', @archived, @gitBranch, 'run the tests', 'run the tests', @memoryMode)`,
  );
  db.transaction(() => {
    for (const r of rows) {
      insert.run({
        id: r.id,
        rolloutPath: r.rolloutPath,
        updatedAt: r.updatedAt ?? 1_770_000_000,
        source: r.source ?? 'cli',
        cwd: r.cwd ?? '/work',
        archived: r.archived ? 1 : 0,
        gitBranch: r.gitBranch ?? null,
        memoryMode: r.memoryMode ?? 'enabled',
      });
    }
  })();
}

/** Keeps a rollout's mtime (its idleness) across an edit. */
async function keepingMtime(path: string, edit: (text: string) => string): Promise<void> {
  const { atime, mtime } = await stat(path);
  await writeFile(path, edit(await readFile(path, 'utf8')));
  await utimes(path, atime, mtime);
}

/** As Codex writes a thread created while generate_memories = false: memory_mode on its first session_meta line. */
export function markCreatedWithMemoriesOff(rollout: string): Promise<void> {
  return keepingMtime(rollout, (text) => {
    const [first, ...rest] = text.split('\n');
    const line = JSON.parse(first);
    line.payload.memory_mode = 'disabled';
    return [JSON.stringify(line), ...rest].join('\n');
  });
}

/** As Codex records the user turning memories off (or on) for one thread: a copy of session_meta, appended. */
export function appendMemoryModeChoice(rollout: string, mode: 'disabled' | 'enabled'): Promise<void> {
  return keepingMtime(rollout, (text) => {
    const line = JSON.parse(text.split('\n')[0]);
    line.timestamp = new Date(Date.parse(line.timestamp) + 60_000).toISOString();
    line.payload.memory_mode = mode;
    delete line.payload.git;
    return `${text.endsWith('\n') ? text : `${text}\n`}${JSON.stringify(line)}\n`;
  });
}

/** The SQLite files next to the database, each with a hash of its bytes. */
export async function sqliteFiles(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const name of (await readdir(dir)).filter((n) => n.startsWith('state_5.sqlite')).sort()) {
    files[name] = createHash('sha256')
      .update(await readFile(join(dir, name)))
      .digest('hex');
  }
  return files;
}
