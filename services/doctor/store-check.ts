// The doctor's store check when the runs use PostgreSQL (--store, MEMORIES_STORE): the database is reachable, its
// schema is one this memories can use, the namespace is not the fleet's, and what the namespace holds. Like every
// check it changes nothing: the next run migrates the schema, not the doctor.
import { errorMessage } from '../errors.ts';
import { isMissingModule, missingPackagesLine } from '../optional-module.ts';
import type { PgDatabase } from '../store/postgres/connection.ts';
import { redactUrl } from '../store/postgres/url.ts';
import { type CheckResult, plural } from './checks.ts';

const check = (status: CheckResult['status'], message: string): CheckResult => ({ name: 'store', status, message });

/** The newest schema version applied, 0 when the database has no schema of ours yet. */
async function schemaVersion(db: PgDatabase): Promise<number> {
  // Two statements: a query naming a table that does not exist fails as it is planned, whatever guards it.
  const { rows } = await db.pool.query<{ present: boolean }>(
    "SELECT to_regclass('memories.schema_migrations') IS NOT NULL AS present",
  );
  if (!rows[0]?.present) return 0;
  const versions = await db.pool.query<{ version: number }>(
    'SELECT COALESCE(max(version), 0)::int AS version FROM memories.schema_migrations',
  );
  return versions.rows[0]?.version ?? 0;
}

/** The driver and the store's modules, imported only for a PostgreSQL store (pg is an optional package). */
async function postgresModules() {
  return {
    ...(await import('../store/postgres/connection.ts')),
    ...(await import('../store/postgres/migrations.ts')),
    ...(await import('../store/postgres/postgres-store.ts')),
    ...(await import('../fleet/namespaces.ts')),
  };
}

export async function checkPostgresStore(url: string, namespace: string): Promise<CheckResult> {
  const modules = await postgresModules().catch((error: unknown) => {
    if (isMissingModule(error, ['pg'])) return null;
    throw error;
  });
  if (modules === null) return check('fail', missingPackagesLine('`--store postgres://…`', ['pg']));
  const db = modules.connectPostgres(url);
  const where = `${db.location} (namespace ${namespace})`;
  try {
    const version = await schemaVersion(db);
    if (version === 0) return check('ok', `${where}: no schema yet; the first run creates it`);
    if (version > modules.LATEST_SCHEMA_VERSION) {
      return check(
        'fail',
        `${where}: schema version ${version} is newer than this memories (${modules.LATEST_SCHEMA_VERSION}): upgrade memories`,
      );
    }
    if (version < modules.LATEST_SCHEMA_VERSION) {
      return check('ok', `${where}: schema version ${version}; the next run brings it to ${modules.LATEST_SCHEMA_VERSION}`);
    }
    if ((await modules.namespaceLayout(db, namespace)) !== null) {
      return check('fail', modules.fleetNamespaceRefusal(namespace));
    }
    const { jobs, outputs } = await modules.createPostgresStore({ db, namespace }).status();
    const failed = jobs.filter((j) => j.status === 'error').length;
    return check('ok', `${where}: ${plural(jobs.length, 'stage-1 job')} (${failed} failed), ${plural(outputs.length, 'output')}`);
  } catch (error) {
    return check('fail', `cannot use the store at ${redactUrl(url)}: ${errorMessage(error).split('\n')[0]}`);
  } finally {
    await db.close().catch(() => undefined);
  }
}
