// MemoryStore on PostgreSQL (shared spec §5): one namespace of a database that any number of processes on any
// number of hosts share. Same semantics as the lowdb store; claims never wait for each other (FOR UPDATE SKIP LOCKED).
import type { Logger } from '../../logger.ts';
import type { MemoryStore } from '../port.ts';
import type { PgDatabase } from './connection.ts';
import { globalJobMethods } from './global-job.ts';
import { outputMethods } from './outputs.ts';
import type { StoreScope } from './scope.ts';
import { stage1Methods } from './stage1-jobs.ts';

export interface PostgresStoreOptions {
  /** A connected, migrated database (connection.ts, migrations.ts); the caller closes it. */
  db: PgDatabase;
  /** Whose memory: every row is scoped to it. */
  namespace: string;
  /** Wall clock in milliseconds for tests; default: the database server's clock. */
  now?: () => number;
  log?: Logger;
  /**
   * Live running stage-1 jobs allowed across all workers. Default: each claim's maxClaimed, as the lowdb store
   * (then claims of a namespace take turns). A fleet passes Infinity: its workers' own concurrency bounds them.
   */
  runningCap?: number;
}

export function createPostgresStore(options: PostgresStoreOptions): MemoryStore {
  const { db, namespace } = options;
  const cap = options.runningCap;
  const scope: StoreScope = {
    namespace,
    transact: (fn, transactOptions) => db.transact(fn, options.now, transactOptions),
    capFor: (perCall) => (cap === undefined ? perCall : Number.isFinite(cap) ? cap : null),
    log: options.log,
  };
  return {
    location: `${db.location} (namespace ${namespace})`,
    ...stage1Methods(scope),
    ...globalJobMethods(scope),
    ...outputMethods(scope),
  };
}
