// The consolidation machine's history steps as actors over the memory folder's repository.
import { fromPromise } from 'xstate';
import type { FolderSnapshot, PreparedConsolidation } from '../../machines/consolidation.ts';
import type { Logger } from '../logger.ts';
import { redactHandWritten } from '../memory-folder/hand-written.ts';
import type { BaselineDiff } from './history.ts';
import { notesAbsorbed } from './notes-absorbed.ts';

// Loaded when a consolidation starts: the git library is large, and most runs (phase 1, nothing dirty) never need it.
const history = () => import('./history.ts');

export function historyActors(root: string, log: Logger) {
  const warn = (fields: Record<string, unknown>, message: string) => log.warn(fields, message);
  return {
    snapshotFolder: fromPromise<FolderSnapshot, void>(async () => {
      // First, a run killed before it finished is undone: its half-written files are not the person's edits.
      const recovered = await (await history()).recoverUnfinishedRun(root);
      if (recovered) {
        log.warn(
          { snapshot: recovered.snapshot, leftBehindTree: recovered.leftBehind },
          'a consolidation that never finished (its process was killed) had changed the memory folder: put it back as it was before that run',
        );
      }
      const redacted = await redactHandWritten(root);
      if (redacted.length > 0) log.warn({ files: redacted }, 'redacted secrets in hand-written memory files');
      return { snapshot: await (await history()).snapshotFolder(root), unfinishedRunUndone: recovered?.leftBehind ?? null };
    }),

    diffWorkspace: fromPromise<BaselineDiff, void>(async () => (await history()).diffSinceBaseline(root)),

    keepHandEdits: fromPromise<string[], { snapshot: string | null }>(async ({ input }) => {
      if (input.snapshot === null) return [];
      const restored = await (await history()).keepHandEdits(root, input.snapshot, warn);
      if (restored.length > 0) log.warn({ files: restored }, "put back the person's edits the agent undid");
      return restored;
    }),

    commitBaseline: fromPromise<string, { prepared: PreparedConsolidation; workspace: BaselineDiff | null; snapshot: string }>(
      async ({ input }) => {
        const { added, retained, removed } = input.prepared;
        const notes = notesAbsorbed(input.workspace).length;
        const revision = await (await history()).commitBaseline(root, { added, retained, removed, notes }, input.snapshot, warn);
        log.info({ revision, added, retained, removed, notes }, 'memory folder baseline committed');
        return revision;
      },
    ),

    restoreFolder: fromPromise<void, { snapshot: string | null }>(({ input }) =>
      putFolderBack(root, input.snapshot, log, 'failed'),
    ),
  };
}

/**
 * Undoes a consolidation that failed or was stopped: the folder back to its snapshot (null: the run changed nothing
 * yet), and a history no consolidation ever committed to dropped.
 */
export async function putFolderBack(root: string, snapshot: string | null, log: Logger, how: 'failed' | 'stopped') {
  const { restoreFolder, dropHistoryWithoutBaseline } = await history();
  if (snapshot !== null) {
    // The machine keeps the run's own failure as the reason; this one must still be seen.
    await restoreFolder(root, snapshot).catch((error: Error) => {
      log.error({ snapshot, error: error.message }, `could not restore the memory folder after a ${how} consolidation`);
      throw error;
    });
    log.info({ snapshot }, `memory folder restored after a ${how} consolidation`);
  }
  await dropHistoryWithoutBaseline(root);
}
