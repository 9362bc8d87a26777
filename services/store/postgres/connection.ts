// One connection pool per process and a transaction helper over it. The database clock decides leases and
// backoff (hosts of a fleet disagree on the time; the server is the one clock they share); tests inject one.
import pg from 'pg';
import { RetryableError } from '../../errors.ts';
import { silentLogger, type Logger } from '../../logger.ts';
import { redactUrl } from './url.ts';

/** One open transaction: its queries run on one checked-out connection; `now` is fixed for its length (Unix seconds). */
export interface PgTx {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<pg.QueryResult<R>>;
  now: number;
}

export interface PgDatabase {
  readonly pool: pg.Pool;
  /** Where it connects, without the password (for messages). */
  readonly location: string;
  /** Runs `fn` in a transaction on the database clock, or on `nowMs` when given. */
  transact<T>(fn: (tx: PgTx) => Promise<T>, nowMs?: () => number, options?: TransactOptions): Promise<T>;
  close(): Promise<void>;
}

export interface TransactOptions {
  /** Every query reads the same committed state (REPEATABLE READ): reads that must agree with each other. */
  snapshot?: boolean;
  /**
   * COMMIT returns before the WAL reaches the disk. Only for writes a database crash may lose without harm: a lost
   * claim or lease renewal leaves the job to be claimed again, and the old token then finalises nothing.
   */
  asyncCommit?: boolean;
}

export interface ConnectOptions {
  log?: Logger;
  /** Connections in the pool (default 10). */
  max?: number;
}

// SQLSTATE classes and socket errors after which the same statement may work once the server is back.
const TRANSIENT_CODES = new Set(['57P01', '57P02', '57P03', '40001', '40P01', '53300']);
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN']);

/** Whether an error means "the database went away or asked us to try again", not "this statement is wrong". */
export function isTransient(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && (TRANSIENT_CODES.has(code) || SOCKET_CODES.has(code) || code.startsWith('08'))) {
    return true;
  }
  const message = error instanceof Error ? error.message : '';
  return /Connection terminated|connection timeout|Client has encountered a connection error|not queryable/i.test(message);
}

/** A transient database failure becomes a RetryableError, so the machines retry it like a dropped model call. */
export function classify(error: unknown): unknown {
  if (!isTransient(error) || error instanceof RetryableError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new RetryableError(`database unavailable: ${message}`, { cause: error });
}

export function connectPostgres(url: string, options: ConnectOptions = {}): PgDatabase {
  const log = options.log ?? silentLogger;
  // int8 as a JS number (our times and watermarks are far below 2^53), for this pool only.
  const types = new pg.TypeOverrides();
  types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    types,
    keepAlive: true,
    // A server that is down must fail a connect quickly, so the caller's retry policy takes over.
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle connection dies with its server (a restart): the pool drops it; unheard, it would crash the process.
  pool.on('error', (error) => log.warn({ err: error.message }, 'postgres: idle connection lost'));

  // Statements with parameters are prepared once per connection, under one name per text, then only bound and run:
  // the server no longer parses and plans each claim and finish again (a third of its CPU per stage-1 finish).
  const names = new Map<string, string>();
  const statement = (text: string, values: unknown[]): pg.QueryConfig => {
    let name = names.get(text);
    if (name === undefined) {
      name = `memories_${names.size + 1}`;
      names.set(text, name);
    }
    return { name, text, values };
  };

  async function transact<T>(fn: (tx: PgTx) => Promise<T>, nowMs?: () => number, options?: TransactOptions): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      throw classify(error);
    }
    const onError = (error: Error) => log.warn({ err: error.message }, 'postgres: connection lost during a transaction');
    client.on('error', onError);
    let broken = false;
    try {
      const begin =
        (options?.snapshot ? 'BEGIN ISOLATION LEVEL REPEATABLE READ' : 'BEGIN') +
        (options?.asyncCommit ? '; SET LOCAL synchronous_commit = off' : '');
      const begun = await client.query<{ now: number }>(
        nowMs ? begin : `${begin}; SELECT floor(extract(epoch FROM clock_timestamp()))::bigint AS now`,
      );
      const now = nowMs
        ? Math.floor(nowMs() / 1000)
        : (begun as unknown as pg.QueryResult<{ now: number }>[]).at(-1)!.rows[0].now;
      const query: PgTx['query'] = (sql, params) =>
        params && params.length > 0 ? client.query(statement(sql, params)) : client.query(sql);
      const result = await fn({ query, now });
      await client.query('COMMIT');
      return result;
    } catch (error) {
      broken = isTransient(error);
      if (!broken) await client.query('ROLLBACK').catch(() => undefined);
      throw classify(error);
    } finally {
      client.off('error', onError);
      // A connection that failed mid-transaction is destroyed rather than handed to the next caller.
      client.release(broken);
    }
  }

  return {
    pool,
    location: redactUrl(url),
    transact,
    close: () => pool.end(),
  };
}

/** Reads that must agree with each other: one REPEATABLE READ transaction on the database clock. */
export function readSnapshot<T>(db: PgDatabase, fn: (tx: PgTx) => Promise<T>): Promise<T> {
  return db.transact(fn, undefined, { snapshot: true });
}
