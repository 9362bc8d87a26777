// `memories push`: this host's idle rollouts to a namespace of the fleet (redacted here first); --wait returns once
// they are in a memory revision, or fails with the reason.
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { existingCodexHome } from '../../services/config/codex-home.ts';
import { FleetApiError, FleetClient } from '../../services/fleet/fleet-client.ts';
import { pushRollouts } from '../../services/fleet/push.ts';
import { PushWaitError, waitUntilConsolidated } from '../../services/fleet/push-wait.ts';
import { ConfigError } from '../../services/errors.ts';
import { probeCodex } from '../../services/memory-folder/layout.ts';
import { CODEX_HOME_HELP, integer, minutes } from './options.ts';

export interface FleetClientFlags {
  server: string;
  token?: string;
  namespace: string;
  codexHome?: string;
  json?: boolean;
}

interface PushFlags extends FleetClientFlags {
  wait?: boolean;
  waitTimeout: number;
  idleMinutes?: number;
  hostId?: string;
}

/** The options `push` and `pull` share. */
export function addClientOptions(command: Command): Command {
  return command
    .requiredOption('--server <url>', 'the fleet service, e.g. https://memories.internal')
    .option('--token <token>', 'bearer token from `memories token create` (default $MEMORIES_TOKEN)')
    .requiredOption('--namespace <name>', 'whose memory')
    .option('--codex-home <dir>', CODEX_HOME_HELP)
    .option('--json', 'print one JSON object');
}

export function clientOf(flags: FleetClientFlags): FleetClient {
  const token = flags.token ?? process.env.MEMORIES_TOKEN;
  if (!token) throw new ConfigError('--token is required (or set MEMORIES_TOKEN)');
  try {
    return new FleetClient(flags.server, token, flags.namespace);
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
}

/** A refused or failed request: its one-line reason on stderr, exit 1. */
export function failWith(error: unknown): void {
  if (!(error instanceof FleetApiError || error instanceof PushWaitError)) throw error;
  process.stderr.write(`memories: ${error.message}\n`);
  process.exitCode = 1;
}

export function registerPush(program: Command): void {
  addClientOptions(program.command('push'))
    .option('--wait', 'return once what was pushed is consolidated into a memory revision (or fail with the reason)')
    .option('--wait-timeout <seconds>', 'give up waiting after this long', integer('--wait-timeout'), 1800)
    .option(
      '--idle-minutes <n>',
      'idle time before a rollout counts as finished (default min_rollout_idle_hours)',
      minutes('--idle-minutes'),
    )
    .option('--host-id <id>', 'this host in the manifest (default the hostname)')
    .addHelpText(
      'after',
      '\nExit status: 0 pushed (and consolidated, with --wait), 1 a refusal or a failure (reason on stderr), 2 usage error.\n' +
        '\nExample (end of a CI job):\n  $ memories push --server https://memories.internal --namespace ci --idle-minutes 0 --wait\n',
    )
    .action((flags: PushFlags) => pushCommand(flags).catch(failWith));
}

async function pushCommand(flags: PushFlags): Promise<void> {
  const codexHome = existingCodexHome(flags.codexHome);
  const client = clientOf(flags);
  const probe = probeCodex();
  const summary = await pushRollouts({
    client,
    server: flags.server,
    namespace: flags.namespace,
    codexHome,
    hostId: flags.hostId ?? hostname(),
    idleMinutes: flags.idleMinutes,
    codexVersion: probe.found ? probe.version : 'unknown',
  });
  const say = (line: string) => !flags.json && process.stderr.write(`${line}\n`);
  say(
    `pushed ${summary.uploaded}, already stored ${summary.alreadyStored}, of ${summary.eligible} idle eligible rollout(s) ` +
      `(${summary.rolloutsFound} found)`,
  );
  for (const { path, reason } of summary.failed) process.stderr.write(`memories: refused ${path}: ${reason}\n`);
  if (summary.failed.length > 0) process.exitCode = 1;
  const waited = flags.wait
    ? await waitUntilConsolidated(client, summary.hashes, { timeoutMs: flags.waitTimeout * 1000, onProgress: say })
    : null;
  if (waited) say(`consolidated: revision ${waited.revision} holds everything pushed`);
  if (flags.json) process.stdout.write(`${JSON.stringify({ ...summary, wait: waited })}\n`);
}
