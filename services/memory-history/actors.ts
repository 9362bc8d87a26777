// The consolidation machine's history steps as actors over the memory folder's repository.
import { fromPromise } from 'xstate';
import type { PreparedConsolidation } from '../../machines/consolidation.ts';
import type { Logger } from '../logger.ts';
import { type BaselineDiff, commitBaseline, diffSinceBaseline, restoreFolder, snapshotFolder } from './history.ts';

export function historyActors(root: string, log: Logger) {
  return {
    snapshotFolder: fromPromise<string, void>(() => snapshotFolder(root)),

    diffWorkspace: fromPromise<BaselineDiff, void>(() => diffSinceBaseline(root)),

    commitBaseline: fromPromise<string, { prepared: PreparedConsolidation }>(async ({ input }) => {
      const { added, retained, removed } = input.prepared;
      const revision = await commitBaseline(root, { added, retained, removed });
      log.info({ revision, added, retained, removed }, 'memory folder baseline committed');
      return revision;
    }),

    restoreFolder: fromPromise<void, { snapshot: string | null }>(async ({ input }) => {
      // A run that failed before its snapshot changed nothing yet.
      if (input.snapshot === null) return;
      await restoreFolder(root, input.snapshot);
      log.info({ snapshot: input.snapshot }, 'memory folder restored after a failed consolidation');
    }),
  };
}
