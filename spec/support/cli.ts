// Runs the `memories` bin as a user would: a child process with a clean model environment.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);
export const BIN = join(import.meta.dirname, '..', '..', 'scripts', 'memories.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Never throws on a non-zero exit: the exit code is part of what tests check. */
export function memories(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const clean = { ...process.env, OPENAI_API_KEY: '', OPENAI_BASE_URL: '', ...env };
  return exec(process.execPath, [BIN, ...args], { env: clean, timeout: 60_000 }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: CliResult) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
}
