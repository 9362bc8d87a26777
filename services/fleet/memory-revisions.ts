// A namespace's memory folder as numbered revisions in the database: a consolidation's success and its folder are
// written in one transaction, fenced by the global job's ownership token, so the revision number only grows and
// a revision exists exactly when a consolidation was recorded. The last few revisions are kept.
import type { TokenUsage } from '../types.ts';
import { type PgDatabase, type PgTx, readSnapshot } from '../store/postgres/connection.ts';
import { succeedGlobalInTx } from '../store/postgres/global-job.ts';
import type { SelectionEntry } from '../store/port.ts';
import { type FolderFile, folderDigest } from './folder-files.ts';

/** Revisions kept per namespace: enough for a reader that started on an older one to finish. */
const KEEP_REVISIONS = 10;

export interface RevisionInfo {
  revision: number;
  digest: string;
  watermark: number;
  createdAt: number;
}

export interface RevisionWithFiles extends RevisionInfo {
  files: FolderFile[];
}

export interface PublishRequest {
  namespace: string;
  ownershipToken: string;
  watermark: number;
  selection: SelectionEntry[];
  usage: TokenUsage | null;
  files: FolderFile[];
  workerId: string;
}

async function latestInTx(tx: PgTx, namespace: string): Promise<RevisionInfo | null> {
  const { rows } = await tx.query<{ revision: number; digest: string; watermark: number; created_at: number }>(
    `SELECT revision, digest, watermark, created_at FROM memories.memory_revisions
      WHERE namespace = $1 ORDER BY revision DESC LIMIT 1`,
    [namespace],
  );
  const row = rows[0];
  return row ? { revision: row.revision, digest: row.digest, watermark: row.watermark, createdAt: row.created_at } : null;
}

/**
 * Records the consolidation's success and, when the folder changed, its files as the next revision. Returns the
 * namespace's current revision (0 before the first), or null when the token no longer owns the job (nothing written).
 */
export async function publishRevision(db: PgDatabase, request: PublishRequest): Promise<RevisionInfo | null> {
  const { namespace } = request;
  return db.transact(async (tx) => {
    const owned = await succeedGlobalInTx(
      tx,
      namespace,
      request.ownershipToken,
      request.watermark,
      request.selection,
      request.usage,
    );
    if (!owned) return null;
    const latest = await latestInTx(tx, namespace);
    const digest = folderDigest(request.files);
    if (latest?.digest === digest) return latest;
    const revision = (latest?.revision ?? 0) + 1;
    await tx.query(
      `INSERT INTO memories.memory_revisions (namespace, revision, digest, watermark, worker_id, created_at)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [namespace, revision, digest, request.watermark, request.workerId, tx.now],
    );
    await tx.query(
      `INSERT INTO memories.memory_files (namespace, revision, path, content)
       SELECT $1, $2, f.path, f.content FROM unnest($3::text[], $4::bytea[]) AS f(path, content)`,
      [namespace, revision, request.files.map((f) => f.path), request.files.map((f) => f.content)],
    );
    await tx.query('DELETE FROM memories.memory_revisions WHERE namespace = $1 AND revision <= $2', [
      namespace,
      revision - KEEP_REVISIONS,
    ]);
    return { revision, digest, watermark: request.watermark, createdAt: tx.now };
  });
}

/** The newest revision (with its files when asked), or null before the first consolidation. */
export async function latestRevision(db: PgDatabase, namespace: string, withFiles: true): Promise<RevisionWithFiles | null>;
export async function latestRevision(db: PgDatabase, namespace: string, withFiles?: false): Promise<RevisionInfo | null>;
export async function latestRevision(db: PgDatabase, namespace: string, withFiles = false) {
  // One snapshot, so the files belong to the revision read even while another is published.
  return readSnapshot(db, async (tx) => {
    const latest = await latestInTx(tx, namespace);
    if (!latest || !withFiles) return latest;
    const { rows } = await tx.query<{ path: string; content: Buffer }>(
      'SELECT path, content FROM memories.memory_files WHERE namespace = $1 AND revision = $2 ORDER BY path COLLATE "C"',
      [namespace, latest.revision],
    );
    return { ...latest, files: rows.map((row) => ({ path: row.path, content: row.content })) };
  });
}
