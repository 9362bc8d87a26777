// MemoryStore on two lowdb JSON files, safe across processes (shared spec §5, §4.6): one file per aggregate.
import path from 'node:path';
import type { Logger } from '../logger.ts';
import { batchMethods } from './batches.ts';
import { globalJobMethods } from './global-job.ts';
import { outputMethods } from './outputs.ts';
import type { BatchStore, MemoryStore } from './port.ts';
import { stage1Methods } from './stage1-jobs.ts';
import { createTransact, tightenModes } from './transaction.ts';

export interface LowdbStoreOptions {
  /** Directory of the two files, e.g. `$CODEX_HOME/memories_state`. Created 0700 on first write. */
  dir: string;
  /** Wall clock in milliseconds (tests pass a fake one). */
  now?: () => number;
  /** Where a skipped bad row or refused thread id is reported. */
  log?: Logger;
}

export function createLowdbStore(options: LowdbStoreOptions): MemoryStore & BatchStore {
  const dir = path.resolve(options.dir);
  tightenModes(dir);
  const transact = createTransact(dir, options.now ?? Date.now, options.log);
  return {
    location: dir,
    ...stage1Methods(transact, options.log),
    ...globalJobMethods(transact),
    ...outputMethods(transact),
    ...batchMethods(transact),
  };
}
