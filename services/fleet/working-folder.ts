// A worker's copy of a namespace's memory folder. Before it consolidates (holding the global lease, so nobody
// publishes meanwhile) the copy is brought to the newest revision and committed as the local baseline: the agent
// then sees the fleet's folder, and no other worker's revision passes for a person's hand edit.
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../files/atomic-write.ts';
import type { PgDatabase } from '../store/postgres/connection.ts';
import { folderDigest, readFolderFiles, syncFolder } from './folder-files.ts';
import { latestRevision } from './memory-revisions.ts';

const MARKER = '.fleet-revision.json';

interface Marker {
  revision: number;
  digest: string;
}

const markerPath = (namespaceHome: string) => join(namespaceHome, MARKER);

async function readMarker(namespaceHome: string): Promise<Marker | null> {
  try {
    return JSON.parse(await readFile(markerPath(namespaceHome), 'utf8')) as Marker;
  } catch {
    return null;
  }
}

/** Notes that the local folder now is `revision` (after this worker published it, or synced to it). */
export async function markSynced(namespaceHome: string, marker: Marker): Promise<void> {
  await writeFileAtomic(markerPath(namespaceHome), JSON.stringify(marker));
}

/** Brings `root` to the namespace's newest revision; returns that revision (0: none yet, the folder is emptied). */
export async function syncWorkingFolder(db: PgDatabase, namespace: string, namespaceHome: string, root: string): Promise<number> {
  const marker = await readMarker(namespaceHome);
  const latest = await latestRevision(db, namespace);
  if (!latest) {
    // Nothing was ever published: whatever is here is a run that never got recorded.
    if (marker !== null || (await readFolderFiles(root)).length > 0) await rm(root, { recursive: true, force: true });
    await rm(markerPath(namespaceHome), { force: true });
    return 0;
  }
  const local = await readFolderFiles(root);
  if (marker?.revision === latest.revision && folderDigest(local) === latest.digest) return latest.revision;
  const full = await latestRevision(db, namespace, true);
  if (!full) throw new Error(`namespace ${namespace}: revision ${latest.revision} vanished while syncing`);
  await syncFolder(root, full.files);
  const { openRepo } = await import('../memory-history/repo.ts');
  const { commitRevision } = await import('../memory-history/revisions.ts');
  const none = { added: 0, retained: 0, removed: 0, notes: 0, memoryBytes: null };
  await commitRevision(await openRepo(root), `Fleet revision ${full.revision}`, { kind: 'consolidation', ...none });
  await markSynced(namespaceHome, { revision: full.revision, digest: full.digest });
  return full.revision;
}
