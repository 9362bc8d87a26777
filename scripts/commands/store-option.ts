// `--store` and `--namespace` of every command that uses the store (run, watch, status, consolidate, note, forget,
// revert; doctor checks it): the lowdb store in the Codex home by default, the PostgreSQL store for a postgres:// URL
// (or MEMORIES_STORE). The driver is imported only then, so a lowdb run never loads pg.
import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { ConfigError } from '../../services/errors.ts';
import { fleetNamespaceRefusal, namespaceLayout, namespaceRefusal } from '../../services/fleet/namespaces.ts';
import { givenStoreUrl } from '../../services/fleet/store-url.ts';
import type { Logger } from '../../services/logger.ts';
import type { MemoryLayout } from '../../services/memory-folder/layout.ts';
import { withOptionalPackages } from '../../services/optional-module.ts';
import type { MemoryStore } from '../../services/store/port.ts';

export interface StoreFlags {
  store?: string;
  namespace?: string;
}

export function addStoreOptions(command: Command): Command {
  return command
    .option(
      '--store <url>',
      'keep jobs and memories in PostgreSQL, postgres://user@host/db (default $MEMORIES_STORE, else lowdb)',
    )
    .option(
      '--namespace <name>',
      'with --store: whose rows (default local-HOST-HASH-LAYOUT, one per host, Codex home and layout)',
    );
}

/**
 * One namespace per host, Codex home (its real path) and layout, as the lowdb store keeps one store per home and
 * layout: two homes sharing a database never consolidate each other's memories into their folders.
 */
export function defaultNamespace(codexHome: string, layout: Pick<MemoryLayout, 'version'>, host = hostname()): string {
  const home = createHash('sha256').update(realpathSync(codexHome)).digest('hex').slice(0, 8);
  const name = host
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  return `local-${name || 'host'}-${home}-${layout.version}`;
}

/** Whether the flags (or MEMORIES_STORE) name a PostgreSQL store; a ConfigError for a malformed URL or namespace. */
export function usesPostgres(flags: StoreFlags): boolean {
  const url = givenStoreUrl(flags.store);
  if (url === null && flags.namespace !== undefined)
    throw new ConfigError('--namespace needs --store postgres://… (or MEMORIES_STORE)');
  const refusal = flags.namespace === undefined ? null : namespaceRefusal(flags.namespace);
  if (refusal) throw new ConfigError(`--namespace: ${refusal}`);
  return url !== null;
}

export interface StorePlace {
  codexHome: string;
  layout: MemoryLayout;
  log?: Logger;
}

/**
 * Runs `use` with the store the flags name (undefined: the lowdb default) and closes it afterwards. A database that
 * cannot be used is a failure at run time, like an unreachable model: one line on stderr and exit status 1.
 */
export async function withStore(
  flags: StoreFlags,
  place: StorePlace,
  use: (store: MemoryStore | undefined) => Promise<void>,
): Promise<void> {
  if (!usesPostgres(flags)) return use(undefined);
  const url = givenStoreUrl(flags.store)!;
  const namespace = flags.namespace ?? defaultNamespace(place.codexHome, place.layout);
  const { openDatabase, createPostgresStore } = await withOptionalPackages('`--store postgres://…`', ['pg'], async () => ({
    ...(await import('../../services/store/postgres/open-database.ts')),
    ...(await import('../../services/store/postgres/postgres-store.ts')),
  }));
  const db = await openDatabase(url, place.log);
  try {
    // A fleet namespace is extracted and consolidated by `memories worker` from pushed rollouts into the database's
    // memory revisions; a local run writing its jobs would consolidate them into this home instead.
    if ((await namespaceLayout(db, namespace)) !== null) {
      throw new ConfigError(fleetNamespaceRefusal(namespace));
    }
    await use(createPostgresStore({ db, namespace, log: place.log }));
  } finally {
    await db.close();
  }
}
