// A database a command can use: connected, with the schema brought up to date. The fleet commands and a local run
// with `--store postgres://…` open it the same way.
import type { Logger } from '../../logger.ts';
import { connectPostgres, type PgDatabase } from './connection.ts';
import { migrate } from './migrations.ts';

/** Connects and migrates; when either fails the pool is closed again (no socket keeps the process alive). */
export async function openDatabase(url: string, log?: Logger): Promise<PgDatabase> {
  const db = connectPostgres(url, { log });
  try {
    await migrate(db);
  } catch (error) {
    await db.close().catch(() => undefined);
    throw error;
  }
  return db;
}
