// The store URL (--store or MEMORIES_STORE) and the fleet's work dir, without loading the database driver: every
// `memories` command line registers the fleet commands, and `run`, `watch` and `status` take a store too.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../errors.ts';
import { redactUrl } from '../store/postgres/url.ts';

export const STORE_HELP = 'PostgreSQL URL of the shared store, postgres://user@host/db (default $MEMORIES_STORE)';

/** The store URL of a fleet command, or a ConfigError saying how to give one. */
export function storeUrl(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const url = givenStoreUrl(flag, env);
  if (!url)
    throw new ConfigError('--store is required (or set MEMORIES_STORE), e.g. --store postgres://memories@db.internal/memories');
  return url;
}

/** The PostgreSQL URL given by --store or MEMORIES_STORE (an empty one is none), or null; a ConfigError when malformed. */
export function givenStoreUrl(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string | null {
  const url = flag ?? env.MEMORIES_STORE;
  if (!url) return null;
  const from = flag === undefined ? 'MEMORIES_STORE' : '--store';
  // The value may hold a password: only its redacted form, or its scheme, is ever repeated.
  if (!URL.canParse(url)) throw new ConfigError(`${from} is not a URL; it takes postgres://user@host/db`);
  if (!/^postgres(ql)?:\/\//.test(url)) throw new ConfigError(`${from} must be a postgres:// URL, not ${redactUrl(url)}`);
  return url;
}

export const defaultWorkDir = () => join(homedir(), '.memories-fleet');
