// `memories token create`: a bearer token for the fleet service, scoped to namespaces (created when new).
import type { Command } from 'commander';
import { ensureNamespace, isLayoutVersion, namespaceRefusal } from '../../services/fleet/namespaces.ts';
import { STORE_HELP, storeUrl } from '../../services/fleet/store-url.ts';
import { ConfigError } from '../../services/errors.ts';

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
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

async function createCommand(flags: TokenFlags): Promise<void> {
  const url = storeUrl(flags.store);
  // Commander counts the empty default as given: a token for no namespace would be refused on every request.
  if (flags.namespace.length === 0) throw new ConfigError('--namespace is required: name each namespace the token may use');
  for (const name of flags.namespace) {
    const refused = namespaceRefusal(name);
    if (refused) throw new ConfigError(refused);
  }
  if (!isLayoutVersion(flags.layout)) throw new ConfigError(`--layout must be v1 or v2, not ${flags.layout}`);
  const { openDatabase } = await import('../../services/store/postgres/open-database.ts');
  const { createAccessToken } = await import('../../services/fleet/access-tokens.ts');
  const db = await openDatabase(url);
  try {
    for (const name of flags.namespace) await ensureNamespace(db, name, flags.layout);
    const created = await createAccessToken(db, flags.namespace, flags.label ?? '');
    process.stdout.write(flags.json ? `${JSON.stringify(created)}\n` : `${created.token}\n`);
  } finally {
    await db.close();
  }
}
