// `memories doctor`: is this machine ready to run the pipeline, and will the user's Codex read what it
// writes? One line per check, then where each effective setting came from; exit 1 if a check fails.
import type { Command } from 'commander';
import { defaultCodexHome } from '../../services/config.ts';
import { type CheckResult, runDoctorChecks } from '../../services/doctor/checks.ts';
import { givenStoreUrl } from '../../services/fleet/store-url.ts';
import type { MemoryLayout } from '../../services/memory-folder/layout.ts';
import { BASE_URL_HELP, PROFILE_HELP, positiveInteger } from './options.ts';
import { addStoreOptions, defaultNamespace, type StoreFlags, usesPostgres } from './store-option.ts';

export function registerDoctor(program: Command): void {
  const doctor = program
    .command('doctor')
    .option('--codex-home <dir>', 'Codex home (default $CODEX_HOME or ~/.codex)')
    .option('--profile <name>', PROFILE_HELP)
    .option('--base-url <url>', BASE_URL_HELP)
    .option('--wire-api <api>', "'responses' or 'chat' (for servers without GET /models; default: the provider's)")
    .option('--timeout-ms <n>', 'endpoint probe timeout (default 15000)', positiveInteger('--timeout-ms'))
    .option('--json', 'print the checks and settings as JSON')
    .addHelpText(
      'after',
      '\nExit status is 1 when a check fails (warnings do not fail).\n\nExamples:\n  $ memories doctor\n  $ memories doctor --profile work\n  $ memories doctor --base-url http://localhost:11434/v1\n',
    );
  addStoreOptions(doctor).action(doctorCommand);
}

const LABEL: Record<CheckResult['status'], string> = { ok: 'ok', warn: 'WARN', fail: 'FAIL', skip: '-' };

async function doctorCommand(
  flags: {
    codexHome?: string;
    profile?: string;
    baseUrl?: string;
    wireApi?: string;
    timeoutMs?: number;
    json?: boolean;
  } & StoreFlags,
): Promise<void> {
  const codexHome = flags.codexHome ?? defaultCodexHome();
  // The store the runs would use: with --store (or MEMORIES_STORE), the database and the namespace's rows in it.
  const url = usesPostgres(flags) ? givenStoreUrl(flags.store) : null;
  const checkStore =
    url === null
      ? undefined
      : async (layout: MemoryLayout) => {
          const { checkPostgresStore } = await import('../../services/doctor/store-check.ts');
          return checkPostgresStore(url, flags.namespace ?? defaultNamespace(codexHome, layout));
        };
  const { checks, settings } = await runDoctorChecks({ ...flags, codexHome, checkStore });
  const failed = checks.filter((r) => r.status === 'fail').length;
  const out = (line: string) => process.stdout.write(`${line}\n`);
  if (flags.json) {
    out(JSON.stringify({ ok: failed === 0, checks, settings }, null, 2));
  } else {
    const width = Math.max(...checks.map((r) => r.name.length));
    for (const r of checks) {
      out(`${LABEL[r.status].padEnd(4)}  ${r.name.padEnd(width)}  ${r.message}`);
      // Indented under their check, so the check lines stay one per check.
      if (r.fix?.length) {
        out(`${' '.repeat(6 + width)}  add to config.toml (keys go into the table if config.toml already has it):`);
        for (const line of r.fix) out(`${' '.repeat(8 + width)}  ${line}`);
      }
    }
    if (settings.length > 0) {
      out('\nsettings (value, then where it came from):');
      const nameWidth = Math.max(...settings.map((s) => s.setting.length));
      const valueWidth = Math.max(...settings.map((s) => s.value.length));
      for (const s of settings) out(`  ${s.setting.padEnd(nameWidth)}  ${s.value.padEnd(valueWidth)}  ${s.source}`);
    }
  }
  if (failed > 0) process.exitCode = 1;
}
