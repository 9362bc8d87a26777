// `memories token create|list|revoke`: bearer tokens for the fleet service, scoped to namespaces (created when
// new); listed by id, never with a secret (the store keeps only hashes); revoked by id.
import type { Command } from 'commander';
import { ensureNamespace, isLayoutVersion, namespaceRefusal } from '../../services/fleet/namespaces.ts';
import { STORE_HELP, storeUrl } from '../../services/fleet/store-url.ts';
import { ConfigError } from '../../services/errors.ts';
import type { PgDatabase } from '../../services/store/postgres/connection.ts';

interface TokenFlags {
  store?: string;
  namespace: string[];
  label?: string;
  layout: string;
  json?: boolean;
}

export function registerToken(program: Command): void {
  const token = program.command('token');
  token
    .command('create')
    .description('print a new bearer token for the fleet service, valid for the given namespaces only')
    .option('--store <url>', STORE_HELP)
    .requiredOption('--namespace <name>', 'a namespace the token may read and write (repeat for more)', collect, [])
    .option('--label <text>', 'what the token is for (stored with it)', '')
    .option('--layout <v1|v2>', 'memory folder layout of a namespace created now (as `[memories] version`)', 'v2')
    .option('--json', 'print one JSON object')
    .addHelpText(
      'after',
      '\nThe token is shown once; the store keeps only its hash.\n' +
        '\nExample:\n  $ export MEMORIES_TOKEN=$(memories token create --store postgres://memories@db/memories --namespace ci)\n',
    )
    .action(createCommand);
  token
    .command('list')
    .description('list the tokens issued and not revoked: id, namespaces, label, when created (never a secret)')
    .option('--store <url>', STORE_HELP)
    .option('--json', 'print one JSON array')
    .action(listCommand);
  token
    .command('revoke')
    .description('revoke a token: its next request gets 401 unknown or revoked token')
    .argument('<id>', 'the id `token list` shows (or the token itself)')
    .option('--store <url>', STORE_HELP)
    .addHelpText('after', '\nExit status: 0 revoked, 1 no such token, 2 usage error.\n')
    .action(revokeCommand);
}

/** Opens the store of `--store` (or MEMORIES_STORE) for one command; the driver is loaded only here. */
async function withDatabase<T>(store: string | undefined, use: (db: PgDatabase) => Promise<T>): Promise<T> {
  const url = storeUrl(store);
  const { openDatabase } = await import('../../services/store/postgres/open-database.ts');
  const db = await openDatabase(url);
  try {
    return await use(db);
  } finally {
    await db.close();
  }
}

async function listCommand(flags: { store?: string; json?: boolean }): Promise<void> {
  const { listAccessTokens } = await import('../../services/fleet/access-tokens.ts');
  const tokens = await withDatabase(flags.store, listAccessTokens);
  if (flags.json) return void process.stdout.write(`${JSON.stringify(tokens)}\n`);
  const rows = tokens.map((t) => [
    t.id,
    new Date(t.createdAt * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    t.namespaces.join(','),
    JSON.stringify(t.label),
  ]);
  const widths = [16, 20, Math.max(10, ...rows.map((r) => r[2]!.length))];
  const line = (cells: string[]) => cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c)).join('  ');
  process.stdout.write(`${[line(['id', 'created', 'namespaces', 'label']), ...rows.map(line)].join('\n')}\n`);
}

async function revokeCommand(id: string, flags: { store?: string }): Promise<void> {
  const { revokeAccessToken } = await import('../../services/fleet/access-tokens.ts');
  if (await withDatabase(flags.store, (db) => revokeAccessToken(db, id))) {
    process.stdout.write(`revoked token ${id.replace(/^mem_([0-9a-f]{16})_.*$/, '$1')}\n`);
    return;
  }
  process.stderr.write(`memories: no token ${id} (\`memories token list\` shows the ids)\n`);
  process.exitCode = 1;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

async function createCommand(flags: TokenFlags): Promise<void> {
  // Commander counts the empty default as given: a token for no namespace would be refused on every request.
  if (flags.namespace.length === 0) throw new ConfigError('--namespace is required: name each namespace the token may use');
  for (const name of flags.namespace) {
    const refused = namespaceRefusal(name);
    if (refused) throw new ConfigError(refused);
  }
  if (!isLayoutVersion(flags.layout)) throw new ConfigError(`--layout must be v1 or v2, not ${flags.layout}`);
  const layout = flags.layout;
  const { createAccessToken } = await import('../../services/fleet/access-tokens.ts');
  const created = await withDatabase(flags.store, async (db) => {
    for (const name of flags.namespace) await ensureNamespace(db, name, layout);
    return createAccessToken(db, flags.namespace, flags.label ?? '');
  });
  process.stdout.write(flags.json ? `${JSON.stringify(created)}\n` : `${created.token}\n`);
}
