// `memories doctor`: is this machine ready to run the pipeline? One line per check, exit 1 if any fails.
import type { Command } from 'commander';
import { defaultCodexHome } from '../../services/config.ts';
import { type CheckResult, runDoctorChecks } from '../../services/doctor/checks.ts';
import { integer } from './options.ts';

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('check CODEX_HOME, sessions, config.toml, the model endpoint and the store; one line per check')
    .option('--codex-home <dir>', 'Codex home (default $CODEX_HOME or ~/.codex)')
    .option('--base-url <url>', 'OpenAI-compatible endpoint to probe (default $OPENAI_BASE_URL or api.openai.com)')
    .option('--wire-api <api>', "'responses' or 'chat' (for servers without GET /models)", 'responses')
    .option('--timeout-ms <n>', 'endpoint probe timeout (default 15000)', integer('--timeout-ms'))
    .option('--json', 'print the checks as JSON')
    .addHelpText(
      'after',
      '\nExit status is 1 when a check fails (warnings do not fail).\n\nExamples:\n  $ memories doctor\n  $ memories doctor --base-url http://localhost:11434/v1\n',
    )
    .action(doctorCommand);
}

const LABEL: Record<CheckResult['status'], string> = { ok: 'ok', warn: 'WARN', fail: 'FAIL', skip: '-' };

async function doctorCommand(flags: {
  codexHome?: string;
  baseUrl?: string;
  wireApi: string;
  timeoutMs?: number;
  json?: boolean;
}): Promise<void> {
  const codexHome = flags.codexHome ?? defaultCodexHome();
  const results = await runDoctorChecks({
    codexHome,
    baseUrl: flags.baseUrl,
    wireApi: flags.wireApi,
    timeoutMs: flags.timeoutMs,
  });
  const failed = results.filter((r) => r.status === 'fail').length;
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ ok: failed === 0, checks: results }, null, 2)}\n`);
  } else {
    const width = Math.max(...results.map((r) => r.name.length));
    for (const r of results) process.stdout.write(`${LABEL[r.status].padEnd(4)}  ${r.name.padEnd(width)}  ${r.message}\n`);
  }
  if (failed > 0) process.exitCode = 1;
}
