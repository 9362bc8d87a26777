// Versioned schema migrations, applied in order inside one transaction under an advisory lock, so any number of
// processes may start against a fresh database at once. A migration is never edited once released: add the next.
import type { PgDatabase } from './connection.ts';

export const SCHEMA = 'memories';

interface Migration {
  version: number;
  name: string;
  sql: string;
}

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'state store: jobs and stage-1 outputs per namespace (Codex state DB, shared spec §5)',
    sql: `
      CREATE TABLE memories.jobs (
        namespace text NOT NULL,
        kind text NOT NULL CHECK (kind IN ('memory_stage1', 'memory_consolidate_global')),
        job_key text NOT NULL,
        seq bigserial NOT NULL,
        status text NOT NULL CHECK (status IN ('pending', 'running', 'done', 'error')),
        worker_id text,
        ownership_token text,
        started_at bigint,
        finished_at bigint,
        lease_until bigint,
        retry_at bigint,
        retry_remaining integer NOT NULL,
        last_error text,
        input_watermark bigint,
        last_success_watermark bigint,
        usage jsonb,
        outcome text CHECK (outcome IN ('output', 'noOutput', 'forgotten')),
        enqueued_watermark bigint,
        last_selection jsonb,
        PRIMARY KEY (namespace, kind, job_key)
      );
      CREATE INDEX jobs_live ON memories.jobs (namespace, kind, status, lease_until);
      CREATE TABLE memories.stage1_outputs (
        namespace text NOT NULL,
        thread_id text NOT NULL,
        source_updated_at bigint NOT NULL,
        raw_memory text NOT NULL,
        rollout_summary text NOT NULL,
        rollout_slug text,
        has_content boolean NOT NULL,
        cwd text NOT NULL,
        rollout_path text NOT NULL,
        git_branch text,
        generated_at bigint NOT NULL,
        usage_count integer NOT NULL DEFAULT 0,
        last_usage bigint,
        cited_by text[],
        PRIMARY KEY (namespace, thread_id)
      );
      CREATE INDEX stage1_outputs_recent ON memories.stage1_outputs (namespace, source_updated_at DESC, thread_id DESC);
    `,
  },
  {
    version: 2,
    name: 'fleet: namespaces, ingested rollouts, threads, memory revisions, access tokens',
    sql: `
      CREATE TABLE memories.namespaces (
        name text PRIMARY KEY,
        layout text NOT NULL CHECK (layout IN ('v1', 'v2')),
        created_at bigint NOT NULL
      );
      CREATE TABLE memories.rollouts (
        namespace text NOT NULL REFERENCES memories.namespaces (name),
        sha256 text NOT NULL,
        session_id text NOT NULL,
        host_id text NOT NULL,
        codex_version text NOT NULL,
        file_name text NOT NULL,
        content bytea NOT NULL,
        updated_at bigint NOT NULL,
        received_at bigint NOT NULL,
        PRIMARY KEY (namespace, sha256)
      );
      CREATE TABLE memories.threads (
        namespace text NOT NULL REFERENCES memories.namespaces (name),
        thread_id text NOT NULL,
        sha256 text NOT NULL,
        file_name text NOT NULL,
        cwd text NOT NULL,
        source text NOT NULL,
        updated_at bigint NOT NULL,
        created_at bigint,
        has_user_message boolean NOT NULL,
        size_bytes integer NOT NULL,
        git_branch text,
        PRIMARY KEY (namespace, thread_id)
      );
      CREATE INDEX threads_recent ON memories.threads (namespace, updated_at DESC, thread_id DESC);
      CREATE TABLE memories.memory_revisions (
        namespace text NOT NULL REFERENCES memories.namespaces (name),
        revision bigint NOT NULL,
        digest text NOT NULL,
        watermark bigint NOT NULL,
        worker_id text NOT NULL,
        created_at bigint NOT NULL,
        PRIMARY KEY (namespace, revision)
      );
      CREATE TABLE memories.memory_files (
        namespace text NOT NULL,
        revision bigint NOT NULL,
        path text NOT NULL,
        content bytea NOT NULL,
        PRIMARY KEY (namespace, revision, path),
        FOREIGN KEY (namespace, revision) REFERENCES memories.memory_revisions (namespace, revision) ON DELETE CASCADE
      );
      CREATE TABLE memories.access_tokens (
        id text PRIMARY KEY,
        secret_sha256 text NOT NULL,
        namespaces text[] NOT NULL,
        label text NOT NULL,
        created_at bigint NOT NULL
      );
    `,
  },
  {
    version: 3,
    name: 'fleet: the queue walks threads newest first in byte order of ids, and stops at the first claimable ones',
    sql: `CREATE INDEX threads_queue ON memories.threads (namespace, updated_at DESC, thread_id COLLATE "C" DESC);`,
  },
  {
    version: 4,
    name: 'fleet: the queue reads only threads not extracted at their version, whatever the history of the namespace',
    // Walking the queue index past every thread already extracted made each look at the queue (each pass, each
    // idle poll of each worker) cost in proportion to all the sessions a namespace ever had. extracted_at is the
    // version whose extraction finished, written by the finishing statement itself; `unextracted` is a column of
    // its own so the planner has statistics on it (it knows how few threads are left), and the partial index holds
    // only those. It replaces the two full indexes: every finish rewrites the row, and each index costs a write.
    sql: `
      ALTER TABLE memories.threads ADD COLUMN extracted_at bigint,
        ADD COLUMN unextracted boolean GENERATED ALWAYS AS (extracted_at IS DISTINCT FROM updated_at) STORED;
      UPDATE memories.threads t SET extracted_at = j.last_success_watermark
        FROM memories.jobs j
       WHERE j.namespace = t.namespace AND j.kind = 'memory_stage1' AND j.job_key = t.thread_id
         AND j.last_success_watermark IS NOT NULL;
      CREATE INDEX threads_unextracted ON memories.threads (namespace, updated_at DESC, thread_id COLLATE "C" DESC)
        WHERE unextracted;
      DROP INDEX memories.threads_queue;
      DROP INDEX memories.threads_recent;
    `,
  },
  {
    version: 5,
    name: 'jobs and outputs: partial indexes for the rows their queries ask for, so key look-ups use the primary keys',
    // A look-up by key could be planned on jobs_live or stage1_outputs_recent instead of the primary key whenever the
    // planner had no statistics yet (a new database, a namespace filled within the minute): the queue then read every
    // job of the namespace for every thread (236 ms for 1,000 threads). jobs_live served only running rows and
    // stage1_outputs_recent only rows with content: as partial indexes they can serve nothing else, and stay small.
    sql: `
      DROP INDEX memories.jobs_live;
      CREATE INDEX jobs_running ON memories.jobs (namespace, kind, lease_until) WHERE status = 'running';
      DROP INDEX memories.stage1_outputs_recent;
      CREATE INDEX stage1_outputs_recent ON memories.stage1_outputs (namespace, source_updated_at DESC, thread_id DESC)
        WHERE has_content;
    `,
  },
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS.at(-1)!.version;

// Any constant works as long as every process uses the same one; this one spells "memories" in ASCII.
const MIGRATION_LOCK = 0x6d656d6f72696573n;

/** Brings the schema to the latest version; returns the versions it applied. */
export async function migrate(db: PgDatabase): Promise<number[]> {
  return db.transact(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK.toString()]);
    await tx.query(`CREATE SCHEMA IF NOT EXISTS ${SCHEMA}`);
    await tx.query(
      `CREATE TABLE IF NOT EXISTS ${SCHEMA}.schema_migrations (
         version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const { rows } = await tx.query<{ version: number }>(`SELECT version FROM ${SCHEMA}.schema_migrations`);
    const applied = new Set(rows.map((row) => row.version));
    const newest = Math.max(0, ...applied);
    if (newest > LATEST_SCHEMA_VERSION) {
      throw new Error(
        `the database schema is at version ${newest}, newer than this memories (${LATEST_SCHEMA_VERSION}): upgrade memories`,
      );
    }
    const done: number[] = [];
    for (const migration of MIGRATIONS) {
      if (applied.has(migration.version)) continue;
      await tx.query(migration.sql);
      await tx.query(`INSERT INTO ${SCHEMA}.schema_migrations (version, name) VALUES ($1, $2)`, [
        migration.version,
        migration.name,
      ]);
      done.push(migration.version);
    }
    return done;
  });
}
