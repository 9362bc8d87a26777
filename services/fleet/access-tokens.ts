// Bearer tokens for the fleet service: `mem_<id>_<secret>`, of which the database keeps only the id and the
// SHA-256 of the secret (a random 256-bit secret needs no slow hash), each token scoped to its namespaces.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { PgDatabase } from '../store/postgres/connection.ts';

const TOKEN = /^mem_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

const digest = (secret: string) => createHash('sha256').update(secret).digest('hex');

export interface CreatedToken {
  token: string;
  id: string;
  namespaces: string[];
}

export async function createAccessToken(db: PgDatabase, namespaces: string[], label: string): Promise<CreatedToken> {
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  await db.transact((tx) =>
    tx.query(
      'INSERT INTO memories.access_tokens (id, secret_sha256, namespaces, label, created_at) VALUES ($1, $2, $3, $4, $5)',
      [id, digest(secret), namespaces, label, tx.now],
    ),
  );
  return { token: `mem_${id}_${secret}`, id, namespaces };
}

/** The namespaces a presented token may read and write, or null when it is not a token we issued. */
export async function tokenNamespaces(db: PgDatabase, token: string): Promise<string[] | null> {
  const match = TOKEN.exec(token);
  if (!match) return null;
  const { rows } = await db.pool.query<{ secret_sha256: string; namespaces: string[] }>(
    'SELECT secret_sha256, namespaces FROM memories.access_tokens WHERE id = $1',
    [match[1]],
  );
  const row = rows[0];
  if (!row) return null;
  const presented = Buffer.from(digest(match[2]), 'hex');
  return timingSafeEqual(presented, Buffer.from(row.secret_sha256, 'hex')) ? row.namespaces : null;
}

export interface AccessTokenInfo {
  id: string;
  namespaces: string[];
  label: string;
  /** Unix seconds. */
  createdAt: number;
}

/** Every token issued and not revoked, oldest first; never a secret (the store has none to give). */
export async function listAccessTokens(db: PgDatabase): Promise<AccessTokenInfo[]> {
  const { rows } = await db.pool.query<{ id: string; namespaces: string[]; label: string; created_at: string }>(
    'SELECT id, namespaces, label, created_at FROM memories.access_tokens ORDER BY created_at, id',
  );
  return rows.map((row) => ({ id: row.id, namespaces: row.namespaces, label: row.label, createdAt: Number(row.created_at) }));
}

/**
 * Revokes a token by its id (or the whole token, whose id is read from it): its row goes, so the next request with
 * it gets `401 unknown or revoked token`. False when no such token is stored.
 */
export async function revokeAccessToken(db: PgDatabase, idOrToken: string): Promise<boolean> {
  const id = TOKEN.exec(idOrToken)?.[1] ?? idOrToken;
  const { rowCount } = await db.transact((tx) => tx.query('DELETE FROM memories.access_tokens WHERE id = $1', [id]));
  return (rowCount ?? 0) > 0;
}
