// `memories --help` and per-command help.
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const BIN = join(import.meta.dirname, '..', 'scripts', 'memories.js');

function memories(args: string[]) {
  return exec(process.execPath, [BIN, ...args], { timeout: 60_000 }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
}

const COMMANDS = ['run', 'status', 'forget', 'doctor', 'read-path'];
const SCRIPTS = join(import.meta.dirname, '..', 'scripts');

/** Every top-level command the command modules define (`program.command('name')`; not a command's subcommands). */
async function definedCommands(): Promise<string[]> {
  const files = [join(SCRIPTS, 'cli.ts'), ...(await readdir(join(SCRIPTS, 'commands'))).map((f) => join(SCRIPTS, 'commands', f))];
  const names = new Set<string>();
  for (const file of files.filter((f) => f.endsWith('.ts'))) {
    for (const match of (await readFile(file, 'utf8')).matchAll(/program\s*\.command\(\s*'([a-z][a-z-]*)/g)) names.add(match[1]!);
  }
  return [...names];
}

describe('memories --help', () => {
  it('lists every command', async () => {
    const { code, stdout } = await memories(['--help']);
    expect(code).toBe(0);
    const listed = stdout
      .split('\n')
      .map((line) => /^ {2}([a-z][a-z-]*)\b/.exec(line)?.[1])
      .filter((name): name is string => name !== undefined);
    for (const command of new Set([...COMMANDS, ...(await definedCommands())])) expect(listed).toContain(command);
    expect(stdout).toMatch(/memories <command> --help/);
    expect(stdout).toMatch(/log\/memories\.log/);
  });

  it('gives each command its own help with its options', async () => {
    const [run, status, forget, doctor, readPath] = await Promise.all(COMMANDS.map((c) => memories([c, '--help'])));
    for (const result of [run, status, forget, doctor, readPath]) {
      expect(result!.code).toBe(0);
      expect(result!.stdout).toMatch(/--codex-home <dir>/);
    }
    expect(run!.stdout).toMatch(/--phase <phase>/);
    expect(status!.stdout).toMatch(/--json/);
    expect(forget!.stdout).toMatch(/Usage: memories forget \[options\] <thread-id>/);
    expect(doctor!.stdout).toMatch(/--base-url <url>/);
    expect(readPath!.stdout).toMatch(/Usage: memories read-path/);
    expect((await memories(['help', 'doctor'])).stdout).toBe(doctor!.stdout);
  });
});
