// The fleet commands' store URL (--store or MEMORIES_STORE) and work dir, without loading the database driver:
// every `memories` command line registers the fleet commands.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../errors.ts';
import { redactUrl } from '../store/postgres/url.ts';

export const STORE_HELP = 'PostgreSQL URL of the shared store, postgres://user@host/db (default $MEMORIES_STORE)';

/** The store URL of a fleet command, or a ConfigError saying how to give one. */
export function storeUrl(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const url = flag ?? env.MEMORIES_STORE;
  if (!url)
    throw new ConfigError('--store is required (or set MEMORIES_STORE), e.g. --store postgres://memories@db.internal/memories');
  if (!/^postgres(ql)?:\/\//.test(url)) throw new ConfigError(`--store must be a postgres:// URL, not ${redactUrl(url)}`);
  return url;
}

export const defaultWorkDir = () => join(homedir(), '.memories-fleet');
