// Runs the `memories` bin as a user would: a child process with a clean model environment.
import { type ChildProcessWithoutNullStreams, execFile, spawn } from 'node:child_process';
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

/** A `  name  value  source` row of `memories doctor`'s settings block, split into its cells. */
export const doctorSetting = (stdout: string, name: string) =>
  stdout
    .split('\n')
    .find((l) => l.trimStart().startsWith(`${name} `))
    ?.trim()
    .split(/\s{2,}/);

export interface Spawned {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the first line of `stream` matching; rejects if the process exits first. */
  line(pattern: RegExp, stream?: 'stdout' | 'stderr'): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The bin as a long-running child process (signals, daemons); the caller kills it in afterEach. */
export function spawnMemories(args: string[], env: NodeJS.ProcessEnv = {}): Spawned {
  const clean = { ...process.env, OPENAI_API_KEY: '', OPENAI_BASE_URL: '', CODEX_HOME: '', ...env };
  const child = spawn(process.execPath, [BIN, ...args], { env: clean });
  const text = { stdout: '', stderr: '' };
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const waiter of waiters) waiter();
  };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    text.stdout += chunk;
    wake();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    text.stderr += chunk;
    wake();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  void exited.then(wake);
  return {
    child,
    stdout: () => text.stdout,
    stderr: () => text.stderr,
    exited,
    line(pattern, stream = 'stdout') {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = text[stream].split('\n').find((l) => pattern.test(l));
          if (found !== undefined || child.exitCode !== null || child.signalCode !== null) waiters.delete(check);
          if (found !== undefined) resolve(found);
          else if (child.exitCode !== null || child.signalCode !== null) {
            reject(new Error(`exited before a line matching ${pattern}; stdout:\n${text.stdout}\nstderr:\n${text.stderr}`));
          }
        };
        waiters.add(check);
        check();
      });
    },
  };
}
