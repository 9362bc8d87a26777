// Namespaces: whose memory a rollout feeds. Each has one memory folder layout (v1 or v2, as Codex's
// `[memories] version`), fixed when it is created, and a working home under a worker's work dir.
import { join } from 'node:path';
import type { LayoutVersion } from '../memory-folder/layout.ts';
import type { PgDatabase } from '../store/postgres/connection.ts';

/** Namespaces appear in URLs, folder names and log lines: a short, plain charset. */
const NAMESPACE = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/** Why `name` cannot be a namespace, or null. */
export function namespaceRefusal(name: string): string | null {
  if (NAMESPACE.test(name) && !name.includes('..')) return null;
  return `namespace ${JSON.stringify(name.slice(0, 70))} is not 1-63 of a-z 0-9 . _ - starting with a letter or digit`;
}

export function isLayoutVersion(value: string): value is LayoutVersion {
  return value === 'v1' || value === 'v2';
}

/** Creates the namespace if it is new; returns its layout (an existing namespace keeps its own). */
export async function ensureNamespace(db: PgDatabase, name: string, layout: LayoutVersion): Promise<LayoutVersion> {
  return db.transact(async (tx) => {
    await tx.query('INSERT INTO memories.namespaces (name, layout, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [
      name,
      layout,
      tx.now,
    ]);
    const { rows } = await tx.query<{ layout: LayoutVersion }>('SELECT layout FROM memories.namespaces WHERE name = $1', [name]);
    return rows[0].layout;
  });
}

/** Why a local run (or its doctor) may not use `name`: the fleet's workers consolidate it from pushed rollouts. */
export function fleetNamespaceRefusal(name: string): string {
  return `namespace ${name} belongs to the fleet (memories serve/worker consolidate it); give --namespace one of this home's own`;
}

/** The namespace's layout, or null when there is no such namespace. */
export async function namespaceLayout(db: PgDatabase, name: string): Promise<LayoutVersion | null> {
  const { rows } = await db.pool.query<{ layout: LayoutVersion }>('SELECT layout FROM memories.namespaces WHERE name = $1', [
    name,
  ]);
  return rows[0]?.layout ?? null;
}

/** Where a worker keeps a namespace's rollout copies and its working memory folder (a stand-in CODEX_HOME). */
export function namespaceHome(workDir: string, namespace: string): string {
  return join(workDir, 'namespaces', namespace);
}
