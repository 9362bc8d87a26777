// Ingest: a finished rollout and its manifest, stored once per namespace and content hash. The content is checked
// against its hash and its session_meta against the manifest before anything is written; a rollout already
// stored is acknowledged without a write, so a retried or repeated push (from any host) changes nothing.
import { createHash } from 'node:crypto';
import { INTERACTIVE_SOURCES } from '../constants.ts';
import { BadInputError } from '../errors.ts';
import { readRolloutMeta } from '../rollouts/rollout-reader.ts';
import { threadIdRefusal } from '../store/thread-id.ts';
import type { PgDatabase } from '../store/postgres/connection.ts';
import { ROLLOUT_FILE_NAME, writeRolloutCopy } from './rollout-files.ts';

export interface RolloutManifest {
  hostId: string;
  namespace: string;
  sessionId: string;
  sha256: string;
  codexVersion: string;
  /** The rollout file's name (`rollout-….jsonl`). */
  fileName: string;
  /** The file's mtime on the host in whole Unix seconds (Codex's threads.updated_at). */
  updatedAt: number;
}

export interface IngestResult {
  /** False: this content was stored already (by this host or another). */
  stored: boolean;
  sha256: string;
  sessionId: string;
  /** Whether phase 1 will ever extract it (a user message, an interactive source), and why not. */
  eligible: boolean;
  reason: string | null;
}

export const CHANGED_SINCE_NOTIFY = 'memories_work';
const PRINTABLE = /^[\x21-\x7e][\x20-\x7e]{0,127}$/;

/** The manifest's shape, or a BadInputError naming the first field that is wrong. */
export function checkManifest(raw: unknown, namespace: string): RolloutManifest {
  const m = (raw ?? {}) as Record<string, unknown>;
  const bad = (field: string, why: string) => new BadInputError(`manifest ${field} ${why}`);
  for (const field of ['hostId', 'codexVersion'] as const) {
    if (typeof m[field] !== 'string' || !PRINTABLE.test(m[field])) throw bad(field, 'must be 1-128 printable ASCII characters');
  }
  if (m.namespace !== namespace) throw bad('namespace', `must be ${JSON.stringify(namespace)}, the namespace of the URL`);
  if (typeof m.sessionId !== 'string' || threadIdRefusal(m.sessionId) !== null) {
    throw bad('sessionId', 'must be a thread id (A-Z a-z 0-9 _ . : -, at most 128)');
  }
  if (typeof m.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(m.sha256)) throw bad('sha256', 'must be 64 lowercase hex digits');
  if (typeof m.fileName !== 'string' || !ROLLOUT_FILE_NAME.test(m.fileName)) throw bad('fileName', 'must be rollout-*.jsonl');
  if (typeof m.updatedAt !== 'number' || !Number.isSafeInteger(m.updatedAt) || m.updatedAt <= 0) {
    throw bad('updatedAt', 'must be whole Unix seconds');
  }
  return m as unknown as RolloutManifest;
}

/** Stores one rollout; `namespaceHome` receives its copy (this process's worker reads it from there). */
export async function ingestRollout(
  db: PgDatabase,
  manifest: RolloutManifest,
  content: Buffer,
  namespaceHome: string,
): Promise<IngestResult> {
  const actual = createHash('sha256').update(content).digest('hex');
  if (actual !== manifest.sha256) throw new BadInputError(`content has sha256 ${actual}, not the manifest's ${manifest.sha256}`);
  const path = await writeRolloutCopy(namespaceHome, manifest.sha256, manifest.fileName, content);
  const meta = await readRolloutMeta(path).catch((error: Error) => {
    throw new BadInputError(`not a readable rollout: ${error.message}`);
  });
  if (meta === null) throw new BadInputError('not a rollout: no line of it parses as JSON');
  if (meta.threadId !== manifest.sessionId) {
    throw new BadInputError(`session_meta says session ${meta.threadId}, the manifest ${manifest.sessionId}`);
  }
  const why = !meta.hasUserMessage
    ? 'the user said nothing in it'
    : INTERACTIVE_SOURCES.includes(meta.source)
      ? null
      : `its source ${meta.source} is not interactive`;
  const base = { sha256: manifest.sha256, sessionId: manifest.sessionId, eligible: why === null, reason: why };
  const stored = await db.transact(async (tx) => {
    const inserted = await tx.query(
      `INSERT INTO memories.rollouts (namespace, sha256, session_id, host_id, codex_version, file_name, content, updated_at, received_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
      [
        manifest.namespace,
        manifest.sha256,
        manifest.sessionId,
        manifest.hostId,
        manifest.codexVersion,
        manifest.fileName,
        content,
        manifest.updatedAt,
        tx.now,
      ],
    );
    if (inserted.rowCount !== 1) return false;
    // The newest version of a session is the one to extract. Rollouts only grow, so of two versions written in the
    // same second the longer is the newer: it gets the next second, or its watermark would look already processed.
    await tx.query(
      `INSERT INTO memories.threads AS t (namespace, thread_id, sha256, file_name, cwd, source, updated_at, created_at,
              has_user_message, size_bytes, git_branch)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
       ON CONFLICT (namespace, thread_id) DO UPDATE SET sha256 = EXCLUDED.sha256, file_name = EXCLUDED.file_name,
              cwd = EXCLUDED.cwd, source = EXCLUDED.source, created_at = EXCLUDED.created_at,
              has_user_message = EXCLUDED.has_user_message, size_bytes = EXCLUDED.size_bytes, git_branch = EXCLUDED.git_branch,
              updated_at = GREATEST(EXCLUDED.updated_at, t.updated_at + 1)
        WHERE EXCLUDED.updated_at > t.updated_at OR (EXCLUDED.updated_at = t.updated_at AND EXCLUDED.size_bytes > t.size_bytes)`,
      [
        manifest.namespace,
        manifest.sessionId,
        manifest.sha256,
        manifest.fileName,
        meta.cwd,
        meta.source,
        manifest.updatedAt,
        meta.createdAt,
        meta.hasUserMessage,
        content.length,
        meta.gitBranch ?? null,
      ],
    );
    // Delivered at commit: idle workers wake up instead of waiting for their next poll.
    await tx.query('SELECT pg_notify($1, $2)', [CHANGED_SINCE_NOTIFY, manifest.namespace]);
    return true;
  });
  return { stored, ...base };
}

/** Whether a rollout of this content is stored in the namespace (a push resumes by asking). */
export async function hasRollout(db: PgDatabase, namespace: string, sha256: string): Promise<boolean> {
  const { rows } = await db.pool.query('SELECT 1 FROM memories.rollouts WHERE namespace = $1 AND sha256 = $2', [
    namespace,
    sha256,
  ]);
  return rows.length > 0;
}
