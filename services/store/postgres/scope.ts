// What every method file of the PostgreSQL store works on: one namespace of one database, on one clock.
import type { Logger } from '../../logger.ts';
import type { PgTx, TransactOptions } from './connection.ts';

export interface StoreScope {
  namespace: string;
  /** A transaction on the store's clock (the database's, or the injected one). */
  transact<T>(fn: (tx: PgTx) => Promise<T>, options?: TransactOptions): Promise<T>;
  /** The cap of live running stage-1 jobs for a claim that asks for `perCall` (null: no cap). */
  capFor(perCall: number): number | null;
  log?: Logger;
}
