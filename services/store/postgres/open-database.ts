// A database a command can use: connected, with the schema brought up to date. The fleet commands and a local run
// with `--store postgres://…` open it the same way.
import { errorMessage, StoreUnavailableError } from '../../errors.ts';
import type { Logger } from '../../logger.ts';
import { connectPostgres, type PgDatabase } from './connection.ts';
import { migrate } from './migrations.ts';
import { redactUrl } from './url.ts';

/**
 * Connects and migrates; when either fails the pool is closed again (no socket keeps the process alive) and the
 * failure is a StoreUnavailableError naming the store without its password (the CLI: one line, exit 1).
 */
export async function openDatabase(url: string, log?: Logger): Promise<PgDatabase> {
  const db = connectPostgres(url, { log });
  try {
    await migrate(db);
  } catch (error) {
    await db.close().catch(() => undefined);
    throw new StoreUnavailableError(`cannot use the store at ${redactUrl(url)}: ${errorMessage(error)}`, { cause: error });
  }
  return db;
}
